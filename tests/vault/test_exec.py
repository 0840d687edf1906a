"""`keytui exec --profile P -- COMMAND …`: COMMAND runs with the profile's credentials in its environment
(and without AWS_PROFILE, so the SDKs use them), its exit status becomes keytui's, nesting is refused, and
a command that cannot run is a sentence, not a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from keytui.core.masking import Secret
from keytui.core.models import LongTermKey, SessionCredentials
from keytui.vault.memory import MemoryKeyring
from keytui.vault.store import Vault

from ..conftest import AwsFiles, Sandbox
from .conftest import process_line

KEY = LongTermKey("AKIAEXECTEST00000001", Secret("execTestSecret/000000000000000000000001"))
NAMES = (
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_CREDENTIAL_EXPIRATION", "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE", "AWS_CONFIG_FILE", "KEYTUI_EXEC",
)
DUMP_ENV = f"import json, os, sys; json.dump({{k: os.environ.get(k) for k in {NAMES!r}}}, open(sys.argv[1], 'w'))"


@pytest.fixture
def dump(sandbox: Sandbox) -> Path:
    return sandbox.root / "child-env.json"


def child_env(dump: Path) -> dict[str, str | None]:
    return json.loads(dump.read_text())


@pytest.fixture
def managed(aws_files: AwsFiles) -> AwsFiles:
    return aws_files.write(config=f"[profile work]\nregion = us-east-1\ncredential_process = {process_line('work')}\n")


def test_exec_gives_the_command_the_stored_key_without_aws_profile(
    managed, memory_keyring, run_cli, dump, monkeypatch
) -> None:
    Vault(memory_keyring).put_key("work", KEY)
    monkeypatch.setenv("AWS_PROFILE", "work")
    monkeypatch.setenv("AWS_DEFAULT_PROFILE", "work")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "a-stale-token-from-the-shell")

    result = run_cli("exec", "--profile", "work", "--", sys.executable, "-c", DUMP_ENV, str(dump))

    assert (result.code, result.out, result.err) == (0, "", "")
    assert child_env(dump) == {
        "AWS_ACCESS_KEY_ID": KEY.access_key_id,
        "AWS_SECRET_ACCESS_KEY": KEY.secret.reveal(),
        "AWS_SESSION_TOKEN": None,
        "AWS_CREDENTIAL_EXPIRATION": None,
        "AWS_PROFILE": None,
        "AWS_DEFAULT_PROFILE": None,
        "AWS_CONFIG_FILE": str(managed.config),
        "KEYTUI_EXEC": "work",
    }


def test_exec_gives_the_command_a_stored_session_with_its_expiration(managed, memory_keyring, run_cli, dump) -> None:
    expires = (datetime.now(timezone.utc) + timedelta(hours=2)).replace(microsecond=0)
    session = SessionCredentials("ASIAEXECTEST00000001", Secret("s" * 40), Secret("token/" + "t" * 200), expires)
    vault = Vault(memory_keyring)
    vault.put_key("work", KEY)
    vault.put_session("work", session)

    assert run_cli("exec", "--profile", "work", "--", sys.executable, "-c", DUMP_ENV, str(dump)).code == 0

    env = child_env(dump)
    assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], env["AWS_SESSION_TOKEN"]) == (
        session.access_key_id, session.secret.reveal(), session.token.reveal(),
    )
    assert env["AWS_CREDENTIAL_EXPIRATION"] == expires.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_exec_works_without_the_double_dash(managed, memory_keyring, run_cli, dump) -> None:
    Vault(memory_keyring).put_key("work", KEY)
    assert run_cli("exec", "--profile", "work", sys.executable, "-c", DUMP_ENV, str(dump)).code == 0
    assert child_env(dump)["AWS_ACCESS_KEY_ID"] == KEY.access_key_id


@pytest.mark.parametrize(("script", "code"), [("exit 7", 7), ("exit 0", 0), ("kill -TERM $$", 128 + 15)])
def test_exec_propagates_the_exit_status(managed, memory_keyring, run_cli, script, code) -> None:
    Vault(memory_keyring).put_key("work", KEY)
    result = run_cli("exec", "--profile", "work", "--", "sh", "-c", script)
    assert (result.code, result.err) == (code, "")


def test_exec_nested_is_refused(managed, memory_keyring, run_cli, dump, monkeypatch) -> None:
    Vault(memory_keyring).put_key("work", KEY)
    monkeypatch.setenv("KEYTUI_EXEC", "outer")

    result = run_cli("exec", "--profile", "work", "--", sys.executable, "-c", DUMP_ENV, str(dump))

    assert result.code == 1
    assert result.err == (
        "keytui: Already inside `keytui exec` for profile 'outer'; nesting would mix two identities. "
        "Exit that shell first.\n"
    )
    assert not dump.exists()


def test_exec_nested_for_real_fails_inside_and_outside(managed, shared_keyring, sandbox: Sandbox) -> None:
    Vault(shared_keyring).put_key("work", KEY)
    keytui = [sys.executable, "-m", "keytui", "exec", "--profile", "work", "--"]

    done = subprocess.run([*keytui, *keytui, "true"], capture_output=True, text=True, timeout=60)

    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == (
        "keytui: Already inside `keytui exec` for profile 'work'; nesting would mix two identities. "
        "Exit that shell first.\n"
    )


def test_exec_missing_command_is_a_clear_error(managed, memory_keyring, run_cli) -> None:
    Vault(memory_keyring).put_key("work", KEY)
    result = run_cli("exec", "--profile", "work", "--", "no-such-command-keytui-test", "--flag")
    assert (result.code, result.out) == (1, "")
    assert result.err == "keytui: Command not found: no-such-command-keytui-test.\n"


def test_exec_command_that_is_not_executable_is_a_clear_error(managed, memory_keyring, run_cli, sandbox) -> None:
    Vault(memory_keyring).put_key("work", KEY)
    script = sandbox.root / "not-executable.sh"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o600)

    result = run_cli("exec", "--profile", "work", "--", str(script))

    assert result.code == 1
    assert result.err == f"keytui: Cannot run {script}: permission denied.\n"


def test_exec_without_a_command_is_a_usage_error(managed, memory_keyring, run_cli) -> None:
    result = run_cli("exec", "--profile", "work", "--")
    assert result.code == 2
    assert result.err == (
        "keytui: keytui exec: give the command after --, e.g. keytui exec --profile work -- aws s3 ls\n"
    )


def test_f13_exec_with_a_locked_keyring_runs_nothing(managed, use_keyring, run_cli, dump) -> None:
    backend = use_keyring(MemoryKeyring())
    Vault(backend).put_key("work", KEY)
    backend.locked = True

    result = run_cli("exec", "--profile", "work", "--", sys.executable, "-c", DUMP_ENV, str(dump))

    assert result.code == 1
    assert "the keyring (in-memory keyring) is locked or the unlock prompt was dismissed" in result.err
    assert not dump.exists()


def test_exec_plaintext_profile_is_resolved_by_botocore(aws_files: AwsFiles, memory_keyring, run_cli, dump) -> None:
    aws_files.write(
        credentials=f"[plain]\naws_access_key_id = {KEY.access_key_id}\naws_secret_access_key = {KEY.secret.reveal()}\n"
    )
    assert run_cli("exec", "--profile", "plain", "--", sys.executable, "-c", DUMP_ENV, str(dump)).code == 0
    assert child_env(dump)["AWS_SECRET_ACCESS_KEY"] == KEY.secret.reveal()


def test_f12_exec_plaintext_profile_works_without_a_keyring(aws_files: AwsFiles, run_cli, dump) -> None:
    """No keyring holds nothing: a profile the vault does not manage still runs (the sandbox's keyring is
    keyring.backends.fail)."""
    aws_files.write(
        credentials=f"[plain]\naws_access_key_id = {KEY.access_key_id}\naws_secret_access_key = {KEY.secret.reveal()}\n"
    )
    result = run_cli("exec", "--profile", "plain", "--", sys.executable, "-c", DUMP_ENV, str(dump))
    assert (result.code, result.err) == (0, "")
    assert child_env(dump)["AWS_ACCESS_KEY_ID"] == KEY.access_key_id


def test_exec_unknown_profile_is_a_clear_error(aws_files: AwsFiles, memory_keyring, run_cli, dump) -> None:
    aws_files.write(config="[default]\nregion = us-east-1\n")
    result = run_cli("exec", "--profile", "wrok", "--", sys.executable, "-c", DUMP_ENV, str(dump))
    assert result.code == 1
    assert result.err == (
        f"keytui: Profile 'wrok' not found in {aws_files.config} or {aws_files.credentials}; available: default. "
        "Pick one with --profile NAME or AWS_PROFILE, or try the demo account with `keytui --demo`.\n"
    )
    assert not dump.exists()


def test_f12_exec_managed_profile_without_a_keyring_says_why(managed, run_cli, dump) -> None:
    result = run_cli("exec", "--profile", "work", "--", sys.executable, "-c", DUMP_ENV, str(dump))
    assert (result.code, result.out) == (1, "")
    assert result.err.startswith(
        "keytui: Could not load the credentials of profile 'work': Error when retrieving credentials from "
        "custom-process: keytui: No usable keyring: keyring found only 'fail Keyring'."
    )
    assert not dump.exists()


def test_exec_passes_the_profiles_region_on(aws_files, memory_keyring, run_cli, tmp_path) -> None:
    """Without AWS_PROFILE the command would lose the profile's region (NoRegionError in every SDK)."""
    from keytui.core.masking import Secret
    from keytui.core.models import LongTermKey
    from keytui.vault.store import Vault

    aws_files.write(config="[profile work]\nregion = eu-west-3\ncredential_process = keytui credential-process --profile work\n")
    Vault(memory_keyring).put_key("work", LongTermKey("AKIAIOSFODNN7EXAMPLE", Secret("s" * 40)))
    out = tmp_path / "env.txt"

    result = run_cli("exec", "--profile", "work", "--", "sh", "-c", f'echo "$AWS_REGION $AWS_DEFAULT_REGION" > {out}')

    assert result.code == 0, result.err
    assert out.read_text().strip() == "eu-west-3 eu-west-3"
