"""`r`: the rotation screen on the demo account, end to end through the real engine and a moto server.

Every test starts its own demo account (rotations change it). The engine's questions block its worker thread
until a modal is answered, so these tests wait for screens with `idle=False` (a settle would wait for that
worker forever). AWS's state is read from moto's backend directly, the keyring's from the demo's keyring.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import DataTable

from keytui.core.errors import AwsError
from keytui.core.masking import mask_key_id
from keytui.core.rotation import JournalStore, Step
from keytui.demo import DEMO_ACCOUNT_ID, DEMO_PROFILE, DemoAccount
from keytui.ui.screens.confirm import ConfirmModal
from keytui.ui.screens.main import MainScreen
from keytui.ui.screens.new_secret import NewSecretModal
from keytui.ui.screens.rotation import RotationScreen, StepRow
from keytui.vault.store import Vault

from ..conftest import NOW, Sandbox
from .support import FULL_KEY_ID, SIZE, freeze_cursor_blink, select_user, text_of, wait_loaded, wait_until

# A fixed id for keys moto creates during a test, so that the snapshot does not change between runs.
NEW_KEY_ID = "AKIAROTATEDKEY000001"


@pytest.fixture
def demo() -> Iterator[DemoAccount]:
    """A fresh demo account per test (overrides the per-module one of conftest.py: these tests change it)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("moto.iam.models.utcnow", lambda: NOW.replace(tzinfo=None))
        account = DemoAccount(now=NOW).start()
        try:
            yield account
        finally:
            account.stop()


def iam_user(name: str):  # type: ignore[no-untyped-def]
    from moto.iam.models import iam_backends

    return iam_backends[DEMO_ACCOUNT_ID]["aws"].get_user(name)


def aws_keys(user: str) -> dict[str, str]:
    """The user's keys as AWS (moto) has them now: key id -> status."""
    return {key.access_key_id: key.status for key in iam_user(user).access_keys}


def secret_of(user: str, key_id: str) -> str:
    return next(key.secret_access_key for key in iam_user(user).access_keys if key.access_key_id == key_id)


def rotation_screen(app: App[object]) -> RotationScreen:
    screen = next((s for s in app.screen_stack if isinstance(s, RotationScreen)), None)
    assert screen is not None, f"no rotation screen in {app.screen_stack!r}"
    return screen


async def wait_for_screen(pilot: Pilot[object], kind: type, what: str) -> object:
    # idle=False: the rotation worker is blocked on this very question.
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, kind), what, idle=False)
    return pilot.app.screen


async def wait_phase(pilot: Pilot[object], phase: str) -> RotationScreen:
    screen = rotation_screen(pilot.app)
    await wait_until(pilot, lambda: screen.phase == phase and pilot.app.screen is screen,
                     f"the rotation screen to be {phase} (it is {screen.phase})", idle=False)
    return screen


def states(screen: RotationScreen) -> dict[str, str]:
    return {row.step.value: row.state for row in screen.query(StepRow) if row.display}


def key_rows(app: App[object]) -> dict[str, tuple[str, str]]:
    """The keys panel: masked id -> (status, local profile)."""
    table = app.screen.query_one("#keys", DataTable)
    return {
        table.get_cell(row.key, "key").plain: (table.get_cell(row.key, "status").plain,
                                                 table.get_cell(row.key, "profile").plain)
        for row in table.ordered_rows
    }


def files_containing(text: str, *folders: Path) -> list[Path]:
    found = []
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file() and text.encode() in path.read_bytes():
                found.append(path)
    return found


async def start_rotation(pilot: Pilot[object], user: str, *, from_keys_panel: bool = False) -> ConfirmModal:
    await wait_loaded(pilot)
    await select_user(pilot, user)
    if from_keys_panel:
        await pilot.press("enter")  # the user's keys: `r` then rotates the key under the cursor
        assert pilot.app.focused is pilot.app.screen.query_one("#keys")
    await pilot.press("r")
    modal = await wait_for_screen(pilot, ConfirmModal, "the confirmation before anything is created")
    assert isinstance(modal, ConfirmModal)
    return modal


