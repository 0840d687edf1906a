"""Fixtures of the vault tests: keyring backends (in memory, shared with subprocesses through a file, and
the faults F-12/F-13/F-14 describe), CLI runs in this process, and the demo account with moto's
authentication switched on, so a wrong secret really is refused.

The root conftest already sandboxes HOME/XDG/AWS files and sets PYTHON_KEYRING_BACKEND to the failing
backend; the fixtures here only ever install keyrings that live in memory or in the test's own folder.
"""

from __future__ import annotations

import configparser
import io
import json
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import keyring.core
import pytest
from keyring.backend import KeyringBackend
from keyring.errors import PasswordSetError

from keytui import cli, cli_tty
from keytui.cli_vault import CHAIN_VARIABLE, EXEC_VARIABLE
from keytui.core.masking import Secret
from keytui.core.models import LongTermKey
from keytui.vault.memory import DemoFileKeyring, MemoryKeyring

from ..conftest import Sandbox, demo_process

SERVICE = "keytui"
# The credential_process line keytui writes when run as `python -m keytui` / under pytest.
KEYTUI = f"{sys.executable} -m keytui"


def process_line(profile: str) -> str:
    return f"{KEYTUI} credential-process --profile {profile}"


# -- keyrings ---------------------------------------------------------------------------------------------


class ReadOnlyKeyring(MemoryKeyring):
    """Reads work, every write is refused (a keyring whose policy denies writes)."""

    name = "read-only keyring"

    def set_password(self, service: str, username: str, password: str) -> None:
        raise PasswordSetError("write access denied")


class ForgetfulKeyring(MemoryKeyring):
    """Accepts writes, then answers None for them (an entry that vanished / a dismissed prompt)."""

    name = "forgetful keyring"

    def get_password(self, service: str, username: str) -> str | None:
        return None


