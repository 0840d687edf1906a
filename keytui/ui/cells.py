"""Table cells that know how to sort themselves and how to colour an age by threshold."""

from __future__ import annotations

from typing import Any

from rich.text import Text

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
