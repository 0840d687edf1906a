"""`keytui audit` against the demo account served on 127.0.0.1 (the root conftest's `demo_server`, as after
`keytui demo serve`): JSON for CI with --fail-on, Markdown, mutes, usage errors, and an account keytui cannot
read at all. One run is a real `python -m keytui` process; the rest run keytui.cli.main in this process
(faster, and AWS faults can be injected)."""

from __future__ import annotations

import configparser
import json
import stat
import subprocess
import sys
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest

from ..conftest import DemoServer, Faults, Sandbox, clean_environ
from ..vault.conftest import AuthDemo, Run

CHECK_IDS = {
    "root-mfa", "root-keys", "root-use", "console-mfa", "key-age", "unused", "one-key", "never-used",
    "password-policy", "admin-users", "via-groups", "simulator", "ec2-roles", "admin-ports", "cloudtrail",
    "local-plaintext",
}
# The demo's findings at or above high (root-mfa is critical).
DEMO_HIGH = {"root-mfa", "console-mfa", "admin-users", "admin-ports", "cloudtrail", "local-plaintext"}


def demo_secrets(demo: DemoServer) -> list[str]:
    parser = configparser.RawConfigParser()
    parser.read(demo.credentials_file)
    secrets = [parser[s]["aws_secret_access_key"] for s in parser.sections()]
    assert secrets
    return secrets


@pytest.fixture
def on_demo(
    demo_server: DemoServer, monkeypatch: pytest.MonkeyPatch, use_keyring: Callable, few_regions: tuple[str, ...]
) -> DemoServer:
    """This process's environment pointed at the demo, as `keytui demo serve` tells the user to. EC2 is read in
    two regions (the demo's and one other; the subprocess run above reads them all)."""
    for name, value in demo_server.env().items():
        if name.startswith(("AWS_", "KEYTUI_", "PYTHON_KEYRING")):
            monkeypatch.setenv(name, value)
    use_keyring(demo_server.keyring())
    return demo_server


def test_audit_json_fail_on_high_lists_the_demos_high_findings_and_exits_1(demo_server: DemoServer) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "keytui", "audit", "--json", "--fail-on", "high"],
        env=demo_server.env(), capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("keytui: audit failed:") and "at or above high" in result.stderr
    report = json.loads(result.stdout)  # stdout is the JSON document and nothing else
    assert report["schema"] == "keytui.audit/1"
    assert report["account"] == "123456789012"
    assert report["generated"].endswith("Z")
    assert {c["id"] for c in report["checks"]} == CHECK_IDS
    checks = {c["id"]: c for c in report["checks"]}
    high = {c["id"] for c in report["checks"]
            for f in c["findings"] if f["severity"] in ("high", "critical") and not f["muted"]}
    assert DEMO_HIGH <= high
    assert report["counts"]["critical"] >= 1 and report["counts"]["high"] >= len(DEMO_HIGH) - 1
    assert 0 <= report["score"] < 50
    for check in report["checks"]:
        assert check["status"] in ("pass", "fail", "warn", "not run"), check  # nothing the demo cannot check
        for key in ("title", "severity", "practice", "calls", "remediation", "reason", "findings", "passed"):
            assert key in check
    ssh = next(f for f in checks["admin-ports"]["findings"] if "legacy-ssh" in f["resource"])
    assert ssh["fixes"][0]["kind"] == "aws" and ssh["fixes"][0]["calls"][0].startswith("ec2 revoke-security-group-ingress")
    assert checks["simulator"]["status"] == "not run"
    for secret in demo_secrets(demo_server):
        assert secret not in result.stdout + result.stderr


def test_audit_markdown_report(on_demo: DemoServer, run_cli: Callable[..., Run]) -> None:
    run = run_cli("audit", "--format", "md")
    assert run.code == 0, run.err  # no --fail-on: a report, not a verdict
    lines = run.out.splitlines()
    assert lines[0] == "# keytui audit — account 123456789012"
    assert "| check | severity | result |" in lines and "|---|---|---|" in lines
    rows = [line for line in lines if line.startswith("| `")]
    assert {row.split("`")[1] for row in rows} == CHECK_IDS
    assert any(row.startswith("| `root-keys`") and row.endswith("| pass |") for row in rows)
    assert any(row.startswith("| `admin-ports`") and "fail: 2 findings" in row for row in rows)
    assert "## admin-ports: No SSH/RDP open to the internet" in lines
    assert any(line.startswith("- **high** Security group") and "`ec2 revoke-security-group-ingress" in line for line in lines)


