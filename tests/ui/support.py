"""Helpers for the Textual tests: build services like the CLI does, wait for the loading worker instead of
sleeping, and read what the screen shows."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual.app import App
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Input

from keytui.core.aws import AwsTarget
from keytui.core.clock import FixedClock
from keytui.core.settings import Settings
from keytui.services import Services, build_services
from keytui.ui.screens.main import MainScreen
from keytui.ui.widgets.users_table import UsersTable

from ..conftest import NOW

DEMO_USER_COUNT = 28
FULL_KEY_ID = re.compile(r"AKIA[A-Z0-9]{16}")
SECRET_LIKE = re.compile(r"[A-Za-z0-9/+]{40}")
SIZE = (120, 36)


def services_for(
    target: AwsTarget, settings: Settings | None = None, *, demo: bool = True, keyring: Any = None
) -> Services:
    """What `keytui --demo` builds (cli._tui), but on a clock frozen at NOW. `keyring` None is the OS
    keyring, which the root conftest makes a failing backend."""
    return build_services(
        target, settings or Settings(), clock=FixedClock(NOW), demo=demo, tolerate_errors=True, keyring_backend=keyring
    )


@dataclass(frozen=True)
class ProfilesConfig:
    config_file: Path
    credentials_file: Path

    def target(self, profile: str | None) -> AwsTarget:
        return AwsTarget(profile=profile, config_file=str(self.config_file), credentials_file=str(self.credentials_file))


# -- waiting ------------------------------------------------------------------------------------------------


async def settle(pilot: Pilot[object]) -> None:
    """Let the current workers finish and the messages they posted be handled."""
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


async def wait_until(
    pilot: Pilot[object], condition: Callable[[], bool], what: str, *, idle: bool = True, timeout: float = 20.0
) -> None:
    """Settle until `condition()` holds (and, with `idle`, no worker runs). A screen's worker may not exist
    yet when a test starts (screens mount asynchronously), so a single wait_for_complete is not enough.
    Without `idle` it polls while workers run: for states seen in the middle of a load."""
    deadline = time.monotonic() + timeout
    while True:
        if idle:
            await settle(pilot)
        else:
            await pilot.pause()
        busy = idle and any(not worker.is_finished for worker in pilot.app.workers)
        if not busy and condition():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        await pilot.pause(0.02)


def main_screen(app: App[object]) -> MainScreen:
    screen = app.screen
    assert isinstance(screen, MainScreen), f"expected the main screen, got {screen!r}"
    return screen


async def wait_loaded(pilot: Pilot[object]) -> MainScreen:
    """Wait until the main screen shows a complete inventory."""

    def loaded() -> bool:
        screen = pilot.app.screen
        return (
            isinstance(screen, MainScreen)
            and screen.inventory is not None
            and screen.inventory.complete
            and screen.query_one(UsersTable).row_count > 0
        )

    await wait_until(pilot, loaded, "the inventory to load")
    return main_screen(pilot.app)


async def wait_load_ended(pilot: Pilot[object]) -> MainScreen:
    """Wait until the main screen's load has ended, however it ended (the status stops saying '…')."""

    def ended() -> bool:
        screen = pilot.app.screen
        return isinstance(screen, MainScreen) and not text_of(screen.query_one("#status")).endswith("…")

    await wait_until(pilot, ended, "the load to end")
    return main_screen(pilot.app)


# -- reading the screen -------------------------------------------------------------------------------------


def text_of(widget: Widget) -> str:
    """The plain text a Static or Label shows (markup removed)."""
    visual = widget.visual  # type: ignore[attr-defined]
    return getattr(visual, "plain", str(visual))


def users_table(app: App[object]) -> UsersTable:
    return main_screen(app).query_one(UsersTable)


def user_names(table: UsersTable) -> list[str]:
    return [row.key.value or "" for row in table.ordered_rows]


def column_text(table: UsersTable, column: str) -> list[str]:
    return [table.get_cell(row.key, column).plain for row in table.ordered_rows]


def notifications(app: App[object]) -> list[str]:
    """'title: message' of every notification currently shown."""
    return [f"{n.title}: {n.message}" for n in app._notifications]


def freeze_cursor_blink(app: App[object]) -> None:
    """A blinking cursor would make a screenshot depend on the moment it is taken."""
    for screen in app.screen_stack:
        for box in screen.query(Input):
            box.cursor_blink = False


async def select_user(pilot: Pilot[object], name: str) -> None:
    """Put the users table's cursor on `name` (as the arrow keys would; arrows cost ~0.1 s each)."""
    table = users_table(pilot.app)
    table.focus()
    table.move_cursor(row=user_names(table).index(name), animate=False)
    await pilot.pause()
    assert table.selected_user() == name
