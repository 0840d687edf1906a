"""Another user's new key kept by keytui under a new keytui profile (`keytui rotate USER --store-as PROFILE`,
or the TUI's "Store as keytui profile…"): the keyring entry (read back) and the credential_process line are
written at the store step, before any secret would be shown; no "deployed?" question; the old key is still
only deactivated after verification. A store that fails deletes the new key. Journals stay free of secrets."""

from __future__ import annotations

import json
from typing import Any

import pytest
from keyring.errors import PasswordSetError

from keytui.cli_rotate import CliEvents
from keytui.core.errors import KeytuiError
from keytui.core.rotation import JournalStore, RotationError, Step, StoreAs
from keytui.vault.errors import DOCTOR
from keytui.vault.store import Vault

from ..vault.conftest import KEYTUI, stored_json
from .conftest import FakeEvents, Injector, Rig, demo_keys, mask


def profile_write(name: str):  # type: ignore[no-untyped-def]
    """The write of the new profile's keyring entry."""
    return lambda entry, value, before: entry == f"profile:{name}"


def config_text(rig: Rig) -> str:
    return rig.account.files.config.read_text()


# -- the engine -------------------------------------------------------------------------------------------------


def test_store_as_answer_keeps_the_new_key_in_a_new_profile_and_asks_nothing_more(other: Rig, inject: Injector) -> None:
    old = other.old_key_id
    seen: dict[str, Any] = {}
    events = FakeEvents(stored=StoreAs("bob-ci"))  # type: ignore[arg-type]
    events.on_step = lambda step, state: seen.update(journal=other.journal_text()) if (step, state) == (
        "store", "done") else None

    result = other.rotate(events)

    new = result.new_key_id
    assert result.status == "done" and new not in (None, old)
    assert events.deployed_asked == [], "keytui holds the key: nothing to confirm"
    assert other.aws_keys() == {old: "Inactive", new: "Active"}
    entry = other.keyring.entry("profile:bob-ci")
    assert entry is not None
    assert (entry["AccessKeyId"], entry["SecretAccessKey"], entry["IamUser"]) == (new, other.secret_of(new), "bob")
    assert f"[profile bob-ci]\ncredential_process = {KEYTUI} credential-process --profile bob-ci\n" in config_text(other)
    # The journal named the profile, never the secret.
    assert json.loads(seen["journal"])["store_as"] == "bob-ci"
    assert other.secret_of(new) not in seen["journal"]
    assert ("store", "done", "kept by keytui as profile 'bob-ci' (keyring)") in events.steps
    assert ("switch", "done", f"keytui profile 'bob-ci' holds {mask(new)}") in events.steps
    assert events.steps[-1] == ("done", "done", f"new key {mask(new)} verified and held by keytui profile 'bob-ci'; "
                                                f"old key {mask(old)} inactive.")
    assert other.journal() is None


def test_store_as_keyring_refusal_deletes_the_new_key(other: Rig, inject: Injector) -> None:
    old = other.old_key_id
    other.keyring.fail(profile_write("bob-ci"))
    events = FakeEvents()

    with pytest.raises(RotationError) as caught:
        other.engine().rotate("bob", old, None, events, store_as="bob-ci")

    (created,) = [d for s, st, d in events.steps if (s, st) == ("create", "done")]
    new = created.removeprefix("new key ")
    assert str(caught.value) == (
        "The new key could not be stored as keytui profile 'bob-ci'. Could not write 'profile:bob-ci' to the "
        f"keyring: the keyring ({other.keyring.name}) refused the write (write access denied). {DOCTOR} keytui "
        f"deleted the new key {new}; the old key {mask(old)} is untouched. Nothing else changed.")
    assert other.aws_keys() == {old: "Active"}, "the new key was deleted in AWS"
    assert events.shown == [], "never shown"
    assert other.keyring.entry("profile:bob-ci") is None
    assert "bob-ci" not in config_text(other)
    assert other.journal() is None


def test_store_as_an_existing_profile_is_refused_before_any_key(other: Rig, inject: Injector, faults: Any) -> None:
    with pytest.raises(KeytuiError) as caught:
        other.engine().rotate("bob", other.old_key_id, None, FakeEvents(), store_as="admin")

    assert str(caught.value) == (
        f"Profile 'admin' already exists in {other.account.files.config} or {other.account.files.credentials}; "
        "choose a new name (keytui does not overwrite a profile).")
    assert faults.count("CreateAccessKey") == 0
    assert other.aws_keys() == {other.old_key_id: "Active"}


