"""The account's infrastructure: instances with roles, no SSH/RDP open to the world, CloudTrail on."""

from __future__ import annotations

from keytui.core.audit.data import AuditData, IngressRule, Instance, Trail
from keytui.core.audit.model import Check, Finding, Fix, FixKind, Severity
from keytui.core.audit.registry import Outcome, need, outcome, rule
from keytui.core.settings import AuditSettings

ADMIN_PORTS = {22: "SSH", 3389: "RDP"}

EC2_ROLES = Check(
    "ec2-roles", "Running instances use instance profiles, not keys", Severity.MEDIUM,
    "Roles instead of access keys on EC2", ("ec2:DescribeInstances",),
    "Attach an instance profile (an IAM role) to the instance and remove any access keys from it.",
)


@rule(EC2_ROLES)
def ec2_roles(data: AuditData, settings: AuditSettings) -> Outcome:
    instances = need(data.instances, "the EC2 instances could not be listed")
    findings, passed = [], []
    for instance in instances:  # type: ignore[union-attr]
        assert isinstance(instance, Instance)
        label = f"{instance.instance_id}" + (f" ({instance.name})" if instance.name else "")
        if instance.instance_profile:
            passed.append(label)
            continue
        findings.append(Finding(
            "ec2-roles", label, f"Instance {label} in {instance.region} runs without an instance profile: whatever "
            "it calls AWS with must be a long-term key stored on it.", Severity.MEDIUM,
            fix=Fix(FixKind.GUIDE, "Guide: instance profile", guide=(
                f"Create a role for what {label} needs, then: aws ec2 associate-iam-instance-profile --instance-id "
                f"{instance.instance_id} --iam-instance-profile Name=PROFILE; remove the keys from the instance "
                "and rotate them away.")),
        ))
    return outcome(findings, passed)


ADMIN_PORTS_CHECK = Check(
    "admin-ports", "No SSH/RDP open to the internet", Severity.HIGH,
    "Never open administration ports to 0.0.0.0/0 or ::/0", ("ec2:DescribeSecurityGroups",),
    "Revoke the rule; reach instances through Session Manager, a VPN or a narrow CIDR.",
)


@rule(ADMIN_PORTS_CHECK)
def admin_ports(data: AuditData, settings: AuditSettings) -> Outcome:
    rules = need(data.open_ingress, "the security groups could not be read")
    findings = []
    for ingress in rules:  # type: ignore[union-attr]
        assert isinstance(ingress, IngressRule)
        exposed = [name for port, name in ADMIN_PORTS.items() if ingress.covers(port)]
        if not exposed:
            continue
        label = f"{ingress.group_id} ({ingress.group_name})"
        findings.append(Finding(
            "admin-ports", f"{label} {ingress.ports_text} from {ingress.cidr}",
            f"Security group {label} in {ingress.region} allows {ingress.ports_text} from {ingress.cidr}: "
            f"{' and '.join(exposed)} open to the whole internet.", Severity.HIGH,
            fix=Fix(FixKind.AWS, f"Revoke {ingress.ports_text} from {ingress.cidr} on {ingress.group_id}",
                    calls=(f"ec2 revoke-security-group-ingress --region {ingress.region} --group-id {ingress.group_id} "
                           f"--ip-permissions '{_json(ingress.permission)}'",),
                    action="revoke_ingress", params=(("region", ingress.region), ("group_id", ingress.group_id),
                                                      ("permission", _json(ingress.permission)))),
        ))
    return outcome(findings, note=None if findings else "no world-open SSH/RDP rule")


def _json(value: object) -> str:
    import json

    return json.dumps(value, sort_keys=True, separators=(",", ":"))


CLOUDTRAIL = Check(
    "cloudtrail", "A multi-region trail is logging", Severity.HIGH, "CloudTrail on in every region",
    ("cloudtrail:DescribeTrails", "cloudtrail:GetTrailStatus"),
    "Start logging on the multi-region trail, or create one (aws cloudtrail create-trail --is-multi-region-trail).",
)


@rule(CLOUDTRAIL)
def cloudtrail(data: AuditData, settings: AuditSettings) -> Outcome:
    trails = need(data.trails, "the trails could not be read")
    multi = [t for t in trails if isinstance(t, Trail) and t.multi_region]  # type: ignore[union-attr]
    logging = [t for t in multi if t.logging]
    if logging:
        return outcome(passed=tuple(t.name for t in logging))
    if multi:
        trail = multi[0]
        if trail.logging is None:
            from keytui.core.audit.registry import CouldNotCheck

            raise CouldNotCheck(f"the status of trail {trail.name} could not be read")
        return outcome([Finding(
            "cloudtrail", trail.name, f"Multi-region trail {trail.name} exists but is not logging: API activity is "
            "not recorded.", Severity.HIGH,
            fix=Fix(FixKind.AWS, f"Start logging on trail {trail.name}",
                    calls=(f"cloudtrail start-logging --region {trail.home_region} --name {trail.arn}",),
                    action="start_logging", params=(("region", trail.home_region), ("name", trail.arn))),
        )])
    single = ", ".join(t.name for t in trails) if trails else "none"  # type: ignore[union-attr]
    return outcome([Finding(
        "cloudtrail", "account", f"No multi-region trail (trails: {single}): API activity in other regions is not "
        "recorded.", Severity.HIGH,
        fix=Fix(FixKind.GUIDE, "Guide: create a trail", guide=(
            "Create an S3 bucket for the logs, then: aws cloudtrail create-trail --name main --s3-bucket-name BUCKET "
            "--is-multi-region-trail && aws cloudtrail start-logging --name main")),
    )])
