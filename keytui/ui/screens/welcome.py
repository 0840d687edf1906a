"""Shown instead of the main screen when there are no usable AWS credentials (none at all, or an unknown
profile): says why, how to add a profile, how to try the demo, and lets the user pick a profile."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from keytui.ui.messages import ProfileChangeRequested


class WelcomeScreen(Screen[None]):
    BINDINGS = [Binding("q", "app.quit", "Quit", id="app.quit")]

    def __init__(self, reason: str, profiles: tuple[str, ...]) -> None:
        super().__init__()
        self._reason = reason
        self._profiles = profiles

    def compose(self) -> ComposeResult:
        with Vertical(id="welcome-box"):
            yield Static("[b]Welcome to keytui[/b]", id="welcome-title")
            yield Static(self._reason, id="welcome-reason")
            yield Static(
                "To get started:\n"
                "  • add a profile:  [b]aws configure --profile work[/b]  (keytui will offer to move its key\n"
                "    into the OS keyring), then run  [b]keytui --profile work[/b]\n"
                "  • or try keytui safely on a built-in demo account:  [b]keytui --demo[/b]",
                id="welcome-help",
            )
            if self._profiles:
                yield Static("Or pick one of your profiles:", id="welcome-pick")
                yield OptionList(*[Option(name, id=name) for name in self._profiles], id="profiles")
        yield Footer()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.post_message(ProfileChangeRequested(event.option.id))
