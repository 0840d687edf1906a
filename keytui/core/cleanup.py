"""Inactive access keys after a rotation: which have been inactive past the grace period, so that they can
be deleted (`--deactivate-only`, the default, leaves the old key inactive rather than deleting it).

IAM does not record when a key was deactivated. keytui takes the best evidence it has, per key:

1. **the rotation history**: when a keytui rotation that left the key inactive finished
   (`JournalStore.deactivated()`, written by the engine when the journal closes) — the real date;
2. **the key's last use**: a key was active when it was last used, so it has not been used since then
   (with no rotation record this is an *upper bound* of its inactivity: the key may have been deactivated
   later, which is why the screen then says "inactive, unused N d" rather than "inactive N d");
3. **its creation date**, for a key never used.

Of the evidence a key has, the latest date wins (the key was active, or at least existed, at each of them;
a key made active again and used after keytui deactivated it is measured from that last use). A key whose
last use is unknown (not read yet, or unreadable) and that no rotation recorded gets no verdict, and nothing
at all is derived for a user whose keys are unknown (`keys is None`) or whose key ids are not read yet.

"Past the grace period" means inactive for at least `grace_days` whole days (`[rotation] grace_days`,
default 7; 0 makes every inactive key with evidence deletable at once).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from keytui.core.clock import days_between
from keytui.core.errors import KeytuiError
from keytui.core.iam import IamService
from keytui.core.masking import mask_key_id
from keytui.core.models import AccessKey, IamUser, Inventory

# Where the date of an inactive key comes from (InactiveKey.evidence).
ROTATION = "rotation"
LAST_USE = "last use"
CREATED = "created"


@dataclass(frozen=True)
class InactiveKey:
    """An inactive key with the evidence of how long it has been inactive."""

    user: str
    key: AccessKey
    since: datetime
    evidence: str  # ROTATION | LAST_USE | CREATED
    days: int
    grace_days: int

    @property
    def key_id(self) -> str:
        return self.key.key_id or ""

    @property
    def past_grace(self) -> bool:
        return self.days >= self.grace_days

    @property
    def days_left(self) -> int:
        return max(0, self.grace_days - self.days)

    def inactivity_text(self) -> str:
        """How long it has been inactive, worded by the evidence (see the module's docstring)."""
        if self.evidence == ROTATION:
            return f"inactive {self.days} d"
        if self.evidence == LAST_USE:
            return f"inactive, unused {self.days} d"
        return f"inactive, never used, created {self.days} d ago"

    def verdict_text(self) -> str:
        if self.past_grace:
            return "past grace, can be deleted"
        return f"in its {self.grace_days}-day grace period ({self.days_left} d left)"

    def describe(self) -> str:
        """e.g. `inactive 12 d — past grace, can be deleted`."""
        return f"{self.inactivity_text()} — {self.verdict_text()}"


def inactive_key(user: IamUser, key: AccessKey, now: datetime, grace_days: int,
                 deactivated: Mapping[str, datetime]) -> InactiveKey | None:
    """The evidence for one of `user`'s keys; None for an active key, an unknown user or key, or a key with no
    evidence (last use unknown and no rotation record)."""
    if user.keys is None or key.active or not key.key_id:
        return None
    dates: list[tuple[datetime, str]] = []
    recorded = deactivated.get(key.key_id)
    if recorded is not None:
        dates.append((recorded, ROTATION))
    if key.last_used is not None:
        dates.append((key.last_used.date, LAST_USE) if key.last_used.date else (key.created, CREATED))
    if not dates:
        return None
    # Latest first; at a tie the rotation record (the real date) wins.
    order = {ROTATION: 0, LAST_USE: 1, CREATED: 2}
    since, evidence = max(dates, key=lambda item: (item[0], -order[item[1]]))
    return InactiveKey(user.name, key, since, evidence, days_between(since, now), grace_days)


def user_inactive_keys(user: IamUser, now: datetime, grace_days: int,
                       deactivated: Mapping[str, datetime]) -> tuple[InactiveKey, ...]:
    """Every inactive key of `user` with evidence; () for a user whose keys are unknown."""
    if user.keys is None:
        return ()
    found = (inactive_key(user, key, now, grace_days, deactivated) for key in user.keys)
    return tuple(k for k in found if k is not None)


def inactive_keys(inventory: Inventory, now: datetime, grace_days: int,
                  deactivated: Mapping[str, datetime]) -> tuple[InactiveKey, ...]:
    return tuple(k for user in inventory.users for k in user_inactive_keys(user, now, grace_days, deactivated))


def past_grace(inventory: Inventory, now: datetime, grace_days: int,
               deactivated: Mapping[str, datetime]) -> tuple[InactiveKey, ...]:
    """The inactive keys of `inventory` inactive for at least `grace_days`: the ones that can be deleted."""
    return tuple(k for k in inactive_keys(inventory, now, grace_days, deactivated) if k.past_grace)


# -- deleting one ----------------------------------------------------------------------------------------


def delete_inactive_key(iam: IamService, user: str, key_id: str) -> AccessKey:
    """Delete `key_id` of `user` only if AWS still lists it as Inactive (read again now: the inventory the
    user looked at may be old). Returns the key as AWS listed it. Never deletes an active key."""
    masked = mask_key_id(key_id)
    keys = iam.list_access_keys(user)
    key = next((k for k in keys if k.key_id == key_id), None)
    if key is None:
        raise KeytuiError(f"Key {masked} of {user} no longer exists in AWS; nothing was deleted.", code="NoSuchEntity")
    if key.active:
        raise KeytuiError(
            f"Key {masked} of {user} is active in AWS (it was made active again, or never deactivated); keytui "
            "deletes only inactive keys. Nothing was deleted.",
            code="KeyActive",
        )
    iam.delete_access_key(user, key_id)
    return key
