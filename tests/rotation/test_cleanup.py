"""Inactive keys past their grace period (core/cleanup.py): the rule on synthetic inventories (the boundary,
unknown keys, active keys), the evidence a rotation leaves (JournalStore's history), the `[rotation]
grace_days` setting, and Services.delete_inactive_key against moto (only an inactive key, re-read from AWS)."""

from __future__ import annotations

import json
import stat
from datetime import timedelta

import pytest

from keytui.core.cleanup import (
    CREATED,
    LAST_USE,
    ROTATION,
    InactiveKey,
    inactive_key,
    inactive_keys,
    past_grace,
    user_inactive_keys,
)
from keytui.core.errors import KeytuiError
from keytui.core.models import AccessKey, IamUser, Inventory, KeyLastUsed, NEVER_USED
from keytui.core.rotation import JournalStore, Journal, Step
from keytui.core.settings import RotationSettings, Settings, load_settings
from keytui.demo import DemoKey, DemoUser

from ..conftest import NOW, MotoAccount, Sandbox, write_private
from .conftest import FakeEvents, Injector, Rig, mask

DAY = timedelta(days=1)


def key(key_id: str, status: str = "Inactive", *, created: int = 400, used: float | None = None,
        last_used: KeyLastUsed | None | str = "from used") -> AccessKey:
    """A key `created` days before NOW, last used `used` days before NOW (None: never); `last_used=None`
    means the last use is unknown."""
    if last_used == "from used":
        last_used = NEVER_USED if used is None else KeyLastUsed(NOW - timedelta(days=used), "s3", "us-east-1")
    return AccessKey("u", status, NOW - timedelta(days=created), key_id=key_id, last_used=last_used)  # type: ignore[arg-type]


def user(*keys: AccessKey, name: str = "u") -> IamUser:
    return IamUser(name, f"arn:aws:iam::123456789012:user/{name}", keys=tuple(keys), keys_complete=True)


def inventory(*users: IamUser) -> Inventory:
    return Inventory(users=users, loaded_at=NOW, complete=True)


# -- the rule ------------------------------------------------------------------------------------------------


def test_grace_boundary_is_whole_days_since_the_evidence() -> None:
    on_the_day = key("AKIAEXACTLY7DAYS0000", used=7)
    a_second_short = key("AKIAONESECONDSHORT00", used=7 - 1 / 86400)
    owner = user(on_the_day, a_second_short)

    found = {k.key_id: k for k in user_inactive_keys(owner, NOW, 7, {})}

    assert found["AKIAEXACTLY7DAYS0000"].days == 7 and found["AKIAEXACTLY7DAYS0000"].past_grace
    assert found["AKIAONESECONDSHORT00"].days == 6 and not found["AKIAONESECONDSHORT00"].past_grace
    assert found["AKIAONESECONDSHORT00"].days_left == 1
    assert [k.key_id for k in past_grace(inventory(owner), NOW, 7, {})] == ["AKIAEXACTLY7DAYS0000"]


def test_grace_zero_makes_every_inactive_key_with_evidence_deletable_at_once() -> None:
    today = key("AKIADEACTIVATEDTODAY", used=0)

    assert [k.key_id for k in past_grace(inventory(user(today)), NOW, 0, {})] == ["AKIADEACTIVATEDTODAY"]


def test_active_keys_are_never_listed() -> None:
    owner = user(key("AKIAACTIVEOLD0000000", "Active", used=300), key("AKIAINACTIVE00000000", used=300))

    assert [k.key_id for k in inactive_keys(inventory(owner), NOW, 7, {})] == ["AKIAINACTIVE00000000"]
    assert inactive_key(owner, owner.keys[0], NOW, 7, {"AKIAACTIVEOLD0000000": NOW - 90 * DAY}) is None  # type: ignore[index]


def test_nothing_is_derived_for_a_user_whose_keys_are_unknown() -> None:
    unknown = IamUser("x", "arn:aws:iam::123456789012:user/x", keys=None, keys_error="unknown (AccessDenied)")
    loading = IamUser("y", "arn:aws:iam::123456789012:user/y", keys=None)
    # Even a rotation record of a key id proves nothing about a user whose list could not be read.
    record = {"AKIARECORDEDKEY00000": NOW - 90 * DAY}

    assert user_inactive_keys(unknown, NOW, 7, record) == ()
    assert past_grace(inventory(unknown, loading), NOW, 7, record) == ()
    assert inactive_key(unknown, key("AKIARECORDEDKEY00000", used=90), NOW, 7, record) is None


