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
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static
from textual.worker import get_current_worker

from keytui.core.errors import KeytuiError, NoCredentialsError
from keytui.core.models import IamUser, Identity, Inventory
from keytui.services import Services
from keytui.ui.cells import Cell
from keytui.ui.messages import CredentialsMissing, IdentityLoaded, InventoryLoaded, InventoryProgressed, LoadFailed
from keytui.ui.widgets.identity_bar import IdentityBar
from keytui.ui.widgets.keys_panel import KeysPanel
from keytui.ui.widgets.users_table import COLUMNS, UsersTable

# Keys of the workflows of later issues. They are bound (so the ids exist and can be remapped) but
# disabled, and listed as reserved in the help, so nobody assigns them to something else meanwhile.
RESERVED = (
    Binding("r", "rotate", "Rotate key", show=False, id="keys.rotate"),
    Binding("m", "mfa", "Enroll MFA", show=False, id="mfa.enroll"),
    Binding("s", "session", "MFA session", show=False, id="session.get-token"),
    Binding("a", "audit", "Audit", show=False, id="audit.open"),
)
RESERVED_ACTIONS = {binding.action for binding in RESERVED}


class MainScreen(Screen[None]):
    BINDINGS = [
        Binding("slash", "filter", "Filter", id="users.filter"),
        Binding("ctrl+r", "refresh", "Refresh", id="users.refresh"),
        Binding("o", "sort_next", "Sort", id="users.sort"),
        Binding("O", "sort_reverse", "Reverse sort", show=False, id="users.sort-reverse"),
        Binding("escape", "escape", "Back", show=False, id="users.back"),
        Binding("p", "profiles", "Profiles", id="profiles.open"),
        *RESERVED,
    ]

    def __init__(self, services: Services) -> None:
        super().__init__()
        self.services = services
        self.inventory: Inventory | None = None
        self.identity: Identity | None = None
        self.holders: dict[str, tuple[str, ...]] = {}
        self._filter = ""
        self._render_pending = False
        self._last_render = 0.0
        # name -> (the IamUser rendered, its cells): snapshots reuse unchanged IamUser objects, so only
        # users that changed are formatted again.
        self._cells: dict[str, tuple[IamUser, list[Cell]]] = {}

    def compose(self) -> ComposeResult:
        yield IdentityBar(self.services.profile_label, self.services.demo, id="identity")
        yield Static("", id="warnings", classes="hidden")
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
        return True

    # -- loading (worker thread: no widget access, only messages) ---------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="load")
    def load_all(self) -> None:
        worker = get_current_worker()
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
            self.post_message(LoadFailed(exc))
            return
        if not worker.is_cancelled:
            self.post_message(InventoryLoaded(inventory))

    # -- results (event loop) ------------------------------------------------------------------------

    def on_identity_loaded(self, message: IdentityLoaded) -> None:
        self.identity = message.identity
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

    def _show_selected_keys(self) -> None:
        table = self.query_one(UsersTable)
        name = table.selected_user()
        user = self.inventory.user(name) if (self.inventory and name) else None
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
