"""`keytui vault add PROFILE --stdin`: the key is checked with AWS (sts get-caller-identity signed with it,
against the demo account with moto's authentication on), then stored and the profile pointed at keytui.
A key AWS refuses, or a keyring that cannot take it, stores nothing and changes no file."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from keytui.vault.memory import MemoryKeyring

from ..conftest import AwsFiles
from .conftest import BOB_ARN, AuthDemo, entries, process_line, stored_json

DOCTOR = "Run `keytui vault doctor` for the exact steps."
BAD_KEY_ADVICE = (
    "AWS does not accept this access key: it may be deleted, inactive, mistyped, or too new to work yet. "
    "Check the profile's key (`keytui vault list`) or rotate it."
)


def stdin_for(key_id: str, secret: str) -> str:
    return f"{key_id}\n{secret}\n"


def test_vault_add_checks_stores_and_points_the_profile_at_keytui(
    aws_endpoint: AuthDemo, aws_files: AwsFiles, memory_keyring: MemoryKeyring, run_cli
) -> None:
    aws_files.write(config="# mine\n[profile bob]\nregion = us-east-1\n")
    key = aws_endpoint.key()

    result = run_cli("vault", "add", "bob", "--stdin", stdin=stdin_for(key.access_key_id, key.secret.reveal()))

    assert (result.code, result.err) == (0, "")
    masked = f"{key.access_key_id[:4]}…{key.access_key_id[-4:]}"
    assert result.out == (
        f"Stored {masked} ({BOB_ARN}) for profile 'bob' in in-memory keyring (memory).\n"
        f"Profile 'bob' in {aws_files.config} now uses credential_process; "
        "try: aws sts get-caller-identity --profile bob\n"
    )
    stored = stored_json(memory_keyring, "profile:bob")
    assert (stored["AccessKeyId"], stored["SecretAccessKey"], stored["UserArn"]) == (
        key.access_key_id, key.secret.reveal(), BOB_ARN,
    )
    assert list(entries(memory_keyring)) == ["profile:bob"]  # the probe entry is gone
    assert aws_files.config.read_text() == (
        f"# mine\n[profile bob]\nregion = us-east-1\ncredential_process = {process_line('bob')}\n"
    )
    assert key.secret.reveal() not in result.out


def test_vault_add_new_profile_appends_a_section(
    aws_endpoint: AuthDemo, aws_files: AwsFiles, memory_keyring: MemoryKeyring, run_cli
) -> None:
    key = aws_endpoint.key()
    result = run_cli("vault", "add", "laptop", "--stdin", stdin=stdin_for(key.access_key_id, key.secret.reveal()))
    assert result.code == 0
    assert aws_files.config.read_text() == f"[profile laptop]\ncredential_process = {process_line('laptop')}\n"
    assert not aws_files.credentials.exists()


def test_vault_add_wrong_secret_stores_nothing(
    aws_endpoint: AuthDemo, aws_files: AwsFiles, memory_keyring: MemoryKeyring, run_cli
) -> None:
    key = aws_endpoint.key()
    wrong = "x" * 40

    result = run_cli("vault", "add", "bob", "--stdin", stdin=stdin_for(key.access_key_id, wrong))

    masked = f"{key.access_key_id[:4]}…{key.access_key_id[-4:]}"
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        f"keytui: Could not check key {masked} with sts get-caller-identity: SignatureDoesNotMatch (The request "
        "signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and "
        f"signing method. Consult the service documentation for details). {BAD_KEY_ADVICE}\n"
    )
    assert entries(memory_keyring) == {}
    assert not aws_files.config.exists()
    assert wrong not in result.err


def test_vault_add_unknown_key_id_stores_nothing(
    aws_endpoint: AuthDemo, aws_files: AwsFiles, memory_keyring: MemoryKeyring, run_cli
) -> None:
    result = run_cli("vault", "add", "bob", "--stdin", stdin=stdin_for("AKIANOSUCHKEY0000009", "y" * 40))

    assert result.code == 1
    assert result.err == (
        "keytui: Could not check key AKIA…0009 with sts get-caller-identity: InvalidClientTokenId (The security "
        f"token included in the request is invalid). {BAD_KEY_ADVICE}\n"
    )
    assert entries(memory_keyring) == {}
    assert not aws_files.config.exists()


def test_f13_vault_add_to_a_locked_keyring_asks_aws_nothing_and_stores_nothing(
    aws_files: AwsFiles, use_keyring, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = use_keyring(MemoryKeyring(locked=True))
    called = []
    monkeypatch.setattr("keytui.core.aws.identity_for_key", lambda *a, **k: called.append(a))

    result = run_cli("vault", "add", "bob", "--stdin", stdin=stdin_for("AKIABOBEXAMPLE000001", "z" * 40))

    assert (result.code, result.out) == (1, "")
    assert result.err == (
        "keytui: Could not test that the keyring takes a write: the keyring (in-memory keyring) is locked or the "
        f"unlock prompt was dismissed (Failed to unlock the collection!). Unlock it and retry; nothing was changed. "
        f"{DOCTOR}\n"
    )
    assert called == []
    assert backend.entries == {}
    assert not aws_files.config.exists()


def test_f12_vault_add_without_a_keyring_fails_before_aws(aws_files: AwsFiles, run_cli, monkeypatch) -> None:
    called = []
    monkeypatch.setattr("keytui.core.aws.identity_for_key", lambda *a, **k: called.append(a))

    result = run_cli("vault", "add", "bob", "--stdin", stdin=stdin_for("AKIABOBEXAMPLE000001", "z" * 40))

    assert result.code == 1
    assert result.err.startswith("keytui: No usable keyring: keyring found only 'fail Keyring'.")
    assert called == []
    assert not aws_files.config.exists()


def test_vault_add_refuses_a_temporary_key(aws_files: AwsFiles, memory_keyring, run_cli) -> None:
    result = run_cli("vault", "add", "bob", "--stdin", stdin=stdin_for("ASIATEMPORARY0000009", "z" * 40))
    assert result.code == 1
    assert result.err == (
        "keytui: ASIA…0009 is a temporary (ASIA…) key; the vault holds long-term keys. "
        "Use `keytui session` for MFA sessions.\n"
    )
    assert entries(memory_keyring) == {}


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        ("AKIAONLYONELINE00001\n", "--stdin expects two lines: the access key id, then the secret access key."),
        ("not-a-key-id\n" + "z" * 40 + "\n",
         "The first line is not an access key id (AKIA… in capitals and digits, usually 20 long)."),
        ("AKIABOBEXAMPLE000001\nshort\n",
         "The secret access key must be the 40 characters AWS showed (letters, digits, / + =)."),
        ("AKIABOBEXAMPLE000001\n" + "x" * 50_000 + "\n",
         "The secret access key must be the 40 characters AWS showed (letters, digits, / + =)."),
        ("AKIABOBEXAMPLE000001\n" + "\u00e9" * 40 + "\n",
         "The secret access key must be the 40 characters AWS showed (letters, digits, / + =)."),
    ],
    ids=["one-line", "bad-id", "short-secret", "huge-secret", "non-ascii-secret"],
)
def test_vault_add_malformed_stdin_is_a_usage_error(aws_files, memory_keyring, run_cli, stdin, message) -> None:
    result = run_cli("vault", "add", "bob", "--stdin", stdin=stdin)
    assert (result.code, result.out, result.err) == (2, "", f"keytui: {message}\n")
    assert entries(memory_keyring) == {}


def test_vault_add_without_stdin_and_without_a_terminal_is_a_usage_error(aws_files, memory_keyring, run_cli) -> None:
    result = run_cli("vault", "add", "bob")
    assert result.code == 2
    assert result.err == "keytui: No terminal to prompt on; pass the key id and secret on stdin with --stdin.\n"


def test_vault_add_config_write_failure_restores_the_keyring(
    aws_endpoint: AuthDemo, aws_files: AwsFiles, memory_keyring: MemoryKeyring, run_cli, monkeypatch
) -> None:
    aws_files.write(config="[profile bob]\nregion = us-east-1\n")
    old = '{"AccessKeyId": "AKIAOLDBOB0000000001", "SecretAccessKey": "oldoldoldoldoldoldoldoldoldoldoldoldoldo"}'
    memory_keyring.entries[("keytui", "profile:bob")] = old
    before = aws_files.config.read_bytes()
    real_replace = os.replace

    def replace(src, dst, *args, **kwargs):
        if Path(dst) == aws_files.config:
            raise OSError(errno.EROFS, "Read-only file system")
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    key = aws_endpoint.key()

    result = run_cli("vault", "add", "bob", "--stdin", stdin=stdin_for(key.access_key_id, key.secret.reveal()))

    assert (result.code, result.out) == (1, "")
    assert result.err == f"keytui: Could not write {aws_files.config}: Read-only file system.\n"
    assert entries(memory_keyring) == {"profile:bob": old}
    assert aws_files.config.read_bytes() == before


def test_vault_add_refuses_another_tools_credential_process(
    aws_files: AwsFiles, memory_keyring: MemoryKeyring, run_cli
) -> None:
    config = "[profile sso]\ncredential_process = aws-vault exec sso --json\n"
    aws_files.write(config=config)

    result = run_cli("vault", "add", "sso", "--stdin", stdin=stdin_for("AKIAIOSFODNN7EXAMPLE", "s" * 40))

    assert result.code == 1
    assert "already has credential_process = aws-vault exec sso --json" in result.err
    assert aws_files.config.read_text() == config
    assert list(entries(memory_keyring)) == []


def test_vault_add_refuses_while_a_plaintext_key_would_win(
    aws_files: AwsFiles, memory_keyring: MemoryKeyring, run_cli
) -> None:
    creds = "[work]\naws_access_key_id = AKIAOLDOLDOLDOLDOLD1\naws_secret_access_key = " + "o" * 40 + "\n"
    aws_files.write(credentials=creds)

    result = run_cli("vault", "add", "work", "--stdin", stdin=stdin_for("AKIAIOSFODNN7EXAMPLE", "s" * 40))

    assert result.code == 1
    assert "still has a plaintext key" in result.err and "keytui vault import work" in result.err
    assert aws_files.credentials.read_text() == creds
    assert list(entries(memory_keyring)) == []
