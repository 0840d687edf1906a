"""Fixtures of the MFA tests: an IAM user with a keytui-managed profile in moto, AWS state read with
un-instrumented clients (so `faults.calls` counts only what keytui sent), a scripted terminal for CLI runs
in this process, a real pseudo-terminal for CLI runs in a child process, and a demo account of our own
(the session-wide `demo_server` is read-only; enrollment and sessions change the account and the keyring).

Builds on tests/conftest.py (sandbox, moto_account, faults, demo_process) and tests/vault/conftest.py
(memory keyrings, run_cli). In this process, nothing ever opens the developer's real terminal: `open_tty`
is replaced by a scripted one (or by "no terminal"), and every child process runs in a new session
without a controlling terminal unless it is given a pseudo-terminal of its own.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import botocore.session
import pyotp
import pytest

from keytui import cli_tty
from keytui.core.clock import FixedClock
from keytui.core.errors import KeytuiError
from keytui.core.masking import Secret
from keytui.core.models import LongTermKey
from keytui.vault.memory import DemoFileKeyring, MemoryKeyring
from keytui.vault.store import Vault

from ..conftest import ACCOUNT_ID, REGION, AwsFiles, MotoAccount, Sandbox, clean_environ, demo_process
from ..vault.conftest import (  # noqa: F401  (fixtures used by the MFA tests)
    memory_keyring,
    no_credential_chain,
    process_line,
    run_cli,
    use_keyring,
)
from .qr_decode import decode

# botocore's own create_client, before the `faults` fixture wraps it: AWS's state is read with clients
# built from it, so the call record holds only what keytui itself sent.
_PLAIN_CREATE_CLIENT = botocore.session.Session.create_client

PROFILE = "alice"
ALICE_SERIAL = f"arn:aws:iam::{ACCOUNT_ID}:mfa/alice"


# -- time ----------------------------------------------------------------------------------------------------


@pytest.fixture
def clock() -> FixedClock:
    """moto dates sessions and devices with the real time, so the MFA tests' clock starts at the real now
    (whole seconds); tests that need exact instants build their own FixedClock."""
    return FixedClock(at=datetime.now(timezone.utc).replace(microsecond=0))


def totp_pair(seed: str, at: float, offset: int = 0) -> tuple[str, str]:
    """Two consecutive codes an authenticator app shows for `seed`, the second one being the code of the
    window `offset` steps from `at` (0: what the app shows at `at`)."""
    totp = pyotp.TOTP(seed)
    counter = int(at) // 30 + offset
    return totp.generate_otp(counter - 1), totp.generate_otp(counter)


# -- AWS state, read without going through the faults -------------------------------------------------------


def plain_client(service: str = "iam", endpoint_url: str | None = None) -> Any:
    session = botocore.session.Session()
    kwargs: dict[str, Any] = {"region_name": REGION, "aws_access_key_id": "AKIAREADSTATE0000001",
                              "aws_secret_access_key": "readState/00000000000000000000000000001"}
    if endpoint_url:
        kwargs["endpoint_url"] = endpoint_url
    return _PLAIN_CREATE_CLIENT(session, service, **kwargs)


def mfa_state(iam: Any, user: str) -> list[str]:
    """The serials of `user`'s MFA devices, as IAM lists them."""
    return [d["SerialNumber"] for d in iam.list_mfa_devices(UserName=user)["MFADevices"]]


def virtual_devices(iam: Any, status: str = "Any") -> dict[str, str | None]:
    """Every virtual MFA device: serial -> the user it is assigned to (None: unassigned)."""
    listed = iam.list_virtual_mfa_devices(AssignmentStatus=status)["VirtualMFADevices"]
    return {d["SerialNumber"]: (d.get("User") or {}).get("UserName") for d in listed}


@dataclass(frozen=True)
class Sent:
    """One request as it left botocore: which key signed it, and the session token it carried."""

    service: str
    operation: str
    key_id: str | None
    token: str | None


def _header(request: Any, name: str) -> str | None:
    value = request.headers.get(name)
    return value.decode() if isinstance(value, bytes) else value


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[Sent]:
    """Every request sent by a botocore client created during the test, with its signing key id."""
    record: list[Sent] = []
    create = botocore.session.Session.create_client

    def create_recording(self: botocore.session.Session, *args: Any, **kwargs: Any) -> Any:
        client = create(self, *args, **kwargs)
        service = client.meta.service_model.service_id.hyphenize()

        def on_send(request: Any, event_name: str, **_: Any) -> None:
            operation = event_name.split(".", 2)[2]
            signer = re.search(r"Credential=([^/]+)/", _header(request, "Authorization") or "")
            record.append(Sent(service, operation, signer.group(1) if signer else None,
                               _header(request, "X-Amz-Security-Token")))

        client.meta.events.register_first(f"before-send.{service}", on_send)
        return client

    monkeypatch.setattr(botocore.session.Session, "create_client", create_recording)
    return record


