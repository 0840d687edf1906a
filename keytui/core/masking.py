"""How identifiers and secrets appear on screen and in logs: masked unless revealed on purpose."""

from __future__ import annotations


def mask_key_id(key_id: str | None) -> str:
    """`AKIAIOSFODNN7EXAMPLE` -> `AKIA…MPLE`. Key ids are not secret, but masking keeps screenshots and
    shoulder-surfers from learning which key to phish for, and the last four are enough to match."""
    if not key_id:
        return "…"
    if len(key_id) <= 8:
        return key_id
    return f"{key_id[:4]}…{key_id[-4:]}"


class Secret:
    """A secret value whose repr/str never shows it; `.reveal()` is the only way in."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('••••')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)
