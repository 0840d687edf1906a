"""The new access key of another user, shown once during a rotation: masked until `v`, copied with `c`,
and confirmed with `s` ("stored it"). keytui keeps no copy; dismissing without `s` deletes the new key.

Or `k`: keytui keeps the key itself, under a new keytui profile (keyring + credential_process) named here;
the rotation's store step then writes it, reads it back, and deletes the new key if that fails."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.markup import escape
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Button, Input, Static

from keytui.core.awsfiles import check_profile_name
from keytui.core.errors import KeytuiError
from keytui.core.masking import mask_key_id
from keytui.core.models import LongTermKey
from keytui.core.rotation import StoreAs
from keytui.ui.reveal import TimedReveal
from keytui.ui.screens.confirm import ConfirmModal

MASK = "•" * 40
# A reveal is temporary (DESIGN: secrets masked by default, a reveal explicit and temporary).


class NewSecretModal(TimedReveal, ModalScreen["bool | StoreAs"]):
    """Dismissed with True when the user says the key is stored, False when they discard it, StoreAs(name)
    when keytui is to keep it under a new keytui profile.

    `existing_profiles`: the profile names in use (a new profile needs a new name; the store step checks
    again). `store_unavailable`: why keytui cannot keep the key (no usable keyring), or None."""

    BINDINGS = [
        Binding("v", "reveal", "Reveal/hide", id="secret.reveal"),
        Binding("c", "copy_secret", "Copy secret", id="secret.copy"),
        Binding("i", "copy_key_id", "Copy key id", id="secret.copy-id"),
        Binding("s", "stored", "Stored it", id="secret.stored"),
        Binding("k", "store_as", "Store as keytui profile", id="secret.store-as"),
        Binding("escape", "discard", "Discard", id="secret.discard"),
    ]

    def __init__(self, user: str, key: LongTermKey, old_key_id: str, *, existing_profiles: frozenset[str] = frozenset(),
                 store_unavailable: str | None = None, classes: str | None = None) -> None:
        super().__init__(classes=classes)
        self._user = user
        self._key = key
        self._old_key_id = old_key_id
        self._existing = existing_profiles
        self._store_unavailable = store_unavailable
        self.revealed = False
        self._hide_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="secret-box"):
            yield Static(f"[b]New access key of {escape(self._user)} — shown once[/b]", id="secret-title")
            yield Static(
                f"keytui keeps no copy of this secret. Store it now where {escape(self._user)}'s old key "
                f"{mask_key_id(self._old_key_id)} is used (a password manager, the application's secret store), "
                "then press [b]s[/b]. Or press [b]k[/b] to have keytui keep it instead, as a new keytui profile (in the "
                "keyring, used through credential_process). Discarding deletes the new key; the old one stays as it is.",
                id="secret-help",
            )
            yield Static(f"Access key id      [b]{self._key.access_key_id}[/b]", id="secret-key-id")
            yield Static("", id="secret-value")
            with Vertical(id="secret-store", classes="hidden"):
                yield Static("Name of the new keytui profile (enter stores it; esc goes back):",
                             id="secret-store-label")
                # Disabled (not focusable) until k: the modal's keys must not type into it.
                yield Input(placeholder=f"e.g. {self._user}", id="secret-profile", disabled=True)
                yield Static("", id="secret-store-error")
            with Horizontal(id="secret-buttons"):
                yield Button("Reveal (v)", id="secret-reveal")
                yield Button("Copy (c)", id="secret-copy")
                yield Button("Store as profile… (k)", id="secret-store-as")
                yield Button("I stored it (s)", variant="success", id="secret-stored")
                yield Button("Discard (esc)", variant="error", id="secret-discard")

    def on_mount(self) -> None:
        self._show()

    def _show(self) -> None:
        shown = escape(self._key.secret.reveal()) if self.revealed else f"{MASK}  [dim](v reveals)[/dim]"
        self.query_one("#secret-value", Static).update(f"Secret access key  [b]{shown}[/b]")
        self.query_one("#secret-reveal", Button).label = "Hide (v)" if self.revealed else "Reveal (v)"

    def show_secret(self) -> None:
        self._show()

    def action_copy_secret(self) -> None:
        self.app.copy_to_clipboard(self._key.secret.reveal())
        self.notify("The secret access key is on the clipboard; clear it once it is stored.", title="Copied")

    def action_copy_key_id(self) -> None:
        self.app.copy_to_clipboard(self._key.access_key_id)
        self.notify("The access key id is on the clipboard.", title="Copied")

    def action_stored(self) -> None:
        self.dismiss(True)

    def action_store_as(self) -> None:
        box = self.query_one("#secret-store")
        if self._store_unavailable:
            box.remove_class("hidden")
            self.query_one("#secret-profile", Input).display = False
            self._store_error(f"keytui cannot keep the key: {self._store_unavailable}")
            return
        box.remove_class("hidden")
        name = self.query_one("#secret-profile", Input)
        name.disabled = False
        name.focus()

    def _store_error(self, text: str) -> None:
        self.query_one("#secret-store-error", Static).update(f"[$error]{escape(text)}[/]")

    @on(Input.Submitted, "#secret-profile")
    def _profile_named(self, event: Input.Submitted) -> None:
        name = event.value.strip()
        try:
            check_profile_name(name)
        except KeytuiError as exc:
            self._store_error(exc.message)
            return
        if name in self._existing:
            self._store_error(f"Profile '{name}' already exists; choose a new name (keytui does not overwrite a "
                              "profile).")
            return
        self.dismiss(StoreAs(name))

    def action_discard(self) -> None:
        box = self.query_one("#secret-store")
        if not box.has_class("hidden"):
            box.add_class("hidden")  # esc leaves the name prompt first
            self.query_one("#secret-profile", Input).disabled = True
            self._store_error("")
            self.query_one("#secret-store-as", Button).focus()
            return

        def answered(sure: bool | None) -> None:
            if sure:
                self.dismiss(False)

        self.app.push_screen(
            ConfirmModal(
                "Discard the new key?",
                f"keytui deletes the new key {mask_key_id(self._key.access_key_id)} (nobody would hold its secret). "
                f"The old key {mask_key_id(self._old_key_id)} stays active; nothing else changes.",
                "Discard",
            ),
            answered,
        )

    def on_button_pressed(self, event: Button.Pressed) -> None:
        actions = {
            "secret-reveal": self.action_reveal,
            "secret-copy": self.action_copy_secret,
            "secret-stored": self.action_stored,
            "secret-store-as": self.action_store_as,
            "secret-discard": self.action_discard,
        }
        actions[event.button.id or ""]()

    def on_unmount(self) -> None:
        self.stop_reveal_timer()
