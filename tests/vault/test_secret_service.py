"""The vault on a real Secret Service (gnome-keyring on D-Bus), through keyring's own SecretService backend:
store, read, chunk and delete, classify() says secure, doctor says ok, and the CLI end to end.

Marked `secret_service`; they skip with the reason when no Secret Service is reachable. .ci/run starts a
throwaway one (its keyring files in a temporary XDG_DATA_HOME), e.g.:

    XDG_DATA_HOME="$(mktemp -d)" KEYTUI_TEST_SECRET_SERVICE=1 dbus-run-session -- sh -c \
      'printf test | gnome-keyring-daemon --unlock --components=secrets >/dev/null;
       pytest -q -p no:cacheprovider -m secret_service tests/vault'

Every test uses its own service name (`keytui-test-<random>`) and deletes whatever carries that name
afterwards. The login session's bus (/run/user/<uid>/bus: the developer's real keyring) is refused unless
KEYTUI_TEST_SECRET_SERVICE=1 says that using it is intended; with that variable set, no reachable
Secret Service is a failure instead of a skip (so CI cannot pass by skipping them).
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from contextlib import closing
from datetime import datetime, timedelta, timezone

import pytest
from keyring.backends.SecretService import Keyring as SecretServiceKeyring

import keytui.vault.factory
from keytui.core.masking import Secret
from keytui.core.models import LongTermKey, SessionCredentials
from keytui.vault.backend import classify
from keytui.vault.doctor import diagnose
from keytui.vault.store import Vault

from ..conftest import AwsFiles
from .conftest import process_line

pytestmark = pytest.mark.secret_service

# Read at import: the root conftest removes every KEYTUI_* variable before each test.
PERMITTED = os.environ.get("KEYTUI_TEST_SECRET_SERVICE") == "1"
KEY = LongTermKey("AKIASECRETSERVICE001", Secret("secretServiceSecret/000000000000000000001"))


def unavailable() -> str | None:
    """Why the tests cannot run here, or None."""
    bus = os.environ.get("DBUS_SESSION_BUS_ADDRESS")
    if not bus:
        return "no D-Bus session (DBUS_SESSION_BUS_ADDRESS is not set): run under dbus-run-session with gnome-keyring"
    if f"/run/user/{os.getuid()}/bus" in bus and not PERMITTED:
        return (
            f"refusing the login session's bus ({bus}): its Secret Service is your real keyring "
            "(run under dbus-run-session, or set KEYTUI_TEST_SECRET_SERVICE=1 to use it anyway)"
        )
    try:
        import secretstorage
    except ImportError:
        return "the secretstorage package is not installed"
    try:
        with closing(secretstorage.dbus_init()) as connection:
            if not secretstorage.check_service_availability(connection):
                return "no Secret Service answers on D-Bus (start gnome-keyring-daemon --components=secrets)"
            if secretstorage.get_default_collection(connection).is_locked():
                return "the Secret Service's default collection is locked (start the daemon with --unlock)"
    except Exception as exc:  # secretstorage/jeepney raise their own types
        return f"cannot reach the Secret Service: {type(exc).__name__}: {exc}"
    return None


def items_of(service: str) -> dict[str, str]:
    """{username: secret} of every item carrying `service`, straight from the Secret Service."""
    import secretstorage

    with closing(secretstorage.dbus_init()) as connection:
        found = {}
        for item in secretstorage.search_items(connection, {"service": service}):
            found[item.get_attributes()["username"]] = item.get_secret().decode()
        return found


def purge(service: str) -> None:
    import secretstorage

    with closing(secretstorage.dbus_init()) as connection:
        for item in secretstorage.search_items(connection, {"service": service}):
            item.delete()


@pytest.fixture
def service_name() -> Iterator[str]:
    reason = unavailable()
    if reason and PERMITTED:
        # CI said a Secret Service is there to be used: its absence is a failure, not a quiet skip.
        pytest.fail(f"KEYTUI_TEST_SECRET_SERVICE=1, but {reason}")
    if reason:
        pytest.skip(reason)
    name = f"keytui-test-{secrets.token_hex(6)}"
    try:
        yield name
    finally:
        purge(name)


@pytest.fixture
def vault(service_name: str) -> Vault:
    return Vault(SecretServiceKeyring(), service=service_name)


def test_secret_service_is_classified_secure(vault: Vault) -> None:
    assert classify(vault.backend).label == "SecretService Keyring (secure)"
    vault.check_usable()
    vault.probe()
    assert items_of(vault.service) == {}


def test_secret_service_stores_reads_and_deletes_a_key(vault: Vault) -> None:
    vault.put_key("work", KEY, UserArn="arn:aws:iam::123456789012:user/alice")

    assert vault.get_key("work") == KEY
    stored = items_of(vault.service)
    assert list(stored) == ["profile:work"]
    assert json.loads(stored["profile:work"])["SecretAccessKey"] == KEY.secret.reveal()

    vault.forget("work")
    assert items_of(vault.service) == {}
    assert vault.get_key("work") is None


def test_secret_service_chunks_a_big_session_and_removes_stale_chunks(vault: Vault) -> None:
    expires = datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    first = SessionCredentials("ASIASECRETSERVICE001", Secret("s" * 40), Secret("T" * 1500), expires)
    second = SessionCredentials("ASIASECRETSERVICE002", Secret("u" * 40), Secret("U" * 2500), expires)

    vault.put_session("work", first)
    first_names = set(items_of(vault.service))
    assert len(first_names) == 3  # manifest + 2 chunks
    assert vault.get_session("work") == first

    vault.put_session("work", second)
    second_names = set(items_of(vault.service))
    assert first_names & second_names == {"session:work"}  # the old chunks are gone
    assert len(second_names) == 4
    assert vault.get_session("work") == second

    vault.remove("session:work")
    assert items_of(vault.service) == {}


def test_f14_secret_service_missing_chunk_reads_as_no_session(vault: Vault) -> None:
    session = SessionCredentials(
        "ASIASECRETSERVICE001", Secret("s" * 40), Secret("T" * 1500), datetime(2030, 1, 1, tzinfo=timezone.utc)
    )
    vault.put_session("work", session)
    chunk = next(name for name in items_of(vault.service) if "#" in name)
    vault.backend.delete_password(vault.service, chunk)

    assert vault.get_session("work") is None


def test_secret_service_doctor_says_ok(vault: Vault) -> None:
    report = diagnose(vault)

    assert report.ok, report.text()
    text = report.text()
    assert "ok  keyring backend     SecretService Keyring (secure)" in text
    assert "ok  Secret Service      running" in text
    assert "ok  default collection  unlocked" in text
    assert "ok  test write          written, read back and deleted" in text
    assert text.endswith("The keyring is ready: keytui can keep keys and sessions in it.")
    assert items_of(vault.service) == {}


def test_secret_service_import_then_credential_process_then_remove(
    vault: Vault, aws_files: AwsFiles, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(keytui.vault.factory, "open_vault", lambda settings, backend=None: vault)
    aws_files.write(
        config="[profile work]\nregion = us-east-1\n",
        credentials=f"[work]\naws_access_key_id = {KEY.access_key_id}\naws_secret_access_key = {KEY.secret.reveal()}\n",
    )

    assert run_cli("vault", "import", "work").code == 0
    assert aws_files.credentials.read_text() == ""
    assert aws_files.config.read_text() == f"[profile work]\nregion = us-east-1\ncredential_process = {process_line('work')}\n"
    assert list(items_of(vault.service)) == ["profile:work"]

    printed = run_cli("credential-process", "--profile", "work")
    assert (printed.code, json.loads(printed.out)) == (
        0, {"Version": 1, "AccessKeyId": KEY.access_key_id, "SecretAccessKey": KEY.secret.reveal()}
    )

    vault.put_session("work", SessionCredentials(
        "ASIASECRETSERVICE001", Secret("s" * 40), Secret("T" * 1500), datetime.now(timezone.utc) + timedelta(hours=1)
    ))
    assert json.loads(run_cli("credential-process", "--profile", "work").out)["SessionToken"] == "T" * 1500

    assert run_cli("vault", "remove", "work", "--yes").code == 0
    assert items_of(vault.service) == {}
    assert aws_files.config.read_text() == "[profile work]\nregion = us-east-1\n"
