"""Why the vault cannot do what was asked — each a different situation with a different fix."""

from __future__ import annotations

from keytui.core.errors import KeytuiError

DOCTOR = "Run `keytui vault doctor` for the exact steps."


class VaultError(KeytuiError):
    pass


class VaultUnavailable(VaultError):
    """No usable keyring at all (headless Linux, WSL, a container)."""


class VaultInsecure(VaultError):
    """Only a plaintext/"alt" file backend is available and the user has not opted in."""


class VaultLocked(VaultError):
    """The keyring is there but locked, or the unlock prompt was dismissed. Not "no credentials"."""


class VaultWriteFailed(VaultError):
    """A write was refused or did not read back identically."""


class EntryMissing(VaultError):
    """The keyring works, and holds nothing for this name."""
