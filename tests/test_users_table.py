"""`keytui users` as text: user rows and the indented key rows each aligned into columns, colour only when
asked for, unknown shown as unknown."""

from __future__ import annotations

import io
import re
from datetime import timedelta

from keytui.core.models import AccessKey, IamUser, Inventory, KeyLastUsed, Thresholds
from keytui.users_table import write_table

from .conftest import NOW

ANSI = re.compile(r"\033\[[0-9;]*m")


def key(user: str, key_id: str, age: int, *, active: bool = True, used: int | None = None, **where: str) -> AccessKey:
    last = KeyLastUsed(date=None) if used is None else KeyLastUsed(date=NOW - timedelta(days=used, hours=1), **where)
    return AccessKey(
        user_name=user, key_id=key_id, status="Active" if active else "Inactive",
        created=NOW - timedelta(days=age, minutes=11), last_used=last,
    )


def user(name: str, *keys: AccessKey, path: str = "/", mfa: bool | None = False, console: bool | None = False) -> IamUser:
    return IamUser(
        name=name, arn=f"arn:aws:iam::123456789012:user{path}{name}", path=path, keys=keys, keys_complete=True,
        mfa_active=mfa, console=console,
    )


INVENTORY = Inventory(
    users=(
        user("alice", key("alice", "AKIAALICE00000000001", 400, used=1, service="s3", region="eu-west-1"),
             key("alice", "AKIAALICE00000000002", 5), path="/eng/", mfa=True, console=True),
        user("bob", key("bob", "AKIABOB0000000000003", 95, active=False, used=60, service="cloudformation",
                        region="ap-southeast-2")),
        user("ivan", key("ivan", "AKIAIVAN000000000004", 62, used=0, service="ce", region="us-east-1")),
        user("carol", mfa=None, console=None),
        IamUser(name="dave", arn="arn:aws:iam::123456789012:user/dave", keys=None, keys_error="unknown (AccessDenied)"),
    ),
    loaded_at=NOW,
    complete=True,
)
HOLDERS = {"AKIAALICE00000000001": ("alice-ci", "alice-laptop"), "AKIAIVAN000000000004": ("ivan",)}


def render(color: bool = False) -> str:
    out = io.StringIO()
    write_table(out, INVENTORY, Thresholds(), HOLDERS, NOW, color=color)
    return out.getvalue()


def key_rows(text: str) -> list[str]:
    return [line for line in ANSI.sub("", text).splitlines() if line.startswith("  AKIA")]


def column_starts(line: str) -> list[int]:
    """Where each cell starts: after a run of two or more spaces (cells themselves hold single spaces)."""
    return [m.end() for m in re.finditer(r"\s{2,}", line.rstrip())]


def test_users_table_exact_text() -> None:
    assert render() == (
        "USER   PATH   KEYS                    OLDEST  LAST USED               MFA  CONSOLE\n"
        "alice  /eng/  2                       400d    yesterday               yes  yes\n"
        "  AKIA…0001  Active    400d  yesterday (s3, eu-west-1)                 profiles alice-ci, alice-laptop\n"
        "  AKIA…0002  Active    5d    never\n"
        "bob    /      0 +1 inactive           -       60d ago                 no   no\n"
        "  AKIA…0003  Inactive  95d   60d ago (cloudformation, ap-southeast-2)\n"
        "carol  /      0                       -       -                       ?    ?\n"
        "dave   /      unknown (AccessDenied)  ?       unknown (AccessDenied)  ?    ?\n"
        "ivan   /      1                       62d     today                   no   no\n"
        "  AKIA…0004  Active    62d   today (ce, us-east-1)                     profile ivan\n"
        "\n"
        "5 users\n"
    )


def test_users_table_key_rows_are_aligned_into_columns() -> None:
    rows = key_rows(render())

    assert len(rows) == 4
    # Every key row's cells start at the same columns (the shorter rows stop early).
    full = column_starts(rows[0])
    assert full == [2, 13, 23, 29, 71]  # indent, then status, age, last used, profiles
    for row in rows:
        starts = column_starts(row)
        assert starts == full[: len(starts)], row


def test_users_table_colour_keeps_alignment() -> None:
    plain, coloured = render(color=False), render(color=True)

    assert "\033[" not in plain
    assert ANSI.sub("", coloured) == plain
    lines = coloured.splitlines()
    assert "\033[31;1m400d" in lines[1]  # alice's oldest active key: overdue
    assert "\033[31;1m400d" in lines[2] and "\033[32m5d" in lines[3]  # per key: overdue, ok
    assert "\033[" not in lines[5]  # bob's inactive key has no age level
    assert "\033[33m62d" in lines[8]  # ivan: warn


def test_users_table_unknown_keys_are_not_zero() -> None:
    dave = next(line for line in render().splitlines() if line.startswith("dave"))

    assert dave.split("  ")[0:1] == ["dave"]
    assert "unknown (AccessDenied)" in dave
    assert re.search(r"\b0\b", dave) is None
    assert " ?  " in dave  # the oldest key's age is unknown, not "-"