# A session AWS grants, made recognisable (moto answers every GetSessionToken with the same fixed example).
SESSION_KEY_ID = "ASIAMFASESSION000001"
SESSION_SECRET = "mfaSessionSecret/0000000000000000000000001"
SESSION_TOKEN = "FwoGZXIvYXdzEMFA//////////wEaDMFATOKEN" + "t" * 400


def grant(faults: Any, expiration: datetime | None = None, operation: str = "GetSessionToken") -> None:
    """Make STS answer `operation` with the recognisable session above (and this Expiration, if given)."""

    def edit(parsed: dict[str, Any], params: dict[str, Any]) -> None:
        parsed["Credentials"].update(AccessKeyId=SESSION_KEY_ID, SecretAccessKey=SESSION_SECRET,
                                     SessionToken=SESSION_TOKEN)
        if expiration is not None:
            parsed["Credentials"]["Expiration"] = expiration

    faults.rewrite(operation, edit, service="sts")


# -- an IAM user with a keytui-managed profile, in moto ---------------------------------------------------


@dataclass
class MfaUser:
    """`alice` in moto with a real key, held in the keyring by profile `alice` (credential_process line and
    `mfa_serial` in the config file)."""

    account: MotoAccount
    keyring: MemoryKeyring
    key: LongTermKey
    iam: Any  # an un-instrumented IAM client

    @property
    def vault(self) -> Vault:
        return Vault(self.keyring)

    @property
    def files(self) -> AwsFiles:
        return self.account.files

    def services(self, profile: str | None = PROFILE, **kwargs: Any) -> Any:
        return self.account.services(profile=profile, **kwargs)

    def write_config(self, extra: str = "", *, mfa_serial: str | None = ALICE_SERIAL) -> None:
        serial = f"mfa_serial = {mfa_serial}\n" if mfa_serial else ""
        self.files.write(
            config=f"[default]\nregion = {REGION}\n\n[profile {PROFILE}]\nregion = {REGION}\n{serial}"
            f"credential_process = {process_line(PROFILE)}\n\n{extra}"
        )

    def session_entry(self, profile: str = PROFILE) -> dict[str, str] | None:
        raw = self.vault.read(f"session:{profile}")
        return json.loads(raw) if raw else None


def create_user(iam: Any, name: str) -> LongTermKey:
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return LongTermKey(key["AccessKeyId"], Secret(key["SecretAccessKey"]))


@pytest.fixture
def alice(moto_account: MotoAccount, memory_keyring: MemoryKeyring) -> MfaUser:
    iam = plain_client()
    key = create_user(iam, PROFILE)
    user = MfaUser(moto_account, memory_keyring, key, iam)
    user.vault.put_key(PROFILE, key)
    user.write_config()
    return user


# -- a scripted terminal for CLI runs in this process --------------------------------------------------------


class ScriptedTerminal:
    """Plays /dev/tty: what keytui writes goes to `transcript`, each line it reads comes from
    `answer(self)` (None: end of input, as Ctrl-D). Typed lines are echoed into the transcript."""

    def __init__(self, answer: Callable[[ScriptedTerminal], str | None]) -> None:
        self._answer = answer
        self.transcript = ""
        self.opened = 0

    @property
    def prompt(self) -> str:
        """The line keytui is asking on right now (after any screen clear keytui wrote before it)."""
        return self.transcript.rsplit("\n", 1)[-1].rsplit("\x1b[2J\x1b[H", 1)[-1]

    def write(self, text: str) -> int:
        self.transcript += text
        return len(text)

    def flush(self) -> None:
        pass

    def readline(self) -> str:
        line = self._answer(self)
        if line is None:
            return ""
        self.transcript += line + "\n"
        return line + "\n"

    def close(self) -> None:
        pass

    def __enter__(self) -> ScriptedTerminal:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def answers(*lines: str) -> Callable[[ScriptedTerminal], str | None]:
    """Type these lines, in order, then Ctrl-D."""
    pending = list(lines)
    return lambda tty: pending.pop(0) if pending else None


