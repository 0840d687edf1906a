"""Muted findings: a check (or one resource) set aside with a reason until a date; expired mutes no longer
apply; the mutes file is private, holds no secret, and a damaged one is a clear error."""

from __future__ import annotations

import json
import stat
from datetime import date, timedelta
from pathlib import Path

import pytest

from keytui.core.audit import run_audit
from keytui.core.audit.data import AuditData, IngressRule
from keytui.core.audit.model import Severity, Status
from keytui.core.audit.mutes import ANY, Mute, MuteStore
from keytui.core.audit.report import to_json, to_text
from keytui.core.errors import KeytuiError
from keytui.core.settings import AuditSettings

from .conftest import NOW, data, inventory, key, root, user

TODAY = NOW.date()


def audit_data() -> AuditData:
    """Root without MFA (critical), two world-open admin ports (high), an old key (medium)."""
    old = key("dave", 400, used=1, kid="AKIADAVEOLDKEY000001")
    return data(
        summary={"AccountMFAEnabled": 0, "AccountAccessKeysPresent": 0},
        inventory=inventory(user("dave", old), root_row=root(mfa=False)),
        open_ingress=(
            IngressRule("sg-1", "legacy-ssh", "us-east-1", "tcp", 22, 22, "0.0.0.0/0"),
            IngressRule("sg-2", "rdp", "us-east-1", "tcp", 3389, 3389, "::/0"),
        ),
    )


@pytest.fixture
def store(tmp_path: Path) -> MuteStore:
    return MuteStore(tmp_path / "state" / "audit-mutes.json")


def test_a_mute_with_a_reason_and_an_expiry_sets_the_finding_aside(store: MuteStore) -> None:
    plain = run_audit(audit_data(), AuditSettings())
    assert plain.result("root-mfa").effective_status is Status.FAIL  # type: ignore[union-attr]

    mute = store.add("root-mfa", "", "  hardware key   ordered,\n arrives Friday ", TODAY + timedelta(days=7))
    assert mute == Mute("root-mfa", ANY, "hardware key ordered, arrives Friday", (TODAY + timedelta(days=7)).isoformat())
    muted = run_audit(audit_data(), AuditSettings(), store.load())

    result = muted.result("root-mfa")
    assert result.status is Status.FAIL  # what the check found is unchanged …
    assert result.effective_status is Status.PASS  # … but nothing is left open
    assert result.findings[0].muted == f"hardware key ordered, arrives Friday (until {mute.until})"
    assert muted.counts()[Severity.CRITICAL] == 0 and plain.counts()[Severity.CRITICAL] == 1
    assert muted.at_or_above(Severity.CRITICAL) == () and plain.at_or_above(Severity.CRITICAL)
    assert muted.score > plain.score
    # The reports say it is muted, and why.
    check_json = next(c for c in to_json(muted)["checks"] if c["id"] == "root-mfa")
    assert check_json["status"] == "pass" and check_json["findings"][0]["muted"].startswith("hardware key ordered")
    assert "[muted: hardware key ordered" in to_text(muted)


def test_a_mute_of_one_resource_leaves_the_others_open(store: MuteStore) -> None:
    plain = run_audit(audit_data(), AuditSettings())
    ssh = next(f for f in plain.result("admin-ports").findings if "legacy-ssh" in f.resource)  # type: ignore[union-attr]
    store.add("admin-ports", ssh.resource, "bastion, replaced next sprint", TODAY + timedelta(days=14))
    result = run_audit(audit_data(), AuditSettings(), store.load()).result("admin-ports")
    assert result.effective_status is Status.FAIL  # type: ignore[union-attr]
    assert [f.resource for f in result.open_findings] == [  # type: ignore[union-attr]
        f.resource for f in plain.result("admin-ports").findings if f is not ssh]  # type: ignore[union-attr]
    # A mute for another check's finding, or another resource, changes nothing.
    store.add("admin-ports", "sg-9 (gone) tcp/22 from 0.0.0.0/0", "old", TODAY + timedelta(days=14))
    store.add("cloudtrail", ANY, "not ours", TODAY + timedelta(days=14))
    assert len(run_audit(audit_data(), AuditSettings(), store.load()).result("admin-ports").open_findings) == 1  # type: ignore[union-attr]


