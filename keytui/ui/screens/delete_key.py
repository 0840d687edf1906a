"""Deleting an inactive access key: which key `d` means, the confirmation that names it, and the call (in a
worker). Shared by the main screen (`d`: inactive keys past their grace period, after a rotation) and the
rotation screen (F-01: two keys already, one of them inactive).

Only inactive keys, never a guess: a user whose keys are unknown or whose key ids are still loading is
refused, and the service asks AWS again right before deleting (a key made active meanwhile is refused).
"""

from __future__ import annotations

from datetime import datetime

from textual.markup import escape

from keytui.core import present
from keytui.core.cleanup import InactiveKey, inactive_key
from keytui.core.errors import KeytuiError
from keytui.core.masking import mask_key_id
from keytui.core.mfa import MfaPrompt
from keytui.core.models import AccessKey, IamUser
from keytui.services import Services
from keytui.ui.messages import InactiveKeyDeleted
from keytui.ui.screens.confirm import ConfirmModal
from keytui.ui.screens.mfa_code import mfa_cancelled


def choose_inactive_key(user: IamUser | None, chosen_key_id: str | None = None) -> AccessKey | str:
    """The key `d` deletes: the one under the keys panel's cursor (`chosen_key_id`), or the user's only
    inactive key. A string says why there is none."""
    if user is None:
        return "Select a user first."
    if user.keys is None:
        return (f"The keys of {user.name} are {user.keys_unknown_reason()}; keytui does not act on a partial list. "
                "Refresh with ctrl+r.")
    if not user.keys_complete or any(not k.key_id for k in user.keys):
        return f"The key ids of {user.name} are still loading; try again in a moment."
    if chosen_key_id is not None:
        key = next((k for k in user.keys if k.key_id == chosen_key_id), None)
        if key is None:
            return f"That key is no longer listed for {user.name}; refresh with ctrl+r."
        if key.active:
            return (f"Key {key.masked_id} of {user.name} is active; keytui deletes only inactive keys. To replace it, "
                    "rotate it (r): the rotation deactivates it once the new key works.")
        return key
    inactive = [k for k in user.keys if not k.active]
    if not inactive:
        return f"{user.name} has no inactive key to delete."
    if len(inactive) > 1:
        return (f"{user.name} has {len(inactive)} inactive keys: press enter, put the cursor on the one to delete, "
                "then press d.")
    return inactive[0]


def evidence(services: Services, user: IamUser, key: AccessKey) -> InactiveKey | None:
    """How long `key` has been inactive, and whether its grace period is over (core/cleanup.py)."""
    return inactive_key(user, key, services.clock.now(), services.settings.rotation.grace_days,
                        services.journals.deactivated())


class DeleteInactiveKeyModal(ConfirmModal):
    """Names the key (masked), its state and last use, and says what happens: AWS is asked again and the key
    is deleted only if it is still inactive; not reversible."""

    def __init__(self, user: str, key: AccessKey, now: datetime, found: InactiveKey | None = None,
                 holders: tuple[str, ...] = (), *, classes: str | None = None) -> None:
        self.user = user
        self.key = key
        lines = [
            f"Key {key.masked_id} of {escape(user)}: {key.status}, {present.days_text(key.age_days(now))} old, "
            f"last used {escape(present.key_last_used_text(key, now))}."
        ]
        if found is not None:
            lines.append(f"It is {escape(found.describe())}.")
        if holders:
            lines.append(f"Local profile(s) {escape(', '.join(holders))} still name it (it does not work for them: "
                         "it is inactive).")
        lines.append("keytui asks AWS again first and deletes the key only if it is still inactive. A deleted key "
                     "cannot be brought back; nothing else changes.")
        super().__init__(f"Delete inactive key {key.masked_id} of {escape(user)}?", "\n".join(lines), "Delete",
                         classes=classes)


def delete_in_worker(services: Services, user: str, key_id: str, prompt: MfaPrompt | None = None) -> InactiveKeyDeleted:
    """Worker thread: the delete, as the message that reports it (an error is a sentence, never a traceback).
    With `prompt`, a delete IAM denies for lack of MFA asks for a code and is tried once more (F-08)."""
    try:
        services.retry_with_mfa(lambda: services.delete_inactive_key(user, key_id), prompt)
    except KeyboardInterrupt:
        return InactiveKeyDeleted(user, key_id, mfa_cancelled())
    except KeytuiError as exc:
        return InactiveKeyDeleted(user, key_id, exc)
    except Exception as exc:  # noqa: BLE001 - shown as a sentence; the app keeps running
        return InactiveKeyDeleted(user, key_id, KeytuiError(
            f"Could not delete key {mask_key_id(key_id)} of {user}: unexpected error ({type(exc).__name__}: {exc}).",
            code="Unexpected"))
    return InactiveKeyDeleted(user, key_id)


def deleted_text(message: InactiveKeyDeleted) -> str:
    return f"Deleted the inactive key {mask_key_id(message.key_id)} of {message.user}."