@pytest.fixture(autouse=True)
def no_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """In this process keytui finds no terminal (whatever terminal pytest itself runs in)."""

    def refuse(why: str) -> Any:
        raise KeytuiError(why, code="NoTerminal")

    monkeypatch.setattr(cli_tty, "open_tty", refuse)
    monkeypatch.setattr(cli_tty, "has_tty", lambda: False)


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> Callable[[Callable[[ScriptedTerminal], str | None]], ScriptedTerminal]:
    """`terminal(answer)`: from now on keytui's /dev/tty is a ScriptedTerminal answering with `answer`."""

    def install(answer: Callable[[ScriptedTerminal], str | None]) -> ScriptedTerminal:
        tty = ScriptedTerminal(answer)

        def open_tty(why: str) -> ScriptedTerminal:
            tty.opened += 1
            return tty

        monkeypatch.setattr(cli_tty, "open_tty", open_tty)
        monkeypatch.setattr(cli_tty, "has_tty", lambda: True)
        return tty

    return install


# -- the QR code drawn on a terminal, read back -----------------------------------------------------------------

_GLYPHS = {" ": (False, False), "▀": (True, False), "▄": (False, True), "█": (True, True)}
QR_HEADER = "Scan this with your authenticator app:\n\n"
QR_COLOURS, QR_RESET = "\x1b[97;40m", "\x1b[0m"
QR_FOOTER = "\nSecret for manual entry"


_COLOUR = re.compile(r"\x1b\[[0-9;]*m")


def qr_lines(transcript: str) -> list[str]:
    """The QR code's lines as drawn, without the colour codes keytui wraps them in (white on black, so that
    the code scans on light terminal themes too)."""
    text = transcript.replace("\r\n", "\n")
    start = text.index(QR_HEADER) + len(QR_HEADER)
    end = text.index(QR_FOOTER, start)
    lines = text[start:end].split("\n")
    assert all(line.startswith(QR_COLOURS) and line.endswith(QR_RESET) for line in lines), "QR lines not coloured"
    return [_COLOUR.sub("", line) for line in lines]


def uri_from_qr(lines: Sequence[str]) -> str:
    """The text of a QR code drawn with keytui's half blocks for a dark terminal (light modules drawn, two
    module rows per line, a light quiet zone), decoded by the strict decoder of tests/mfa/qr_decode.py."""
    assert lines and len({len(line) for line in lines}) == 1, "the QR lines are not all the same width"
    assert set("".join(lines)) <= set(_GLYPHS), f"unexpected characters: {set(''.join(lines)) - set(_GLYPHS)}"
    side = len(lines[0])
    drawn = [[_GLYPHS[ch][half] for ch in line] for line in lines for half in (0, 1)]
    assert len(drawn) in (side, side + 1), "the drawing is not square"
    if len(drawn) > side:  # an odd side: the half row below the drawing is left blank
        assert not any(drawn[-1])
        drawn = drawn[:side]
    dark = [[not cell for cell in row] for row in drawn]
    quiet = next(i for i, row in enumerate(dark) if any(row))
    assert quiet >= 1, "no quiet zone around the code"
    matrix = [row[quiet : side - quiet] for row in dark[quiet : side - quiet]]
    return decode(matrix).data.decode("utf-8")


def seed_of(uri: str) -> str:
    parsed = urlparse(uri)
    assert parsed.scheme == "otpauth" and parsed.netloc == "totp", uri
    return parse_qs(parsed.query)["secret"][0]


# -- a real pseudo-terminal for CLI runs in a child process ---------------------------------------------------

# Becomes the session leader's controlling terminal (the child runs with start_new_session), optionally makes
# one AWS operation fail the way AWS would (MFA_TEST_FAULT, JSON), then runs `python -m keytui ARGS`.
_LAUNCHER = r"""
import fcntl, os, runpy, sys, termios
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.ioctl(fd, termios.TIOCSCTTY, 0)
os.close(fd)
fault = os.environ.pop("MFA_TEST_FAULT", None)
if fault:
    import json
    import botocore.session
    from botocore.exceptions import ClientError
    spec = json.loads(fault)
    create = botocore.session.Session.create_client
    def refuse(**kwargs):
        with open(spec["record"], "a") as log:
            log.write(spec["operation"] + "\n")
        raise ClientError({"Error": {"Code": spec["code"], "Message": spec["message"], "Type": "Sender"},
                           "ResponseMetadata": {"HTTPStatusCode": 403}}, spec["operation"])
    def create_client(self, *args, **kwargs):
        client = create(self, *args, **kwargs)
        client.meta.events.register("before-call.%s.%s" % (spec["service"], spec["operation"]), refuse)
        return client
    botocore.session.Session.create_client = create_client
sys.argv = ["keytui", *sys.argv[2:]]
runpy.run_module("keytui", run_name="__main__", alter_sys=True)
"""


