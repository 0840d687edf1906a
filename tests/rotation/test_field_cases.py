"""Field cases F-01 to F-04 and F-08 (shared/field-cases.md), reproduced against moto with the faults moto
does not produce injected: the second key, the new key AWS does not accept yet, the key keytui is signed
with, the interrupted rotation, and IAM writes that need an MFA session."""

from __future__ import annotations

from collections.abc import Callable
import botocore.session
import pytest

from keytui.core.iam import IamService
from keytui.core.rotation import RotationError, Step, TwoKeysError
from keytui.demo import DemoKey, DemoUser

from ..conftest import REGION, Faults
from .conftest import MFA_SESSION_KEY_ID, FakeEvents, Injector, Rig, mask

RESUME = "`keytui rotate alice --profile work --resume`"
ROLLBACK = "`keytui rotate alice --profile work --rollback`"
BEFORE_SWITCH = f"Resume it ({RESUME}) or roll it back ({ROLLBACK})."
AFTER_SWITCH = f"Resume it ({RESUME}); it cannot be rolled back, the new key is in use."


def created_key(rig: Rig) -> str:
    journal = rig.journal()
    assert journal is not None and journal.new_key_id
    return journal.new_key_id


# -- F-01 two keys already ----------------------------------------------------------------------------------

ALICE_TWO_KEYS = DemoUser(
    "alice", "/eng/", profile="work",
    keys=(DemoKey(400, used_days_ago=1, service="s3", region="eu-west-1"),
          DemoKey(95, active=False, used_days_ago=80, service="dynamodb", region="us-east-2")),
)


def test_f01_two_keys_one_inactive_no_create_call(make_own: Callable[[DemoUser], Rig], faults: Faults,
                                                  inject: Injector) -> None:
    rig = make_own(ALICE_TWO_KEYS)
    first, second = rig.keys_before
    # (moto records each use of a key: alice's first key signs keytui's calls, so it was used today.)
    events = FakeEvents()

    with pytest.raises(TwoKeysError) as caught:
        rig.rotate(events, delete_old=True)

    assert str(caught.value) == (
        f"alice already has two access keys ({mask(first)} Active, 400d old, last used today (iam, us-east-1); "
        f"{mask(second)} Inactive, 95d old, last used 80d ago (dynamodb, us-east-2)). AWS allows two, inactive "
        f"ones included, so a rotation cannot create a new one. Delete the inactive key {mask(second)} first (`aws "
        f"iam delete-access-key --user-name alice --access-key-id {second}`, or select alice in keytui and press d), "
        "then rotate. Nothing was changed."
    )
    assert caught.value.inactive_keys == (caught.value.keys[1],)
    assert caught.value.code == "TwoKeys"
    assert [k.key_id for k in caught.value.keys] == [first, second]
    assert faults.count("CreateAccessKey") == 0
    assert faults.count("GetAccessKeyLastUsed") == 2  # the evidence was read for both keys
    assert rig.aws_keys() == {first: "Active", second: "Inactive"}
    assert rig.journal() is None and rig.keyring.writes == []  # not even the keyring probe
    assert events.steps == [("preflight", "running", ""), ("preflight", "failed", str(caught.value))]


def test_f01_limit_exceeded_anyway_gives_the_same_message(own: Rig, faults: Faults, inject: Injector) -> None:
    theirs: list[str] = []
    # Between the preflight and CreateAccessKey someone else creates a key; AWS then refuses ours.
    inject.add("iam", "CreateAccessKey", "error", code="LimitExceeded",
               message="Cannot exceed quota for AccessKeysPerUser: 2",
               side_effect=lambda: theirs.append(own.create_key_meanwhile()))

    with pytest.raises(TwoKeysError) as caught:
        own.rotate(FakeEvents(), delete_old=True)

    old = own.old_key_id
    assert str(caught.value) == (
        f"alice already has two access keys ({mask(old)} Active, 400d old, last used today (iam, us-east-1); "
        f"{mask(theirs[0])} Active, 0d old, last used never). AWS allows two, inactive ones included, so a rotation "
        "cannot create a new one. Delete the key that is no longer used first (the inactive one if there is one), "
        "then rotate. Nothing was changed."
    )
    assert "Traceback" not in str(caught.value)
    assert faults.count("CreateAccessKey") == 1
    # Nothing changed: the two keys AWS has, the keyring's entry, no journal to resume.
    assert own.aws_keys() == {old: "Active", theirs[0]: "Active"}
    held = own.held()
    assert held is not None and held["AccessKeyId"] == old and "PendingAccessKeyId" not in held
    assert own.journal() is None


