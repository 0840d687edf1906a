"""The vault: keytui's entries in the OS keyring, one JSON value per thing, read back after every write.

Layout (service `keytui`): `profile:<name>` holds a long-term key, `session:<name>` an MFA session.
Values too big for the Windows Credential Manager (2,560 bytes as UTF-16) are split into chunks
`<entry>#<generation>.<i>`, and a manifest written last under `<entry>` names them; a missing or
altered chunk reads as "absent", never as a truncated secret.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, TypeVar

from keyring import errors as kerrors
from keyring.backend import KeyringBackend

from keytui.core.masking import Secret
from keytui.core.models import LongTermKey, SessionCredentials
from keytui.vault.backend import BackendInfo, classify
from keytui.vault.errors import (
    DOCTOR,
    VaultError,
    VaultInsecure,
    VaultLocked,
    VaultUnavailable,
    VaultWriteFailed,
)

SERVICE = "keytui"
LIMIT_BYTES = 2560
# ASCII JSON costs 2 bytes a character in UTF-16; leave room for the backend's own overhead.
CHUNK_CHARS = 1000
_MANIFEST = "keytui_chunks"
T = TypeVar("T")


def _fits(value: str) -> bool:
    return len(value.encode("utf-16-le")) <= LIMIT_BYTES


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class Vault:
    def __init__(self, backend: KeyringBackend, *, allow_insecure: bool = False, service: str = SERVICE) -> None:
        self.backend = backend
        self.info: BackendInfo = classify(backend)
        self.allow_insecure = allow_insecure
        self.service = service

    # -- guard rails -----------------------------------------------------------------------------

    def check_usable(self) -> None:
        """Raise unless secrets may be read from and written to this backend."""
        if self.info.kind == "none":
            raise VaultUnavailable(
                f"No usable keyring: keyring found only '{self.info.name}'. keytui keeps secrets only in an OS "
                f"keyring (Secret Service/KWallet on Linux, Keychain on macOS, Credential Locker on Windows), so "
                f"it runs read-only for now. {DOCTOR}",
                code="NoKeyring",
            )
        if self.info.kind == "insecure" and not self.allow_insecure:
            raise VaultInsecure(
                f"The only keyring available is '{self.info.name}', which keeps secrets in a file that other "
                "programs can read. keytui will not store secrets there unless you opt in with "
                f"`[vault] allow_insecure_backend = true` in keytui's config. {DOCTOR}",
                code="InsecureKeyring",
            )

    def _call(self, action: str, fn: Callable[..., T], *args: Any) -> T:
        self.check_usable()
        try:
            return fn(*args)
        except kerrors.KeyringLocked as exc:
            raise VaultLocked(
                f"Could not {action}: the keyring ({self.info.name}) is locked or the unlock prompt was "
                f"dismissed ({exc}). Unlock it and retry; nothing was changed. {DOCTOR}",
                code="KeyringLocked",
            ) from exc
        except kerrors.PasswordSetError as exc:
            raise VaultWriteFailed(
                f"Could not {action}: the keyring ({self.info.name}) refused the write ({exc}). {DOCTOR}",
                code="KeyringWriteFailed",
            ) from exc
        except kerrors.NoKeyringError as exc:
            raise VaultUnavailable(f"Could not {action}: no keyring ({exc}). {DOCTOR}", code="NoKeyring") from exc
        except kerrors.KeyringError as exc:
            raise VaultError(
                f"Could not {action}: the keyring ({self.info.name}) failed ({type(exc).__name__}: {exc}). {DOCTOR}",
                code="KeyringError",
            ) from exc
        except Exception as exc:  # D-Bus/secretstorage errors surface as their own types
            if isinstance(exc, VaultError):
                raise
            raise VaultError(
                f"Could not {action}: the keyring ({self.info.name}) is unreachable ({type(exc).__name__}: {exc}). "
                f"{DOCTOR}",
                code="KeyringUnreachable",
            ) from exc

    def _get(self, name: str) -> str | None:
        return self._call(f"read '{name}' from the keyring", self.backend.get_password, self.service, name)

    def _set(self, name: str, value: str) -> None:
        self._call(f"write '{name}' to the keyring", self.backend.set_password, self.service, name, value)

    def _delete(self, name: str) -> None:
        try:
            self._call(f"delete '{name}' from the keyring", self.backend.delete_password, self.service, name)
        except VaultError as exc:
            if isinstance(exc.__cause__, kerrors.PasswordDeleteError):
                return  # already gone
            raise

    # -- raw values with chunking ---------------------------------------------------------------------

    def read(self, name: str) -> str | None:
        raw = self._get(name)
        if raw is None:
            return None
        manifest = self._manifest(raw)
        if manifest is None:
            return raw
        parts = []
        for index in range(manifest["count"]):
            part = self._get(f"{name}#{manifest['gen']}.{index}")
            if part is None:
                return None  # a missing chunk means absent, never a truncated value
            parts.append(part)
        value = "".join(parts)
        return value if _digest(value) == manifest["sha256"] else None

    @staticmethod
    def _manifest(raw: str) -> dict[str, Any] | None:
        if _MANIFEST not in raw:
            return None
        try:
            data = json.loads(raw)
        except ValueError:
            return None
        manifest = data.get(_MANIFEST) if isinstance(data, dict) else None
        return manifest if isinstance(manifest, dict) else None

    def write(self, name: str, value: str) -> None:
        """Store `value` under `name` and prove it reads back; stale chunks are removed afterwards."""
        old_raw = self._get(name)
        old = self._manifest(old_raw) if old_raw else None
        if _fits(value):
            self._set(name, value)
        else:
            gen = secrets.token_hex(4)
            chunks = [value[i : i + CHUNK_CHARS] for i in range(0, len(value), CHUNK_CHARS)]
            for index, chunk in enumerate(chunks):
                self._set(f"{name}#{gen}.{index}", chunk)
            manifest = {_MANIFEST: {"gen": gen, "count": len(chunks), "sha256": _digest(value)}}
            self._set(name, json.dumps(manifest))
        if self.read(name) != value:
            raise VaultWriteFailed(
                f"The keyring ({self.info.name}) did not return '{name}' as written; it was not stored. {DOCTOR}",
                code="KeyringReadBackFailed",
            )
        if old:
            for index in range(old["count"]):
                self._delete(f"{name}#{old['gen']}.{index}")

    def remove(self, name: str) -> None:
        raw = self._get(name)
        if raw is None:
            return
        manifest = self._manifest(raw)
        self._delete(name)
        if manifest:
            for index in range(manifest["count"]):
                self._delete(f"{name}#{manifest['gen']}.{index}")

    def probe(self) -> None:
        """Prove the keyring takes a write (and gives it back) before creating any secret."""
        name = f"probe:{secrets.token_hex(4)}"
        value = secrets.token_hex(16)
        # One fixed phrase for the user, rather than the random name of the test entry.
        action = "test that the keyring takes a write"
        self._call(action, self.backend.set_password, self.service, name, value)
        try:
            if self._call(action, self.backend.get_password, self.service, name) != value:
                raise VaultWriteFailed(
                    f"The keyring ({self.info.name}) accepted a test write but did not return it. {DOCTOR}",
                    code="KeyringReadBackFailed",
                )
        finally:
            self._delete(name)

    # -- typed entries ----------------------------------------------------------------------------------

    def get_key(self, profile: str) -> LongTermKey | None:
        data = self._json(f"profile:{profile}")
        if not data or not data.get("AccessKeyId") or not data.get("SecretAccessKey"):
            return None
        return LongTermKey(data["AccessKeyId"], Secret(data["SecretAccessKey"]))

    def put_key(self, profile: str, key: LongTermKey, **metadata: str) -> None:
        if key.temporary:
            raise VaultError(
                f"{key.access_key_id[:4]}… is a temporary (STS) key; the vault stores long-term keys only.",
                code="TemporaryKey",
            )
        value = {
            "AccessKeyId": key.access_key_id,
            "SecretAccessKey": key.secret.reveal(),
            "StoredAt": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            **metadata,
        }
        self.write(f"profile:{profile}", json.dumps(value))

    # -- rotation: the new key waits beside the old one until it is verified ------------------------------

    def put_pending(self, profile: str, key: LongTermKey) -> None:
        """Store a freshly created key as the profile's *pending* key, next to the working one, so that at
        every moment of a rotation the keyring holds a key that works."""
        data = self._json(f"profile:{profile}") or {}
        data.update(PendingAccessKeyId=key.access_key_id, PendingSecretAccessKey=key.secret.reveal())
        self.write(f"profile:{profile}", json.dumps(data))
        if self.get_pending(profile) != key:
            raise VaultWriteFailed(f"The keyring did not return the new key of '{profile}' as written. {DOCTOR}",
                                   code="KeyringReadBackFailed")

    def get_pending(self, profile: str) -> LongTermKey | None:
        data = self._json(f"profile:{profile}")
        if not data or not data.get("PendingAccessKeyId") or not data.get("PendingSecretAccessKey"):
            return None
        return LongTermKey(data["PendingAccessKeyId"], Secret(data["PendingSecretAccessKey"]))

    def promote_pending(self, profile: str) -> LongTermKey:
        """The switch: the pending key becomes the profile's key (one write, read back)."""
        data = self._json(f"profile:{profile}") or {}
        pending = self.get_pending(profile)
        if pending is None:
            raise VaultError(f"No pending key for '{profile}' in the keyring to switch to.", code="NoPendingKey")
        data["AccessKeyId"], data["SecretAccessKey"] = pending.access_key_id, pending.secret.reveal()
        data["StoredAt"] = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        data.pop("PendingAccessKeyId", None)
        data.pop("PendingSecretAccessKey", None)
        self.write(f"profile:{profile}", json.dumps(data))
        return pending

    def drop_pending(self, profile: str) -> None:
        data = self._json(f"profile:{profile}")
        if data and ("PendingAccessKeyId" in data or "PendingSecretAccessKey" in data):
            data.pop("PendingAccessKeyId", None)
            data.pop("PendingSecretAccessKey", None)
            self.write(f"profile:{profile}", json.dumps(data))

    def get_session(self, profile: str) -> SessionCredentials | None:
        data = self._json(f"session:{profile}")
        if not isinstance(data, dict):
            return None
        try:
            fields = [data["AccessKeyId"], data["SecretAccessKey"], data["SessionToken"], data["Expiration"]]
            if not all(isinstance(value, str) and value for value in fields):
                return None
            expiration = datetime.fromisoformat(fields[3].replace("Z", "+00:00"))
        except (KeyError, ValueError):
            return None  # a damaged entry is no session, not a crash
        if expiration.tzinfo is None:
            return None  # an expiry without a zone cannot be compared safely: no session, never a guess
        return SessionCredentials(fields[0], Secret(fields[1]), Secret(fields[2]), expiration)

    def put_session(self, profile: str, session: SessionCredentials) -> None:
        value = {
            "AccessKeyId": session.access_key_id,
            "SecretAccessKey": session.secret.reveal(),
            "SessionToken": session.token.reveal(),
            "Expiration": session.expiration.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        self.write(f"session:{profile}", json.dumps(value))

    def forget(self, profile: str) -> None:
        self.remove(f"session:{profile}")
        self.remove(f"profile:{profile}")

    def _json(self, name: str) -> dict[str, Any] | None:
        raw = self.read(name)
        if raw is None:
            return None
        try:
            data = json.loads(raw)
        except ValueError:
            return None
        return data if isinstance(data, dict) else None
