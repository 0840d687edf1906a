"""Messages that carry results from worker threads back to the event loop: facts in the past tense,
requests ending in `Requested`. Workers never touch widgets; they post these."""

from __future__ import annotations

from textual.message import Message

from keytui.core.errors import KeytuiError
from keytui.core.inventory import InventoryProgress
from keytui.core.models import CredentialSource, Identity, Inventory
from keytui.vault.service import ImportResult, ProfileStatus


class IdentityLoaded(Message):
    def __init__(self, identity: Identity, source: CredentialSource, holders: dict[str, tuple[str, ...]]) -> None:
        super().__init__()
        self.identity = identity
        self.source = source
        self.holders = holders  # key id -> local profiles holding it (files and keyring)


class CredentialsMissing(Message):
    """No credentials at all (or an unknown profile): the app offers the welcome screen instead."""

    def __init__(self, error: KeytuiError) -> None:
        super().__init__()
        self.error = error


class InventoryProgressed(Message):
    def __init__(self, progress: InventoryProgress) -> None:
        super().__init__()
        self.progress = progress


class InventoryLoaded(Message):
    def __init__(self, inventory: Inventory) -> None:
        super().__init__()
        self.inventory = inventory


class LoadFailed(Message):
    def __init__(self, error: KeytuiError) -> None:
        super().__init__()
        self.error = error


class ProfileChangeRequested(Message):
    def __init__(self, profile: str) -> None:
        super().__init__()
        self.profile = profile


class ProfilesLoaded(Message):
    def __init__(self, statuses: tuple[ProfileStatus, ...]) -> None:
        super().__init__()
        self.statuses = statuses


class ProfilesImported(Message):
    def __init__(self, results: tuple[ImportResult, ...]) -> None:
        super().__init__()
        self.results = results


class ProfilesFailed(Message):
    def __init__(self, error: KeytuiError) -> None:
        super().__init__()
        self.error = error