def test_audit_text_report_is_the_default(on_demo: DemoServer, run_cli: Callable[..., Run]) -> None:
    run = run_cli("audit")
    assert run.code == 0 and run.err == ""
    assert run.out.startswith("keytui audit of account 123456789012 at ")
    assert "✗ root-mfa" in run.out and "✓ root-keys" in run.out and "! root-use" in run.out
    assert "- simulator" in run.out and "keytui audit --simulate" in run.out


def test_fail_on_critical_after_muting_root_mfa(
    on_demo: DemoServer, run_cli: Callable[..., Run], sandbox: Sandbox, faults: Faults
) -> None:
    """Decision: a muted finding no longer fails the run; a check at or above the threshold that could not
    run still does (unknown is not a pass, and a mute is for a finding, not for a blind spot)."""
    assert run_cli("audit", "--fail-on", "critical").code == 1

    muted = run_cli("audit", "--mute", "root-mfa", "--reason", "hardware key ordered", "--days", "7")
    until = (date.today() + timedelta(days=7)).isoformat()
    assert muted.code == 0 and muted.out.strip() == f"Muted every finding of root-mfa until {until}: hardware key ordered"
    mutes = sandbox.state_home / "keytui" / "audit-mutes.json"
    assert stat.S_IMODE(mutes.stat().st_mode) == 0o600
    assert json.loads(mutes.read_text()) == [
        {"check": "root-mfa", "resource": "*", "reason": "hardware key ordered", "until": until}]

    passing = run_cli("audit", "--fail-on", "critical", "--json")
    assert passing.code == 0, passing.err
    root_mfa = next(c for c in json.loads(passing.out)["checks"] if c["id"] == "root-mfa")
    assert root_mfa["status"] == "pass" and root_mfa["findings"][0]["muted"].startswith("hardware key ordered")
    assert json.loads(passing.out)["counts"]["critical"] == 0
    assert run_cli("audit", "--fail-on", "high").code == 1  # everything else is still there

    # The root checks cannot run: the account summary is denied and the credential report too (no root row).
    for operation in ("GetAccountSummary", "GenerateCredentialReport", "GetCredentialReport"):
        faults.deny(operation)
    blind = run_cli("audit", "--fail-on", "critical")
    assert blind.code == 1
    assert "2 checks at or above critical could not run (root-mfa, root-keys)" in blind.err
    assert "? root-mfa" in blind.out and "could not check" in blind.out and "AccessDenied" in blind.out
    faults._denials.clear()

    assert run_cli("audit", "--unmute", "root-mfa").out.strip() == "Removed 1 mute for root-mfa."
    assert json.loads(mutes.read_text()) == []
    assert run_cli("audit", "--fail-on", "critical").code == 1
    again = run_cli("audit", "--unmute", "root-mfa")
    assert again.code == 1 and "Removed 0 mutes" in again.out


@pytest.mark.parametrize(("argv", "message"), [
    (("--fail-on", "bogus"), "invalid choice: 'bogus'"),
    (("--format", "xml"), "invalid choice: 'xml'"),
    (("--mute", "root-mfa"), "--mute needs --reason"),
    (("--mute", "root-mfa", "--reason", "   "), "needs a reason"),
    (("--mute", "no-such-check", "--reason", "why"), "Unknown check 'no-such-check'"),
    (("--unmute", "no-such-check"), "Unknown check 'no-such-check'"),
    (("--mute", "root-mfa", "--reason", "why", "--days", "0"), "--days must be between 1 and 365"),
    (("--mute", "root-mfa", "--reason", "why", "--days", "366"), "--days must be between 1 and 365"),
])
def test_usage_errors_exit_2(
    on_demo: DemoServer, run_cli: Callable[..., Run], sandbox: Sandbox, argv: tuple[str, ...], message: str
) -> None:
    run = run_cli("audit", *argv)
    assert run.code == 2
    assert message in run.err and "Traceback" not in run.err
    assert run.out == ""
    assert not (sandbox.state_home / "keytui" / "audit-mutes.json").exists()


