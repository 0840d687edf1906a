"""`keytui vault list` (where each profile's secret lives, ids masked, never a secret), `vault remove`
(confirmed), and `vault doctor` (which backend, why it cannot be used, the exact fix)."""

from __future__ import annotations

import platform
from datetime import datetime, timedelta, timezone

import pytest

from keytui.core.masking import Secret
from keytui.core.models import LongTermKey, SessionCredentials
from keytui.vault.doctor import HEADLESS_LINUX_STEPS
from keytui.vault.memory import MemoryKeyring
from keytui.vault.store import Vault

from ..conftest import AwsFiles
from .conftest import entries, process_line

WORK = LongTermKey("AKIAWORK000000000002", Secret("workSecretKey/000000000000000000000000002"))
PLAIN_ID, PLAIN_SECRET = "AKIADEFAULT000000001", "defaultSecretKey/00000000000000000000001"
ENV_ID, ENV_SECRET = "AKIAENVIRONMENT00009", "environmentSecret/0000000000000000000009"
SESSION = SessionCredentials("ASIASESSION000000003", Secret("sessionSecret/00000000000000000000000003"),
                             Secret("FwoGZXIvYXdzEJr" + "t" * 200), datetime.now(timezone.utc))


@pytest.fixture
def profiles(aws_files: AwsFiles) -> AwsFiles:
    return aws_files.write(
        config=(
            "[default]\nregion = us-east-1\n\n"
            f"[profile work]\ncredential_process = {process_line('work')}\n\n"
            f"[profile gone]\ncredential_process = {process_line('gone')}\n\n"
            "[profile ext]\ncredential_process = aws-vault export --format=json ext\n\n"
            "[profile admin]\nrole_arn = arn:aws:iam::123456789012:role/Admin\nsource_profile = default\n\n"
            "[profile corp]\nsso_session = corp\n\n"
            "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n\n"
            "[profile bare]\nregion = eu-west-1\n"
        ),
        credentials=f"[default]\naws_access_key_id = {PLAIN_ID}\naws_secret_access_key = {PLAIN_SECRET}\n",
    )


def test_vault_list_says_where_each_secret_lives(profiles, memory_keyring, run_cli, monkeypatch) -> None:
    vault = Vault(memory_keyring)
    vault.put_key("work", WORK)
    vault.put_session("work", SessionCredentials(
        SESSION.access_key_id, SESSION.secret, SESSION.token, datetime.now(timezone.utc) + timedelta(minutes=90, seconds=30)
    ))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ENV_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", ENV_SECRET)

    result = run_cli("vault", "list")

    assert (result.code, result.err) == (0, "")
    assert result.out == (
        "PROFILE        SECRET LIVES IN          KEY        SESSION            NOTE\n"
        "admin          role                     -          -                  assumes arn:aws:iam::123456789012:role/Admin\n"
        "bare           none                     -          -\n"
        "corp           sso                      -          -\n"
        "default        PLAINTEXT file           AKIA…0001  -                  secret readable by any program you run\n"
        "ext            credential_process       -          -                  aws-vault export --format=json ext\n"
        "gone           keyring (entry missing)  -          -                  run `keytui vault add gone`\n"
        "work           keyring                  AKIA…0002  expires in 90 min\n"
        "(environment)  environment              AKIA…0009  -                  AWS_ACCESS_KEY_ID overrides AWS_PROFILE\n"
        "\n"
        "keyring: in-memory keyring (memory)\n"
    )
    for secret in (WORK.secret, SESSION.secret, SESSION.token, Secret(PLAIN_SECRET), Secret(ENV_SECRET)):
        assert secret.reveal() not in result.out
    for key_id in (WORK.access_key_id, SESSION.access_key_id, PLAIN_ID, ENV_ID):
        assert key_id not in result.out  # masked only


