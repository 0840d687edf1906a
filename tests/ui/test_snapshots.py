"""SVG snapshots of the main screens on the demo account, at 120x36.

Deterministic: the demo's ages are seeded from NOW and the app's clock is frozen there, key ids are derived
from user names, the status line's time is shown in UTC (conftest), the load is awaited before the
screenshot, and the input cursor does not blink. Regenerate after an intended change with
`pytest tests/ui/test_snapshots.py --snapshot-update`, then look at the diff in snapshot_report.html.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot

from .support import FULL_KEY_ID, SECRET_LIKE, SIZE, freeze_cursor_blink, select_user, wait_loaded

ROOT = Path(__file__).resolve().parents[2]
SVGS = sorted((ROOT / "tests" / "ui" / "__snapshots__").rglob("*.svg")) + sorted((ROOT / "screenshots").glob("*.svg"))


async def _loaded(pilot: Pilot[object]) -> None:
    await wait_loaded(pilot)
    freeze_cursor_blink(pilot.app)


class TestMainScreenSnapshots:
    def test_main_screen_after_load(self, snap_compare, make_app) -> None:
        assert snap_compare(make_app(), terminal_size=SIZE, run_before=_loaded)

    def test_main_screen_overdue_user_selected(self, snap_compare, make_app) -> None:
        async def run_before(pilot: Pilot[object]) -> None:
            await _loaded(pilot)
            await select_user(pilot, "mallory")

        assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)

    def test_main_screen_filtered_by_path(self, snap_compare, make_app) -> None:
        async def run_before(pilot: Pilot[object]) -> None:
            await _loaded(pilot)
            await pilot.press("slash", *"/eng/")
            freeze_cursor_blink(pilot.app)

        assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)

    def test_main_screen_sorted_by_age_descending(self, snap_compare, make_app) -> None:
        async def run_before(pilot: Pilot[object]) -> None:
            await _loaded(pilot)
            await pilot.press("o", "o", "O")

        assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


class TestHelpSnapshots:
    def test_help_modal(self, snap_compare, make_app) -> None:
        async def run_before(pilot: Pilot[object]) -> None:
            await _loaded(pilot)
            await pilot.press("question_mark")

        assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


@pytest.mark.parametrize("svg", SVGS, ids=lambda path: str(path.relative_to(ROOT)))
def test_svgs_show_no_key_ids_or_secrets(svg: Path) -> None:
    """Committed images are public: masked key ids only, nothing that looks like a secret access key."""
    text = svg.read_bytes().decode("utf-8")
    assert "\r\n" not in text, "SVGs are kept at LF line endings (.gitattributes)"
    assert not FULL_KEY_ID.search(text)
    assert not SECRET_LIKE.search(text)
