"""This machine: no long-term key in a plaintext file or cache."""

from __future__ import annotations

from keytui.core.audit.data import AuditData, PlaintextKey
from keytui.core.audit.model import Check, Finding, Fix, FixKind, Severity, Status
from keytui.core.audit.registry import Outcome, need, outcome, rule
from keytui.core.masking import mask_key_id
from keytui.core.settings import AuditSettings

LOCAL_PLAINTEXT = Check(
    "local-plaintext", "No plaintext keys on this machine", Severity.HIGH,
    "Keep credentials out of plaintext files", (),
    "Import the key into the OS keyring (keytui vault import); delete stale cached credentials.",
)


@rule(LOCAL_PLAINTEXT)
def local_plaintext(data: AuditData, settings: AuditSettings) -> Outcome:
    found = need(data.local, "the local AWS files could not be read")
    findings = []
    for item in found:  # type: ignore[union-attr]
        assert isinstance(item, PlaintextKey)
        if item.temporary:
            what = ("An IAM Identity Center (SSO) access token, which mints role credentials," if item.profile == "(SSO)"
                    else f"Temporary credentials {mask_key_id(item.key_id)}")
            findings.append(Finding(
                "local-plaintext", item.path, f"{what} sit in plaintext in {item.path} until they expire.",
                Severity.LOW, Status.WARN,
                fix=Fix(FixKind.GUIDE, "Guide: cached credentials", guide=(
                    f"Delete {item.path} when you no longer need the session; keytui keeps its sessions in the "
                    "keyring instead (keytui session).")),
            ))
            continue
        findings.append(Finding(
            "local-plaintext", f"profile {item.profile}", f"Profile '{item.profile}' keeps long-term key "
            f"{mask_key_id(item.key_id)} in plaintext in {item.path}: any program you run can read it.",
            Severity.HIGH,
            fix=Fix(FixKind.WORKFLOW, f"Import profile '{item.profile}' into the keyring", workflow="import",
                    calls=(f"keytui vault import {item.profile}",), params=(("profile", item.profile),)),
        ))
    return outcome(findings, note=None if findings else "no plaintext key found")
