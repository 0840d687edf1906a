"""Collecting what the checks read, once per audit, side by side. Every piece that fails becomes
`Unavailable(reason)` for the checks that need it; nothing here decides pass or fail."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from keytui.core.audit.data import (
    AuditData, Instance, IngressRule, PlaintextKey, Trail, Unavailable, UserPolicies,
)
from keytui.core.audit.rules_policies import DESTRUCTIVE_ACTIONS
from keytui.core.awsfiles import IniDocument, read_text
from keytui.core.clock import Clock
from keytui.core.errors import AwsError, KeytuiError, aws_errors
from keytui.core.models import Inventory

ClientFor = Callable[..., Any]  # (service, region=None) -> botocore client
ADMIN_POLICY_ARNS = {"arn:aws:iam::aws:policy/AdministratorAccess"}
WORLD = ("0.0.0.0/0", "::/0")


def _unavailable(exc: KeytuiError) -> Unavailable:
    return Unavailable(str(exc))


def _guard(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except KeytuiError as exc:
        return _unavailable(exc)


class AuditCollector:
    def __init__(
        self,
        client: ClientFor,
        clock: Clock,
        load_inventory: Callable[[], Inventory],
        *,
        local_files: tuple[Path, Path] | None = None,
        aws_dir: Path | None = None,
        open_rotations: Callable[[], Iterable[str]] = lambda: (),
        concurrency: int = 8,
    ) -> None:
        self._client = client
        self._clock = clock
        self._load_inventory = load_inventory
        self._local_files = local_files
        self._aws_dir = aws_dir
        self._open_rotations = open_rotations
        self._concurrency = concurrency

    def collect(self, *, account: str | None = None, simulate: bool = False) -> AuditData:
        with ThreadPoolExecutor(max_workers=6) as pool:
            inventory = pool.submit(_guard, self._load_inventory)
            summary = pool.submit(_guard, self.account_summary)
            policy = pool.submit(_guard, self.password_policy)
            regions = _guard(self.regions)
            ec2 = pool.submit(_guard, lambda: self.ec2(regions))
            trails = pool.submit(_guard, self.trails)
            inventory_value = inventory.result()
            policies = _guard(lambda: self.user_policies(inventory_value))
            ec2_value = ec2.result()
            instances, ingress = (ec2_value, ec2_value) if isinstance(ec2_value, Unavailable) else ec2_value
            simulation = _guard(lambda: self.simulate(inventory_value)) if simulate else None
        try:
            rotations = frozenset(self._open_rotations())
        except KeytuiError:
            rotations = frozenset()
        return AuditData(
            now=self._clock.now(), account=account, inventory=inventory_value, summary=summary.result(),
            password_policy=policy.result(), policies=policies, instances=instances, open_ingress=ingress,
            trails=trails.result(), local=_guard(self.local), simulation=simulation, open_rotations=rotations,
        )

    # -- IAM -------------------------------------------------------------------------------------------

    def account_summary(self) -> dict[str, int]:
        with aws_errors("read the account summary (iam:GetAccountSummary)"):
            return dict(self._client("iam").get_account_summary()["SummaryMap"])

    def password_policy(self) -> dict[str, Any] | None:
        try:
            with aws_errors("read the account password policy"):
                return dict(self._client("iam").get_account_password_policy()["PasswordPolicy"])
        except AwsError as exc:
            if exc.code == "NoSuchEntity":
                return None  # no policy at all: a finding, not an unknown
            raise

    def user_policies(self, inventory: Inventory | Unavailable) -> dict[str, UserPolicies]:
        if isinstance(inventory, Unavailable):
            raise KeytuiError(f"the users could not be listed ({inventory.reason})")
        iam = self._client("iam")
        documents: dict[str, Any] = {}

        def one(user: str) -> UserPolicies:
            with aws_errors(f"read the policies of {user}"):
                attached = [p["PolicyArn"] for page in iam.get_paginator("list_attached_user_policies")
                            .paginate(UserName=user) for p in page["AttachedPolicies"]]
                inline = [n for page in iam.get_paginator("list_user_policies").paginate(UserName=user)
                          for n in page["PolicyNames"]]
                groups = [g["GroupName"] for page in iam.get_paginator("list_groups_for_user").paginate(UserName=user)
                          for g in page["Groups"]]
                admin = [arn for arn in attached if arn in ADMIN_POLICY_ARNS or _allows_everything(
                    documents.get(arn) or documents.setdefault(arn, _managed_document(iam, arn)))]
                admin += [f"{name} (inline)" for name in inline if _allows_everything(
                    iam.get_user_policy(UserName=user, PolicyName=name)["PolicyDocument"])]
            return UserPolicies(user, tuple(attached), tuple(inline), tuple(groups), tuple(admin))

        with ThreadPoolExecutor(max_workers=self._concurrency) as pool:
            entries = list(pool.map(one, [u.name for u in inventory.users]))
        return {entry.user: entry for entry in entries}

    def simulate(self, inventory: Inventory | Unavailable) -> dict[str, tuple[str, ...]]:
        if isinstance(inventory, Unavailable):
            raise KeytuiError(f"the users could not be listed ({inventory.reason})")
        iam = self._client("iam")

        def one(user: Any) -> tuple[str, tuple[str, ...]]:
            with aws_errors(f"simulate the policies of {user.name} (iam:SimulatePrincipalPolicy)"):
                allowed = []
                for page in iam.get_paginator("simulate_principal_policy").paginate(
                        PolicySourceArn=user.arn, ActionNames=list(DESTRUCTIVE_ACTIONS)):
                    allowed += [r["EvalActionName"] for r in page["EvaluationResults"] if r["EvalDecision"] == "allowed"]
            return user.name, tuple(sorted(allowed))

        with ThreadPoolExecutor(max_workers=self._concurrency) as pool:
            return dict(pool.map(one, inventory.users))

    # -- EC2 and CloudTrail ----------------------------------------------------------------------------

    def regions(self) -> tuple[str, ...]:
        with aws_errors("list the enabled regions (ec2:DescribeRegions)"):
            return tuple(sorted(r["RegionName"] for r in self._client("ec2").describe_regions()["Regions"]))

    def ec2(self, regions: tuple[str, ...] | Unavailable) -> tuple[Any, Any]:
        """(instances, world-open rules), each on its own: a denied DescribeInstances leaves the security
        groups readable (and the other way round), so only the checks that need the denied call cannot check."""
        if isinstance(regions, Unavailable):
            raise KeytuiError(f"the regions could not be listed ({regions.reason})")

        def instances_in(region: str) -> list[Instance]:
            instances = []
            with aws_errors(f"list the instances in {region} (ec2:DescribeInstances)"):
                pages = self._client("ec2", region).get_paginator("describe_instances").paginate(
                    Filters=[{"Name": "instance-state-name", "Values": ["running"]}])
                for page in pages:
                    for reservation in page["Reservations"]:
                        for i in reservation["Instances"]:
                            name = next((t["Value"] for t in i.get("Tags", []) if t["Key"] == "Name"), None)
                            profile = (i.get("IamInstanceProfile") or {}).get("Arn")
                            instances.append(Instance(i["InstanceId"], name, region, profile))
            return instances

        def ingress_in(region: str) -> list[IngressRule]:
            ingress = []
            with aws_errors(f"read the security groups in {region} (ec2:DescribeSecurityGroups)"):
                for page in self._client("ec2", region).get_paginator("describe_security_groups").paginate():
                    for group in page["SecurityGroups"]:
                        ingress += _world_rules(group, region)
            return ingress

        def one(region: str) -> tuple[Any, Any]:
            return _guard(lambda: instances_in(region)), _guard(lambda: ingress_in(region))

        def combine(parts: list[Any]) -> Any:
            failed = next((part for part in parts if isinstance(part, Unavailable)), None)
            return failed if failed is not None else tuple(item for part in parts for item in part)

        with ThreadPoolExecutor(max_workers=self._concurrency) as pool:
            parts = list(pool.map(one, regions))
        return combine([p[0] for p in parts]), combine([p[1] for p in parts])

    def trails(self) -> tuple[Trail, ...]:
        with aws_errors("list the CloudTrail trails (cloudtrail:DescribeTrails)"):
            listed = self._client("cloudtrail").describe_trails(includeShadowTrails=True)["trailList"]
        trails = []
        for t in listed:
            home = t.get("HomeRegion") or ""
            try:
                with aws_errors(f"read the status of trail {t['Name']}"):
                    logging = bool(self._client("cloudtrail", home or None).get_trail_status(
                        Name=t.get("TrailARN") or t["Name"])["IsLogging"])
            except KeytuiError:
                logging = None
            trails.append(Trail(t["Name"], t.get("TrailARN", t["Name"]), home, bool(t.get("IsMultiRegionTrail")),
                                logging))
        return tuple(trails)

    # -- this machine ------------------------------------------------------------------------------------

    def local(self) -> tuple[PlaintextKey, ...]:
        if self._local_files is None:
            raise KeytuiError("no local AWS files were given")
        return scan_local(*self._local_files, self._aws_dir)


def _managed_document(iam: Any, arn: str) -> Any:
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    return iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]


def _allows_everything(document: Any) -> bool:
    """True when a statement allows every action on every resource (`*:*`, unconditioned)."""
    if isinstance(document, str):
        from urllib.parse import unquote

        document = json.loads(unquote(document))
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    if isinstance(statements, dict):
        statements = [statements]

    def values(value: Any) -> list[str]:
        return [value] if isinstance(value, str) else list(value or [])

    return any(
        s.get("Effect") == "Allow" and "*" in values(s.get("Action")) and "*" in values(s.get("Resource"))
        and not s.get("Condition")
        for s in statements if isinstance(s, dict)
    )


def _world_rules(group: dict[str, Any], region: str) -> list[IngressRule]:
    rules = []
    for perm in group.get("IpPermissions", []):
        cidrs = [r["CidrIp"] for r in perm.get("IpRanges", []) if r.get("CidrIp") in WORLD]
        cidrs += [r["CidrIpv6"] for r in perm.get("Ipv6Ranges", []) if r.get("CidrIpv6") in WORLD]
        for cidr in cidrs:
            rules.append(IngressRule(group["GroupId"], group.get("GroupName", ""), region, str(perm["IpProtocol"]),
                                     perm.get("FromPort"), perm.get("ToPort"), cidr))
    return rules


def scan_local(config_file: Path, credentials_file: Path, aws_dir: Path | None = None) -> tuple[PlaintextKey, ...]:
    """Keys in plaintext on this machine: long-term keys in the credentials and config files, and
    temporary credentials left in the AWS CLI's caches. Only key ids leave this function."""
    found = []
    for path in (credentials_file, config_file):
        document = IniDocument(read_text(path))
        for section in document.sections():
            values = document.values(section.name)
            key_id = (values.get("aws_access_key_id") or [""])[-1].strip()
            if not key_id or not values.get("aws_secret_access_key"):
                continue
            profile = section.name.split(None, 1)[1] if section.name.startswith("profile ") else section.name
            temporary = key_id.startswith("ASIA") or bool(values.get("aws_session_token"))
            found.append(PlaintextKey(profile, key_id, str(path), temporary))
    for cache in ("cli/cache", "boto/cache"):
        folder = (aws_dir or credentials_file.parent) / cache
        for file in sorted(folder.glob("*.json")) if folder.is_dir() else ():
            try:
                credentials = json.loads(file.read_text(encoding="utf-8")).get("Credentials", {})
            except (OSError, ValueError, AttributeError):
                continue
            if isinstance(credentials, dict) and credentials.get("AccessKeyId") and credentials.get("SecretAccessKey"):
                found.append(PlaintextKey("(cache)", credentials["AccessKeyId"], str(file), True))
    # IAM Identity Center (SSO) tokens: not keys, but they mint role credentials until they expire.
    sso = (aws_dir or credentials_file.parent) / "sso" / "cache"
    for file in sorted(sso.glob("*.json")) if sso.is_dir() else ():
        try:
            token = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(token, dict) and token.get("accessToken"):
            found.append(PlaintextKey("(SSO)", "SSO access token", str(file), True))
    return tuple(found)