async def test_rotation_of_another_users_key_shows_the_secret_once_and_deactivates_the_old_key(
    make_app, demo: DemoAccount, sandbox: Sandbox
) -> None:
    (old,) = aws_keys("mallory")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        modal = await start_rotation(pilot, "mallory")
        title, body = text_of(modal.query_one("#confirm-title")), text_of(modal.query_one("#confirm-body"))
        assert title == f"Rotate mallory's key {mask_key_id(old)}?"
        assert "1. create a new access key for mallory" in body
        assert "show you its secret once" in body
        assert f"5. deactivate {mask_key_id(old)} (reversible; it is not deleted)" in body
        assert aws_keys("mallory") == {old: "Active"}, "nothing is created before the confirmation"

        await pilot.press("y")
        secret_modal = await wait_for_screen(pilot, NewSecretModal, "the new secret")
        assert isinstance(secret_modal, NewSecretModal)
        (new,) = set(aws_keys("mallory")) - {old}
        secret = secret_of("mallory", new)
        shown = secret_modal.query_one("#secret-value")
        assert new in text_of(secret_modal.query_one("#secret-key-id"))
        assert secret not in text_of(shown) and "••••" in text_of(shown), "masked until revealed"
        await pilot.press("v")
        assert secret in text_of(shown)
        await pilot.press("v")
        assert secret not in text_of(shown)
        await pilot.press("c")
        assert app.clipboard == secret
        assert states(rotation_screen(app))["store"] == "asking"

        await pilot.press("s")
        deployed = await wait_for_screen(pilot, ConfirmModal, "the question whether the new key is deployed")
        assert text_of(deployed.query_one("#confirm-title")) == f"Is {mask_key_id(new)} deployed?"
        assert aws_keys("mallory") == {old: "Active", new: "Active"}, "the old key works until the answer"
        await pilot.press("y")

        screen = await wait_phase(pilot, "done")
        assert states(screen) == {s: "done" for s in ("preflight", "create", "store", "verify", "switch",
                                                      "deactivate old")}
        assert aws_keys("mallory") == {old: "Inactive", new: "Active"}
        assert "✓ Done" in text_of(screen.query_one("#rotation-outcome"))
        assert JournalStore().open_journals() == []

        await pilot.press("escape")
        main = await wait_loaded(pilot)
        assert app.screen is main and main.query_one("#rotations-banner").has_class("hidden")
        assert key_rows(app) == {mask_key_id(new): ("Active", "-"), mask_key_id(old): ("Inactive", "-")}
    # The secret was shown, copied on request, and written nowhere.
    assert files_containing(secret, sandbox.root, demo.home) == []


async def test_rotation_of_the_profiles_own_key_switches_the_keyring_and_the_header(make_app, demo: DemoAccount) -> None:
    vault = Vault(demo.keyring)
    old = vault.get_key(DEMO_PROFILE).access_key_id
    assert aws_keys("ops-admin") == {old: "Active"}
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        modal = await start_rotation(pilot, "ops-admin")
        assert text_of(modal.query_one("#confirm-title")) == (
            f"Rotate your own key {mask_key_id(old)} (ops-admin, profile 'demo')?")
        body = text_of(modal.query_one("#confirm-body"))
        assert "2. store it in the keyring (in-memory keyring (memory)) for profile 'demo'" in body
        assert "4. switch profile 'demo' to the new key" in body
        await pilot.press("y")

        screen = await wait_phase(pilot, "done")
        assert not any(isinstance(s, NewSecretModal) for s in app.screen_stack)
        new = vault.get_key(DEMO_PROFILE).access_key_id
        assert new != old and vault.get_pending(DEMO_PROFILE) is None
        assert aws_keys("ops-admin") == {old: "Inactive", new: "Active"}
        assert text_of(screen.query_one("#step-switch")).startswith("✓ switch profile 'demo' to it")

        await pilot.press("escape")
        await wait_loaded(pilot)
        await select_user(pilot, "ops-admin")
        assert key_rows(app) == {mask_key_id(new): ("Active", "demo"), mask_key_id(old): ("Inactive", "-")}
        assert text_of(app.screen.query_one("#identity-source")).endswith(mask_key_id(new))