def test_f13_vault_list_with_a_locked_keyring_says_locked_not_missing(profiles, use_keyring, run_cli) -> None:
    backend = use_keyring(MemoryKeyring())
    Vault(backend).put_key("work", WORK)
    backend.locked = True

    result = run_cli("vault", "list")

    assert result.code == 0
    rows = {line.split()[0]: line for line in result.out.splitlines() if line}
    assert rows["work"].split("  ")[0:1] == ["work"]
    assert " keyring (KeyringLocked) " in rows["work"]
    assert "is locked or the unlock prompt was dismissed" in rows["work"]
    assert " keyring (KeyringLocked) " in rows["gone"]
    assert "entry missing" not in result.out
    assert rows["default"].split()[1:3] == ["PLAINTEXT", "file"]


def test_f12_vault_list_without_a_keyring_still_lists_the_files(profiles, run_cli) -> None:
    result = run_cli("vault", "list")

    assert result.code == 0
    rows = {line.split()[0]: line for line in result.out.splitlines() if line}
    assert " keyring (NoKeyring) " in rows["work"]
    assert rows["default"].split()[1:4] == ["PLAINTEXT", "file", "AKIA…0001"]
    assert result.out.endswith("\nkeyring: fail Keyring (none)\n")


# -- remove ------------------------------------------------------------------------------------------------

CONFIG_WITHOUT_WORK = (
    "[default]\nregion = us-east-1\n\n"
    f"[profile gone]\ncredential_process = {process_line('gone')}\n\n"
    "[profile ext]\ncredential_process = aws-vault export --format=json ext\n\n"
    "[profile admin]\nrole_arn = arn:aws:iam::123456789012:role/Admin\nsource_profile = default\n\n"
    "[profile corp]\nsso_session = corp\n\n"
    "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n\n"
    "[profile bare]\nregion = eu-west-1\n"
)


def stored_work_and_other(backend: MemoryKeyring) -> None:
    vault = Vault(backend)
    vault.put_key("work", WORK)
    vault.put_session("work", SessionCredentials(
        SESSION.access_key_id, SESSION.secret, Secret("t" * 1500), datetime.now(timezone.utc) + timedelta(hours=1)
    ))
    vault.put_key("other", WORK)


def test_vault_remove_yes_deletes_entries_and_the_config_line(profiles, use_keyring, run_cli) -> None:
    backend = use_keyring(MemoryKeyring(size_limit=2560))
    stored_work_and_other(backend)
    credentials_before = profiles.credentials.read_bytes()

    result = run_cli("vault", "remove", "work", "--yes")

    assert (result.code, result.out, result.err) == (0, "Removed profile 'work' from the keyring.\n", "")
    assert list(entries(backend)) == ["profile:other"]  # key, session manifest and chunks of work all gone
    assert profiles.config.read_text() == CONFIG_WITHOUT_WORK
    assert profiles.credentials.read_bytes() == credentials_before


def test_vault_remove_without_a_terminal_needs_yes(profiles, memory_keyring, run_cli) -> None:
    stored_work_and_other(memory_keyring)
    before = (dict(memory_keyring.entries), profiles.config.read_bytes())

    result = run_cli("vault", "remove", "work")

    assert (result.code, result.out) == (2, "")
    assert result.err == "keytui: keytui vault remove: confirm with --yes when there is no terminal.\n"
    assert (dict(memory_keyring.entries), profiles.config.read_bytes()) == before


def test_vault_remove_asks_on_a_terminal_and_no_keeps_everything(profiles, memory_keyring, run_cli) -> None:
    stored_work_and_other(memory_keyring)
    before = (dict(memory_keyring.entries), profiles.config.read_bytes())

    result = run_cli("vault", "remove", "work", stdin="n\n", tty=True)

    assert result.code == 1
    # The question goes to the terminal (/dev/tty), not stdout: stdout carries only the result.
    assert result.out == "Nothing removed.\n"
    assert (dict(memory_keyring.entries), profiles.config.read_bytes()) == before


def test_vault_remove_asks_on_a_terminal_and_yes_removes(profiles, memory_keyring, run_cli) -> None:
    stored_work_and_other(memory_keyring)
    result = run_cli("vault", "remove", "work", stdin="y\n", tty=True)
    assert result.code == 0
    assert list(entries(memory_keyring)) == ["profile:other"]
    assert profiles.config.read_text() == CONFIG_WITHOUT_WORK


