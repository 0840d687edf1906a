"""Each check on synthetic audit data: pass, fail, could-not-check, and the thresholds at their boundaries.
The rules are pure functions of AuditData, evaluated at a fixed NOW."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from keytui.core.audit import run_audit
from keytui.core.audit.data import AuditData, IngressRule, Instance, PlaintextKey, Trail, Unavailable, UserPolicies
from keytui.core.audit.fixes import _HANDLERS
from keytui.core.audit.model import CheckResult, FixKind, Severity, Status
from keytui.core.audit.registry import all_checks, evaluate
from keytui.core.settings import AuditSettings

from .conftest import DENIED, data, inventory, key, root, user

CHECK_IDS = (
    "root-mfa", "root-keys", "root-use", "console-mfa", "key-age", "unused", "one-key", "never-used",
    "password-policy", "admin-users", "via-groups", "simulator", "ec2-roles", "admin-ports", "cloudtrail",
    "local-plaintext",
)
GOOD_POLICY = {
    "MinimumPasswordLength": 14, "PasswordReusePrevention": 24, "RequireUppercaseCharacters": True,
    "RequireLowercaseCharacters": True, "RequireNumbers": True, "RequireSymbols": True,
    "AllowUsersToChangePassword": True,
}


def check(check_id: str, audit_data: AuditData, settings: AuditSettings | None = None) -> CheckResult:
    result = next(r for r in evaluate(audit_data, settings or AuditSettings()) if r.check.id == check_id)
    # The status is what the findings say; could-not-check always carries its reason.
    if result.status is Status.UNKNOWN:
        assert result.reason and not result.findings and not result.passed
    return result


def of(audit_data: AuditData, check_id: str, settings: AuditSettings | None = None) -> tuple[Status, list[tuple[str, Severity, Status]]]:
    result = check(check_id, audit_data, settings)
    return result.status, [(f.resource, f.severity, f.status) for f in result.findings]


def all_good() -> AuditData:
    """An account where every check passes."""
    return data(
        inventory=inventory(user("a", key("a", 5), console=True, mfa=True, password_used=1), root_row=root()),
        summary={"AccountMFAEnabled": 1, "AccountAccessKeysPresent": 0}, password_policy=GOOD_POLICY,
        policies={"a": UserPolicies("a", (), (), ("g",))}, instances=(), open_ingress=(),
        trails=(Trail("org", "arn:aws:cloudtrail:us-east-1:123456789012:trail/org", "us-east-1", True, True),),
        local=(),
    )


# -- registry and metadata ----------------------------------------------------------------------------------


def test_the_sixteen_checks_are_registered_once_in_report_order() -> None:
    assert tuple(c.id for c in all_checks()) == CHECK_IDS
    assert tuple(r.check.id for r in evaluate(data(), AuditSettings())) == CHECK_IDS


def test_every_check_has_its_metadata() -> None:
    for c in all_checks():
        assert c.id and c.title and c.practice and c.remediation, c
        assert isinstance(c.severity, Severity)
        # Every check that reads the account names the (read-only) calls it needs; only the local scan has none.
        if c.id != "local-plaintext":
            assert c.calls and all(":" in call for call in c.calls), c
    assert {c.id for c in all_checks() if c.on_demand} == {"simulator"}


def test_nothing_collected_means_every_check_could_not_check_never_pass() -> None:
    results = evaluate(data(simulation=DENIED), AuditSettings())
    assert {r.check.id: r.status for r in results} == {i: Status.UNKNOWN for i in CHECK_IDS}
    for r in results:
        assert r.reason and ("AccessDenied" in r.reason or "not collected" in r.reason), r
    report = run_audit(data(simulation=DENIED), AuditSettings())
    assert report.score == 0 and report.open_findings == ()


def test_the_simulator_is_not_run_unless_asked() -> None:
    result = check("simulator", data())
    assert result.status is Status.NOT_RUN and "--simulate" in (result.reason or "")
    # Left out of the score rather than counted as failed or passed.
    good = all_good()
    assert run_audit(good, AuditSettings()).score == 100
    assert run_audit(replace(good, simulation={"a": ()}), AuditSettings()).score == 100
    assert run_audit(replace(good, simulation={"a": ("s3:DeleteBucket",)}), AuditSettings()).score < 100


# -- root ------------------------------------------------------------------------------------------------------


def test_root_mfa_from_the_account_summary() -> None:
    assert of(data(summary={"AccountMFAEnabled": 1}), "root-mfa") == (Status.PASS, [])
    assert of(data(summary={"AccountMFAEnabled": 0}), "root-mfa") == (
        Status.FAIL, [("root", Severity.CRITICAL, Status.FAIL)])


def test_root_mfa_falls_back_to_the_credential_reports_root_row() -> None:
    assert of(data(summary=DENIED, inventory=inventory(root_row=root(mfa=True))), "root-mfa")[0] is Status.PASS
    assert of(data(summary=DENIED, inventory=inventory(root_row=root(mfa=False))), "root-mfa")[0] is Status.FAIL


@pytest.mark.parametrize("pieces", [
    {"summary": DENIED, "inventory": DENIED},
    {"summary": DENIED, "inventory": inventory()},  # a report without the root row (moto, a denied report)
    {"summary": DENIED, "inventory": inventory(root_row=root(mfa=None))},
    {"summary": {"Users": 3}},  # a summary without the flag, and no inventory
])
def test_root_mfa_could_not_check(pieces: dict) -> None:
    result = check("root-mfa", data(**pieces))
    assert result.status is Status.UNKNOWN
    if pieces.get("summary") is DENIED:
        assert "AccessDenied" in (result.reason or "")


def test_root_keys() -> None:
    assert of(data(summary={"AccountAccessKeysPresent": 0}), "root-keys")[0] is Status.PASS
    assert of(data(summary={"AccountAccessKeysPresent": 1}), "root-keys") == (
        Status.FAIL, [("root", Severity.CRITICAL, Status.FAIL)])
    assert of(data(summary=DENIED, inventory=inventory(root_row=root(keys=(False, True)))), "root-keys")[0] is Status.FAIL
    assert of(data(summary=DENIED, inventory=inventory(root_row=root(keys=(False, False)))), "root-keys")[0] is Status.PASS
    assert check("root-keys", data(summary=DENIED, inventory=inventory())).status is Status.UNKNOWN
    assert check("root-keys", data(summary=DENIED, inventory=DENIED)).status is Status.UNKNOWN


@pytest.mark.parametrize(("days", "status", "severity"), [
    (0, Status.FAIL, Severity.HIGH),
    (0.9, Status.FAIL, Severity.HIGH),
    (1, Status.WARN, Severity.MEDIUM),
    (89, Status.WARN, Severity.MEDIUM),
    (90, Status.PASS, None),
    (400, Status.PASS, None),
])
def test_root_use_thresholds(days: float, status: Status, severity: Severity | None) -> None:
    status_, findings = of(data(inventory=inventory(root_row=root(password_used=days))), "root-use")
    assert status_ is status
    assert findings == ([("root", severity, status)] if severity else [])


def test_root_use_counts_the_root_keys_too_and_never_used_root_passes() -> None:
    by_key = check("root-use", data(inventory=inventory(root_row=root(password_used=300, keys_used=0))))
    assert by_key.status is Status.FAIL and "today" in by_key.findings[0].detail
    assert check("root-use", data(inventory=inventory(root_row=root()))).status is Status.PASS


def test_root_use_could_not_check_without_the_root_row() -> None:
    result = check("root-use", data(inventory=inventory(report_error="AccessDenied on the credential report")))
    assert result.status is Status.UNKNOWN and "AccessDenied on the credential report" in (result.reason or "")
    assert check("root-use", data(inventory=DENIED)).status is Status.UNKNOWN


def test_root_use_thresholds_are_configurable() -> None:
    settings = AuditSettings(root_use_fail_days=7, root_use_warn_days=30)
    assert of(data(inventory=inventory(root_row=root(password_used=5))), "root-use", settings)[0] is Status.FAIL
    assert of(data(inventory=inventory(root_row=root(password_used=20))), "root-use", settings)[0] is Status.WARN
    assert of(data(inventory=inventory(root_row=root(password_used=45))), "root-use", settings)[0] is Status.PASS


# -- console users and keys ---------------------------------------------------------------------------------


def test_console_mfa() -> None:
    inv = inventory(
        user("withmfa", console=True, mfa=True, password_used=1),
        user("nomfa", console=True, mfa=False, password_used=1),
        user("service", key("service", 5), console=False, mfa=False),
    )
    result = check("console-mfa", data(inventory=inv))
    assert result.status is Status.FAIL
    assert [(f.resource, f.severity) for f in result.findings] == [("nomfa", Severity.HIGH)]
    assert result.passed == ("withmfa",)
    finding = result.findings[0]
    # Two ways out: the enroll workflow, or removing the console password (an AWS call, shown in full).
    assert finding.fix and finding.fix.kind is FixKind.WORKFLOW and finding.fix.workflow == "enroll"
    assert [f.calls for f in finding.also] == [("iam delete-login-profile --user-name nomfa",)]
    assert check("console-mfa", data(inventory=inventory(user("service", console=False)))).status is Status.PASS


def test_console_mfa_unknown_state_is_never_a_pass() -> None:
    unknown_console = inventory(user("x", console=None, mfa=None))
    unknown_mfa = inventory(user("y", console=True, mfa=None))
    for inv in (unknown_console, unknown_mfa):
        result = check("console-mfa", data(inventory=inv))
        assert result.status is Status.UNKNOWN and inv.users[0].name in (result.reason or "")
    # With a real finding, the unknown user is named in the note, and not counted as passed.
    mixed = check("console-mfa", data(inventory=inventory(user("nomfa", console=True), user("x", console=None))))
    assert mixed.status is Status.FAIL and "x" in (mixed.reason or "") and "x" not in mixed.passed
    assert check("console-mfa", data(inventory=DENIED)).status is Status.UNKNOWN


@pytest.mark.parametrize(("age", "severity"), [
    (5, None), (89, None), (90, Severity.MEDIUM), (729, Severity.MEDIUM), (730, Severity.HIGH), (2000, Severity.HIGH),
])
def test_key_age_thresholds(age: int, severity: Severity | None) -> None:
    k = key("alice", age)
    result = check("key-age", data(inventory=inventory(user("alice", k))))
    if severity is None:
        assert result.status is Status.PASS and result.passed == (f"{k.masked_id} of alice",)
    else:
        assert result.status is Status.FAIL
        assert [(f.severity, f.fix.workflow if f.fix else None) for f in result.findings] == [(severity, "rotate")]
        assert dict(result.findings[0].fix.params) == {"user": "alice", "key_id": k.key_id}  # type: ignore[union-attr]
        assert k.key_id not in result.findings[0].detail  # masked


def test_key_age_ignores_inactive_keys() -> None:
    assert check("key-age", data(inventory=inventory(user("a", key("a", 900, active=False))))).status is Status.PASS


def test_key_age_thresholds_are_configurable() -> None:
    settings = AuditSettings(key_age_days=30, key_age_high_days=80)
    inv = inventory(user("a", key("a", 29)), user("b", key("b", 30)), user("c", key("c", 80)))
    assert of(data(inventory=inv), "key-age", settings)[1] == [
        (f"{inv.users[1].keys[0].masked_id} of b", Severity.MEDIUM, Status.FAIL),  # type: ignore[index]
        (f"{inv.users[2].keys[0].masked_id} of c", Severity.HIGH, Status.FAIL),  # type: ignore[index]
    ]
    assert of(data(inventory=inv), "key-age")[0] is Status.PASS  # the defaults: all younger than 90 days


def test_users_with_unknown_keys_make_key_checks_unknown_and_never_pass() -> None:
    only_unknown = data(inventory=inventory(user("hidden", unknown_keys=True), user("nokeys")))
    for check_id in ("key-age", "unused", "one-key"):
        result = check(check_id, only_unknown)
        assert result.status is Status.UNKNOWN, check_id
        assert "hidden" in (result.reason or "")
    # never-used only looks at console users.
    console_unknown = data(inventory=inventory(user("hidden", console=True, mfa=True, password_used=1, unknown_keys=True)))
    assert check("never-used", console_unknown).status is Status.UNKNOWN
    # With findings elsewhere the check fails, and the unknown user is noted, not passed.
    mixed = data(inventory=inventory(user("hidden", unknown_keys=True), user("old", key("old", 400))))
    result = check("key-age", mixed)
    assert result.status is Status.FAIL and "hidden" in (result.reason or "")
    assert not any("hidden" in p for p in result.passed)


@pytest.mark.parametrize(("idle", "fails"), [(44, False), (45, True), (300, True)])
def test_unused_key_threshold(idle: int, fails: bool) -> None:
    k = key("bob", 400, used=idle)
    result = check("unused", data(inventory=inventory(user("bob", k))))
    assert result.status is (Status.FAIL if fails else Status.PASS)
    if fails:
        (finding,) = result.findings
        assert finding.severity is Severity.MEDIUM and f"{idle} days ago" in finding.detail
        assert finding.fix and finding.fix.action == "deactivate_key"
        assert dict(finding.fix.params) == {"user": "bob", "key_id": k.key_id}
        assert finding.fix.calls == (
            f"iam update-access-key --user-name bob --access-key-id {k.key_id} --status Inactive",)


@pytest.mark.parametrize(("age", "fails"), [(44, False), (45, True)])
def test_unused_never_used_key_counts_from_its_creation(age: int, fails: bool) -> None:
    result = check("unused", data(inventory=inventory(user("svc", key("svc", age, never=True)))))
    assert result.status is (Status.FAIL if fails else Status.PASS)
    if fails:
        assert "never been used" in result.findings[0].detail


def test_unused_ignores_inactive_keys_and_unknown_last_use_is_unknown() -> None:
    assert check("unused", data(inventory=inventory(user("a", key("a", 400, used=300, active=False))))).status is Status.PASS
    result = check("unused", data(inventory=inventory(user("a", key("a", 400, unknown_use=True)))))
    assert result.status is Status.UNKNOWN


@pytest.mark.parametrize(("used", "fails"), [(44, False), (45, True)])
def test_unused_console_password(used: int, fails: bool) -> None:
    result = check("unused", data(inventory=inventory(user("heidi", console=True, mfa=True, password_used=used))))
    assert result.status is (Status.FAIL if fails else Status.PASS)
    if fails:
        (finding,) = result.findings
        assert finding.resource == "console password of heidi"
        assert finding.fix and finding.fix.action == "delete_login_profile"
        assert finding.fix.calls == ("iam delete-login-profile --user-name heidi",)


def test_unused_console_password_never_used_counts_from_the_users_creation() -> None:
    young = check("unused", data(inventory=inventory(user("new", console=True, mfa=True, created=10))))
    old = check("unused", data(inventory=inventory(user("peggy", console=True, mfa=True, created=700))))
    assert young.status is Status.PASS
    assert old.status is Status.FAIL and "700 days" in old.findings[0].detail


def test_unused_threshold_is_configurable() -> None:
    inv = inventory(user("bob", key("bob", 400, used=12)))
    assert check("unused", data(inventory=inv)).status is Status.PASS
    assert check("unused", data(inventory=inv), AuditSettings(unused_days=10)).status is Status.FAIL


def test_one_key_fails_on_two_active_keys_and_deactivates_the_less_used() -> None:
    busy = key("niaj", 95, used=0)
    idle = key("niaj", 75, used=60)
    result = check("one-key", data(inventory=inventory(user("niaj", busy, idle), user("solo", key("solo", 5)))))
    assert result.status is Status.FAIL and result.passed == ("solo",)
    (finding,) = result.findings
    assert finding.fix and dict(finding.fix.params) == {"user": "niaj", "key_id": idle.key_id}
    # A never-used key counts as less used than any used one.
    never = key("x", 1, never=True)
    result = check("one-key", data(inventory=inventory(user("x", key("x", 400, used=300), never))))
    assert dict(result.findings[0].fix.params)["key_id"] == never.key_id  # type: ignore[union-attr]


def test_one_key_passes_during_an_open_rotation_and_with_an_inactive_second_key() -> None:
    two = inventory(user("alice", key("alice", 400), key("alice", 0)))
    assert check("one-key", replace(data(inventory=two), open_rotations=frozenset({"alice"}))).status is Status.PASS
    assert check("one-key", replace(data(inventory=two), open_rotations=frozenset({"bob"}))).status is Status.FAIL
    inactive = inventory(user("erin", key("erin", 95, active=False), key("erin", 5)))
    assert check("one-key", data(inventory=inactive)).status is Status.PASS


def test_never_used_only_concerns_console_users() -> None:
    never = key("rupert", 5, never=True)
    inv = inventory(
        user("rupert", never, console=True, mfa=True, password_used=1),
        user("slack-notifier", key("slack-notifier", 400, never=True)),  # a service user: not this check's business
        user("carol", key("carol", 5, used=1), console=True, mfa=True, password_used=1),
    )
    result = check("never-used", data(inventory=inv))
    assert result.status is Status.FAIL
    (finding,) = result.findings
    assert (finding.resource, finding.severity) == (f"{never.masked_id} of rupert", Severity.LOW)
    assert finding.fix and finding.fix.action == "delete_key"
    assert finding.fix.calls == (f"iam delete-access-key --user-name rupert --access-key-id {never.key_id}",)
    assert not any("slack" in p for p in result.passed) and any("carol" in p for p in result.passed)
    unknown = inventory(user("u", key("u", 5, unknown_use=True), console=True, mfa=True, password_used=1))
    assert check("never-used", data(inventory=unknown)).status is Status.UNKNOWN


# -- policies ---------------------------------------------------------------------------------------------------


def test_password_policy_absent_is_a_finding_not_unknown() -> None:
    result = check("password-policy", data(password_policy=None))
    assert result.status is Status.FAIL and "no password policy" in result.findings[0].detail
    assert result.findings[0].fix and result.findings[0].fix.action == "password_policy"


def test_password_policy_unreadable_is_unknown() -> None:
    result = check("password-policy", data(password_policy=DENIED))
    assert result.status is Status.UNKNOWN and "AccessDenied" in (result.reason or "")


@pytest.mark.parametrize(("changes", "gap"), [
    ({}, None),
    ({"MinimumPasswordLength": 13}, "minimum length 13"),
    ({"MinimumPasswordLength": 20}, None),
    ({"PasswordReusePrevention": 23}, "reuse prevention 23"),
    ({"PasswordReusePrevention": None}, "reuse prevention 0"),
    ({"RequireSymbols": False}, "symbols not required"),
    ({"RequireUppercaseCharacters": False}, "uppercase characters not required"),
])
def test_password_policy_boundaries(changes: dict, gap: str | None) -> None:
    policy = {k: v for k, v in {**GOOD_POLICY, **changes}.items() if v is not None}
    result = check("password-policy", data(password_policy=policy))
    if gap is None:
        assert result.status is Status.PASS
    else:
        assert result.status is Status.FAIL and gap in result.findings[0].detail


def test_password_policy_thresholds_are_configurable_and_the_fix_applies_them() -> None:
    settings = AuditSettings(password_min_length=8, password_reuse_prevention=5)
    weak = {**GOOD_POLICY, "MinimumPasswordLength": 8, "PasswordReusePrevention": 5}
    assert check("password-policy", data(password_policy=weak), settings).status is Status.PASS
    assert check("password-policy", data(password_policy=weak)).status is Status.FAIL
    fix = check("password-policy", data(password_policy=None), settings).findings[0].fix
    assert fix is not None and dict(fix.params)["MinimumPasswordLength"] == 8
    assert dict(fix.params)["PasswordReusePrevention"] == 5
    assert "--minimum-password-length 8" in fix.calls[0] and "--password-reuse-prevention 5" in fix.calls[0]


def test_password_policy_fix_keeps_what_is_already_stricter() -> None:
    """UpdateAccountPasswordPolicy resets what it is not given: the fix carries the account's stricter values."""
    strict = {**GOOD_POLICY, "MinimumPasswordLength": 20, "PasswordReusePrevention": 24, "RequireSymbols": False,
              "MaxPasswordAge": 90, "HardExpiry": True, "ExpirePasswords": True}
    (finding,) = check("password-policy", data(password_policy=strict)).findings
    fix = finding.fix
    assert fix is not None
    assert dict(fix.params) == {
        "MinimumPasswordLength": 20, "PasswordReusePrevention": 24, "RequireUppercaseCharacters": True,
        "RequireLowercaseCharacters": True, "RequireNumbers": True, "RequireSymbols": True,
        "AllowUsersToChangePassword": True, "MaxPasswordAge": 90, "HardExpiry": True,
    }
    (call,) = fix.calls
    for flag in ("--minimum-password-length 20", "--max-password-age 90", "--hard-expiry", "--require-symbols"):
        assert flag in call
    assert "ExpirePasswords" not in call and "expire-passwords" not in call  # read-only, not a parameter


