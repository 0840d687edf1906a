"""Inactive keys in the app, end to end on the demo account: the keys panel marks the ones past their grace
period, `d` deletes one after a confirmation (and refuses active keys and unknown keys); on the rotation screen,
two keys one of which is inactive (F-01) offer to delete that one and then rotate; and another user's new key
can be kept by keytui as a new keytui profile from the new-secret modal.

AWS's state is read from moto's backend directly, the keyring's from the demo's keyring, the AWS config from the
demo's file. Every test starts its own demo account (they change it)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from keyring.errors import PasswordSetError
from textual.widgets import Button, DataTable, Input

from keytui.core.masking import Secret, mask_key_id as mask
from keytui.core.models import LongTermKey
from keytui.core.rotation import JournalStore
from keytui.core.settings import RotationSettings, Settings
from keytui.demo import DemoAccount
from keytui.ui.screens.confirm import ConfirmModal
from keytui.ui.screens.main import MainScreen
from keytui.ui.screens.new_secret import NewSecretModal
from keytui.vault.store import Vault

from ..conftest import Sandbox
from ..vault.conftest import KEYTUI, no_credential_chain, run_cli, use_keyring  # noqa: F401  (fixtures)
from .support import SIZE, notifications, select_user, text_of, wait_loaded, wait_until
from .test_rotation import (  # noqa: F401  (demo: a fresh demo account per test)
    aws_keys,
    demo,
    files_containing,
    key_rows,
    secret_of,
    start_rotation,
    states,
    wait_for_screen,
    wait_phase,
)


def keys_note(app: Any) -> str:
    return text_of(app.screen.query_one("#keys-note"))


async def focus_key(pilot: Any, key_id: str) -> None:
    """The keys panel focused, its cursor on `key_id`."""
    await pilot.press("enter")
    table = pilot.app.screen.query_one("#keys", DataTable)
    assert pilot.app.focused is table
    table.move_cursor(row=table.get_row_index(key_id), animate=False)
    await pilot.pause()


async def confirm_modal(pilot: Any, title_starts: str) -> ConfirmModal:
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, ConfirmModal)
                     and text_of(pilot.app.screen.query_one("#confirm-title")).startswith(title_starts),
                     f"the question '{title_starts}…'", idle=False)
    return pilot.app.screen


# -- the keys panel and `d` ------------------------------------------------------------------------------------


async def test_keys_panel_marks_inactive_keys_past_grace(make_app, demo: DemoAccount) -> None:
    (walter,) = aws_keys("walter")
    erin = {status: key for key, status in aws_keys("erin").items()}
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await select_user(pilot, "walter")
        assert key_rows(app) == {mask(walter): ("Inactive · past grace", "-")}
        assert keys_note(app) == f"{mask(walter)} inactive, unused 380 d — past grace, can be deleted: press d."
        await select_user(pilot, "erin")
        assert key_rows(app) == {mask(erin["Inactive"]): ("Inactive · past grace", "-"),
                                 mask(erin["Active"]): ("Active", "-")}
        assert keys_note(app) == ("At AWS's limit of two keys (inactive keys count).\n"
                                  f"{mask(erin['Inactive'])} inactive, unused 80 d — past grace, can be deleted: press d.")
        await select_user(pilot, "carol")  # one active key, in use: nothing to say
        assert keys_note(app) == ""


async def test_keys_panel_within_the_grace_period(make_app, demo: DemoAccount) -> None:
    (walter,) = aws_keys("walter")
    app = make_app(settings=Settings(rotation=RotationSettings(grace_days=400)))
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await select_user(pilot, "walter")
        assert key_rows(app) == {mask(walter): ("Inactive", "-")}
        assert keys_note(app) == f"{mask(walter)} inactive, unused 380 d — in its 400-day grace period (20 d left)."


async def test_d_deletes_the_inactive_key_after_a_confirmation(make_app, demo: DemoAccount) -> None:
    (key,) = aws_keys("walter")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await select_user(pilot, "walter")
        await pilot.press("d")
        modal = await confirm_modal(pilot, "Delete")
        assert text_of(modal.query_one("#confirm-title")) == f"Delete inactive key {mask(key)} of walter?"
        assert text_of(modal.query_one("#confirm-body")) == (
            f"Key {mask(key)} of walter: Inactive, 400d old, last used 380d ago (s3, us-east-1).\n"
            "It is inactive, unused 380 d — past grace, can be deleted.\n"
            "keytui asks AWS again first and deletes the key only if it is still inactive. A deleted key cannot be "
            "brought back; nothing else changes.")
        assert aws_keys("walter") == {key: "Inactive"}, "nothing before the answer"

        await pilot.press("y")
        await wait_until(pilot, lambda: "Key deleted: Deleted the inactive key "
                         f"{mask(key)} of walter." in notifications(app), "the deletion")
        main = await wait_loaded(pilot)
        assert aws_keys("walter") == {}
        await select_user(pilot, "walter")
        assert main.query_one("#keys", DataTable).row_count == 0
        assert keys_note(app) == "No access keys."
    assert aws_keys("walter") == {}


async def test_d_on_the_chosen_key_in_the_keys_panel(make_app, demo: DemoAccount) -> None:
    erin = {status: key for key, status in aws_keys("erin").items()}
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await select_user(pilot, "erin")
        await focus_key(pilot, erin["Active"])
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen), "no confirmation for an active key"
        assert notifications(app) == [
            f"Cannot delete: Key {mask(erin['Active'])} of erin is active; keytui deletes only inactive keys. To "
            "replace it, rotate it (r): the rotation deactivates it once the new key works."]

        await focus_key(pilot, erin["Inactive"])
        await pilot.press("d")
        modal = await confirm_modal(pilot, "Delete")
        assert text_of(modal.query_one("#confirm-title")) == f"Delete inactive key {mask(erin['Inactive'])} of erin?"
        await pilot.press("n")
        await pilot.pause()
    assert aws_keys("erin") == {erin["Inactive"]: "Inactive", erin["Active"]: "Active"}


async def test_d_refuses_a_user_with_no_inactive_key(make_app, demo: DemoAccount) -> None:
    before = aws_keys("dave")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await select_user(pilot, "dave")
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        assert notifications(app) == ["Cannot delete: dave has no inactive key to delete."]
    assert aws_keys("dave") == before


async def test_d_refuses_when_the_users_keys_are_unknown(make_app, demo: DemoAccount, faults) -> None:
    before = aws_keys("walter")
    faults.deny("ListAccessKeys", when=lambda params: params.get("UserName") == "walter")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await select_user(pilot, "walter")
        assert keys_note(app).startswith("Keys: unknown (AccessDenied).")
        app.clear_notifications()
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        assert notifications(app) == [
            "Cannot delete: The keys of walter are unknown (AccessDenied); keytui does not act on a partial list. "
            "Refresh with ctrl+r."]
    assert aws_keys("walter") == before
    assert faults.count("DeleteAccessKey") == 0


async def test_d_asks_aws_again_and_refuses_a_key_made_active_meanwhile(make_app, demo: DemoAccount) -> None:
    from moto.iam.models import iam_backends

    (key,) = aws_keys("walter")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await select_user(pilot, "walter")
        await pilot.press("d")
        await confirm_modal(pilot, "Delete")
        iam_backends["123456789012"]["aws"].update_access_key("walter", key, "Active")  # someone else, meanwhile
        await pilot.press("y")
        await wait_until(pilot, lambda: any(n.startswith("Could not delete the key") for n in notifications(app)),
                         "the refusal")
        assert notifications(app) == [
            f"Could not delete the key: Key {mask(key)} of walter is active in AWS (it was made active again, or never "
            "deactivated); keytui deletes only inactive keys. Nothing was deleted."]
        assert app.is_running
    assert aws_keys("walter") == {key: "Active"}


async def test_a_rotation_leaves_the_old_key_in_its_grace_period(make_app, demo: DemoAccount) -> None:
    """The rotation's own record is the evidence: 0 days inactive, not the 60 days since its last use."""
    (old,) = aws_keys("mallory")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await start_rotation(pilot, "mallory")
        await pilot.press("y")
        await wait_for_screen(pilot, NewSecretModal, "the new secret")
        await pilot.press("s")
        await wait_for_screen(pilot, ConfirmModal, "the deployed question")
        await pilot.press("y")
        await wait_phase(pilot, "done")
        await pilot.press("escape")
        await wait_loaded(pilot)
        await select_user(pilot, "mallory")
        assert keys_note(app) == ("At AWS's limit of two keys (inactive keys count).\n"
                                  f"{mask(old)} inactive 0 d — in its 7-day grace period (7 d left).")
        assert key_rows(app)[mask(old)] == ("Inactive", "-")


