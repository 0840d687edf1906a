"""Users' credentials: MFA on console users, key age, unused credentials, one active key, never-used
keys. Read from the inventory; a user whose keys are unknown is never counted as passing."""

from __future__ import annotations

from collections.abc import Iterable

from keytui.core.audit.data import AuditData
from keytui.core.audit.model import Check, Finding, Fix, FixKind, Severity
from keytui.core.audit.registry import CouldNotCheck, Outcome, need, outcome, rule
from keytui.core.clock import days_between
from keytui.core.models import AccessKey, IamUser, Inventory
from keytui.core.settings import AuditSettings


def _users(data: AuditData) -> tuple[IamUser, ...]:
    inventory = need(data.inventory, "the users and keys could not be read")
    assert isinstance(inventory, Inventory)
    return inventory.users


def _finish(findings: list[Finding], passed: list[str], unknown: Iterable[str], what: str) -> Outcome:
    """No verdict from an incomplete listing: without findings, unknown users make the check unknown."""
    unknown = sorted(set(unknown))
    if unknown and not findings:
        names = ", ".join(unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
        raise CouldNotCheck(f"the {what} of {names} could not be read")
    note = f"not checked (unreadable): {', '.join(unknown)}" if unknown else None
    return outcome(findings, passed, note)


def deactivate_fix(key: AccessKey) -> Fix:
    return Fix(
        FixKind.AWS, f"Deactivate key {key.masked_id} of {key.user_name}",
        calls=(f"iam update-access-key --user-name {key.user_name} --access-key-id {key.key_id} --status Inactive",),
        action="deactivate_key", params=(("user", key.user_name), ("key_id", key.key_id)),
    )


def _delete_key_fix(key: AccessKey) -> Fix:
    return Fix(
        FixKind.AWS, f"Delete key {key.masked_id} of {key.user_name}",
        calls=(f"iam delete-access-key --user-name {key.user_name} --access-key-id {key.key_id}",),
        action="delete_key", params=(("user", key.user_name), ("key_id", key.key_id)),
    )


def _remove_password_fix(user: str) -> Fix:
    return Fix(
        FixKind.AWS, f"Remove the console password of {user}",
        calls=(f"iam delete-login-profile --user-name {user}",),
        action="delete_login_profile", params=(("user", user),),
    )


CONSOLE_MFA = Check(
    "console-mfa", "Every console user has MFA", Severity.HIGH, "MFA on every human sign-in",
    ("iam:GetCredentialReport", "iam:ListMFADevices", "iam:GetLoginProfile"),
    "Enroll a virtual MFA device for the user (m), or remove the console password if they do not need it.",
)


@rule(CONSOLE_MFA)
def console_mfa(data: AuditData, settings: AuditSettings) -> Outcome:
    findings, passed, unknown = [], [], []
    for user in _users(data):
        if user.console is None or (user.console and user.mfa_active is None):
            unknown.append(user.name)
        elif user.console and not user.mfa_active:
            findings.append(Finding(
                "console-mfa", user.name, f"{user.name} can sign in to the console with a password alone.",
                Severity.HIGH,
                fix=Fix(FixKind.WORKFLOW, f"Enroll an MFA device for {user.name}", workflow="enroll",
                        params=(("user", user.name),)),
                also=(_remove_password_fix(user.name),),
            ))
        elif user.console:
            passed.append(user.name)
    return _finish(findings, passed, unknown, "console and MFA state")


KEY_AGE = Check(
    "key-age", "Active access keys are rotated", Severity.MEDIUM, "Rotate access keys every 90 days",
    ("iam:ListAccessKeys", "iam:GetCredentialReport"), "Rotate the key (r): keytui creates, verifies and switches "
    "to a new key before it deactivates the old one.",
)


@rule(KEY_AGE)
def key_age(data: AuditData, settings: AuditSettings) -> Outcome:
    findings, passed, unknown = [], [], []
    for user in _users(data):
        if user.keys is None:
            unknown.append(user.name)
            continue
        for key in user.active_keys:
            age = key.age_days(data.now)
            label = f"{key.masked_id} of {user.name}" if key.key_id else f"a key of {user.name}"
            if age >= settings.key_age_days:
                severity = Severity.HIGH if age >= settings.key_age_high_days else Severity.MEDIUM
                fix = (Fix(FixKind.WORKFLOW, f"Rotate {label}", workflow="rotate",
                           params=(("user", user.name), ("key_id", key.key_id)))
                       if key.key_id else None)
                findings.append(Finding("key-age", label, f"Active key {label} is {age} days old "
                                        f"(limit {settings.key_age_days}).", severity, fix=fix))
            else:
                passed.append(label)
    return _finish(findings, passed, unknown, "keys")


UNUSED = Check(
    "unused", "No credentials left unused", Severity.MEDIUM, "Remove credentials unused for 45 days",
    ("iam:GetCredentialReport", "iam:GetAccessKeyLastUsed"),
    "Deactivate the unused key (it can be reactivated), or remove the unused console password.",
)


@rule(UNUSED)
def unused(data: AuditData, settings: AuditSettings) -> Outcome:
    findings, passed, unknown = [], [], []
    limit = settings.unused_days
    for user in _users(data):
        if user.keys is None:
            unknown.append(user.name)
        else:
            for key in user.active_keys:
                idle = key.idle_days(data.now)
                if idle is None:
                    unknown.append(user.name)
                elif idle >= limit:
                    since = ("has never been used" if key.last_used and key.last_used.never
                             else f"was last used {idle} days ago")
                    findings.append(Finding(
                        "unused", f"{key.masked_id} of {user.name}",
                        f"Active key {key.masked_id} of {user.name} {since} (limit {limit} days).",
                        Severity.MEDIUM, fix=deactivate_fix(key) if key.key_id else None,
                    ))
                else:
                    passed.append(f"{key.masked_id} of {user.name}")
        if user.console:
            reference = user.password_last_used or user.created
            if reference is None:
                unknown.append(user.name)
                continue
            idle = days_between(reference, data.now)
            if idle >= limit:
                since = (f"was last used {idle} days ago" if user.password_last_used
                         else f"has not been used in the {idle} days it has existed")
                findings.append(Finding(
                    "unused", f"console password of {user.name}",
                    f"The console password of {user.name} {since} (limit {limit} days).", Severity.MEDIUM,
                    fix=_remove_password_fix(user.name),
                ))
            else:
                passed.append(f"console password of {user.name}")
    return _finish(findings, passed, unknown, "last use")


ONE_KEY = Check(
    "one-key", "At most one active key per user", Severity.MEDIUM, "One active access key per user",
    ("iam:ListAccessKeys",), "Deactivate the key that is used less; two active keys are for a rotation only.",
)


@rule(ONE_KEY)
def one_key(data: AuditData, settings: AuditSettings) -> Outcome:
    findings, passed, unknown = [], [], []
    for user in _users(data):
        if user.keys is None:
            unknown.append(user.name)
            continue
        active = user.active_keys
        if len(active) < 2:
            passed.append(user.name)
        elif user.name in data.open_rotations:
            passed.append(user.name)  # mid-rotation: two keys is the expected state
        else:
            # The less used key: the one with the older (or no) last use; ties go to the older key.
            def last(key: AccessKey) -> tuple[float, float]:
                used = key.last_used.date if key.last_used and key.last_used.date else None
                return (used.timestamp() if used else float("-inf"), key.created.timestamp())

            spare = min(active, key=last)
            findings.append(Finding(
                "one-key", user.name, f"{user.name} has {len(active)} active keys; {spare.masked_id} is used less.",
                Severity.MEDIUM, fix=deactivate_fix(spare) if spare.key_id else None,
            ))
    return _finish(findings, passed, unknown, "keys")


NEVER_USED = Check(
    "never-used", "No never-used keys on console users", Severity.LOW,
    "Do not create access keys for console users who do not need them",
    ("iam:GetCredentialReport", "iam:GetAccessKeyLastUsed"), "Delete the key: it was never used.",
)


@rule(NEVER_USED)
def never_used(data: AuditData, settings: AuditSettings) -> Outcome:
    findings, passed, unknown = [], [], []
    for user in _users(data):
        if not user.console:
            if user.console is None:
                unknown.append(user.name)
            continue
        if user.keys is None:
            unknown.append(user.name)
            continue
        for key in user.keys:
            if key.last_used is None:
                unknown.append(user.name)
            elif key.last_used.never:
                findings.append(Finding(
                    "never-used", f"{key.masked_id} of {user.name}",
                    f"Console user {user.name} has key {key.masked_id}, created {key.age_days(data.now)} days ago "
                    "and never used.", Severity.LOW, fix=_delete_key_fix(key) if key.key_id else None,
                ))
            else:
                passed.append(f"{key.masked_id} of {user.name}")
    return _finish(findings, passed, unknown, "keys")