async def test_rotation_with_delete_chosen_deletes_the_old_key(make_app, demo: DemoAccount) -> None:
    (old,) = aws_keys("dave")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        modal = await start_rotation(pilot, "dave", from_keys_panel=True)
        assert text_of(modal.query_one("#confirm-title")) == f"Rotate dave's key {mask_key_id(old)}?"
        await pilot.press("n")  # not yet: choose to delete the old key first
        screen = await wait_phase(pilot, "ready")
        assert aws_keys("dave") == {old: "Active"}
        await pilot.press("d", "enter")
        modal = await wait_for_screen(pilot, ConfirmModal, "the confirmation")
        assert f"5. deactivate {mask_key_id(old)}, then delete it (not reversible)" in text_of(
            modal.query_one("#confirm-body"))
        await pilot.press("y")
        await wait_for_screen(pilot, NewSecretModal, "the new secret")
        await pilot.press("s")
        await wait_for_screen(pilot, ConfirmModal, "the deployed question")
        await pilot.press("y")
        await wait_phase(pilot, "done")
        assert states(screen)["delete old"] == "done"
        (new,) = aws_keys("dave")
        assert new != old and aws_keys("dave") == {new: "Active"}


async def test_rotation_of_a_user_with_two_keys_shows_both_and_creates_nothing(make_app, demo: DemoAccount, faults) -> None:
    before = aws_keys("alice")
    assert len(before) == 2
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await select_user(pilot, "alice")
        await pilot.press("r")
        screen = await wait_phase(pilot, "blocked")
        outcome = text_of(screen.query_one("#rotation-outcome"))
        assert "alice already has two access keys" in outcome
        for key_id in before:
            assert mask_key_id(key_id) in outcome
        assert "last used yesterday (s3, eu-west-1)" in outcome and "last used today (sts, us-east-1)" in outcome
        assert "Delete the key that is no longer used first" in outcome and "Nothing was changed." in outcome
        assert states(screen)["preflight"] == "failed"
        assert not any(isinstance(s, ConfirmModal) for s in app.screen_stack), "nothing to confirm"
        assert screen.check_action("start", ()) is False
        await pilot.press("enter")  # does nothing: there is nothing to start
        assert not any(isinstance(s, ConfirmModal) for s in app.screen_stack)
    assert aws_keys("alice") == before
    assert faults.count("CreateAccessKey") == 0


class _RefusedNewKey:
    """sts get-caller-identity signed with the new key fails (as for a key AWS does not accept yet) while
    `refuse` is set. The engine polls on the test's FixedClock, so its 60 s timeout passes at once."""

    def __init__(self) -> None:
        self.refuse = True
        self.calls = 0

    def __call__(self, key, target, region=None):  # type: ignore[no-untyped-def]
        from keytui.core.aws import identity_for_key

        self.calls += 1
        if self.refuse:
            raise AwsError("The security token included in the request is invalid.", code="InvalidClientTokenId")
        return identity_for_key(key, target, region)


@pytest.fixture
def refused_new_key(monkeypatch: pytest.MonkeyPatch) -> _RefusedNewKey:
    fake = _RefusedNewKey()
    # Services.rotation_engine() looks identity_for_key up at each verification.
    monkeypatch.setattr("keytui.services.identity_for_key", fake)
    return fake