@dataclass
class Finished:
    code: int
    out: str
    err: str
    transcript: str


class PtyProcess:
    """`python -m keytui ARGS` in a new session whose controlling terminal is a pseudo-terminal: the test
    reads what keytui shows on /dev/tty (`expect`) and types (`send`). stdout and stderr are pipes, kept
    apart from the terminal. Echo is off, so the transcript is what keytui wrote."""

    def __init__(self, argv: Sequence[str], env: dict[str, str], *, python_flags: Sequence[str] = (),
                 stdin: Any = subprocess.DEVNULL) -> None:
        master, slave = os.openpty()
        attrs = termios.tcgetattr(slave)
        attrs[3] &= ~termios.ECHO
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        self.process = subprocess.Popen(
            [sys.executable, *python_flags, "-c", _LAUNCHER, os.ttyname(slave), *argv],
            stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True,
        )
        # The parent keeps its end of the slave open until the child has exited: reading the master then never
        # fails early (EIO) before the child has opened the terminal.
        self._slave = slave
        self._master = master
        self._screen = bytearray()
        self._changed = threading.Condition()
        self._seen = 0
        self._pipes: dict[str, bytes] = {}
        self._threads = [threading.Thread(target=self._pump_terminal, daemon=True)]
        for name, stream in (("out", self.process.stdout), ("err", self.process.stderr)):
            self._threads.append(threading.Thread(target=self._pump_pipe, args=(name, stream), daemon=True))
        for thread in self._threads:
            thread.start()

    def _pump_terminal(self) -> None:
        while True:
            try:
                chunk = os.read(self._master, 4096)
            except OSError:  # EIO: nobody holds the terminal any more
                chunk = b""
            with self._changed:
                self._screen += chunk
                self._changed.notify_all()
            if not chunk:
                return

    def _pump_pipe(self, name: str, stream: Any) -> None:
        self._pipes[name] = stream.read()

    @property
    def transcript(self) -> str:
        with self._changed:
            return bytes(self._screen).decode("utf-8", errors="ignore").replace("\r\n", "\n")

    def expect(self, text: str, timeout: float = 60) -> str:
        """Wait until `text` appears on the terminal after what was already expected; return the terminal's
        output from there up to and including it."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while text not in self._unread() and self.process.poll() is None and time.monotonic() < deadline:
                self._changed.wait(0.05)
        if text not in self._unread():  # the child may have written its last words just before exiting
            time.sleep(0.2)
        with self._changed:
            unread = self._unread()
            if text not in unread:
                self.process.poll()
                raise AssertionError(f"{text!r} did not appear on the terminal (exit {self.process.returncode}); "
                                     f"it shows:\n{self.transcript}\nstderr: {self._pipes.get('err', b'')!r}")
            end = unread.index(text) + len(text)
            self._seen += end
            return unread[:end]

    def _unread(self) -> str:
        return bytes(self._screen).decode("utf-8", errors="ignore").replace("\r\n", "\n")[self._seen :]

    def send(self, line: str) -> None:
        os.write(self._master, line.encode() + b"\n")

    def send_eof(self) -> None:
        os.write(self._master, b"\x04")  # Ctrl-D at the start of a line: read() returns nothing

    def finish(self, timeout: float = 60) -> Finished:
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"keytui did not exit; the terminal shows:\n{self.transcript}") from None
        self._close("_slave")  # now reading the master ends once it is drained
        for thread in self._threads:
            thread.join(timeout=10)
        self._close("_master")
        return Finished(code, self._pipes.get("out", b"").decode(), self._pipes.get("err", b"").decode(),
                        self.transcript)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._close("_slave")
        self._close("_master")

    def _close(self, name: str) -> None:
        fd = getattr(self, name)
        if fd >= 0:
            setattr(self, name, -1)  # never close a number the system may have handed out again
            os.close(fd)


# -- a demo account of the MFA tests' own, and a private copy of its files per test ----------------------------

_MFA_DEMO_RUNNER = """
import json, sys
from keytui.demo import DemoAccount
demo = DemoAccount(shared_keyring=True).start()
print(json.dumps({"endpoint_url": demo.endpoint_url, "config_file": str(demo.config_file),
                  "credentials_file": str(demo.credentials_file), "keyring_file": str(demo.keyring_file)}),
      flush=True)