# -- F-01 on the rotation screen ---------------------------------------------------------------------------------


async def test_two_keys_one_inactive_delete_it_then_the_rotation_runs(make_app, demo: DemoAccount, faults) -> None:
    keys = {status: key for key, status in aws_keys("ci-deploy").items()}
    active, inactive = keys["Active"], keys["Inactive"]
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await select_user(pilot, "ci-deploy")
        await pilot.press("r")
        screen = await wait_phase(pilot, "blocked")
        outcome = text_of(screen.query_one("#rotation-outcome"))
        assert outcome.endswith(f"The inactive key {mask(inactive)} is the one to delete: delete it here (x), then the "
                                "rotation is checked again. Nothing was changed.")
        button = screen.query_one("#rotation-delete-inactive", Button)
        assert button.display and str(button.label) == f"Delete inactive key {mask(inactive)} (x)"
        assert faults.count("CreateAccessKey") == 0

        await pilot.click("#rotation-delete-inactive")
        modal = await confirm_modal(pilot, "Delete")
        assert text_of(modal.query_one("#confirm-title")) == f"Delete inactive key {mask(inactive)} of ci-deploy?"
        body = text_of(modal.query_one("#confirm-body"))
        assert body.startswith(f"Key {mask(inactive)} of ci-deploy: Inactive, 95d old, last used 200d ago (ecr, "
                               "us-east-1).\nIt is inactive, unused 200 d — past grace, can be deleted.")
        await pilot.press("y")

        # Deleted, checked again, and the rotation asks to start: from the same screen.
        start = await confirm_modal(pilot, "Rotate")
        assert text_of(start.query_one("#confirm-title")) == f"Rotate ci-deploy's key {mask(active)}?"
        assert aws_keys("ci-deploy") == {active: "Active"}
        assert not screen.query_one("#rotation-delete-inactive", Button).display
        assert states(screen)["preflight"] == "done"
        await pilot.press("y")
        await wait_for_screen(pilot, NewSecretModal, "the new secret")
        await pilot.press("s")
        await wait_for_screen(pilot, ConfirmModal, "the deployed question")
        await pilot.press("y")
        await wait_phase(pilot, "done")
        (new,) = set(aws_keys("ci-deploy")) - {active}
    assert aws_keys("ci-deploy") == {active: "Inactive", new: "Active"}


