"""The keys of the selected user: masked id, status, age, last use with service and region, and which
local profile holds the key. Inactive keys say how long they have been inactive and whether their grace
period (`[rotation] grace_days`) is over, so that `d` can delete them (core/cleanup.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from keytui.core import present
from keytui.core.cleanup import InactiveKey, user_inactive_keys
from keytui.core.models import AgeLevel, IamUser, Thresholds
from keytui.ui.cells import Cell, CellTable


class KeysPanel(Vertical):
    def compose(self) -> ComposeResult:
        yield Static("", id="keys-title")
        table = CellTable(id="keys", cursor_type="row", zebra_stripes=True)
        table.add_column("Key", key="key")
        table.add_column("Status", key="status")
        table.add_column("Age", key="age")
        table.add_column("Last used", key="last_used")
        table.add_column("Local profile", key="profile")
        yield table
        yield Static("", id="keys-note")

    def show_user(
        self,
        user: IamUser | None,
        now: datetime,
        thresholds: Thresholds,
        holders: dict[str, tuple[str, ...]],
        level_style: Callable[[AgeLevel], str],
    ) -> None:
        title = self.query_one("#keys-title", Static)
        note = self.query_one("#keys-note", Static)
        table = self.query_one("#keys", DataTable)
        selected = table.cursor_row
        table.clear()
        if user is None:
            title.update("No user selected")
            note.update("")
            return
        mfa = {True: "MFA on", False: "no MFA", None: "MFA unknown"}[user.mfa_active]
        console = {True: "console password", False: "no console", None: "console unknown"}[user.console]
        title.update(f"[b]{user.name}[/b]  {user.arn}  ·  {mfa}  ·  {console}")
        if user.keys is None:
            note.update(f"Keys: {user.keys_unknown_reason()}. keytui shows nothing rather than a guess; "
                        "refresh with ctrl+r.")
            return
        if not user.keys:
            note.update("No access keys.")
            return
        inactive = self._inactive(user, now)
        for key in user.keys:
            age = key.age_days(now)
            level = thresholds.age_level(age) if key.active else None
            profiles = ", ".join(holders.get(key.key_id or "", ()))
            found = inactive.get(key.key_id or "")
            status = Cell(key.status, style="" if key.active else "dim")
            if found is not None and found.past_grace:
                status = Cell(f"{key.status} · past grace", style=level_style(AgeLevel.WARN))
            table.add_row(
                Cell(key.masked_id),
                status,
                Cell(present.days_text(age), sort_key=age, style=level_style(level) if level else "dim"),
                Cell(present.key_last_used_text(key, now)),
                Cell(profiles or "-"),
                key=key.key_id or f"slot-{key.created.isoformat()}",
            )
        if table.row_count:
            table.move_cursor(row=min(selected, table.row_count - 1), animate=False)
        unused = [k for k in user.keys if k.active and present.unused(k, now, thresholds)]
        notes = []
        if not user.keys_complete:
            notes.append("Key ids still loading (ages from the credential report).")
        if len(user.keys) >= 2:
            notes.append("At AWS's limit of two keys (inactive keys count).")
        if unused and user.keys_complete:
            notes.append(f"{len(unused)} active key(s) unused for {thresholds.unused_days}+ days.")
        lines = ["  ".join(notes)] if notes else []
        for found in inactive.values():
            hint = ": press d" if found.past_grace else ""
            lines.append(f"{found.key.masked_id} {found.describe()}{hint}.")
        note.update("\n".join(lines))

    def _inactive(self, user: IamUser, now: datetime) -> dict[str, InactiveKey]:
        """The evidence of how long each inactive key has been inactive. The grace period and the rotation
        history come from the app's services (the history is a small file, read again only when it changed)."""
        services = getattr(self.app, "services", None)
        if services is None:
            return {}
        found = user_inactive_keys(user, now, services.settings.rotation.grace_days, services.journals.deactivated())
        return {k.key_id: k for k in found}
