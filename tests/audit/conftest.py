"""Fixtures of the audit tests: synthetic audit data (users, keys and root built from keytui's models at a
fixed instant), a demo account in this process whose ages are relative to NOW (for the fixes, which change
it), and the vault tests' CLI runner and keyring helpers.

The root conftest already sandboxes HOME/XDG/AWS files, keeps the network on 127.0.0.1, and provides
`moto_account`, `faults` and the read-only `demo_server` subprocess.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.awsrequest import AWSResponse

from keytui.core.audit.data import AuditData, Unavailable
from keytui.core.clock import FixedClock
from keytui.core.models import AccessKey, IamUser, Inventory, KeyLastUsed, NEVER_USED, RootAccount
from keytui.core.settings import Settings
from keytui.demo import DEMO_ACCOUNT_ID, DEMO_PROFILE, DemoAccount
from keytui.services import Services, build_services

from ..conftest import NOW, _RawBody
from ..vault.conftest import auth_demo, no_credential_chain, run_cli, use_keyring  # noqa: F401  (fixtures)

ACCOUNT = DEMO_ACCOUNT_ID
_counter = iter(range(10**6))


_LOADERS: dict[Any, Any] = {}


@pytest.fixture(autouse=True)
def shared_botocore_loader(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every audit builds fresh services, hence a fresh botocore session, which would parse the service models
    again (EC2's alone takes a good part of a second): share botocore's loader, which caches them. The data
    and behaviour are unchanged (tests/rotation does the same)."""
    import botocore.loaders

    def create_loader(search_path_string: Any = None) -> Any:
        if search_path_string not in _LOADERS:
            _LOADERS[search_path_string] = botocore.loaders.create_loader(search_path_string)
        return _LOADERS[search_path_string]

    monkeypatch.setattr(botocore.session, "create_loader", create_loader)


# -- synthetic data -----------------------------------------------------------------------------------------


def key_id(label: str = "") -> str:
    """A well-formed, unique key id (AKIA + 16 characters)."""
    body = f"{label.upper()}{next(_counter):04d}".replace("-", "")
    return ("AKIA" + body + "X" * 16)[:20]


def days_ago(days: float, now: datetime = NOW) -> datetime:
    return now - timedelta(days=days)


def key(
    user: str,
    age: float,
    *,
    used: float | None = 0,
    never: bool = False,
    unknown_use: bool = False,
    active: bool = True,
    kid: str | None = None,
) -> AccessKey:
    """A key `age` days old, last used `used` days ago (or never, or with an unknown last use)."""
    if unknown_use:
        last: KeyLastUsed | None = None
    elif never or used is None:
        last = NEVER_USED
    else:
        last = KeyLastUsed(days_ago(used), "s3", "us-east-1")
    return AccessKey(user, "Active" if active else "Inactive", days_ago(age), kid or key_id(user[:6]), last)


def user(
    name: str,
    *keys: AccessKey,
    console: bool | None = False,
    mfa: bool | None = False,
    password_used: float | None = None,
    created: float = 800,
    unknown_keys: bool = False,
) -> IamUser:
    return IamUser(
        name=name, arn=f"arn:aws:iam::{ACCOUNT}:user/{name}", created=days_ago(created),
        keys=None if unknown_keys else tuple(keys), keys_error="unknown (AccessDenied)" if unknown_keys else None,
        keys_complete=not unknown_keys, mfa_active=mfa, console=console,
        password_last_used=None if password_used is None else days_ago(password_used),
    )


def root(*, mfa: bool | None = True, keys: tuple[bool, bool] = (False, False), password_used: float | None = None,
         keys_used: float | None = None) -> RootAccount:
    return RootAccount(
        arn=f"arn:aws:iam::{ACCOUNT}:root", mfa_active=mfa, access_keys_active=keys,
        password_last_used=None if password_used is None else days_ago(password_used),
        keys_last_used=None if keys_used is None else days_ago(keys_used),
    )


def inventory(*users: IamUser, root_row: RootAccount | None = None, report_error: str | None = None) -> Inventory:
    return Inventory(users=tuple(users), loaded_at=NOW, source="credential-report", root=root_row,
                     report_error=report_error, complete=True)


def data(**pieces: Any) -> AuditData:
    """AuditData at NOW; every piece not given is Unavailable (so a check that reads it could not check)."""
    return AuditData(now=NOW, account=ACCOUNT, **pieces)


