"""The embedded demo account: a moto server on 127.0.0.1 seeded with a realistic, slightly neglected
AWS account, plus throw-away AWS config files pointing at it. Used by `keytui --demo`, `keytui demo serve`,
the tests and the benchmarks. Never reads or writes the user's ~/.aws or keyring.
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
import secrets
import shutil
import signal
import socket
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from keytui.core.aws import AwsTarget

DEMO_ACCOUNT_ID = "123456789012"
DEMO_REGION = "us-east-1"
DEMO_PROFILE = "demo"
# A keyring profile with `mfa_serial`: what `keytui session` and credential_process serve MFA sessions for.
DEMO_MFA_PROFILE = "demo-mfa"
# Demo profiles whose key lives in the demo's keyring (the rest sit in its plaintext credentials file,
# so that the Profiles screen has something to import).
VAULT_PROFILES = frozenset({DEMO_PROFILE, DEMO_MFA_PROFILE})


@dataclass(frozen=True)
class DemoKey:
    age_days: int
    active: bool = True
    # Days since last use; None = never used.
    used_days_ago: int | None = None
    service: str = "iam"
    region: str = "us-east-1"


@dataclass(frozen=True)
class DemoUser:
    name: str
    path: str = "/"
    console: bool = False
    mfa: bool = False
    keys: tuple[DemoKey, ...] = ()
    age_days: int = 700
    # The local profile (in the demo's credentials file) that holds this user's first key.
    profile: str | None = None


K = DemoKey
# Chosen so that every state keytui shows appears at least once: keys 5, 95 and 400 days old, inactive
# keys, never-used keys, keys last used 60 days ago from various services and regions, users with and
# without MFA, console users without MFA, users at the two-key limit, nested paths.
DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("ops-admin", "/ops/", console=True, mfa=True, keys=(K(5, used_days_ago=0, service="sts"),), profile=DEMO_PROFILE),
    DemoUser("alice", "/eng/", console=True, mfa=True,
             keys=(K(400, used_days_ago=1, service="s3", region="eu-west-1"), K(5, used_days_ago=0, service="sts"))),
    DemoUser("bob", "/eng/", console=True, keys=(K(95, used_days_ago=60, service="ec2", region="us-west-2"),), profile="bob-laptop"),
    DemoUser("carol", "/eng/", console=True, mfa=True, keys=(K(5, used_days_ago=2, service="lambda", region="eu-central-1"),)),
    DemoUser("dave", "/eng/backend/", keys=(K(400),)),
    DemoUser("erin", "/eng/backend/", console=True, mfa=True,
             keys=(K(95, active=False, used_days_ago=80, service="dynamodb", region="us-east-2"), K(5, used_days_ago=0, service="dynamodb", region="us-east-2"))),
    DemoUser("frank", "/ops/", console=True, keys=(K(400, used_days_ago=3, service="cloudformation"),)),
    DemoUser("grace", "/ops/", console=True, mfa=True),
    DemoUser("heidi", "/finance/", console=True),
    DemoUser("ivan", "/finance/", console=True, mfa=True, keys=(K(62, used_days_ago=9, service="ce"),)),
    DemoUser("judy", "/eng/frontend/", console=True, mfa=True, keys=(K(30, used_days_ago=0, service="cloudfront"),)),
    DemoUser("mallory", "/contractors/", console=True, keys=(K(400, used_days_ago=60, service="s3", region="ap-southeast-2"),)),
    DemoUser("niaj", "/eng/data/", keys=(K(95, used_days_ago=60, service="athena", region="eu-west-1"), K(75, used_days_ago=1, service="glue", region="eu-west-1"))),
    DemoUser("olivia", "/eng/data/", console=True, mfa=True, keys=(K(12, used_days_ago=0, service="s3", region="eu-west-1"),)),
    DemoUser("peggy", "/support/", console=True),
    DemoUser("rupert", "/support/", console=True, keys=(K(5),)),
    DemoUser("sybil", "/security/", console=True, mfa=True, keys=(K(44, used_days_ago=0, service="securityhub"),),
             profile=DEMO_MFA_PROFILE),
    DemoUser("trent", "/security/", console=True, mfa=True),
    DemoUser("victor", "/eng/mobile/", console=True, keys=(K(130, used_days_ago=60, service="sns", region="us-west-1"),)),
    DemoUser("walter", "/eng/mobile/", console=True, mfa=True, keys=(K(400, active=False, used_days_ago=380, service="s3"),)),
    DemoUser("ci-deploy", "/service/",
             keys=(K(400, used_days_ago=0, service="ecr"), K(95, active=False, used_days_ago=200, service="ecr"))),
    DemoUser("backup-bot", "/service/", keys=(K(95, used_days_ago=60, service="s3", region="us-east-2"),)),
    DemoUser("terraform", "/service/", keys=(K(5, used_days_ago=0, service="sts"),)),
    DemoUser("grafana-reader", "/service/", keys=(K(400, used_days_ago=60, service="cloudwatch", region="eu-west-1"),)),
    DemoUser("legacy-etl", "/service/", keys=(K(400, active=False, used_days_ago=300, service="redshift", region="us-west-2"),)),
    DemoUser("github-actions", "/service/", keys=(K(95, used_days_ago=0, service="s3"),)),
    DemoUser("slack-notifier", "/service/", keys=(K(400),)),
    DemoUser("marketing-site", "/service/web/", keys=(K(200, used_days_ago=14, service="s3", region="eu-west-3"),)),
)


_BULK_PATHS = ("/eng/", "/eng/backend/", "/eng/data/", "/ops/", "/service/", "/support/", "/finance/")
_BULK_SERVICES = (("s3", "eu-west-1"), ("sts", "us-east-1"), ("ec2", "us-west-2"), ("dynamodb", "us-east-2"),
                  ("lambda", "eu-central-1"), ("ecr", "us-east-1"), ("cloudwatch", "eu-west-1"))
_BULK_AGES = (5, 12, 30, 62, 95, 130, 200, 400, 900)


def bulk_users(count: int, *, seed: int = 0, profile: str | None = DEMO_PROFILE) -> tuple[DemoUser, ...]:
    """`count` generated users for benchmarks and load tests, deterministic for a given `seed`.

    Every user has one or two keys (about a third have two; some second keys are inactive); about a
    quarter of the keys were never used, the rest were last used 0–120 days ago from a handful of
    services and regions; key ages run from 5 to 900 days; about half are console users, half of those
    with MFA. Names (`bulk-00001` …) never clash with DEMO_USERS. The first user's first key is held by
    local profile `profile` (None: no profile), so the account can be reached with static credentials.
    """
    rng = random.Random(seed)
    users = []
    for index in range(count):
        keys = []
        for slot in range(2 if rng.random() < 0.35 else 1):
            used = None if rng.random() < 0.25 else rng.randint(0, 120)
            service, region = rng.choice(_BULK_SERVICES)
            age = rng.choice(_BULK_AGES)
            if used is not None:
                used = min(used, age)
            keys.append(K(age, active=slot == 0 or rng.random() < 0.7, used_days_ago=used, service=service, region=region))
        console = rng.random() < 0.5
        users.append(
            DemoUser(
                f"bulk-{index + 1:05d}",
                rng.choice(_BULK_PATHS),
                console=console,
                mfa=console and rng.random() < 0.5,
                keys=tuple(keys),
                age_days=max(k.age_days for k in keys) + rng.randint(0, 30),
                profile=profile if index == 0 else None,
            )
        )
    return tuple(users)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _write_private(path: Path, text: str) -> None:
    """0600 from the first byte, then an atomic rename (the demo files hold moto's fake secrets)."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


def _stable_key_id(backend: object, key: object, seed_text: str) -> None:
    """Give a seeded key a deterministic id, so screenshots and snapshots do not change between runs."""
    digest = hashlib.sha256(seed_text.encode()).digest()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    new_id = "AKIA" + "".join(alphabet[b % 32] for b in digest[:16])
    keys = backend.access_keys  # type: ignore[attr-defined]
    keys[new_id] = keys.pop(key.access_key_id)  # type: ignore[attr-defined]
    key.access_key_id = new_id  # type: ignore[attr-defined]


def reset_moto() -> None:
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()


def seed(users: tuple[DemoUser, ...] = DEMO_USERS, now: datetime | None = None) -> dict[str, tuple[str, str]]:
    """Create `users` in moto's in-process IAM backend with backdated keys and last uses.
    Returns {profile: (access key id, secret)} for the users that have a local profile."""
    from moto.iam.models import AccessKeyLastUsed, iam_backends

    backend = iam_backends[DEMO_ACCOUNT_ID]["aws"]
    # moto keeps naive UTC datetimes.
    now = (now or datetime.now(timezone.utc)).replace(tzinfo=None)
    credentials: dict[str, tuple[str, str]] = {}
    for spec in users:
        user = backend.create_user(DEMO_REGION, spec.name, spec.path)
        user.create_date = now - timedelta(days=spec.age_days, hours=3)
        if spec.console:
            # A random console password nobody knows: only its existence matters to the inventory.
            backend.create_login_profile(spec.name, secrets.token_urlsafe(16))
        if spec.mfa:
            device = backend.create_virtual_mfa_device(spec.name, "/")
            backend.enable_mfa_device(spec.name, device.serial_number, "123456", "654321")
        for index, key_spec in enumerate(spec.keys):
            key = backend.create_access_key(spec.name, status="Active" if key_spec.active else "Inactive")
            _stable_key_id(backend, key, f"{spec.name}/{index}")
            key.create_date = now - timedelta(days=key_spec.age_days, minutes=7 * index + 11)
            if key_spec.used_days_ago is not None:
                key.last_used = AccessKeyLastUsed(
                    timestamp=now - timedelta(days=key_spec.used_days_ago, hours=1),
                    service=key_spec.service,
                    region=key_spec.region,
                )
            if index == 0 and spec.profile:
                credentials[spec.profile] = (key.access_key_id, key.secret_access_key)
    return credentials


@dataclass
class DemoAccount:
    """A running demo: moto server thread, seeded backend and private AWS config files."""

    port: int = 0
    users: tuple[DemoUser, ...] = DEMO_USERS
    home: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="keytui-demo-")))
    # Ages are seeded relative to this (default: the real now); tests and screenshots fix it.
    now: datetime | None = None
    # A keyring other processes can read (`keytui demo serve`): a file in `home` instead of memory.
    shared_keyring: bool = False
    keyring: Any = None
    _server: object | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def config_file(self) -> Path:
        return self.home / "aws" / "config"

    @property
    def credentials_file(self) -> Path:
        return self.home / "aws" / "credentials"

    def target(self, profile: str | None = DEMO_PROFILE) -> AwsTarget:
        return AwsTarget(
            profile=profile,
            region=DEMO_REGION,
            endpoint_url=self.endpoint_url,
            config_file=str(self.config_file),
            credentials_file=str(self.credentials_file),
        )

    def start(self) -> DemoAccount:
        from moto.server import ThreadedMotoServer

        # werkzeug logs every request to stderr, which would scribble over the TUI.
        logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
        try:
            os.chmod(self.home, 0o700)
            self.port = self.port or free_port()
            reset_moto()
            credentials = seed(self.users, now=self.now)
            full_demo = self.users == DEMO_USERS  # benchmarks seed bulk users only
            if full_demo:
                from moto.iam.models import iam_backends

                from keytui.demo_audit import seed_iam

                seed_iam(iam_backends[DEMO_ACCOUNT_ID]["aws"], DEMO_ACCOUNT_ID,
                         (self.now or datetime.now(timezone.utc)).replace(tzinfo=None))
            server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
            server.start()
            self._server = server
            if full_demo:
                from keytui.demo_audit import seed_infrastructure

                seed_infrastructure(self.endpoint_url, DEMO_REGION)
            self._write_config(credentials)
        except BaseException:
            self.stop()  # a failed start leaves no temporary files behind
            raise
        return self

    @property
    def keyring_file(self) -> Path:
        return self.home / "keyring.json"

    def _write_config(self, credentials: dict[str, tuple[str, str]]) -> None:
        from keytui.core.masking import Secret
        from keytui.core.models import LongTermKey
        from keytui.vault.memory import DemoFileKeyring, MemoryKeyring
        from keytui.vault.service import keytui_command, process_line
        from keytui.vault.store import Vault

        self.keyring = DemoFileKeyring(str(self.keyring_file)) if self.shared_keyring else MemoryKeyring()
        vault = Vault(self.keyring)
        aws_dir = self.config_file.parent
        aws_dir.mkdir(mode=0o700, exist_ok=True)
        config = [f"# keytui demo account ({self.endpoint_url}); deleted when the demo stops.\n"]
        creds = []
        for profile, (key_id, secret) in credentials.items():
            section = "default" if profile == "default" else f"profile {profile}"
            config.append(f"[{section}]\nregion = {DEMO_REGION}\nendpoint_url = {self.endpoint_url}\n")
            if profile in VAULT_PROFILES:
                vault.put_key(profile, LongTermKey(key_id, Secret(secret)))
                config.append(f"credential_process = {process_line(profile, keytui_command())}\n")
            else:
                creds.append(f"[{profile}]\naws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n\n")
            if profile == DEMO_MFA_PROFILE:
                owner = next(u.name for u in DEMO_USERS if u.profile == profile)
                config.append(f"mfa_serial = arn:aws:iam::{DEMO_ACCOUNT_ID}:mfa/{owner}\n")
            config.append("\n")
        _write_private(self.config_file, "".join(config))
        _write_private(self.credentials_file, "".join(creds))

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()  # type: ignore[attr-defined]
            self._server = None
        shutil.rmtree(self.home, ignore_errors=True)

    def __enter__(self) -> DemoAccount:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve(self, on_ready: Callable[[DemoAccount], None] | None = None) -> None:
        """Start, call `on_ready(self)`, then serve until Ctrl-C, SIGTERM or SIGHUP. However it ends (a
        signal, an error, a signal during start-up), the server is stopped and the temporary files, which
        hold moto's fake secrets, are deleted. Call from the main thread (signal handlers live there)."""
        stop = threading.Event()
        with _signals_set(stop, (signal.SIGTERM, signal.SIGHUP)):
            try:
                self.start()
                if on_ready is not None:
                    on_ready(self)
                stop.wait()
            except KeyboardInterrupt:
                pass
            finally:
                # A second Ctrl-C or SIGTERM must not cut the clean-up short.
                with _signals_set(stop, (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)):
                    self.stop()


