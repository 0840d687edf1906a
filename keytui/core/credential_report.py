"""The IAM credential report: one round trip that gives every user's key ages, last use, console and MFA
state. Parsed here into plain rows; matching rows to key ids is the inventory's job."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

ROOT_USER = "<root_account>"
# Values AWS writes where there is no date: "N/A" (never / no such key), "no_information",
# "not_supported" (field not tracked, e.g. root's password_next_rotation).
_NO_DATE = {"", "N/A", "no_information", "not_supported"}


def parse_date(value: str | None) -> datetime | None:
    if value is None or value in _NO_DATE:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _text(value: str | None) -> str | None:
    return None if value is None or value in _NO_DATE else value


def _flag(value: str | None) -> bool | None:
    if value == "true":
        return True
    if value == "false":
        return False
    return None


@dataclass(frozen=True)
class ReportKey:
    """One `access_key_N_*` slot of a report row."""

    active: bool
    created: datetime  # access_key_N_last_rotated is the key's creation time
    last_used: datetime | None
    last_used_service: str | None
    last_used_region: str | None
    # The raw last_used_date was "N/A": AWS has no record of use (never used).
    never_used: bool

    @property
    def last_use_complete(self) -> bool:
        """True when the report alone says all there is to know about the key's last use."""
        return self.never_used or (self.last_used is not None and bool(self.last_used_service))


@dataclass(frozen=True)
class ReportRow:
    user: str
    arn: str
    created: datetime | None
    password_enabled: bool | None
    password_last_used: datetime | None
    mfa_active: bool | None
    keys: tuple[ReportKey, ...]


def _slot(row: dict[str, str], n: int) -> ReportKey | None:
    created = parse_date(row.get(f"access_key_{n}_last_rotated"))
    if created is None:
        return None
    raw_used = row.get(f"access_key_{n}_last_used_date")
    return ReportKey(
        active=_flag(row.get(f"access_key_{n}_active")) is True,
        created=created,
        last_used=parse_date(raw_used),
        last_used_service=_text(row.get(f"access_key_{n}_last_used_service")),
        last_used_region=_text(row.get(f"access_key_{n}_last_used_region")),
        never_used=raw_used == "N/A",
    )


def parse_report(content: bytes | str) -> dict[str, ReportRow]:
    text = content.decode("utf-8") if isinstance(content, bytes) else content
    rows: dict[str, ReportRow] = {}
    for row in csv.DictReader(io.StringIO(text)):
        name = row.get("user", "")
        keys = tuple(k for k in (_slot(row, 1), _slot(row, 2)) if k is not None)
        rows[name] = ReportRow(
            user=name,
            arn=row.get("arn", ""),
            created=parse_date(row.get("user_creation_time")),
            password_enabled=_flag(row.get("password_enabled")),
            password_last_used=parse_date(row.get("password_last_used")),
            mfa_active=_flag(row.get("mfa_active")),
            keys=keys,
        )
    return rows