def policies(**entries: UserPolicies) -> dict[str, UserPolicies]:
    return entries


ADMIN_ARN = f"arn:aws:iam::123456789012:policy/FullAdmin"


def test_admin_users_and_via_groups() -> None:
    pieces = data(policies=policies(
        mallory=UserPolicies("mallory", (ADMIN_ARN,), (), (), (ADMIN_ARN,)),
        ci=UserPolicies("ci", (), ("deploy",), (), ()),
        alice=UserPolicies("alice", (), (), ("developers",), ()),
    ))
    admin = check("admin-users", pieces)
    assert admin.status is Status.FAIL
    assert [(f.resource, f.severity) for f in admin.findings] == [("mallory", Severity.HIGH)]
    assert ADMIN_ARN in admin.findings[0].detail and admin.findings[0].fix.kind is FixKind.GUIDE  # type: ignore[union-attr]
    assert set(admin.passed) == {"alice", "ci"}
    groups = check("via-groups", pieces)
    assert [(f.resource, f.severity) for f in groups.findings] == [("ci", Severity.LOW), ("mallory", Severity.LOW)]
    assert "deploy (inline)" in groups.findings[0].detail
    assert groups.passed == ("alice",)
    for check_id in ("admin-users", "via-groups"):
        assert check(check_id, data(policies={"alice": UserPolicies("alice", (), (), ("g",))})).status is Status.PASS
        assert check(check_id, data(policies=DENIED)).status is Status.UNKNOWN


