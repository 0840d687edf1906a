"""Table cells that know how to sort themselves and how to colour an age by threshold, and the table that
shows them."""

from __future__ import annotations

from typing import Any, Literal

from rich.text import Text
from textual.widgets import DataTable

from keytui.core.models import AgeLevel

# Theme variables, resolved by the app at render time (see KeytuiApp.level_style).
LEVEL_VARIABLES = {AgeLevel.OK: "success", AgeLevel.WARN: "warning", AgeLevel.OVERDUE: "error"}


class Cell(Text):
    """A rich Text with a sort key: (is_unknown, value). The table keeps unknowns last."""

    def __init__(self, text: str, sort_key: Any = None, style: str = "") -> None:
        super().__init__(text, style=style)
        self.sort_key = (sort_key is None, sort_key if sort_key is not None else 0)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Cell) and self.plain == other.plain and str(self.style) == str(other.style)

    __hash__ = None  # type: ignore[assignment]


class CellTable(DataTable[Cell]):
    """A table of Cells whose cursor, while the table is not focused, only marks the row: the cells keep
    their colours (the keys panel's cursor rests on a key while the users table has the focus, and an
    overdue age must stay red). Focused, the theme's cursor colours apply as in any table. Safe to switch:
    DataTable keys its render caches by focus state."""

    @property  # type: ignore[override]
    def cursor_foreground_priority(self) -> Literal["renderable", "css"]:
        return "css" if self.has_focus else "renderable"

    @cursor_foreground_priority.setter
    def cursor_foreground_priority(self, value: Literal["renderable", "css"]) -> None:
        pass  # decided by the focus, above
