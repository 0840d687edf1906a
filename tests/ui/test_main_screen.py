"""The main screen on the demo account: the users table, its filter and sort, the keys panel, refresh."""

from __future__ import annotations

import re

from textual.widgets import DataTable, Input

from keytui.core.models import AgeLevel
from keytui.demo import DEMO_USERS
from keytui.ui.widgets.users_table import UsersTable

from .support import (
    DEMO_USER_COUNT,
    FULL_KEY_ID,
    SIZE,
    column_text,
    main_screen,
    select_user,
    text_of,
    user_names,
    users_table,
    wait_loaded,
    wait_until,
)

MASKED_KEY_ID = re.compile(r"^AKIA…[A-Z0-9]{4}$")


async def test_users_table_shows_every_demo_user(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        table = users_table(app)
        assert table.row_count == DEMO_USER_COUNT
        assert sorted(user_names(table)) == sorted(user.name for user in DEMO_USERS)
        # Sorted by name by default; the cursor starts on the first user, whose keys are shown.
        assert user_names(table) == sorted(user_names(table), key=str.lower)
        assert table.get_cell("alice", "keys").plain == "2"
        assert table.get_cell("erin", "keys").plain == "1 +1 inactive"
        assert table.get_cell("grace", "keys").plain == "0"
        assert table.get_cell("dave", "last_used").plain == "never"
        assert table.get_cell("niaj", "path").plain == "/eng/data/"
        assert text_of(app.screen.query_one("#status")).startswith("28 users  ·  sorted by User ▲")
        assert app.focused is table


async def test_users_table_colours_ages_by_level(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        table = users_table(app)
        ok, warn, overdue_95, overdue_400 = (
            table.get_cell(name, "age") for name in ("carol", "ivan", "bob", "frank")
        )
        assert [ok.plain, warn.plain, overdue_95.plain, overdue_400.plain] == ["5d", "62d", "95d", "400d"]
        assert str(ok.style) == app.level_style(AgeLevel.OK)
        assert str(warn.style) == app.level_style(AgeLevel.WARN)
        assert str(overdue_95.style) == str(overdue_400.style) == app.level_style(AgeLevel.OVERDUE)
        assert len({str(ok.style), str(warn.style), str(overdue_400.style)}) == 3
        # A user with no active key has no age to colour.
        assert table.get_cell("legacy-etl", "age").plain == "-"
        assert str(table.get_cell("legacy-etl", "age").style) == ""


async def test_filter_matches_user_names(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await wait_loaded(pilot)
        await pilot.press("/")
        box = screen.query_one("#filter", Input)
        assert box.display and app.focused is box
        await pilot.press(*"MAL")
        table = users_table(app)
        assert user_names(table) == ["mallory"]
        assert "1 match 'MAL'" in text_of(screen.query_one("#status"))
        assert text_of(screen.query_one("#keys-title")).startswith("mallory")


async def test_filter_matches_paths(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await pilot.press("slash", *"/eng/")
        expected = sorted(u.name for u in DEMO_USERS if u.path.startswith("/eng/"))
        assert len(expected) == 10
        assert user_names(users_table(app)) == expected
        await pilot.press("enter")  # back to the table, filter kept
        assert app.focused is users_table(app)
        assert user_names(users_table(app)) == expected


async def test_filter_escape_clears_and_returns_to_table(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await wait_loaded(pilot)
        await pilot.press("slash", *"/serv")
        assert users_table(app).row_count == sum(u.path.startswith("/service/") for u in DEMO_USERS)
        await pilot.press("escape")
        box = screen.query_one("#filter", Input)
        assert box.value == "" and not box.display
        assert users_table(app).row_count == DEMO_USER_COUNT
        assert app.focused is users_table(app)
        assert "match" not in text_of(screen.query_one("#status"))


async def test_filter_escape_from_table_clears_a_kept_filter(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await pilot.press("slash", *"ops", "enter")
        assert user_names(users_table(app)) == ["frank", "grace", "ops-admin"]
        await pilot.press("escape")
        assert users_table(app).row_count == DEMO_USER_COUNT


def _ages(table: UsersTable) -> list[int | None]:
    return [None if text in ("-", "?") else int(text.rstrip("d")) for text in column_text(table, "age")]


def _assert_unknown_last(ages: list[int | None], *, descending: bool) -> None:
    known = [age for age in ages if age is not None]
    assert ages == known + [None] * (len(ages) - len(known)), "users without an age must stay last"
    assert known == sorted(known, reverse=descending)
    assert len(known) < len(ages)


async def test_sort_keys_cycle_columns_and_keep_unknown_last(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await wait_loaded(pilot)
        table = users_table(app)
        await pilot.press("o")
        assert table.sort_column == "keys"
        await pilot.press("o")
        assert (table.sort_column, table.sort_reverse) == ("age", False)
        assert "sorted by Oldest key ▲" in text_of(screen.query_one("#status"))
        _assert_unknown_last(_ages(table), descending=False)
        await pilot.press("O")
        assert (table.sort_column, table.sort_reverse) == ("age", True)
        assert "sorted by Oldest key ▼" in text_of(screen.query_one("#status"))
        _assert_unknown_last(_ages(table), descending=True)
        assert column_text(table, "age")[0] == "400d"


async def test_sort_header_click_sorts_and_flips(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        table = users_table(app)
        # The header row is the first line inside the border; find where "Oldest key" starts.
        x = 1 + sum(column.get_render_width(table) for column in table.ordered_columns[:2]) + 1
        await pilot.click(UsersTable, offset=(x, 1))
        await pilot.pause()
        assert (table.sort_column, table.sort_reverse) == ("age", False)
        _assert_unknown_last(_ages(table), descending=False)
        await pilot.click(UsersTable, offset=(x, 1))
        await pilot.pause()
        assert (table.sort_column, table.sort_reverse) == ("age", True)
        _assert_unknown_last(_ages(table), descending=True)


async def test_sort_keeps_cursor_on_user(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await select_user(pilot, "mallory")
        await pilot.press("O")  # reverse by name: mallory moves
        table = users_table(app)
        assert user_names(table)[0] == "walter"
        assert table.selected_user() == "mallory"


def _keys_rows(app) -> list[list[str]]:
    keys = main_screen(app).query_one("#keys", DataTable)
    return [[cell.plain for cell in keys.get_row(row.key)] for row in keys.ordered_rows]


async def test_keys_panel_shows_masked_keys_and_local_profiles(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await wait_loaded(pilot)
        await select_user(pilot, "ops-admin")
        [[key_id, status, age, last_used, profile]] = _keys_rows(app)
        assert MASKED_KEY_ID.match(key_id), key_id
        # This is the key keytui itself signs with, so moto records its use just now, by IAM.
        assert (status, age, last_used, profile) == ("Active", "5d", "today (iam, us-east-1)", "demo")
        assert text_of(screen.query_one("#keys-title")).startswith("ops-admin  arn:aws:iam::123456789012:user/ops/ops-admin")

        await select_user(pilot, "bob")
        [[key_id, status, age, last_used, profile]] = _keys_rows(app)
        assert MASKED_KEY_ID.match(key_id), key_id
        assert (status, age, last_used, profile) == ("Active", "95d", "60d ago (ec2, us-west-2)", "bob-laptop")
        assert "no MFA" in text_of(screen.query_one("#keys-title"))

        await select_user(pilot, "walter")
        [[_, status, age, last_used, profile]] = _keys_rows(app)
        assert (status, age, profile) == ("Inactive · past grace", "400d", "-")
        # The whole screen, rendered: no full access key id anywhere.
        assert not FULL_KEY_ID.search(app.export_screenshot())


async def test_keys_panel_notes_two_key_limit_and_no_keys(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await wait_loaded(pilot)
        await select_user(pilot, "alice")
        assert len(_keys_rows(app)) == 2
        assert "At AWS's limit of two keys" in text_of(screen.query_one("#keys-note"))
        await select_user(pilot, "grace")
        assert _keys_rows(app) == []
        assert text_of(screen.query_one("#keys-note")) == "No access keys."


async def test_keys_panel_cursor_keeps_age_colour_until_focused(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await wait_loaded(pilot)
        await select_user(pilot, "mallory")
        keys = screen.query_one("#keys", DataTable)
        # Blurred, the cursor row is drawn with the cells' own colours: the overdue age stays red.
        assert keys.cursor_row == 0 and keys.get_row_at(0)[2].plain == "400d"
        assert (keys.cursor_foreground_priority, users_table(app).cursor_foreground_priority) == ("renderable", "css")
        await pilot.press("enter")
        assert (keys.cursor_foreground_priority, users_table(app).cursor_foreground_priority) == ("css", "renderable")


async def test_enter_focuses_keys_and_escape_returns(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await wait_loaded(pilot)
        await pilot.press("down", "down")
        assert users_table(app).selected_user() == user_names(users_table(app))[2]
        await select_user(pilot, "niaj")
        await pilot.press("enter")
        assert app.focused is screen.query_one("#keys", DataTable)
        await pilot.press("escape")
        assert app.focused is users_table(app)
        assert users_table(app).selected_user() == "niaj"
        # A user without keys: enter leaves the focus where it is.
        await select_user(pilot, "grace")
        await pilot.press("enter")
        assert app.focused is users_table(app)


async def test_refresh_keeps_cursor_on_same_user(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await wait_loaded(pilot)
        await select_user(pilot, "mallory")
        table = users_table(app)
        before = table.cursor_row
        # A user that sorts first appears meanwhile: mallory's row moves down by one.
        iam = app.services.aws.client("iam")
        iam.create_user(UserName="aaron", Path="/new/")
        try:
            await pilot.press("ctrl+r")
            await wait_until_user_count(pilot, DEMO_USER_COUNT + 1)
        finally:
            iam.delete_user(UserName="aaron")
        assert user_names(table)[0] == "aaron"
        assert table.selected_user() == "mallory"
        assert table.cursor_row == before + 1
        assert text_of(screen.query_one("#keys-title")).startswith("mallory")
        assert text_of(screen.query_one("#status")).startswith("29 users")


async def wait_until_user_count(pilot, count: int) -> None:
    def shown() -> bool:
        screen = main_screen(pilot.app)
        return screen.inventory is not None and screen.inventory.complete and users_table(pilot.app).row_count == count

    await wait_until(pilot, shown, f"{count} users")
