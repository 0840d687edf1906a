"""`m`: enroll a virtual MFA device for the selected user.

A worker creates the device; the screen draws its `otpauth://` URI as a QR code (black on white, whatever the
theme), the seed for manual entry masked until `v`, two code inputs and the countdown to the next code. The
codes are checked locally against the seed before AWS is called (F-07: "the second code must be the next
one", a skewed phone clock); then a worker enables the device, and keytui offers to write mfa_serial into the
acting profile when the device is the profile's own user's.

Leaving before the device is enabled deletes it (a worker; the screen says so). The seed (and the URI, which
contains it) is never logged or notified, and is dropped when the screen closes.

Phases: creating → codes → enabling → enabled; leftover (an unassigned device of that name: delete and
retry?), named (the name is taken by a device in use: type another), failed, cancelling.
"""

from __future__ import annotations

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.markup import escape
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input, Label, Static

from keytui.core.errors import KeytuiError
from keytui.core.mfa import LeftoverDeviceError, MfaCodeError, MfaService, NewDevice, check_enrollment_codes
from keytui.core.models import Identity
from keytui.core.qr import QrCode, encode, render_half_blocks, rendered_size
from keytui.services import Services
from keytui.ui.messages import (
    MfaDeviceCreated,
    MfaEnabled,
    MfaEnrollCancelled,
    MfaEnrollFailed,
    MfaLeftoverFound,
    MfaSerialWritten,
)
from keytui.ui.reveal import TimedReveal
from keytui.ui.screens.confirm import ConfirmModal
from keytui.ui.screens.mfa_code import write_serial_in_worker
from keytui.ui.widgets.mfa import CodeInput, NextCodeCountdown

SEED_MASK = "•" * 16
# A reveal is temporary (DESIGN: secrets masked by default, a reveal explicit and temporary).
# The narrowest side panel (seed, codes, countdown) worth putting beside the QR code.
SIDE_MIN_WIDTH = 30
# (quiet zone in modules, footer shown), best first: the standard's 4 modules when there is room; a wider
# quiet zone scans better than a footer helps; 1 module still scans with phone apps, at a pinch (80×24).
QR_LAYOUTS = ((4, True), (3, True), (2, True), (2, False), (1, True), (1, False))


def qr_layout(code: QrCode, width: int, height: int) -> tuple[int, bool] | None:
    """The quiet zone and whether the footer fits, for a terminal of width×height; None: no QR fits."""
    for quiet, footer in QR_LAYOUTS:
        columns, rows = rendered_size(code, quiet=quiet)
        if rows <= height - (1 if footer else 0) and columns <= width:
            return quiet, footer
    return None


def grouped(seed: str) -> str:
    """`ABCDEFGH…` -> `ABCD EFGH …`: easier to type into an authenticator app by hand."""
    return " ".join(seed[i : i + 4] for i in range(0, len(seed), 4))