def test_simulator_check() -> None:
    pieces = data(
        policies=policies(mallory=UserPolicies("mallory", (ADMIN_ARN,), (), (), (ADMIN_ARN,))),
        simulation={"ci": ("ec2:TerminateInstances", "iam:CreateAccessKey"), "heidi": (), "mallory": ("s3:DeleteBucket",)},
    )
    result = check("simulator", pieces)
    assert result.status is Status.FAIL
    # mallory is already an admin-users finding; reported once.
    assert [(f.resource, f.severity) for f in result.findings] == [("ci", Severity.HIGH)]
    assert "ec2:TerminateInstances" in result.findings[0].detail
    assert result.passed == ("heidi",)
    assert check("simulator", data(simulation={"heidi": ()})).status is Status.PASS
    denied = check("simulator", data(simulation=Unavailable("AccessDenied on iam:SimulatePrincipalPolicy")))
    assert denied.status is Status.UNKNOWN and "SimulatePrincipalPolicy" in (denied.reason or "")


# -- infrastructure -----------------------------------------------------------------------------------------


def test_ec2_roles() -> None:
    instances = (Instance("i-1", "web-1", "us-east-1", "arn:aws:iam::1:instance-profile/web"),
                 Instance("i-2", "legacy", "eu-west-1", None))
    result = check("ec2-roles", data(instances=instances))
    assert result.status is Status.FAIL
    assert [(f.resource, f.severity) for f in result.findings] == [("i-2 (legacy)", Severity.MEDIUM)]
    assert "eu-west-1" in result.findings[0].detail
    assert result.passed == ("i-1 (web-1)",)
    assert check("ec2-roles", data(instances=())).status is Status.PASS
    assert check("ec2-roles", data(instances=DENIED)).status is Status.UNKNOWN