DENIED = Unavailable("Could not read it: AccessDenied (not authorized).")


# -- the demo account in this process ------------------------------------------------------------------------


def demo_services(demo: DemoAccount, state_folder: Path, settings: Settings | None = None) -> Services:
    """What `keytui --demo` builds, on a clock frozen at NOW, with its own state folder."""
    return build_services(demo.target(DEMO_PROFILE), settings or Settings(), FixedClock(NOW),
                          keyring_backend=demo.keyring, state_folder=state_folder, demo=True)


@pytest.fixture(scope="module")
def demo() -> Iterator[DemoAccount]:
    """A started demo account with ages relative to NOW, one per module. Tests that change it must each
    change something different (and no other test in the module may assume it unchanged). Never mixed with
    `mock_aws` tests in one module: starting either resets moto's process-global state."""
    with pytest.MonkeyPatch.context() as patch:
        # moto stamps a key's last use with the real time when a request is signed with it: pin it to NOW.
        patch.setattr("moto.iam.models.utcnow", lambda: NOW.replace(tzinfo=None))
        account = DemoAccount(now=NOW).start()
        try:
            yield account
        finally:
            account.stop()


def moto_iam() -> Any:
    """moto's in-process IAM backend (the demo's, or mock_aws's): to read AWS's state behind keytui's back."""
    from moto.iam.models import iam_backends

    return iam_backends[ACCOUNT]["aws"]


# -- the policy simulator, which moto lacks ---------------------------------------------------------------


class SimulatorStub:
    """moto has no policy simulator: a `before-call.iam` handler, registered last on every botocore client
    created while installed, answers SimulatePrincipalPolicy with canned EvaluationResults before any request
    is sent. Registered last, so a `faults.deny` on the call still wins. `allowed[user]` are "allowed", every
    other action asked about "implicitDeny". Records the users simulated."""

    def __init__(self, allowed: dict[str, tuple[str, ...]]) -> None:
        self.allowed = allowed
        self.users: list[str] = []
        self._lock = threading.Lock()

    def handler(self, model: Any, params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        if model.name != "SimulatePrincipalPolicy":
            return None
        body = params["body"]
        name = str(body["PolicySourceArn"]).rsplit("/", 1)[-1]
        actions = [value for field, value in sorted(body.items(), key=lambda kv: _member_index(kv[0]))
                   if field.startswith("ActionNames.member.")]
        with self._lock:
            self.users.append(name)
        results = [{"EvalActionName": a, "EvalResourceName": "*",
                    "EvalDecision": "allowed" if a in self.allowed.get(name, ()) else "implicitDeny"}
                   for a in actions]
        response = AWSResponse("https://iam.amazonaws.com/", 200, {}, _RawBody(b""))
        return response, {"EvaluationResults": results, "IsTruncated": False, "ResponseMetadata": {}}


def _member_index(field: str) -> int:
    tail = field.rsplit(".", 1)[-1]
    return int(tail) if tail.isdigit() else -1


@pytest.fixture
def simulator(monkeypatch: pytest.MonkeyPatch) -> Callable[[dict[str, tuple[str, ...]]], SimulatorStub]:
    """`simulator({"bob": ("s3:DeleteBucket",)})` installs a SimulatorStub on every client created after."""

    def install(allowed: dict[str, tuple[str, ...]]) -> SimulatorStub:
        stub = SimulatorStub(allowed)
        create = botocore.session.Session.create_client

        def create_with_stub(self: botocore.session.Session, *args: Any, **kwargs: Any) -> Any:
            client = create(self, *args, **kwargs)
            if client.meta.service_model.service_name == "iam":
                client.meta.events.register_last("before-call.iam", stub.handler)
            return client

        monkeypatch.setattr(botocore.session.Session, "create_client", create_with_stub)
        return stub

    return install


@pytest.fixture
def few_regions(faults: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[str, ...]:
    """DescribeRegions answers two regions (an account with the others disabled), and moto's EC2 starts
    without its catalogue of public AMIs: moto builds every region's EC2 backend on first use, a second or
    more each, and these tests only use two regions and no AMI lookups."""
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    regions = ("eu-west-1", "us-east-1")

    def keep(parsed: dict[str, Any], params: dict[str, Any]) -> None:
        parsed["Regions"] = [r for r in parsed["Regions"] if r["RegionName"] in regions]

    faults.rewrite("DescribeRegions", keep, service="ec2")
    return regions


__all__ = ["NOW"]