@contextmanager
def _signals_set(event: threading.Event, signals: Sequence[signal.Signals]) -> Iterator[None]:
    """While inside, each of `signals` sets `event` instead of its default action."""
    previous = {sig: signal.signal(sig, lambda *_: event.set()) for sig in signals}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m keytui.demo [--users N] [--port P]`: serve a demo account (the built-in one, or N generated
    users) until SIGTERM/SIGINT, for benchmarks and scripts. Prints one JSON line when ready: endpoint_url,
    config_file, credentials_file, profile, keyring_file, users. The profile's key is in the demo keyring:
    use it with PYTHON_KEYRING_BACKEND=keytui.vault.memory.DemoFileKeyring and KEYTUI_DEMO_KEYRING=keyring_file."""
    import argparse
    import json
    import sys

    parser = argparse.ArgumentParser(prog="python -m keytui.demo", description=main.__doc__)
    parser.add_argument("--users", type=int, default=0, help="serve N generated users instead of the built-in demo")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated users (default 0)")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    args = parser.parse_args(argv)
    users = bulk_users(args.users, seed=args.seed) if args.users > 0 else DEMO_USERS

    def ready(demo: DemoAccount) -> None:
        info = {
            "endpoint_url": demo.endpoint_url,
            "config_file": str(demo.config_file),
            "credentials_file": str(demo.credentials_file),
            "profile": DEMO_PROFILE,
            "keyring_file": str(demo.keyring_file),
            "users": len(demo.users),
        }
        print(json.dumps(info), flush=True)

    DemoAccount(port=args.port, users=users, shared_keyring=True).serve(ready)
    print("keytui demo stopped; its temporary files are deleted.", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
