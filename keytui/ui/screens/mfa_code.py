"""A modal that asks for one MFA code, and the prompt that lets a worker thread ask for one (F-08).

The modal checks the code's shape locally (six digits: F-05) and says why in the modal; it is dismissed
with the code, or None when the user cancels. `worker_prompt` is the `MfaPrompt` that core and services
take (`Services.mfa_iam(prompt)`): it runs in a worker thread, pushes the modal on the event loop and
blocks that thread until it is answered; a cancel raises KeyboardInterrupt, as a Ctrl-C at a terminal would.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.markup import escape
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static
from textual.worker import Worker

from keytui.core.errors import KeytuiError
from keytui.core.mfa import MfaCodeError, MfaPrompt, check_code
from keytui.services import Services
from keytui.ui.messages import MfaSerialWritten
from keytui.ui.widgets.mfa import CodeInput, NextCodeCountdown

DEMO_CODES = "Demo account: any six digits work (the demo account does not check MFA codes)."


class MfaCodeModal(ModalScreen["str | None"]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="mfa-code.cancel"),
    ]

    def __init__(self, services: Services, reason: str, *, serial: str | None = None,
                 validate: Callable[[str], str] | None = None) -> None:
        """`reason` says what the code is for; `validate(code)` (default: six digits) returns the cleaned
        code or raises MfaCodeError with the sentence to show."""
        super().__init__()
        self.services = services
        self._reason = reason
        self._serial = serial
        self._validate = validate or check_code

    def compose(self) -> ComposeResult:
        with Vertical(id="mfa-code-box"):
            yield Static("[b]MFA code needed[/b]", id="mfa-code-title")
            lines = [escape(self._reason) + "."]
            if self._serial:
                lines.append(f"Device: {escape(self._serial)}")
            lines.append("Type the code your authenticator app shows now, then press enter; esc cancels.")
            if self.services.demo:
                lines.append(DEMO_CODES)
            yield Static("\n".join(lines), id="mfa-code-help")
            with Horizontal(classes="mfa-row"):
                yield Label("MFA code  ", classes="mfa-label")
                yield CodeInput(id="mfa-code-input")
                yield NextCodeCountdown(self.services.clock, id="mfa-code-countdown", classes="mfa-countdown")
            yield Static("", id="mfa-code-error")

    def on_mount(self) -> None:
        self.query_one("#mfa-code-input", CodeInput).focus()

    @on(Input.Submitted, "#mfa-code-input")
    def _submitted(self, event: Input.Submitted) -> None:
        try:
            code = self._validate(event.value)
        except MfaCodeError as exc:
            self.query_one("#mfa-code-error", Static).update(escape(str(exc)))
            event.input.value = ""
            return
        self.dismiss(code)

    def action_cancel(self) -> None:
        self.dismiss(None)


def worker_prompt(app: App[object], services: Services, worker: Worker[object] | None = None,
                  *, serial: str | None = None) -> MfaPrompt:
    """An `MfaPrompt` for code running in `worker` (a thread): blocks until the modal is answered. A cancel,
    a cancelled worker or an app that stopped raise KeyboardInterrupt (nobody can type the code)."""

    def prompt(reason: str) -> str:
        answered = threading.Event()
        answer: list[str | None] = [None]

        def done(code: str | None) -> None:
            answer[0] = code
            answered.set()

        try:
            app.call_from_thread(lambda: app.push_screen(MfaCodeModal(services, reason, serial=serial), done))
        except RuntimeError:
            raise KeyboardInterrupt from None  # the app is not running any more
        while not answered.wait(0.2):
            if worker is not None and worker.is_cancelled:
                raise KeyboardInterrupt
        if answer[0] is None:
            raise KeyboardInterrupt
        return answer[0]

    return prompt


def mfa_prompt(app: App[object], services: Services, worker: Worker[object] | None) -> MfaPrompt | None:
    """Worker thread: the prompt for an IAM write that AWS may deny without MFA (F-08), or None when the
    acting profile has no mfa_serial (then IAM's AccessDenied is shown as it is, rather than a question
    nobody can answer)."""
    try:
        serial = services.session_broker().values(services.acting_profile).get("mfa_serial")
    except KeytuiError:
        return None
    return worker_prompt(app, services, worker, serial=serial) if serial else None


def rotation_mfa_iam(app: App[object], services: Services, worker: Worker[object] | None):  # type: ignore[no-untyped-def]
    """Worker thread: the `mfa_iam` the rotation engine takes (F-08), or None without mfa_serial."""
    prompt = mfa_prompt(app, services, worker)
    return services.mfa_iam(prompt) if prompt is not None else None


def mfa_cancelled() -> KeytuiError:
    """What a worker reports when `worker_prompt` was cancelled (its KeyboardInterrupt)."""
    return KeytuiError("IAM refused the call without MFA, and no MFA code was given, so keytui stopped there.",
                       code="MfaCancelled")


def write_serial_in_worker(services: Services, profile: str, serial: str) -> MfaSerialWritten:
    """Worker thread: write `mfa_serial` into the profile (after an enrollment, or to fix F-06), as the
    message that reports it (an error is a sentence)."""
    try:
        services.set_mfa_serial(profile, serial)
    except KeytuiError as exc:
        return MfaSerialWritten(profile, serial, exc)
    return MfaSerialWritten(profile, serial)
