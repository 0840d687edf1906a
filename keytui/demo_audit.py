"""What the demo account adds for the audit, so that every check has something worth seeing: a weak
password policy, a contractor with full admin attached directly, per-user policies and groups, a
world-open SSH and RDP rule, an instance without a role, a trail that is not logging, and the two things
moto does not model — the root user's row in the credential report and the policy simulator (a small,
honest evaluator of the users' own policies: explicit deny wins, then any allow, else implicit deny).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from fnmatch import fnmatchcase
from typing import Any

ADMIN_DOC = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
DEVELOPER_DOC = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["s3:*", "ec2:Describe*", "lambda:*", "logs:*"], "Resource": "*"},
]}
BACKUP_DOC = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["s3:*", "backup:*", "rds:DeleteDBSnapshot"], "Resource": "*"},
]}
READ_ONLY_DOC = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["cloudwatch:Get*", "cloudwatch:List*", "logs:Get*"], "Resource": "*"},
]}
GROUPS = {
    "developers": ("DeveloperAccess", ["alice", "bob", "carol", "dave", "erin", "judy", "niaj", "olivia", "victor"]),
    "operations": ("OperationsAccess", ["ops-admin", "frank", "grace", "sybil", "trent"]),
    "finance": ("BillingReadOnly", ["heidi", "ivan"]),
}


# Days since each console user last signed in (None: never). heidi, rupert and peggy are the unused ones.
PASSWORD_LAST_USED = {
    "ops-admin": 0, "alice": 1, "bob": 2, "carol": 5, "erin": 3, "frank": 1, "grace": 10, "heidi": 120, "ivan": 4,
    "judy": 0, "mallory": 30, "olivia": 2, "peggy": None, "rupert": 200, "sybil": 0, "trent": 7, "victor": 15,
    "walter": 60,
}


def seed_iam(backend: Any, account: str, now: datetime) -> None:
    """IAM state through moto's backend (the same objects its server serves)."""
    for name, days in PASSWORD_LAST_USED.items():
        if days is not None:
            backend.get_user(name).password_last_used = now - timedelta(days=days, hours=2)
    backend.update_account_password_policy(
        allow_change_password=True, hard_expiry=False, max_password_age=0, minimum_password_length=8,
        password_reuse_prevention=None, require_lowercase_characters=True, require_numbers=False,
        require_symbols=False, require_uppercase_characters=False,
    )
    policies = {
        "FullAdmin": ADMIN_DOC, "DeveloperAccess": DEVELOPER_DOC, "OperationsAccess": ADMIN_DOC,
        "BackupWriter": BACKUP_DOC, "BillingReadOnly": READ_ONLY_DOC,
    }
    arns = {}
    for name, document in policies.items():
        policy = backend.create_policy(description="", path="/", policy_document=json.dumps(document),
                                       policy_name=name, tags=[])
        arns[name] = policy.arn
    for group, (policy, members) in GROUPS.items():
        backend.create_group(group, "/")
        backend.attach_group_policy(arns[policy], group)
        for member in members:
            backend.add_user_to_group(group, member)
    # A contractor given full admin "just for the migration", attached to the user directly.
    backend.attach_user_policy(arns["FullAdmin"], "mallory")
    # Service users with their policy attached directly instead of through a group.
    backend.attach_user_policy(arns["BackupWriter"], "backup-bot")
    backend.put_user_policy("ci-deploy", "deploy-anything", json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["ecr:*", "ec2:TerminateInstances",
                                                                                "iam:CreateAccessKey"],
                                                 "Resource": "*"}]}))
    _root_row(backend, account, now)
    _simulator()