async def test_rotation_verify_failure_offers_roll_back_which_keeps_the_old_key(
    make_app, demo: DemoAccount, refused_new_key: _RefusedNewKey
) -> None:
    vault = Vault(demo.keyring)
    old = vault.get_key(DEMO_PROFILE).access_key_id
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await start_rotation(pilot, "ops-admin")
        await pilot.press("y")
        screen = await wait_phase(pilot, "failed")
        assert refused_new_key.calls > 1, "the engine polls before giving up"
        (new,) = set(aws_keys("ops-admin")) - {old}
        assert states(screen) == {"preflight": "done", "create": "done", "store": "done", "verify": "failed",
                                  "switch": "pending", "deactivate old": "pending"}
        outcome = text_of(screen.query_one("#rotation-outcome"))
        assert "AWS did not accept the new key within 60 s (InvalidClientTokenId)" in outcome
        assert f"Now: new key {mask_key_id(new)}" in outcome and f"old key {mask_key_id(old)} still active" in outcome
        choices = text_of(screen.query_one("#rotation-choices"))
        assert "u    resume" in choices and "b    roll back" in choices and "esc  close" in choices
        assert screen.check_action("rollback", ()) is True and screen.check_action("resume", ()) is True
        # The profile still uses the old key; the new one waits beside it.
        assert vault.get_key(DEMO_PROFILE).access_key_id == old
        assert vault.get_pending(DEMO_PROFILE).access_key_id == new

        await pilot.press("b")
        modal = await wait_for_screen(pilot, ConfirmModal, "the roll-back confirmation")
        assert f"deletes the new key {mask_key_id(new)}" in text_of(modal.query_one("#confirm-body"))
        await pilot.press("y")
        await wait_phase(pilot, "rolled-back")
        assert "Rolled back" in text_of(screen.query_one("#rotation-outcome"))
    assert aws_keys("ops-admin") == {old: "Active"}
    assert vault.get_key(DEMO_PROFILE).access_key_id == old and vault.get_pending(DEMO_PROFILE) is None
    assert JournalStore().open_journals() == []


async def test_interrupted_rotation_shows_a_banner_and_r_resumes_it(
    make_app, demo: DemoAccount, refused_new_key: _RefusedNewKey
) -> None:
    vault = Vault(demo.keyring)
    old = vault.get_key(DEMO_PROFILE).access_key_id
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await start_rotation(pilot, "ops-admin")
        await pilot.press("y")
        await wait_phase(pilot, "failed")
        (new,) = set(aws_keys("ops-admin")) - {old}

        await pilot.press("escape")  # close; resume later
        main = await wait_loaded(pilot)
        banner = main.query_one("#rotations-banner")
        assert not banner.has_class("hidden")
        text = text_of(banner)
        journal = JournalStore().load("ops-admin")
        assert journal is not None and journal.new_key_id == new
        assert text.startswith(f"⚠ Interrupted rotation of ops-admin (old key {mask_key_id(old)}): "
                               f"{journal.describe()}")
        assert mask_key_id(new) in text and "still active" in text
        assert "Select ops-admin and press r to resume or roll it back." in text

        await select_user(pilot, "ops-admin")
        await pilot.press("r")
        screen = await wait_phase(pilot, "open")
        assert "An earlier rotation of ops-admin" in text_of(screen.query_one("#rotation-outcome"))
        assert states(screen)["store"] == "done" and states(screen)["verify"] == "pending"

        refused_new_key.refuse = False  # AWS now accepts the new key
        await pilot.press("u")
        await wait_phase(pilot, "done")
        assert states(screen)["deactivate old"] == "done"
        await pilot.press("escape")
        main = await wait_loaded(pilot)
        assert main.query_one("#rotations-banner").has_class("hidden")
    assert aws_keys("ops-admin") == {old: "Inactive", new: "Active"}
    assert vault.get_key(DEMO_PROFILE).access_key_id == new


async def test_discarding_the_new_secret_deletes_the_new_key(make_app, demo: DemoAccount) -> None:
    (old,) = aws_keys("mallory")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await start_rotation(pilot, "mallory")
        await pilot.press("y")
        await wait_for_screen(pilot, NewSecretModal, "the new secret")
        await pilot.press("escape")
        sure = await wait_for_screen(pilot, ConfirmModal, "the discard confirmation")
        assert text_of(sure.query_one("#confirm-title")) == "Discard the new key?"
        await pilot.press("y")
        screen = await wait_phase(pilot, "failed")
        assert "Nothing is left open." in text_of(screen.query_one("#rotation-outcome"))
        assert screen.check_action("resume", ()) is False and screen.check_action("rollback", ()) is False
    assert aws_keys("mallory") == {old: "Active"}
    assert JournalStore().open_journals() == []