def rule(protocol: str, low: int | None, high: int | None, cidr: str = "0.0.0.0/0", group: str = "sg-1") -> IngressRule:
    return IngressRule(group, "name", "us-east-1", protocol, low, high, cidr)


@pytest.mark.parametrize(("ingress", "exposed"), [
    (rule("tcp", 22, 22), "SSH"),
    (rule("tcp", 20, 25), "SSH"),
    (rule("tcp", 3389, 3389, "::/0"), "RDP"),
    (rule("tcp", 3000, 4000), "RDP"),
    (rule("tcp", 0, 65535), "SSH and RDP"),
    (rule("-1", None, None), "SSH and RDP"),
    (rule("-1", None, None, "::/0"), "SSH and RDP"),
    (rule("udp", 22, 22), None),
    (rule("udp", 0, 65535), None),
    (rule("tcp", 443, 443), None),
    (rule("tcp", 23, 3388), None),
    (rule("icmp", -1, -1), None),
])
def test_admin_ports(ingress: IngressRule, exposed: str | None) -> None:
    result = check("admin-ports", data(open_ingress=(ingress,)))
    if exposed is None:
        assert result.status is Status.PASS and not result.findings
        return
    assert result.status is Status.FAIL
    (finding,) = result.findings
    assert finding.severity is Severity.HIGH and f"{exposed} open to the whole internet" in finding.detail
    assert ingress.cidr in finding.resource
    fix = finding.fix
    assert fix and fix.kind is FixKind.AWS and fix.action == "revoke_ingress"
    permission = json.loads(str(fix.param("permission")))
    # Exactly the world-open rule, nothing broader.
    expected: dict = {"IpProtocol": ingress.protocol}
    if ingress.protocol != "-1":
        expected.update(FromPort=ingress.from_port, ToPort=ingress.to_port)
    expected["Ipv6Ranges" if ":" in ingress.cidr else "IpRanges"] = (
        [{"CidrIpv6": ingress.cidr}] if ":" in ingress.cidr else [{"CidrIp": ingress.cidr}])
    assert permission == expected
    assert fix.calls[0].startswith(f"ec2 revoke-security-group-ingress --region us-east-1 --group-id {ingress.group_id}")


