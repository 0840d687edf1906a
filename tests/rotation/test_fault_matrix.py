"""The fault matrix: a fault injected at each step of a rotation × each kind of fault, for a managed
profile's own key and for another user's key. After every cell the invariants hold (DESIGN.md, Rotation):

1. at least one of the user's keys is Active and held by the keyring (own key: the profile's entry holds it,
   with its real secret) or was shown to the user (another user's key);
2. no key exists in AWS that keytui created but did not report (the journal names it, or the error message
   does, or the next run's description does);
3. the journal on disk matches AWS and the keyring (and Journal.describe() says nothing AWS contradicts);
4. then resume, or roll-back, completes and leaves exactly one Active key, the one the keyring holds (or the
   one shown), and no journal.

Each cell runs twice: recovered by resume and by roll-back (where a roll-back is refused because the new
key is already in use, the cell checks the refusal and resumes instead; where a resume is impossible because
keytui never kept another user's secret, it checks that refusal and rolls back).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from keytui.core.errors import KeytuiError
from keytui.core.rotation import Journal, RotationError, Step

from .conftest import (
    FakeEvents,
    Injector,
    Rig,
    mask,
    pending_write,
    probe_write,
    promote_write,
)

STEPS = ("preflight", "create", "store", "verify", "switch", "deactivate", "delete")
# AWS calls of each step (the verification is signed with the new key: only those calls fail).
OPERATIONS = {
    "preflight": ("iam", "ListAccessKeys"),
    "create": ("iam", "CreateAccessKey"),
    "verify": ("sts", "GetCallerIdentity"),
    "deactivate": ("iam", "UpdateAccessKey"),
    "delete": ("iam", "DeleteAccessKey"),
}
KEYRING_WRITES = {"preflight": probe_write, "store": pending_write, "switch": promote_write}


@dataclass(frozen=True)
class Cell:
    mode: str  # own | other
    step: str
    kind: str

    @property
    def id(self) -> str:
        return f"{self.mode}-{self.step}-{self.kind}"


def _cells() -> list[Cell]:
    cells = []
    for mode in ("own", "other"):
        for step in STEPS:
            kinds: list[str] = []
            if step in OPERATIONS:
                kinds += ["denied", "throttled", "network"]
            if step in ("verify", "deactivate", "delete"):
                kinds.append("rejected")  # InvalidClientTokenId until the bounded wait runs out
            if mode == "own" and step in KEYRING_WRITES:
                kinds.append("keyring")
            if mode == "other" and step in ("store", "switch"):
                kinds.append("declined")  # the person says 'not stored' / 'not deployed'
            kinds.append("interrupt")
            cells += [Cell(mode, step, kind) for kind in kinds]
    return cells


CELLS = _cells()
MATRIX_SIZE = 55  # 28 for a profile's own key + 27 for another user's key; each recovered two ways


def test_fault_matrix_size_is_55_cells_110_runs() -> None:
    assert len(CELLS) == MATRIX_SIZE == len({c.id for c in CELLS})
    assert sum(c.mode == "own" for c in CELLS) == 28
    # Every step gets every kind that can happen there, KeyboardInterrupt everywhere.
    for mode in ("own", "other"):
        for step in STEPS:
            kinds = {c.kind for c in CELLS if (c.mode, c.step) == (mode, step)}
            assert "interrupt" in kinds
            if step in OPERATIONS:
                assert {"denied", "throttled", "network"} <= kinds
            if mode == "own" and step in KEYRING_WRITES:
                assert "keyring" in kinds


def arm(cell: Cell, rig: Rig, inject: Injector, events: FakeEvents) -> None:
    """Inject the cell's fault. KeyboardInterrupt comes once the step's effect happened (AWS answered, the
    keyring took the write), the case a journal written before it cannot know about; an interrupt *between*
    steps is tests/rotation/test_field_cases.py's F-04."""
    not_old: Callable[[str | None], bool] = lambda key_id: key_id not in rig.keys_before  # noqa: E731
    if cell.kind == "keyring":
        rig.keyring.fail(KEYRING_WRITES[cell.step], "refuse")
        return
    if cell.kind == "declined":
        if cell.step == "store":
            events.stored = False
        else:
            events.deployed = False
        return
    if cell.kind == "interrupt":
        if cell.step in KEYRING_WRITES and cell.step != "preflight" and cell.mode == "own":
            rig.keyring.fail(KEYRING_WRITES[cell.step], "interrupt-after")
        elif cell.step == "store":
            events.stored = KeyboardInterrupt()
        elif cell.step == "switch":
            events.deployed = KeyboardInterrupt()
        else:
            inject.add(*OPERATIONS[cell.step], "interrupt-after", times=1)
        return
    service, operation = OPERATIONS[cell.step]
    signed_by = not_old if cell.step == "verify" else (lambda key_id: True)
    if cell.kind == "denied":
        inject.add(service, operation, "deny", code="AccessDenied", signed_by=signed_by)
    elif cell.kind == "throttled":
        inject.add(service, operation, "throttle", signed_by=signed_by)
    elif cell.kind == "network":
        inject.add(service, operation, "network", signed_by=signed_by)
    elif cell.kind == "rejected":
        inject.add(service, operation, "error", code="InvalidClientTokenId",
                   message="The security token included in the request is invalid.", signed_by=signed_by)


