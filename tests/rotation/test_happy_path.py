"""The rotation when nothing goes wrong, step by step, against moto: a managed profile's own key (the new key
goes to the keyring, the profile switches to it) and another user's key (shown once, deployed by a person)."""

from __future__ import annotations

import json
import stat
from typing import Any

import pytest

from keytui.core.rotation import Step

from ..conftest import Faults
from .conftest import FakeEvents, Injector, Rig, mask


def watch(rig: Rig, events: FakeEvents) -> dict[tuple[str, str], dict[str, Any]]:
    """After every 'done' event: AWS's keys, the profile's keyring entry and the journal on disk."""
    seen: dict[tuple[str, str], dict[str, Any]] = {}

    def look(step: str, state: str) -> None:
        if state != "done":
            return
        path = rig.journal_path()
        seen[(step, state)] = {
            "aws": rig.aws_keys(),
            "held": rig.held(),
            "journal": json.loads(path.read_text()) if path.exists() else None,
            "journal_text": path.read_text() if path.exists() else "",
            "mode": stat.S_IMODE(path.stat().st_mode) if path.exists() else None,
        }

    events.on_step = look
    return seen


@pytest.mark.parametrize("delete_old", [False, True], ids=["deactivate-only", "delete-old"])
def test_rotate_own_key_every_step(own: Rig, inject: Injector, delete_old: bool) -> None:
    events = FakeEvents()
    seen = watch(own, events)
    old = own.old_key_id

    result = own.rotate(events, delete_old=delete_old)

    new = result.new_key_id
    assert new and new != old
    last = ["delete old"] if delete_old else []
    assert result.steps == tuple(["preflight", "create", "store", "verify", "switch", "deactivate old", *last])
    assert (result.status, result.old_key_id, result.user) == ("done", old, "alice")
    # The events: each step running then done, in order, nothing waiting or failed.
    assert [(s, st) for s, st, _ in events.steps] == [
        (s, st) for s in (*result.steps, "done") for st in (("running", "done") if s != "done" else ("done",))
    ]
    secret = own.secret_of(new)
    pending = {"AccessKeyId": old, "PendingAccessKeyId": new, "PendingSecretAccessKey": secret}

    # After each step, the world is exactly what that step promises.
    at = {step: seen[(step, "done")] for step in result.steps}
    assert at["preflight"]["aws"] == {old: "Active"}
    assert at["preflight"]["journal"]["done"] == ["preflight"]
    assert at["preflight"]["journal"]["keys_before"] == [old]
    assert at["create"]["aws"] == {old: "Active", new: "Active"}
    assert at["create"]["journal"]["new_key_id"] == new
    assert at["create"]["held"]["AccessKeyId"] == old and "PendingAccessKeyId" not in at["create"]["held"]
    assert {k: at["store"]["held"][k] for k in pending} == pending  # the old key still beside it
    assert at["verify"]["aws"] == {old: "Active", new: "Active"}
    assert (at["switch"]["held"]["AccessKeyId"], at["switch"]["held"]["SecretAccessKey"]) == (new, secret)
    assert at["switch"]["aws"] == {old: "Active", new: "Active"}  # the old key is touched only after the switch
    assert at["deactivate old"]["aws"] == {old: "Inactive", new: "Active"}
    if delete_old:
        assert at["delete old"]["aws"] == {new: "Active"}
    for step in result.steps:
        assert at[step]["journal"]["done"] == list(result.steps[: result.steps.index(step) + 1])
        assert at[step]["journal"]["running"] is None
        assert at[step]["mode"] == 0o600
        assert secret not in at[step]["journal_text"] and "Secret" not in at[step]["journal_text"]

    # The end: AWS has the new key Active (the old one Inactive, or gone), the keyring the new key only.
    assert own.aws_keys() == ({new: "Active"} if delete_old else {old: "Inactive", new: "Active"})
    held = own.held()
    assert (held["AccessKeyId"], held["SecretAccessKey"]) == (new, secret)
    assert not {"PendingAccessKeyId", "PendingSecretAccessKey"} & set(held)
    assert own.journal() is None and not own.journal_path().exists()
    assert events.switched_to == [new]
    assert events.shown == [] and events.deployed_asked == []  # the keyring holds it: nothing to show or ask
    assert events.steps[-1] == ("done", "done", (
        f"new key {mask(new)} verified and in use by profile 'work'; old key {mask(old)} "
        f"{'deleted' if delete_old else 'inactive'}."))


