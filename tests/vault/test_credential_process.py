"""F-11 `keytui credential-process --profile P`: exactly one JSON object on stdout that botocore accepts
(`"Version": 1`, Expiration in UTC with Z, no token/expiry for a long-term key), nothing on stdout and a
sentence on stderr with exit 1 on any failure, and no boto3/botocore/Textual import on the way. Tested in
this process for the exact output, and through a real botocore session that runs it as a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import botocore.session
import pytest
from botocore.exceptions import CredentialRetrievalError

from keytui.core.masking import Secret
from keytui.core.models import LongTermKey, SessionCredentials
from keytui.vault.memory import MemoryKeyring
from keytui.vault.store import Vault

from ..conftest import AwsFiles
from .conftest import BOB_ARN, AuthDemo, entries, process_line

KEY = LongTermKey("AKIACREDPROCESS00001", Secret("credProcessSecret/0000000000000000000001"))
DOCTOR = "Run `keytui vault doctor` for the exact steps."


def a_session(expires: datetime) -> SessionCredentials:
    return SessionCredentials(
        "ASIACREDPROCESS00001", Secret("sessionSecret/00000000000000000000000001"),
        Secret("FwoGZXIvYXdzEJr//////////" + "t" * 300), expires,
    )


def no_key_message(profile: str, label: str) -> str:
    return (
        f"keytui: No key for profile '{profile}' in the keyring ({label}). Store one with "
        f"`keytui vault add {profile}` (or move a plaintext one with `keytui vault import {profile}`).\n"
    )


# -- the output, in this process ------------------------------------------------------------------------------


def test_f11_long_term_key_is_one_json_object_with_integer_version(memory_keyring, run_cli) -> None:
    Vault(memory_keyring).put_key("work", KEY)

    result = run_cli("credential-process", "--profile", "work")

    assert (result.code, result.err) == (0, "")
    assert result.out == (
        '{"Version": 1, "AccessKeyId": "AKIACREDPROCESS00001", '
        '"SecretAccessKey": "credProcessSecret/0000000000000000000001"}\n'
    )
    document = json.loads(result.out)
    assert document["Version"] == 1 and type(document["Version"]) is int
    assert "SessionToken" not in document and "Expiration" not in document


def test_f11_valid_session_comes_with_token_and_utc_z_expiration(memory_keyring, run_cli) -> None:
    vault = Vault(memory_keyring)
    vault.put_key("work", KEY)
    # Stored from a non-UTC datetime: printed in UTC with Z.
    local_expiry = (datetime.now(timezone.utc) + timedelta(hours=1)).replace(microsecond=0)
    session = a_session(local_expiry.astimezone(timezone(timedelta(hours=2))))
    vault.put_session("work", session)

    result = run_cli("credential-process", "--profile", "work")

    assert (result.code, result.err) == (0, "")
    assert result.out.count("\n") == 1 and result.out.endswith("}\n")
    assert json.loads(result.out) == {
        "Version": 1,
        "AccessKeyId": session.access_key_id,
        "SecretAccessKey": session.secret.reveal(),
        "SessionToken": session.token.reveal(),
        "Expiration": local_expiry.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


@pytest.mark.parametrize("left", [timedelta(minutes=-5), timedelta(minutes=4)], ids=["expired", "inside-margin"])
def test_f11_expired_session_is_never_printed(memory_keyring, run_cli, left) -> None:
    vault = Vault(memory_keyring)
    vault.put_session("work", a_session(datetime.now(timezone.utc) + left))

    result = run_cli("credential-process", "--profile", "work")

    assert (result.code, result.out) == (1, "")
    assert result.err == no_key_message("work", "in-memory keyring (memory)")

    vault.put_key("work", KEY)  # with a long-term key, that is served instead
    assert json.loads(run_cli("credential-process", "--profile", "work").out)["AccessKeyId"] == KEY.access_key_id


def test_f11_nothing_stored_fails_with_a_message_and_empty_stdout(memory_keyring, run_cli) -> None:
    result = run_cli("credential-process", "--profile", "work")
    assert (result.code, result.out) == (1, "")
    assert result.err == no_key_message("work", "in-memory keyring (memory)")


def test_f14_session_missing_a_chunk_is_no_session(use_keyring, run_cli) -> None:
    backend = use_keyring(MemoryKeyring(size_limit=2560))
    vault = Vault(backend)
    session = SessionCredentials(
        "ASIACREDPROCESS00001", Secret("s" * 40), Secret("T" * 1200), datetime.now(timezone.utc) + timedelta(hours=1)
    )
    vault.put_session("work", session)
    assert json.loads(run_cli("credential-process", "--profile", "work").out)["SessionToken"] == "T" * 1200
    chunk = max(name for name in entries(backend) if "#" in name)
    del backend.entries[("keytui", chunk)]

    result = run_cli("credential-process", "--profile", "work")

    assert (result.code, result.out) == (1, "")
    assert result.err == no_key_message("work", "in-memory keyring (memory)")


def test_f13_locked_keyring_fails_saying_locked(use_keyring, run_cli) -> None:
    backend = use_keyring(MemoryKeyring())
    Vault(backend).put_key("work", KEY)
    backend.locked = True
    before = dict(backend.entries)

    result = run_cli("credential-process", "--profile", "work")

    assert (result.code, result.out) == (1, "")
    assert result.err == (
        "keytui: Could not read 'session:work' from the keyring: the keyring (in-memory keyring) is locked or the "
        f"unlock prompt was dismissed (Failed to unlock the collection!). Unlock it and retry; nothing was changed. "
        f"{DOCTOR}\n"
    )
    assert backend.entries == before


def test_f12_no_keyring_fails_saying_so(run_cli) -> None:
    result = run_cli("credential-process", "--profile", "work")
    assert (result.code, result.out) == (1, "")
    assert result.err.startswith("keytui: No usable keyring: keyring found only 'fail Keyring'.")


def test_f11_recursion_guard_fails_clearly(memory_keyring, run_cli, monkeypatch) -> None:
    Vault(memory_keyring).put_key("work", KEY)
    monkeypatch.setenv("KEYTUI_CREDENTIAL_CHAIN", "other,work")

    result = run_cli("credential-process", "--profile", "work")

    assert (result.code, result.out) == (1, "")
    assert result.err == (
        "keytui: credential_process recursion: profile 'work' leads back to itself (other -> work -> work). "
        "Check source_profile/credential_process in the AWS config.\n"
    )


def test_credential_process_needs_a_profile(run_cli) -> None:
    result = run_cli("credential-process")
    assert (result.code, result.out) == (2, "")
    assert "the following arguments are required: --profile" in result.err


# -- through a real botocore session (credential_process as a subprocess) ---------------------------------------


@pytest.fixture
def imported_work(aws_files: AwsFiles, shared_keyring, run_cli) -> AwsFiles:
    """Profile `work` moved into the shared keyring by `keytui vault import`: its config line is keytui's own."""
    aws_files.write(
        config="[profile work]\nregion = us-east-1\n",
        credentials=f"[work]\naws_access_key_id = {KEY.access_key_id}\naws_secret_access_key = {KEY.secret.reveal()}\n",
    )
    assert run_cli("vault", "import", "work").code == 0
    assert aws_files.config.read_text() == f"[profile work]\nregion = us-east-1\ncredential_process = {process_line('work')}\n"
    return aws_files


