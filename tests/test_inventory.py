"""The inventory against moto: the credential-report fast path, the per-user fallback, pagination, per-user
and per-key failures that must stay "unknown", and the age/idle thresholds at their boundaries."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest

from keytui.core import present
from keytui.core.models import AgeLevel, IamUser, Inventory, Thresholds
from keytui.demo import DemoKey as K
from keytui.demo import DemoUser

from .conftest import ACCOUNT_ID, NOW, Faults, MotoAccount

USERS = (
    DemoUser("alice", "/eng/", console=True, mfa=True,
             keys=(K(400, used_days_ago=1, service="s3", region="eu-west-1"), K(5))),
    DemoUser("bob", "/eng/", console=True, keys=(K(95, active=False, used_days_ago=60, service="ec2", region="us-west-2"),)),
    DemoUser("carol", "/ops/", mfa=True),
    DemoUser("dave", "/service/", keys=(K(30),)),
)


def realistic_report(account: MotoAccount):
    """An `edit` for Faults.rewrite: moto writes `not_supported` where AWS writes the last-used service and
    region, and has no root row. Fill both in from moto's own data, as AWS would."""

    def edit(parsed: dict[str, Any], params: dict[str, Any]) -> None:
        rows = list(csv.DictReader(io.StringIO(parsed["Content"].decode())))
        fieldnames = list(rows[0].keys()) if rows else []
        for row in rows:
            keys = account.backend.users[row["user"]].access_keys
            for n, key in enumerate(keys[:2], start=1):
                used = key.last_used
                row[f"access_key_{n}_last_used_service"] = used.service if used else "N/A"
                row[f"access_key_{n}_last_used_region"] = used.region if used else "N/A"
        root = dict.fromkeys(fieldnames, "N/A")
        root.update(
            user="<root_account>",
            arn=f"arn:aws:iam::{ACCOUNT_ID}:root",
            user_creation_time="2019-01-01T00:00:00+00:00",
            password_enabled="not_supported",
            password_last_used="no_information",
            password_last_changed="not_supported",
            password_next_rotation="not_supported",
            mfa_active="false",
            access_key_1_active="false",
            access_key_2_active="false",
        )
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=fieldnames, lineterminator="\n")
        writer.writeheader()
        writer.writerows([root, *rows])
        parsed["Content"] = out.getvalue().encode()

    return edit


def summary(inventory: Inventory) -> dict[str, tuple]:
    """What a user sees of each user: the fields both load paths must agree on."""
    return {
        u.name: (
            u.arn,
            u.path,
            u.mfa_active,
            u.console,
            u.keys_error,
            None if u.keys is None else tuple(
                (k.key_id, k.status, k.created, k.last_used, k.last_used_error) for k in u.keys
            ),
        )
        for u in inventory.users
    }


@pytest.fixture
def account(moto_account: MotoAccount) -> MotoAccount:
    moto_account.seed(USERS)
    return moto_account


def test_inventory_fast_path_reads_everything_from_the_report(account: MotoAccount, faults: Faults) -> None:
    faults.rewrite("GetCredentialReport", realistic_report(account))

    inventory = account.services().load_inventory()

    assert inventory.source == "credential-report"
    assert inventory.complete and inventory.report_error is None
    assert [u.name for u in inventory.users] == ["alice", "bob", "carol", "dave"]
    # Last use, MFA and console came from the report: no per-key or per-user calls for them.
    assert faults.count("GetAccessKeyLastUsed") == 0
    assert faults.count("ListMFADevices") == 0
    assert faults.count("GetLoginProfile") == 0
    assert faults.count("ListAccessKeys") == 4  # the key ids, which the report lacks
    alice = inventory.user("alice")
    assert alice is not None and alice.keys is not None
    old, new = alice.keys
    assert old.age_days(NOW) == 400 and new.age_days(NOW) == 5
    assert old.last_used is not None and old.last_used.date == NOW - timedelta(days=1, hours=1)
    assert (old.last_used.service, old.last_used.region) == ("s3", "eu-west-1")
    assert new.last_used is not None and new.last_used.never
    assert inventory.root is not None
    assert inventory.root.mfa_active is False
    assert inventory.root.access_keys_active == (False, False)


def test_inventory_fallback_when_report_denied_gives_the_same_result(account: MotoAccount, faults: Faults) -> None:
    faults.rewrite("GetCredentialReport", realistic_report(account))
    fast = account.services().load_inventory()

    faults.deny("GenerateCredentialReport")
    slow = account.services().load_inventory()

    assert slow.source == "per-user"
    assert slow.report_error is not None and "AccessDenied" in slow.report_error
    assert slow.root is None
    assert slow.complete
    assert summary(slow) == summary(fast)
    # And the fallback really asked per user.
    assert faults.count("ListMFADevices") == 4 and faults.count("GetLoginProfile") == 4
    assert summary(slow)["carol"][2:4] == (True, False)  # MFA yes, no console
    assert summary(slow)["bob"][2:4] == (False, True)


