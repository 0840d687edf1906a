"""Loading the account into the main screen: progress while it loads, AWS errors on the whole load and on
one user, and a retry after a failure. Faults come from the root conftest's `faults` fixture."""

from __future__ import annotations

import re
import threading

from textual.message import Message
from textual.widgets import DataTable

from keytui.ui.messages import InventoryLoaded, InventoryProgressed

from .support import (
    DEMO_USER_COUNT,
    SIZE,
    main_screen,
    notifications,
    select_user,
    text_of,
    user_names,
    users_table,
    wait_load_ended,
    wait_loaded,
    wait_until,
)

DENIED = (
    "User: arn:aws:iam::123456789012:user/tester is not authorized to perform: iam:{op} "
    "with an explicit deny in a service control policy"
)
ADVICE = "Ask an administrator to allow this action for your user, or use a profile that has it."


async def test_load_reports_progress_messages(make_app) -> None:
    seen: list[Message] = []
    app = make_app()
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        await wait_loaded(pilot)
    # The hook sees a message at every pump it reaches (the screen, then the app it bubbles to).
    unique = list({id(m): m for m in seen}.values())
    texts = [m.progress.text for m in unique if isinstance(m, InventoryProgressed)]
    assert texts[0] == f"loaded 0/{DEMO_USER_COUNT} users"
    assert texts[-1] == f"loaded {DEMO_USER_COUNT} users"
    assert all(re.fullmatch(rf"loaded \d+/{DEMO_USER_COUNT} users", t) for t in texts[:-1]), texts
    assert sum(isinstance(m, InventoryLoaded) for m in unique) == 1


async def test_load_shows_progress_and_report_data_before_keys_arrive(make_app, faults) -> None:
    """While every ListAccessKeys call is held back, the table already lists everyone with the credential
    report's ages and the status line says how far the load is."""
    release = threading.Event()

    def hold(params: dict) -> bool:
        release.wait(timeout=30)
        return False  # then let the call through

    faults.deny("ListAccessKeys", when=hold)
    app = make_app()
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen_status = lambda: text_of(main_screen(app).query_one("#status"))  # noqa: E731
            await wait_until(pilot, lambda: screen_status() == f"loaded 0/{DEMO_USER_COUNT} users…",
                             "the first progress", idle=False)
            table = users_table(app)
            assert table.row_count == DEMO_USER_COUNT
            assert table.get_cell("frank", "age").plain == "400d"
            await select_user(pilot, "frank")
            keys = main_screen(app).query_one("#keys", DataTable)
            assert [keys.get_row(row.key)[0].plain for row in keys.ordered_rows] == ["…"]  # id not known yet
            assert "Key ids still loading" in text_of(main_screen(app).query_one("#keys-note"))
            release.set()
            await wait_loaded(pilot)
            assert text_of(main_screen(app).query_one("#status")).startswith(f"{DEMO_USER_COUNT} users")
            assert "Key ids still loading" not in text_of(main_screen(app).query_one("#keys-note"))
    finally:
        release.set()


async def test_load_access_denied_notifies_and_retry_succeeds(make_app, faults) -> None:
    denied = {"on": True}
    faults.deny("ListUsers", when=lambda params: denied["on"])
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await wait_load_ended(pilot)
        expected = f"Could not list IAM users: AccessDenied ({DENIED.format(op='ListUsers')}). {ADVICE}"
        assert notifications(app) == [f"Could not load the account: {expected}"]
        assert text_of(screen.query_one("#status")) == "load failed (AccessDenied); ctrl+r retries"
        assert users_table(app).row_count == 0
        # Who we are was read before the denial: the header keeps saying so.
        assert text_of(screen.query_one("#identity-who")) == "as ops-admin"
        assert app.is_running and app.screen is screen

        denied["on"] = False
        await pilot.press("ctrl+r")
        await wait_loaded(pilot)
        assert users_table(app).row_count == DEMO_USER_COUNT
        assert text_of(screen.query_one("#status")).startswith(f"{DEMO_USER_COUNT} users")


async def test_load_identity_denied_marks_identity_unknown(make_app, faults) -> None:
    faults.deny("GetCallerIdentity", service="sts")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await wait_load_ended(pilot)
        assert text_of(screen.query_one("#identity-who")) == "identity unknown: AccessDenied"
        [shown] = notifications(app)
        assert shown.startswith("Could not load the account: Could not check who these credentials belong to")
        assert app.is_running


async def test_denied_list_access_keys_shows_unknown_not_zero(make_app, faults) -> None:
    faults.deny("ListAccessKeys", when=lambda params: params.get("UserName") == "bob")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await wait_loaded(pilot)
        table = users_table(app)
        assert table.get_cell("bob", "keys").plain == "unknown (AccessDenied)"
        assert table.get_cell("bob", "last_used").plain == "unknown (AccessDenied)"
        assert table.get_cell("bob", "age").plain == "?"
        assert table.get_cell("alice", "keys").plain == "2"  # the others are unaffected
        assert notifications(app) == [
            "Incomplete inventory: The keys of 1 user(s) could not be read (bob unknown (AccessDenied)). "
            "They are marked unknown; nothing is concluded about them."
        ]
        assert "1 unknown" in text_of(screen.query_one("#status"))

        await select_user(pilot, "bob")
        assert screen.query_one("#keys", DataTable).row_count == 0
        assert text_of(screen.query_one("#keys-note")) == (
            "Keys: unknown (AccessDenied). keytui shows nothing rather than a guess; refresh with ctrl+r."
        )
        # Sorted by key count either way, the unknown stays at the bottom.
        await pilot.press("o")
        assert user_names(table)[-1] == "bob"
        await pilot.press("O")
        assert user_names(table)[-1] == "bob"