# -- F-02 new key not valid yet -------------------------------------------------------------------------------


def reject_new_key(rig: Rig, inject: Injector, times: int | None) -> None:
    inject.add("sts", "GetCallerIdentity", "error", code="InvalidClientTokenId",
               message="The security token included in the request is invalid.", times=times,
               signed_by=lambda key_id: key_id not in rig.keys_before)


def test_f02_new_key_accepted_after_some_polls(own: Rig, inject: Injector) -> None:
    reject_new_key(own, inject, times=4)
    old_keys_at_verify: list[dict[str, str]] = []
    events = FakeEvents()
    events.on_step = lambda step, state: old_keys_at_verify.append(own.aws_keys()) if (step, state) == (
        "verify", "done") else None
    start = own.account.clock.now()

    result = own.rotate(events)

    new = result.new_key_id
    assert result.status == "done"
    assert events.states("waiting") == [("verify", "new keys take a few seconds to work (InvalidClientTokenId)")] * 4
    assert inject.keys_for("GetCallerIdentity") == [new] * 5  # each poll signed with the new key itself
    assert (own.account.clock.now() - start).total_seconds() == 4 * 1.5  # polled on fake time, every 1.5 s
    # The old key was not touched until the new one worked.
    assert old_keys_at_verify == [{own.old_key_id: "Active", new: "Active"}]
    assert own.aws_keys() == {own.old_key_id: "Inactive", new: "Active"}


@pytest.fixture
def never_accepted(own: Rig, inject: Injector) -> tuple[Rig, RotationError, FakeEvents]:
    reject_new_key(own, inject, times=None)
    events = FakeEvents()
    with pytest.raises(RotationError) as caught:
        own.rotate(events, delete_old=True)
    inject.clear()
    return own, caught.value, events


def test_f02_never_accepted_stops_with_old_key_active_and_new_key_pending(
    never_accepted: tuple[Rig, RotationError, FakeEvents], inject: Injector
) -> None:
    rig, error, events = never_accepted
    new, old = created_key(rig), rig.old_key_id
    assert error.code == "VerifyTimeout"
    assert str(error) == (
        "AWS did not accept the new key within 60 s (InvalidClientTokenId). "
        f"New key {mask(new)} created and stored (pending) for profile 'work', not verified yet; old key {mask(old)} "
        f"still active. The old key still works. Retry verification ({RESUME}) or delete the new key ({ROLLBACK})."
    )
    assert len(events.states("waiting")) == 40  # 60 s at one poll every 1.5 s, then the last try
    assert rig.aws_keys() == {old: "Active", new: "Active"}
    held = rig.held()
    assert held is not None
    assert (held["AccessKeyId"], held["PendingAccessKeyId"]) == (old, new)
    assert held["PendingSecretAccessKey"] == rig.secret_of(new)
    journal = rig.journal()
    assert journal is not None
    assert (journal.status, journal.done, journal.running) == ("failed", ["preflight", "create", "store"], None)
    assert events.steps[-1] == ("verify", "failed", str(error))


def test_f02_never_accepted_then_resume_retries_verification(
    never_accepted: tuple[Rig, RotationError, FakeEvents], inject: Injector, faults: Faults
) -> None:
    rig, _, _ = never_accepted
    new = created_key(rig)
    creates = faults.count("CreateAccessKey")
    events = FakeEvents()

    result = rig.engine().resume("alice", events)

    assert (result.status, result.new_key_id) == ("done", new)
    assert faults.count("CreateAccessKey") == creates  # the same new key, verified this time
    assert [s for s, st, _ in events.steps if st == "done"] == ["verify", "switch", "deactivate old", "delete old",
                                                                 "done"]
    assert rig.aws_keys() == {new: "Active"}
    held = rig.held()
    assert held is not None and held["AccessKeyId"] == new and "PendingAccessKeyId" not in held
    assert rig.journal() is None


