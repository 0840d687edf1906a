"""The demo account is seeded so that every check has something worth seeing: a result for all sixteen (none
"could not check"), and the policy simulator failing some users and passing others."""

from __future__ import annotations

from pathlib import Path

import pytest

from keytui.core.audit.model import AuditReport, Severity, Status
from keytui.core.settings import Settings
from keytui.services import build_services

from ..conftest import DemoServer

EXPECTED = {
    "root-mfa": Status.FAIL, "root-keys": Status.PASS, "root-use": Status.WARN, "console-mfa": Status.FAIL,
    "key-age": Status.FAIL, "unused": Status.FAIL, "one-key": Status.FAIL, "never-used": Status.FAIL,
    "password-policy": Status.FAIL, "admin-users": Status.FAIL, "via-groups": Status.FAIL,
    "simulator": Status.FAIL, "ec2-roles": Status.FAIL, "admin-ports": Status.FAIL, "cloudtrail": Status.FAIL,
    "local-plaintext": Status.FAIL,
}


@pytest.fixture
def report(demo_server: DemoServer, tmp_path: Path) -> AuditReport:
    services = build_services(demo_server.target(), Settings(), keyring_backend=demo_server.keyring(),
                              state_folder=tmp_path / "state", demo=True)
    return services.run_audit(simulate=True)


def test_every_check_has_a_result_on_the_demo(report: AuditReport) -> None:
    assert {r.check.id: r.status for r in report.results} == EXPECTED
    assert report.account == "123456789012"
    for result in report.results:
        # Something to see: a finding, or what passed.
        assert result.findings or result.passed, result.check.id
        assert result.status in (Status.FAIL, Status.WARN, Status.PASS)


def test_the_demo_has_passes_next_to_its_findings(report: AuditReport) -> None:
    def passed(check_id: str) -> tuple[str, ...]:
        return report.result(check_id).passed  # type: ignore[union-attr]

    def resources(check_id: str) -> set[str]:
        return {f.resource for f in report.result(check_id).findings}  # type: ignore[union-attr]

    assert {"alice", "carol", "sybil"} <= set(passed("console-mfa"))
    assert {"bob", "frank", "heidi", "mallory", "peggy", "rupert", "victor"} == resources("console-mfa")
    assert resources("admin-users") == {"mallory"}
    assert resources("via-groups") == {"mallory", "backup-bot", "ci-deploy"}
    assert any("legacy-batch" in r for r in resources("ec2-roles")) and any("web-1" in p for p in passed("ec2-roles"))
    assert {r.split()[1] for r in resources("admin-ports")} == {"(legacy-ssh)", "(rdp-jumphost)"}
    assert resources("cloudtrail") == {"org-trail"}
    assert resources("local-plaintext") == {"profile bob-laptop"}
    assert resources("one-key") == {"alice", "niaj"} and "erin" in passed("one-key")  # erin's second key is inactive
    # Key ages 5, 95 and 400 days: young keys pass, old ones fail, 400-day keys are not yet "high".
    severities = {f.severity for f in report.result("key-age").findings}  # type: ignore[union-attr]
    assert severities == {Severity.MEDIUM}
    assert any("of terraform" in p for p in passed("key-age"))


def test_the_simulator_fails_some_demo_users_and_passes_others(report: AuditReport) -> None:
    result = report.result("simulator")
    assert result is not None and result.status is Status.FAIL
    failing = {f.resource for f in result.findings}
    assert {"ci-deploy", "backup-bot", "ops-admin"} <= failing
    assert {"heidi", "ivan", "terraform"} <= set(result.passed)
    assert "mallory" not in failing  # her '*:*' policy is admin-users' finding
    ci = next(f for f in result.findings if f.resource == "ci-deploy")
    assert "ec2:TerminateInstances" in ci.detail and "iam:CreateAccessKey" in ci.detail
