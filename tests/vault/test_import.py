"""`keytui vault import`: plaintext keys move from the credentials file into the keyring, the profile gets a
`credential_process` line, and everything else in both files stays byte-for-byte as it was. A profile that
cannot move (duplicate keys, a session token, only in the config) is refused with the reason; a failure at
any step leaves the files and the keyring exactly as before."""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path

import pytest
from keyring.errors import PasswordSetError

from keytui.vault.memory import MemoryKeyring

from ..conftest import AwsFiles, Sandbox
from .conftest import ForgetfulKeyring, ReadOnlyKeyring, entries, process_line, stored_json

WORK_ID = "AKIAWORK000000000002"
WORK_SECRET = "workSecretKey/000000000000000000000000002"
DEFAULT_ID = "AKIADEFAULT000000001"
DEFAULT_SECRET = "defaultSecretKey/00000000000000000000001"
OTHER_ID = "AKIAOTHER00000000003"
OTHER_SECRET = "otherSecretKey/0000000000000000000000003"
DOCTOR = "Run `keytui vault doctor` for the exact steps."

CONFIG = """\
# my AWS config
[default]
region = eu-west-1

[profile work]
region = us-east-1
output = json
# the work account: keep this comment

[profile other]
region = us-west-2
"""

CREDENTIALS = f"""\
# written by aws configure
[default]
aws_access_key_id = {DEFAULT_ID}
aws_secret_access_key = {DEFAULT_SECRET}

; the work account
[work]
aws_access_key_id = {WORK_ID}
aws_secret_access_key = {WORK_SECRET}
region = us-east-1

[other]
aws_access_key_id={OTHER_ID}
aws_secret_access_key={OTHER_SECRET}
"""

CONFIG_AFTER = f"""\
# my AWS config
[default]
region = eu-west-1

[profile work]
region = us-east-1
output = json
credential_process = {process_line("work")}
# the work account: keep this comment

[profile other]
region = us-west-2
"""

CREDENTIALS_AFTER = f"""\
# written by aws configure
[default]
aws_access_key_id = {DEFAULT_ID}
aws_secret_access_key = {DEFAULT_SECRET}

; the work account
[work]
region = us-east-1

[other]
aws_access_key_id={OTHER_ID}
aws_secret_access_key={OTHER_SECRET}
"""


