"""The users table: one row per IAM user, keyed by user name so that refreshes, filters and sorts keep
the cursor on the same user."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from keytui.core import present
from keytui.core.models import AgeLevel, IamUser, Thresholds
from keytui.ui.cells import Cell, CellTable

# (key, label) in display order. The key is also the sort id used by `o` and header clicks.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("user", "User"),
    ("keys", "Keys"),
    ("age", "Oldest key"),
    ("last_used", "Last used"),
    ("mfa", "MFA"),
    ("console", "Console"),
    ("path", "Path"),
)


class UsersTable(CellTable):
    """Rows are rebuilt only when the visible set or order changes; otherwise cells update in place."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)  # type: ignore[arg-type]
        self.sort_column = "user"
        self.sort_reverse = False
        self._shown: dict[str, list[Cell]] = {}

    def on_mount(self) -> None:
        for key, label in COLUMNS:
            self.add_column(label, key=key)

    def selected_user(self) -> str | None:
        if not self.row_count:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return row_key.value

    def row_cells(self, user: IamUser, now: datetime, thresholds: Thresholds, level_style: Callable[[AgeLevel], str]) -> list[Cell]:
        age = present.oldest_age(user, now)
        level = present.age_level(user, now, thresholds)
        last = user.last_used()
        unknown = user.keys is None
        console_style = level_style(AgeLevel.WARN) if user.console and user.mfa_active is False else ""
        return [
            Cell(user.name, sort_key=user.name.lower(), style="bold" if not unknown else ""),
            Cell(
                present.user_keys_text(user),
                sort_key=None if unknown else len(user.keys or ()),
                style=level_style(AgeLevel.OVERDUE) if user.keys_error else "",
            ),
            Cell(
                present.days_text(age) if age is not None else ("?" if unknown else "-"),
                sort_key=age,
                style=level_style(level) if level else "",
            ),
            # Never-used keys sort as the stalest (time 0); users without keys, or unknown, go last.
            Cell(
                present.user_last_used_text(user, now),
                sort_key=last.timestamp() if last else (0.0 if user.keys and user.keys_complete else None),
            ),
            Cell(present.flag_text(user.mfa_active), sort_key=None if user.mfa_active is None else int(user.mfa_active),
                 style=console_style),
            Cell(present.flag_text(user.console), sort_key=None if user.console is None else int(user.console)),
            Cell(user.path, sort_key=user.path),
        ]

    def show(self, rows: Sequence[tuple[str, list[Cell]]]) -> None:
        """Display `rows` (already filtered) sorted by the current column, keeping the cursor's user."""
        index = [key for key, _ in COLUMNS].index(self.sort_column)
        # Unknown values sit at the bottom in either direction: they are not "less" than anything.
        known = [row for row in rows if not row[1][index].sort_key[0]]
        unknown = [row for row in rows if row[1][index].sort_key[0]]
        ordered = sorted(known, key=lambda row: row[1][index].sort_key, reverse=self.sort_reverse) + unknown
        wanted = [key for key, _ in ordered]
        current = [row.key.value for row in self.ordered_rows]
        if wanted == current:
            for key, cells in ordered:
                if self._shown.get(key) is cells:
                    continue  # the same cells object: nothing changed for this user
                self._shown[key] = cells
                for (column, _), cell in zip(COLUMNS, cells):
                    if self.get_cell(key, column) != cell:
                        self.update_cell(key, column, cell)
            return
        self._shown = dict(ordered)
        selected = self.selected_user()
        self.clear()
        for key, cells in ordered:
            self.add_row(*cells, key=key)
        if selected in wanted:
            self.move_cursor(row=wanted.index(selected), animate=False)
        elif wanted:
            self.move_cursor(row=0, animate=False)  # the selected user is gone (filtered out): first match

    def set_sort(self, column: str, reverse: bool | None = None) -> None:
        """Sort by `column`; choosing the current column again flips the direction."""
        if reverse is None:
            reverse = not self.sort_reverse if column == self.sort_column else False
        self.sort_column, self.sort_reverse = column, reverse

    @property
    def sort_label(self) -> str:
        return f"{dict(COLUMNS)[self.sort_column]} {'▼' if self.sort_reverse else '▲'}"
