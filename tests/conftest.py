"""Fixtures every keytui test shares (tests/ui reuses them): the developer's machine is kept out, AWS is
moto, time is a FixedClock, and faults moto cannot produce are injected into botocore clients.

Autouse: a sandboxed HOME/XDG_*/AWS config, no AWS_*/KEYTUI_* variables, no instance-metadata lookups, no
network off 127.0.0.1, no real keyring, and no botocore retry backoff (retries still happen, instantly).

On request:
- `moto_account`  an in-process moto account (`mock_aws`), with helpers to seed users and build services;
- `aws_files`     write ~/.aws/config and ~/.aws/credentials (the sandbox's, or files elsewhere);
- `clock`         a FixedClock;
- `faults`        deny / throttle / paginate / rewrite calls of every botocore client (see Faults);
- `demo_server`   the demo account (keytui.demo.DemoAccount, a real moto server on 127.0.0.1), once per
                  session, in its own process (treat it as read-only).
"""

from __future__ import annotations

import json
from contextlib import contextmanager
import os
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import botocore.retries.standard
import botocore.session
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

# moto must be imported before any botocore session is created: it installs its before-send handler
# into botocore's builtin handlers at import time.
import moto  # noqa: F401
from moto import mock_aws

from keytui.core.aws import AwsTarget
from keytui.core.clock import FixedClock
from keytui.core.settings import Settings

# A stable instant for tests; ages are computed from it.
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=timezone.utc)
ACCOUNT_ID = "123456789012"  # moto's default account (and the demo's)
REGION = "us-east-1"
# Well-formed, obviously fake keys for profile files (never sent anywhere but moto).
DEFAULT_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
DEFAULT_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

_EXTRA_AWS_VARS = (
    # Named in the brief; every AWS_* variable is removed anyway.
    "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_REGION", "AWS_DEFAULT_REGION",
)


# -- the sandbox ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sandbox:
    root: Path
    home: Path
    config_home: Path
    data_home: Path
    state_home: Path
    cache_home: Path

    @property
    def aws_config(self) -> Path:
        return self.home / ".aws" / "config"

    @property
    def aws_credentials(self) -> Path:
        return self.home / ".aws" / "credentials"

    @property
    def settings_file(self) -> Path:
        return self.config_home / "keytui" / "config.toml"