def write_raw(path: Path, text: str, mode: int = 0o600) -> None:
    """Exact bytes (no dedent, no newline translation)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_bytes(text.encode())
    path.chmod(mode)


def state(files: AwsFiles) -> tuple[bytes | None, bytes | None]:
    return tuple(p.read_bytes() if p.exists() else None for p in (files.config, files.credentials))  # type: ignore[return-value]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def row(mark: str, profile: str, key: str, reason: str) -> str:
    return f"{mark:<10}  {profile:<20}  {key:<10}  {reason}\n"


@pytest.fixture
def files(aws_files: AwsFiles) -> AwsFiles:
    write_raw(aws_files.config, CONFIG)
    write_raw(aws_files.credentials, CREDENTIALS)
    return aws_files


# -- the move -----------------------------------------------------------------------------------------------


def test_import_moves_one_profile_and_keeps_everything_else_byte_for_byte(files, memory_keyring, run_cli) -> None:
    result = run_cli("vault", "import", "work")

    assert (result.code, result.err) == (0, "")
    assert result.out == row("moved", "work", "AKIA…0002", "moved to the keyring")
    assert files.config.read_text() == CONFIG_AFTER
    assert files.credentials.read_text() == CREDENTIALS_AFTER
    assert list(entries(memory_keyring)) == ["profile:work"]
    stored = stored_json(memory_keyring, "profile:work")
    assert (stored["AccessKeyId"], stored["SecretAccessKey"]) == (WORK_ID, WORK_SECRET)


def test_import_all_moves_every_plaintext_profile(files, memory_keyring, run_cli) -> None:
    result = run_cli("vault", "import", "--all")

    assert (result.code, result.err) == (0, "")
    assert result.out == (
        row("moved", "default", "AKIA…0001", "moved to the keyring")
        + row("moved", "work", "AKIA…0002", "moved to the keyring")
        + row("moved", "other", "AKIA…0003", "moved to the keyring")
    )
    assert files.credentials.read_text() == "# written by aws configure\n\n; the work account\n[work]\nregion = us-east-1\n\n"
    assert files.config.read_text() == (
        "# my AWS config\n[default]\nregion = eu-west-1\n"
        f"credential_process = {process_line('default')}\n\n"
        "[profile work]\nregion = us-east-1\noutput = json\n"
        f"credential_process = {process_line('work')}\n"
        "# the work account: keep this comment\n\n"
        "[profile other]\nregion = us-west-2\n"
        f"credential_process = {process_line('other')}\n"
    )
    assert sorted(entries(memory_keyring)) == ["profile:default", "profile:other", "profile:work"]
    assert stored_json(memory_keyring, "profile:other")["SecretAccessKey"] == OTHER_SECRET


def test_import_dry_run_changes_nothing(files, memory_keyring, run_cli) -> None:
    before = state(files)
    result = run_cli("vault", "import", "--all", "--dry-run")

    assert result.code == 0
    assert result.out == (
        row("would move", "default", "AKIA…0001", "would move to the keyring (dry run)")
        + row("would move", "work", "AKIA…0002", "would move to the keyring (dry run)")
        + row("would move", "other", "AKIA…0003", "would move to the keyring (dry run)")
    )
    assert state(files) == before
    assert entries(memory_keyring) == {}


def test_import_twice_moves_nothing_the_second_time(files, memory_keyring, run_cli) -> None:
    run_cli("vault", "import", "work")
    after_first = (state(files), entries(memory_keyring))

    again = run_cli("vault", "import", "work")

    assert again.code == 1
    assert again.out == row(
        "kept", "work", "-", "no access key in the credentials file"
    )
    assert (state(files), entries(memory_keyring)) == after_first


def test_import_needs_a_profile_or_all(files, memory_keyring, run_cli) -> None:
    result = run_cli("vault", "import")
    assert (result.code, result.out) == (2, "")
    assert result.err == "keytui: keytui vault import: name one PROFILE, or use --all.\n"


def test_import_crlf_files_keep_crlf(aws_files, memory_keyring, run_cli) -> None:
    write_raw(aws_files.config, CONFIG.replace("\n", "\r\n"))
    write_raw(aws_files.credentials, CREDENTIALS.replace("\n", "\r\n"))

    result = run_cli("vault", "import", "work")

    assert result.code == 0
    assert aws_files.config.read_bytes() == CONFIG_AFTER.replace("\n", "\r\n").encode()
    assert aws_files.credentials.read_bytes() == CREDENTIALS_AFTER.replace("\n", "\r\n").encode()
    assert stored_json(memory_keyring, "profile:work")["SecretAccessKey"] == WORK_SECRET  # no stray \r


def test_import_refuses_duplicate_keys_and_leaves_the_file(aws_files, memory_keyring, run_cli) -> None:
    credentials = (
        f"[work]\naws_access_key_id = {WORK_ID}\naws_secret_access_key = {WORK_SECRET}\n"
        f"aws_access_key_id = {OTHER_ID}\n"
    )
    write_raw(aws_files.credentials, credentials)
    write_raw(aws_files.config, "[profile work]\nregion = us-east-1\n")
    before = state(aws_files)

    result = run_cli("vault", "import", "work")

    assert result.code == 1
    reason = "the section repeats aws_access_key_id/aws_secret_access_key; fix it by hand first"
    assert result.out == row("kept", "work", "-", reason)
    assert result.err == f"keytui: profile 'work' was not moved: {reason}\n"
    assert state(aws_files) == before
    assert entries(memory_keyring) == {}


def test_import_profile_only_in_config_is_not_imported(files, memory_keyring, run_cli) -> None:
    write_raw(files.config, CONFIG + "\n[profile config-only]\nregion = us-east-1\n")
    before = state(files)

    result = run_cli("vault", "import", "config-only")

    assert result.code == 1
    reason = f"no plaintext key: profile is not in {files.credentials} (in the config file only)"
    assert result.out == row("kept", "config-only", "-", reason)
    assert result.err == f"keytui: profile 'config-only' was not moved: {reason}\n"
    assert state(files) == before
    assert entries(memory_keyring) == {}


def test_import_unknown_profile_is_not_imported(files, memory_keyring, run_cli) -> None:
    result = run_cli("vault", "import", "wrok")
    assert result.code == 1
    assert result.out == row("kept", "wrok", "-", f"no plaintext key: profile is not in {files.credentials} (anywhere)")


@pytest.mark.parametrize(
    ("section", "key_id"),
    [
        (f"aws_access_key_id = {WORK_ID}\naws_secret_access_key = {WORK_SECRET}\naws_session_token = FwoGZXIvYXdzEBc=\n", WORK_ID),
        ("aws_access_key_id = ASIATEMPORARY0000009\naws_secret_access_key = s3cr3t/00000000000000000000000000000\n",
         "ASIATEMPORARY0000009"),
    ],
    ids=["session-token", "asia-key"],
)
def test_import_temporary_credentials_are_not_imported(aws_files, memory_keyring, run_cli, section, key_id) -> None:
    write_raw(aws_files.credentials, f"[temp]\n{section}")
    before = state(aws_files)

    result = run_cli("vault", "import", "temp")

    assert result.code == 1
    assert result.out == row(
        "kept", "temp", f"{key_id[:4]}…{key_id[-4:]}",
        "temporary credentials (session token / ASIA… key) are not long-term keys",
    )
    assert state(aws_files) == before
    assert entries(memory_keyring) == {}


def test_import_keeps_another_tools_credential_process(files, memory_keyring, run_cli) -> None:
    config = CONFIG.replace("output = json\n", "output = json\ncredential_process = aws-vault export --format=json work\n")
    write_raw(files.config, config)
    before = state(files)

    result = run_cli("vault", "import", "work")

    assert result.code == 1
    assert result.out == row(
        "kept", "work", "AKIA…0002", "already has credential_process = aws-vault export --format=json work"
    )
    assert state(files) == before


def test_import_all_reports_profiles_it_keeps_without_failing(aws_files, memory_keyring, run_cli) -> None:
    write_raw(aws_files.credentials, (
        f"[work]\naws_access_key_id = {WORK_ID}\naws_secret_access_key = {WORK_SECRET}\n\n"
        "[sso-only]\nregion = us-east-1\n"
    ))
    result = run_cli("vault", "import", "--all")
    assert (result.code, result.err) == (0, "")
    assert result.out == (
        row("moved", "work", "AKIA…0002", "moved to the keyring")
        + row("kept", "sso-only", "-", "no access key in the credentials file")
    )


# -- F-15: files named by the environment, modes, new files --------------------------------------------


def test_f15_import_reads_and_writes_the_files_the_environment_names(
    aws_files, memory_keyring, run_cli, sandbox: Sandbox, monkeypatch
) -> None:
    # The default ~/.aws files hold something else, which must not be touched.
    write_raw(aws_files.config, "[default]\nregion = eu-west-1\n")
    write_raw(aws_files.credentials, f"[work]\naws_access_key_id = {OTHER_ID}\naws_secret_access_key = {OTHER_SECRET}\n")
    home_before = state(aws_files)
    elsewhere = aws_files.elsewhere(sandbox.root / "elsewhere", monkeypatch)
    write_raw(elsewhere.config, CONFIG)
    write_raw(elsewhere.credentials, CREDENTIALS)

    result = run_cli("vault", "import", "work")

    assert result.code == 0
    assert elsewhere.config.read_text() == CONFIG_AFTER
    assert elsewhere.credentials.read_text() == CREDENTIALS_AFTER
    assert state(aws_files) == home_before
    assert stored_json(memory_keyring, "profile:work")["AccessKeyId"] == WORK_ID


def test_import_tightens_each_files_mode_to_0600(files, memory_keyring, run_cli) -> None:
    """DESIGN: every file keytui writes is 0600 — a group-readable credentials file is a finding, not a wish."""
    files.credentials.chmod(0o640)
    files.config.chmod(0o644)

    assert run_cli("vault", "import", "work").code == 0

    assert (mode(files.credentials), mode(files.config)) == (0o600, 0o600)


def test_import_refuses_a_profile_whose_section_appears_twice(aws_files, memory_keyring, run_cli) -> None:
    """Two [dup] sections: importing both would keep only the second key and destroy the first."""
    creds = (
        "[dup]\r\naws_access_key_id = AKIAAAAAAAAAAAAAAA01\r\naws_secret_access_key = " + "1" * 40 + "\r\n\r\n"
        "[dup]\r\naws_access_key_id = AKIAAAAAAAAAAAAAAA02\r\naws_secret_access_key = " + "2" * 40 + "\r\n"
    )
    write_raw(aws_files.credentials, creds)

    result = run_cli("vault", "import", "--all")

    assert result.code == 1
    assert "appears more than once" in result.out and len(result.out.splitlines()) == 1
    assert aws_files.credentials.read_bytes() == creds.encode()
    assert memory_keyring.entries == {}


def test_import_refuses_a_config_file_the_aws_cli_cannot_parse(aws_files, memory_keyring, run_cli) -> None:
    write_raw(aws_files.credentials, CREDENTIALS)
    write_raw(aws_files.config, "[profile demo\nregion=us-east-1\n[[[\nfoo\n")
    before = (aws_files.credentials.read_bytes(), aws_files.config.read_bytes())

    result = run_cli("vault", "import", "--all")

    assert result.code == 1
    assert "cannot be parsed" in result.err and "keytui changed nothing" in result.err
    assert (aws_files.credentials.read_bytes(), aws_files.config.read_bytes()) == before
    assert memory_keyring.entries == {}


def test_import_creates_a_missing_config_file_0600_in_a_0700_folder(
    aws_files, memory_keyring, run_cli, sandbox: Sandbox, monkeypatch
) -> None:
    write_raw(aws_files.credentials, CREDENTIALS)
    config = sandbox.root / "new-folder" / "config"
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))

    assert run_cli("vault", "import", "work").code == 0

    assert config.read_text() == f"[profile work]\ncredential_process = {process_line('work')}\n"
    assert mode(config) == 0o600
    assert mode(config.parent) == 0o700
    assert not [p.name for p in config.parent.iterdir() if p.name != "config"]  # no temporary file left


def test_import_through_a_symlinked_credentials_file_keeps_the_link(
    aws_files, memory_keyring, run_cli, sandbox: Sandbox
) -> None:
    dotfiles = sandbox.root / "dotfiles"
    write_raw(dotfiles / "aws-credentials", CREDENTIALS, mode=0o600)
    write_raw(aws_files.config, CONFIG)
    aws_files.credentials.symlink_to(dotfiles / "aws-credentials")

    assert run_cli("vault", "import", "work").code == 0

    assert aws_files.credentials.is_symlink()
    assert (dotfiles / "aws-credentials").read_text() == CREDENTIALS_AFTER


# -- failures leave everything as it was ---------------------------------------------------------------


@pytest.fixture
def fail_rename(monkeypatch: pytest.MonkeyPatch):
    """`fail_rename(path, exc)`: the atomic rename onto `path` raises `exc` (a read-only or full file system,
    Ctrl-C); every other rename works."""

    def install(target: Path, exc: BaseException) -> None:
        real = os.replace

        def replace(src, dst, *args, **kwargs):
            if Path(dst) == target:
                raise exc
            return real(src, dst, *args, **kwargs)

        monkeypatch.setattr(os, "replace", replace)

    return install


OLD_ENTRY = json.dumps({"AccessKeyId": "AKIAOLD0000000000009", "SecretAccessKey": "old" * 13})


def test_import_failure_writing_credentials_restores_files_and_keyring(
    files, memory_keyring, run_cli, fail_rename
) -> None:
    memory_keyring.entries[("keytui", "profile:work")] = OLD_ENTRY  # a stale entry from earlier
    before = (state(files), dict(memory_keyring.entries))
    fail_rename(files.credentials, OSError(errno.EROFS, "Read-only file system"))

    result = run_cli("vault", "import", "work")

    assert result.code == 1
    reason = f"failed, nothing changed: Could not write {files.credentials}: Read-only file system."
    assert result.out == row("kept", "work", "AKIA…0002", reason)
    assert result.err == f"keytui: profile 'work' was not moved: {reason}\n"
    assert (state(files), dict(memory_keyring.entries)) == before
    assert sorted(p.name for p in files.config.parent.iterdir()) == ["config", "credentials"]  # no temp file


def test_import_failure_without_a_config_file_leaves_no_config_file(
    aws_files, memory_keyring, run_cli, fail_rename
) -> None:
    write_raw(aws_files.credentials, CREDENTIALS)
    fail_rename(aws_files.credentials, OSError(errno.EACCES, "Permission denied"))

    result = run_cli("vault", "import", "work")

    assert result.code == 1
    assert not aws_files.config.exists()
    assert aws_files.credentials.read_text() == CREDENTIALS
    assert entries(memory_keyring) == {}


def test_import_interrupted_mid_way_restores_everything(files, memory_keyring, run_cli, fail_rename) -> None:
    before = (state(files), dict(memory_keyring.entries))
    fail_rename(files.credentials, KeyboardInterrupt())

    result = run_cli("vault", "import", "work")

    assert (result.code, result.err) == (130, "keytui: Interrupted.\n")
    assert (state(files), dict(memory_keyring.entries)) == before
    assert sorted(p.name for p in files.config.parent.iterdir()) == ["config", "credentials"]


class ProfileWritesRefused(MemoryKeyring):
    """Takes the probe, refuses the real entry (a policy, a full keyring)."""

    name = "picky keyring"

    def set_password(self, service: str, username: str, password: str) -> None:
        if username.startswith("profile:"):
            raise PasswordSetError("quota exceeded")
        super().set_password(service, username, password)


def test_import_keyring_refusing_the_entry_changes_nothing(files, use_keyring, run_cli) -> None:
    backend = use_keyring(ProfileWritesRefused())
    before = state(files)

    result = run_cli("vault", "import", "work")

    assert result.code == 1
    assert result.out == row(
        "kept", "work", "AKIA…0002",
        "failed, nothing changed: Could not write 'profile:work' to the keyring: the keyring (picky keyring) "
        f"refused the write (quota exceeded). {DOCTOR}",
    )
    assert state(files) == before
    assert backend.entries == {}


# -- F-12 / F-13 at the command line --------------------------------------------------------------------------


def test_f13_import_into_a_locked_keyring_says_locked_and_changes_nothing(files, use_keyring, run_cli) -> None:
    backend = use_keyring(MemoryKeyring(locked=True))
    backend.entries[("keytui", "profile:work")] = OLD_ENTRY
    before = (state(files), dict(backend.entries))

    result = run_cli("vault", "import", "work")

    assert (result.code, result.out) == (1, "")
    assert result.err == (
        "keytui: Could not test that the keyring takes a write: the keyring (in-memory keyring) is locked or the "
        f"unlock prompt was dismissed (Failed to unlock the collection!). Unlock it and retry; nothing was changed. "
        f"{DOCTOR}\n"
    )
    assert (state(files), dict(backend.entries)) == before


def test_f12_import_without_a_keyring_changes_nothing(files, run_cli) -> None:
    before = state(files)  # the sandbox's keyring is keyring.backends.fail

    result = run_cli("vault", "import", "--all")

    assert (result.code, result.out) == (1, "")
    assert result.err.startswith("keytui: No usable keyring: keyring found only 'fail Keyring'.")
    assert "keytui vault doctor" in result.err
    assert state(files) == before


class PlaintextKeyring(MemoryKeyring):
    """Looks like keyrings.alt's PlaintextKeyring to classify(): not keytui's, not keyring's own."""

    keytui_memory = False
    name = "PlaintextKeyring"


