"""The header: who keytui is acting as, in which account, with credentials from where; DEMO badge."""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label

from keytui.core.models import CredentialSource, Identity


class IdentityBar(Horizontal):
    def __init__(self, profile: str, demo: bool, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._profile = profile
        self._demo = demo

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
            yield Label("", id="identity-keyring")

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
