"""What the `keytui vault …` commands and the Profiles screen do: add a key, import plaintext keys,
list where each profile's secret lives, remove. Each profile is all-or-nothing: if a step fails, the
keyring and both AWS files are left as they were."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from keytui.core.awsfiles import (
    IniDocument,
    check_parses,
    check_profile_name,
    config_section,
    files_lock,
    read_text,
    write_atomic,
)
from keytui.core.errors import KeytuiError
from keytui.core.masking import Secret, mask_key_id
from keytui.core.models import Identity, LongTermKey, SessionCredentials
from keytui.vault.errors import VaultError
from keytui.vault.store import Vault

SECRET_KEYS = {"aws_access_key_id", "aws_secret_access_key"}


def keytui_command() -> str:
    """How the AWS CLI and SDKs should call keytui: by absolute path, because they run with whatever PATH
    they have (an IDE, cron, a shell without the venv activated), not necessarily the one keytui ran with."""
    argv0 = shutil.which(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if argv0 and os.path.basename(argv0) == "keytui":
        return shlex.quote(os.path.realpath(argv0))
    found = shutil.which("keytui")
    if found:
        return shlex.quote(os.path.realpath(found))
    return f"{shlex.quote(sys.executable)} -m keytui"


def process_line(profile: str, command: str = "keytui") -> str:
    return f"{command} credential-process --profile {shlex.quote(profile)}"


@dataclass(frozen=True)
class ProfileStatus:
    name: str
    # keyring | keyring (entry missing) | keyring (locked) | PLAINTEXT file | credential_process | role | sso | none
    where: str
    key_id: str | None = None
    session: SessionCredentials | None = None
    note: str = ""

    @property
    def masked_key_id(self) -> str:
        return mask_key_id(self.key_id) if self.key_id else "-"

    @property
    def plaintext(self) -> bool:
        return self.where == "PLAINTEXT file"


@dataclass(frozen=True)
class ImportResult:
    profile: str
    moved: bool
    reason: str
    key_id: str | None = None
    # Not moved because something needs fixing (not merely "nothing to import here").
    error: bool = False


class VaultService:
    def __init__(self, vault: Vault, config_file: Path, credentials_file: Path, command: str = "keytui") -> None:
        self.vault = vault
        self.config_file = Path(config_file)
        self.credentials_file = Path(credentials_file)
        self.command = command

    # -- reading -----------------------------------------------------------------------------------

    def _docs(self) -> tuple[IniDocument, IniDocument]:
        return IniDocument(read_text(self.config_file)), IniDocument(read_text(self.credentials_file))

    def is_managed(self, profile: str, config: IniDocument | None = None) -> bool:
        config = config or self._docs()[0]
        line = config.values(config_section(profile)).get("credential_process", [""])[0]
        return "credential-process" in line and "keytui" in line and _profile_arg(line) == profile

    def profile_names(self) -> list[str]:
        config, creds = self._docs()
        names = {s.name.split(None, 1)[1] if s.name.startswith("profile ") else s.name for s in config.sections()}
        names |= {s.name for s in creds.sections()}
        return sorted(n for n in names if not n.startswith(("sso-session ", "services ")))

    def status(self) -> list[ProfileStatus]:
        config, creds = self._docs()
        statuses = []
        for name in self.profile_names():
            conf = config.values(config_section(name))
            cred = creds.values(name)
            statuses.append(self._status(name, conf, cred, config))
        return statuses

    def _status(self, name: str, conf: Mapping[str, list[str]], cred: Mapping[str, list[str]], config: IniDocument) -> ProfileStatus:
        plaintext_id = (cred.get("aws_access_key_id") or conf.get("aws_access_key_id") or [None])[0]
        if plaintext_id:
            return ProfileStatus(name, "PLAINTEXT file", plaintext_id, note="secret readable by any program you run")
        if self.is_managed(name, config):
            try:
                key = self.vault.get_key(name)
                session = self.vault.get_session(name)
            except VaultError as exc:
                return ProfileStatus(name, f"keyring ({exc.code or 'error'})", note=str(exc))
            if key is None and session is None:
                return ProfileStatus(name, "keyring (entry missing)", note=f"run `keytui vault add {name}`")
            return ProfileStatus(name, "keyring", key.access_key_id if key else None, session)
        if conf.get("credential_process"):
            return ProfileStatus(name, "credential_process", note=conf["credential_process"][0])
        if conf.get("role_arn"):
            return ProfileStatus(name, "role", note=f"assumes {conf['role_arn'][0]}")
        if conf.get("sso_session") or conf.get("sso_start_url"):
            return ProfileStatus(name, "sso")
        return ProfileStatus(name, "none")

    # -- changing ------------------------------------------------------------------------------------

    def add(self, profile: str, key: LongTermKey, verify: Callable[[LongTermKey], Identity]) -> Identity:
        """Check `key` with AWS, store it, point the profile at keytui. A key AWS rejects is not stored."""
        if key.temporary:
            raise KeytuiError(
                f"{mask_key_id(key.access_key_id)} is a temporary (ASIA…) key; the vault holds long-term keys. "
                "Use `keytui session` for MFA sessions.",
                code="TemporaryKey",
            )
        check_profile_name(profile)
        config, creds = self._docs()
        check_parses(self.config_file, read_text(self.config_file))
        other = config.values(config_section(profile)).get("credential_process")
        if other and not self.is_managed(profile, config):
            raise KeytuiError(
                f"Profile '{profile}' already has credential_process = {other[0]}; keytui will not replace another "
                "tool's setting. Remove that line first, or choose another profile name.",
                code="ProfileInUse",
            )
        if creds.values(profile).get("aws_access_key_id"):
            raise KeytuiError(
                f"Profile '{profile}' still has a plaintext key in {self.credentials_file}, which the AWS CLI would "
                f"keep using. Move it with `keytui vault import {profile}` (or delete those lines), then add.",
                code="PlaintextPresent",
            )
        self.vault.check_usable()
        self.vault.probe()
        identity = verify(key)
        with files_lock():
            config_text = read_text(self.config_file)
            previous = self.vault.read(f"profile:{profile}")
            self.vault.put_key(profile, key, UserArn=identity.arn)
            try:
                config = IniDocument(config_text)
                config.set(config_section(profile), "credential_process", process_line(profile, self.command))
                write_atomic(self.config_file, config.text())
            except BaseException:
                self._restore_entry(profile, previous)
                raise
        return identity

    def check_new_profile(self, profile: str) -> None:
        """Raise unless a new profile `profile` could be created now (see create_profile): a usable name that
        no profile of the AWS files and no keyring entry uses yet, and a keyring that takes a write."""
        check_profile_name(profile)
        check_parses(self.config_file, read_text(self.config_file))
        self._check_unused(profile)
        self.vault.check_usable()
        self.vault.probe()

    def _check_unused(self, profile: str) -> None:
        if profile in self.profile_names():
            raise KeytuiError(
                f"Profile '{profile}' already exists in {self.config_file} or {self.credentials_file}; choose a new "
                "name (keytui does not overwrite a profile).",
                code="ProfileExists",
            )
        if self.vault.read(f"profile:{profile}") is not None:
            raise KeytuiError(
                f"The keyring already holds a key for profile '{profile}' (no profile in the AWS files uses it); "
                f"choose a new name, or remove that entry first with `keytui vault remove {profile}`.",
                code="ProfileExists",
            )

    def create_profile(self, profile: str, key: LongTermKey, **metadata: str) -> None:
        """A new keytui-managed profile holding `key`: the keyring entry (written, read back), then the
        credential_process line in the config file. Refused for a name already in use; all or nothing. The key
        is not checked with AWS here (a rotation stores a brand-new key, then verifies it)."""
        if key.temporary:
            raise KeytuiError(f"{mask_key_id(key.access_key_id)} is a temporary (ASIA…) key; the vault holds "
                              "long-term keys.", code="TemporaryKey")
        check_profile_name(profile)
        self.vault.check_usable()
        with files_lock():
            config_text = read_text(self.config_file)
            check_parses(self.config_file, config_text)
            self._check_unused(profile)
            try:
                self.vault.put_key(profile, key, **metadata)
                if self.vault.get_key(profile) != key:
                    raise VaultError(f"the keyring returned a different key for '{profile}'",
                                     code="KeyringReadBackFailed")
                config = IniDocument(config_text)
                config.set(config_section(profile), "credential_process", process_line(profile, self.command))
                write_atomic(self.config_file, config.text())
            except BaseException:
                self._restore_entry(profile, None)
                raise

    def import_profiles(self, names: list[str] | None, *, dry_run: bool = False) -> list[ImportResult]:
        with files_lock():
            creds_text = read_text(self.credentials_file)
            check_parses(self.config_file, read_text(self.config_file))
            creds = IniDocument(creds_text)
            dupes = creds.duplicate_sections()
            wanted = names if names is not None else [s.name for s in creds.sections()]
            if not dry_run and any(self._plaintext(creds, n) for n in wanted):
                self.vault.check_usable()
                self.vault.probe()
            results = []
            for name in dict.fromkeys(wanted):  # a section written twice is one profile, reported once
                if name in dupes:
                    results.append(ImportResult(name, False, f"[{name}] appears more than once in "
                                                f"{self.credentials_file}; fix it by hand first (which key is meant?)",
                                                error=True))
                else:
                    results.append(self._import_one(name, dry_run))
            return results

    @staticmethod
    def _plaintext(creds: IniDocument, name: str) -> bool:
        return bool(creds.values(name).get("aws_access_key_id"))

    def _import_one(self, name: str, dry_run: bool) -> ImportResult:
        config_text, creds_text = read_text(self.config_file), read_text(self.credentials_file)
        creds = IniDocument(creds_text)
        if creds.section(name) is None:
            where = "in the config file only" if IniDocument(config_text).section(config_section(name)) else "anywhere"
            return ImportResult(name, False, f"no plaintext key: profile is not in {self.credentials_file} ({where})")
        values = creds.values(name)
        key_ids, secrets = values.get("aws_access_key_id", []), values.get("aws_secret_access_key", [])
        if not key_ids:
            return ImportResult(name, False, "no access key in the credentials file")
        if len(key_ids) > 1 or len(secrets) > 1:
            return ImportResult(name, False, "the section repeats aws_access_key_id/aws_secret_access_key; fix it by hand first",
                                error=True)
        if not secrets:
            return ImportResult(name, False, "has an access key id but no secret", key_ids[0])
        key = LongTermKey(key_ids[0], Secret(secrets[0]))
        if key.temporary or values.get("aws_session_token") or values.get("aws_security_token"):
            return ImportResult(name, False, "temporary credentials (session token / ASIA… key) are not long-term keys", key.access_key_id)
        config = IniDocument(config_text)
        existing = config.values(config_section(name)).get("credential_process")
        if existing and not self.is_managed(name, config):
            return ImportResult(name, False, f"already has credential_process = {existing[0]}", key.access_key_id)
        if dry_run:
            return ImportResult(name, True, "would move to the keyring (dry run)", key.access_key_id)

        previous = self.vault.read(f"profile:{name}")
        config_existed = self.config_file.exists()
        try:
            self.vault.put_key(name, key)  # written and read back, or raises
            stored = self.vault.get_key(name)
            if stored != key:
                raise VaultError(f"the keyring returned a different key for '{name}'", code="KeyringReadBackFailed")
            config.set(config_section(name), "credential_process", process_line(name, self.command))
            write_atomic(self.config_file, config.text())
            creds.remove_keys(name, SECRET_KEYS)
            write_atomic(self.credentials_file, creds.text())
        except (KeytuiError, OSError) as exc:
            self._rollback(name, previous, config_text, creds_text, config_existed)
            return ImportResult(name, False, f"failed, nothing changed: {exc}", key.access_key_id, error=True)
        except BaseException:
            self._rollback(name, previous, config_text, creds_text, config_existed)
            raise
        return ImportResult(name, True, "moved to the keyring", key.access_key_id)

    def _rollback(
        self, name: str, previous: str | None, config_text: str, creds_text: str, config_existed: bool = True
    ) -> None:
        if not config_existed:
            # "As before" is no config file at all, not an empty one.
            self.config_file.unlink(missing_ok=True)
        elif read_text(self.config_file) != config_text:
            write_atomic(self.config_file, config_text)
        if read_text(self.credentials_file) != creds_text:
            write_atomic(self.credentials_file, creds_text)
        self._restore_entry(name, previous)

    def _restore_entry(self, name: str, previous: str | None) -> None:
        try:
            if previous is None:
                self.vault.remove(f"profile:{name}")
            else:
                self.vault.write(f"profile:{name}", previous)
        except VaultError:
            pass  # the original failure is what the user needs to read

    def remove(self, profile: str) -> bool:
        """Forget the profile's key and session; False if the keyring held nothing and no line pointed at it."""
        with files_lock():
            config = IniDocument(read_text(self.config_file))
            managed = self.is_managed(profile, config)
            held = self.vault.read(f"profile:{profile}") is not None or self.vault.read(f"session:{profile}") is not None
            self.vault.forget(profile)
            if managed:
                config.remove_keys(config_section(profile), {"credential_process"})
                write_atomic(self.config_file, config.text())
            return held or managed


def _profile_arg(line: str) -> str | None:
    try:
        words = shlex.split(line)
    except ValueError:
        return None
    for i, word in enumerate(words):
        if word == "--profile" and i + 1 < len(words):
            return words[i + 1]
        if word.startswith("--profile="):
            return word.split("=", 1)[1]
    return None
