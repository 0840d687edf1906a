"""F-16 Throttling and partial denial: 300 users, every fifth IAM call throttled ("Rate exceeded", seen by
botocore's retry logic), ListAccessKeys denied for one user by an organization policy."""

from __future__ import annotations

import json

import pytest

from keytui import cli
from keytui.core import present
from keytui.core.models import Thresholds
from keytui.demo import DemoKey as K
from keytui.demo import DemoUser

from .conftest import NOW, Faults, MotoAccount

DENIED = "user-137"
# Every tenth key was used (and needs a GetAccessKeyLastUsed call), the others never were.
USERS = [
    DemoUser(f"user-{i:03d}", keys=(K(10 + i % 200, used_days_ago=i % 30 if i % 10 == 0 else None),))
    for i in range(300)
]


@pytest.fixture
def throttled_account(moto_account: MotoAccount, faults: Faults, monkeypatch: pytest.MonkeyPatch) -> MotoAccount:
    moto_account.seed(USERS)
    faults.throttle(every=5, message="Rate exceeded")
    faults.deny(
        "ListAccessKeys",
        when=lambda params: params.get("UserName") == DENIED,
        message=f"User: arn:aws:iam::123456789012:user/auditor is not authorized to perform: iam:ListAccessKeys "
        f"on resource: user {DENIED} with an explicit deny in a service control policy",
    )
    # The CLI builds its own services: give them the test's clock (its sleeps advance it, not wall time).
    monkeypatch.setattr("keytui.services.SystemClock", lambda: moto_account.clock)
    return moto_account


def test_f16_inventory_completes_despite_throttling_and_denial(throttled_account: MotoAccount, faults: Faults) -> None:
    inventory = throttled_account.services().load_inventory()

    assert len(faults.throttled) >= 60  # throttling really happened, and was retried by botocore
    assert inventory.complete
    assert len(inventory.users) == 300
    denied = inventory.user(DENIED)
    assert denied is not None
    assert denied.keys is None and denied.keys_error == "unknown (AccessDenied)"
    assert present.user_keys_text(denied) == "unknown (AccessDenied)"
    others = [u for u in inventory.users if u.name != DENIED]
    assert len(others) == 299
    assert all(u.keys_complete and u.key_count == 1 for u in others)
    assert all(k.last_used is not None for u in others for k in u.keys or ())
    assert inventory.unknown_users == (denied,)
    # No verdict is derived for the denied user: no keys list, so no age level or "unused".
    document = present.inventory_json(inventory, None, Thresholds(), {}, NOW)
    assert document["complete"] is False
    denied_json = next(u for u in document["users"] if u["name"] == DENIED)
    assert denied_json["keys"] is None and denied_json["keys_error"] == "unknown (AccessDenied)"
    assert sum(1 for u in document["users"] if u["keys"] is not None) == 299


def test_f16_cli_users_exits_1_naming_the_user_and_lists_the_rest(
    throttled_account: MotoAccount, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(["users"])

    out, err = capsys.readouterr()
    assert code == 1
    assert err == (
        f"keytui: The keys of 1 user could not be read: {DENIED} (AccessDenied). They are shown as unknown; "
        "the listing is incomplete, so keytui drew no conclusions about them.\n"
    )
    assert "Traceback" not in err
    lines = out.splitlines()
    user_lines = [line for line in lines if line.startswith("user-")]
    assert len(user_lines) == 300
    denied_line = next(line for line in user_lines if line.startswith(DENIED))
    assert "unknown (AccessDenied)" in denied_line
    assert " 0 " not in denied_line
    assert sum(1 for line in lines if line.startswith("  AKIA")) == 299
    assert lines[-1].startswith("300 users; credential report of ")


def test_f16_cli_users_json_still_complete_for_the_rest(
    throttled_account: MotoAccount, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(["users", "--json"])

    out, err = capsys.readouterr()
    assert code == 1
    assert f"{DENIED} (AccessDenied)" in err
    document = json.loads(out)
    assert document["complete"] is False
    by_name = {u["name"]: u for u in document["users"]}
    assert by_name[DENIED]["keys"] is None
    assert all(len(u["keys"]) == 1 for name, u in by_name.items() if name != DENIED)