# -- the invariants ----------------------------------------------------------------------------------------


def old_words(status: str | None) -> str:
    return {"Active": "still active", "Inactive": "inactive"}.get(status or "", "deleted")


def check_invariants(rig: Rig, events: FakeEvents, error: BaseException) -> None:
    keys = rig.aws_keys()
    journal = rig.journal()
    old = rig.old_key_id
    created = [k for k in keys if k not in rig.keys_before]
    message = str(error) if isinstance(error, KeytuiError) else ""

    # 1. A key that works is held by the keyring, or was shown (and the person said it is deployed).
    if rig.profile:
        held = rig.held()
        assert held is not None
        assert keys.get(held["AccessKeyId"]) == "Active", (held["AccessKeyId"], keys)
        assert held["SecretAccessKey"] == rig.secret_of(held["AccessKeyId"])
    elif keys.get(old) != "Active":
        shown = [k.access_key_id for k in events.shown]
        assert any(keys.get(k) == "Active" for k in shown) and events.deployed_asked, (keys, shown)

    # 2. Every key keytui created is reported.
    for key_id in created:
        named = (journal is not None and journal.new_key_id == key_id) or mask(key_id) in message
        if not named:
            # Interrupted while AWS created it: the journal says a key may exist, the next run names it.
            assert journal is not None and journal.running == "create" and journal.new_key_id is None
            assert mask(key_id) in (rig.describe_open() or "")

    # 3. The journal matches AWS (and the keyring).
    if journal is None:
        assert keys == {old: "Active"}, "no journal is left only when nothing changed"
        if rig.profile:
            assert rig.held() == {**rig.held(), "AccessKeyId": old}
            assert "PendingAccessKeyId" not in rig.held()
        return
    assert journal.status == "failed"
    check_journal(rig, journal, keys)


