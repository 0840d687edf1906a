"""The words keytui uses for inventory facts, shared by the TUI, the CLI table and the JSON export, so
every face says the same thing ("never", "unknown (AccessDenied)", "400d")."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from keytui.core.clock import days_between
from keytui.core.models import AccessKey, AgeLevel, Identity, IamUser, Inventory, Thresholds

JSON_SCHEMA = "keytui.users/1"
LOADING = "…"


def days_text(days: int) -> str:
    return f"{days}d"


def ago_text(when: datetime, now: datetime) -> str:
    days = days_between(when, now)
    if days == 0:
        return "today"
    if days == 1:
        return "yesterday"
    return f"{days}d ago"


def key_last_used_text(key: AccessKey, now: datetime, *, where: bool = True) -> str:
    if key.last_used is None:
        return key.last_used_error or LOADING
    if key.last_used.date is None:
        return "never"
    text = ago_text(key.last_used.date, now)
    place = ", ".join(p for p in (key.last_used.service, key.last_used.region) if p)
    return f"{text} ({place})" if where and place else text


def user_keys_text(user: IamUser) -> str:
    if user.keys is None:
        return user.keys_error or LOADING
    active = len(user.active_keys)
    inactive = len(user.keys) - active
    return f"{active}" + (f" +{inactive} inactive" if inactive else "")


def user_last_used_text(user: IamUser, now: datetime) -> str:
    if user.keys is None:
        return user.keys_error or LOADING
    if not user.keys:
        return "-"
    if any(k.last_used is None for k in user.keys):
        errors = [k.last_used_error for k in user.keys if k.last_used_error]
        return errors[0] if errors else LOADING
    last = user.last_used()
    return ago_text(last, now) if last else "never"


def flag_text(value: bool | None) -> str:
    return "?" if value is None else ("yes" if value else "no")


def oldest_age(user: IamUser, now: datetime) -> int | None:
    key = user.oldest_active_key()
    return key.age_days(now) if key else None


def unused(key: AccessKey, now: datetime, thresholds: Thresholds) -> bool | None:
    """Idle for `unused_days` or more. None when the key's last use is unknown: no verdict then."""
    idle = key.idle_days(now)
    return None if idle is None else idle >= thresholds.unused_days


def iso_z(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _key_json(key: AccessKey, now: datetime, thresholds: Thresholds, holders: dict[str, tuple[str, ...]]) -> dict[str, Any]:
    age = key.age_days(now)
    last = key.last_used
    return {
        "access_key_id": key.key_id,
        "status": key.status,
        "created": iso_z(key.created),
        "age_days": age,
        "age_level": thresholds.age_level(age).value if key.active else None,
        "last_used": None if last is None else {
            "date": iso_z(last.date),
            "service": last.service,
            "region": last.region,
        },
        "last_used_error": key.last_used_error,
        "never_used": None if last is None else last.never,
        "unused": unused(key, now, thresholds),
        "local_profiles": list(holders.get(key.key_id or "", ())),
    }


def inventory_json(
    inventory: Inventory,
    identity: Identity | None,
    thresholds: Thresholds,
    holders: dict[str, tuple[str, ...]],
    now: datetime,
) -> dict[str, Any]:
    """The documented, stable `keytui users --json` document (README, "JSON output")."""
    return {
        "schema": JSON_SCHEMA,
        "generated_at": iso_z(now),
        "account": identity.account if identity else None,
        "identity": identity.arn if identity else None,
        "source": inventory.source,
        "credential_report_generated": iso_z(inventory.report_generated),
        "complete": inventory.complete and not inventory.unknown_users,
        "thresholds": {
            "warn_days": thresholds.warn_days,
            "overdue_days": thresholds.overdue_days,
            "unused_days": thresholds.unused_days,
        },
        "users": [
            {
                "name": user.name,
                "arn": user.arn,
                "path": user.path,
                "created": iso_z(user.created),
                "console": user.console,
                "mfa_active": user.mfa_active,
                "keys": None if user.keys is None or not user.keys_complete
                else [_key_json(k, now, thresholds, holders) for k in user.keys],
                "keys_error": user.keys_error,
            }
            for user in inventory.users
        ],
    }


def age_level(user: IamUser, now: datetime, thresholds: Thresholds) -> AgeLevel | None:
    age = oldest_age(user, now)
    return None if age is None else thresholds.age_level(age)
