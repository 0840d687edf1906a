"""Small MFA widgets shared by the enrollment screen, the session screen and the MFA code modal: a six-digit
code input, and the countdown to the authenticator app's next code. Time comes from the services' clock, so
tests with a FixedClock see a fixed countdown."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from textual import events
from textual.widgets import Input, Static

from keytui.core.clock import Clock
from keytui.core.mfa import seconds_left
from keytui.vault.sessions import SessionState

CODE_DIGITS = 6


class DigitsInput(Input):
    """A one-line input that takes digits only, and leaves every other printable key to the screen's and the
    app's bindings (`v` reveals, `?` helps), which a plain Input would swallow."""

    def __init__(self, *, max_length: int, placeholder: str = "", id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(placeholder=placeholder, restrict=r"[0-9]*", max_length=max_length, compact=True,
                         id=id, classes=classes)

    def check_consume_key(self, key: str, character: str | None) -> bool:
        return character is not None and character.isdigit()

    async def _on_key(self, event: events.Key) -> None:
        if event.is_printable and not (event.character or "").isdigit():
            event.prevent_default()  # not Input's to type: it bubbles up to the bindings


class CodeInput(DigitsInput):
    """An MFA code: six digits. The code is not a lasting secret (it is worth one use within ~30 s), so it is
    shown as typed, as the authenticator app shows it."""

    def __init__(self, *, placeholder: str = "6 digits", id: str | None = None, classes: str | None = None) -> None:
        super().__init__(max_length=CODE_DIGITS, placeholder=placeholder, id=id, classes=classes)


class NextCodeCountdown(Static):
    """'next code in 17 s', ticking every second from `clock`."""

    def __init__(self, clock: Clock, *, prefix: str = "next code in", id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__("", id=id, classes=classes, markup=False)
        self._clock = clock
        self._prefix = prefix

    def on_mount(self) -> None:
        self.tick()
        self.set_interval(1.0, self.tick)

    def tick(self) -> None:
        self.update(f"{self._prefix} {seconds_left(self._clock.now())} s")


def live_state(state: SessionState, now: datetime) -> SessionState:
    """`state` with its remaining time computed again for `now` (a stored state would otherwise keep
    counting from when it was read, and an expired session could look valid: F-09)."""
    if state.session is None:
        return state
    return replace(state, seconds_left=state.session.valid_for(now))