def test_f02_never_accepted_then_rollback_deletes_the_new_key(
    never_accepted: tuple[Rig, RotationError, FakeEvents], inject: Injector
) -> None:
    rig, _, _ = never_accepted
    new, old = created_key(rig), rig.old_key_id
    events = FakeEvents()

    result = rig.engine().rollback("alice", events)

    assert (result.status, result.new_key_id) == ("rolled back", None)
    assert events.steps == [("delete old", "running", f"deleting new key {mask(new)}"),
                            ("done", "done", f"rolled back; old key {mask(old)} is the key")]
    assert rig.aws_keys() == {old: "Active"}
    held = rig.held()
    assert held is not None and held["AccessKeyId"] == old and "PendingAccessKeyId" not in held
    assert rig.journal() is None


# -- F-03 rotating the key keytui is signed with ---------------------------------------------------------------


def test_f03_after_the_switch_calls_are_signed_with_the_new_key(own: Rig, inject: Injector) -> None:
    events = FakeEvents()
    result = own.rotate(events, delete_old=True)
    new, old = result.new_key_id, own.old_key_id
    iam_calls = [(s.operation, s.key_id) for s in inject.signed if s.service == "iam"]
    assert iam_calls == [("ListAccessKeys", old), ("CreateAccessKey", old), ("UpdateAccessKey", new),
                         ("DeleteAccessKey", new)]
    assert events.switched_to == [new]  # the app is told, to rebuild its own clients and say "now using …"


def test_f03_invalid_token_right_after_switch_is_credentials_changed(own: Rig, inject: Injector) -> None:
    inject.add("iam", "UpdateAccessKey", "error", code="InvalidClientTokenId",
               message="The security token included in the request is invalid.", times=2)
    events = FakeEvents()

    result = own.rotate(events, delete_old=True)

    assert result.status == "done"
    assert events.states("waiting") == [("deactivate old", "credentials changed, reloading")] * 2
    assert inject.keys_for("UpdateAccessKey") == [result.new_key_id] * 3
    assert own.aws_keys() == {result.new_key_id: "Active"}
    assert not [s for s in events.steps if s[1] == "failed"]


def test_f03_invalid_token_for_too_long_is_not_called_an_invalid_key(own: Rig, inject: Injector) -> None:
    inject.add("iam", "UpdateAccessKey", "error", code="InvalidClientTokenId",
               message="The security token included in the request is invalid.")
    events = FakeEvents()

    with pytest.raises(RotationError) as caught:
        own.rotate(events, delete_old=True)

    new, old = created_key(own), own.old_key_id
    assert str(caught.value) == (
        "AWS kept refusing the call to deactivate old (InvalidClientTokenId) for 30 s after the switch; a key this "
        f"new can take a while to work everywhere. New key {mask(new)} verified and in use by profile 'work'; old "
        f"key {mask(old)} still active. {AFTER_SWITCH}"
    )
    assert "rotate it" not in str(caught.value) and "does not accept this access key" not in str(caught.value)
    assert len(events.states("waiting")) == 20
    held = own.held()
    assert held is not None and held["AccessKeyId"] == new


# -- F-04 interrupted rotation -------------------------------------------------------------------------------

# (where Ctrl-C lands, what exists then, in the words of the next run)
INTERRUPTS: list[tuple[Step, str, str]] = [
    (Step.CREATE, "running", "No new key was created; old key {old} still active."),
    (Step.CREATE, "done", "new key {new} created, not stored yet; old key {old} still active."),
    (Step.STORE, "running", "new key {new} created, not stored yet; old key {old} still active."),
    (Step.STORE, "done",
     "new key {new} created and stored (pending) for profile 'work', not verified yet; old key {old} still active."),
    (Step.VERIFY, "running",
     "new key {new} created and stored (pending) for profile 'work', not verified yet; old key {old} still active."),
    (Step.VERIFY, "done", "new key {new} stored (pending) for profile 'work' and verified; profile 'work' still "
     "uses the old key; old key {old} still active."),
    (Step.SWITCH, "running", "new key {new} stored (pending) for profile 'work' and verified; profile 'work' "
     "still uses the old key; old key {old} still active."),
    (Step.SWITCH, "done", "new key {new} verified and in use by profile 'work'; old key {old} still active."),
    (Step.DEACTIVATE, "running", "new key {new} verified and in use by profile 'work'; old key {old} still active."),
    (Step.DEACTIVATE, "done", "new key {new} verified and in use by profile 'work'; old key {old} inactive."),
    (Step.DELETE, "running", "new key {new} verified and in use by profile 'work'; old key {old} inactive."),
    (Step.DELETE, "done", "new key {new} verified and in use by profile 'work'; old key {old} deleted."),
]