def test_admin_ports_unknown_when_the_groups_could_not_be_read() -> None:
    assert check("admin-ports", data(open_ingress=DENIED)).status is Status.UNKNOWN
    assert check("admin-ports", data(open_ingress=())).status is Status.PASS


def trail(name: str, multi: bool, logging: bool | None) -> Trail:
    return Trail(name, f"arn:aws:cloudtrail:us-east-1:123456789012:trail/{name}", "us-east-1", multi, logging)


def test_cloudtrail() -> None:
    assert check("cloudtrail", data(trails=(trail("org", True, True),))).status is Status.PASS
    assert check("cloudtrail", data(trails=(trail("org", True, False), trail("org2", True, True)))).status is Status.PASS
    stopped = check("cloudtrail", data(trails=(trail("org", True, False),)))
    assert stopped.status is Status.FAIL
    fix = stopped.findings[0].fix
    assert fix and fix.action == "start_logging" and dict(fix.params) == {
        "region": "us-east-1", "name": "arn:aws:cloudtrail:us-east-1:123456789012:trail/org"}
    assert fix.calls == ("cloudtrail start-logging --region us-east-1 --name "
                         "arn:aws:cloudtrail:us-east-1:123456789012:trail/org",)
    # Only a single-region trail, or none at all: a finding whose fix is a guide (a trail needs a bucket).
    for trails in ((trail("local", False, True),), ()):
        result = check("cloudtrail", data(trails=trails))
        assert result.status is Status.FAIL and result.findings[0].fix.kind is FixKind.GUIDE  # type: ignore[union-attr]
    unknown_status = check("cloudtrail", data(trails=(trail("org", True, None),)))
    assert unknown_status.status is Status.UNKNOWN and "org" in (unknown_status.reason or "")
    assert check("cloudtrail", data(trails=DENIED)).status is Status.UNKNOWN


