"""The domain nouns: IAM users, their access keys and MFA devices, and the inventory of an account.

All frozen. "Unknown" is a state of its own everywhere: a field that could not be read is None *with a
reason*, never an empty tuple or zero.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import datetime

from keytui.core.clock import days_between
from keytui.core.masking import Secret, mask_key_id


class AgeLevel(enum.Enum):
    OK = "ok"
    WARN = "warn"
    OVERDUE = "overdue"


@dataclass(frozen=True)
class Thresholds:
    """When a key's age or idleness becomes a finding. Defaults follow the common 90-day rotation rule."""

    warn_days: int = 60
    overdue_days: int = 90
    unused_days: int = 45

    def __post_init__(self) -> None:
        if not 0 < self.warn_days <= self.overdue_days:
            raise ValueError("thresholds: need 0 < warn_days <= overdue_days")
        if self.unused_days <= 0:
            raise ValueError("thresholds: unused_days must be positive")

    def age_level(self, age_days: int) -> AgeLevel:
        if age_days >= self.overdue_days:
            return AgeLevel.OVERDUE
        if age_days >= self.warn_days:
            return AgeLevel.WARN
        return AgeLevel.OK


@dataclass(frozen=True)
class KeyLastUsed:
    """When and where a key was last used. `date is None` means never used (AWS says N/A)."""

    date: datetime | None
    service: str | None = None
    region: str | None = None

    @property
    def never(self) -> bool:
        return self.date is None


NEVER_USED = KeyLastUsed(date=None)


@dataclass(frozen=True)
class AccessKey:
    user_name: str
    status: str  # "Active" | "Inactive"
    created: datetime
    # None until ListAccessKeys answered: the credential report gives ages but not ids.
    key_id: str | None = None
    # None = unknown (not read yet, or could not be read: see last_used_error).
    last_used: KeyLastUsed | None = None
    last_used_error: str | None = None

    @property
    def active(self) -> bool:
        return self.status == "Active"

    @property
    def masked_id(self) -> str:
        return mask_key_id(self.key_id)

    def age_days(self, now: datetime) -> int:
        return days_between(self.created, now)

    def idle_days(self, now: datetime) -> int | None:
        """Days since last use (or since creation if never used); None when unknown."""
        if self.last_used is None:
            return None
        return days_between(self.last_used.date or self.created, now)


@dataclass(frozen=True)
class MfaDevice:
    serial: str
    enabled: datetime | None = None

    @property
    def virtual(self) -> bool:
        return ":mfa/" in self.serial


@dataclass(frozen=True)
class IamUser:
    name: str
    arn: str
    created: datetime | None = None
    path: str = "/"
    user_id: str | None = None
    # None = unknown. keys_error says why; neither set means still loading.
    keys: tuple[AccessKey, ...] | None = None
    keys_error: str | None = None
    # True once the keys came from ListAccessKeys (ids known), not only from the credential report.
    keys_complete: bool = False
    mfa_active: bool | None = None
    mfa_devices: tuple[MfaDevice, ...] | None = None
    console: bool | None = None  # has a login profile (console password)
    password_last_used: datetime | None = None

    @property
    def key_count(self) -> int | None:
        return None if self.keys is None else len(self.keys)

    @property
    def active_keys(self) -> tuple[AccessKey, ...]:
        return tuple(k for k in self.keys or () if k.active)

    def oldest_active_key(self) -> AccessKey | None:
        active = self.active_keys
        return min(active, key=lambda k: k.created) if active else None

    def last_used(self) -> datetime | None:
        """The most recent use of any of the user's keys; None if never or unknown."""
        dates = [k.last_used.date for k in self.keys or () if k.last_used and k.last_used.date]
        return max(dates) if dates else None

    def keys_unknown_reason(self) -> str | None:
        if self.keys is not None:
            return None
        return self.keys_error or "loading"

    def with_(self, **changes: object) -> IamUser:
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class RootAccount:
    """The root user's row of the credential report (kept for the audit)."""

    arn: str
    mfa_active: bool | None
    access_keys_active: tuple[bool, bool]
    password_last_used: datetime | None
    # The latest use of either root access key (None: never used, or no keys).
    keys_last_used: datetime | None = None

    @property
    def last_used(self) -> datetime | None:
        dates = [d for d in (self.password_last_used, self.keys_last_used) if d is not None]
        return max(dates) if dates else None


@dataclass(frozen=True)
class Inventory:
    users: tuple[IamUser, ...]
    loaded_at: datetime
    # "credential-report" when the fast path worked, "per-user" after the fallback.
    source: str = "per-user"
    report_generated: datetime | None = None
    report_error: str | None = None
    root: RootAccount | None = None
    complete: bool = False
    errors: tuple[str, ...] = field(default_factory=tuple)

    @property
    def unknown_users(self) -> tuple[IamUser, ...]:
        return tuple(u for u in self.users if u.keys is None or not u.keys_complete)

    def user(self, name: str) -> IamUser | None:
        return next((u for u in self.users if u.name == name), None)


@dataclass(frozen=True)
class Identity:
    account: str
    arn: str
    user_id: str

    @property
    def name(self) -> str:
        """`arn:aws:iam::1:user/eng/alice` -> `alice`; `…:assumed-role/Admin/bob` -> `Admin/bob`; root -> `root`."""
        resource = self.arn.split(":", 5)[-1]
        if resource == "root":
            return "root"
        kind, _, rest = resource.partition("/")
        if kind == "assumed-role":
            return rest
        return rest.rsplit("/", 1)[-1] or resource

    @property
    def is_user(self) -> bool:
        return ":user/" in self.arn


@dataclass(frozen=True)
class CredentialSource:
    """Where the effective credentials come from, in words, plus warnings such as env overrides."""

    profile: str | None
    method: str  # botocore's provider name: env, shared-credentials-file, custom-process, …
    label: str
    key_id: str | None = None
    warnings: tuple[str, ...] = ()
    path: str | None = None  # the file the credentials were read from, when there is one

    @property
    def masked_key_id(self) -> str:
        return mask_key_id(self.key_id)

    @property
    def short_label(self) -> str:
        """The label without a file path, for narrow places such as the header."""
        return self.label.removesuffix(f" {self.path}") if self.path else self.label


@dataclass(frozen=True)
class LongTermKey:
    """An IAM user's access key pair as the vault stores it. The secret stays wrapped (masked repr)."""

    access_key_id: str
    secret: Secret

    @property
    def temporary(self) -> bool:
        """ASIA… ids are STS session keys: never to be stored or rotated as long-term keys."""
        return self.access_key_id.startswith("ASIA")


@dataclass(frozen=True)
class SessionCredentials:
    access_key_id: str
    secret: Secret
    token: Secret
    expiration: datetime  # aware UTC

    def valid_for(self, now: datetime) -> float:
        return (self.expiration - now).total_seconds()
