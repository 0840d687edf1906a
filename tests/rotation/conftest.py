"""Fixtures of the rotation tests: a user whose key a keytui-managed profile holds (or another user's key,
rotated by an administrator), AWS faults that know which key signed a request, a keyring that fails on
the write that matters, and an events object that answers the engine's questions and records its steps.

Builds on tests/conftest.py (sandbox, moto_account, faults, clock) and tests/vault/conftest.py
(memory keyrings, run_cli). Nothing here sleeps: the engine polls on the test's FixedClock.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.exceptions import EndpointConnectionError
from keyring.errors import PasswordSetError

from keytui.core.aws import AwsTarget, parse_utc
from keytui.core.iam import IamService
from keytui.core.masking import Secret, mask_key_id
from keytui.core.models import LongTermKey
from keytui.core.rotation import Journal, JournalStore, RotationEngine, Step
from keytui.core.settings import Settings
from keytui.demo import DemoKey, DemoUser
from keytui.services import Services, build_services
from keytui.vault.memory import MemoryKeyring
from keytui.vault.store import Vault

from ..conftest import ACCOUNT_ID, REGION, Faults, MotoAccount, query_error_response
from ..vault.conftest import no_credential_chain, run_cli, use_keyring  # noqa: F401  (fixtures used here)

# botocore's own create_client, before any fixture wraps it with faults: the tests read AWS's state with
# clients built from it, so that neither the injected faults nor the call record see those reads.
_PLAIN_CREATE_CLIENT = botocore.session.Session.create_client

KEYTUI = "keytui credential-process --profile"
MFA_SESSION_KEY_ID = "ASIAMFASESSION000001"


def mask(key_id: str | None) -> str:
    return mask_key_id(key_id)


_LOADERS: dict[Any, Any] = {}


@pytest.fixture(autouse=True)
def faster_botocore(monkeypatch: pytest.MonkeyPatch) -> None:
    """Share across botocore sessions what botocore caches per session. A rotation builds a fresh session
    each time it rebuilds its clients (each verification poll signs with a fresh one, each new run of the
    engine builds its own), and each would parse the service models and endpoint data again and rebuild the
    same client classes: without this, most of these tests' time. Behaviour is unchanged: the same data,
    parsed once."""
    import botocore.client
    import botocore.hooks
    import botocore.loaders

    # (Private botocore names: if a botocore upgrade renames one, these speed-ups fail loudly right here.)

    def create_loader(search_path_string: Any = None) -> Any:
        if search_path_string not in _LOADERS:
            _LOADERS[search_path_string] = botocore.loaders.create_loader(search_path_string)
        return _LOADERS[search_path_string]

    monkeypatch.setattr(botocore.session, "create_loader", create_loader)

    # Likewise botocore's cache of event-name aliases, per session; with the default aliases it is a pure
    # function of the name.
    init = botocore.hooks.EventAliaser.__init__

    def init_shared(self: Any, event_emitter: Any, event_aliases: Any = None) -> None:
        init(self, event_emitter, event_aliases)
        if event_aliases is None:
            self._alias_name_cache = _ALIASES

    monkeypatch.setattr(botocore.hooks.EventAliaser, "__init__", init_shared)

    # And the client class botocore builds for every client (one method per operation, each with its lazy
    # docstring). Per service it is always the same class: fault handlers go on each client's own events.
    create_class = botocore.client.ClientCreator._create_client_class

    def create_class_once(self: Any, service_name: str, service_model: Any) -> Any:
        if service_name not in _CLIENT_CLASSES:
            _CLIENT_CLASSES[service_name] = create_class(self, service_name, service_model)
        return _CLIENT_CLASSES[service_name]

    monkeypatch.setattr(botocore.client.ClientCreator, "_create_client_class", create_class_once)


_ALIASES: dict[str, str] = {}
_CLIENT_CLASSES: dict[str, Any] = {}


# -- AWS faults that know the signing key ------------------------------------------------------------------


_CREDENTIAL = re.compile(r"Credential=([^/]+)/")


def signing_key(request: Any) -> str | None:
    header = request.headers.get("Authorization")
    if isinstance(header, bytes):
        header = header.decode()
    match = _CREDENTIAL.search(header or "")
    return match.group(1) if match else None


@dataclass
class Rule:
    service: str
    operation: str
    # deny | throttle | network | error | interrupt (before the request) | interrupt-after, lost-after (AWS did
    # it, then KeyboardInterrupt / a network error instead of its answer)
    kind: str
    code: str = "AccessDenied"
    message: str = ""
    times: int | None = None  # None: every matching call
    signed_by: Callable[[str | None], bool] = lambda key_id: True
    # Called instead of failing when given (e.g. to make AWS change meanwhile); then the kind applies.
    side_effect: Callable[[], None] | None = None
    hits: int = 0

    def matches(self, service: str, operation: str, key_id: str | None) -> bool:
        if (service, operation) != (self.service, self.operation) or not self.signed_by(key_id):
            return False
        return self.times is None or self.hits < self.times


@dataclass(frozen=True)
class Signed:
    service: str
    operation: str
    key_id: str | None


@dataclass
class Injector:
    """Faults injected into every botocore client, chosen by operation and by the key that signed the call.

    - deny/throttle/error answer with an AWS error response before moto sees the call (throttling every
      attempt defeats botocore's retries, which do happen: the root conftest only removes their sleep);
    - network raises EndpointConnectionError, which botocore retries and then gives up on;
    - interrupt raises KeyboardInterrupt instead of sending; interrupt-after raises it once AWS (moto) has
      answered, i.e. the call's effect happened and the engine never heard of it.
    `signed` records the signing key of every request sent (retries included).
    """

    rules: list[Rule] = field(default_factory=list)
    signed: list[Signed] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, service: str, operation: str, kind: str, **options: Any) -> Rule:
        rule = Rule(service, operation, kind, **options)
        self.rules.append(rule)
        return rule

    def clear(self) -> None:
        self.rules.clear()

    def keys_for(self, operation: str) -> list[str | None]:
        return [s.key_id for s in self.signed if s.operation == operation]

    def install(self, client: Any) -> Any:
        service = client.meta.service_model.service_id.hyphenize()
        events = client.meta.events
        events.register_first(f"before-send.{service}", self._before_send)
        events.register(f"after-call.{service}", self._after_call)
        return client

    def _hit(self, service: str, operation: str, key_id: str | None, kinds: set[str]) -> Rule | None:
        with self._lock:
            for rule in self.rules:
                if rule.kind in kinds and rule.matches(service, operation, key_id):
                    rule.hits += 1
                    return rule
        return None

    def _before_send(self, request: Any, event_name: str, **_: Any) -> Any:
        _, service, operation = event_name.split(".", 2)
        key_id = signing_key(request)
        with self._lock:
            self.signed.append(Signed(service, operation, key_id))
        rule = self._hit(service, operation, key_id, {"deny", "throttle", "network", "error", "interrupt"})
        if rule is None:
            return None
        if rule.side_effect is not None:
            rule.side_effect()
        url = request.url
        if rule.kind == "network":
            raise EndpointConnectionError(endpoint_url=url)
        if rule.kind == "interrupt":
            raise KeyboardInterrupt
        # botocore still calls every other before-send handler, moto's too, and moto would carry the call
        # out (a "denied" CreateAccessKey would create a key): send moto a URL it does not serve.
        request.url = "https://fault.keytui.invalid/"
        if rule.kind == "throttle":
            return query_error_response("Throttling", "Rate exceeded", url=url)
        message = rule.message or (
            f"User: arn:aws:iam::{ACCOUNT_ID}:user/alice is not authorized to perform: {service}:{operation}"
            if rule.kind == "deny" else "injected")
        return query_error_response(rule.code, message, status=403 if rule.kind == "deny" else 400, url=url)

    def _after_call(self, event_name: str, **_: Any) -> None:
        _, service, operation = event_name.split(".", 2)
        rule = self._hit(service, operation, None, {"interrupt-after", "lost-after"})
        if rule is not None and rule.kind == "interrupt-after":
            raise KeyboardInterrupt
        if rule is not None:
            # AWS did it, and its answer never arrived (a read timeout, a dropped connection).
            raise EndpointConnectionError(endpoint_url=f"https://{service}.amazonaws.com/")


@pytest.fixture
def inject(faults: Faults, monkeypatch: pytest.MonkeyPatch) -> Injector:
    """An Injector on every client created in the test, on top of the shared `faults` (whose call record
    still sees every call)."""
    injector = Injector()
    create = botocore.session.Session.create_client  # already wrapped by `faults`

    def create_with_injector(self: botocore.session.Session, *args: Any, **kwargs: Any) -> Any:
        return injector.install(create(self, *args, **kwargs))

    monkeypatch.setattr(botocore.session.Session, "create_client", create_with_injector)
    return injector


# -- a keyring that fails the write that matters ----------------------------------------------------------

WritePredicate = Callable[[str, str, "str | None"], bool]


def pending_write(name: str, value: str, before: str | None) -> bool:
    """put_pending: the profile entry gains the new key as pending."""
    return name.startswith("profile:") and "PendingAccessKeyId" in value


def promote_write(name: str, value: str, before: str | None) -> bool:
    """promote_pending (the switch): the pending key becomes the profile's key."""
    return name.startswith("profile:") and "PendingAccessKeyId" not in value and "PendingAccessKeyId" in (before or "")


def probe_write(name: str, value: str, before: str | None) -> bool:
    """The preflight's proof that the keyring takes a write."""
    return name.startswith("probe:")


class FaultyKeyring(MemoryKeyring):
    """An in-memory keyring that refuses (PasswordSetError) or is interrupted on chosen writes:
    `fail(pending_write, "refuse")`, `fail(promote_write, "interrupt-after")` (the write lands, then
    KeyboardInterrupt), `fail(..., "interrupt")` (KeyboardInterrupt, nothing written). `writes` records every
    write's entry name."""

    name = "faulty test keyring"

    def __init__(self) -> None:
        super().__init__()
        self.faults: list[tuple[WritePredicate, str]] = []
        self.writes: list[str] = []

    def fail(self, when: WritePredicate, kind: str = "refuse") -> None:
        self.faults.append((when, kind))

    def clear(self) -> None:
        self.faults.clear()

    def set_password(self, service: str, username: str, password: str) -> None:
        before = self.entries.get((service, username))
        for when, kind in self.faults:
            if when(username, password, before):
                if kind == "refuse":
                    raise PasswordSetError("write access denied")
                if kind == "interrupt":
                    raise KeyboardInterrupt
                super().set_password(service, username, password)
                self.writes.append(username)
                raise KeyboardInterrupt
        super().set_password(service, username, password)
        self.writes.append(username)

    def entry(self, name: str) -> dict[str, str] | None:
        raw = self.entries.get(("keytui", name))
        return json.loads(raw) if raw else None


# -- the engine's questions, answered ---------------------------------------------------------------------


@dataclass
class FakeEvents:
    """RotationEvents for tests. `steps` records (step value, state, detail). `interrupt_at=(Step, state)`
    raises KeyboardInterrupt from that event (Ctrl-C between two steps). confirm_stored/confirm_deployed
    answer `stored`/`deployed` (an exception instance is raised instead) and remember the key shown;
    `on_deployed` runs when confirm_deployed is asked (to look at AWS at that moment)."""

    stored: bool | BaseException = True
    deployed: bool | BaseException = True
    interrupt_at: tuple[Step, str] | None = None
    on_deployed: Callable[[], None] | None = None
    # Called after every event is recorded, with (step value, state): to look at the world between steps.
    on_step: Callable[[str, str], None] | None = None
    steps: list[tuple[str, str, str]] = field(default_factory=list)
    shown: list[LongTermKey] = field(default_factory=list)
    deployed_asked: list[str] = field(default_factory=list)
    switched_to: list[str] = field(default_factory=list)

    def step(self, step: Step, state: str, detail: str = "") -> None:
        self.steps.append((step.value, state, detail))
        if self.on_step is not None:
            self.on_step(step.value, state)
        if self.interrupt_at == (step, state):
            self.interrupt_at = None  # once
            raise KeyboardInterrupt

    def confirm_stored(self, new_key: LongTermKey) -> bool:
        self.shown.append(new_key)
        if isinstance(self.stored, BaseException):
            raise self.stored
        return self.stored

    def confirm_deployed(self, new_key: LongTermKey) -> bool:
        self.deployed_asked.append(new_key.access_key_id)
        if self.on_deployed is not None:
            self.on_deployed()
        if isinstance(self.deployed, BaseException):
            raise self.deployed
        return self.deployed

    def switched(self, new_key: LongTermKey) -> None:
        self.switched_to.append(new_key.access_key_id)

    def states(self, state: str) -> list[tuple[str, str]]:
        return [(s, d) for s, st, d in self.steps if st == state]


# -- the account and the rig ------------------------------------------------------------------------------

ALICE = DemoUser("alice", "/eng/", keys=(DemoKey(400, used_days_ago=1, service="s3", region="eu-west-1"),),
                 profile="work")
BOB = DemoUser("bob", "/eng/", keys=(DemoKey(95, used_days_ago=3, service="ec2", region="us-west-2"),))
ADMIN = DemoUser("admin", "/ops/", keys=(DemoKey(30, used_days_ago=0, service="iam"),), profile="admin")


@dataclass
class Rig:
    """One user's rotation: `user` and the key being replaced (`old_key_id`); `profile` is the managed
    profile holding it (None: another user's key, rotated as `admin`)."""

    account: MotoAccount
    keyring: FaultyKeyring
    user: str
    old_key_id: str
    profile: str | None
    acting_profile: str
    keys_before: tuple[str, ...]
    # Engine attributes to override (verify_timeout, delete_retry_timeout), e.g. shorter waits.
    timeouts: dict[str, float] = field(default_factory=dict)
    _reader: Any = None
    _observer: Any = None

    # -- a run, as a new process would do it ------------------------------------------------------------

    def services(self) -> Services:
        return build_services(AwsTarget(profile=self.acting_profile, region=REGION), Settings(), self.account.clock,
                              keyring_backend=self.keyring)

    def engine(self, mfa_iam: Callable[[], IamService] | None = None) -> RotationEngine:
        """The engine a new run of keytui builds (services from scratch)."""
        engine = self.services().rotation_engine(mfa_iam=mfa_iam)
        for name, value in self.timeouts.items():
            setattr(engine, name, value)
        return engine

    def describe_open(self) -> str | None:
        """What the next run says about the unfinished rotation (journal + AWS)."""
        if self._observer is None:
            self._observer = self.engine()
        return self._observer.describe_open(self.user)

    def rotate(self, events: FakeEvents | None = None, *, delete_old: bool = False) -> Any:
        """A rotation of the key, as a new run of keytui does it."""
        return self.engine().rotate(self.user, self.old_key_id, self.profile, events or FakeEvents(),
                                    delete_old=delete_old)

    # -- the state of the world -------------------------------------------------------------------------

    def iam(self) -> Any:
        """An IAM client outside the faults and the call record, for the test's own reads."""
        if self._reader is None:
            session = botocore.session.Session()
            session.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=parse_utc)
            self._reader = _PLAIN_CREATE_CLIENT(session, "iam", region_name=REGION,
                                                aws_access_key_id="AKIATESTREADER000000",
                                                aws_secret_access_key="x" * 40)
        return self._reader

    def aws_keys(self) -> dict[str, str]:
        """The user's keys as list_access_keys answers now: {key id: Active|Inactive}."""
        answer = self.iam().list_access_keys(UserName=self.user)
        return {k["AccessKeyId"]: k["Status"] for k in answer["AccessKeyMetadata"]}

    def secret_of(self, key_id: str) -> str:
        return self.account.backend.access_keys[key_id].secret_access_key

    def held(self) -> dict[str, str] | None:
        """The profile's keyring entry (None: none)."""
        return self.keyring.entry(f"profile:{self.profile}") if self.profile else None

    def journal(self) -> Journal | None:
        return JournalStore().load(self.user)

    def journal_text(self) -> str | None:
        path = JournalStore().folder / f"{self.user}.json"
        return path.read_text(encoding="utf-8") if path.exists() else None

    def journal_path(self) -> Path:
        return JournalStore().folder / f"{self.user}.json"

    def create_key_meanwhile(self) -> str:
        """Someone else creates a key for the user (straight in moto's backend)."""
        return self.account.backend.create_access_key(self.user).access_key_id