def test_local_plaintext() -> None:
    long_term = PlaintextKey("bob-laptop", "AKIAIOSFODNN7EXAMPLE", "/home/u/.aws/credentials", False)
    session = PlaintextKey("(cache)", "ASIAIOSFODNN7EXAMPLE", "/home/u/.aws/cli/cache/x.json", True)
    result = check("local-plaintext", data(local=(long_term, session)))
    assert result.status is Status.FAIL
    by_status = {f.status: f for f in result.findings}
    assert (by_status[Status.FAIL].severity, by_status[Status.WARN].severity) == (Severity.HIGH, Severity.LOW)
    fix = by_status[Status.FAIL].fix
    assert fix and fix.kind is FixKind.WORKFLOW and fix.workflow == "import" and fix.calls == ("keytui vault import bob-laptop",)
    for f in result.findings:
        assert "IOSFODNN7EXAMPLE" not in f.detail + f.resource  # key ids masked
    only_session = check("local-plaintext", data(local=(session,)))
    assert only_session.status is Status.WARN
    assert check("local-plaintext", data(local=())).status is Status.PASS
    assert check("local-plaintext", data(local=DENIED)).status is Status.UNKNOWN


# -- the report -----------------------------------------------------------------------------------------------


def kitchen_sink() -> AuditData:
    """Every check with at least one finding, and every kind of fix."""
    never = key("rupert", 5, never=True)
    return data(
        inventory=inventory(
            user("bob", key("bob", 95, used=60), console=True, mfa=False, password_used=1),
            user("niaj", key("niaj", 800, used=0), key("niaj", 75, used=50)),
            user("rupert", never, console=True, mfa=True, password_used=200),
            root_row=root(mfa=False, password_used=3),
        ),
        summary={"AccountMFAEnabled": 0, "AccountAccessKeysPresent": 1},
        password_policy=None,
        policies=policies(mallory=UserPolicies("mallory", (ADMIN_ARN,), (), (), (ADMIN_ARN,))),
        simulation={"ci": ("ec2:TerminateInstances",)},
        instances=(Instance("i-2", None, "us-east-1", None),),
        open_ingress=(rule("tcp", 22, 22), rule("tcp", 3389, 3389, "::/0", "sg-2")),
        trails=(trail("org", True, False),),
        local=(PlaintextKey("bob-laptop", "AKIAIOSFODNN7EXAMPLE", "/x/credentials", False),),
    )


