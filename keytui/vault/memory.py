"""An in-memory keyring backend: the demo account's keyring and the tests'. Optionally enforces the
Windows Credential Manager's size limit (2,560 bytes as UTF-16) or simulates a locked keyring."""

from __future__ import annotations

import json
import os
import threading

from keyring.backend import KeyringBackend
from keyring.errors import KeyringLocked, PasswordDeleteError, PasswordSetError

WINDOWS_LIMIT_BYTES = 2560


class MemoryKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]
    # Never picked by keyring's own discovery (which instantiates every viable backend class it knows):
    # only used when chosen explicitly (the demo, the tests, PYTHON_KEYRING_BACKEND). Otherwise, once this
    # module is imported, a forgetful in-memory store could become "the keyring", and DemoFileKeyring's
    # constructor (which needs KEYTUI_DEMO_KEYRING) would make discovery itself raise.
    viable = False
    keytui_memory = True
    name = "in-memory keyring"

    def __init__(self, *, size_limit: int | None = None, locked: bool = False) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}
        self.size_limit = size_limit
        self.locked = locked
        self._lock = threading.Lock()

    def _check_unlocked(self) -> None:
        if self.locked:
            raise KeyringLocked("Failed to unlock the collection!")

    def get_password(self, service: str, username: str) -> str | None:
        self._check_unlocked()
        with self._lock:
            return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self._check_unlocked()
        if self.size_limit is not None and len(password.encode("utf-16-le")) > self.size_limit:
            # What Windows answers (error 1783, "The stub received bad data").
            raise PasswordSetError("(1783, 'CredWrite', 'The stub received bad data.')")
        with self._lock:
            self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self._check_unlocked()
        with self._lock:
            if (service, username) not in self.entries:
                raise PasswordDeleteError("not found")
            del self.entries[(service, username)]


class DemoFileKeyring(MemoryKeyring):
    """The demo account's keyring shared between processes (`keytui demo serve` and the commands run
    against it): a JSON file in the demo's private temp folder, named by KEYTUI_DEMO_KEYRING. It holds
    only moto's fake secrets and is deleted with the demo. Select it with
    PYTHON_KEYRING_BACKEND=keytui.vault.memory.DemoFileKeyring."""

    name = "keytui demo keyring"

    def __init__(self, path: str | None = None) -> None:
        super().__init__()
        self.path = path or os.environ.get("KEYTUI_DEMO_KEYRING", "")
        if not self.path:
            raise RuntimeError("KEYTUI_DEMO_KEYRING is not set; the demo keyring exists only under `keytui demo serve`.")

    def _load(self) -> None:
        try:
            with open(self.path, encoding="utf-8") as handle:
                self.entries = {tuple(k.split("\n", 1)): v for k, v in json.load(handle).items()}  # type: ignore[misc]
        except FileNotFoundError:
            self.entries = {}

    def _save(self) -> None:
        tmp = f"{self.path}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({f"{s}\n{u}": v for (s, u), v in self.entries.items()}, handle)
        os.replace(tmp, self.path)

    def get_password(self, service: str, username: str) -> str | None:
        self._load()
        return super().get_password(service, username)

    def set_password(self, service: str, username: str, password: str) -> None:
        self._load()
        super().set_password(service, username, password)
        self._save()

    def delete_password(self, service: str, username: str) -> None:
        self._load()
        super().delete_password(service, username)
        self._save()