def test_inventory_report_without_service_reads_last_use_per_key(account: MotoAccount, faults: Faults) -> None:
    # moto's own report has a last-used date but `not_supported` service/region: not enough, so keytui
    # asks GetAccessKeyLastUsed for those keys only (never-used keys are settled by the report's N/A).
    inventory = account.services().load_inventory()

    assert inventory.source == "credential-report"
    assert faults.count("GetAccessKeyLastUsed") == 2  # alice's old key and bob's key
    bob = inventory.user("bob")
    assert bob is not None and bob.keys is not None
    assert bob.keys[0].last_used is not None
    assert (bob.keys[0].last_used.service, bob.keys[0].last_used.region) == ("ec2", "us-west-2")
    assert bob.keys[0].status == "Inactive"


def test_inventory_paginates_users_and_keys(moto_account: MotoAccount, faults: Faults) -> None:
    moto_account.seed(
        [DemoUser(f"user-{i:02d}", keys=(K(10 + i), K(3)) if i % 3 == 0 else (K(10 + i),)) for i in range(7)]
    )
    faults.paginate("ListUsers", "Users", 2)
    faults.paginate("ListAccessKeys", "AccessKeyMetadata", 1)

    inventory = moto_account.services().load_inventory()

    assert [u.name for u in inventory.users] == [f"user-{i:02d}" for i in range(7)]
    assert [u.key_count for u in inventory.users] == [2, 1, 1, 2, 1, 1, 2]
    markers = [c.params.get("Marker") for c in faults.calls if c.operation == "ListUsers"]
    assert markers == [None, "2", "4", "6"]
    assert faults.count("ListAccessKeys") == 7 + 3  # a second page for each two-key user
    assert inventory.complete and not inventory.unknown_users


def test_inventory_denied_list_access_keys_is_unknown_never_zero(account: MotoAccount, faults: Faults) -> None:
    faults.deny("ListAccessKeys", when=lambda params: params.get("UserName") == "bob")

    inventory = account.services().load_inventory()

    bob = inventory.user("bob")
    assert bob is not None
    assert bob.keys is None and bob.key_count is None
    assert bob.keys_error == "unknown (AccessDenied)"
    assert present.user_keys_text(bob) == "unknown (AccessDenied)"
    assert present.user_last_used_text(bob, NOW) == "unknown (AccessDenied)"
    assert present.oldest_age(bob, NOW) is None
    assert inventory.unknown_users == (bob,)
    # Everyone else is intact.
    others = {u.name: u.key_count for u in inventory.users if u.name != "bob"}
    assert others == {"alice": 2, "carol": 0, "dave": 1}
    assert all(u.keys_complete for u in inventory.users if u.name != "bob")
    document = present.inventory_json(inventory, None, Thresholds(), {}, NOW)
    assert document["complete"] is False
    bob_json = next(u for u in document["users"] if u["name"] == "bob")
    assert bob_json["keys"] is None and bob_json["keys_error"] == "unknown (AccessDenied)"


def test_inventory_failed_last_used_is_unknown_with_reason(account: MotoAccount, faults: Faults) -> None:
    bob_key = account.backend.users["bob"].access_keys[0].access_key_id
    faults.deny("GetAccessKeyLastUsed", when=lambda params: params.get("AccessKeyId") == bob_key)

    inventory = account.services().load_inventory()

    bob = inventory.user("bob")
    assert bob is not None and bob.keys is not None and bob.keys_complete
    (key,) = bob.keys
    assert key.key_id == bob_key
    assert key.last_used is None
    assert key.last_used_error == "unknown (AccessDenied)"
    assert key.idle_days(NOW) is None
    assert present.unused(key, NOW, Thresholds()) is None  # no verdict without evidence
    assert present.key_last_used_text(key, NOW) == "unknown (AccessDenied)"
    assert present.user_last_used_text(bob, NOW) == "unknown (AccessDenied)"
    alice = inventory.user("alice")
    assert alice is not None and alice.keys is not None
    assert all(k.last_used is not None for k in alice.keys)


def test_inventory_list_users_denied_fails_the_whole_load(account: MotoAccount, faults: Faults) -> None:
    from keytui.core.errors import AwsError

    faults.deny("ListUsers")

    with pytest.raises(AwsError) as caught:
        account.services().load_inventory()

    assert caught.value.code == "AccessDenied"
    assert str(caught.value).startswith("Could not list IAM users: AccessDenied (User: ")


def test_inventory_user_newer_than_report_is_read_per_user(account: MotoAccount, faults: Faults) -> None:
    # The report is cached by AWS for hours: a user created since then has no row and is read per user.
    account.report_ready()
    faults.rewrite("GetCredentialReport", realistic_report(account))

    def drop_erin(parsed: dict[str, Any], params: dict[str, Any]) -> None:
        lines = parsed["Content"].decode().splitlines(keepends=True)
        parsed["Content"] = "".join(line for line in lines if not line.startswith("erin,")).encode()

    faults.rewrite("GetCredentialReport", drop_erin)
    account.seed([DemoUser("erin", console=True, mfa=True, keys=(K(7),))])

    inventory = account.services().load_inventory()

    erin = inventory.user("erin")
    assert erin is not None
    assert (erin.mfa_active, erin.console, erin.key_count) == (True, True, 1)
    assert faults.count("ListMFADevices") == 1 and faults.count("GetLoginProfile") == 1


