"""The main screen: identity header, users table, the selected user's keys, filter and status line.

Loading runs in one exclusive thread worker; its results arrive as messages (ui/messages.py) and are
applied here on the event loop.
"""

from __future__ import annotations

import time

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.markup import escape
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static
from textual.worker import get_current_worker

from keytui.core.errors import KeytuiError, NoCredentialsError
from keytui.core.masking import mask_key_id
from keytui.core.models import CredentialSource, IamUser, Identity, Inventory
from keytui.core.rotation import Journal
from keytui.services import Services
from keytui.ui.cells import Cell
from keytui.ui.messages import (
    CredentialsMissing,
    IdentityLoaded,
    InventoryLoaded,
    InventoryProgressed,
    InactiveKeyDeleted,
    LoadFailed,
    OpenRotationsFound,
    ProfileChangeRequested,
    SessionStateLoaded,
)
from keytui.ui.screens import delete_key
from keytui.ui.screens.mfa_code import mfa_prompt
from keytui.ui.screens.rotation import RotationScreen, RotationTarget, journal_target
from keytui.ui.widgets.identity_bar import IdentityBar
from keytui.ui.widgets.keys_panel import KeysPanel
from keytui.ui.widgets.users_table import COLUMNS, UsersTable

# Keys of the workflows of later issues. They are bound (so the ids exist and can be remapped) but
# disabled, and listed as reserved in the help, so nobody assigns them to something else meanwhile.
RESERVED: tuple[Binding, ...] = ()
RESERVED_ACTIONS = {binding.action for binding in RESERVED}