def test_rotate_own_key_signs_with_the_old_key_until_the_switch(own: Rig, inject: Injector) -> None:
    result = own.rotate(FakeEvents(), delete_old=True)
    assert inject.keys_for("CreateAccessKey") == [own.old_key_id]
    assert inject.keys_for("GetCallerIdentity") == [result.new_key_id]  # verified with the new key itself
    assert inject.keys_for("UpdateAccessKey") == [result.new_key_id]
    assert inject.keys_for("DeleteAccessKey") == [result.new_key_id]


@pytest.mark.parametrize("delete_old", [False, True], ids=["deactivate-only", "delete-old"])
def test_rotate_other_users_key_every_step(other: Rig, inject: Injector, faults: Faults, delete_old: bool) -> None:
    old = other.old_key_id
    at_deploy: dict[str, Any] = {}
    events = FakeEvents()
    events.on_deployed = lambda: at_deploy.update(aws=other.aws_keys(), updates=faults.count("UpdateAccessKey"),
                                                  journal=other.journal())

    result = other.rotate(events, delete_old=delete_old)

    new = result.new_key_id
    assert result.status == "done" and new and new != old
    # The secret was shown once, the deployment confirmed for exactly that key.
    assert [k.access_key_id for k in events.shown] == [new]
    assert events.shown[0].secret.reveal() == other.secret_of(new)
    assert events.deployed_asked == [new]
    # When asked, both keys worked and nothing had touched the old one yet.
    assert at_deploy["aws"] == {old: "Active", new: "Active"}
    assert at_deploy["updates"] == 0
    assert at_deploy["journal"].done == ["preflight", "create", "store", "verify"]
    assert other.aws_keys() == ({new: "Active"} if delete_old else {old: "Inactive", new: "Active"})
    # An administrator's rotation of someone else's key never writes the keyring.
    assert other.keyring.writes == []
    assert events.switched_to == []
    assert other.journal() is None
    assert events.steps[-1] == ("done", "done", (
        f"new key {mask(new)} verified and deployed; old key {mask(old)} {'deleted' if delete_old else 'inactive'}."))


def test_rotate_other_users_key_declined_store_deletes_the_new_key(other: Rig, inject: Injector) -> None:
    from keytui.core.rotation import RotationError

    events = FakeEvents(stored=False)
    with pytest.raises(RotationError) as caught:
        other.rotate(events)
    new = events.shown[0].access_key_id
    assert str(caught.value) == (
        f"Cancelled: the new key was not stored. keytui deleted the new key {mask(new)}; the old key "
        f"{mask(other.old_key_id)} is untouched. Nothing else changed."
    )
    assert other.aws_keys() == {other.old_key_id: "Active"}
    assert other.journal() is None
    assert events.steps[-1] == ("store", "failed", str(caught.value))


def test_journal_holds_no_secret_and_is_private(own: Rig, inject: Injector) -> None:
    events = FakeEvents(interrupt_at=(Step.VERIFY, "running"))
    with pytest.raises(KeyboardInterrupt):
        own.rotate(events)
    text = own.journal_text()
    journal = own.journal()
    assert journal is not None and journal.new_key_id
    assert own.secret_of(journal.new_key_id) not in text
    assert own.secret_of(own.old_key_id) not in text
    assert set(json.loads(text)) == {"user", "old_key_id", "profile", "delete_old", "keys_before", "started_at",
                                      "new_key_id", "done", "status", "error", "running", "store_as"}
    assert stat.S_IMODE(own.journal_path().stat().st_mode) == 0o600
    assert stat.S_IMODE(own.journal_path().parent.stat().st_mode) == 0o700
