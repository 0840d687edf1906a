"""`?`: every key that works on the screen below, with its binding id (remappable), and the keys
reserved for the workflows still to come."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


@dataclass(frozen=True)
class HelpEntry:
    key: str
    description: str
    binding_id: str
    enabled: bool


class HelpModal(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,q,question_mark", "close", "Close", id="help.close"),
    ]

    def __init__(self, entries: list[HelpEntry], reserved: list[HelpEntry]) -> None:
        super().__init__()
        self._entries = entries
        self._reserved = reserved

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static("[b]Keys[/b]", classes="help-heading")
            yield Static(self._table(self._entries), id="help-live")
            if self._reserved:
                yield Static("[b]Reserved for upcoming workflows[/b]", classes="help-heading")
                yield Static(self._table(self._reserved), id="help-reserved")
            yield Static(
                "Remap any key by its id in ~/.config/keytui/config.toml. ctrl+p opens the command palette. "
                "esc closes this help.",
                id="help-footnote",
            )

    @staticmethod
    def _table(entries: list[HelpEntry]) -> str:
        lines = []
        for entry in entries:
            key = f"{entry.key:<9}"
            line = f"  [b]{key}[/b] {entry.description:<28} [dim]{entry.binding_id}[/dim]"
            lines.append(line if entry.enabled else f"[dim]{line}[/dim]")
        return "\n".join(lines)

    def action_close(self) -> None:
        self.dismiss(None)