def test_vault_remove_leaves_another_tools_credential_process(profiles, memory_keyring, run_cli) -> None:
    before = profiles.config.read_bytes()
    result = run_cli("vault", "remove", "ext", "--yes")
    assert (result.code, result.err) == (1, "keytui: Nothing to remove: the keyring holds no key or session for 'ext'.\n")
    assert profiles.config.read_bytes() == before


def test_f13_vault_remove_with_a_locked_keyring_changes_nothing(profiles, use_keyring, run_cli) -> None:
    backend = use_keyring(MemoryKeyring())
    stored_work_and_other(backend)
    backend.locked = True
    before = (dict(backend.entries), profiles.config.read_bytes())

    result = run_cli("vault", "remove", "work", "--yes")

    assert (result.code, result.out) == (1, "")
    assert "the keyring (in-memory keyring) is locked or the unlock prompt was dismissed" in result.err
    assert (dict(backend.entries), profiles.config.read_bytes()) == before


# -- doctor ---------------------------------------------------------------------------------------------------


def test_vault_doctor_without_dbus_explains_the_fix(run_cli, monkeypatch) -> None:
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)

    result = run_cli("vault", "doctor")

    assert (result.code, result.err) == (1, "")
    assert result.out == "\n".join([
        f"ok  platform         Linux {platform.release()}",
        "NO  keyring backend  fail Keyring (none)",
        "NO  D-Bus session    not set (DBUS_SESSION_BUS_ADDRESS is empty)",
        "NO  Secret Service   unreachable without a D-Bus session",
        "",
        "To fix:",
        *HEADLESS_LINUX_STEPS,
    ]) + "\n"
    assert "gnome-keyring-daemon --unlock --components=secrets" in result.out


def test_vault_doctor_with_an_unreachable_bus_says_so(run_cli, monkeypatch, sandbox) -> None:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={sandbox.root}/no-such-bus")

    result = run_cli("vault", "doctor")

    assert result.code == 1
    lines = result.out.splitlines()
    assert lines[2] == f"ok  D-Bus session    unix:path={sandbox.root}/no-such-bus"
    assert lines[3].startswith("NO  Secret Service   cannot connect to D-Bus: ")
    assert "To fix:" in lines and "Traceback" not in result.out + result.err


def test_vault_doctor_with_a_working_keyring_is_ok(memory_keyring, run_cli) -> None:
    result = run_cli("vault", "doctor")

    assert (result.code, result.err) == (0, "")
    assert result.out == "\n".join([
        f"ok  platform         Linux {platform.release()}",
        "ok  keyring backend  in-memory keyring (memory)",
        "ok  test write       written, read back and deleted",
        "",
        "The keyring is ready: keytui can keep keys and sessions in it.",
    ]) + "\n"
    assert memory_keyring.entries == {}


def test_f13_vault_doctor_with_a_locked_keyring_says_locked(use_keyring, run_cli) -> None:
    use_keyring(MemoryKeyring(locked=True))

    result = run_cli("vault", "doctor")

    assert result.code == 1
    assert "NO  test write       Could not test that the keyring takes a write: the keyring (in-memory keyring) is " \
           "locked" in result.out
    assert "To fix:" in result.out


class PlaintextKeyring(MemoryKeyring):
    keytui_memory = False
    name = "PlaintextKeyring"


def test_f12_vault_doctor_with_an_insecure_keyring_explains_the_opt_in(use_keyring, run_cli, monkeypatch) -> None:
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    use_keyring(PlaintextKeyring())

    result = run_cli("vault", "doctor")

    assert result.code == 1
    assert "NO  keyring backend  PlaintextKeyring (insecure)\n" in result.out
    assert (
        "The backend in use keeps secrets in a readable file. Install a real keyring (below) or, knowingly, opt in "
        "with `[vault] allow_insecure_backend = true` in ~/.config/keytui/config.toml.\n"
    ) in result.out