def test_keys_without_ids_or_without_evidence_get_no_verdict() -> None:
    # The credential report gives ages but no ids (ids still loading): nothing can be deleted by id.
    no_id = AccessKey("u", "Inactive", NOW - 400 * DAY, key_id=None, last_used=NEVER_USED)
    # Last use unknown (GetAccessKeyLastUsed denied) and no rotation record: no verdict, not "never used".
    unread = key("AKIALASTUSEUNKNOWN00", last_used=None)

    assert user_inactive_keys(user(no_id, unread), NOW, 7, {}) == ()
    # With a rotation record, the record alone is evidence.
    found = inactive_key(user(unread), unread, NOW, 7, {"AKIALASTUSEUNKNOWN00": NOW - 9 * DAY})
    assert found is not None and (found.evidence, found.days, found.past_grace) == (ROTATION, 9, True)


def test_the_latest_evidence_wins() -> None:
    # keytui deactivated it 2 days ago; it was last used 30 days ago: inactive for 2 days, not 30.
    rotated = key("AKIAROTATEDTWODAYS00", used=30)
    # Deactivated by keytui 10 days ago, then made active again, used 3 days ago and deactivated again.
    reused = key("AKIAREUSEDAFTERWARDS", used=3)
    never = key("AKIANEVERUSED0000000", created=95)
    record = {"AKIAROTATEDTWODAYS00": NOW - 2 * DAY, "AKIAREUSEDAFTERWARDS": NOW - 10 * DAY}

    found = {k.key_id: k for k in user_inactive_keys(user(rotated, reused, never), NOW, 7, record)}

    assert (found["AKIAROTATEDTWODAYS00"].evidence, found["AKIAROTATEDTWODAYS00"].days) == (ROTATION, 2)
    assert (found["AKIAREUSEDAFTERWARDS"].evidence, found["AKIAREUSEDAFTERWARDS"].days) == (LAST_USE, 3)
    assert (found["AKIANEVERUSED0000000"].evidence, found["AKIANEVERUSED0000000"].days) == (CREATED, 95)


def test_the_words_say_which_evidence_it_is() -> None:
    base = key("AKIAWORDS00000000000")
    assert InactiveKey("u", base, NOW, ROTATION, 12, 7).describe() == "inactive 12 d — past grace, can be deleted"
    assert InactiveKey("u", base, NOW, LAST_USE, 80, 7).describe() == (
        "inactive, unused 80 d — past grace, can be deleted")
    assert InactiveKey("u", base, NOW, CREATED, 95, 7).describe() == (
        "inactive, never used, created 95 d ago — past grace, can be deleted")
    assert InactiveKey("u", base, NOW, ROTATION, 2, 7).describe() == "inactive 2 d — in its 7-day grace period (5 d left)"


# -- the setting ---------------------------------------------------------------------------------------------


