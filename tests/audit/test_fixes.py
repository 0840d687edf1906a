"""Each AWS fix end to end on the demo account: the finding is there, Services.apply_fix runs exactly the calls
its confirmation shows, the account changed just so, and on the next audit the finding is gone.

One demo account for the module (see conftest.demo): each test fixes a different resource, so none depends
on another's change.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest

from keytui.core.audit.model import AuditReport, Finding, Fix, FixKind, Status
from keytui.core.errors import KeytuiError
from keytui.demo import DEMO_REGION, DemoAccount
from keytui.services import Services

from ..conftest import Faults
from .conftest import demo_services, moto_iam

READS = ("List", "Get", "Describe")


def client(demo: DemoAccount, service: str, key: tuple[str, str] | None = None) -> Any:
    """A plain boto3 client on the demo's server, to read (or use) AWS's state behind keytui's back."""
    key_id, secret = key or ("AKIADEMOREADER000000", "demo-reader-secret")
    return boto3.client(service, region_name=DEMO_REGION, endpoint_url=demo.endpoint_url,
                        aws_access_key_id=key_id, aws_secret_access_key=secret)


def finding(report: AuditReport, check_id: str, resource_part: str) -> Finding | None:
    result = report.result(check_id)
    assert result is not None and result.status is not Status.UNKNOWN, result
    matches = [f for f in result.findings if resource_part in f.resource]
    assert len(matches) <= 1, matches
    return matches[0] if matches else None


def operation(cli_call: str) -> str:
    """'iam update-access-key --user-name …' -> 'UpdateAccessKey'."""
    return "".join(word.capitalize() for word in cli_call.split()[1].split("-"))


def apply(services: Services, fix: Fix, faults: Faults) -> tuple[str, list[Any]]:
    """Apply the fix; returns its message and the mutating calls it made (reads left out)."""
    assert fix.kind is FixKind.AWS and fix.calls, fix
    start = len(faults.calls)
    message = services.apply_fix(fix)
    writes = [c for c in faults.calls[start:] if not c.operation.startswith(READS)]
    # Exactly the calls the confirmation showed, in that order.
    assert [c.operation for c in writes] == [operation(call) for call in fix.calls]
    return message, writes


@pytest.fixture
def services(demo: DemoAccount, tmp_path: Path, faults: Faults, few_regions: tuple[str, ...]) -> Services:
    """The demo's services, recording every call; EC2 is read in two regions (the demo's and one other)."""
    return demo_services(demo, tmp_path / "state")


def test_password_policy_fix_applies_the_recommended_policy(services: Services, demo: DemoAccount, faults: Faults) -> None:
    before = finding(services.run_audit(), "password-policy", "account")
    assert before and before.fix and "minimum length 8" in before.detail
    _, (call,) = apply(services, before.fix, faults)
    assert call.params == dict(before.fix.params)
    policy = client(demo, "iam").get_account_password_policy()["PasswordPolicy"]
    assert policy["MinimumPasswordLength"] == 14 and policy["PasswordReusePrevention"] == 24
    assert all(policy[name] for name in ("RequireUppercaseCharacters", "RequireLowercaseCharacters", "RequireNumbers",
                                         "RequireSymbols", "AllowUsersToChangePassword"))
    for flag in ("--minimum-password-length 14", "--password-reuse-prevention 24", "--require-symbols"):
        assert flag in before.fix.calls[0]
    assert services.run_audit().result("password-policy").status is Status.PASS  # type: ignore[union-attr]


def test_password_policy_fix_never_weakens_what_the_account_already_has(
    services: Services, demo: DemoAccount, faults: Faults
) -> None:
    """UpdateAccountPasswordPolicy resets every setting it is not given: the fix must keep a longer minimum,
    a longer reuse history, the maximum age and hard expiry the account already has."""
    client(demo, "iam").update_account_password_policy(
        MinimumPasswordLength=20, PasswordReusePrevention=24, RequireUppercaseCharacters=True,
        RequireLowercaseCharacters=True, RequireNumbers=True, RequireSymbols=False, AllowUsersToChangePassword=True,
        MaxPasswordAge=90, HardExpiry=True)
    before = finding(services.run_audit(), "password-policy", "account")
    assert before and before.fix and "symbols not required" in before.detail and "minimum length" not in before.detail
    apply(services, before.fix, faults)
    policy = client(demo, "iam").get_account_password_policy()["PasswordPolicy"]
    assert policy["RequireSymbols"] is True
    assert (policy["MinimumPasswordLength"], policy["PasswordReusePrevention"]) == (20, 24)
    assert (policy.get("MaxPasswordAge"), policy.get("HardExpiry")) == (90, True)
    assert services.run_audit().result("password-policy").status is Status.PASS  # type: ignore[union-attr]


