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


def _row(cells: list[str], widths: list[int]) -> str:
    return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths)).rstrip()


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
            present.days_text(age) if age is not None else "-",
            present.user_last_used_text(user, now),
            present.flag_text(user.mfa_active),
            present.flag_text(user.console),
        ]
        keys = []
        for key in user.keys or () if user.keys_complete else ():
            key_age = key.age_days(now)
            profiles = ", ".join(holders.get(key.key_id or "", ()))
            keys.append(
                (
                    [
                        f"  {key.masked_id}",
                        key.status,
                        present.days_text(key_age),
                        present.key_last_used_text(key, now),
                        f"profile {profiles}" if profiles else "",
                    ],
                    thresholds.age_level(key_age) if key.active else None,
                )
            )
        rows.append((cells, level, keys))

    widths = [max([len(header[i])] + [len(r[0][i]) for r in rows]) for i in range(len(header))]
    out.write(_row(header, widths) + "\n")
    for cells, level, keys in rows:
        # Pad before painting so escape codes do not break the alignment.
        padded = [cell.ljust(width) for cell, width in zip(cells, widths)]
        padded[3] = _paint(padded[3], level, color)
        out.write("  ".join(padded).rstrip() + "\n")
        for key_cells, key_level in keys:
            key_cells[2] = _paint(key_cells[2], key_level, color)
            out.write("    ".join(c for c in key_cells if c) + "\n")
    summary = f"{len(inventory.users)} users"
    if inventory.report_generated:
        summary += f"; credential report of {present.iso_z(inventory.report_generated)}"
    out.write(f"\n{summary}\n")
