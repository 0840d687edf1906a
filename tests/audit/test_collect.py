"""The collectors against moto (`mock_aws`, in this process): what each piece reads, that a denied call makes
only the checks that need it "could not check" (with the reason) while the rest still evaluate, the policy
simulator (which moto lacks) through a stub, and the scan of this machine's AWS files."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from keytui.core.audit import run_audit
from keytui.core.audit.collect import AuditCollector, scan_local
from keytui.core.audit.data import AuditData
from keytui.core.audit.model import AuditReport, Status
from keytui.core.audit.rules_policies import DESTRUCTIVE_ACTIONS
from keytui.core.settings import AuditSettings
from keytui.demo import DemoKey, DemoUser
from keytui.services import Services

from ..conftest import ACCOUNT_ID, NOW, Faults, MotoAccount
from .conftest import SimulatorStub

REGION = "us-east-1"
OTHER_REGION = "eu-west-1"
ADMIN = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
ADMIN_AS_LISTS = {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": ["*"], "Resource": ["*"]}}
CONDITIONED = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]}
NARROW = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
ONE_BUCKET = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*",
                                                        "Resource": "arn:aws:s3:::one-bucket/*"}]}
DENY_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}

USERS = (
    DemoUser("root-ish", console=True, mfa=True, keys=(DemoKey(5, used_days_ago=0),)),
    DemoUser("inline-admin", keys=(DemoKey(30, used_days_ago=1),)),
    DemoUser("mfa-admin", keys=(DemoKey(30, used_days_ago=1),)),
    DemoUser("s3-user", keys=(DemoKey(30, used_days_ago=1),)),
    DemoUser("bucket-user", keys=(DemoKey(30, used_days_ago=1),)),
    DemoUser("grouped", console=True, mfa=True),
    DemoUser("aws-admin", keys=(DemoKey(30, used_days_ago=1),)),
)


def aws(service: str, region: str = REGION) -> Any:
    """A plain boto3 client on moto, for setting up and reading state."""
    return boto3.client(service, region_name=region, aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
                        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")


def policy_arn(name: str, document: dict) -> str:
    return aws("iam").create_policy(PolicyName=name, PolicyDocument=json.dumps(document))["Policy"]["Arn"]


def seed_policies() -> None:
    iam = aws("iam")
    iam.attach_user_policy(UserName="root-ish", PolicyArn=policy_arn("CustomerAdmin", ADMIN))
    iam.put_user_policy(UserName="inline-admin", PolicyName="everything", PolicyDocument=json.dumps(ADMIN_AS_LISTS))
    iam.put_user_policy(UserName="mfa-admin", PolicyName="with-mfa", PolicyDocument=json.dumps(CONDITIONED))
    iam.put_user_policy(UserName="mfa-admin", PolicyName="deny", PolicyDocument=json.dumps(DENY_ALL))
    iam.attach_user_policy(UserName="s3-user", PolicyArn=policy_arn("S3Only", NARROW))
    iam.attach_user_policy(UserName="bucket-user", PolicyArn=policy_arn("OneBucket", ONE_BUCKET))
    # moto loads AWS's managed policies only when asked: add AdministratorAccess the way it would.
    from moto.iam.models import AWSManagedPolicy, iam_backends

    managed = AWSManagedPolicy.from_data("AdministratorAccess", ACCOUNT_ID, REGION, {
        "DefaultVersionId": "v1", "Path": "/", "Document": ADMIN,
        "CreateDate": "2015-02-06T18:39:46+00:00", "UpdateDate": "2015-02-06T18:39:46+00:00"})
    iam_backends[ACCOUNT_ID]["aws"].managed_policies[managed.arn] = managed
    iam.attach_user_policy(UserName="aws-admin", PolicyArn=managed.arn)
    iam.create_group(GroupName="admins")
    iam.attach_group_policy(GroupName="admins", PolicyArn=policy_arn("GroupAdmin", ADMIN))
    iam.add_user_to_group(GroupName="admins", UserName="grouped")


def seed_ec2() -> dict[str, str]:
    """Instances in two regions (with and without a profile, one stopped) and world-open rules of every
    shape. Returns {name: group id}."""
    iam = aws("iam")
    iam.create_role(RoleName="web", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
    iam.create_instance_profile(InstanceProfileName="web")
    iam.add_role_to_instance_profile(InstanceProfileName="web", RoleName="web")

    def run(region: str, name: str, profile: str | None = None) -> str:
        kwargs: dict[str, Any] = {"ImageId": "ami-12c6146b", "MinCount": 1, "MaxCount": 1,
                                  "TagSpecifications": [{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name}]}]}
        if profile:
            kwargs["IamInstanceProfile"] = {"Name": profile}
        return aws("ec2", region).run_instances(**kwargs)["Instances"][0]["InstanceId"]

    run(REGION, "web-1", "web")
    run(OTHER_REGION, "batch")
    stopped = run(OTHER_REGION, "stopped")
    aws("ec2", OTHER_REGION).stop_instances(InstanceIds=[stopped])

    groups = {}
    rules: dict[str, tuple[str, list[dict[str, Any]]]] = {
        "ssh-v4": (REGION, [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]),
        "range-v6": (REGION, [{"IpProtocol": "tcp", "FromPort": 20, "ToPort": 25, "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}]),
        "everything": (OTHER_REGION, [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]),
        "udp-ssh": (REGION, [{"IpProtocol": "udp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]),
        "web": (REGION, [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]),
        "office-ssh": (REGION, [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                                 "IpRanges": [{"CidrIp": "203.0.113.0/24"}, {"CidrIp": "0.0.0.0/0"}]}]),
    }
    for name, (region, permissions) in rules.items():
        ec2 = aws("ec2", region)
        groups[name] = ec2.create_security_group(GroupName=name, Description=name)["GroupId"]
        ec2.authorize_security_group_ingress(GroupId=groups[name], IpPermissions=permissions)
    return groups


def seed_trails() -> None:
    aws("s3").create_bucket(Bucket="trail-logs")
    cloudtrail = aws("cloudtrail")
    cloudtrail.create_trail(Name="org-trail", S3BucketName="trail-logs", IsMultiRegionTrail=True)
    cloudtrail.start_logging(Name="org-trail")
    cloudtrail.create_trail(Name="local-trail", S3BucketName="trail-logs")


@pytest.fixture
def account(moto_account: MotoAccount, faults: Faults, few_regions: tuple[str, ...]) -> MotoAccount:
    """A moto account with users, policies, instances, security groups and trails; faults on every client."""
    moto_account.seed(USERS)
    moto_account.report_ready()
    seed_policies()
    return moto_account


def collector(services: Services, **kwargs: Any) -> AuditCollector:
    return AuditCollector(services._session().client, services.clock, services.load_inventory, **kwargs)


def statuses(report: AuditReport) -> dict[str, Status]:
    return {r.check.id: r.status for r in report.results}


# -- IAM -------------------------------------------------------------------------------------------------------


def test_account_summary_and_absent_password_policy(account: MotoAccount) -> None:
    services = account.services()
    c = collector(services)
    summary = c.account_summary()
    assert summary["Users"] == len(USERS)
    assert summary["AccountMFAEnabled"] == 0 and "AccountAccessKeysPresent" in summary
    # No password policy at all: None (AWS's NoSuchEntity), which is a finding, not "could not check".
    assert c.password_policy() is None
    report = services.run_audit()
    assert report.result("password-policy").status is Status.FAIL  # type: ignore[union-attr]
    assert "no password policy" in report.result("password-policy").findings[0].detail  # type: ignore[union-attr]


def test_password_policy_is_read(account: MotoAccount) -> None:
    aws("iam").update_account_password_policy(MinimumPasswordLength=16, PasswordReusePrevention=24,
                                              RequireSymbols=True, RequireNumbers=True,
                                              RequireUppercaseCharacters=True, RequireLowercaseCharacters=True)
    policy = collector(account.services()).password_policy()
    assert policy is not None and policy["MinimumPasswordLength"] == 16 and policy["PasswordReusePrevention"] == 24
    assert account.services().run_audit().result("password-policy").status is Status.PASS  # type: ignore[union-attr]


def test_user_policies_detect_full_admin_only_when_unconditioned_on_everything(account: MotoAccount) -> None:
    services = account.services()
    policies = collector(services).user_policies(services.load_inventory())
    assert set(policies) == {u.name for u in USERS}
    admin = {name: entry.full_admin for name, entry in policies.items() if entry.full_admin}
    assert admin == {
        "root-ish": (f"arn:aws:iam::{ACCOUNT_ID}:policy/CustomerAdmin",),
        "inline-admin": ("everything (inline)",),
        "aws-admin": ("arn:aws:iam::aws:policy/AdministratorAccess",),
    }
    assert policies["mfa-admin"].inline == ("deny", "with-mfa") or set(policies["mfa-admin"].inline) == {"deny", "with-mfa"}
    assert policies["s3-user"].attached == (f"arn:aws:iam::{ACCOUNT_ID}:policy/S3Only",)
    # Admin through a group is not "attached directly", and the user gets permissions through groups only.
    assert policies["grouped"].groups == ("admins",) and policies["grouped"].direct == ()
    report = services.run_audit()
    assert {f.resource for f in report.result("admin-users").findings} == set(admin)  # type: ignore[union-attr]
    assert "grouped" in report.result("via-groups").passed  # type: ignore[union-attr]
    assert "grouped" not in {f.resource for f in report.result("via-groups").findings}  # type: ignore[union-attr]


def test_instances_and_world_open_rules_across_regions(account: MotoAccount) -> None:
    groups = seed_ec2()
    c = collector(account.services())
    regions = c.regions()
    assert set(regions) == {REGION, OTHER_REGION}
    instances, ingress = c.ec2(regions)
    by_name = {i.name: i for i in instances}
    assert set(by_name) == {"web-1", "batch"}  # running only: the stopped one is left out
    assert by_name["web-1"].region == REGION and by_name["web-1"].instance_profile
    assert by_name["web-1"].instance_profile.endswith(":instance-profile/web")  # type: ignore[union-attr]
    assert (by_name["batch"].region, by_name["batch"].instance_profile) == (OTHER_REGION, None)

    world = {(r.group_name, r.region, r.protocol, r.from_port, r.to_port, r.cidr) for r in ingress}
    assert world == {
        ("ssh-v4", REGION, "tcp", 22, 22, "0.0.0.0/0"),
        ("range-v6", REGION, "tcp", 20, 25, "::/0"),
        ("everything", OTHER_REGION, "-1", None, None, "0.0.0.0/0"),
        ("udp-ssh", REGION, "udp", 22, 22, "0.0.0.0/0"),
        ("web", REGION, "tcp", 443, 443, "0.0.0.0/0"),
        ("office-ssh", REGION, "tcp", 22, 22, "0.0.0.0/0"),  # only the world-open range of that rule
    }

    report = account.services().run_audit()
    exposed = {f.resource.split()[0] for f in report.result("admin-ports").findings}  # type: ignore[union-attr]
    assert exposed == {groups[n] for n in ("ssh-v4", "range-v6", "everything", "office-ssh")}
    roles = report.result("ec2-roles")
    assert roles.status is Status.FAIL and [f.resource for f in roles.findings][0].endswith("(batch)")  # type: ignore[union-attr]


def test_revoking_a_world_open_range_keeps_the_other_ranges_of_the_same_rule(account: MotoAccount) -> None:
    groups = seed_ec2()
    services = account.services()
    (office,) = [f for f in services.run_audit().result("admin-ports").findings  # type: ignore[union-attr]
                 if f.resource.startswith(groups["office-ssh"])]
    services.apply_fix(office.fix)
    (group,) = aws("ec2").describe_security_groups(GroupIds=[groups["office-ssh"]])["SecurityGroups"]
    assert [(p["FromPort"], p["IpRanges"]) for p in group["IpPermissions"]] == [(22, [{"CidrIp": "203.0.113.0/24"}])]
    after = {f.resource.split()[0] for f in services.run_audit().result("admin-ports").findings}  # type: ignore[union-attr]
    assert after == {groups[n] for n in ("ssh-v4", "range-v6", "everything")}
    # Every other shape (IPv6 port range, all traffic in another region) revokes cleanly too.
    for finding in services.run_audit().result("admin-ports").findings:  # type: ignore[union-attr]
        services.apply_fix(finding.fix)
    assert services.run_audit().result("admin-ports").status is Status.PASS  # type: ignore[union-attr]
    left = {g["GroupName"]: g["IpPermissions"] for region in (REGION, OTHER_REGION)
            for g in aws("ec2", region).describe_security_groups()["SecurityGroups"] if g["GroupName"] in groups}
    assert {name for name, permissions in left.items() if permissions} == {"web", "udp-ssh", "office-ssh"}


def test_trails_and_their_status(account: MotoAccount) -> None:
    seed_trails()
    trails = {t.name: t for t in collector(account.services()).trails()}
    assert set(trails) == {"org-trail", "local-trail"}
    assert (trails["org-trail"].multi_region, trails["org-trail"].logging) == (True, True)
    assert (trails["local-trail"].multi_region, trails["local-trail"].logging) == (False, False)
    assert trails["org-trail"].home_region == REGION and trails["org-trail"].arn.endswith(":trail/org-trail")
    assert account.services().run_audit().result("cloudtrail").status is Status.PASS  # type: ignore[union-attr]
    aws("cloudtrail").stop_logging(Name="org-trail")
    assert account.services().run_audit().result("cloudtrail").status is Status.FAIL  # type: ignore[union-attr]


def test_an_unreadable_trail_status_is_could_not_check(account: MotoAccount, faults: Faults) -> None:
    seed_trails()
    faults.deny("GetTrailStatus", service="cloudtrail")
    trails = {t.name: t for t in collector(account.services()).trails()}
    assert trails["org-trail"].logging is None
    result = account.services().run_audit().result("cloudtrail")
    assert result.status is Status.UNKNOWN and "org-trail" in (result.reason or "")  # type: ignore[union-attr]


# -- a denied collector -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("operation", "service", "affected"), [
    ("GetAccountPasswordPolicy", "iam", {"password-policy"}),
    ("ListAttachedUserPolicies", "iam", {"admin-users", "via-groups"}),
    ("DescribeTrails", "cloudtrail", {"cloudtrail"}),
    ("DescribeSecurityGroups", "ec2", {"admin-ports"}),
    ("DescribeInstances", "ec2", {"ec2-roles"}),
    ("GetAccountSummary", "iam", {"root-mfa", "root-keys"}),  # moto's report has no root row to fall back on
])
def test_a_denied_call_makes_only_its_checks_unknown(
    account: MotoAccount, faults: Faults, operation: str, service: str, affected: set[str]
) -> None:
    seed_ec2()
    seed_trails()
    baseline = account.services().run_audit()
    assert not {i for i, s in statuses(baseline).items() if s is Status.UNKNOWN} & affected
    faults.deny(operation, service=service)
    report = account.services().run_audit()
    after = statuses(report)
    changed = {i for i in after if after[i] != statuses(baseline)[i]}
    assert changed == affected
    for check_id in affected:
        assert after[check_id] is Status.UNKNOWN
        reason = report.result(check_id).reason or ""  # type: ignore[union-attr]
        assert "AccessDenied" in reason, reason
    # The rest evaluated exactly as before, findings and all.
    for r in report.results:
        if r.check.id not in affected:
            assert r == baseline.result(r.check.id), r.check.id


def test_a_denied_credential_report_falls_back_and_only_root_use_cannot_check(account: MotoAccount, faults: Faults) -> None:
    baseline = statuses(account.services().run_audit())
    faults.deny("GenerateCredentialReport")
    faults.deny("GetCredentialReport")
    report = account.services().run_audit()
    assert statuses(report) == baseline  # the per-user fallback reads the same users; root-use had no root row anyway
    assert report.result("root-use").status is Status.UNKNOWN  # type: ignore[union-attr]
    assert "AccessDenied" in (report.result("root-use").reason or "")  # type: ignore[union-attr]


def test_users_whose_keys_are_denied_never_pass(account: MotoAccount, faults: Faults) -> None:
    faults.deny("ListAccessKeys", when=lambda params: params.get("UserName") == "s3-user")
    report = account.services().run_audit()
    # Every other key is young, used and alone: without s3-user's keys there is no verdict.
    for check_id in ("key-age", "one-key"):
        result = report.result(check_id)
        assert result.status is Status.UNKNOWN, check_id  # type: ignore[union-attr]
        assert "s3-user" in (result.reason or ""), check_id  # type: ignore[union-attr]
    # unused has findings elsewhere (console passwords never used): it fails, and says s3-user was not checked.
    unused = report.result("unused")
    assert unused.status is Status.FAIL and "s3-user" in (unused.reason or "")  # type: ignore[union-attr]
    for result in report.results:
        assert not any("s3-user" in p for p in result.passed if result.check.id in ("key-age", "unused", "one-key"))


# -- the policy simulator (moto lacks it) -----------------------------------------------------------------


def test_the_simulator_asks_for_every_user_and_reports_the_allowed_destructive_actions(
    account: MotoAccount, simulator: Callable[[dict[str, tuple[str, ...]]], SimulatorStub]
) -> None:
    stub = simulator({"s3-user": ("s3:DeleteBucket",), "root-ish": DESTRUCTIVE_ACTIONS})
    services = account.services()
    allowed = collector(services).simulate(services.load_inventory())
    assert sorted(stub.users) == sorted(u.name for u in USERS)
    assert allowed["s3-user"] == ("s3:DeleteBucket",) and allowed["grouped"] == ()
    assert allowed["root-ish"] == tuple(sorted(DESTRUCTIVE_ACTIONS))

    report = services.run_audit(simulate=True)
    result = report.result("simulator")
    assert result.status is Status.FAIL  # type: ignore[union-attr]
    # root-ish has a '*:*' policy attached: reported once, by admin-users.
    assert [f.resource for f in result.findings] == ["s3-user"]  # type: ignore[union-attr]
    assert "grouped" in result.passed  # type: ignore[union-attr]
    assert services.run_audit().result("simulator").status is Status.NOT_RUN  # type: ignore[union-attr]


def test_a_denied_simulator_is_could_not_check(
    account: MotoAccount, faults: Faults, simulator: Callable[[dict[str, tuple[str, ...]]], SimulatorStub]
) -> None:
    simulator({})
    baseline = statuses(account.services().run_audit(simulate=True))
    assert baseline["simulator"] is Status.PASS
    faults.deny("SimulatePrincipalPolicy")
    report = account.services().run_audit(simulate=True)
    assert report.result("simulator").status is Status.UNKNOWN  # type: ignore[union-attr]
    assert "AccessDenied" in (report.result("simulator").reason or "")  # type: ignore[union-attr]
    assert {k: v for k, v in statuses(report).items() if k != "simulator"} == {
        k: v for k, v in baseline.items() if k != "simulator"}


# -- this machine -----------------------------------------------------------------------------------------------

LONG_ID, LONG_SECRET = "AKIALONGTERMKEY00001", "longtermsecretlongtermsecretlongtermsecr"
CONFIG_ID, CONFIG_SECRET = "AKIACONFIGFILEKEY001", "configsecretconfigsecretconfigsecretconf"
SESSION_ID, SESSION_SECRET, TOKEN = "ASIASESSIONKEY000001", "sessionsecretsessionsecretsessionsecret1", "FwoGZXIvYXdzE" * 20
CACHE_ID, CACHE_SECRET = "ASIACLICACHEKEY00001", "cachesecretcachesecretcachesecretcache12"


def test_scan_local_finds_plaintext_keys_and_cached_sessions_and_returns_only_key_ids(tmp_path: Path) -> None:
    aws_dir = tmp_path / ".aws"
    (aws_dir / "cli" / "cache").mkdir(parents=True)
    credentials = aws_dir / "credentials"
    config = aws_dir / "config"
    credentials.write_text(
        f"[work]\naws_access_key_id = {LONG_ID}\naws_secret_access_key = {LONG_SECRET}\n\n"
        f"[temp]\naws_access_key_id = {SESSION_ID}\naws_secret_access_key = {SESSION_SECRET}\n"
        f"aws_session_token = {TOKEN}\n\n"
        "[id-only]\naws_access_key_id = AKIANOSECRETHERE0001\n"
    )
    config.write_text(
        f"[profile legacy]\nregion = us-east-1\naws_access_key_id = {CONFIG_ID}\naws_secret_access_key = {CONFIG_SECRET}\n\n"
        "[profile managed]\ncredential_process = keytui credential-process --profile managed\n"
    )
    (aws_dir / "cli" / "cache" / "0123abcd.json").write_text(json.dumps({"Credentials": {
        "AccessKeyId": CACHE_ID, "SecretAccessKey": CACHE_SECRET, "SessionToken": TOKEN,
        "Expiration": "2026-12-03T13:00:00Z"}}))
    (aws_dir / "cli" / "cache" / "broken.json").write_text("{not json")

    found = scan_local(config, credentials)
    assert {(p.profile, p.key_id, Path(p.path).name, p.temporary) for p in found} == {
        ("work", LONG_ID, "credentials", False),
        ("temp", SESSION_ID, "credentials", True),
        ("legacy", CONFIG_ID, "config", False),
        ("(cache)", CACHE_ID, "0123abcd.json", True),
    }
    text = repr(found)
    for secret in (LONG_SECRET, CONFIG_SECRET, SESSION_SECRET, CACHE_SECRET, TOKEN[:40]):
        assert secret not in text

    report = run_audit(AuditData(now=NOW, local=found), AuditSettings())
    result = report.result("local-plaintext")
    assert result.status is Status.FAIL  # type: ignore[union-attr]
    assert {f.resource for f in result.open_findings if f.status is Status.FAIL} == {"profile work", "profile legacy"}  # type: ignore[union-attr]
    shown = json.dumps([f.detail + f.resource for f in result.findings])  # type: ignore[union-attr]
    for full in (LONG_ID, CONFIG_ID, SESSION_ID, CACHE_ID):
        assert full not in shown  # masked on screen and in reports


def test_scan_local_without_files_finds_nothing(tmp_path: Path) -> None:
    assert scan_local(tmp_path / "config", tmp_path / "credentials") == ()