def _root_row(backend: Any, account: str, now: datetime) -> None:
    """moto's credential report has no root row; AWS's always has one. Root here: no MFA, no keys, and
    signed in three days ago (someone uses it for daily work)."""
    original = backend.get_credential_report
    used = (now - timedelta(days=3, hours=2)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    created = (now - timedelta(days=1900)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    row = (f"<root_account>,arn:aws:iam::{account}:root,{created},not_supported,{used},not_supported,not_supported,"
           "false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n")

    def with_root() -> str:
        header, _, rest = original().partition("\n")
        return f"{header}\n{row}{rest}"

    backend.get_credential_report = with_root


def _documents(backend: Any, user_name: str) -> list[Any]:
    user = backend.get_user(user_name)
    documents = [p.versions[-1].document for p in user.managed_policies.values()]
    documents += list(user.policies.values())
    for group in backend.get_groups_for_user(user_name):
        documents += [p.versions[-1].document for p in group.managed_policies.values()]
        documents += list(group.policies.values())
    return [json.loads(d) if isinstance(d, str) else d for d in documents]


def decide(documents: list[Any], action: str) -> str:
    """IAM's evaluation order for identity policies: an explicit deny wins, then an allow, else implicit deny."""
    def matches(statement: dict[str, Any]) -> bool:
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        return any(fnmatchcase(action.lower(), pattern.lower()) for pattern in actions)

    statements = [s for d in documents for s in (d.get("Statement") if isinstance(d.get("Statement"), list)
                                                 else [d.get("Statement", {})])]
    if any(s.get("Effect") == "Deny" and matches(s) for s in statements):
        return "explicitDeny"
    if any(s.get("Effect") == "Allow" and matches(s) for s in statements):
        return "allowed"
    return "implicitDeny"


def _simulator() -> None:
    from moto.core.responses import ActionResult
    from moto.iam.responses import IamResponse

    if getattr(IamResponse, "_keytui_simulator", False):
        return

    def simulate_principal_policy(self: Any) -> Any:
        user_name = self._get_param("PolicySourceArn").rsplit("/", 1)[-1]
        actions = self._get_param("ActionNames", [])
        documents = _documents(self.backend, user_name)
        results = [{"EvalActionName": a, "EvalResourceName": "*", "EvalDecision": decide(documents, a)} for a in actions]
        return ActionResult({"EvaluationResults": results, "IsTruncated": False})

    IamResponse.simulate_principal_policy = simulate_principal_policy
    IamResponse._keytui_simulator = True


def seed_infrastructure(endpoint_url: str, region: str) -> None:
    """EC2, S3 and CloudTrail through the demo's own server, signed with a key that is not the account's: moto's
    authentication (which tests turn on with INITIAL_NO_AUTH_ACTION_COUNT=0) is off while seeding."""
    from moto.core.authorization import disable_iam_authentication

    with disable_iam_authentication():
        _seed_infrastructure(endpoint_url, region)


def _seed_infrastructure(endpoint_url: str, region: str) -> None:
    import boto3

    def client(service: str) -> Any:
        return boto3.client(service, region_name=region, endpoint_url=endpoint_url,
                            aws_access_key_id="AKIADEMOSEEDER000000", aws_secret_access_key="demo-seeder-secret")

    ec2 = client("ec2")
    for name, port, cidr in (("legacy-ssh", 22, ("0.0.0.0/0", None)), ("rdp-jumphost", 3389, (None, "::/0")),
                             ("web", 443, ("0.0.0.0/0", None))):
        group = ec2.create_security_group(GroupName=name, Description=f"{name} (keytui demo)")["GroupId"]
        permission: dict[str, Any] = {"IpProtocol": "tcp", "FromPort": port, "ToPort": port}
        if cidr[0]:
            permission["IpRanges"] = [{"CidrIp": cidr[0]}]
        if cidr[1]:
            permission["Ipv6Ranges"] = [{"CidrIpv6": cidr[1]}]
        ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[permission])
    iam = client("iam")
    iam.create_role(RoleName="web-server", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
    iam.create_instance_profile(InstanceProfileName="web-server")
    iam.add_role_to_instance_profile(InstanceProfileName="web-server", RoleName="web-server")
    for name, profile in (("web-1", "web-server"), ("legacy-batch", None)):
        kwargs: dict[str, Any] = {"ImageId": "ami-12c6146b", "MinCount": 1, "MaxCount": 1, "InstanceType": "t3.micro",
                                  "TagSpecifications": [{"ResourceType": "instance",
                                                         "Tags": [{"Key": "Name", "Value": name}]}]}
        if profile:
            kwargs["IamInstanceProfile"] = {"Name": profile}
        ec2.run_instances(**kwargs)
    client("s3").create_bucket(Bucket="keytui-demo-cloudtrail")
    # A multi-region trail that someone stopped: exists, records nothing.
    client("cloudtrail").create_trail(Name="org-trail", S3BucketName="keytui-demo-cloudtrail", IsMultiRegionTrail=True)


def stable_report(report: Any) -> Any:
    """The demo's audit report with what changes from run to run replaced by fixed values: moto's random
    security group and instance ids (numbered in order of appearance) and the demo's temporary folder
    (shown as ~/.aws). For snapshots and screenshots only; the checks' results are untouched."""
    import re
    from dataclasses import replace

    ids: dict[str, str] = {}

    def stable_id(match: re.Match[str]) -> str:
        prefix = match.group(1)
        return ids.setdefault(match.group(0), f"{prefix}-{len([i for i in ids if i.startswith(prefix)]) + 1:017x}")

    def text(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        value = re.sub(r"\b(sg|i)-[0-9a-f]{17}\b", stable_id, value)
        return re.sub(r"/\S*keytui-demo-[^/\s]+/aws", "~/.aws", value)

    def fix(f: Any) -> Any:
        if f is None:
            return None
        return replace(f, label=text(f.label), calls=tuple(text(c) for c in f.calls), guide=text(f.guide),
                       params=tuple((k, text(v)) for k, v in f.params))

    def finding(f: Any) -> Any:
        return replace(f, resource=text(f.resource), detail=text(f.detail), fix=fix(f.fix),
                       also=tuple(fix(a) for a in f.also))

    results = tuple(replace(r, findings=tuple(finding(f) for f in r.findings), reason=text(r.reason),
                            passed=tuple(text(p) for p in r.passed)) for r in report.results)
    return replace(report, results=results)
