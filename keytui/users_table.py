"""`keytui users` as plain text: one line per user, one indented line per key. ANSI colour only on a
terminal (and never with NO_COLOR), so pipes get clean text."""

from __future__ import annotations

from datetime import datetime
from typing import TextIO

from keytui.core import present
from keytui.core.models import AgeLevel, Inventory, Thresholds

_COLORS = {AgeLevel.OK: "32", AgeLevel.WARN: "33", AgeLevel.OVERDUE: "31;1"}


def _paint(text: str, level: AgeLevel | None, color: bool) -> str:
    if not color or level is None:
        return text
    return f"\033[{_COLORS[level]}m{text}\033[0m"


_OLDEST = 3  # the user column painted by age level
_KEY_COLUMNS, _KEY_AGE = 5, 2  # key id, status, age, last used, profiles; the age is painted
_KEY_INDENT = "  "


def _row(cells: list[str], widths: list[int]) -> str:
    return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths)).rstrip()


def _profiles_text(names: tuple[str, ...]) -> str:
    if not names:
        return ""
    return ("profile " if len(names) == 1 else "profiles ") + ", ".join(names)


def _painted_row(cells: list[str], widths: list[int], painted: int, level: AgeLevel | None, color: bool) -> str:
    # Pad before painting so escape codes do not break the alignment.
    padded = [cell.ljust(width) for cell, width in zip(cells, widths)]
    padded[painted] = _paint(padded[painted], level, color)
    return "  ".join(padded).rstrip()


def write_table(
    out: TextIO,
    inventory: Inventory,
    thresholds: Thresholds,
    holders: dict[str, tuple[str, ...]],
    now: datetime,
    *,
    color: bool,
) -> None:
    header = ["USER", "PATH", "KEYS", "OLDEST", "LAST USED", "MFA", "CONSOLE"]
    rows: list[tuple[list[str], AgeLevel | None, list[tuple[list[str], AgeLevel | None]]]] = []
    for user in sorted(inventory.users, key=lambda u: u.name.lower()):
        age = present.oldest_age(user, now)
        level = present.age_level(user, now, thresholds)
        cells = [
            user.name,
            user.path,
            present.user_keys_text(user),
            present.days_text(age) if age is not None else ("?" if user.keys is None else "-"),
            present.user_last_used_text(user, now),
            present.flag_text(user.mfa_active),
            present.flag_text(user.console),
        ]
        keys = []
        for key in user.keys or () if user.keys_complete else ():
            key_age = key.age_days(now)
            keys.append(
                (
                    [
                        key.masked_id,
                        key.status,
                        present.days_text(key_age),
                        present.key_last_used_text(key, now),
                        _profiles_text(holders.get(key.key_id or "", ())),
                    ],
                    thresholds.age_level(key_age) if key.active else None,
                )
            )
        rows.append((cells, level, keys))

    widths = [max([len(header[i])] + [len(r[0][i]) for r in rows]) for i in range(len(header))]
    # Key rows are a table of their own, indented under their user: one set of widths over all of them.
    all_keys = [key_cells for _, _, keys in rows for key_cells, _ in keys]
    key_widths = [max((len(cells[i]) for cells in all_keys), default=0) for i in range(_KEY_COLUMNS)]
    out.write(_row(header, widths) + "\n")
    for cells, level, keys in rows:
        out.write(_painted_row(cells, widths, _OLDEST, level, color) + "\n")
        for key_cells, key_level in keys:
            out.write(_KEY_INDENT + _painted_row(key_cells, key_widths, _KEY_AGE, key_level, color) + "\n")
    summary = f"{len(inventory.users)} users"
    if inventory.report_generated:
        summary += f"; credential report of {present.iso_z(inventory.report_generated)}"
    out.write(f"\n{summary}\n")
