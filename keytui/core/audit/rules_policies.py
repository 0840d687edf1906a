"""Policies: the account password policy, full administrators attached directly, permissions through
groups, and (on demand) the policy simulator on destructive actions."""

from __future__ import annotations

from typing import Any

from keytui.core.audit.data import AuditData, UserPolicies
from keytui.core.audit.model import Check, Finding, Fix, FixKind, Severity
from keytui.core.audit.registry import Outcome, need, outcome, rule
from keytui.core.settings import AuditSettings

# What CIS asks beyond length and reuse: every character class, and users may change their own password.
_CLASSES = ("RequireUppercaseCharacters", "RequireLowercaseCharacters", "RequireNumbers", "RequireSymbols")


def recommended_policy(settings: AuditSettings, current: dict[str, Any] | None = None) -> dict[str, Any]:
    """The policy the fix applies. UpdateAccountPasswordPolicy resets every setting it is not given, so the
    fix never weakens what the account already has: a longer minimum or reuse history, a maximum age and
    hard expiry are kept."""
    current = current or {}
    wanted: dict[str, Any] = {
        "MinimumPasswordLength": max(settings.password_min_length, int(current.get("MinimumPasswordLength") or 0)),
        "PasswordReusePrevention": max(settings.password_reuse_prevention,
                                       int(current.get("PasswordReusePrevention") or 0)),
        **{name: True for name in _CLASSES},
        "AllowUsersToChangePassword": True,
    }
    wanted.update({name: current[name] for name in ("MaxPasswordAge", "HardExpiry") if current.get(name)})
    return wanted


PASSWORD_POLICY = Check(
    "password-policy", "Account password policy meets CIS", Severity.MEDIUM,
    "A strong account password policy (CIS: length ≥ 14, reuse prevention 24)",
    ("iam:GetAccountPasswordPolicy",), "Apply the recommended password policy.",
)


@rule(PASSWORD_POLICY)
def password_policy(data: AuditData, settings: AuditSettings) -> Outcome:
    policy = need(data.password_policy, "the password policy could not be read")
    wanted = recommended_policy(settings, policy if isinstance(policy, dict) else None)
    args = " ".join(
        f"--{'-'.join(_words(k))}" + ("" if v is True else f" {v}")
        for k, v in wanted.items()
    )
    fix = Fix(FixKind.AWS, "Apply the recommended password policy",
              calls=(f"iam update-account-password-policy {args}",), action="password_policy",
              params=tuple(sorted(wanted.items())))
    if policy is None:
        return outcome([Finding("password-policy", "account", "The account has no password policy: AWS's default "
                                "allows 8-character passwords and reuse.", Severity.MEDIUM, fix=fix)])
    assert isinstance(policy, dict)
    gaps = []
    if int(policy.get("MinimumPasswordLength", 0)) < settings.password_min_length:
        gaps.append(f"minimum length {policy.get('MinimumPasswordLength', 0)} (< {settings.password_min_length})")
    if int(policy.get("PasswordReusePrevention", 0) or 0) < settings.password_reuse_prevention:
        gaps.append(f"reuse prevention {policy.get('PasswordReusePrevention', 0) or 0} "
                    f"(< {settings.password_reuse_prevention})")
    gaps += [f"{' '.join(_words(name)[1:])} not required" for name in _CLASSES if not policy.get(name)]
    if not gaps:
        return outcome(passed=("account",))
    return outcome([Finding("password-policy", "account", "Password policy: " + "; ".join(gaps) + ".",
                            Severity.MEDIUM, fix=fix)])


def _words(name: str) -> list[str]:
    """RequireUppercaseCharacters -> ['require', 'uppercase', 'characters'] (the CLI's flag words)."""
    words, current = [], ""
    for char in name:
        if char.isupper() and current:
            words.append(current.lower())
            current = ""
        current += char
    return words + [current.lower()]


def _policies(data: AuditData) -> dict[str, UserPolicies]:
    value = need(data.policies, "the users' policies could not be read")
    assert isinstance(value, dict)
    return value