class MfaEnrollScreen(TimedReveal, Screen[bool]):
    """Dismissed with True when a device was enabled (the main screen reloads either way)."""

    BINDINGS = [
        Binding("v", "reveal", "Show/hide secret", id="mfa.reveal"),
        # esc cancels (deleting the device) while one exists or is being created, and goes back otherwise.
        Binding("escape", "cancel", "Cancel", id="mfa.cancel"),
        Binding("escape", "back", "Back", id="mfa.back"),
    ]

    def __init__(self, services: Services, user: str, *, identity: Identity | None = None,
                 has_mfa: bool | None = None) -> None:
        super().__init__()
        self.services = services
        self.user = user
        self.identity = identity
        self.has_mfa = has_mfa
        self.phase = "creating"
        # The device being enrolled: holds the seed, in memory only, until the screen closes.
        self.device: NewDevice | None = None
        self.own_profile: str | None = None
        self.own_serial: str | None = None
        self.warning: str | None = None
        self.revealed = False
        self._service: MfaService | None = None
        self._qr: QrCode | None = None
        self._hide_timer: Timer | None = None
        self._leftover: LeftoverDeviceError | None = None
        self._outcome_text = ""

    # -- layout ------------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(id="enroll-body"):
            yield Static("", id="enroll-qr", markup=False)
            with VerticalScroll(id="enroll-side"):
                yield Static(f"[b]Enroll MFA for {escape(self.user)}[/b]", id="enroll-title")
                yield Static("", id="enroll-intro")
                yield Static("", id="enroll-seed")
                with Vertical(id="enroll-codes"):
                    with Horizontal(classes="mfa-row"):
                        yield Label("First code ", classes="mfa-label")
                        yield CodeInput(id="enroll-first")
                    with Horizontal(classes="mfa-row"):
                        yield Label("Next code  ", classes="mfa-label")
                        yield CodeInput(id="enroll-second")
                    yield NextCodeCountdown(self.services.clock, prefix="the app's next code in",
                                            id="enroll-countdown", classes="mfa-countdown")
                with Horizontal(id="enroll-name-row", classes="mfa-row hidden"):
                    yield Label("Device name ", classes="mfa-label")
                    yield Input(id="enroll-name", compact=True, restrict=r"[\w+=,.@-]*", max_length=64)
                yield Static("", id="enroll-outcome")
                yield Static("", id="enroll-keys")
        yield Footer()

    def on_mount(self) -> None:
        self._set_phase("creating")
        self._outcome(f"Creating a virtual MFA device for {escape(self.user)}…")
        self.create_device(None, None)

    def on_unmount(self) -> None:
        self._forget_secret(widgets=False)  # the widgets are gone already; what they showed went with them

    def _forget_secret(self, *, widgets: bool = True) -> None:
        """Drop every copy of the seed this screen holds: the device, the QR drawing, the revealed text."""
        self.device = None
        self._qr = None
        self.revealed = False
        self.stop_reveal_timer()
        if widgets:
            self.query_one("#enroll-qr", Static).update("")
            self.query_one("#enroll-seed", Static).update("")

    def on_resize(self, event: events.Resize) -> None:
        self._draw_qr()

    def _draw_qr(self) -> None:
        qr = self.query_one("#enroll-qr", Static)
        footer = self.query_one(Footer)
        if self._qr is None:
            qr.update("")
            qr.display = False
            footer.display = True
            return
        width, height = self.size
        layout = qr_layout(self._qr, max(0, width - SIDE_MIN_WIDTH), height)
        if layout is None:
            columns, rows = rendered_size(self._qr, quiet=1)
            qr.display = True
            qr.set_class(True, "-too-small")
            qr.update(f"The QR code needs {columns + SIDE_MIN_WIDTH}×{rows} characters; this terminal is "
                      f"{width}×{height}. Enlarge it, or type the secret into the app by hand (v shows it).")
            footer.display = True
            return
        quiet, with_footer = layout
        qr.set_class(False, "-too-small")
        qr.display = True
        qr.update("\n".join(render_half_blocks(self._qr, quiet=quiet, invert=True)))
        footer.display = with_footer

    def _set_phase(self, phase: str) -> None:
        self.phase = phase
        codes = phase in {"codes", "enabling"}
        self.query_one("#enroll-codes").display = codes
        for box in self.query(CodeInput):
            box.disabled = phase != "codes"
        self.query_one("#enroll-name-row").set_class(phase != "named", "hidden")
        keys = {
            "creating": "[b]esc[/b]    cancel",
            "codes": "[b]enter[/b]  next field, then enable\n[b]v[/b]      show/hide the secret\n"
                     "[b]esc[/b]    cancel (deletes the device)",
            "enabling": "enabling… (wait)",
            "enabled": "[b]esc[/b]    back to the users",
            "leftover": "[b]esc[/b]    back",
            "named": "[b]enter[/b]  create with this name\n[b]esc[/b]    back",
            "failed": "[b]esc[/b]    back",
            "cancelling": "deleting the device… (wait)",
        }[phase]
        self.query_one("#enroll-keys", Static).update(keys)
        self._show_seed()
        self.refresh_bindings()

    def _outcome(self, text: str, style: str = "") -> None:
        self._outcome_text = text
        outcome = self.query_one("#enroll-outcome", Static)
        outcome.update(text)
        outcome.set_classes(style)

    def _show_seed(self) -> None:
        seed = self.query_one("#enroll-seed", Static)
        if self.device is None or self.phase not in {"codes", "enabling"}:
            seed.update("")
            return
        shown = escape(grouped(self.device.seed.reveal())) if self.revealed else f"{SEED_MASK}  [dim](v shows it)[/dim]"
        seed.update(f"Secret for typing in by hand:\n[b]{shown}[/b]")

    # -- workers (no widget access: messages only) ---------------------------------------------------------

    def _mfa(self) -> MfaService:
        if self._service is None:
            self._service = self.services.mfa_service()
        return self._service

    @work(thread=True, exit_on_error=False, group="mfa-enroll")
    def create_device(self, name: str | None, delete_leftover: str | None) -> None:
        # A write: never exclusive (a cancelled create could leave a device nobody knows about).
        try:
            service = self._mfa()
            if delete_leftover:
                service.delete_leftover(delete_leftover)
            device = service.create_device(self.user, name)
        except LeftoverDeviceError as exc:
            self.post_message(MfaLeftoverFound(name or self.user, exc))
            return
        except KeytuiError as exc:
            self.post_message(MfaEnrollFailed(exc, "create"))
            return
        own_profile = own_serial = None
        try:
            identity = self.identity or self.services.identity()
            if identity.is_user and identity.name == self.user:
                own_profile = self.services.acting_profile
                own_serial = self.services.session_broker().values(own_profile).get("mfa_serial")
        except KeytuiError:
            own_profile = None  # only the offer to write mfa_serial is lost; `keytui mfa enroll` can still
        self.post_message(MfaDeviceCreated(device, own_profile, own_serial))

    @work(thread=True, exit_on_error=False, group="mfa-enroll")
    def enable_device(self, device: NewDevice, first: str, second: str) -> None:
        try:
            check = self._mfa().enable(device, first, second)
        except KeytuiError as exc:
            self.post_message(MfaEnrollFailed(exc, "enable"))
            return
        self.post_message(MfaEnabled(check))

    @work(thread=True, exit_on_error=False, group="mfa-enroll")
    def cancel_device(self, device: NewDevice) -> None:
        try:
            self._mfa().cancel(device)
        except KeytuiError as exc:
            self.post_message(MfaEnrollCancelled(device.serial, exc))
            return
        self.post_message(MfaEnrollCancelled(device.serial))

    @work(thread=True, exit_on_error=False, group="mfa-enroll")
    def write_serial(self, profile: str, serial: str) -> None:
        self.post_message(write_serial_in_worker(self.services, profile, serial))

    # -- results (event loop) ---------------------------------------------------------------------------------

    def on_mfa_device_created(self, message: MfaDeviceCreated) -> None:
        self.device = message.device
        self.own_profile, self.own_serial = message.own_profile, message.own_serial
        if self.phase == "cancelling":  # esc while AWS was creating it
            self.cancel_device(message.device)
            return
        self._qr = encode(message.device.uri().reveal(), ecc="L")
        self._draw_qr()
        more = (f" {escape(self.user)} already has MFA: this adds another device (AWS allows up to 8)."
                if self.has_mfa else "")
        self.query_one("#enroll-intro", Static).update(
            "Scan the QR code with an authenticator app, then type the code it shows and, once it changes, "
            f"the next one.{more}"
        )
        self._set_phase("codes")
        name = message.device.serial.rsplit("/", 1)[-1]
        self._outcome(f"Device '{escape(name)}' created; not enabled yet.", "")
        self.query_one("#enroll-first", CodeInput).focus()

    def on_mfa_leftover_found(self, message: MfaLeftoverFound) -> None:
        error = message.error
        if self.phase == "cancelling":
            self.dismiss(False)
            return
        if error.unassigned and error.serial:
            self._set_phase("leftover")
            self._outcome(escape(str(error)), "warning")
            serial = error.serial

            def answered(yes: bool | None) -> None:
                if yes and self.phase == "leftover":
                    self._set_phase("creating")
                    self._outcome(f"Deleting the leftover device {escape(serial)} and creating a new one…")
                    self.create_device(message.name if message.name != self.user else None, serial)
                elif self.phase == "leftover":
                    self._outcome(escape(str(error)) + "\nThe leftover device was not deleted; nothing changed.",
                                  "warning")

            self.app.push_screen(
                ConfirmModal(
                    f"Delete the leftover device {serial}?",
                    f"A virtual MFA device named '{message.name}' exists and is not assigned to anyone: an earlier "
                    f"enrollment was abandoned. keytui deletes it (it protects nobody) and creates a new one for "
                    f"{self.user}.",
                    "Delete and retry",
                ),
                answered,
            )
            return
        # In use: never deleted. Another name, then.
        self._set_phase("named")
        self._outcome(
            escape(f"A virtual MFA device named '{message.name}' already exists and is in use, so keytui will not "
                   "touch it. Type another name for the new device and press enter."),
            "warning",
        )
        box = self.query_one("#enroll-name", Input)
        box.value = f"{self.user}-2" if message.name == self.user else f"{message.name}-2"
        box.focus()

    def on_mfa_enroll_failed(self, message: MfaEnrollFailed) -> None:
        if message.stage == "create":
            if self.phase == "cancelling":
                self.dismiss(False)
                return
            self._set_phase("failed")
            self._outcome(f"✗ {escape(str(message.error))}\nNo device was created.", "error")
            return
        # enable: the device still exists, unassigned; the user types the codes again or leaves (deletes it).
        self._set_phase("codes")
        first, second = self.query_one("#enroll-first", CodeInput), self.query_one("#enroll-second", CodeInput)
        first.value = second.value = ""
        first.focus()
        self._outcome(f"✗ {escape(str(message.error))}", "error")

    def on_mfa_enabled(self, message: MfaEnabled) -> None:
        assert self.device is not None
        serial = self.device.serial
        # Enabled: the seed is of no further use here; drop it and the QR code now.
        self._forget_secret()
        self._draw_qr()
        self.query_one("#enroll-intro", Static).update("")
        self._set_phase("enabled")
        listed = "" if message.check.unconfirmed else " (AWS lists it)"
        text = f"✓ MFA enabled for {escape(self.user)}: {escape(serial)}{listed}."
        self.warning = message.check.warning
        if self.warning:
            text += f"\n⚠ {escape(self.warning)}"
        self._outcome(text, "warning" if self.warning else "ok")
        self._offer_profile(serial)

    def _offer_profile(self, serial: str) -> None:
        profile = self.own_profile
        if profile is None or self.own_serial == serial:
            return
        replacing = (f"It replaces mfa_serial = {self.own_serial}. " if self.own_serial else "")

        def answered(yes: bool | None) -> None:
            if yes:
                self.write_serial(profile, serial)
            else:
                self._append(f"Profile '{escape(profile)}' was not changed.")

        self.app.push_screen(
            ConfirmModal(
                f"Write mfa_serial into profile '{profile}'?",
                f"Profile '{profile}' acts as {self.user}. With mfa_serial = {serial} in it, `s` (or `keytui "
                f"session --profile {profile}`) gets MFA sessions for it. {replacing}Only that line of the AWS "
                "config file changes.",
                "Write it",
            ),
            answered,
        )

    def on_mfa_serial_written(self, message: MfaSerialWritten) -> None:
        if message.error is not None:
            self._append(f"✗ mfa_serial was not written: {escape(str(message.error))}")
            return
        self.own_serial = message.serial
        self._append(f"Profile '{escape(message.profile)}' now has mfa_serial = {escape(message.serial)}; "
                     "press s on the users screen for an MFA session.")

    def _append(self, text: str) -> None:
        self._outcome_text = f"{self._outcome_text}\n{text}"
        self.query_one("#enroll-outcome", Static).update(self._outcome_text)

    def on_mfa_enroll_cancelled(self, message: MfaEnrollCancelled) -> None:
        if message.error is None:
            self.app.notify(f"Enrollment cancelled: the new device {message.serial} was deleted.",
                            title="MFA not enabled")
        else:
            self.app.notify(
                f"Enrollment cancelled, but the new device {message.serial} could not be deleted: {message.error} "
                f"It is unassigned (protects nobody); m on {self.user} offers to delete it next time.",
                title="MFA not enabled", severity="warning", timeout=15,
            )
        self.dismiss(False)

    # -- input ---------------------------------------------------------------------------------------------------

    @on(Input.Submitted, "#enroll-first")
    def _first_submitted(self) -> None:
        self.set_focus(self.query_one("#enroll-second", CodeInput))

    @on(Input.Changed, "#enroll-first")
    def _first_changed(self, event: Input.Changed) -> None:
        if len(event.value) == 6 and self.focused is event.input:
            self.set_focus(self.query_one("#enroll-second", CodeInput))  # six digits: the next code goes below

    @on(Input.Submitted, "#enroll-second")
    def _second_submitted(self) -> None:
        if self.phase != "codes" or self.device is None:
            return
        first = self.query_one("#enroll-first", CodeInput).value
        second = self.query_one("#enroll-second", CodeInput).value
        try:
            # The same checks enable() makes first: said at once, and AWS is never called with a bad pair.
            check_enrollment_codes(self.device.seed, first, second, self.services.clock.now())
        except MfaCodeError as exc:
            self._outcome(f"✗ {escape(str(exc))}", "error")
            box = self.query_one("#enroll-second" if first else "#enroll-first", CodeInput)
            box.value = ""
            box.focus()
            return
        self._set_phase("enabling")
        self._outcome("The codes match the secret. Enabling the device…")
        self.enable_device(self.device, first, second)

    @on(Input.Submitted, "#enroll-name")
    def _name_submitted(self, event: Input.Submitted) -> None:
        name = event.value.strip()
        if self.phase != "named" or not name:
            return
        self._set_phase("creating")
        self._outcome(f"Creating a virtual MFA device '{escape(name)}' for {escape(self.user)}…")
        self.create_device(name, None)

    # -- actions ---------------------------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "reveal":
            return self.phase in {"codes", "enabling"} and self.device is not None
        # While AWS enables the device (or deletes it) there is nothing to undo: wait for the answer.
        if action == "cancel":
            return self.phase in {"creating", "codes"}
        if action == "back":
            return self.phase in {"enabled", "leftover", "named", "failed"}
        return True

    def show_secret(self) -> None:
        self._show_seed()

    def action_back(self) -> None:
        self.dismiss(self.phase == "enabled")

    def action_cancel(self) -> None:
        if self.phase == "codes" and self.device is not None:
            self._set_phase("cancelling")
            self._forget_qr_only()
            self._outcome(f"Cancelling: deleting the new device {escape(self.device.serial)}…")
            self.cancel_device(self.device)
        elif self.phase == "creating":
            # AWS is creating it right now: delete it as soon as it exists (on_mfa_device_created).
            self._set_phase("cancelling")
            self._outcome("Cancelling: the device is deleted as soon as AWS has created it…")

    def _forget_qr_only(self) -> None:
        self._qr = None
        self.revealed = False
        self._draw_qr()

    @property
    def pending(self) -> bool:
        """A device exists that is not enabled yet: leaving the app now would leave it behind."""
        return self.phase in {"creating", "codes", "enabling", "cancelling"}