def test_f12_import_refuses_an_insecure_keyring_without_opt_in(files, use_keyring, run_cli) -> None:
    backend = use_keyring(PlaintextKeyring())
    before = state(files)

    result = run_cli("vault", "import", "work")

    assert result.code == 1
    assert result.err == (
        "keytui: The only keyring available is 'PlaintextKeyring', which keeps secrets in a file that other programs "
        "can read. keytui will not store secrets there unless you opt in with `[vault] allow_insecure_backend = true` "
        f"in keytui's config. {DOCTOR}\n"
    )
    assert state(files) == before
    assert backend.entries == {}


def test_f12_import_uses_an_insecure_keyring_after_opt_in_by_environment(files, use_keyring, run_cli, monkeypatch) -> None:
    backend = use_keyring(PlaintextKeyring())
    monkeypatch.setenv("KEYTUI_VAULT_ALLOW_INSECURE_BACKEND", "true")

    assert run_cli("vault", "import", "work").code == 0
    assert [user for _, user in backend.entries] == ["profile:work"]


def test_f12_import_uses_an_insecure_keyring_after_opt_in_by_settings(
    files, use_keyring, run_cli, sandbox: Sandbox
) -> None:
    backend = use_keyring(PlaintextKeyring())
    sandbox.settings_file.parent.mkdir(mode=0o700)
    sandbox.settings_file.write_text("[vault]\nallow_insecure_backend = true\n")

    assert run_cli("vault", "import", "work").code == 0
    assert [user for _, user in backend.entries] == ["profile:work"]


@pytest.mark.parametrize(
    ("backend", "message"),
    [
        (ReadOnlyKeyring(), "Could not test that the keyring takes a write: the keyring (read-only keyring) refused "
                            f"the write (write access denied). {DOCTOR}"),
        (ForgetfulKeyring(), f"The keyring (forgetful keyring) accepted a test write but did not return it. {DOCTOR}"),
    ],
    ids=["read-only", "returns-none"],
)
def test_f13_import_into_a_keyring_that_cannot_keep_it_changes_nothing(files, use_keyring, run_cli, backend, message) -> None:
    use_keyring(backend)
    before = state(files)

    result = run_cli("vault", "import", "--all")

    assert (result.code, result.out, result.err) == (1, "", f"keytui: {message}\n")
    assert state(files) == before
    assert backend.entries == {}