def clean_environ(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """`base` (default os.environ) without any AWS_* or KEYTUI_* variable: for subprocesses."""
    base = os.environ if base is None else base
    return {k: v for k, v in base.items() if not k.startswith(("AWS_", "KEYTUI_"))}


@pytest.fixture(autouse=True)
def sandbox(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    """Home folders, XDG folders and AWS config files all live in a fresh temporary folder; no AWS_* or
    KEYTUI_* variable from the developer's shell survives; IMDS is off; the keyring is a failing backend."""
    root = tmp_path_factory.mktemp("sandbox")
    box = Sandbox(
        root=root,
        home=root / "home",
        config_home=root / "xdg-config",
        data_home=root / "xdg-data",
        state_home=root / "xdg-state",
        cache_home=root / "xdg-cache",
    )
    for path in (box.home, box.config_home, box.data_home, box.state_home, box.cache_home):
        path.mkdir(mode=0o700)
    for name in list(os.environ):
        if name.startswith(("AWS_", "KEYTUI_")):
            monkeypatch.delenv(name)
    for name in _EXTRA_AWS_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(box.home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(box.config_home))
    monkeypatch.setenv("XDG_DATA_HOME", str(box.data_home))
    monkeypatch.setenv("XDG_STATE_HOME", str(box.state_home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(box.cache_home))
    # botocore must never try the instance metadata endpoint (169.254.169.254) looking for credentials.
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(box.aws_config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(box.aws_credentials))
    # A keyring nobody set up explicitly fails instead of reaching the developer's real one.
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.delenv("NO_COLOR", raising=False)
    return box


_LOCAL_HOSTS = {"127.0.0.1", "::1", "localhost", "0.0.0.0"}


def _is_local(address: object) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    if isinstance(address, tuple) and address:
        return str(address[0]) in _LOCAL_HOSTS
    return False


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connection or name lookup off 127.0.0.1 fails the call loudly (this machine has no internet;
    a test that tries is a test that would leak requests to real AWS somewhere else)."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def connect(sock: socket.socket, address: Any) -> Any:
        if not _is_local(address):
            raise OSError(f"test tried to connect to {address!r}: only 127.0.0.1 is allowed")
        return real_connect(sock, address)

    def connect_ex(sock: socket.socket, address: Any) -> Any:
        if not _is_local(address):
            raise OSError(f"test tried to connect to {address!r}: only 127.0.0.1 is allowed")
        return real_connect_ex(sock, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name is not None and str(name) not in _LOCAL_HOSTS:
            raise OSError(f"test tried to resolve {host!r}: only 127.0.0.1 is allowed")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture(autouse=True)
def no_real_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """keytui asks its questions on /dev/tty: in this process it must never reach the terminal pytest runs
    in (a test would wait for a person). Tests that need a terminal install a scripted one."""
    from keytui import cli_tty
    from keytui.core.errors import KeytuiError

    def refuse(why: str) -> object:
        raise KeytuiError(why, code="NoTerminal")

    monkeypatch.setattr(cli_tty, "open_tty", refuse)
    monkeypatch.setattr(cli_tty, "has_tty", lambda: False)


@pytest.fixture(autouse=True)
def no_retry_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore still retries throttling and connection errors (standard mode), but without sleeping."""
    monkeypatch.setattr(botocore.retries.standard.ExponentialBackoff, "delay_amount", lambda self, context: 0.0)


# -- clock and files --------------------------------------------------------------------------------------


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(at=NOW)


def write_private(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    path.chmod(0o600)
    return path


@dataclass
class AwsFiles:
    """Writes the AWS config and credentials files that botocore (and keytui) read."""

    config: Path
    credentials: Path

    def write(self, config: str | None = None, credentials: str | None = None) -> AwsFiles:
        """Replace the files' content (dedented); None leaves a file as it is."""
        if config is not None:
            write_private(self.config, config)
        if credentials is not None:
            write_private(self.credentials, credentials)
        return self

    def elsewhere(self, folder: Path, monkeypatch: pytest.MonkeyPatch) -> AwsFiles:
        """Files in `folder`, named by AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE (as a user would)."""
        other = AwsFiles(folder / "aws-config", folder / "aws-credentials")
        monkeypatch.setenv("AWS_CONFIG_FILE", str(other.config))
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(other.credentials))
        return other

    @property
    def paths(self) -> tuple[str, str]:
        return str(self.config), str(self.credentials)


@pytest.fixture
def aws_files(sandbox: Sandbox) -> AwsFiles:
    """The sandbox's ~/.aws/config and ~/.aws/credentials (AWS_CONFIG_FILE etc. point at them); empty."""
    return AwsFiles(sandbox.aws_config, sandbox.aws_credentials)


def default_profile(files: AwsFiles) -> None:
    files.write(
        config=f"[default]\nregion = {REGION}\n",
        credentials=f"[default]\naws_access_key_id = {DEFAULT_KEY_ID}\naws_secret_access_key = {DEFAULT_SECRET}\n",
    )


# -- fault injection --------------------------------------------------------------------------------------


class _RawBody:
    """What AWSResponse.raw must offer: the body as a stream."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def query_error_response(code: str, message: str, status: int = 400, url: str = "https://iam.amazonaws.com/") -> AWSResponse:
    """An AWS query-protocol (IAM, STS) error response, as botocore would receive it over HTTP."""
    body = (
        '<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
        f"<Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
        "<RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
    ).encode()
    return AWSResponse(url, status, {"Content-Type": "text/xml"}, _RawBody(body))


@dataclass(frozen=True)
class Call:
    service: str
    operation: str
    params: dict[str, Any]


@dataclass
class _Deny:
    service: str
    operation: str
    code: str
    message: str
    when: Callable[[dict[str, Any]], bool]


@dataclass
class _Throttle:
    service: str
    operation: str | None
    every: int
    code: str
    message: str
    count: int = 0


@dataclass
class _Pages:
    service: str
    operation: str
    result_key: str
    size: int


@dataclass
class _Rewrite:
    service: str
    operation: str
    edit: Callable[[dict[str, Any], dict[str, Any]], None]


_PARAMS = "keytui_test_params"


@dataclass
class Faults:
    """Faults moto does not produce, injected through botocore's event hooks.

    - `deny(op, when=...)`: a `before-call` handler raises ClientError (AccessDenied by default) for the
      calls whose API parameters satisfy `when`. Not retried by botocore.
    - `throttle(every=5)`: a `before-send` handler (registered first) answers every n-th matching call with
      HTTP 400 and an XML `Throttling` body, so botocore's own retry logic sees it and retries. Query
      protocol (IAM, STS) only. moto's in-process stubber still runs behind it: fine for reads.
    - `paginate(op, result_key, size)`: an `after-call` handler cuts the answer to `size` items per page with
      IsTruncated/Marker honoured (moto ignores MaxItems/Marker).
    - `rewrite(op, edit)`: an `after-call` handler lets `edit(parsed, params)` change a successful answer
      (e.g. fill in report columns moto leaves empty).
    - `calls`: every call made (service, operation, API parameters), recorded at parameter build.

    The `faults` fixture installs it on every botocore/boto3 client created during the test; `install(client)`
    adds it to a client that already exists.
    """

    calls: list[Call] = field(default_factory=list)
    throttled: list[Call] = field(default_factory=list)
    _denials: list[_Deny] = field(default_factory=list)
    _throttles: list[_Throttle] = field(default_factory=list)
    _pages: list[_Pages] = field(default_factory=list)
    _rewrites: list[_Rewrite] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- rules ------------------------------------------------------------------------------------------

    def deny(
        self,
        operation: str,
        *,
        service: str = "iam",
        code: str = "AccessDenied",
        message: str | None = None,
        when: Callable[[dict[str, Any]], bool] = lambda params: True,
    ) -> None:
        message = message or (
            f"User: arn:aws:iam::{ACCOUNT_ID}:user/tester is not authorized to perform: {service}:{operation} "
            "with an explicit deny in a service control policy"
        )
        self._denials.append(_Deny(service, operation, code, message, when))

    def throttle(
        self,
        *,
        every: int = 5,
        service: str = "iam",
        operation: str | None = None,
        code: str = "Throttling",
        message: str = "Rate exceeded",
    ) -> None:
        self._throttles.append(_Throttle(service, operation, every, code, message))

    def paginate(self, operation: str, result_key: str, size: int, *, service: str = "iam") -> None:
        self._pages.append(_Pages(service, operation, result_key, size))

    def rewrite(
        self, operation: str, edit: Callable[[dict[str, Any], dict[str, Any]], None], *, service: str = "iam"
    ) -> None:
        self._rewrites.append(_Rewrite(service, operation, edit))

    def count(self, operation: str, service: str | None = None) -> int:
        return sum(1 for c in self.calls if c.operation == operation and service in (None, c.service))

    # -- wiring -----------------------------------------------------------------------------------------

    def install(self, client: Any) -> Any:
        service = client.meta.service_model.service_id.hyphenize()
        events = client.meta.events
        events.register(f"before-parameter-build.{service}", self._on_params)
        events.register(f"before-call.{service}", self._on_call)
        events.register_first(f"before-send.{service}", self._on_send)
        events.register(f"after-call.{service}", self._on_after_call)
        return client

    @staticmethod
    def _split(event_name: str) -> tuple[str, str]:
        _, service, operation = event_name.split(".", 2)
        return service, operation

    def _on_params(self, params: dict[str, Any], context: dict[str, Any], event_name: str, **_: Any) -> None:
        service, operation = self._split(event_name)
        context[_PARAMS] = dict(params)
        with self._lock:
            self.calls.append(Call(service, operation, dict(params)))

    def _on_call(self, context: dict[str, Any], event_name: str, **_: Any) -> None:
        service, operation = self._split(event_name)
        params = context.get(_PARAMS, {})
        for rule in self._denials:
            if rule.service == service and rule.operation == operation and rule.when(params):
                raise ClientError(
                    {
                        "Error": {"Code": rule.code, "Message": rule.message, "Type": "Sender"},
                        "ResponseMetadata": {"HTTPStatusCode": 403},
                    },
                    operation,
                )

    def _on_send(self, request: Any, event_name: str, **_: Any) -> AWSResponse | None:
        service, operation = self._split(event_name)
        for rule in self._throttles:
            if rule.service != service or rule.operation not in (None, operation):
                continue
            with self._lock:
                rule.count += 1
                hit = rule.count % rule.every == 0
                if hit:
                    self.throttled.append(Call(service, operation, {}))
            if hit:
                return query_error_response(rule.code, rule.message, url=request.url)
        return None

    def _on_after_call(self, parsed: dict[str, Any], context: dict[str, Any], event_name: str, **_: Any) -> None:
        service, operation = self._split(event_name)
        params = context.get(_PARAMS, {})
        for edit in self._rewrites:
            if edit.service == service and edit.operation == operation and "Error" not in parsed:
                edit.edit(parsed, params)
        for rule in self._pages:
            if rule.service != service or rule.operation != operation or rule.result_key not in parsed:
                continue
            items = list(parsed[rule.result_key])
            start = int(params.get("Marker") or 0)
            end = start + rule.size
            parsed[rule.result_key] = items[start:end]
            parsed["IsTruncated"] = end < len(items)
            if end < len(items):
                parsed["Marker"] = str(end)
            else:
                parsed.pop("Marker", None)


@pytest.fixture
def faults(monkeypatch: pytest.MonkeyPatch) -> Faults:
    """Faults for every botocore (or boto3) client created during the test: AwsSession's, and any other
    (e.g. an STS client signed with a brand-new key)."""
    injector = Faults()
    create = botocore.session.Session.create_client

    def create_with_faults(self: botocore.session.Session, *args: Any, **kwargs: Any) -> Any:
        return injector.install(create(self, *args, **kwargs))

    monkeypatch.setattr(botocore.session.Session, "create_client", create_with_faults)
    return injector


# -- an in-process moto account ---------------------------------------------------------------------------


@dataclass
class MotoAccount:
    """moto's in-process IAM backend behind `mock_aws`, plus a default profile in the sandbox files."""

    files: AwsFiles
    clock: FixedClock

    @property
    def backend(self) -> Any:
        from moto.iam.models import iam_backends

        return iam_backends[ACCOUNT_ID]["aws"]

    def seed(self, users: Any, now: datetime | None = None) -> dict[str, tuple[str, str]]:
        """Create `users` (keytui.demo.DemoUser specs) with keys backdated from `now` (default: the clock)."""
        from keytui.demo import seed

        return seed(tuple(users), now=now or self.clock.now())

    def report_ready(self) -> None:
        """Mark the credential report as generated, so GenerateCredentialReport answers COMPLETE at once."""
        self.backend.generate_report()

    def client(self, service: str = "iam") -> Any:
        import botocore.session

        from keytui.core.aws import parse_utc

        session = botocore.session.Session()
        session.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=parse_utc)
        return session.create_client(
            service, region_name=REGION, aws_access_key_id=DEFAULT_KEY_ID, aws_secret_access_key=DEFAULT_SECRET
        )

    def services(self, *, settings: Settings | None = None, **target: Any) -> Any:
        from keytui.services import build_services

        return build_services(AwsTarget(region=REGION, **target), settings or Settings(), self.clock)


@pytest.fixture
def moto_account(aws_files: AwsFiles, clock: FixedClock) -> Iterator[MotoAccount]:
    """`mock_aws` for the test, with a `[default]` profile in the sandbox's AWS files. moto's own fake
    environment credentials are turned off, so "env overrides profile" stays explicit in each test."""
    default_profile(aws_files)
    with mock_aws(config={"core": {"mock_credentials": False, "reset_boto3_session": True}}):
        yield MotoAccount(aws_files, clock)


# -- the demo account over HTTP ---------------------------------------------------------------------------

_DEMO_RUNNER = """
import json, sys
from keytui.demo import DEMO_PROFILE, DemoAccount
demo = DemoAccount(shared_keyring=True).start()
print(json.dumps({"endpoint_url": demo.endpoint_url, "config_file": str(demo.config_file),
                  "credentials_file": str(demo.credentials_file), "keyring_file": str(demo.keyring_file),
                  "profile": DEMO_PROFILE}), flush=True)
sys.stdin.read()  # until the test session closes our stdin
demo.stop()
"""
DEMO_KEYRING_BACKEND = "keytui.vault.memory.DemoFileKeyring"


@dataclass(frozen=True)
class DemoServer:
    """The running demo account: the same attributes as keytui.demo.DemoAccount. Its `demo` profile's key
    is in the demo's keyring, a file other processes read through PYTHON_KEYRING_BACKEND (see `env`)."""

    endpoint_url: str
    config_file: Path
    credentials_file: Path
    keyring_file: Path
    profile: str
    region: str = REGION

    def keyring(self) -> Any:
        """The demo's keyring, for `build_services(..., keyring_backend=demo_server.keyring())`."""
        from keytui.vault.memory import DemoFileKeyring

        return DemoFileKeyring(str(self.keyring_file))

    def target(self, profile: str | None = None) -> AwsTarget:
        return AwsTarget(
            profile=profile or self.profile,
            region=self.region,
            endpoint_url=self.endpoint_url,
            config_file=str(self.config_file),
            credentials_file=str(self.credentials_file),
        )

    def env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """Environment for a subprocess (`keytui …`) pointed at the demo, as `keytui demo serve` advises."""
        env = clean_environ(base)
        env.update(
            AWS_ENDPOINT_URL=self.endpoint_url,
            AWS_CONFIG_FILE=str(self.config_file),
            AWS_SHARED_CREDENTIALS_FILE=str(self.credentials_file),
            AWS_PROFILE=self.profile,
            AWS_EC2_METADATA_DISABLED="true",
            PYTHON_KEYRING_BACKEND=DEMO_KEYRING_BACKEND,
            KEYTUI_DEMO_KEYRING=str(self.keyring_file),
        )
        return env


@contextmanager
def demo_process(runner: str, root: Path, what: str, **extra_env: str) -> Iterator[dict]:
    """Run a demo `runner` script in its own process (HOME and TMPDIR in `root`, no keyring), yield the JSON
    line it prints when ready, and stop it (stdin closed) afterwards."""
    env = clean_environ()
    env.update(HOME=str(root), TMPDIR=str(root), AWS_EC2_METADATA_DISABLED="true",
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring", **extra_env)
    process = subprocess.Popen(
        [sys.executable, "-c", runner], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True
    )
    assert process.stdout is not None and process.stdin is not None
    line = process.stdout.readline()
    if not line:
        process.kill()
        pytest.fail(f"{what} did not start (exit {process.wait()})")
    try:
        yield json.loads(line)
    finally:
        process.stdin.close()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    """keytui.demo.DemoAccount serving on 127.0.0.1, started once per session.

    It runs in its own process because moto's state is process-global: `mock_aws` resets every backend
    when a test starts and stops, which would empty an in-process demo server. Shared by many tests:
    treat it as read-only (mutating tests use `moto_account` or their own DemoAccount)."""
    root = tmp_path_factory.mktemp("demo")
    with demo_process(_DEMO_RUNNER, root, "the demo account") as info:
        yield DemoServer(
            endpoint_url=info["endpoint_url"],
            config_file=Path(info["config_file"]),
            credentials_file=Path(info["credentials_file"]),
            keyring_file=Path(info["keyring_file"]),
            profile=info["profile"],
        )