def test_credentials_aws_rejects_are_one_clear_failure(auth_demo: AuthDemo, tmp_path: Path, sandbox: Sandbox) -> None:
    """A profile whose key the account does not know: every call would fail, so the run fails once, clearly,
    instead of printing sixteen "could not check" and exiting 0 (moto checks signatures here)."""
    config, credentials = tmp_path / "config", tmp_path / "credentials"
    config.write_text(f"[profile stranger]\nregion = us-east-1\nendpoint_url = {auth_demo.endpoint_url}\n")
    credentials.write_text("[stranger]\naws_access_key_id = AKIAUNKNOWNKEY000001\n"
                           "aws_secret_access_key = notTheSecretOfAnyKeyInThisAccount0000001\n")
    env = clean_environ()
    env.update(AWS_CONFIG_FILE=str(config), AWS_SHARED_CREDENTIALS_FILE=str(credentials), AWS_PROFILE="stranger",
               AWS_EC2_METADATA_DISABLED="true")
    for argv in ((), ("--json", "--fail-on", "high")):
        result = subprocess.run([sys.executable, "-m", "keytui", "audit", *argv], env=env, capture_output=True,
                                text=True, timeout=300)
        assert result.returncode == 1
        assert result.stdout == ""
        assert result.stderr.startswith("keytui: Could not") and "InvalidClientTokenId" in result.stderr
        assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1
        assert "notTheSecretOfAnyKey" not in result.stderr


def test_a_throttled_account_is_one_clear_failure(on_demo: DemoServer, run_cli: Callable[..., Run], faults: Faults) -> None:
    faults.throttle(every=1, service="sts")
    faults.throttle(every=1, service="iam")
    run = run_cli("audit", "--json", "--fail-on", "high")
    assert run.code == 1 and run.out == ""
    assert run.err.startswith("keytui: Could not") and "Throttling" in run.err and "rate-limiting" in run.err
    assert "Traceback" not in run.err
    assert faults.throttled  # botocore retried, then gave up


def test_an_account_where_only_iam_is_throttled_reports_what_could_not_run(
    on_demo: DemoServer, run_cli: Callable[..., Run], faults: Faults
) -> None:
    faults.throttle(every=1, service="iam")
    run = run_cli("audit", "--json", "--fail-on", "high")
    assert run.code == 1 and "Traceback" not in run.err
    checks = {c["id"]: c for c in json.loads(run.out)["checks"]}
    iam_checks = {"root-mfa", "root-keys", "root-use", "console-mfa", "key-age", "unused", "one-key", "never-used",
                  "password-policy", "admin-users", "via-groups"}
    for check_id in iam_checks:
        assert checks[check_id]["status"] == "could not check", check_id
        assert "Throttling" in checks[check_id]["reason"], check_id
    # EC2, CloudTrail and this machine were still read.
    for check_id in ("ec2-roles", "admin-ports", "cloudtrail", "local-plaintext"):
        assert checks[check_id]["status"] == "fail", check_id
    assert "could not run (root-mfa, root-keys, root-use, console-mfa, admin-users)" in run.err


def test_audit_thresholds_from_the_settings_file_change_the_verdict(
    on_demo: DemoServer, run_cli: Callable[..., Run], sandbox: Sandbox
) -> None:
    def checks() -> dict[str, dict]:
        run = run_cli("audit", "--json")
        assert run.code == 0, run.err
        return {c["id"]: c for c in json.loads(run.out)["checks"]}

    assert checks()["key-age"]["status"] == "fail"  # keys of 95 to 400 days
    sandbox.settings_file.parent.mkdir(parents=True, exist_ok=True)
    sandbox.settings_file.write_text("[audit]\nkey_age_days = 500\nkey_age_high_days = 1000\nunused_days = 401\n"
                                     "password_min_length = 8\npassword_reuse_prevention = 0\n")
    relaxed = checks()
    assert relaxed["key-age"]["status"] == "pass"
    assert [f["resource"] for f in relaxed["unused"]["findings"]] == ["console password of peggy"]  # 700 days
    # Length 8 and no reuse prevention are now enough; the missing character classes are not.
    (policy,) = relaxed["password-policy"]["findings"]
    assert "length" not in policy["detail"] and "reuse" not in policy["detail"] and "symbols not required" in policy["detail"]