async def test_two_active_keys_offer_no_deletion(make_app, demo: DemoAccount) -> None:
    before = aws_keys("alice")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await select_user(pilot, "alice")
        await pilot.press("r")
        screen = await wait_phase(pilot, "blocked")
        assert text_of(screen.query_one("#rotation-outcome")).endswith(
            "Both keys are active, and keytui deletes only inactive keys. Delete the key that is no longer used first "
            "(deactivate it, check nothing breaks, then delete it), then rotate. Nothing was changed.")
        assert not screen.query_one("#rotation-delete-inactive", Button).display
        assert screen.check_action("delete_inactive", ()) is False
        await pilot.press("x")
        await pilot.pause()
        assert app.screen is screen
    assert aws_keys("alice") == before


# -- another user's new key kept as a keytui profile ---------------------------------------------------------


async def test_new_secret_modal_stores_the_key_as_a_keytui_profile(
    make_app, demo: DemoAccount, sandbox: Sandbox, run_cli, use_keyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    (old,) = aws_keys("mallory")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await start_rotation(pilot, "mallory")
        await pilot.press("y")
        modal = await wait_for_screen(pilot, NewSecretModal, "the new secret")
        (new,) = set(aws_keys("mallory")) - {old}
        name = modal.query_one("#secret-profile", Input)
        error = modal.query_one("#secret-store-error")
        assert not name.display or name.disabled

        await pilot.press("k")
        assert app.focused is name
        await pilot.press(*"demo", "enter")
        assert text_of(error) == "Profile 'demo' already exists; choose a new name (keytui does not overwrite a profile)."
        name.value = ""
        await pilot.press(*"two words]", "enter")
        assert text_of(error) == ("'two words]' is not a usable profile name: use letters, digits and _ . @ + = , : / - "
                                  "(at most 64).")
        assert app.screen is modal and aws_keys("mallory") == {old: "Active", new: "Active"}
        name.value = ""
        await pilot.press(*"mallory-ci", "enter")

        screen = await wait_phase(pilot, "done")
        assert not any(isinstance(s, ConfirmModal) for s in app.screen_stack), "no 'deployed?' question"
        assert states(screen) == {s: "done" for s in ("preflight", "create", "store", "verify", "switch",
                                                      "deactivate old")}
        assert text_of(screen.query_one("#step-store")).endswith("kept by keytui as profile 'mallory-ci' (keyring)")
    secret = secret_of("mallory", new)
    assert aws_keys("mallory") == {old: "Inactive", new: "Active"}
    assert Vault(demo.keyring).get_key("mallory-ci") == LongTermKey(new, Secret(secret))
    config = demo.config_file.read_text()
    assert f"[profile mallory-ci]\ncredential_process = {KEYTUI} credential-process --profile mallory-ci\n" in config
    assert files_containing(secret, sandbox.root, demo.home) == []

    # Any tool reaches the new key through the profile.
    monkeypatch.setenv("AWS_CONFIG_FILE", str(demo.config_file))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(demo.credentials_file))
    use_keyring(demo.keyring)
    served = run_cli("credential-process", "--profile", "mallory-ci")
    assert served.code == 0 and served.err == ""
    assert json.loads(served.out) == {"Version": 1, "AccessKeyId": new, "SecretAccessKey": secret}