def test_inventory_progress_ends_with_the_complete_inventory(account: MotoAccount) -> None:
    seen = []

    inventory = account.services().load_inventory(on_progress=seen.append)

    assert seen[0].done == 0 and seen[0].total == 4 and not seen[0].inventory.complete
    assert seen[-1].inventory is inventory and seen[-1].text == "loaded 4 users"
    assert inventory.loaded_at == account.clock.now()


def test_inventory_cancelled_is_not_complete(account: MotoAccount) -> None:
    inventory = account.services().load_inventory(cancelled=lambda: True)

    assert not inventory.complete
    assert faults_free_unknown(inventory) == {"alice", "bob", "carol", "dave"}
    document = present.inventory_json(inventory, None, Thresholds(), {}, NOW)
    assert document["complete"] is False
    assert all(u["keys"] is None for u in document["users"])


def faults_free_unknown(inventory: Inventory) -> set[str]:
    return {u.name for u in inventory.unknown_users}


# -- thresholds at their boundaries, with the injected clock -----------------------------------------------

BOUNDARY_USERS = (
    DemoUser("age-59", keys=(K(59, used_days_ago=0),)),
    DemoUser("age-60", keys=(K(60, used_days_ago=0),)),
    DemoUser("age-89", keys=(K(89, used_days_ago=0),)),
    DemoUser("age-90", keys=(K(90, used_days_ago=0),)),
    DemoUser("idle-44", keys=(K(200, used_days_ago=44),)),
    DemoUser("idle-45", keys=(K(200, used_days_ago=45),)),
    DemoUser("new-never-used", keys=(K(44),)),
    DemoUser("old-never-used", keys=(K(45),)),
)


def _only_key(inventory: Inventory, name: str):
    user = inventory.user(name)
    assert user is not None and user.keys is not None
    (key,) = user.keys
    return user, key


@pytest.fixture
def boundary_inventory(moto_account: MotoAccount) -> Inventory:
    moto_account.seed(BOUNDARY_USERS)
    return moto_account.services().load_inventory()


@pytest.mark.parametrize(
    ("name", "age", "level"),
    [
        ("age-59", 59, AgeLevel.OK),
        ("age-60", 60, AgeLevel.WARN),
        ("age-89", 89, AgeLevel.WARN),
        ("age-90", 90, AgeLevel.OVERDUE),
    ],
)
def test_thresholds_age_level_at_boundaries(boundary_inventory: Inventory, name: str, age: int, level: AgeLevel) -> None:
    user, key = _only_key(boundary_inventory, name)

    assert key.age_days(NOW) == age
    assert Thresholds().age_level(key.age_days(NOW)) is level
    assert present.age_level(user, NOW, Thresholds()) is level
    document = present.inventory_json(boundary_inventory, None, Thresholds(), {}, NOW)
    key_json = next(u for u in document["users"] if u["name"] == name)["keys"][0]
    assert (key_json["age_days"], key_json["age_level"]) == (age, level.value)


@pytest.mark.parametrize(
    ("name", "idle", "unused"),
    [("idle-44", 44, False), ("idle-45", 45, True), ("new-never-used", 44, False), ("old-never-used", 45, True)],
)
def test_thresholds_unused_at_boundaries(boundary_inventory: Inventory, name: str, idle: int, unused: bool) -> None:
    _, key = _only_key(boundary_inventory, name)

    assert key.idle_days(NOW) == idle
    assert present.unused(key, NOW, Thresholds()) is unused


def test_thresholds_follow_the_injected_clock(moto_account: MotoAccount) -> None:
    moto_account.seed([DemoUser("edge", keys=(K(59, used_days_ago=0),))])
    services = moto_account.services()
    inventory = services.load_inventory()
    user, key = _only_key(inventory, "edge")
    assert present.age_level(user, services.clock.now(), Thresholds()) is AgeLevel.OK

    moto_account.clock.advance(timedelta(days=1).total_seconds())

    assert present.age_level(user, services.clock.now(), Thresholds()) is AgeLevel.WARN


def test_thresholds_reject_inconsistent_values() -> None:
    with pytest.raises(ValueError, match="warn_days <= overdue_days"):
        Thresholds(warn_days=100, overdue_days=90)
    with pytest.raises(ValueError, match="unused_days must be positive"):
        Thresholds(unused_days=0)


def test_inventory_inactive_key_has_no_age_level(account: MotoAccount) -> None:
    inventory = account.services().load_inventory()
    document = present.inventory_json(inventory, None, Thresholds(), {}, NOW)
    bob_key = next(u for u in document["users"] if u["name"] == "bob")["keys"][0]

    assert bob_key["status"] == "Inactive" and bob_key["age_days"] == 95
    assert bob_key["age_level"] is None


def _user(inventory: Inventory, name: str) -> IamUser:
    user = inventory.user(name)
    assert user is not None
    return user