ADMIN_USERS = Check(
    "admin-users", "No user has full admin attached directly", Severity.HIGH, "Least privilege",
    ("iam:ListAttachedUserPolicies", "iam:ListUserPolicies", "iam:GetPolicyVersion", "iam:GetUserPolicy"),
    "Give administrators a role to assume (with MFA) or an admin group, and detach '*:*' policies from users.",
)


@rule(ADMIN_USERS)
def admin_users(data: AuditData, settings: AuditSettings) -> Outcome:
    findings, passed = [], []
    for name, entry in sorted(_policies(data).items()):
        if entry.full_admin:
            findings.append(Finding(
                "admin-users", name, f"{name} has full administrator rights ('*' on '*') attached directly: "
                f"{', '.join(entry.full_admin)}.", Severity.HIGH,
                fix=Fix(FixKind.GUIDE, "Guide: least privilege", guide=(
                    f"Move {name}'s admin rights to a role they assume with MFA (or an admin group), then detach "
                    f"{', '.join(entry.full_admin)} from the user: iam detach-user-policy --user-name {name} "
                    "--policy-arn ARN.")),
            ))
        else:
            passed.append(name)
    return outcome(findings, passed)


VIA_GROUPS = Check(
    "via-groups", "Users get permissions through groups only", Severity.LOW,
    "Manage permissions through groups or roles, not per user",
    ("iam:ListAttachedUserPolicies", "iam:ListUserPolicies"),
    "Put the user in a group that has the policy, then detach the policy from the user.",
)


@rule(VIA_GROUPS)
def via_groups(data: AuditData, settings: AuditSettings) -> Outcome:
    findings, passed = [], []
    for name, entry in sorted(_policies(data).items()):
        if entry.direct:
            findings.append(Finding(
                "via-groups", name, f"{name} has policies attached directly: {', '.join(entry.direct)}.",
                Severity.LOW, fix=Fix(FixKind.GUIDE, "Guide: groups", guide=(
                    f"Create or pick a group with these policies, add {name} to it (iam add-user-to-group), then "
                    "detach them from the user.")),
            ))
        else:
            passed.append(name)
    return outcome(findings, passed)


# Actions whose misuse destroys data or hides it: ordinary users should be denied them.
DESTRUCTIVE_ACTIONS = (
    "ec2:TerminateInstances", "ec2:DeleteSnapshot", "ec2:DeleteVolume", "s3:DeleteBucket", "rds:DeleteDBInstance",
    "rds:DeleteDBSnapshot", "backup:DeleteRecoveryPoint", "iam:DeleteUser", "iam:CreateAccessKey",
    "cloudtrail:StopLogging", "cloudtrail:DeleteTrail", "kms:ScheduleKeyDeletion",
)

SIMULATOR = Check(
    "simulator", "Destructive actions are denied to ordinary users", Severity.HIGH,
    "Least privilege, checked with the policy simulator",
    ("iam:SimulatePrincipalPolicy",), "Narrow the user's policies so these actions are denied, or move the user "
    "to a role that needs MFA for them.", on_demand=True,
)


@rule(SIMULATOR)
def simulator(data: AuditData, settings: AuditSettings) -> Outcome:
    allowed = need(data.simulation, "the policy simulator could not be run")
    assert isinstance(allowed, dict)
    admins = {n for n, e in _policies(data).items() if e.full_admin} if isinstance(data.policies, dict) else set()
    findings, passed = [], []
    for name, actions in sorted(allowed.items()):
        if name in admins:
            continue  # admin-users already reports them
        if actions:
            findings.append(Finding(
                "simulator", name, f"{name} is allowed: {', '.join(actions)}.", Severity.HIGH,
                fix=Fix(FixKind.GUIDE, "Guide: least privilege", guide=(
                    f"Review {name}'s policies (iam list-attached-user-policies, group policies) and deny or remove "
                    f"{', '.join(actions)}; keep such rights on a role that requires MFA.")),
            ))
        else:
            passed.append(name)
    return outcome(findings, passed)