def test_store_as_a_name_the_keyring_already_holds_is_refused(other: Rig, inject: Injector, faults: Any) -> None:
    Vault(other.keyring).write("profile:orphan", json.dumps({"AccessKeyId": "AKIAORPHAN0000000000"}))

    with pytest.raises(KeytuiError, match="The keyring already holds a key for profile 'orphan'"):
        other.engine().rotate("bob", other.old_key_id, None, FakeEvents(), store_as="orphan")

    assert faults.count("CreateAccessKey") == 0


def test_store_as_for_your_own_key_is_refused(own: Rig, inject: Injector, faults: Any) -> None:
    with pytest.raises(RotationError) as caught:
        own.engine().rotate("alice", own.old_key_id, "work", FakeEvents(), store_as="alice-2")

    assert str(caught.value) == (
        "A new key is kept under a new keytui profile only when rotating another user's key; your own profile 'work' "
        "is switched to its new key in place. Nothing was changed.")
    assert faults.count("CreateAccessKey") == 0


def test_store_as_interrupted_after_the_store_resumes_with_the_stored_key(other: Rig, inject: Injector) -> None:
    old = other.old_key_id
    events = FakeEvents(interrupt_at=(Step.STORE, "done"))  # Ctrl-C right after the profile was written

    with pytest.raises(KeyboardInterrupt):
        other.engine().rotate("bob", old, None, events, store_as="bob-ci")

    journal = other.journal()
    assert journal is not None and journal.store_as == "bob-ci" and journal.can_resume
    new = journal.new_key_id
    assert journal.describe() == (f"new key {mask(new)} created and held by keytui profile 'bob-ci', not verified "
                                  f"yet; old key {mask(old)} still active.")

    result = other.engine().resume("bob", FakeEvents())

    assert result.new_key_id == new, "verified with the key the profile holds, not replaced"
    assert other.aws_keys() == {old: "Inactive", new: "Active"}
    assert other.keyring.entry("profile:bob-ci")["AccessKeyId"] == new  # type: ignore[index]


def test_store_as_interrupted_during_the_write_leaves_nothing_half_made(other: Rig, inject: Injector) -> None:
    old = other.old_key_id
    other.keyring.fail(profile_write("bob-ci"), "interrupt-after")  # the entry lands, then Ctrl-C

    with pytest.raises(KeyboardInterrupt):
        other.engine().rotate("bob", old, None, FakeEvents(), store_as="bob-ci")

    journal = other.journal()
    assert journal is not None and journal.running == "store"
    first = journal.new_key_id
    # The profile is all or nothing: the entry was taken back, no credential_process line was written.
    assert other.keyring.entry("profile:bob-ci") is None and "bob-ci" not in config_text(other)
    other.keyring.clear()

    result = other.engine().resume("bob", FakeEvents())

    # Nobody held the first new key: the resume deleted it and made (and stored) another.
    assert result.new_key_id not in (None, first, old)
    assert other.aws_keys() == {old: "Inactive", result.new_key_id: "Active"}
    assert other.keyring.entry("profile:bob-ci")["AccessKeyId"] == result.new_key_id  # type: ignore[index]


def test_store_as_rollback_deletes_the_new_key_and_the_profile(other: Rig, inject: Injector) -> None:
    old = other.old_key_id
    # Verification never succeeds: the rotation stops after the store, with the profile written.
    inject.add("sts", "GetCallerIdentity", "error", code="InvalidClientTokenId", signed_by=lambda k: k != old)
    other.timeouts["verify_timeout"] = 3

    with pytest.raises(RotationError, match="AWS did not accept the new key"):
        other.engine().rotate("bob", old, None, FakeEvents(), store_as="bob-ci")
    assert other.keyring.entry("profile:bob-ci") is not None
    engine = other.engine()
    for name, value in other.timeouts.items():
        setattr(engine, name, value)

    result = engine.rollback("bob", FakeEvents())

    assert result.status == "rolled back"
    assert other.aws_keys() == {old: "Active"}
    assert other.keyring.entry("profile:bob-ci") is None
    assert "credential_process = " + f"{KEYTUI} credential-process --profile bob-ci" not in config_text(other)
    assert JournalStore().open_journals() == []


# -- the CLI ------------------------------------------------------------------------------------------------------