sys.stdin.read()  # until the test session closes our stdin
demo.stop()
"""
DEMO_MFA_PROFILE = "demo-mfa"
SYBIL_SERIAL = f"arn:aws:iam::{ACCOUNT_ID}:mfa/sybil"


@pytest.fixture(scope="session")
def mfa_demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """keytui's demo account (moto on 127.0.0.1, its own process), shared by the MFA tests, which change it:
    each test uses other users' devices, and works on a copy of the demo's files and keyring."""
    root = tmp_path_factory.mktemp("mfa-demo")
    with demo_process(_MFA_DEMO_RUNNER, root, "the MFA tests' demo account") as info:
        yield info


@dataclass
class DemoCopy:
    """The demo account seen through private copies of its AWS files and keyring (per test)."""

    endpoint_url: str
    config_file: Path
    credentials_file: Path
    keyring_file: Path
    started: list[PtyProcess] = field(default_factory=list)

    def env(self, **extra: str) -> dict[str, str]:
        env = clean_environ()
        env.update(
            AWS_ENDPOINT_URL=self.endpoint_url,
            AWS_CONFIG_FILE=str(self.config_file),
            AWS_SHARED_CREDENTIALS_FILE=str(self.credentials_file),
            AWS_EC2_METADATA_DISABLED="true",
            PYTHON_KEYRING_BACKEND="keytui.vault.memory.DemoFileKeyring",
            KEYTUI_DEMO_KEYRING=str(self.keyring_file),
            **extra,
        )
        return env

    def vault(self) -> Vault:
        return Vault(DemoFileKeyring(str(self.keyring_file)))

    def session_entry(self, profile: str = DEMO_MFA_PROFILE) -> dict[str, str] | None:
        raw = self.vault().read(f"session:{profile}")
        return json.loads(raw) if raw else None

    def iam(self) -> Any:
        return plain_client("iam", self.endpoint_url)

    def run(self, *argv: str, input: str | None = None, python_flags: Sequence[str] = (),
            env: dict[str, str] | None = None, timeout: float = 90) -> subprocess.CompletedProcess[str]:
        """`python -m keytui ARGS` with no terminal at all (a new session), stdin `input` or /dev/null."""
        return subprocess.run(
            [sys.executable, *python_flags, "-m", "keytui", *argv],
            input=input, stdin=None if input is not None else subprocess.DEVNULL, capture_output=True,
            text=True, env=env or self.env(), timeout=timeout, start_new_session=True,
        )

    def pty(self, *argv: str, python_flags: Sequence[str] = (), **env: str) -> PtyProcess:
        process = PtyProcess(argv, self.env(**env), python_flags=python_flags)
        self.started.append(process)
        return process


@pytest.fixture
def demo(mfa_demo_server: dict[str, str], tmp_path: Path) -> Iterator[DemoCopy]:
    folder = tmp_path / "demo-files"
    folder.mkdir(mode=0o700)
    copies = {}
    for name in ("config_file", "credentials_file", "keyring_file"):
        source = Path(mfa_demo_server[name])
        copies[name] = folder / source.name
        shutil.copyfile(source, copies[name])
        copies[name].chmod(0o600)
    copy = DemoCopy(mfa_demo_server["endpoint_url"], **copies)
    yield copy
    for process in copy.started:  # a failed test leaves no keytui behind
        process.kill()


def demo_key(demo: DemoCopy, profile: str = DEMO_MFA_PROFILE) -> LongTermKey:
    key = demo.vault().get_key(profile)
    assert key is not None
    return key


# -- secrets at rest ---------------------------------------------------------------------------------------------


def files_under(roots: Sequence[Path]) -> list[Path]:
    found = []
    for root in roots:
        for folder, _, names in os.walk(root):
            found += [Path(folder) / name for name in names]
    return found


def secrets_in_files(files: Sequence[Path], secrets: dict[str, str]) -> list[tuple[str, str]]:
    """(file, what) for every secret found in a file (the values themselves are never reported)."""
    return [(str(path), what) for path in files for what, value in secrets.items()
            if value and value.encode() in path.read_bytes()]


def sandbox_roots(sandbox: Sandbox) -> list[Path]:
    return [sandbox.home, sandbox.config_home, sandbox.data_home, sandbox.state_home, sandbox.cache_home]

