"""`s`: an MFA session for a profile, kept in the keyring.

The screen lists the profiles that have `mfa_serial` (the acting profile first) with their stored sessions.
For the chosen profile it plans the session *before* a code is typed — a malformed or foreign mfa_serial
(F-06) or a duration outside AWS's limits (F-10) is said before any code is spent — then spends the code in
a worker (`Services.open_session`). A refused code is said and typed again (F-05); a serial AWS cannot match
lists the user's real devices and offers to write one into the profile, after a confirmation (F-06). The
session then shows with its live countdown, from the services' clock (F-09: an expired one never looks
valid). A session for another profile than the acting one comes with the offer to switch keytui to it.

Dismissed with a profile name when keytui should switch to it, None otherwise.
"""

from __future__ import annotations

from datetime import timezone

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.markup import escape
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from keytui.core.errors import KeytuiError
from keytui.core.mfa import MfaCodeError, check_code
from keytui.core.sessions import MfaSerialError, SessionPlan
from keytui.services import Services
from keytui.ui.messages import (
    MfaSerialWritten,
    SessionDevicesListed,
    SessionFailed,
    SessionOpened,
    SessionPlanned,
    SessionProfilesLoaded,
)
from keytui.ui.screens.confirm import ConfirmModal
from keytui.ui.screens.mfa_code import DEMO_CODES, write_serial_in_worker
from keytui.ui.widgets.mfa import CodeInput, DigitsInput, NextCodeCountdown, live_state
from keytui.vault.sessions import SessionState, format_duration

# How long after the last keystroke in the duration field it is checked again (a plan reads the keyring).
REPLAN_DELAY = 0.4


def state_line(state: SessionState | None, now: object) -> tuple[str, str]:
    """The stored session of a profile in words, for `now`, and a style class (ok | warning | error | '')."""
    if state is None or state.session is None:
        return "no MFA session", ""
    state = live_state(state, now)  # type: ignore[arg-type]
    expires = f"{state.session.expiration.astimezone(timezone.utc):%Y-%m-%d %H:%M:%S} UTC"  # type: ignore[union-attr]
    if state.expired:
        return f"MFA session expired (at {expires}): type a code for a new one", "error"
    if not state.valid:
        return (f"MFA session ends in {format_duration(state.seconds_left or 0)} (inside the "
                f"{state.margin // 60} min renewal margin: renew it), expires {expires}", "warning")
    return f"MFA session valid: ends in {format_duration(state.seconds_left or 0)} (expires {expires})", "ok"