def switched(step: Step, state: str) -> bool:
    order = list(Step)
    return order.index(step) > order.index(Step.SWITCH) or (step, state) == (Step.SWITCH, "done")


@pytest.mark.parametrize("recovery", ["resume", "rollback"])
@pytest.mark.parametrize(("step", "state", "expected"), INTERRUPTS,
                         ids=[f"{s.value.replace(' ', '-')}-{st}" for s, st, _ in INTERRUPTS])
def test_f04_interrupted_between_steps(own: Rig, inject: Injector, faults: Faults, step: Step, state: str,
                                       expected: str, recovery: str) -> None:
    with pytest.raises(KeyboardInterrupt):
        own.rotate(FakeEvents(interrupt_at=(step, state)), delete_old=True)
    journal = own.journal()
    assert journal is not None and journal.status == "failed" and journal.error == "interrupted"
    new = journal.new_key_id
    text = expected.format(new=mask(new), old=mask(own.old_key_id))
    # The journal alone knows as much (nothing was in flight), it only cannot say "created" for a key AWS
    # might have without it.
    assert journal.describe() == text.replace("No new key was created", "No new key was recorded")
    text = text[0].upper() + text[1:]  # as a sentence of the messages below
    advice = AFTER_SWITCH if switched(step, state) else BEFORE_SWITCH

    # The next run starts nothing new and says exactly what exists.
    creates = faults.count("CreateAccessKey")
    with pytest.raises(RotationError) as refused:
        own.rotate(FakeEvents(), delete_old=True)
    assert refused.value.code == "RotationOpen"
    assert str(refused.value) == (
        f"An earlier rotation of alice did not finish: nothing new was started. {text} {advice}")
    assert faults.count("CreateAccessKey") == creates

    events = FakeEvents()
    if recovery == "rollback" and switched(step, state):
        with pytest.raises(RotationError) as no_rollback:
            own.engine().rollback("alice", events)
        assert str(no_rollback.value) == (
            f"The rotation of alice cannot be rolled back: profile 'work' already uses the new key. {text} "
            f"Resume it instead ({RESUME})."
        )
        assert own.journal() is not None  # still there, to resume
        recovery = "resume"
    result = getattr(own.engine(), recovery)("alice", events)

    keys = own.aws_keys()
    held = own.held()
    assert held is not None and "PendingAccessKeyId" not in held
    if recovery == "rollback":
        assert result.status == "rolled back"
        assert keys == {own.old_key_id: "Active"} and held["AccessKeyId"] == own.old_key_id
    else:
        assert result.status == "done"
        final = result.new_key_id
        assert final and keys == {final: "Active"} and held["AccessKeyId"] == final
        assert held["SecretAccessKey"] == own.secret_of(final)
        if new and journal.has(Step.STORE):
            assert final == new  # resumed with the key it had created and stored
        elif new:
            assert final != new  # its secret died with the interrupted run: deleted, and another one made
            assert [s[2] for s in events.steps if s[:2] == ("create", "running")][0] == (
                f"the earlier new key {mask(new)} was never stored: deleting it")
    assert own.journal() is None


def test_f04_interrupted_once_done_leaves_nothing_to_resume(own: Rig, inject: Injector) -> None:
    with pytest.raises(KeyboardInterrupt):
        own.rotate(FakeEvents(interrupt_at=(Step.DONE, "done")), delete_old=True)
    assert own.journal() is None
    held = own.held()
    assert held is not None and own.aws_keys() == {held["AccessKeyId"]: "Active"}


