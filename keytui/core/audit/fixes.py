"""Executing an audit finding's AWS fix: exactly the calls its confirmation showed, nothing else.

Key fixes re-read the user's keys first: a key that is gone is reported, not an error; deleting a
"never used" key is refused if it was used since the audit; deactivating says when it leaves the user
without an active key. The other fixes are idempotent (policy, rule, logging) or say what they removed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from keytui.core.audit.model import Fix, FixKind
from keytui.core.errors import KeytuiError, aws_errors
from keytui.core.masking import mask_key_id

ClientFor = Callable[..., Any]


def apply_fix(fix: Fix, client: ClientFor) -> str:
    """Run an AWS fix; returns the sentence to show. Workflows and guides are not run here."""
    if fix.kind is not FixKind.AWS or fix.action is None:
        raise KeytuiError(f"'{fix.label}' is not something keytui does by itself: {fix.guide or fix.workflow}",
                          code="NotAutomatic")
    handler = _HANDLERS.get(fix.action)
    if handler is None:
        raise KeytuiError(f"Unknown fix action {fix.action}.", code="Usage")
    return handler(fix, client)


def _keys(iam: Any, user: str) -> dict[str, str]:
    with aws_errors(f"list the access keys of {user}"):
        return {k["AccessKeyId"]: k["Status"] for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]}


def _deactivate_key(fix: Fix, client: ClientFor) -> str:
    iam, user, key_id = client("iam"), str(fix.param("user")), str(fix.param("key_id"))
    keys = _keys(iam, user)
    if key_id not in keys:
        return f"Key {mask_key_id(key_id)} of {user} no longer exists; nothing to do."
    if not any(status == "Active" for other, status in keys.items() if other != key_id):
        # Deactivating is reversible, but a service using the key stops at once: say what remains.
        note = f" {user} now has no active key."
    else:
        note = ""
    with aws_errors(f"deactivate key {mask_key_id(key_id)} of {user}"):
        iam.update_access_key(UserName=user, AccessKeyId=key_id, Status="Inactive")
    return f"Deactivated {mask_key_id(key_id)} of {user} (reactivate it with iam update-access-key if needed).{note}"


def _delete_key(fix: Fix, client: ClientFor) -> str:
    iam, user, key_id = client("iam"), str(fix.param("user")), str(fix.param("key_id"))
    if key_id not in _keys(iam, user):
        return f"Key {mask_key_id(key_id)} of {user} no longer exists; nothing to do."
    with aws_errors(f"check when key {mask_key_id(key_id)} was last used"):
        used = iam.get_access_key_last_used(AccessKeyId=key_id).get("AccessKeyLastUsed", {}).get("LastUsedDate")
    if used is not None:
        raise KeytuiError(f"Key {mask_key_id(key_id)} of {user} has been used since the audit ran; keytui did not "
                          "delete it. Refresh the audit.", code="Stale")
    with aws_errors(f"delete key {mask_key_id(key_id)} of {user}"):
        iam.delete_access_key(UserName=user, AccessKeyId=key_id)
    return f"Deleted the never-used key {mask_key_id(key_id)} of {user}."


def _delete_login_profile(fix: Fix, client: ClientFor) -> str:
    user = str(fix.param("user"))
    with aws_errors(f"remove the console password of {user}"):
        client("iam").delete_login_profile(UserName=user)
    return f"Removed the console password of {user}; they can no longer sign in to the console."


def _password_policy(fix: Fix, client: ClientFor) -> str:
    with aws_errors("update the account password policy"):
        client("iam").update_account_password_policy(**dict(fix.params))
    return "Applied the recommended password policy; it applies to passwords set from now on."


def _revoke_ingress(fix: Fix, client: ClientFor) -> str:
    region, group = str(fix.param("region")), str(fix.param("group_id"))
    permission = json.loads(str(fix.param("permission")))
    with aws_errors(f"revoke the rule on {group}"):
        client("ec2", region).revoke_security_group_ingress(GroupId=group, IpPermissions=[permission])
    return f"Revoked the world-open rule on {group} in {region}."


def _start_logging(fix: Fix, client: ClientFor) -> str:
    region, name = str(fix.param("region")), str(fix.param("name"))
    with aws_errors(f"start logging on trail {name}"):
        client("cloudtrail", region or None).start_logging(Name=name)
    return f"Trail {name.rsplit('/', 1)[-1]} is logging."


_HANDLERS: dict[str, Callable[[Fix, ClientFor], str]] = {
    "deactivate_key": _deactivate_key,
    "delete_key": _delete_key,
    "delete_login_profile": _delete_login_profile,
    "password_policy": _password_policy,
    "revoke_ingress": _revoke_ingress,
    "start_logging": _start_logging,
}