class SessionScreen(Screen["str | None"]):
    BINDINGS = [
        Binding("escape", "close", "Back", id="session.close"),
    ]

    def __init__(self, services: Services) -> None:
        super().__init__()
        self.services = services
        self.acting = services.acting_profile
        self.states: dict[str, SessionState] = {}
        self.profile: str | None = None  # the profile the code is for
        self.plan: SessionPlan | None = None
        self.plan_error: KeytuiError | None = None
        self._source: object = None
        self._phase = "loading"
        self._replan: Timer | None = None
        self._outcome_text = ""
        self._keep_outcome = False

    @property
    def phase(self) -> str:
        """loading | choose | planning | code | opening | opened | none"""
        return self._phase

    @phase.setter
    def phase(self, phase: str) -> None:
        self._phase = phase
        if self.is_mounted:
            self.refresh_bindings()  # esc is unavailable while a code is being spent

    def compose(self) -> ComposeResult:
        yield Static(f"[b]MFA session[/b]   acting profile '{escape(self.acting)}'", id="session-title")
        with VerticalScroll(id="session-body"):
            yield Static("Reading the profiles…", id="session-intro")
            yield OptionList(id="session-profiles")
            yield Static("", id="session-state")
            with Horizontal(id="session-duration-row", classes="mfa-row hidden"):
                yield Label("Duration (s) ", classes="mfa-label")
                yield DigitsInput(id="session-duration", max_length=6, placeholder="default")
                yield Static("empty: the default", classes="mfa-note")
            yield Static("", id="session-plan", classes="hidden")
            with Horizontal(id="session-code-row", classes="mfa-row hidden"):
                yield Label("MFA code     ", classes="mfa-label")
                yield CodeInput(id="session-code")
                yield NextCodeCountdown(self.services.clock, id="session-countdown", classes="mfa-countdown")
            yield Static("", id="session-outcome")
            yield OptionList(id="session-devices", classes="hidden")
            yield Static("", id="session-keys")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#session-profiles", OptionList).display = False
        self.set_interval(1.0, self._tick)
        self.load_profiles()

    # -- workers ----------------------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="session-profiles")
    def load_profiles(self) -> None:
        try:
            broker = self.services.session_broker()
            names = [self.acting] + [p for p in self.services.available_profiles if p != self.acting]
            states = {}
            for name in names:
                if broker.values(name).get("mfa_serial"):
                    states[name] = broker.state(name)
        except KeytuiError as exc:
            self.post_message(SessionProfilesLoaded({}, exc))
            return
        self.post_message(SessionProfilesLoaded(states))

    @work(thread=True, exclusive=True, exit_on_error=False, group="session-plan")
    def make_plan(self, profile: str, duration: int | None) -> None:
        try:
            plan, source = self.services.session_broker().plan(profile, duration)
        except KeytuiError as exc:
            self.post_message(SessionPlanned(profile, duration, error=exc))
            return
        self.post_message(SessionPlanned(profile, duration, plan, source))

    @work(thread=True, exit_on_error=False, group="session-open")
    def open_session(self, profile: str, code: str, duration: int | None) -> None:
        # A write that spends a code: never exclusive, never cancelled half way.
        try:
            self.services.open_session(code, duration, profile)
            state = self.services.session_broker().state(profile)
        except KeytuiError as exc:
            self.post_message(SessionFailed(profile, exc))
            return
        self.post_message(SessionOpened(profile, state))

    @work(thread=True, exclusive=True, exit_on_error=False, group="session-devices")
    def list_devices(self, profile: str, source: object) -> None:
        try:
            devices = self.services.session_broker().user_devices(source, profile)  # type: ignore[arg-type]
        except KeytuiError as exc:
            self.post_message(SessionDevicesListed(profile, (), exc))
            return
        self.post_message(SessionDevicesListed(profile, devices))

    @work(thread=True, exit_on_error=False, group="session-write")
    def write_serial(self, profile: str, serial: str) -> None:
        self.post_message(write_serial_in_worker(self.services, profile, serial))

    # -- results ----------------------------------------------------------------------------------------------

    def on_session_profiles_loaded(self, message: SessionProfilesLoaded) -> None:
        intro = self.query_one("#session-intro", Static)
        if message.error is not None:
            self.phase = "none"
            intro.update(f"✗ {escape(str(message.error))}")
            intro.set_classes("error")
            self._keys("[b]esc[/b] back")
            return
        self.states = dict(message.states)
        lines = []
        if self.acting not in self.states:
            lines.append(
                f"Profile '{escape(self.acting)}' (the one keytui acts as) has no mfa_serial, so it cannot get an MFA "
                "session. To add one: select your user on the users screen and press [b]m[/b] to enroll a device "
                "(keytui offers to write mfa_serial into the profile), or add "
                f"[b]mfa_serial = arn:aws:iam::ACCOUNT:mfa/NAME[/b] to \\[profile {escape(self.acting)}] yourself."
            )
        if self.services.demo:
            lines.append(DEMO_CODES)
        if self.states:
            lines.append("Profiles with mfa_serial — pick one (enter):" if self.acting not in self.states
                         else "Profiles with mfa_serial (enter picks another):")
        else:
            lines.append("No profile has mfa_serial yet.")
        intro.update("\n".join(lines))
        if not self.states:
            self.phase = "none"
            self._keys("[b]esc[/b] back")
            return
        profiles = self.query_one("#session-profiles", OptionList)
        profiles.clear_options()
        profiles.add_options([Option(self._profile_label(name), id=name) for name in self.states])
        profiles.display = True
        if self.acting in self.states:
            profiles.highlighted = 0
            self._choose(self.acting)
        else:
            self.phase = "choose"
            profiles.highlighted = 0
            profiles.focus()
            self._keys("[b]enter[/b] pick the profile   [b]esc[/b] back")

    def _profile_label(self, name: str) -> str:
        state = live_state(self.states[name], self.services.clock.now())
        if state.session is None:
            session = "no session"
        elif state.expired:
            session = "session expired"
        else:
            session = f"session {format_duration(state.seconds_left or 0)} left" + ("" if state.valid else ", renew")
        acting = " (acting)" if name == self.acting else ""
        device = (state.mfa_serial or "?").split(":")[-1]
        return f"{name}{acting}  ·  {device}  ·  {session}"

    def on_session_planned(self, message: SessionPlanned) -> None:
        if message.profile != self.profile:
            return  # an answer for a profile no longer chosen
        plan_text = self.query_one("#session-plan", Static)
        if message.error is not None:
            self.plan, self.plan_error = None, message.error
            plan_text.update("")
            plan_text.add_class("hidden")
            self._outcome(f"✗ {escape(str(message.error))}", "error")
            if isinstance(message.error, MfaSerialError):
                self._keys("[b]esc[/b] back   fix mfa_serial in the profile, then press s again")
            else:
                self._keys("[b]esc[/b] back")
            self.phase = "code"  # the duration can be corrected; the code waits for a good plan
            self._show_rows()
            return
        plan: SessionPlan = message.plan  # type: ignore[assignment]
        self.plan, self.plan_error, self._source = plan, None, message.source
        what = f"{plan.operation} of {plan.role_arn}" if plan.is_role else plan.operation
        chained = " (chained: at most 1 h)" if plan.chained else ""
        plan_text.update(escape(f"{format_duration(plan.duration)} ({plan.duration} s){chained} · {what} · "
                                f"device {plan.mfa_serial}"))
        plan_text.remove_class("hidden")
        box = self.query_one("#session-duration", Input)
        box.placeholder = str(plan.duration) if message.duration is None else box.placeholder
        if self.phase in {"planning", "code"}:
            self.phase = "code"
            self._show_rows()
            if not self._keep_outcome:
                self._outcome("", "")
            self._keep_outcome = False
            current = self.states.get(message.profile)
            get = ("a new session (replaces the stored one)" if current and current.session is not None
                   else "the session")
            self._keys(f"[b]enter[/b] get {get}; spends the code   [b]tab[/b] duration   [b]esc[/b] back")
            if not isinstance(self.focused, Input):
                self.query_one("#session-code", CodeInput).focus()

    def on_session_failed(self, message: SessionFailed) -> None:
        self.phase = "code"
        self._show_rows()
        code = self.query_one("#session-code", CodeInput)
        code.value = ""
        code.focus()
        error = message.error
        if isinstance(error, MfaCodeError):
            self._outcome(f"✗ {escape(str(error))}", "error")  # F-05: type the next code
            return
        if isinstance(error, MfaSerialError):
            self._outcome(f"✗ {escape(str(error))}\nListing the user's MFA devices…", "error")
            if self._source is not None:
                self.list_devices(message.profile, self._source)
            return
        self._outcome(f"✗ {escape(str(error))}", "error")

    def on_session_devices_listed(self, message: SessionDevicesListed) -> None:
        devices = self.query_one("#session-devices", OptionList)
        devices.clear_options()
        base = self._outcome_text.rsplit("\nListing", 1)[0]
        if message.error is not None:
            self._outcome(f"{base}\nkeytui could not list the user's devices either: {escape(str(message.error))}",
                          "error")
            return
        if not message.devices:
            self._outcome(f"{base}\nThe user has no MFA device: enroll one with [b]m[/b] on the users screen.", "error")
            return
        self._outcome(f"{base}\nThe user's MFA devices are below: enter on one offers to write it into profile "
                      f"'{escape(message.profile)}' as mfa_serial (asks first).", "error")
        devices.add_options([Option(serial, id=serial) for serial in message.devices])
        devices.remove_class("hidden")
        devices.highlighted = 0
        devices.focus()

    def on_session_opened(self, message: SessionOpened) -> None:
        self.phase = "opened"
        self.states[message.profile] = message.state
        self._refresh_profile_labels()
        vault = self.services.vault
        where = vault.info.label if vault else "the keyring"
        self.query_one("#session-code", CodeInput).value = ""
        self.query_one("#session-code-row").add_class("hidden")
        self.query_one("#session-duration-row").add_class("hidden")
        self.query_one("#session-plan").add_class("hidden")
        text = f"✓ MFA session for profile '{escape(message.profile)}' stored in the keyring ({escape(where)})."
        if message.profile == self.acting:
            text += " keytui acts with it from now on."
        self._outcome(text, "ok")
        self._tick()
        self.query_one("#session-profiles", OptionList).focus()
        again = "[b]enter[/b] a new session for the highlighted profile   "
        if message.profile != self.acting:
            self._keys(again + "[b]esc[/b] back")
            self._offer_switch(message.profile)
        else:
            self._keys(again + "[b]esc[/b] back to the users")

    def _offer_switch(self, profile: str) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                self.dismiss(profile)

        self.app.push_screen(
            ConfirmModal(
                f"Switch keytui to profile '{profile}'?",
                f"keytui acts as profile '{self.acting}' now. Switched, it acts as '{profile}' with this MFA session "
                f"(IAM calls that need MFA then work), until it is started with another profile. The session stays "
                f"in the keyring either way.",
                "Switch",
                classes="-low",
            ),
            answered,
        )

    def on_mfa_serial_written(self, message: MfaSerialWritten) -> None:
        if message.error is not None:
            self._outcome(f"✗ mfa_serial was not written: {escape(str(message.error))}", "error")
            return
        self.query_one("#session-devices", OptionList).add_class("hidden")
        self._outcome(f"Profile '{escape(message.profile)}' now has mfa_serial = {escape(message.serial)}. Type the "
                      "next code.", "ok")
        if message.profile in self.states:
            self.states[message.profile] = SessionState(
                message.profile, self.states[message.profile].session, self.states[message.profile].seconds_left,
                self.states[message.profile].margin, message.serial)
            self._refresh_profile_labels()
        self._choose(message.profile, keep_outcome=True)

    # -- display --------------------------------------------------------------------------------------------

    def _tick(self) -> None:
        if self.profile is None:
            return
        text, style = state_line(self.states.get(self.profile), self.services.clock.now())
        state = self.query_one("#session-state", Static)
        state.update(f"Profile '{escape(self.profile)}': {escape(text)}")
        state.set_classes(style)
        self._refresh_profile_labels()

    def _refresh_profile_labels(self) -> None:
        profiles = self.query_one("#session-profiles", OptionList)
        for index, name in enumerate(self.states):
            if index < profiles.option_count:
                profiles.replace_option_prompt_at_index(index, self._profile_label(name))

    def _show_rows(self) -> None:
        show = self.phase in {"code", "opening"}
        self.query_one("#session-duration-row").set_class(not show, "hidden")
        self.query_one("#session-code-row").set_class(not show, "hidden")
        self.query_one("#session-code", CodeInput).disabled = self.phase == "opening"
        self.query_one("#session-plan").set_class(not show or self.plan is None, "hidden")

    def _outcome(self, text: str, style: str) -> None:
        self._outcome_text = text
        outcome = self.query_one("#session-outcome", Static)
        outcome.update(text)
        outcome.set_classes(style)

    def _keys(self, text: str) -> None:
        self.query_one("#session-keys", Static).update(text)

    def _choose(self, profile: str, *, keep_outcome: bool = False) -> None:
        self.profile = profile
        self.plan = None
        self.phase = "planning"
        self.query_one("#session-devices", OptionList).add_class("hidden")
        self._keep_outcome = keep_outcome
        if not keep_outcome:
            self._outcome(f"Checking profile '{escape(profile)}' (mfa_serial, duration)…", "")
        self._tick()
        self.make_plan(profile, self._duration())

    def _duration(self) -> int | None:
        text = self.query_one("#session-duration", Input).value.strip()
        return int(text) if text else None

    # -- input ----------------------------------------------------------------------------------------------

    @on(OptionList.OptionSelected, "#session-profiles")
    def _profile_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id and self.phase != "opening":
            self.query_one("#session-duration", Input).value = ""
            self._choose(event.option.id)

    @on(OptionList.OptionSelected, "#session-devices")
    def _device_selected(self, event: OptionList.OptionSelected) -> None:
        serial, profile = event.option.id, self.profile
        if not serial or profile is None:
            return
        current = self.states.get(profile)
        was = f" (now: {current.mfa_serial})" if current and current.mfa_serial else ""

        def answered(yes: bool | None) -> None:
            if yes:
                self.write_serial(profile, serial)

        self.app.push_screen(
            ConfirmModal(
                f"Write mfa_serial = {serial} into profile '{profile}'?",
                f"AWS could not match the profile's mfa_serial{was} to its user. {serial} is one of that user's "
                "devices. Only the mfa_serial line of the AWS config file changes.",
                "Write it",
            ),
            answered,
        )

    @on(Input.Changed, "#session-duration")
    def _duration_changed(self) -> None:
        if self._replan is not None:
            self._replan.stop()
        self._replan = self.set_timer(REPLAN_DELAY, self._replan_now)

    def _replan_now(self) -> None:
        self._replan = None
        if self.profile is not None and self.phase in {"code", "planning"}:
            self.make_plan(self.profile, self._duration())

    @on(Input.Submitted, "#session-duration")
    def _duration_submitted(self) -> None:
        self.query_one("#session-code", CodeInput).focus()

    @on(Input.Submitted, "#session-code")
    def _code_submitted(self, event: Input.Submitted) -> None:
        if self.phase != "code" or self.profile is None:
            return
        if self.plan_error is not None:
            self._outcome(f"✗ {escape(str(self.plan_error))}\nNo code was spent.", "error")
            return
        try:
            code = check_code(event.value)  # F-05: said at once, nothing sent
        except MfaCodeError as exc:
            self._outcome(f"✗ {escape(str(exc))}", "error")
            event.input.value = ""
            return
        self.phase = "opening"
        self._show_rows()
        self._outcome(f"Asking AWS for an MFA session for profile '{escape(self.profile)}'…", "")
        self.open_session(self.profile, code, self._duration())

    # -- actions --------------------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "close":
            return self.phase != "opening"  # the code is being spent: wait for AWS's answer
        return True

    def action_close(self) -> None:
        self.dismiss(None)