def test_f04_crash_right_after_create_returns_is_found_and_rolled_back(own: Rig, inject: Injector) -> None:
    inject.add("iam", "CreateAccessKey", "interrupt-after", times=1)
    with pytest.raises(KeyboardInterrupt):
        own.rotate(FakeEvents(), delete_old=True)
    old = own.old_key_id
    (orphan,) = [k for k in own.aws_keys() if k != old]
    journal = own.journal()
    assert journal is not None and journal.new_key_id is None and journal.running == "create"
    assert journal.describe() == (
        "A new key may have been created (the run was interrupted while AWS was creating it; roll back finds and "
        f"deletes it); old key {mask(old)} still active."
    )
    with pytest.raises(RotationError) as refused:
        own.rotate(FakeEvents())
    assert str(refused.value) == (
        f"An earlier rotation of alice did not finish: nothing new was started. Key {mask(orphan)} was created by "
        "the interrupted run but never recorded (its secret never reached keytui; roll back deletes it); old key "
        f"{mask(old)} still active. {BEFORE_SWITCH}"
    )

    events = FakeEvents()
    own.engine().rollback("alice", events)

    assert ("delete old", "running", f"deleting new key {mask(orphan)}") in events.steps
    assert own.aws_keys() == {old: "Active"}
    assert own.journal() is None


def test_f04_crash_right_after_create_returns_then_resume(own: Rig, inject: Injector) -> None:
    inject.add("iam", "CreateAccessKey", "interrupt-after", times=1)
    with pytest.raises(KeyboardInterrupt):
        own.rotate(FakeEvents(), delete_old=True)
    (orphan,) = [k for k in own.aws_keys() if k != own.old_key_id]
    events = FakeEvents()

    result = own.engine().resume("alice", events)

    assert ("create", "running",
            f"deleting {mask(orphan)}, created by the interrupted run (its secret was never stored)") in events.steps
    assert result.status == "done" and result.new_key_id != orphan
    assert own.aws_keys() == {result.new_key_id: "Active"}
    held = own.held()
    assert held is not None and held["AccessKeyId"] == result.new_key_id


def test_f04_create_answer_lost_names_the_key_and_rollback_deletes_it(own: Rig, inject: Injector) -> None:
    inject.add("iam", "CreateAccessKey", "lost-after", times=1)
    with pytest.raises(RotationError) as caught:
        own.rotate(FakeEvents())
    old = own.old_key_id
    (orphan,) = [k for k in own.aws_keys() if k != old]
    assert str(caught.value) == (
        "Could not tell whether AWS created the new key: Could not create a new access key for alice: network error "
        "(Could not connect to the endpoint URL: \"https://iam.amazonaws.com/\"). Check the connection, proxy and "
        f"AWS_ENDPOINT_URL, then retry. Key {mask(orphan)} was created by the interrupted run but never recorded (its "
        f"secret never reached keytui; roll back deletes it); old key {mask(old)} still active. {BEFORE_SWITCH}"
    )
    own.engine().rollback("alice", FakeEvents())
    assert own.aws_keys() == {old: "Active"} and own.journal() is None


def test_f04_crash_after_the_keyring_switched_refuses_rollback(own: Rig, inject: Injector) -> None:
    """The keyring took the switch, the journal never heard of it: rolling back would delete the key the
    profile now holds. The next run reads the keyring and refuses."""
    from .conftest import promote_write

    own.keyring.fail(promote_write, "interrupt-after")
    with pytest.raises(KeyboardInterrupt):
        own.rotate(FakeEvents(), delete_old=True)
    own.keyring.clear()
    new = created_key(own)
    journal = own.journal()
    assert journal is not None and journal.running == "switch" and not journal.has(Step.SWITCH)
    assert journal.describe() == (
        f"new key {mask(new)} stored (pending) for profile 'work' and verified; the switch of profile 'work' to it "
        f"was interrupted; old key {mask(own.old_key_id)} still active."
    )

    with pytest.raises(RotationError) as refused:
        own.engine().rollback("alice", FakeEvents())

    assert refused.value.code == "CannotRollBack"
    assert own.aws_keys() == {own.old_key_id: "Active", new: "Active"}
    result = own.engine().resume("alice", FakeEvents())
    assert result.status == "done" and own.aws_keys() == {new: "Active"}