def test_grace_days_setting_default_file_and_environment(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().rotation == RotationSettings(grace_days=7) == Settings().rotation

    write_private(sandbox.settings_file, "[rotation]\ngrace_days = 30\n")
    assert load_settings().rotation.grace_days == 30

    monkeypatch.setenv("KEYTUI_ROTATION_GRACE_DAYS", "0")
    assert load_settings().rotation.grace_days == 0


def test_grace_days_setting_bad_values_are_sentences(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    write_private(sandbox.settings_file, "[rotation]\ngrace_days = -1\n")
    with pytest.raises(KeytuiError) as caught:
        load_settings()
    assert str(caught.value) == "Setting rotation.grace_days must be 0 or more days, got -1."

    monkeypatch.setenv("KEYTUI_ROTATION_GRACE_DAYS", "a week")
    with pytest.raises(KeytuiError) as caught:
        load_settings()
    assert str(caught.value) == (
        "Setting rotation.grace_days must be a whole number, got 'a week' (environment variable "
        "KEYTUI_ROTATION_GRACE_DAYS).")


# -- the evidence a rotation leaves ------------------------------------------------------------------------


def test_a_deactivate_only_rotation_records_when_it_left_the_old_key_inactive(other: Rig, inject: Injector) -> None:
    result = other.rotate(FakeEvents())

    store = JournalStore()
    assert store.deactivated() == {other.old_key_id: NOW}
    path = store.folder / "history" / "deactivated.json"
    text = path.read_text()
    assert json.loads(text) == {other.old_key_id: {"user": "bob", "deactivated_at": NOW.isoformat()}}
    assert other.secret_of(result.new_key_id) not in text and other.secret_of(other.old_key_id) not in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    # The history is not a journal: no unfinished rotation is read from it.
    assert store.open_journals() == []


def test_a_delete_old_rotation_records_nothing(other: Rig, inject: Injector) -> None:
    other.rotate(FakeEvents(), delete_old=True)

    assert JournalStore().deactivated() == {}


def test_history_is_re_read_when_it_changes_and_an_unreadable_one_is_no_evidence(sandbox: Sandbox) -> None:
    store = JournalStore()
    assert store.deactivated() == {}
    store.record_deactivated("bob", "AKIAFIRSTKEY00000000", NOW - 3 * DAY)
    assert store.deactivated() == {"AKIAFIRSTKEY00000000": NOW - 3 * DAY}
    store.record_deactivated("ann", "AKIASECONDKEY0000000", NOW)
    assert set(store.deactivated()) == {"AKIAFIRSTKEY00000000", "AKIASECONDKEY0000000"}
    store.forget_deactivated("AKIAFIRSTKEY00000000")
    assert store.deactivated() == {"AKIASECONDKEY0000000": NOW}

    (store.folder / "history" / "deactivated.json").write_text("{not json")
    assert store.deactivated() == {}


# -- deleting one (Services.delete_inactive_key) -------------------------------------------------------------

WALTER = DemoUser("walter", keys=(DemoKey(400, active=False, used_days_ago=380, service="s3"),
                                  DemoKey(5, used_days_ago=0, service="sts")))


def walter_keys(account: MotoAccount) -> dict[str, str]:
    return {k.access_key_id: k.status for k in account.backend.get_user("walter").access_keys}


def test_delete_inactive_key_deletes_it_in_aws_and_forgets_its_history(moto_account: MotoAccount) -> None:
    moto_account.seed([WALTER])
    inactive, active = walter_keys(moto_account)
    JournalStore().record_deactivated("walter", inactive, NOW - 30 * DAY)

    deleted = moto_account.services().delete_inactive_key("walter", inactive)

    assert deleted.key_id == inactive and deleted.status == "Inactive"
    assert walter_keys(moto_account) == {active: "Active"}
    assert JournalStore().deactivated() == {}


def test_delete_inactive_key_refuses_an_active_key(moto_account: MotoAccount) -> None:
    moto_account.seed([WALTER])
    inactive, active = walter_keys(moto_account)

    with pytest.raises(KeytuiError) as caught:
        moto_account.services().delete_inactive_key("walter", active)

    assert str(caught.value) == (
        f"Key {mask(active)} of walter is active in AWS (it was made active again, or never deactivated); keytui "
        "deletes only inactive keys. Nothing was deleted.")
    assert caught.value.code == "KeyActive"
    assert walter_keys(moto_account) == {inactive: "Inactive", active: "Active"}


def test_delete_inactive_key_re_reads_aws_a_key_made_active_meanwhile_stays(moto_account: MotoAccount) -> None:
    moto_account.seed([WALTER])
    inactive, active = walter_keys(moto_account)
    moto_account.backend.update_access_key("walter", inactive, "Active")  # someone else, after keytui listed it

    with pytest.raises(KeytuiError, match="is active in AWS"):
        moto_account.services().delete_inactive_key("walter", inactive)

    assert walter_keys(moto_account) == {inactive: "Active", active: "Active"}


def test_delete_inactive_key_that_no_longer_exists(moto_account: MotoAccount) -> None:
    moto_account.seed([WALTER])

    with pytest.raises(KeytuiError) as caught:
        moto_account.services().delete_inactive_key("walter", "AKIAGONEALREADY00000")

    assert str(caught.value) == f"Key {mask('AKIAGONEALREADY00000')} of walter no longer exists in AWS; nothing was deleted."


def test_delete_inactive_key_waits_for_an_unfinished_rotation(moto_account: MotoAccount) -> None:
    moto_account.seed([WALTER])
    inactive, active = walter_keys(moto_account)
    JournalStore().save(Journal(user="walter", old_key_id=active, profile=None, delete_old=False,
                                keys_before=[inactive, active], started_at=NOW.isoformat(),
                                done=[Step.PREFLIGHT.value], status="failed"))

    with pytest.raises(KeytuiError) as caught:
        moto_account.services().delete_inactive_key("walter", inactive)

    assert str(caught.value) == (
        "A rotation of walter did not finish; resume or roll it back first (r on walter, or `keytui rotate walter "
        "--resume`). Nothing was deleted.")
    assert walter_keys(moto_account) == {inactive: "Inactive", active: "Active"}


def test_journal_rules_are_properties() -> None:
    def journal(profile: str | None, done: list[str], store_as: str | None = None) -> Journal:
        return Journal(user="bob", old_key_id="AKIAOLD0000000000000", profile=profile, delete_old=False,
                       keys_before=["AKIAOLD0000000000000"], started_at=NOW.isoformat(),
                       new_key_id="AKIANEW0000000000000", done=done, store_as=store_as)

    shown_not_verified = journal(None, ["preflight", "create", "store"])
    assert not shown_not_verified.can_resume and shown_not_verified.can_roll_back
    assert shown_not_verified.advice() == (
        "Roll it back (`keytui rotate bob --rollback`), which deletes the new key, then rotate again; it cannot be "
        "resumed: keytui kept no copy of the new secret to verify it with.")
    # keytui holds the key (a managed profile's pending key, or a --store-as profile): it can verify it again.
    assert journal("work", ["preflight", "create", "store"]).can_resume
    assert journal(None, ["preflight", "create", "store"], store_as="bob-ci").can_resume
    switched = journal(None, ["preflight", "create", "store", "verify", "switch"])
    assert switched.can_resume and not switched.can_roll_back
    assert switched.advice() == "Resume it (`keytui rotate bob --resume`); it cannot be rolled back, the new key is in use."