@pytest.fixture
def no_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any question on the terminal fails the test: with --store-as keytui shows no secret and asks nothing."""
    def refuse(self: CliEvents) -> Any:
        raise AssertionError("keytui opened the terminal")

    monkeypatch.setattr(CliEvents, "tty", refuse)


def secret_in_aws(key_id: str) -> str:
    from moto.iam.models import iam_backends

    return iam_backends["123456789012"]["aws"].access_keys[key_id].secret_access_key


def test_cli_rotate_store_as_then_credential_process_returns_the_new_key(demo: Any, run_cli: Any,
                                                                          no_terminal: None) -> None:
    (old,) = demo_keys(demo, "dave")

    result = run_cli("rotate", "dave", "--profile", "demo", "--store-as", "dave-ci", "--yes")

    keys = demo_keys(demo, "dave")
    (new,) = [k for k in keys if k != old]
    assert keys == {old: "Inactive", new: "Active"}
    assert (result.code, result.out) == (0, f"done: dave {mask(old)} -> {mask(new)}\n")
    assert result.err == (
        f"✓ preflight       1 key(s); replacing {mask(old)}\n"
        f"✓ create          new key {mask(new)}\n"
        "✓ store           kept by keytui as profile 'dave-ci' (keyring)\n"
        "✓ verify          AWS accepts the new key\n"
        f"✓ switch          keytui profile 'dave-ci' holds {mask(new)}\n"
        f"✓ deactivate old  {mask(old)} is inactive\n"
        f"✓ done            new key {mask(new)} verified and held by keytui profile 'dave-ci'; old key {mask(old)} "
        "inactive.\n"
    )
    secret = secret_in_aws(new)
    assert secret not in result.out + result.err
    entry = stored_json(demo.keyring, "profile:dave-ci")
    assert (entry["AccessKeyId"], entry["SecretAccessKey"]) == (new, secret)
    assert (f"[profile dave-ci]\ncredential_process = {KEYTUI} credential-process --profile dave-ci\n"
            in demo.config_file.read_text())
    assert secret not in demo.config_file.read_text() + demo.credentials_file.read_text()
    assert JournalStore().open_journals() == []
    assert old in JournalStore().deactivated()

    served = run_cli("credential-process", "--profile", "dave-ci")

    assert served.code == 0 and served.err == ""
    assert json.loads(served.out) == {"Version": 1, "AccessKeyId": new, "SecretAccessKey": secret}


def test_cli_rotate_store_as_keyring_fault_deletes_the_new_key(demo: Any, run_cli: Any, no_terminal: None,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    (old,) = demo_keys(demo, "dave")
    write = demo.keyring.set_password

    def refuse_the_profile(service: str, name: str, value: str) -> None:
        if name == "profile:dave-ci":
            raise PasswordSetError("write access denied")
        write(service, name, value)

    monkeypatch.setattr(demo.keyring, "set_password", refuse_the_profile)

    result = run_cli("rotate", "dave", "--profile", "demo", "--store-as", "dave-ci", "--yes")

    assert demo_keys(demo, "dave") == {old: "Active"}, "the new key is deleted, the old one untouched"
    (new,) = [line.split()[-1] for line in result.err.splitlines() if line.startswith("✓ create")]
    failure = (
        "The new key could not be stored as keytui profile 'dave-ci'. Could not write 'profile:dave-ci' to the "
        f"keyring: the keyring ({demo.keyring.name}) refused the write (write access denied). {DOCTOR} keytui deleted "
        f"the new key {new}; the old key {mask(old)} is untouched. Nothing else changed.")
    assert (result.code, result.out) == (1, "")
    assert result.err == (f"✓ preflight       1 key(s); replacing {mask(old)}\n✓ create          new key {new}\n"
                          f"✗ store           {failure}\nkeytui: {failure}\n")
    assert "dave-ci" not in demo.config_file.read_text()
    assert JournalStore().open_journals() == []


def test_cli_rotate_store_as_refusals_change_nothing(demo: Any, run_cli: Any, no_terminal: None) -> None:
    before = demo_keys(demo, "dave")

    own = run_cli("rotate", "--profile", "demo", "--store-as", "mine", "--yes")
    existing = run_cli("rotate", "dave", "--profile", "demo", "--store-as", "bob-laptop", "--yes")
    bad = run_cli("rotate", "dave", "--profile", "demo", "--store-as", "two words]", "--yes")
    resume = run_cli("rotate", "dave", "--profile", "demo", "--store-as", "x", "--resume")

    assert (own.code, own.err) == (2, "keytui: --store-as is for another user's key; your own profile's key is "
                                      "switched to the new one in its keyring entry.\n")
    assert (existing.code, existing.err) == (1, (
        f"keytui: Profile 'bob-laptop' already exists in {demo.config_file} or {demo.credentials_file}; choose a new "
        "name (keytui does not overwrite a profile).\n"))
    assert (bad.code, bad.err) == (2, "keytui: 'two words]' is not a usable profile name: use letters, digits and "
                                      "_ . @ + = , : / - (at most 64).\n")
    assert (resume.code, resume.err) == (2, "keytui: --store-as names where a new rotation keeps its key; --resume and "
                                            "--rollback continue the one the journal names.\n")
    assert demo_keys(demo, "dave") == before
    assert demo_keys(demo, "ops-admin") and len(demo_keys(demo, "ops-admin")) == 1
