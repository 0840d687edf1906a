"""Messages that carry results from worker threads back to the event loop: facts in the past tense,
requests ending in `Requested`. Workers never touch widgets; they post these."""

from __future__ import annotations

from textual.message import Message

from keytui.core.errors import KeytuiError
from keytui.core.inventory import InventoryProgress
from keytui.core.mfa import CodePairCheck, LeftoverDeviceError, NewDevice
from keytui.core.models import AccessKey, CredentialSource, Identity, Inventory
from keytui.core.rotation import Journal, RotationResult, Step
from keytui.vault.service import ImportResult, ProfileStatus
from keytui.vault.sessions import SessionState


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


class InactiveKeyDeleted(Message):
    """A delete of an inactive key ended: `error` None when AWS deleted it (the screen then reloads)."""

    def __init__(self, user: str, key_id: str, error: KeytuiError | None = None) -> None:
        super().__init__()
        self.user = user
        self.key_id = key_id
        self.error = error


# -- MFA: enrollment (ui/screens/mfa_enroll.py) and sessions (ui/screens/session.py, the header) --------------


class MfaDeviceCreated(Message):
    """The virtual device exists (not yet enabled). `device` holds the seed: the screen keeps it in memory
    only, and drops it when it closes. `own_profile`: the acting profile, when the device is for the profile's
    own user (keytui then offers to write mfa_serial into it); `own_serial`: that profile's mfa_serial now."""

    def __init__(self, device: NewDevice, own_profile: str | None = None, own_serial: str | None = None) -> None:
        super().__init__()
        self.device = device
        self.own_profile = own_profile
        self.own_serial = own_serial


class MfaLeftoverFound(Message):
    """A device of that name exists already (F-07): deletable when unassigned, never when in use."""

    def __init__(self, name: str, error: LeftoverDeviceError) -> None:
        super().__init__()
        self.name = name
        self.error = error


class MfaEnrollFailed(Message):
    def __init__(self, error: KeytuiError, stage: str) -> None:
        super().__init__()
        self.error = error
        self.stage = stage  # create | enable


class MfaEnabled(Message):
    def __init__(self, check: CodePairCheck) -> None:
        super().__init__()
        self.check = check


class MfaEnrollCancelled(Message):
    """The device keytui created was deleted (`error` None), or could not be (it is then left unassigned)."""

    def __init__(self, serial: str, error: KeytuiError | None = None) -> None:
        super().__init__()
        self.serial = serial
        self.error = error


class MfaSerialWritten(Message):
    def __init__(self, profile: str, serial: str, error: KeytuiError | None = None) -> None:
        super().__init__()
        self.profile = profile
        self.serial = serial
        self.error = error


class SessionStateLoaded(Message):
    """The acting profile's stored MFA session, for the header (None: no keyring to hold one)."""

    def __init__(self, state: SessionState | None, error: KeytuiError | None = None) -> None:
        super().__init__()
        self.state = state
        self.error = error


class SessionProfilesLoaded(Message):
    """The profiles that have mfa_serial, with their stored sessions; `error` when they could not be read."""

    def __init__(self, states: dict[str, SessionState], error: KeytuiError | None = None) -> None:
        super().__init__()
        self.states = states
        self.error = error


class SessionPlanned(Message):
    """What `s` will ask STS for, checked before a code is typed (F-06 shape, F-10 limits), or why not."""

    def __init__(self, profile: str, duration: int | None, plan: object = None, source: object = None,
                 error: KeytuiError | None = None) -> None:
        super().__init__()
        self.profile = profile
        self.duration = duration  # what was asked (None: the default)
        self.plan = plan  # keytui.core.sessions.SessionPlan
        self.source = source  # the credentials that ask STS (for listing the user's devices: F-06)
        self.error = error


class SessionOpened(Message):
    def __init__(self, profile: str, state: SessionState) -> None:
        super().__init__()
        self.profile = profile
        self.state = state


class SessionFailed(Message):
    def __init__(self, profile: str, error: KeytuiError) -> None:
        super().__init__()
        self.profile = profile
        self.error = error


class SessionDevicesListed(Message):
    """After AWS refused mfa_serial (F-06): the user's real devices, or why they could not be listed."""

    def __init__(self, profile: str, devices: tuple[str, ...], error: KeytuiError | None = None) -> None:
        super().__init__()
        self.profile = profile
        self.devices = devices
        self.error = error
