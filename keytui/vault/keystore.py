"""The vault seen by the rotation engine: a managed profile's working and pending key (core.rotation.KeyStore),
and new keytui profiles for another user's new key (core.rotation.ProfileStore)."""

from __future__ import annotations

from keytui.core.models import LongTermKey
from keytui.vault.service import VaultService
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


class VaultProfileStore:
    def __init__(self, service: VaultService) -> None:
        self.service = service

    def check_new(self, profile: str) -> None:
        self.service.check_new_profile(profile)

    def create(self, profile: str, key: LongTermKey, user: str) -> None:
        self.service.create_profile(profile, key, IamUser=user)

    def get(self, profile: str) -> LongTermKey | None:
        return self.service.vault.get_key(profile)

    def discard(self, profile: str, key_id: str) -> None:
        held = self.service.vault.get_key(profile)
        if held is not None and held.access_key_id == key_id:
            self.service.remove(profile)
