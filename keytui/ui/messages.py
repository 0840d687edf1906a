"""Messages that carry results from worker threads back to the event loop: facts in the past tense,
requests ending in `Requested`. Workers never touch widgets; they post these."""

from __future__ import annotations

from textual.message import Message

from keytui.core.errors import KeytuiError
from keytui.core.inventory import InventoryProgress
from keytui.core.models import AccessKey, CredentialSource, Identity, Inventory
from keytui.core.rotation import Journal, RotationResult, Step
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


class OpenRotationsFound(Message):
    """The rotation journals that did not finish (read by the load worker: they are files)."""

    def __init__(self, journals: tuple[Journal, ...], error: str | None = None) -> None:
        super().__init__()
        self.journals = journals
        self.error = error  # the journals could not be read: say so rather than show none


class RotationPlanned(Message):
    """The rotation screen's check ended: the preflight passed (`keys`), or an unfinished rotation of the
    user exists (`journal`), which is then the only thing to resume or roll back."""

    def __init__(self, keys: tuple[AccessKey, ...] = (), journal: Journal | None = None, state: str = "") -> None:
        super().__init__()
        self.keys = keys
        self.journal = journal
        self.state = state  # the journal's account of what exists, checked against AWS's list of keys


class RotationStepChanged(Message):
    def __init__(self, step: Step, state: str, detail: str = "") -> None:
        super().__init__()
        self.step = step
        self.state = state  # running | waiting | done | skipped | failed
        self.detail = detail


class RotationFinished(Message):
    def __init__(self, result: RotationResult) -> None:
        super().__init__()
        self.result = result


class RotationFailed(Message):
    """A check, rotation, resume or roll-back stopped. `journal` is the rotation's journal as it is on disk
    now (None: nothing is left open), read after the failure so the screen never shows a guess."""

    def __init__(self, error: KeytuiError, journal: Journal | None, state: str = "", *,
                 before_start: bool = False) -> None:
        super().__init__()
        self.error = error
        self.journal = journal
        self.state = state  # what exists now, in words (empty when no journal is open)
        self.before_start = before_start  # the preflight stopped it: nothing was created