def ingress(demo: DemoAccount, group_name: str) -> list[dict[str, Any]]:
    groups = client(demo, "ec2").describe_security_groups(GroupNames=[group_name])["SecurityGroups"]
    return groups[0]["IpPermissions"]


def test_admin_ports_fix_revokes_exactly_the_world_open_rule(services: Services, demo: DemoAccount, faults: Faults) -> None:
    web_before = ingress(demo, "web")
    report = services.run_audit()
    ssh = finding(report, "admin-ports", "(legacy-ssh)")
    rdp = finding(report, "admin-ports", "(rdp-jumphost)")
    assert ssh and ssh.fix and rdp and rdp.fix
    assert finding(report, "admin-ports", "(web)") is None  # 443 to the world is not an admin port

    message, (call,) = apply(services, ssh.fix, faults)
    assert "Revoked" in message
    assert call.params["IpPermissions"] == [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                                             "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    assert ingress(demo, "legacy-ssh") == []
    assert [p["FromPort"] for p in ingress(demo, "rdp-jumphost")] == [3389]
    after = services.run_audit()
    assert finding(after, "admin-ports", "(legacy-ssh)") is None
    assert finding(after, "admin-ports", "(rdp-jumphost)") is not None

    # The IPv6 rule: revoked through Ipv6Ranges.
    apply(services, rdp.fix, faults)
    assert ingress(demo, "rdp-jumphost") == []
    assert services.run_audit().result("admin-ports").status is Status.PASS  # type: ignore[union-attr]
    assert ingress(demo, "web") == web_before and web_before[0]["FromPort"] == 443  # untouched


def test_cloudtrail_fix_starts_logging(services: Services, demo: DemoAccount, faults: Faults) -> None:
    trails = client(demo, "cloudtrail")
    assert trails.get_trail_status(Name="org-trail")["IsLogging"] is False
    before = finding(services.run_audit(), "cloudtrail", "org-trail")
    assert before and before.fix
    _, (call,) = apply(services, before.fix, faults)
    assert call.params["Name"].endswith(":trail/org-trail")
    assert trails.get_trail_status(Name="org-trail")["IsLogging"] is True
    assert services.run_audit().result("cloudtrail").status is Status.PASS  # type: ignore[union-attr]


def key_states() -> dict[str, str]:
    """Every key of the account: id -> status, as moto has it."""
    return {k.access_key_id: k.status for u in moto_iam().users.values() for k in u.access_keys}


def test_unused_fix_deactivates_that_key_only(services: Services, faults: Faults) -> None:
    before = finding(services.run_audit(), "unused", "of grafana-reader")
    assert before and before.fix and before.fix.action == "deactivate_key"
    key_id = str(before.fix.param("key_id"))
    states = key_states()
    assert states[key_id] == "Active"
    message, (call,) = apply(services, before.fix, faults)
    assert call.params == {"UserName": "grafana-reader", "AccessKeyId": key_id, "Status": "Inactive"}
    assert "grafana-reader now has no active key" in message
    assert key_states() == {**states, key_id: "Inactive"}
    after = services.run_audit()
    assert finding(after, "unused", "of grafana-reader") is None
    assert finding(after, "key-age", "of grafana-reader") is None  # an inactive key is no longer rotated


def test_never_used_fix_deletes_the_key(services: Services, faults: Faults) -> None:
    before = finding(services.run_audit(), "never-used", "of rupert")
    assert before and before.fix and before.fix.action == "delete_key"
    key_id = str(before.fix.param("key_id"))
    states = key_states()
    _, (call,) = apply(services, before.fix, faults)
    assert call.params == {"UserName": "rupert", "AccessKeyId": key_id}
    assert key_states() == {k: v for k, v in states.items() if k != key_id}
    after = services.run_audit()
    assert finding(after, "never-used", "of rupert") is None
    assert after.result("never-used").status is Status.PASS  # type: ignore[union-attr]


def test_never_used_fix_refuses_a_key_used_since_the_audit(services: Services, demo: DemoAccount, faults: Faults) -> None:
    created = client(demo, "iam").create_access_key(UserName="grace")["AccessKey"]
    before = finding(services.run_audit(), "never-used", "of grace")
    assert before and before.fix and before.fix.param("key_id") == created["AccessKeyId"]
    # Someone starts using the key between the audit and the key press.
    client(demo, "sts", (created["AccessKeyId"], created["SecretAccessKey"])).get_caller_identity()
    with pytest.raises(KeytuiError) as refused:
        services.apply_fix(before.fix)
    assert refused.value.code == "Stale" and "used since the audit" in str(refused.value)
    assert not [c for c in faults.calls if c.operation == "DeleteAccessKey"]
    assert key_states()[created["AccessKeyId"]] == "Active"
    assert finding(services.run_audit(), "never-used", "of grace") is None  # used now: no longer a finding


def login_profile(demo: DemoAccount, user: str) -> bool:
    try:
        client(demo, "iam").get_login_profile(UserName=user)
    except client(demo, "iam").exceptions.NoSuchEntityException:
        return False
    return True


def test_remove_console_password_fix(services: Services, demo: DemoAccount, faults: Faults) -> None:
    report = services.run_audit()
    unused = finding(report, "unused", "console password of heidi")
    assert unused and unused.fix and unused.fix.action == "delete_login_profile"
    assert finding(report, "console-mfa", "heidi") is not None
    assert login_profile(demo, "heidi")
    message, (call,) = apply(services, unused.fix, faults)
    assert call.params == {"UserName": "heidi"} and "no longer sign in" in message
    assert not login_profile(demo, "heidi")
    after = services.run_audit()
    # Without a password, heidi is neither an unused console password nor a console user without MFA.
    assert finding(after, "unused", "console password of heidi") is None
    assert finding(after, "console-mfa", "heidi") is None

    # The same fix offered as the alternative to enrolling MFA (console-mfa's second way out).
    peggy = finding(after, "console-mfa", "peggy")
    assert peggy and peggy.fix and peggy.fix.kind is FixKind.WORKFLOW
    (remove,) = peggy.also
    apply(services, remove, faults)
    assert not login_profile(demo, "peggy")
    assert finding(services.run_audit(), "console-mfa", "peggy") is None


def test_guides_and_workflows_are_not_applied_by_apply_fix(services: Services, faults: Faults) -> None:
    report = services.run_audit()
    for check_id, resource in (("root-mfa", "root"), ("key-age", "of alice")):
        fix = finding(report, check_id, resource).fix  # type: ignore[union-attr]
        assert fix and fix.kind is not FixKind.AWS
        start = len(faults.calls)
        with pytest.raises(KeytuiError) as error:
            services.apply_fix(fix)
        assert error.value.code == "NotAutomatic"
        assert faults.calls[start:] == []


def test_a_key_held_on_this_machine_is_never_switched_off_by_a_fix(
    services: Services, demo: DemoAccount, faults: Faults
) -> None:
    """bob's key is unused for 60 days, but local profile bob-laptop holds it: deactivating it from the audit
    would lock that profile out (AWS's last-use data lags), so the fix is refused and the key stays Active."""
    found = finding(services.run_audit(), "unused", "of bob")
    assert found and found.fix and found.fix.action == "deactivate_key"
    start = len(faults.calls)

    with pytest.raises(KeytuiError) as refused:
        services.apply_fix(found.fix)

    assert refused.value.code == "KeyInUse"
    assert "bob-laptop" in str(refused.value) and "Rotate it instead" in str(refused.value)
    assert not [c for c in faults.calls[start:] if not c.operation.startswith(READS)]
    keys = client(demo, "iam").list_access_keys(UserName="bob")["AccessKeyMetadata"]
    assert [k["Status"] for k in keys] == ["Active"]