def test_f04_other_users_key_interrupted_after_it_was_stored_must_be_rolled_back(other: Rig, inject: Injector) -> None:
    with pytest.raises(KeyboardInterrupt):
        other.rotate(FakeEvents(interrupt_at=(Step.VERIFY, "running")))
    new, old = created_key(other), other.old_key_id

    with pytest.raises(RotationError) as refused:
        other.engine().resume("bob", FakeEvents())

    assert str(refused.value) == (
        f"This rotation cannot be resumed: the new key {mask(new)} must be verified and keytui does not keep another "
        f"user's secret, so it cannot verify the key you stored. New key {mask(new)} created and stored by you, not "
        f"verified yet; old key {mask(old)} still active. Roll it back (`keytui rotate bob --rollback`), which "
        f"deletes {mask(new)}, then rotate again."
    )
    other.engine().rollback("bob", FakeEvents())
    assert other.aws_keys() == {old: "Active"}
    assert other.journal() is None


def test_f04_store_failure_deletes_the_new_key_and_leaves_no_journal(own: Rig, inject: Injector) -> None:
    from .conftest import pending_write

    own.keyring.fail(pending_write, "refuse")
    events = FakeEvents()
    with pytest.raises(RotationError) as caught:
        own.rotate(events)
    new = next(d for s, st, d in events.steps if (s, st) == ("create", "done")).removeprefix("new key ")
    assert str(caught.value) == (
        "The new key could not be stored. Could not write 'profile:work' to the keyring: the keyring (faulty test "
        "keyring) refused the write (write access denied). Run `keytui vault doctor` for the exact steps. keytui "
        f"deleted the new key {new}; the old key {mask(own.old_key_id)} is untouched and still the key of profile "
        "'work'. Nothing else changed."
    )
    assert own.aws_keys() == {own.old_key_id: "Active"}
    assert own.journal() is None and not own.journal_path().exists()
    own.keyring.clear()
    assert own.rotate(FakeEvents()).status == "done"  # nothing blocks the next run


def test_f04_store_failure_and_delete_failure_names_the_key(own: Rig, inject: Injector) -> None:
    from .conftest import pending_write

    own.keyring.fail(pending_write, "refuse")
    inject.add("iam", "DeleteAccessKey", "deny")
    with pytest.raises(RotationError) as caught:
        own.rotate(FakeEvents())
    new = created_key(own)
    message = str(caught.value)
    assert message.startswith("The new key could not be stored. Could not write 'profile:work' to the keyring")
    assert (f"Deleting the new key {mask(new)} failed too (Could not delete key {mask(new)} of alice: AccessDenied"
            in message)
    assert message.endswith(
        f"it exists in AWS and nobody holds its secret. New key {mask(new)} created, not stored yet; old key "
        f"{mask(own.old_key_id)} still active. Roll back ({ROLLBACK}) to delete it.")
    inject.clear()
    own.keyring.clear()
    own.engine().rollback("alice", FakeEvents())
    assert own.aws_keys() == {own.old_key_id: "Active"}


# -- F-08 IAM wants an MFA session ------------------------------------------------------------------------------


class FakeMfaProvider:
    """What the MFA issue will provide: an IamService signed with an MFA session (a fixed ASIA key here;
    moto does not check it). Counts how often it was asked (each time would be a code prompt)."""

    def __init__(self, rig: Rig) -> None:
        self.rig = rig
        self.calls = 0

    def __call__(self) -> IamService:
        self.calls += 1
        client = botocore.session.Session().create_client(
            "iam", region_name=REGION, aws_access_key_id=MFA_SESSION_KEY_ID, aws_secret_access_key="s" * 40,
            aws_session_token="FwoGZXIvYXdzEMFA")
        return IamService(client, self.rig.account.clock)


