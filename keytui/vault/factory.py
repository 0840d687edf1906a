"""Opening the vault on the keyring backend that `keyring` selects (or one given explicitly)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from keytui.core.settings import VaultSettings
from keytui.vault.store import Vault


def open_vault(settings: VaultSettings, backend: Any = None) -> Vault:
    if backend is None:
        import keyring
        from keyring.backends import fail

        try:
            backend = keyring.get_keyring()
        except Exception:  # a broken backend configuration is "no keyring", reported by the vault
            backend = fail.Keyring()
    return Vault(backend, allow_insecure=settings.allow_insecure_backend)


def aws_file_paths() -> tuple[Path, Path]:
    """The config and credentials files, as the AWS CLI finds them (without importing botocore)."""
    config = os.environ.get("AWS_CONFIG_FILE") or os.path.join("~", ".aws", "config")
    creds = os.environ.get("AWS_SHARED_CREDENTIALS_FILE") or os.path.join("~", ".aws", "credentials")
    return Path(os.path.expanduser(config)), Path(os.path.expanduser(creds))