def check_journal(rig: Rig, journal: Journal, keys: dict[str, str]) -> None:
    old = rig.old_key_id
    running = journal.running
    if journal.has(Step.DELETE):
        assert old not in keys
    elif running == "delete old":
        assert keys.get(old, "gone") in {"Inactive", "gone"}
    elif journal.has(Step.DEACTIVATE):
        assert keys[old] == "Inactive"
    elif running == "deactivate old":
        assert keys[old] in {"Active", "Inactive"}
    else:
        assert keys[old] == "Active"
    if journal.new_key_id:
        assert journal.has(Step.CREATE) and keys.get(journal.new_key_id) == "Active"
    else:
        assert not journal.has(Step.CREATE)
        assert running == "create" or set(keys) == {old}
    if rig.profile:
        held = rig.held() or {}
        current, pending = held.get("AccessKeyId"), held.get("PendingAccessKeyId")
        if journal.has(Step.SWITCH):
            assert current == journal.new_key_id and pending is None
        elif running == "switch":
            assert current in {old, journal.new_key_id}
        else:
            assert current == old
            if journal.has(Step.STORE):
                assert pending == journal.new_key_id
            elif running != "store":
                assert pending is None
    # Journal.describe() (from the file alone) says nothing AWS contradicts …
    text = journal.describe()
    assert f"old key {mask(old)} " in text
    if old_words(keys.get(old)) not in text:
        pytest.fail(f"journal says {text!r} but AWS has the old key {keys.get(old, 'deleted')}")
    if journal.new_key_id:
        assert f"ew key {mask(journal.new_key_id)} " in text  # (N|n)ew
    elif running == "create":
        assert "may have been created" in text
    # … and, given AWS's list, says exactly what AWS has.
    live = rig.describe_open() or ""
    assert f"old key {mask(old)} {old_words(keys.get(old))}." in live


def check_final(rig: Rig, outcome: str, *runs: FakeEvents) -> None:
    keys = rig.aws_keys()
    assert rig.journal() is None
    active = [k for k, status in keys.items() if status == "Active"]
    assert len(active) == 1, keys
    if outcome == "rolled back":
        assert keys == {rig.old_key_id: "Active"}
    else:
        assert rig.old_key_id not in keys  # the cells rotate with --delete-old
    if rig.profile:
        held = rig.held()
        assert held is not None and held["AccessKeyId"] == active[0]
        assert held["SecretAccessKey"] == rig.secret_of(active[0])
        assert not {"PendingAccessKeyId", "PendingSecretAccessKey"} & set(held)
    elif outcome != "rolled back":
        # The key left working is one the person was shown, and said is deployed.
        assert active[0] in {k.access_key_id for run in runs for k in run.shown}
        assert active[0] in {k for run in runs for k in run.deployed_asked}


def recover(rig: Rig, recovery: str) -> tuple[str, FakeEvents]:
    """Resume or roll back in a new run; fall back to the other where the engine refuses, checking why."""
    engine = rig.engine()
    events = FakeEvents()
    if rig.journal() is None:
        with pytest.raises(RotationError) as caught:
            getattr(engine, recovery)(rig.user, events)
        assert str(caught.value) == f"There is no unfinished rotation of {rig.user}."
        return "rolled back", events  # nothing was left to finish: the old key is the key
    try:
        return getattr(engine, recovery)(rig.user, events).status, events
    except RotationError as exc:
        if recovery == "rollback":
            assert exc.code == "CannotRollBack", exc
            assert "Resume it instead" in str(exc)
            return rig.engine().resume(rig.user, events).status, events
        assert exc.code == "CannotResume", exc
        assert rig.profile is None, "a profile's own rotation can always be resumed"
        assert "Roll it back" in str(exc)
        return rig.engine().rollback(rig.user, events).status, events


@pytest.mark.parametrize("recovery", ["resume", "rollback"])
@pytest.mark.parametrize("cell", CELLS, ids=[c.id for c in CELLS])
def test_fault_matrix(cell: Cell, recovery: str, request: pytest.FixtureRequest, inject: Injector) -> None:
    rig: Rig = request.getfixturevalue(cell.mode)
    # The bounded waits, shorter than keytui's defaults (60 s, 30 s) but still several polls of fake time.
    rig.timeouts = {"verify_timeout": 6.0, "delete_retry_timeout": 4.5}
    events = FakeEvents()
    arm(cell, rig, inject, events)

    with pytest.raises((KeytuiError, KeyboardInterrupt)) as caught:
        rig.rotate(events, delete_old=True)
    error = caught.value
    if isinstance(error, KeytuiError):
        assert "Traceback" not in str(error) and str(error).endswith(".")

    inject.clear()
    rig.keyring.clear()
    check_invariants(rig, events, error)
    outcome, recovery_events = recover(rig, recovery)
    check_final(rig, outcome, events, recovery_events)