def managed_profile_config(profile: str) -> str:
    return f"[profile {profile}]\nregion = {REGION}\ncredential_process = {KEYTUI} {profile}\n"


@pytest.fixture
def keyring_backend() -> FaultyKeyring:
    return FaultyKeyring()


@pytest.fixture
def make_own(moto_account: MotoAccount, keyring_backend: FaultyKeyring, use_keyring: Any) -> Callable[[DemoUser], Rig]:
    """`make_own(spec)`: seed `spec` (a DemoUser whose `profile` holds its first key) and keep that key in the
    keyring for the keytui-managed profile; keytui acts as that user."""

    def make(spec: DemoUser) -> Rig:
        assert spec.profile
        credentials = moto_account.seed([spec])
        key_id, secret = credentials[spec.profile]
        moto_account.files.write(config=managed_profile_config(spec.profile), credentials="")
        use_keyring(keyring_backend)
        Vault(keyring_backend).put_key(spec.profile, LongTermKey(key_id, Secret(secret)))
        keyring_backend.writes.clear()
        keys = tuple(k.access_key_id for k in moto_account.backend.get_user(spec.name).access_keys)
        return Rig(moto_account, keyring_backend, spec.name, key_id, spec.profile, spec.profile, keys)

    return make


@pytest.fixture
def own(make_own: Callable[[DemoUser], Rig]) -> Rig:
    """alice's only key is held by the keytui-managed profile 'work' (in the keyring); keytui acts as her."""
    return make_own(ALICE)