def test_every_check_can_fail_and_every_aws_fix_lists_its_calls_and_has_a_handler() -> None:
    report = run_audit(kitchen_sink(), AuditSettings())
    assert {r.check.id: r.effective_status for r in report.results} == {
        i: Status.WARN if i == "root-use" else Status.FAIL for i in CHECK_IDS}
    fixes = [fix for f in report.open_findings for fix in f.fixes]
    aws = [fix for fix in fixes if fix.kind is FixKind.AWS]
    assert {fix.action for fix in aws} == set(_HANDLERS) == {
        "deactivate_key", "delete_key", "delete_login_profile", "password_policy", "revoke_ingress", "start_logging"}
    for fix in aws:
        assert fix.calls and fix.label, fix
        assert all(call.split()[0] in ("iam", "ec2", "cloudtrail") for call in fix.calls), fix
    for fix in fixes:
        if fix.kind is FixKind.GUIDE:
            assert fix.guide, fix
        if fix.kind is FixKind.WORKFLOW:
            assert fix.workflow in ("rotate", "enroll", "import"), fix


def test_score_counts_and_at_or_above() -> None:
    report = run_audit(kitchen_sink(), AuditSettings())
    counts = report.counts()
    assert counts[Severity.CRITICAL] == 2  # root MFA, root keys
    assert sum(counts.values()) == len(report.open_findings)
    # Weights 10/6/3/1 by check severity: 79 in all; only root-use's warning earns anything (half of 6).
    assert report.score == round(100 * 3 / 79)
    assert {f.check_id for f in report.at_or_above(Severity.CRITICAL)} == {"root-mfa", "root-keys"}
    assert all(f.severity >= Severity.HIGH for f in report.at_or_above(Severity.HIGH))
    assert len(report.at_or_above(Severity.INFO)) == len(report.open_findings)
    clean = run_audit(all_good(), AuditSettings())
    assert clean.score == 100 and clean.open_findings == ()
    assert all(r.status is Status.PASS for r in clean.results if r.check.id != "simulator")


def test_an_unknown_check_lowers_the_score_like_a_failure() -> None:
    failing = run_audit(replace(all_good(), trails=()), AuditSettings())
    unknown = run_audit(replace(all_good(), trails=DENIED), AuditSettings())
    assert failing.score == unknown.score < 100
    assert unknown.result("cloudtrail").effective_status is Status.UNKNOWN  # type: ignore[union-attr]
