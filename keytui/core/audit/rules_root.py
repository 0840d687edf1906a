"""The root user: MFA on, no access keys, not used for daily work. Only root can fix these, so the fix
is a guide."""

from __future__ import annotations

from keytui.core.audit.data import AuditData, Unavailable
from keytui.core.audit.model import Check, Finding, Fix, FixKind, Severity, Status
from keytui.core.audit.registry import CouldNotCheck, Outcome, need, outcome, rule
from keytui.core.clock import days_between
from keytui.core.models import Inventory, RootAccount
from keytui.core.settings import AuditSettings

_ROOT_GUIDE = (
    "Sign in to the AWS console as the root user (the account's email address), open Security credentials, "
    "and {what}. Only root can do this; keytui cannot."
)


def _guide(what: str) -> Fix:
    return Fix(FixKind.GUIDE, "Guide: root user", guide=_ROOT_GUIDE.format(what=what))


def _root_row(data: AuditData) -> RootAccount | None:
    if isinstance(data.inventory, Unavailable):
        return None
    return data.inventory.root


def _summary_flag(data: AuditData, key: str) -> int | None:
    if isinstance(data.summary, Unavailable):
        return None
    value = data.summary.get(key)
    return None if value is None else int(value)


ROOT_MFA = Check(
    "root-mfa", "Root user has MFA", Severity.CRITICAL, "Protect the root user with MFA",
    ("iam:GetAccountSummary", "iam:GetCredentialReport"),
    "Assign an MFA device (a hardware key is best) to the root user.",
)


@rule(ROOT_MFA)
def root_mfa(data: AuditData, settings: AuditSettings) -> Outcome:
    enabled = _summary_flag(data, "AccountMFAEnabled")
    if enabled is None:
        row = _root_row(data)
        if row is None or row.mfa_active is None:
            reasons = [r.reason for r in (data.summary, data.inventory) if isinstance(r, Unavailable)]
            raise CouldNotCheck("neither the account summary nor the credential report's root row could be read"
                                + (f" ({'; '.join(reasons)})" if reasons else ""))
        enabled = int(row.mfa_active)
    if enabled:
        return outcome(passed=("root",))
    return outcome([Finding("root-mfa", "root", "The root user has no MFA device: its password alone opens the "
                            "whole account.", Severity.CRITICAL, fix=_guide("assign an MFA device"))])


ROOT_KEYS = Check(
    "root-keys", "Root user has no access keys", Severity.CRITICAL, "Never create access keys for the root user",
    ("iam:GetAccountSummary", "iam:GetCredentialReport"),
    "Delete the root user's access keys; use IAM users or roles instead.",
)


@rule(ROOT_KEYS)
def root_keys(data: AuditData, settings: AuditSettings) -> Outcome:
    present = _summary_flag(data, "AccountAccessKeysPresent")
    if present is None:
        row = _root_row(data)
        if row is None:
            reasons = [r.reason for r in (data.summary, data.inventory) if isinstance(r, Unavailable)]
            raise CouldNotCheck("neither the account summary nor the credential report's root row could be read"
                                + (f" ({'; '.join(reasons)})" if reasons else ""))
        present = int(any(row.access_keys_active))
    if not present:
        return outcome(passed=("root",))
    return outcome([Finding("root-keys", "root", "The root user has access keys: a leaked root key cannot be "
                            "limited by any policy.", Severity.CRITICAL, fix=_guide("delete its access keys"))])


ROOT_USE = Check(
    "root-use", "Root user not used for daily work", Severity.HIGH, "Use the root user only for the few tasks "
    "that need it", ("iam:GetCredentialReport",),
    "Create an administrator IAM user or role with MFA for daily work; lock the root credentials away.",
)


@rule(ROOT_USE)
def root_use(data: AuditData, settings: AuditSettings) -> Outcome:
    inventory = need(data.inventory, "the credential report could not be read")
    assert isinstance(inventory, Inventory)
    row = inventory.root
    if row is None:
        raise CouldNotCheck(
            "the credential report has no root row" + (f" ({inventory.report_error})" if inventory.report_error else
                                                       " (this endpoint does not report the root user)")
        )
    last = row.last_used
    if last is None:
        return outcome(passed=("root",), note="root has no recorded use")
    days = days_between(last, data.now)
    if days < settings.root_use_fail_days:
        status, severity = Status.FAIL, Severity.HIGH
    elif days < settings.root_use_warn_days:
        status, severity = Status.WARN, Severity.MEDIUM
    else:
        return outcome(passed=("root",), note=f"root last used {days} days ago")
    when = "today" if days == 0 else f"{days} day{'s' if days != 1 else ''} ago"
    return outcome([Finding("root-use", "root", f"The root user was used {when} ({last:%Y-%m-%d}).", severity, status,
                            fix=_guide("stop using it for daily work; use an IAM user or role with MFA"))])
