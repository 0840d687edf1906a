"""App-wide keys: the help modal (live bindings with their ids, reserved keys), the command palette, and
remapping a key through the settings' keymap."""

from __future__ import annotations

from textual.command import CommandList, CommandPalette
from textual.message import Message
from textual.widgets import Input

from keytui.core.settings import Settings
from keytui.ui.messages import InventoryLoaded
from keytui.ui.screens.help import HelpModal
from keytui.ui.screens.main import RESERVED, MainScreen

from .support import SIZE, text_of, users_table, wait_loaded, wait_until


def _rows(text: str) -> dict[str, tuple[str, str]]:
    """Help table lines -> {binding id: (key, description)}."""
    rows = {}
    for line in text.splitlines():
        key, rest = line.split(maxsplit=1)
        description, binding_id = rest.rsplit(maxsplit=1)
        rows[binding_id] = (key, description.strip())
    return rows


async def test_help_lists_live_bindings_with_ids_and_reserved_keys(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpModal)
        live = _rows(text_of(app.screen.query_one("#help-live")))
        assert live["users.filter"] == ("/", "Filter")
        assert live["users.refresh"] == ("^r", "Refresh")
        assert live["users.sort"] == ("o", "Sort")
        assert live["users.sort-reverse"] == ("O", "Reverse sort")
        assert live["profiles.open"] == ("p", "Profiles")
        assert live["keys.rotate"] == ("r", "Rotate key")
        assert live["mfa.enroll"] == ("m", "Enroll MFA")
        assert live["session.get-token"] == ("s", "Session")
        assert live["app.help"] == ("?", "Help")
        assert live["app.quit"] == ("q", "Quit")
        assert live["command_palette"] == ("^p", "Command palette")
        # Reserved keys (the workflows still to come), if any are left, are listed apart and are not live.
        boxes = app.screen.query("#help-reserved")
        reserved = _rows(text_of(boxes.first())) if boxes else {}
        assert reserved == {binding.id: (binding.key, binding.description) for binding in RESERVED}
        assert not set(reserved) & set(live)

        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)
        assert app.focused is users_table(app)


async def test_help_question_mark_again_closes(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpModal)
        await pilot.press("question_mark")
        assert isinstance(app.screen, MainScreen)


async def test_reserved_keys_do_nothing_yet(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await wait_loaded(pilot)
        for binding in RESERVED:
            await pilot.press(binding.key)
        assert app.screen is screen
        assert list(app._notifications) == []


async def test_command_palette_runs_keytui_commands(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await wait_loaded(pilot)
        await pilot.press("ctrl+p")
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"filter users")
        commands = app.screen.query_one(CommandList)
        await wait_until(pilot, lambda: commands.option_count == 1, "the palette's search", idle=False)
        assert str(commands.get_option_at_index(0).prompt).startswith("Filter users")
        await pilot.press("enter")
        assert app.screen is screen
        box = screen.query_one("#filter", Input)
        assert box.display and app.focused is box


async def test_settings_keymap_remaps_refresh(make_app) -> None:
    seen: list[Message] = []
    app = make_app(settings=Settings(keymap=(("users.refresh", "f5"),)))

    def loads() -> int:
        return len({id(m) for m in seen if isinstance(m, InventoryLoaded)})

    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        await wait_loaded(pilot)
        assert loads() == 1
        await pilot.press("f5")
        await wait_until(pilot, lambda: loads() == 2, "the refresh that f5 starts")
        # The binding moved: ctrl+r no longer refreshes.
        await pilot.press("ctrl+r")
        await wait_loaded(pilot)
        assert loads() == 2
        await pilot.press("question_mark")
        assert _rows(text_of(app.screen.query_one("#help-live")))["users.refresh"] == ("f5", "Refresh")