class RecordingKeyring(MemoryKeyring):
    """A MemoryKeyring that records every call, in order: ("set"|"get"|"delete", username)."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.calls: list[tuple[str, str]] = []

    def get_password(self, service: str, username: str) -> str | None:
        self.calls.append(("get", username))
        return super().get_password(service, username)

    def set_password(self, service: str, username: str, password: str) -> None:
        self.calls.append(("set", username))
        super().set_password(service, username, password)

    def delete_password(self, service: str, username: str) -> None:
        self.calls.append(("delete", username))
        super().delete_password(service, username)


@pytest.fixture(autouse=True)
def no_credential_chain(monkeypatch: pytest.MonkeyPatch) -> None:
    """`keytui credential-process` and `exec` set these in os.environ when run in this process; make sure
    they are gone again after each test."""
    monkeypatch.delenv(CHAIN_VARIABLE, raising=False)
    monkeypatch.delenv(EXEC_VARIABLE, raising=False)


@pytest.fixture
def use_keyring(monkeypatch: pytest.MonkeyPatch) -> Callable[[KeyringBackend], KeyringBackend]:
    """`use_keyring(backend)`: what `keyring.get_keyring()` returns in this process for the test."""

    def install(backend: KeyringBackend) -> KeyringBackend:
        monkeypatch.setattr(keyring.core, "_keyring_backend", backend)
        return backend

    return install


@pytest.fixture
def memory_keyring(use_keyring: Callable[[KeyringBackend], KeyringBackend]) -> MemoryKeyring:
    return use_keyring(MemoryKeyring())  # type: ignore[return-value]


@pytest.fixture
def shared_keyring(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, use_keyring: Callable[[KeyringBackend], KeyringBackend]
) -> DemoFileKeyring:
    """A keyring this process and its subprocesses (botocore's credential_process, `python -m keytui`)
    share: keytui's demo file keyring, kept outside HOME (it plays the OS keyring, not a file keytui
    writes)."""
    folder = sandbox.root / "os-keyring"
    folder.mkdir(mode=0o700)
    path = folder / "keyring.json"
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keytui.vault.memory.DemoFileKeyring")
    monkeypatch.setenv("KEYTUI_DEMO_KEYRING", str(path))
    return use_keyring(DemoFileKeyring(str(path)))  # type: ignore[return-value]


def entries(backend: MemoryKeyring) -> dict[str, str]:
    """The keyring's content for keytui's service, fresh from the backend (file keyrings re-read)."""
    if isinstance(backend, DemoFileKeyring):
        backend._load()
    return {user: value for (service, user), value in backend.entries.items() if service == SERVICE}


def stored_json(backend: MemoryKeyring, name: str) -> dict[str, str]:
    return json.loads(entries(backend)[name])


# -- running the CLI ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


class _Terminal(io.StringIO):
    """stdin that says it is a terminal (the answers to prompts are its lines)."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def run_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    """`run_cli("vault", "list", stdin="…")`: keytui.cli.main in this process; stdin is a pipe, or a terminal
    with `tty=True`."""

    def run(*argv: str, stdin: str = "", tty: bool = False) -> Run:
        capsys.readouterr()
        monkeypatch.setattr(sys, "stdin", _Terminal(stdin) if tty else io.StringIO(stdin))
        if tty:
            # Questions go to /dev/tty (keytui.cli_tty): here the same scripted input plays the terminal.
            terminal = _Terminal(stdin)
            terminal.write = lambda text: len(text)  # type: ignore[method-assign]
            monkeypatch.setattr(cli_tty, "open_tty", lambda why: terminal)
            monkeypatch.setattr(cli_tty, "has_tty", lambda: True)
        # Each real run is its own process: what one sets in os.environ for its children must not reach
        # the next run.
        kept = {name: os.environ.get(name) for name in (CHAIN_VARIABLE, EXEC_VARIABLE)}
        try:
            code = cli.main(list(argv))
        except SystemExit as exc:  # argparse usage errors
            code = int(exc.code or 0)
        finally:
            for name, value in kept.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


# -- the demo account with authentication -----------------------------------------------------------------

_AUTH_DEMO_RUNNER = """
import json, sys
from keytui.demo import DemoAccount
demo = DemoAccount(shared_keyring=True).start()
print(json.dumps({"endpoint_url": demo.endpoint_url, "config_file": str(demo.config_file),
                  "credentials_file": str(demo.credentials_file), "keyring_file": str(demo.keyring_file)}),
      flush=True)
sys.stdin.read()  # until the test session closes our stdin
demo.stop()
"""


@dataclass(frozen=True)
class AuthDemo:
    """The demo account served with moto's authentication on: unknown keys get InvalidClientTokenId, a
    wrong secret SignatureDoesNotMatch. `key(profile)` is a real key of the account, from its plaintext
    credentials file ('bob-laptop' holds bob's first key)."""

    endpoint_url: str
    config_file: Path
    credentials_file: Path
    keyring_file: Path

    def key(self, profile: str = "bob-laptop") -> LongTermKey:
        parser = configparser.RawConfigParser()
        parser.read(self.credentials_file)
        section = parser[profile]
        return LongTermKey(section["aws_access_key_id"], Secret(section["aws_secret_access_key"]))


BOB_ARN = "arn:aws:iam::123456789012:user/eng/bob"


@pytest.fixture(scope="session")
def auth_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthDemo]:
    """keytui.demo.DemoAccount on 127.0.0.1 in its own process, with INITIAL_NO_AUTH_ACTION_COUNT=0 (moto
    checks every request's key and signature; the seeding itself does not go through HTTP). Read-only."""
    root = tmp_path_factory.mktemp("auth-demo")
    with demo_process(_AUTH_DEMO_RUNNER, root, "the authenticated demo account", INITIAL_NO_AUTH_ACTION_COUNT="0") as info:
        yield AuthDemo(**{name: value if name == "endpoint_url" else Path(value) for name, value in info.items()})


@pytest.fixture
def aws_endpoint(auth_demo: AuthDemo, monkeypatch: pytest.MonkeyPatch) -> AuthDemo:
    """AWS_ENDPOINT_URL points at the authenticated demo account (as `keytui demo serve` advises)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", auth_demo.endpoint_url)
    return auth_demo
