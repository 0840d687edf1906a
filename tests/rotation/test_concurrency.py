"""Two rotations of one user at once: exactly one proceeds, the other is told another one is running —
between threads of one keytui (each with its own JournalStore, as two screens would have) and between
processes (a `keytui rotate` while another process holds the user's lock)."""

from __future__ import annotations

import subprocess
import sys
import threading
from typing import Any

import pytest

from keytui.core.rotation import JournalStore, RotationError, RotationResult

from ..conftest import Faults
from .conftest import FakeEvents, Injector, Rig

BUSY = "Another rotation of alice is running right now (in another keytui); wait for it to finish."


def test_two_rotations_of_one_user_exactly_one_proceeds(own: Rig, inject: Injector, faults: Faults) -> None:
    first_inside, let_go = threading.Event(), threading.Event()

    def hold(step: str, state: str) -> None:
        if (step, state) == ("create", "done"):
            first_inside.set()
            assert let_go.wait(timeout=30)

    results: list[RotationResult | BaseException] = []
    engine = own.engine()

    def first() -> None:
        try:
            results.append(engine.rotate("alice", own.old_key_id, "work", FakeEvents(on_step=hold)))
        except BaseException as exc:  # noqa: BLE001 (reported below)
            results.append(exc)

    thread = threading.Thread(target=first)
    thread.start()
    try:
        assert first_inside.wait(timeout=30)
        second_events = FakeEvents()
        second = own.engine()
        assert second._journals is not engine._journals  # its own JournalStore: its own lock descriptor
        with pytest.raises(RotationError) as busy:
            second.rotate("alice", own.old_key_id, "work", second_events)
        with pytest.raises(RotationError) as busy_resume:
            own.engine().resume("alice", FakeEvents())
    finally:
        let_go.set()
        thread.join(timeout=30)

    assert (str(busy.value), busy.value.code) == (BUSY, "RotationBusy")
    assert str(busy_resume.value) == BUSY
    assert second_events.steps == []  # refused before doing anything
    (result,) = results
    assert isinstance(result, RotationResult) and result.status == "done"
    assert faults.count("CreateAccessKey") == 1
    assert own.aws_keys() == {own.old_key_id: "Inactive", result.new_key_id: "Active"}


_HOLDER = """
import sys
from pathlib import Path
from keytui.core.rotation import JournalStore
with JournalStore(Path(sys.argv[1])).lock("alice"):
    print("locked", flush=True)
    sys.stdin.read()
"""


def test_keytui_rotate_while_another_process_rotates_the_user(own: Rig, inject: Injector, faults: Faults,
                                                               run_cli: Any) -> None:
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(JournalStore().folder)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        result = run_cli("rotate", "--profile", "work", "--yes")
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)

    assert (result.code, result.out, result.err) == (1, "", f"keytui: {BUSY}\n")
    assert faults.count("CreateAccessKey") == 0
    assert own.aws_keys() == {own.old_key_id: "Active"}
    # Once the other process is done, the lock is free again.
    assert run_cli("rotate", "--profile", "work", "--yes").code == 0