@pytest.fixture
def other(moto_account: MotoAccount, keyring_backend: FaultyKeyring, use_keyring: Any) -> Rig:
    """bob's only key, rotated by an administrator acting through the managed profile 'admin': the new
    secret is shown once, never stored by keytui."""
    credentials = moto_account.seed([ADMIN, BOB])
    admin_id, admin_secret = credentials["admin"]
    moto_account.files.write(config=managed_profile_config("admin"), credentials="")
    use_keyring(keyring_backend)
    Vault(keyring_backend).put_key("admin", LongTermKey(admin_id, Secret(admin_secret)))
    keyring_backend.writes.clear()
    bob_key = next(iter(moto_account.backend.get_user("bob").access_keys)).access_key_id
    return Rig(moto_account, keyring_backend, "bob", bob_key, None, "admin", (bob_key,))


@pytest.fixture
def rig(request: pytest.FixtureRequest) -> Iterator[Rig]:
    """`own` or `other`, by indirect parametrization."""
    yield request.getfixturevalue(request.param)


# -- the demo account over HTTP, for the CLI --------------------------------------------------------------


@pytest.fixture
def demo(monkeypatch: pytest.MonkeyPatch, use_keyring: Any) -> Iterator[Any]:
    """A demo account of this test's own (keytui.demo.DemoAccount on 127.0.0.1, in this process: the tests
    rotate its keys, which the shared `demo_server` must not see), with the environment `keytui demo serve`
    advises (AWS_ENDPOINT_URL, its AWS files, its keyring) set for keytui run here or as a subprocess."""
    from keytui.demo import DemoAccount

    account = DemoAccount(shared_keyring=True).start()
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL", account.endpoint_url)
        monkeypatch.setenv("AWS_CONFIG_FILE", str(account.config_file))
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(account.credentials_file))
        monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keytui.vault.memory.DemoFileKeyring")
        monkeypatch.setenv("KEYTUI_DEMO_KEYRING", str(account.keyring_file))
        use_keyring(account.keyring)
        yield account
    finally:
        account.stop()


def demo_keys(account: Any, user: str) -> dict[str, str]:
    """`user`'s keys in the demo account, read over HTTP: {key id: status}."""
    session = botocore.session.Session()
    client = _PLAIN_CREATE_CLIENT(session, "iam", region_name=REGION, endpoint_url=account.endpoint_url,
                                  aws_access_key_id="AKIATESTREADER000000", aws_secret_access_key="x" * 40)
    answer = client.list_access_keys(UserName=user)
    return {k["AccessKeyId"]: k["Status"] for k in answer["AccessKeyMetadata"]}