def test_an_expired_mute_is_ignored_and_the_last_day_still_counts(store: MuteStore) -> None:
    store.add("root-mfa", ANY, "ordered", TODAY - timedelta(days=1))
    expired = run_audit(audit_data(), AuditSettings(), store.load())
    assert expired.result("root-mfa").effective_status is Status.FAIL  # type: ignore[union-attr]
    assert expired.result("root-mfa").findings[0].muted is None  # type: ignore[union-attr]

    store.add("root-mfa", ANY, "ordered", TODAY)  # replaces the expired one: one mute per check and resource
    assert len(store.load()) == 1
    today = run_audit(audit_data(), AuditSettings(), store.load())
    assert today.result("root-mfa").effective_status is Status.PASS  # type: ignore[union-attr]
    # Tomorrow (the audit's clock, not the machine's) it is over.
    tomorrow = run_audit(AuditData(**{**audit_data().__dict__, "now": NOW + timedelta(days=1)}), AuditSettings(),
                         store.load())
    assert tomorrow.result("root-mfa").effective_status is Status.FAIL  # type: ignore[union-attr]


def test_unmute(store: MuteStore) -> None:
    store.add("root-mfa", ANY, "ordered", TODAY + timedelta(days=3))
    store.add("admin-ports", ANY, "migration", TODAY + timedelta(days=3))
    assert store.remove("root-mfa") == 1
    assert store.remove("root-mfa") == 0
    assert [m.check for m in store.load()] == ["admin-ports"]
    report = run_audit(audit_data(), AuditSettings(), store.load())
    assert report.result("root-mfa").effective_status is Status.FAIL  # type: ignore[union-attr]
    assert report.result("admin-ports").effective_status is Status.PASS  # type: ignore[union-attr]


def test_a_mute_needs_a_reason(store: MuteStore) -> None:
    for reason in ("", "   \n"):
        with pytest.raises(KeytuiError) as error:
            store.add("root-mfa", ANY, reason, TODAY)
        assert error.value.code == "Usage" and "reason" in str(error.value)
    assert not store.path.exists()


def test_the_mutes_file_is_private_and_holds_no_secret(store: MuteStore) -> None:
    finding = run_audit(audit_data(), AuditSettings()).result("key-age").findings[0]  # type: ignore[union-attr]
    store.add("key-age", finding.resource, "dave leaves this month", TODAY + timedelta(days=30))
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700
    text = store.path.read_text()
    assert json.loads(text) == [{"check": "key-age", "resource": finding.resource, "reason": "dave leaves this month",
                                 "until": (TODAY + timedelta(days=30)).isoformat()}]
    assert "AKIADAVEOLDKEY000001" not in text  # the resource names the key masked
    assert [p.name for p in store.path.parent.iterdir()] == ["audit-mutes.json"]  # no temp file left behind


@pytest.mark.parametrize("content", [
    "{not json",
    '{"check": "root-mfa"}',
    "[1, 2]",
    '[{"check": "root-mfa", "resource": "*"}]',
    '[{"check": "root-mfa", "resource": "*", "reason": "r", "until": "next week"}]',
    '[{"check": "root-mfa", "resource": "*", "reason": "r", "until": "2026-12-03", "extra": 1}]',
])
def test_a_damaged_mutes_file_is_a_clear_error(store: MuteStore, content: str) -> None:
    store.path.parent.mkdir(mode=0o700)
    store.path.write_text(content)
    with pytest.raises(KeytuiError) as error:
        run_audit(audit_data(), AuditSettings(), store.load())
    assert str(store.path) in str(error.value) and error.value.code == "FileError"
    # Adding to a damaged file does not silently throw the other mutes away.
    with pytest.raises(KeytuiError):
        store.add("root-mfa", ANY, "r", TODAY)
    assert store.path.read_text() == content


def test_no_mutes_file_is_no_mutes(store: MuteStore) -> None:
    assert store.load() == ()
    assert store.remove("root-mfa") == 0
    assert isinstance(date.fromisoformat(store.add("root-mfa", ANY, "r", TODAY).until), date)


def test_a_mute_names_a_resource_by_its_leading_word_or_a_full_key_id() -> None:
    from keytui.core.audit.mutes import Mute

    group = Mute("admin-ports", "sg-0abc", "bastion", "2030-01-01")
    assert group.matches("admin-ports", "sg-0abc (legacy-ssh) tcp/22 from 0.0.0.0/0")
    assert not group.matches("admin-ports", "sg-0abcd (other) tcp/22 from 0.0.0.0/0")
    assert not group.matches("cloudtrail", "sg-0abc (legacy-ssh) tcp/22 from 0.0.0.0/0")
    key = Mute("key-age", "AKIAIOSFODNN7EXAMPLE", "vendor key", "2030-01-01")
    assert key.matches("key-age", "AKIA…MPLE of alice")
    assert not key.matches("key-age", "AKIA…WXYZ of alice")