def test_f11_botocore_session_gets_the_stored_key(imported_work: AwsFiles) -> None:
    credentials = botocore.session.Session(profile="work").get_credentials()

    assert credentials.method == "custom-process"
    frozen = credentials.get_frozen_credentials()
    assert (frozen.access_key, frozen.secret_key, frozen.token) == (KEY.access_key_id, KEY.secret.reveal(), None)


def test_f11_botocore_session_gets_the_stored_session(imported_work: AwsFiles, shared_keyring) -> None:
    expires = (datetime.now(timezone.utc) + timedelta(hours=1)).replace(microsecond=0)
    session = a_session(expires)
    Vault(shared_keyring).put_session("work", session)

    credentials = botocore.session.Session(profile="work").get_credentials()

    frozen = credentials.get_frozen_credentials()
    assert (frozen.access_key, frozen.secret_key, frozen.token) == (
        session.access_key_id, session.secret.reveal(), session.token.reveal(),
    )
    assert credentials._expiry_time == expires


def test_f11_botocore_session_reports_keytuis_failure(aws_files: AwsFiles, shared_keyring) -> None:
    aws_files.write(config=f"[profile work]\ncredential_process = {process_line('work')}\n")

    with pytest.raises(CredentialRetrievalError) as raised:
        botocore.session.Session(profile="work").get_credentials()

    assert "No key for profile 'work' in the keyring (keytui demo keyring (memory))" in str(raised.value)


def test_f11_sts_get_caller_identity_through_credential_process(
    auth_demo: AuthDemo, aws_files: AwsFiles, shared_keyring, run_cli, monkeypatch
) -> None:
    """End to end: `vault add` stores bob's real key, then botocore, configured only by the line keytui wrote,
    signs a call that moto (authentication on) accepts."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", auth_demo.endpoint_url)
    key = auth_demo.key()
    assert run_cli("vault", "add", "bob", "--stdin", stdin=f"{key.access_key_id}\n{key.secret.reveal()}\n").code == 0

    session = botocore.session.Session(profile="bob")
    answer = session.create_client("sts", region_name="us-east-1").get_caller_identity()

    assert answer["Arn"] == BOB_ARN
    assert session.get_credentials().method == "custom-process"


# -- what it imports -------------------------------------------------------------------------------------------


def test_credential_process_imports_neither_boto_nor_textual(aws_files: AwsFiles, shared_keyring) -> None:
    Vault(shared_keyring).put_key("work", KEY)

    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "keytui", "credential-process", "--profile", "work"],
        capture_output=True, text=True, timeout=60,
    )

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["AccessKeyId"] == KEY.access_key_id
    imported = {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "keytui.cli_vault" in imported and "keyring" in imported  # the listing is real
    heavy = sorted(m for m in imported if m.split(".")[0] in {"boto3", "botocore", "textual", "rich", "moto"})
    assert heavy == []