def deny_without_mfa(inject: Injector, *operations: str) -> None:
    for operation in operations:
        inject.add("iam", operation, "deny", signed_by=lambda key_id: key_id != MFA_SESSION_KEY_ID,
                   message=f"User: arn:aws:iam::123456789012:user/eng/alice is not authorized to perform: "
                   f"iam:{operation} on resource: user alice with an explicit deny in an identity-based policy")


def test_f08_explicit_deny_gets_one_mfa_session_for_the_whole_rotation(own: Rig, inject: Injector) -> None:
    deny_without_mfa(inject, "CreateAccessKey", "UpdateAccessKey", "DeleteAccessKey")
    provider = FakeMfaProvider(own)

    result = own.engine(mfa_iam=provider).rotate("alice", own.old_key_id, "work", FakeEvents(), delete_old=True)

    assert result.status == "done"
    assert provider.calls == 1
    new, old = result.new_key_id, own.old_key_id
    iam_calls = [(s.operation, s.key_id) for s in inject.signed if s.service == "iam"]
    assert iam_calls == [
        ("ListAccessKeys", old),
        ("CreateAccessKey", old),  # denied: no MFA
        ("CreateAccessKey", MFA_SESSION_KEY_ID),  # the one retry, with the MFA session
        # … which serves every later call, also after the switch (a session outlives its parent key)
        ("UpdateAccessKey", MFA_SESSION_KEY_ID),
        ("DeleteAccessKey", MFA_SESSION_KEY_ID),
    ]
    assert inject.keys_for("GetCallerIdentity") == [new]  # verification is always signed by the new key
    assert own.aws_keys() == {new: "Active"}


def test_f08_denied_even_with_mfa_stops_after_one_session(own: Rig, inject: Injector) -> None:
    inject.add("iam", "CreateAccessKey", "deny",
               message="User: arn:aws:iam::123456789012:user/eng/alice is not authorized to perform: "
               "iam:CreateAccessKey on resource: user alice with an explicit deny in a service control policy")
    provider = FakeMfaProvider(own)

    with pytest.raises(RotationError) as caught:
        own.engine(mfa_iam=provider).rotate("alice", own.old_key_id, "work", FakeEvents())

    assert provider.calls == 1
    assert str(caught.value) == (
        "Could not create a new access key for alice: AccessDenied (User: arn:aws:iam::123456789012:user/eng/alice "
        "is not authorized to perform: iam:CreateAccessKey on resource: user alice with an explicit deny in a "
        "service control policy). Ask an administrator to allow this action for your user, or use a profile that "
        "has it. Nothing was changed."
    )
    assert own.aws_keys() == {own.old_key_id: "Active"}
    assert own.journal() is None


def test_f08_no_mfa_provider_reports_the_deny(own: Rig, inject: Injector, faults: Faults) -> None:
    deny_without_mfa(inject, "CreateAccessKey")
    with pytest.raises(RotationError) as caught:
        own.rotate(FakeEvents())
    assert caught.value.code == "AccessDenied"
    assert "with an explicit deny in an identity-based policy" in str(caught.value)
    assert str(caught.value).endswith("Nothing was changed.")
    assert faults.count("CreateAccessKey") == 1


def test_f04_rollback_refused_when_the_old_key_was_deleted_meanwhile(own: Rig, inject: Injector) -> None:
    with pytest.raises(KeyboardInterrupt):
        own.rotate(FakeEvents(interrupt_at=(Step.VERIFY, "done")))
    new, old = created_key(own), own.old_key_id
    own.account.backend.delete_access_key(old, "alice")  # someone cleaned up by hand

    with pytest.raises(RotationError) as refused:
        own.engine().rollback("alice", FakeEvents())

    assert str(refused.value) == (
        f"The rotation of alice cannot be rolled back: the old key {mask(old)} is deleted in AWS, so deleting the new "
        f"key would leave no working key. New key {mask(new)} stored (pending) for profile 'work' and verified; "
        f"profile 'work' still uses the old key; old key {mask(old)} deleted. Resume it instead ({RESUME})."
    )
    assert own.aws_keys() == {new: "Active"}
    result = own.engine().resume("alice", FakeEvents())
    assert result.status == "done"
    held = own.held()
    assert held is not None and held["AccessKeyId"] == new and own.aws_keys() == {new: "Active"}