class MainScreen(Screen[None]):
    BINDINGS = [
        Binding("slash", "filter", "Filter", id="users.filter"),
        Binding("ctrl+r", "refresh", "Refresh", id="users.refresh"),
        Binding("o", "sort_next", "Sort", id="users.sort"),
        Binding("O", "sort_reverse", "Reverse sort", show=False, id="users.sort-reverse"),
        Binding("escape", "escape", "Back", show=False, id="users.back"),
        Binding("p", "profiles", "Profiles", id="profiles.open"),
        Binding("r", "rotate", "Rotate key", id="keys.rotate"),
        # Short descriptions: the footer is full at 120 columns. The help lists them with their ids.
        Binding("m", "mfa", "Enroll MFA", id="mfa.enroll", tooltip="Enroll a virtual MFA device for the selected user"),
        Binding("s", "session", "Session", id="session.get-token",
                tooltip="An MFA session for a profile, kept in the keyring"),
        Binding("d", "delete_inactive", "Delete inactive key", show=False, id="keys.delete_inactive"),
        Binding("a", "audit", "Audit", id="audit.open"),
        *RESERVED,
    ]

    def __init__(self, services: Services) -> None:
        super().__init__()
        self.services = services
        self.inventory: Inventory | None = None
        self.identity: Identity | None = None
        self.source: CredentialSource | None = None
        # user -> the journal of a rotation of theirs that did not finish (read by load_all).
        self.open_rotations: dict[str, Journal] = {}
        self.holders: dict[str, tuple[str, ...]] = {}
        self._filter = ""
        self._render_pending = False
        self._last_render = 0.0
        # name -> (the IamUser rendered, its cells): snapshots reuse unchanged IamUser objects, so only
        # users that changed are formatted again.
        self._cells: dict[str, tuple[IamUser, list[Cell]]] = {}

    def compose(self) -> ComposeResult:
        yield IdentityBar(self.services.profile_label, self.services.demo, self.services.clock, id="identity")
        yield Static("", id="warnings", classes="hidden")
        yield Static("", id="rotations-banner", classes="hidden")
        yield Input(placeholder="filter users by name or path  (esc clears)", id="filter", classes="hidden")
        with Vertical(id="body"):
            yield UsersTable(id="users")
            yield KeysPanel(id="keys-panel")
        yield Static("starting…", id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(UsersTable).focus()
        vault = self.services.vault
        if vault is not None:
            self.query_one(IdentityBar).show_keyring(vault.info.label, vault.info.kind)
        self.load_all()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in RESERVED_ACTIONS:
            return None  # shown as disabled: reserved, not yet available
        if action == "mfa":
            return True if self._selected_user() is not None else None
        if action == "rotate":
            # Shown but disabled until there is a user (and so a key) to rotate, and an identity to tell
            # the profile's own user from the others.
            return True if self._selected_user() is not None and self.identity is not None else None
        return True

    # -- loading (worker thread: no widget access, only messages) ---------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="load")
    def load_all(self) -> None:
        worker = get_current_worker()
        self._read_open_rotations()
        self._read_session_state()
        try:
            source = self.services.credential_source()
            identity = self.services.identity()
            holders = self.services.key_holders()
            self.post_message(IdentityLoaded(identity, source, holders))
            inventory = self.services.load_inventory(
                on_progress=lambda progress: self.post_message(InventoryProgressed(progress)),
                cancelled=lambda: worker.is_cancelled,
            )
        except NoCredentialsError as exc:
            self.post_message(CredentialsMissing(exc))
            return
        except KeytuiError as exc:
            if self.services.drop_expired_session(exc):
                # F-09: AWS says the stored session expired although it looked valid here. It is deleted from
                # the keyring (never shown or used again); the header stops counting down.
                self._read_session_state()
                exc = KeytuiError(
                    f"AWS says the stored MFA session has expired ({exc.code}); keytui deleted it from the keyring. "
                    "Press s for a new session, or ctrl+r to load with the profile's own key.",
                    code=exc.code,
                )
            self.post_message(LoadFailed(exc))
            return
        if not worker.is_cancelled:
            self.post_message(InventoryLoaded(inventory))

    def _read_session_state(self) -> None:
        """Worker thread: the acting profile's MFA session for the header (a keyring read). A keyring that
        cannot be read shows no session; the header says why elsewhere, and `s` says it in full."""
        try:
            state = self.services.session_state()
        except KeytuiError as exc:
            self.post_message(SessionStateLoaded(None, exc))
            return
        self.post_message(SessionStateLoaded(state))

    def _read_open_rotations(self) -> None:
        """Worker thread: the journals are files. An unreadable folder is said, not shown as 'none'."""
        try:
            journals = tuple(self.services.journals.open_journals())
        except (OSError, KeytuiError) as exc:
            self.post_message(OpenRotationsFound((), error=str(exc)))
            return
        self.post_message(OpenRotationsFound(journals))

    # -- results (event loop) ------------------------------------------------------------------------

    def on_open_rotations_found(self, message: OpenRotationsFound) -> None:
        self.open_rotations = {journal.user: journal for journal in message.journals}
        lines = [
            f"⚠ Interrupted rotation of {journal.user} (old key {mask_key_id(journal.old_key_id)}): "
            f"{journal.describe()} Select {journal.user} and press r to resume or roll it back."
            for journal in message.journals
        ]
        if message.error:
            lines.append(f"⚠ The rotation journals could not be read ({message.error}); an interrupted rotation "
                         "may not be shown.")
        banner = self.query_one("#rotations-banner", Static)
        banner.update(escape("\n".join(lines)))
        banner.set_class(not lines, "hidden")

    def on_session_state_loaded(self, message: SessionStateLoaded) -> None:
        self.query_one(IdentityBar).show_session(message.state)

    def on_identity_loaded(self, message: IdentityLoaded) -> None:
        self.identity = message.identity
        self.source = message.source
        self.refresh_bindings()
        self.query_one(IdentityBar).show(message.identity, message.source)
        self.holders = message.holders
        notes = list(message.source.warnings)
        vault = self.services.vault
        if vault is not None and vault.info.kind == "none":
            notes.append(
                f"No usable keyring ({vault.info.name}): keytui can show keys but will not store secrets. "
                "Run `keytui vault doctor` to fix it."
            )
        elif vault is not None and vault.info.kind == "insecure" and not vault.allow_insecure:
            notes.append(
                f"The keyring backend {vault.info.name} stores secrets in a readable file; keytui will not use it "
                "unless you opt in. Run `keytui vault doctor`."
            )
        warnings = self.query_one("#warnings", Static)
        warnings.update("\n".join(f"⚠ {note}" for note in notes))
        warnings.set_class(not notes, "hidden")
        self._status("listing users and reading the credential report…")

    def on_inventory_progressed(self, message: InventoryProgressed) -> None:
        # Progress arrives ~10 times a second; rendering at most every 0.25 s keeps the event loop free
        # for keys (a big account's render would otherwise queue behind the next message).
        self.inventory = message.progress.inventory
        self._status(message.progress.text + "…")
        if self._render_pending:
            return
        wait = self._last_render + 0.25 - time.monotonic()
        if wait <= 0:
            self._render_users()  # the first rows appear at once
        else:
            self._render_pending = True
            self.set_timer(wait, self._render_progress)

    def _render_progress(self) -> None:
        self._render_pending = False
        self._render_users()

    def on_inventory_loaded(self, message: InventoryLoaded) -> None:
        inventory = message.inventory
        self._show_inventory(inventory)
        unknown = inventory.unknown_users
        if unknown:
            names = ", ".join(f"{u.name} {u.keys_unknown_reason()}" for u in unknown[:3])
            self.notify(
                f"The keys of {len(unknown)} user(s) could not be read ({names}). They are marked unknown; "
                "nothing is concluded about them.",
                title="Incomplete inventory",
                severity="warning",
                timeout=10,
            )
        self._status_summary()

    def on_load_failed(self, message: LoadFailed) -> None:
        self.notify(str(message.error), title="Could not load the account", severity="error", timeout=15)
        # Only when the identity itself could not be read: a denied ListUsers says nothing about who we are.
        if self.identity is None:
            self.query_one(IdentityBar).show_error(message.error.code or "error")
        self._status(f"load failed ({message.error.code or 'error'}); ctrl+r retries")

    # -- display ---------------------------------------------------------------------------------------

    def _show_inventory(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self._render_users()

    def _visible_users(self) -> list[IamUser]:
        users = self.inventory.users if self.inventory else ()
        needle = self._filter.lower()
        if not needle:
            return list(users)
        return [u for u in users if needle in u.name.lower() or needle in u.path.lower()]

    def _render_users(self) -> None:
        table = self.query_one(UsersTable)
        now, thresholds = self.services.clock.now(), self.services.settings.thresholds
        style = self.app.level_style  # type: ignore[attr-defined]
        rows = []
        for user in self._visible_users():
            cached = self._cells.get(user.name)
            if cached is None or cached[0] is not user:
                cached = (user, table.row_cells(user, now, thresholds, style))
                self._cells[user.name] = cached
            rows.append((user.name, cached[1]))
        table.show(rows)
        self._last_render = time.monotonic()
        self._show_selected_keys()

    def _selected_user(self) -> IamUser | None:
        name = self.query_one(UsersTable).selected_user()
        return self.inventory.user(name) if (self.inventory and name) else None

    def _show_selected_keys(self) -> None:
        user = self._selected_user()
        self.refresh_bindings()
        self.query_one(KeysPanel).show_user(
            user,
            self.services.clock.now(),
            self.services.settings.thresholds,
            self.holders,
            self.app.level_style,  # type: ignore[attr-defined]
        )

    def _status(self, text: str) -> None:
        self.query_one("#status", Static).update(text)

    def _status_summary(self) -> None:
        if self.inventory is None:
            return
        inventory = self.inventory
        shown = len(self._visible_users())
        parts = [f"{len(inventory.users):,} users"]
        if self._filter:
            parts.append(f"{shown:,} match '{self._filter}'")
        if inventory.unknown_users:
            parts.append(f"{len(inventory.unknown_users)} unknown")
        parts.append(f"sorted by {self.query_one(UsersTable).sort_label}")
        if inventory.source == "credential-report":
            parts.append("fast path: credential report")
        else:
            parts.append("per-user reads (credential report unavailable)")
        parts.append(f"loaded {inventory.loaded_at.astimezone():%H:%M:%S}")
        self._status("  ·  ".join(parts))

    # -- events and actions ------------------------------------------------------------------------------

    @on(DataTable.RowHighlighted, "#users")
    def _user_highlighted(self) -> None:
        self._show_selected_keys()

    @on(DataTable.RowSelected, "#users")
    def _user_selected(self) -> None:
        keys = self.query_one("#keys", DataTable)
        if keys.row_count:
            keys.focus()

    @on(DataTable.HeaderSelected, "#users")
    def _header_selected(self, event: DataTable.HeaderSelected) -> None:
        self._sort(event.column_key.value or "user")

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._filter = event.value.strip()
        self._render_users()
        self._status_summary()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        self.query_one(UsersTable).focus()

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.remove_class("hidden")
        box.focus()

    def action_escape(self) -> None:
        box = self.query_one("#filter", Input)
        if self.focused is box or (self._filter and self.focused is self.query_one(UsersTable)):
            box.value = ""
            box.add_class("hidden")
        self.query_one(UsersTable).focus()

    def action_profiles(self) -> None:
        from keytui.ui.screens.profiles import ProfilesScreen

        self.app.push_screen(ProfilesScreen(self.services, self.inventory), lambda _: self.load_all())

    def action_audit(self) -> None:
        from keytui.ui.screens.audit import AuditScreen, after_audit

        # On return: the rotation the audit asked for (as `r` would choose it), or a reload (fixes change keys).
        audit = AuditScreen(self.services, identity=lambda: self.identity, inventory=lambda: self.inventory)
        self.app.push_screen(audit, lambda request: after_audit(self, request))

    def action_mfa(self) -> None:
        from keytui.ui.screens.mfa_enroll import MfaEnrollScreen

        user = self._selected_user()
        if user is None:
            self.notify("Select a user first.", title="Cannot enroll MFA", severity="warning")
            return
        # Whatever happened there, the user's MFA state (and the profile's mfa_serial) may have changed.
        self.app.push_screen(MfaEnrollScreen(self.services, user.name, identity=self.identity, has_mfa=user.mfa_active),
                             lambda _: self.load_all())

    def action_session(self) -> None:
        from keytui.ui.screens.session import SessionScreen

        def closed(profile: str | None) -> None:
            if profile and profile != self.services.acting_profile:
                self.post_message(ProfileChangeRequested(profile))  # the app builds the services for it
            else:
                self.load_all()  # the header shows the new session

        self.app.push_screen(SessionScreen(self.services), closed)

    def action_rotate(self) -> None:
        target = self._rotation_target()
        if isinstance(target, str):
            self.notify(target, title="Cannot rotate", severity="warning", timeout=10)
            return
        # Whatever happened there, the keys and the header may have changed: reload on return.
        self.app.push_screen(RotationScreen(self.services, target), lambda _: self.load_all())

    def _rotation_target(self) -> RotationTarget | str:
        """The key `r` rotates, decided as `keytui rotate` decides it (cli_rotate.py); a string says why
        there is none. An unfinished rotation of the user comes first: it is resumed or rolled back."""
        user = self._selected_user()
        if user is None:
            return "Select a user first."
        if self.identity is None:
            return "keytui is still reading who this profile is; try again in a moment."
        journal = self.open_rotations.get(user.name)
        if journal is not None:
            old_key = next((k for k in user.keys or () if k.key_id == journal.old_key_id), None)
            return journal_target(journal, old_key=old_key, holders=self.holders.get(journal.old_key_id, ()))
        if user.keys is None:
            return (f"The keys of {user.name} are unknown ({user.keys_unknown_reason()}); keytui does not act on a "
                    "partial list. Refresh with ctrl+r.")
        if not user.keys:
            return f"{user.name} has no access key to rotate."
        keys_table = self.query_one("#keys", DataTable)
        chosen: str | None = None
        if self.focused is keys_table and keys_table.row_count:
            chosen = keys_table.coordinate_to_cell_key(keys_table.cursor_coordinate).row_key.value
        identity, source = self.identity, self.source
        if identity.is_user and identity.name == user.name:
            # The profile's own user: the key the profile holds, switched in the keyring.
            if source is None or source.method != "keytui-vault":
                label = source.label if source else "outside keytui's keyring"
                return (f"The profile's key comes from {label}, not from keytui's keyring, so keytui cannot switch "
                        f"it safely. Move it first: press p and import '{(source and source.profile) or 'default'}'.")
            old_key_id, profile = source.key_id, source.profile
        else:
            # Another user's key: the chosen one, or the first (with two, the preflight shows both and stops).
            old_key_id = chosen or user.keys[0].key_id
            profile = None
        if not old_key_id or old_key_id.startswith("slot-"):
            return f"The key ids of {user.name} are still loading; try again in a moment."
        old_key = next((k for k in user.keys if k.key_id == old_key_id), None)
        return RotationTarget(user.name, old_key_id, profile, old_key=old_key, holders=self.holders.get(old_key_id, ()))

    def action_delete_inactive(self) -> None:
        """`d`: delete the selected user's inactive key (the one under the keys panel's cursor, or the only one)
        after a confirmation; refused for an active key and for keys that are unknown (ui/screens/delete_key.py)."""
        user = self._selected_user()
        keys_table = self.query_one("#keys", DataTable)
        chosen: str | None = None
        if self.focused is keys_table and keys_table.row_count:
            chosen = keys_table.coordinate_to_cell_key(keys_table.cursor_coordinate).row_key.value
        key = delete_key.choose_inactive_key(user, chosen)
        if isinstance(key, str) or user is None:
            self.notify(str(key), title="Cannot delete", severity="warning", timeout=10)
            return
        key_id = key.key_id or ""

        def answered(yes: bool | None) -> None:
            if yes:
                self.delete_inactive_key(user.name, key_id)

        modal = delete_key.DeleteInactiveKeyModal(user.name, key, self.services.clock.now(),
                                                  delete_key.evidence(self.services, user, key),
                                                  self.holders.get(key_id, ()))
        self.app.push_screen(modal, answered)

    @work(thread=True, exit_on_error=False, group="delete-key")
    def delete_inactive_key(self, user: str, key_id: str) -> None:
        prompt = mfa_prompt(self.app, self.services, get_current_worker())
        self.post_message(delete_key.delete_in_worker(self.services, user, key_id, prompt))

    def on_inactive_key_deleted(self, message: InactiveKeyDeleted) -> None:
        if message.error is not None:
            self.notify(str(message.error), title="Could not delete the key", severity="error", timeout=15)
        else:
            self.notify(delete_key.deleted_text(message), title="Key deleted")
        self.load_all()

    def action_refresh(self) -> None:
        self._status("refreshing…")
        self.load_all()

    def action_sort_next(self) -> None:
        keys = [key for key, _ in COLUMNS]
        table = self.query_one(UsersTable)
        self._sort(keys[(keys.index(table.sort_column) + 1) % len(keys)], reverse=False)

    def action_sort_reverse(self) -> None:
        table = self.query_one(UsersTable)
        self._sort(table.sort_column, reverse=not table.sort_reverse)

    def _sort(self, column: str, reverse: bool | None = None) -> None:
        self.query_one(UsersTable).set_sort(column, reverse)
        self._render_users()
        self._status_summary()
