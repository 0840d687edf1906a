"""`p`: every local AWS profile and where its secret lives — keyring, or a PLAINTEXT file (a risk) —
with its masked key id, the IAM user the key belongs to and its age. `i` moves a plaintext profile
into the keyring; `x` removes a profile's key from the keyring."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from keytui.core import present
from keytui.core.errors import KeytuiError
from keytui.core.models import AccessKey, AgeLevel, Inventory
from keytui.services import Services
from keytui.ui.cells import Cell
from keytui.ui.messages import ProfilesImported, ProfilesLoaded, ProfilesFailed
from keytui.ui.screens.confirm import ConfirmModal
from keytui.vault.service import ProfileStatus


class ProfilesScreen(Screen[None]):
    BINDINGS = [
        Binding("i", "import_profile", "Import into keyring", id="profiles.import"),
        Binding("x", "remove_profile", "Remove from keyring", id="profiles.remove"),
        Binding("ctrl+r", "reload", "Refresh", id="profiles.refresh"),
        Binding("escape,p", "back", "Back", id="profiles.back"),
    ]

    def __init__(self, services: Services, inventory: Inventory | None, *, import_profile: str | None = None) -> None:
        super().__init__()
        self.services = services
        self.inventory = inventory
        self.statuses: list[ProfileStatus] = []
        # Opened from the audit's fix for a plaintext profile: select it and ask to import it, once.
        self._import_profile = import_profile

    def compose(self) -> ComposeResult:
        vault = self.services.vault
        label = vault.info.label if vault else "none"
        yield Static(f"[b]Local AWS profiles[/b]   keyring: {label}", id="profiles-title")
        table: DataTable[Cell] = DataTable(id="profiles-table", cursor_type="row", zebra_stripes=True)
        for key, text in (("name", "Profile"), ("where", "Secret lives in"), ("key", "Key"),
                          ("user", "IAM user"), ("age", "Key age"), ("note", "Note")):
            table.add_column(text, key=key)
        yield table
        yield Static("", id="profiles-status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#profiles-table", DataTable).focus()
        self.load_profiles()

    def _key_of(self, key_id: str | None) -> AccessKey | None:
        if not key_id or not self.inventory:
            return None
        for user in self.inventory.users:
            for key in user.keys or ():
                if key.key_id == key_id:
                    return key
        return None

    @work(thread=True, exclusive=True, exit_on_error=False, group="profiles")
    def load_profiles(self) -> None:
        try:
            assert self.services.vault_service is not None
            self.post_message(ProfilesLoaded(tuple(self.services.vault_service.status())))
        except KeytuiError as exc:
            self.post_message(ProfilesFailed(exc))

    def on_profiles_loaded(self, message: ProfilesLoaded) -> None:
        self.statuses = list(message.statuses)
        table = self.query_one("#profiles-table", DataTable)
        selected = table.cursor_row
        table.clear()
        now, thresholds = self.services.clock.now(), self.services.settings.thresholds
        style = self.app.level_style  # type: ignore[attr-defined]
        for status in self.statuses:
            key = self._key_of(status.key_id)
            age = key.age_days(now) if key else None
            level = thresholds.age_level(age) if age is not None else None
            table.add_row(
                Cell(status.name, style="bold"),
                Cell(f"⚠ {status.where}" if status.plaintext else status.where,
                     style=style(AgeLevel.OVERDUE) if status.plaintext else ""),
                Cell(status.masked_key_id),
                Cell(key.user_name if key else ("?" if status.key_id else "-")),
                Cell(present.days_text(age) if age is not None else "-", style=style(level) if level else ""),
                Cell(status.note),
                key=status.name,
            )
        if table.row_count:
            table.move_cursor(row=min(selected, table.row_count - 1), animate=False)
        plaintext = sum(1 for s in self.statuses if s.plaintext)
        self.query_one("#profiles-status", Static).update(
            f"{len(self.statuses)} profiles · {plaintext} with a PLAINTEXT secret" + ("  — press i to import" if plaintext else "")
        )
        if self._import_profile is not None:
            name, self._import_profile = self._import_profile, None
            names = [s.name for s in self.statuses]
            if name not in names:
                self.notify(f"There is no local profile '{name}' any more.", title="Cannot import", severity="warning")
                return
            table.move_cursor(row=names.index(name), animate=False)
            self.action_import_profile()

    def on_profiles_failed(self, message: ProfilesFailed) -> None:
        self.notify(str(message.error), title="Profiles", severity="error", timeout=12)

    def _selected(self) -> ProfileStatus | None:
        table = self.query_one("#profiles-table", DataTable)
        if not table.row_count:
            return None
        name = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((s for s in self.statuses if s.name == name), None)

    def action_import_profile(self) -> None:
        status = self._selected()
        if status is None:
            return
        if not status.plaintext:
            self.notify(f"'{status.name}' has no plaintext key to import ({status.where}).", severity="warning")
            return
        vault = self.services.vault_service
        assert vault is not None

        def answered(confirmed: bool | None) -> None:
            if confirmed:
                self.run_import(status.name)

        self.app.push_screen(
            ConfirmModal(
                f"Move '{status.name}' into the keyring?",
                f"1. store {status.masked_key_id} in {vault.vault.info.label} and read it back\n"
                f"2. set credential_process in {vault.config_file}\n"
                f"3. remove its key lines from {vault.credentials_file}\n"
                "If any step fails, nothing changes.",
                "Import",
            ),
            answered,
        )

    @work(thread=True, exit_on_error=False, group="profiles-write")
    def run_import(self, name: str) -> None:
        # A write: never exclusive, so a second request cannot cancel a half-done import.
        try:
            assert self.services.vault_service is not None
            results = self.services.vault_service.import_profiles([name])
            self.post_message(ProfilesImported(tuple(results)))
        except KeytuiError as exc:
            self.post_message(ProfilesFailed(exc))

    def on_profiles_imported(self, message: ProfilesImported) -> None:
        for result in message.results:
            if result.moved:
                self.notify(f"'{result.profile}' now lives in the keyring.", title="Imported")
            else:
                self.notify(f"'{result.profile}' was not imported: {result.reason}", severity="error", timeout=12)
        self.load_profiles()

    def action_remove_profile(self) -> None:
        status = self._selected()
        if status is None or not status.where.startswith("keyring"):
            self.notify("Only keyring-held profiles can be removed here.", severity="warning")
            return

        def answered(confirmed: bool | None) -> None:
            if confirmed:
                self.run_remove(status.name)

        self.app.push_screen(
            ConfirmModal(
                f"Remove '{status.name}' from the keyring?",
                f"Deletes its key and session from the keyring and its credential_process line. "
                f"The AWS key {status.masked_key_id} itself stays valid: deactivate it in AWS if it is no longer needed.",
                "Remove",
            ),
            answered,
        )

    @work(thread=True, exit_on_error=False, group="profiles-write")
    def run_remove(self, name: str) -> None:
        try:
            assert self.services.vault_service is not None
            self.services.vault_service.remove(name)
        except KeytuiError as exc:
            self.post_message(ProfilesFailed(exc))
            return
        self.post_message(ProfilesLoaded(tuple(self.services.vault_service.status())))

    def action_reload(self) -> None:
        self.load_profiles()

    def action_back(self) -> None:
        # dismiss, not pop_screen: the opener's callback (reload the users, run the audit again) must run.
        self.dismiss(None)
