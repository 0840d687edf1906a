"""A secret shown only on request, and hidden again after a while: the new-key modal and the MFA enrollment
screen both reveal one this way (DESIGN: "a reveal is explicit and temporary")."""

from __future__ import annotations

from textual.timer import Timer

REVEAL_SECONDS = 30.0


class TimedReveal:
    """Mixin for a screen: `action_reveal` toggles `revealed`; a revealed secret hides itself after
    REVEAL_SECONDS. The screen draws it in `show_secret()`."""

    revealed: bool = False
    _hide_timer: Timer | None = None

    def show_secret(self) -> None:
        raise NotImplementedError

    def action_reveal(self) -> None:
        self.revealed = not self.revealed
        self.stop_reveal_timer()
        if self.revealed:
            self._hide_timer = self.set_timer(REVEAL_SECONDS, self._hide)  # type: ignore[attr-defined]
        self.show_secret()

    def stop_reveal_timer(self) -> None:
        if self._hide_timer is not None:
            self._hide_timer.stop()
            self._hide_timer = None

    def _hide(self) -> None:
        self._hide_timer = None
        self.revealed = False
        self.show_secret()
