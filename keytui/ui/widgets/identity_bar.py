"""The header: who keytui is acting as, in which account, with credentials from where; DEMO badge; and the
acting profile's MFA session with its live countdown (computed from the services' clock every second, so an
expired session never shows a valid-looking countdown: F-09)."""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label

from keytui.core.clock import Clock, SystemClock
from keytui.core.models import CredentialSource, Identity
from keytui.ui.widgets.mfa import live_state
from keytui.vault.sessions import SessionState, format_duration


class IdentityBar(Horizontal):
    def __init__(self, profile: str, demo: bool, clock: Clock | None = None, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._profile = profile
        self._demo = demo
        self._clock = clock or SystemClock()
        self._session: SessionState | None = None

    # Below this width the header takes two lines (who / where from) instead of cutting text off.
    NARROW = 150

    def compose(self) -> ComposeResult:
        with Horizontal(id="identity-main"):
            yield Label("keytui", id="brand")
            if self._demo:
                yield Label(" DEMO ", id="demo-badge")
            yield Label(f"profile [b]{self._profile}[/b]", id="identity-profile")
            yield Label("account …", id="identity-account")
            yield Label("identity …", id="identity-who")
        with Horizontal(id="identity-creds"):
            yield Label("", id="identity-source")
            yield Label("", id="identity-session", classes="hidden")
            yield Label("", id="identity-keyring")

    def on_mount(self) -> None:
        self.set_interval(1.0, self._tick_session)

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.width < self.NARROW, "-narrow")

    def show(self, identity: Identity, source: CredentialSource) -> None:
        profile = source.profile or "(environment)"
        self.query_one("#identity-profile", Label).update(f"profile [b]{profile}[/b]")
        self.query_one("#identity-account", Label).update(f"account [b]{identity.account}[/b]")
        self.query_one("#identity-who", Label).update(f"as [b]{identity.name}[/b]")
        where = self.query_one("#identity-source", Label)
        where.update(f"via {source.short_label} {source.masked_key_id}")
        where.tooltip = source.label

    def show_keyring(self, label: str, kind: str) -> None:
        keyring = self.query_one("#identity-keyring", Label)
        keyring.update(f"keyring: {label}")
        keyring.set_class(kind in {"none", "insecure"}, "bad")

    def show_error(self, text: str) -> None:
        self.query_one("#identity-who", Label).update(f"identity unknown: {text}")

    def show_session(self, state: SessionState | None) -> None:
        """The acting profile's stored MFA session (None or no session: nothing is shown)."""
        self._session = state
        self._tick_session()

    def session_text(self) -> tuple[str, str]:
        """What the header says about the MFA session now, and its style class ('' when nothing is shown)."""
        state = self._session
        if state is None or state.session is None:
            return "", ""
        state = live_state(state, self._clock.now())
        if state.expired:
            return "MFA session expired", "-expired"
        if not state.valid:
            return f"MFA session · renew: {format_duration(state.seconds_left or 0)}", "-renew"
        return f"MFA session {format_duration(state.seconds_left or 0)}", "-valid"

    def _tick_session(self) -> None:
        label = self.query_one("#identity-session", Label)
        text, style = self.session_text()
        label.update(text)
        label.set_classes(style or "hidden")