async def test_rotate_key_is_disabled_without_a_selected_user(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        main = await wait_loaded(pilot)
        assert main.check_action("rotate", ()) is True
        await pilot.press("slash", *"nobody-matches", "enter")
        await pilot.pause()
        assert main.check_action("rotate", ()) is None  # shown, greyed out
        await pilot.press("r")
        assert app.screen is main


async def test_quit_waits_while_a_rotation_runs(make_app, demo: DemoAccount) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await start_rotation(pilot, "mallory")
        await pilot.press("y")
        await wait_for_screen(pilot, NewSecretModal, "the new secret")
        await pilot.press("ctrl+q")  # a priority binding: it reaches the app through the modal
        await pilot.pause()
        assert app.is_running and "A rotation is running" in " ".join(n.message for n in app._notifications)
        await pilot.press("s")
        await wait_for_screen(pilot, ConfirmModal, "the deployed question")
        await pilot.press("y")
        await wait_phase(pilot, "done")
        assert isinstance(app.screen_stack[-2], MainScreen)


class TestRotationSnapshots:
    def test_rotation_screen_waiting_for_deployment(self, snap_compare, make_app, demo: DemoAccount,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
        """Mid-way: created, stored by the user, verified; the screen asks whether the key is deployed."""
        monkeypatch.setattr("moto.iam.models.generate_access_key_id_from_account_id", lambda *a, **k: NEW_KEY_ID)

        async def run_before(pilot: Pilot[object]) -> None:
            await start_rotation(pilot, "mallory")
            await pilot.press("y")
            await wait_for_screen(pilot, NewSecretModal, "the new secret")
            await pilot.press("s")
            await wait_for_screen(pilot, ConfirmModal, "the deployed question")
            await pilot.pause()
            freeze_cursor_blink(pilot.app)

        assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_step_rows_follow_the_engines_steps() -> None:
    # The checklist has one row per step the engine reports (DONE is the summary, not a row).
    from keytui.ui.screens.rotation import STEPS

    assert [step for step in Step if step is not Step.DONE] == list(STEPS)
    assert FULL_KEY_ID.fullmatch(NEW_KEY_ID)


async def test_rotating_your_own_plaintext_key_says_to_import_it_first(make_app, make_services, demo: DemoAccount) -> None:
    """Profile bob-laptop keeps bob's key in the plaintext credentials file: keytui cannot switch it, so `r`
    on bob says how to move it into the keyring, and nothing starts (the same rule as `keytui rotate`)."""
    before = aws_keys("bob")
    app = make_app(make_services("bob-laptop"))
    async with app.run_test(size=SIZE) as pilot:
        main = await wait_loaded(pilot)
        await select_user(pilot, "bob")
        await pilot.press("r")
        await pilot.pause()
        assert app.screen is main
        (note,) = [n.message for n in app._notifications]
        assert "not from keytui's keyring" in note and "import 'bob-laptop'" in note
    assert aws_keys("bob") == before


def test_step_row_shows_elapsed_seconds_while_running_or_waiting() -> None:
    from datetime import timedelta

    row = StepRow(Step.VERIFY, "verify it", 12)
    row.state, row.since = "running", NOW
    assert row.state_text(NOW + timedelta(seconds=12)) == "running 12 s"
    row.state, row.detail = "waiting", "new keys take a few seconds to work (InvalidClientTokenId)"
    assert row.state_text(NOW + timedelta(seconds=3)) == "waiting 3 s — new keys take a few seconds to work (InvalidClientTokenId)"
    row.state, row.detail = "done", "AWS accepts the new key"
    assert row.state_text(NOW + timedelta(seconds=60)) == "AWS accepts the new key"
