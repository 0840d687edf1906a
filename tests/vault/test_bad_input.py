"""Inputs an adversarial tester found: each must end in one `keytui: …` sentence and a non-zero exit,
never a traceback, and must change nothing."""

from __future__ import annotations

import os
import stat

import pytest

from keytui.vault.memory import MemoryKeyring

from ..conftest import AwsFiles
from .conftest import entries


def _no_traceback(result) -> None:
    assert "Traceback" not in result.err
    assert result.err.startswith("keytui: ") and result.err.count("\n") == 1


@pytest.mark.parametrize("name", ["x\ncredential_process = sh -c 'touch /tmp/pwned'\n[profile y", "", " ", "a]b", "p#1"])
def test_vault_add_refuses_a_profile_name_that_could_rewrite_the_config(
    aws_files: AwsFiles, memory_keyring: MemoryKeyring, run_cli, name: str
) -> None:
    aws_files.write(config="[default]\nregion = us-east-1\n")
    before = aws_files.config.read_bytes()

    result = run_cli("vault", "add", name, "--stdin", stdin="AKIAIOSFODNN7EXAMPLE\n" + "s" * 40 + "\n")

    assert result.code == 2
    assert "is not a usable profile name" in result.err
    assert aws_files.config.read_bytes() == before
    assert entries(memory_keyring) == {}


@pytest.mark.parametrize("which", ["config", "credentials"])
def test_binary_aws_file_is_a_sentence(aws_files: AwsFiles, memory_keyring, run_cli, which: str) -> None:
    aws_files.write(config="[default]\n", credentials="[default]\n")
    getattr(aws_files, which).write_bytes(b"[default]\n" + bytes(range(128, 256)))
    for argv in (("users",), ("vault", "list"), ("vault", "import", "--all")):
        result = run_cli(*argv)
        assert result.code == 1, argv
        _no_traceback(result)


@pytest.mark.parametrize(
    ("process", "words"),
    [
        ("/nonexistent/aws-helper --profile demo", "No such file or directory"),
        ('"unterminated', "closing quotation"),
        ("echo notjson", "Could not load the AWS credentials of profile 'demo'"),
    ],
)
def test_users_with_a_broken_credential_process_is_a_sentence(aws_files: AwsFiles, run_cli, process, words) -> None:
    aws_files.write(config=f"[profile demo]\nregion = us-east-1\ncredential_process = {process}\n")
    result = run_cli("users", "--profile", "demo")
    assert result.code == 1
    _no_traceback(result)
    assert words in result.err


def test_vault_remove_end_of_input_at_the_prompt_is_a_cancel(aws_files, memory_keyring, run_cli) -> None:
    result = run_cli("vault", "remove", "work", tty=True, stdin="")
    assert result.code == 1
    assert result.err == "keytui: Cancelled (end of input at a prompt); nothing was changed.\n"


def test_vault_add_ignores_aws_profile_naming_a_missing_profile(
    aws_endpoint, aws_files: AwsFiles, memory_keyring: MemoryKeyring, run_cli, monkeypatch
) -> None:
    """Checking the key being added must not depend on AWS_PROFILE (a fresh machine has no 'work' yet)."""
    monkeypatch.setenv("AWS_PROFILE", "work")
    key = aws_endpoint.key()

    result = run_cli("vault", "add", "work", "--stdin", stdin=f"{key.access_key_id}\n{key.secret.reveal()}\n")

    assert (result.code, result.err) == (0, "")
    assert "profile:work" in entries(memory_keyring)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file; run as a normal user to see the denial")
def test_unreadable_credentials_file_is_not_no_credentials(aws_files: AwsFiles, run_cli) -> None:
    aws_files.write(credentials="[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n")
    aws_files.credentials.chmod(0)
    result = run_cli("users")
    assert result.code == 1 and "permission denied" in result.err.lower()


def test_settings_reject_a_string_for_a_yes_no_opt_in(aws_files, run_cli, tmp_path, monkeypatch) -> None:
    config = tmp_path / "keytui.toml"
    config.write_text('[vault]\nallow_insecure_backend = "yes"\n')
    monkeypatch.setenv("KEYTUI_CONFIG", str(config))
    result = run_cli("vault", "list")
    assert result.code == 1
    assert "Setting vault.allow_insecure_backend must be" in result.err


def test_settings_reject_a_negative_session_margin(aws_files, run_cli, monkeypatch) -> None:
    monkeypatch.setenv("KEYTUI_VAULT_SESSION_MARGIN", "-100")
    result = run_cli("credential-process", "--profile", "work")
    assert result.code == 1 and "session_margin must be 0 or more" in result.err


def test_state_folders_are_created_0700_all_the_way_down(aws_files, memory_keyring, run_cli, sandbox) -> None:
    state = os.environ["XDG_STATE_HOME"]
    aws_files.write(credentials="[work]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = " + "s" * 40 + "\n")
    assert run_cli("vault", "import", "work").code == 0
    for folder in (state, os.path.join(state, "keytui")):
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700, folder


def test_tui_services_survive_a_binary_config_file(aws_files: AwsFiles) -> None:
    """The TUI builds its services with tolerate_errors: a broken file must become the welcome screen's
    reason, not a traceback before the app starts."""
    from keytui.core.aws import AwsTarget
    from keytui.core.settings import Settings
    from keytui.services import build_services

    aws_files.write(config="[default]\n")
    aws_files.config.write_bytes(b"[default]\n" + bytes(range(128, 256)))
    services = build_services(AwsTarget(), Settings(), tolerate_errors=True, keyring_backend=MemoryKeyring())
    assert services.aws is None
    assert "not a UTF-8 text file" in str(services.startup_error) or "not valid text" in str(services.startup_error)


def test_users_warns_when_the_keyring_cannot_say_which_profile_holds_a_key(aws_files, use_keyring, run_cli, monkeypatch) -> None:
    """A locked keyring must not silently turn "held by profile demo" into "held by nobody"."""
    from keytui.services import Services

    backend = use_keyring(MemoryKeyring(locked=True))
    aws_files.write(config="[profile demo]\ncredential_process = keytui credential-process --profile demo\n")

    from keytui.core.aws import AwsTarget
    from keytui.core.settings import Settings
    from keytui.services import build_services

    services = build_services(AwsTarget(), Settings(), keyring_backend=backend)
    monkeypatch.setattr(Services, "local_profiles", lambda self: ())
    services.key_holders()
    assert services.holders_warning and "demo" in services.holders_warning and "KeyringLocked" in services.holders_warning


def test_doctor_on_a_locked_keyring_says_unlock(aws_files, use_keyring, run_cli) -> None:
    use_keyring(MemoryKeyring(locked=True))
    result = run_cli("vault", "doctor")
    assert result.code == 1
    assert "The keyring is locked: unlock it" in result.out
    assert "Headless Linux" not in result.out