async def test_new_secret_modal_store_failure_deletes_the_new_key(
    make_app, demo: DemoAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    (old,) = aws_keys("mallory")
    write = demo.keyring.set_password

    def refuse_the_profile(service: str, name: str, value: str) -> None:
        if name == "profile:mallory-ci":
            raise PasswordSetError("write access denied")
        write(service, name, value)

    monkeypatch.setattr(demo.keyring, "set_password", refuse_the_profile)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await start_rotation(pilot, "mallory")
        await pilot.press("y")
        await wait_for_screen(pilot, NewSecretModal, "the new secret")
        (new,) = set(aws_keys("mallory")) - {old}
        await pilot.press("k", *"mallory-ci", "enter")

        screen = await wait_phase(pilot, "failed")
        outcome = text_of(screen.query_one("#rotation-outcome"))
        assert outcome.startswith("✗ The new key could not be stored as keytui profile 'mallory-ci'. Could not write "
                                  "'profile:mallory-ci' to the keyring")
        assert (f"keytui deleted the new key {mask(new)}; the old key {mask(old)} is untouched. Nothing else changed."
                in outcome)
        assert outcome.endswith("Nothing is left open.")
        assert states(screen)["store"] == "failed"
    assert aws_keys("mallory") == {old: "Active"}
    assert Vault(demo.keyring).get_key("mallory-ci") is None
    assert "mallory-ci" not in demo.config_file.read_text()
    assert JournalStore().open_journals() == []


async def test_d_is_listed_in_the_help_with_its_binding_id(make_app, demo: DemoAccount) -> None:
    from keytui.ui.screens.help import HelpModal

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpModal)
        lines = [line.split() for line in text_of(app.screen.query_one("#help-live")).splitlines()]
        assert ["d", "Delete", "inactive", "key", "keys.delete_inactive"] in lines
