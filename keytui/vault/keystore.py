"""The vault seen by the rotation engine (core.rotation.KeyStore): the working key and the pending one."""

from __future__ import annotations

from keytui.core.models import LongTermKey
from keytui.vault.store import Vault


class VaultKeyStore:
    def __init__(self, vault: Vault) -> None:
        self.vault = vault

    def probe(self) -> None:
        self.vault.check_usable()
        self.vault.probe()

    def current(self, profile: str) -> LongTermKey | None:
        return self.vault.get_key(profile)

    def put_pending(self, profile: str, key: LongTermKey) -> None:
        self.vault.put_pending(profile, key)

    def get_pending(self, profile: str) -> LongTermKey | None:
        return self.vault.get_pending(profile)

    def promote_pending(self, profile: str) -> LongTermKey:
        return self.vault.promote_pending(profile)

    def drop_pending(self, profile: str) -> None:
        self.vault.drop_pending(profile)
