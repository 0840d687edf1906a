"""Access-key rotation that never locks anyone out: an explicit state machine, journaled step by step.

preflight → create → store → verify → switch → deactivate old → (delete old) → done

At every moment at least one working key is held by the keyring (managed profile) or shown to the user:
the new key is stored as *pending* beside the old one before anything else happens, verified with calls
signed by itself, and only then switched to; the old key is deactivated (reversible) only after the
switch. Each step is written to a journal (key ids and step names, never secrets) so that an interrupted
rotation can be resumed or rolled back, and a lock stops two rotations of one user at once.

The journal is written ahead: before a step's call goes to AWS (or to the keyring) the journal names the
step as `running`, and only after it returned is the step added to `done`. A crash in between leaves a
journal that knows which single effect is uncertain; resume and roll-back look at AWS and the keyring to
settle it (`_reconcile`) before doing anything.
"""

from __future__ import annotations

import enum
import fcntl
import json
import os
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Protocol

from keytui.core.awsfiles import state_dir, write_atomic
from keytui.core.clock import Clock
from keytui.core.errors import AwsError, BAD_KEY, THROTTLED, KeytuiError
from keytui.core.iam import IamService
from keytui.core.masking import Secret, mask_key_id
from keytui.core.models import AccessKey, Identity, LongTermKey


class Step(str, enum.Enum):
    PREFLIGHT = "preflight"
    CREATE = "create"
    STORE = "store"
    VERIFY = "verify"
    SWITCH = "switch"
    DEACTIVATE = "deactivate old"
    DELETE = "delete old"
    DONE = "done"


ORDER = list(Step)


class RotationError(KeytuiError):
    """A rotation stopped. `state` says what exists now, in words."""

    def __init__(self, message: str, *, code: str, state: str = "") -> None:
        state = state[:1].upper() + state[1:]  # a sentence of its own (Journal.describe() starts in lower case)
        super().__init__(f"{message} {state}".strip(), code=code)
        self.state = state


class TwoKeysError(RotationError):
    def __init__(self, user: str, keys: tuple[AccessKey, ...], now: datetime) -> None:
        from keytui.core.present import key_last_used_text

        evidence = "; ".join(
            f"{k.masked_id} {k.status}, {k.age_days(now)}d old, last used {key_last_used_text(k, now)}" for k in keys
        )
        inactive = [k for k in keys if not k.active and k.key_id]
        if len(inactive) == 1:
            # The step to take, exactly (a masked id cannot be typed into a command).
            key = inactive[0]
            advice = (f"Delete the inactive key {key.masked_id} first (`aws iam delete-access-key --user-name {user} "
                      f"--access-key-id {key.key_id}`, or select {user} in keytui and press d), then rotate.")
        else:
            advice = "Delete the key that is no longer used first (the inactive one if there is one), then rotate."
        super().__init__(
            f"{user} already has two access keys ({evidence}). AWS allows two, inactive ones included, so a "
            f"rotation cannot create a new one. {advice} Nothing was changed.",
            code="TwoKeys",
        )
        self.keys = keys

    @property
    def inactive_keys(self) -> tuple[AccessKey, ...]:
        return tuple(k for k in self.keys if not k.active and k.key_id)


@dataclass(frozen=True)
class StoreAs:
    """The other answer to `confirm_stored`: keytui keeps the new key itself, under a new keytui profile of
    this name (keyring entry + credential_process line), instead of a person storing the shown secret."""

    profile: str


class KeyStore(Protocol):
    """Where a managed profile's key lives (the vault). Core does not know the keyring."""

    def probe(self) -> None: ...
    def current(self, profile: str) -> LongTermKey | None: ...
    def put_pending(self, profile: str, key: LongTermKey) -> None: ...
    def get_pending(self, profile: str) -> LongTermKey | None: ...
    def promote_pending(self, profile: str) -> LongTermKey: ...
    def drop_pending(self, profile: str) -> None: ...


class ProfileStore(Protocol):
    """Where another user's new key can be kept under a new, named keytui profile (the vault)."""

    def check_new(self, profile: str) -> None:
        """Raise unless `profile` can be created now: a usable name no profile or keyring entry uses yet, and
        a keyring that takes a write."""

    def create(self, profile: str, key: LongTermKey, user: str) -> None:
        """The keyring entry (read back) and the credential_process line, all or nothing."""

    def get(self, profile: str) -> LongTermKey | None: ...

    def discard(self, profile: str, key_id: str) -> None:
        """Remove the profile, if it holds `key_id` (and only then)."""


class RotationEvents(Protocol):
    def step(self, step: Step, state: str, detail: str = "") -> None:
        """`state`: running | waiting | done | skipped | failed."""

    def confirm_stored(self, new_key: LongTermKey) -> bool | StoreAs:
        """Another user's key: show the secret once; True when the user says it is stored safely, False to
        discard it, or StoreAs(name) to have keytui keep it under a new keytui profile instead."""

    def confirm_deployed(self, new_key: LongTermKey) -> bool:
        """Another user's key: True when the new key is deployed and the old one may be deactivated.
        Only the key's id is meant to be shown here; on a resume keytui no longer has the secret, and the
        key passed carries an empty one."""

    def switched(self, new_key: LongTermKey) -> None:
        """The profile now uses the new key: rebuild every client built from the old one (F-03)."""


@dataclass
class Journal:
    user: str
    old_key_id: str
    profile: str | None
    delete_old: bool
    keys_before: list[str]
    started_at: str
    new_key_id: str | None = None
    done: list[str] = field(default_factory=list)
    status: str = "running"  # running | failed | done | rolled back
    error: str | None = None
    # The step whose call was sent but whose outcome was not recorded yet (None between steps): after a
    # crash, the one effect the journal cannot vouch for.
    running: str | None = None
    # Another user's new key kept by keytui under this new profile (keyring), instead of shown once.
    store_as: str | None = None

    def has(self, step: Step) -> bool:
        return step.value in self.done

    @property
    def can_resume(self) -> bool:
        """False when no resume can work, whatever AWS says now: another user's new key was shown once and
        stored by a person (keytui kept no copy) but not verified, so it cannot be verified again. A pending
        key in the keyring (a managed profile's, or a --store-as profile's) is checked by the resume itself."""
        return not (self.profile is None and self.store_as is None and self.new_key_id
                    and self.has(Step.STORE) and not self.has(Step.VERIFY))

    @property
    def can_roll_back(self) -> bool:
        """Only before the switch: after it the new key is the one in use (or confirmed deployed)."""
        return not self.has(Step.SWITCH)

    def _was_running(self, step: Step) -> bool:
        return self.running == step.value

    def advice(self) -> str:
        """What the user can do about this unfinished rotation, with the commands."""
        return _advice(self)

    def describe(self, keys: Sequence[AccessKey] | None = None) -> str:
        """What exists, in the words F-04 asks for. From the journal alone, a step interrupted while its call
        was on the way leaves two possibilities and both are named; with `keys` (the user's keys as AWS lists
        them now) the AWS side is exact, including a key created by an interrupted run that it never recorded."""
        status = None if keys is None else {k.key_id: k.status for k in keys}
        return f"{self._new_key_text(status)}; {self._old_key_text(status)}."

    def _old_key_text(self, status: dict[str | None, str] | None) -> str:
        old = f"old key {mask_key_id(self.old_key_id)}"
        if status is not None:
            state = {"Active": "still active", "Inactive": "inactive"}.get(status.get(self.old_key_id, ""), "deleted")
            return f"{old} {state}"
        if self.has(Step.DELETE):
            return f"{old} deleted"
        if self._was_running(Step.DELETE):
            return f"{old} inactive, or deleted if the interrupted deletion reached AWS"
        if self.has(Step.DEACTIVATE):
            return f"{old} inactive"
        if self._was_running(Step.DEACTIVATE):
            return f"{old} still active, or inactive if the interrupted deactivation reached AWS"
        return f"{old} still active"

    def _new_key_text(self, status: dict[str | None, str] | None) -> str:
        if not self.new_key_id:
            if status is not None:
                extra = [k for k in status if k not in self.keys_before]
                if extra and self._was_running(Step.CREATE):
                    return (f"key {', '.join(mask_key_id(k) for k in extra)} was created by the interrupted run but "
                            "never recorded (its secret never reached keytui; roll back deletes it)")
                return "No new key was created"
            if self._was_running(Step.CREATE):
                return ("A new key may have been created (the run was interrupted while AWS was creating it; "
                        "roll back finds and deletes it)")
            return "No new key was recorded"
        new = f"new key {mask_key_id(self.new_key_id)}"
        if status is not None and self.new_key_id not in status:
            return f"{new} no longer exists"
        if self.store_as:
            return self._stored_as_text(new)
        profile = f"profile '{self.profile}'"
        if self.has(Step.SWITCH):
            return f"{new} verified and in use by {profile}" if self.profile else f"{new} verified and deployed"
        if self.has(Step.VERIFY):
            if not self.profile:
                return f"{new} stored by you and verified, not confirmed deployed yet"
            if self._was_running(Step.SWITCH):
                return (f"{new} stored (pending) for {profile} and verified; the switch of {profile} to it was "
                        "interrupted")
            return f"{new} stored (pending) for {profile} and verified; {profile} still uses the old key"
        if self.has(Step.STORE):
            where = f"stored (pending) for {profile}" if self.profile else "stored by you"
            return f"{new} created and {where}, not verified yet"
        if self._was_running(Step.STORE):
            if self.profile:
                return f"{new} created; storing it in the keyring for {profile} was interrupted"
            return f"{new} created and shown, not confirmed stored"
        return f"{new} created, not stored yet"

    def _stored_as_text(self, new: str) -> str:
        held = f"keytui profile '{self.store_as}'"
        if self.has(Step.SWITCH):
            return f"{new} verified and held by {held}"
        if self.has(Step.VERIFY):
            return f"{new} held by {held} and verified"
        if self.has(Step.STORE):
            return f"{new} created and held by {held}, not verified yet"
        if self._was_running(Step.STORE):
            return f"{new} created; storing it as {held} was interrupted"
        return f"{new} created, not stored yet"


HISTORY_LIMIT = 1000  # keys remembered as deactivated by a rotation (the oldest are forgotten first)


def _safe(user: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.@+=,-]", "_", user)


class JournalStore:
    """One JSON file per user being rotated (0600), plus a lock file held while a rotation runs."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or state_dir() / "rotations"
        self._history_cache: tuple[tuple[int, int, int], dict[str, datetime]] | None = None

    def _path(self, user: str) -> Path:
        return self.folder / f"{_safe(user)}.json"

    def load(self, user: str) -> Journal | None:
        try:
            return Journal(**json.loads(self._path(user).read_text(encoding="utf-8")))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError) as exc:
            raise KeytuiError(f"The rotation journal {self._path(user)} is unreadable ({exc}).",
                              code="Journal") from exc

    def open_journals(self) -> list[Journal]:
        if not self.folder.exists():
            return []
        journals = []
        for path in sorted(self.folder.glob("*.json")):
            try:
                journal = Journal(**json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError, TypeError):
                continue
            if journal.status in {"running", "failed"}:
                journals.append(journal)
        return journals

    def save(self, journal: Journal) -> None:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_atomic(self._path(journal.user), json.dumps(asdict(journal), indent=1))

    def close(self, journal: Journal, status: str) -> None:
        journal.status = status
        self.save(journal)
        self._path(journal.user).unlink(missing_ok=True)

    # -- keys a rotation left inactive (IAM does not record when a key was deactivated) -----------------

    @property
    def _history(self) -> Path:
        # In a folder of its own: open_journals() reads every *.json of this folder as a journal.
        return self.folder / "history" / "deactivated.json"

    def record_deactivated(self, user: str, key_id: str, at: datetime) -> None:
        """Remember that a rotation of `user` finished at `at` leaving `key_id` inactive: the evidence of how
        long it has been inactive (core/cleanup.py). Best effort: a history that cannot be written only loses
        that evidence (the key's last use stands in), never the rotation."""
        try:
            self._history.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self._history.parent / "deactivated.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                entries = self._read_history()
                entries[key_id] = {"user": user, "deactivated_at": at.isoformat()}
                if len(entries) > HISTORY_LIMIT:
                    newest = sorted(entries, key=lambda k: entries[k]["deactivated_at"])[-HISTORY_LIMIT:]
                    entries = {k: entries[k] for k in newest}
                write_atomic(self._history, json.dumps(entries, indent=1, sort_keys=True))
            finally:
                os.close(fd)
        except (OSError, KeytuiError):
            pass

    def forget_deactivated(self, key_id: str) -> None:
        """The key was deleted: drop it from the history (best effort, as above)."""
        try:
            if key_id not in self.deactivated():
                return
            fd = os.open(self._history.parent / "deactivated.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                entries = self._read_history()
                entries.pop(key_id, None)
                write_atomic(self._history, json.dumps(entries, indent=1, sort_keys=True))
            finally:
                os.close(fd)
        except (OSError, KeytuiError):
            pass

    def _read_history(self) -> dict[str, dict[str, str]]:
        try:
            data = json.loads(self._history.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            return {}  # damaged: it is evidence, not state; the next record starts it again
        if not isinstance(data, dict):
            return {}
        return {k: v for k, v in data.items()
                if isinstance(v, dict) and isinstance(v.get("deactivated_at"), str)}

    def deactivated(self) -> dict[str, datetime]:
        """Key id -> when a keytui rotation finished leaving it inactive. Read again only when the file
        changed (the keys panel asks on every selection). Missing or unreadable: no evidence ({})."""
        try:
            info = os.stat(self._history)
        except OSError:
            return {}
        stamp = (info.st_mtime_ns, info.st_size, info.st_ino)
        cached = self._history_cache
        if cached is not None and cached[0] == stamp:
            return dict(cached[1])
        found: dict[str, datetime] = {}
        for key_id, entry in self._read_history().items():
            try:
                when = datetime.fromisoformat(entry["deactivated_at"])
            except ValueError:
                continue
            if when.tzinfo is not None:
                found[key_id] = when
        self._history_cache = (stamp, found)
        return dict(found)

    @contextmanager
    def lock(self, user: str) -> Iterator[None]:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.folder / f"{_safe(user)}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RotationError(
                    f"Another rotation of {user} is running right now (in another keytui); wait for it to finish.",
                    code="RotationBusy",
                ) from None
            yield
        finally:
            os.close(fd)


@dataclass(frozen=True)
class RotationResult:
    user: str
    old_key_id: str
    new_key_id: str | None
    steps: tuple[str, ...]
    status: str


def explicit_deny(exc: AwsError) -> bool:
    """AWS refused with an explicit deny: what policies that require MFA answer (F-08)."""
    return exc.code in {"AccessDenied", "AccessDeniedException"} and "explicit deny" in exc.message.lower()


def _commands(journal: Journal) -> tuple[str, str]:
    base = f"keytui rotate {journal.user}" + (f" --profile {journal.profile}" if journal.profile else "")
    return f"`{base} --resume`", f"`{base} --rollback`"


def _advice(journal: Journal) -> str:
    resume, rollback = _commands(journal)
    if not journal.can_roll_back:
        return f"Resume it ({resume}); it cannot be rolled back, the new key is in use."
    if not journal.can_resume:
        return (f"Roll it back ({rollback}), which deletes the new key, then rotate again; it cannot be resumed: "
                "keytui kept no copy of the new secret to verify it with.")
    return f"Resume it ({resume}) or roll it back ({rollback})."


@dataclass(frozen=True)
class _Keyring:
    """What the profile's keyring entry holds now (managed profiles; all None otherwise)."""

    current: LongTermKey | None = None
    pending: LongTermKey | None = None

    def holds(self, key_id: str | None) -> LongTermKey | None:
        for key in (self.pending, self.current):
            if key is not None and key_id and key.access_key_id == key_id:
                return key
        return None


class RotationEngine:
    def __init__(
        self,
        iam_factory: Callable[[], IamService],
        verify_key: Callable[[LongTermKey], Identity],
        store: KeyStore | None,
        journals: JournalStore,
        clock: Clock,
        *,
        mfa_iam: Callable[[], IamService] | None = None,
        profiles: ProfileStore | None = None,
        verify_timeout: float = 60.0,
        poll_interval: float = 1.5,
        delete_retry_timeout: float = 30.0,
    ) -> None:
        self._iam_factory = iam_factory
        # Built at the first AWS call (an engine that only reads journals never builds a client).
        self._iam: IamService | None = None
        self._verify_key = verify_key
        self._store = store
        self._profiles = profiles
        self._journals = journals
        self._clock = clock
        self._mfa_iam = mfa_iam
        self._mfa_used = False
        self._mfa_session: IamService | None = None
        self.verify_timeout = verify_timeout
        self.poll_interval = poll_interval
        self.delete_retry_timeout = delete_retry_timeout

    # -- calls, with one MFA upgrade per rotation (F-08) ---------------------------------------------

    def _client(self) -> IamService:
        if self._iam is None:
            self._iam = self._fresh_iam()
        return self._iam

    def _call(self, fn: Callable[[IamService], object]) -> object:
        try:
            return fn(self._client())
        except AwsError as exc:
            if explicit_deny(exc) and self._mfa_iam is not None and not self._mfa_used:
                # Policies commonly deny IAM writes without MFA: get one MFA session, keep it for the rest
                # of the rotation (also after the switch: a session outlives the key that requested it).
                self._mfa_used = True
                self._mfa_session = self._iam = self._mfa_iam()
                return fn(self._iam)
            raise

    def _fresh_iam(self) -> IamService:
        """A client built from the profile's credentials as they are now (after the switch: the new key), or
        the rotation's MFA session once there is one — never a second MFA prompt."""
        return self._mfa_session if self._mfa_session is not None else self._iam_factory()

    def _list(self, user: str) -> tuple[AccessKey, ...]:
        return self._call(lambda iam: iam.list_access_keys(user))  # type: ignore[return-value]

    # -- preflight ---------------------------------------------------------------------------------------

    def preflight_keys(self, user: str) -> tuple[AccessKey, ...]:
        return self._list(user)

    def preflight(self, user: str, old_key_id: str, profile: str | None, *,
                  store_as: str | None = None) -> tuple[AccessKey, ...]:
        keys = self._list(user)
        if old_key_id not in {k.key_id for k in keys}:
            raise RotationError(
                f"Key {mask_key_id(old_key_id)} does not belong to {user} (their keys: "
                f"{', '.join(k.masked_id for k in keys) or 'none'}). Nothing was changed.",
                code="KeyNotFound",
            )
        if len(keys) >= 2:
            raise TwoKeysError(user, tuple(self._with_last_use(k) for k in keys), self._clock.now())
        if profile is not None:
            if self._store is None:
                raise RotationError("No keyring to store the new key in.", code="NoKeyring")
            # The key replaced is the one the profile holds (by id, never by age); reading it also says now,
            # before a secret exists, if the keyring is locked.
            held = self._store.current(profile)
            if held is None or held.access_key_id != old_key_id:
                raise RotationError(
                    f"Profile '{profile}' holds {mask_key_id(held.access_key_id) if held else 'no key'} in the "
                    f"keyring, not {mask_key_id(old_key_id)}; keytui rotates the key a profile holds, so that it "
                    "can switch the profile to the new one. Nothing was changed.",
                    code="KeyNotHeld",
                )
            self._store.probe()  # prove the keyring takes a write before a secret exists
        if store_as is not None:
            if profile is not None:
                raise RotationError(
                    "A new key is kept under a new keytui profile only when rotating another user's key; your own "
                    f"profile '{profile}' is switched to its new key in place. Nothing was changed.", code="Usage")
            if self._profiles is None:
                raise RotationError("No keyring to store the new key in. Nothing was changed.", code="NoKeyring")
            self._profiles.check_new(store_as)  # a new name, and a keyring that takes a write
        return keys

    def _with_last_use(self, key: AccessKey) -> AccessKey:
        try:
            return replace(key, last_used=self._client().key_last_used(key.key_id or ""))
        except KeytuiError as exc:
            return replace(key, last_used_error=f"unknown ({exc.code})")

    # -- the run ------------------------------------------------------------------------------------------

    def rotate(self, user: str, old_key_id: str, profile: str | None, events: RotationEvents,
               *, delete_old: bool = False, store_as: str | None = None) -> RotationResult:
        """`store_as` (another user's key only): keytui keeps the new key under this new keytui profile
        instead of showing its secret, and does not ask whether it is deployed (keytui holds it)."""
        with self._journals.lock(user):
            self.ensure_none_open(user)
            events.step(Step.PREFLIGHT, "running")
            try:
                keys = self.preflight(user, old_key_id, profile, store_as=store_as)
            except (KeytuiError, KeyboardInterrupt) as exc:
                events.step(Step.PREFLIGHT, "failed", str(exc) if isinstance(exc, KeytuiError) else "interrupted")
                raise
            journal = Journal(
                user=user, old_key_id=old_key_id, profile=profile, delete_old=delete_old,
                keys_before=[k.key_id or "" for k in keys], started_at=self._clock.now().isoformat(),
                done=[Step.PREFLIGHT.value], store_as=store_as,
            )
            self._journals.save(journal)
            events.step(Step.PREFLIGHT, "done", f"{len(keys)} key(s); replacing {mask_key_id(old_key_id)}")
            return self._continue(journal, events, None, keys)

    def ensure_none_open(self, user: str) -> None:
        """Raise (RotationOpen, saying what exists) if an earlier rotation of `user` did not finish: it must be
        resumed or rolled back before another one starts."""
        existing = self.open_journal(user)
        if existing is not None:
            raise RotationError(
                f"An earlier rotation of {user} did not finish: nothing new was started.",
                code="RotationOpen",
                state=f"{self._describe_live(existing)} {_advice(existing)}",
            )

    def open_journal(self, user: str) -> Journal | None:
        """The journal of `user`'s unfinished rotation, as it is on disk (None: none is open)."""
        journal = self._journals.load(user)
        return journal if journal is not None and journal.status in {"running", "failed"} else None

    def describe_open(self, user: str) -> str | None:
        """The unfinished rotation of `user`, if any, described from its journal and what AWS has now."""
        journal = self.open_journal(user)
        return None if journal is None else self._describe_live(journal)

    def resume(self, user: str, events: RotationEvents) -> RotationResult:
        with self._journals.lock(user):
            journal = self._open(user)
            keys, keyring = self._world(journal)
            self._reconcile(journal, keys, keyring)
            journal.status, journal.error = "running", None
            self._journals.save(journal)
            return self._continue(journal, events, keyring.holds(journal.new_key_id), keys)

    def rollback(self, user: str, events: RotationEvents) -> RotationResult:
        """Undo an unfinished rotation: delete the new key — only if nothing was switched to it yet."""
        with self._journals.lock(user):
            journal = self._open(user)
            keys, keyring = self._world(journal)
            self._reconcile(journal, keys, keyring)
            self._journals.save(journal)
            if not journal.can_roll_back:
                what = f"profile '{journal.profile}' already uses the new key" if journal.profile else \
                    f"keytui profile '{journal.store_as}' holds the new key" if journal.store_as else \
                    "you confirmed the new key is deployed"
                raise RotationError(
                    f"The rotation of {user} cannot be rolled back: {what}.", code="CannotRollBack",
                    state=f"{journal.describe(keys)} Resume it instead ({_commands(journal)[0]}).",
                )
            ids = {k.key_id for k in keys}
            old_status = next((k.status for k in keys if k.key_id == journal.old_key_id), None)
            if old_status != "Active" and journal.new_key_id in ids:
                # Someone deactivated or deleted the old key meanwhile: the new key is the one that works.
                raise RotationError(
                    f"The rotation of {user} cannot be rolled back: the old key {mask_key_id(journal.old_key_id)} is "
                    f"{'inactive' if old_status else 'deleted'} in AWS, so deleting the new key would leave no working "
                    "key.", code="CannotRollBack",
                    state=f"{journal.describe(keys)} Resume it instead ({_commands(journal)[0]}).",
                )
            ours = [journal.new_key_id] if journal.new_key_id in ids else []
            if not journal.new_key_id and journal._was_running(Step.CREATE):
                # Created by a run interrupted before it could record the key: nobody has its secret.
                ours += [k for k in ids if k and k not in journal.keys_before]
            try:
                for key_id in ours:
                    events.step(Step.DELETE, "running", f"deleting new key {mask_key_id(key_id)}")
                    self._delete_key(user, key_id)  # type: ignore[arg-type]
                if journal.profile and self._store is not None:
                    self._store.drop_pending(journal.profile)
                if journal.store_as and self._profiles is not None and journal.new_key_id:
                    self._profiles.discard(journal.store_as, journal.new_key_id)
            except KeytuiError as exc:
                raise RotationError(
                    f"The roll-back of {user} stopped: {exc}", code=exc.code or "RollBackFailed",
                    state=f"{self._describe_live(journal)} Run the roll-back again ({_commands(journal)[1]}) once "
                    "the cause is fixed.",
                ) from exc
            self._journals.close(journal, "rolled back")
            events.step(Step.DONE, "done", f"rolled back; old key {mask_key_id(journal.old_key_id)} is the key")
            return RotationResult(user, journal.old_key_id, None, tuple(journal.done), "rolled back")

    def _open(self, user: str) -> Journal:
        journal = self._journals.load(user)
        if journal is None or journal.status not in {"running", "failed"}:
            raise RotationError(f"There is no unfinished rotation of {user}.", code="NoJournal")
        return journal

    # -- the world, and a journal that an interruption left behind ---------------------------------------

    def _keyring(self, journal: Journal) -> _Keyring:
        if journal.store_as and self._profiles is not None:
            # Held, never switched to: the keytui profile is another user's, not the one keytui acts as.
            return _Keyring(pending=self._profiles.get(journal.store_as))
        if not journal.profile or self._store is None:
            return _Keyring()
        return _Keyring(self._store.current(journal.profile), self._store.get_pending(journal.profile))

    def _world(self, journal: Journal) -> tuple[tuple[AccessKey, ...], _Keyring]:
        return self._list(journal.user), self._keyring(journal)

    def _describe_live(self, journal: Journal) -> str:
        try:
            keys, keyring = self._world(journal)
        except KeytuiError:
            return journal.describe()
        copy = replace(journal, done=list(journal.done))
        self._reconcile(copy, keys, keyring)
        return copy.describe(keys)

    def _reconcile(self, journal: Journal, keys: Sequence[AccessKey], keyring: _Keyring) -> None:
        """Settle the step a crash interrupted, from what AWS and the keyring say now."""
        running = journal.running
        status = {k.key_id: k.status for k in keys}
        new_id = journal.new_key_id
        switched = bool(new_id) and keyring.current is not None and keyring.current.access_key_id == new_id
        # Steps whose effect can be read back now: did it happen?
        known = {
            Step.VERIFY.value: False,  # a read: nothing to settle, verification runs again
            Step.DEACTIVATE.value: status.get(journal.old_key_id, "gone") != "Active",
            Step.DELETE.value: journal.old_key_id not in status,
        }
        if journal.profile and self._store is not None:
            known[Step.STORE.value] = keyring.pending is not None and keyring.pending.access_key_id == new_id
            known[Step.SWITCH.value] = switched
        elif journal.store_as and self._profiles is not None:
            known[Step.STORE.value] = keyring.pending is not None and keyring.pending.access_key_id == new_id
            if running == Step.SWITCH.value:
                journal.running = None  # nothing outside keytui changes at this switch: it is simply done again
        elif running == Step.SWITCH.value:
            journal.running = None  # another user's key: the deployment was never confirmed
        if running in known:
            if known[running] and running not in journal.done:
                journal.done.append(running)
            journal.running = None
        # A keyring that holds the new key as the profile's key has switched, whatever the journal says.
        if switched:
            for step in (Step.CREATE, Step.STORE, Step.VERIFY, Step.SWITCH):
                if not journal.has(step):
                    journal.done.append(step.value)
        if journal.has(Step.SWITCH) and journal.old_key_id not in status:
            for step in (Step.DEACTIVATE, Step.DELETE):
                if not journal.has(step):
                    journal.done.append(step.value)
        journal.done = [step.value for step in ORDER if step.value in journal.done]

    # -- steps --------------------------------------------------------------------------------------------

    def _begin(self, journal: Journal, step: Step, events: RotationEvents, detail: str = "") -> None:
        events.step(step, "running", detail)
        journal.running = step.value
        self._journals.save(journal)

    def _mark(self, journal: Journal, step: Step, events: RotationEvents, detail: str = "") -> None:
        if not journal.has(step):
            journal.done.append(step.value)
        journal.running = None
        self._journals.save(journal)
        events.step(step, "done", detail)

    def _continue(self, journal: Journal, events: RotationEvents, new_key: LongTermKey | None,
                  keys: Sequence[AccessKey]) -> RotationResult:
        user = journal.user
        step = Step.CREATE
        try:
            if journal.has(Step.SWITCH) and journal.profile:
                self._iam = None  # resuming after the switch: sign with the new key (F-03)
            if not journal.has(Step.CREATE):
                self._clear_unrecorded(journal, keys, events)
                new_key = self._create(journal, events)
            elif new_key is None and not journal.has(Step.VERIFY):
                new_key = self._replace_unheld(journal, keys, events)
            step = Step.STORE
            if not journal.has(Step.STORE):
                self._store_new(journal, new_key, events)  # type: ignore[arg-type]
            step = Step.VERIFY
            if not journal.has(Step.VERIFY):
                self._verify(journal, new_key, events)  # type: ignore[arg-type]
            step = Step.SWITCH
            if not journal.has(Step.SWITCH):
                self._switch(journal, new_key, events)
            step = Step.DEACTIVATE
            if not journal.has(Step.DEACTIVATE):
                self._begin(journal, Step.DEACTIVATE, events)
                gone = self._retry_bad_key(journal, events, Step.DEACTIVATE,
                                           lambda iam: iam.set_key_status(user, journal.old_key_id, "Inactive"))
                self._mark(journal, Step.DEACTIVATE, events,
                           f"{mask_key_id(journal.old_key_id)} {'was already deleted' if gone else 'is inactive'}")
            step = Step.DELETE
            if journal.delete_old and not journal.has(Step.DELETE):
                self._begin(journal, Step.DELETE, events)
                gone = self._retry_bad_key(
                    journal, events, Step.DELETE, lambda iam: iam.delete_access_key(user, journal.old_key_id))
                self._mark(journal, Step.DELETE, events,
                           f"{mask_key_id(journal.old_key_id)} {'was already deleted' if gone else 'deleted'}")
        except (KeytuiError, KeyboardInterrupt) as exc:
            self._failed(journal, step, exc, events)
        if journal.has(Step.DEACTIVATE) and not journal.has(Step.DELETE):
            # IAM keeps no date of deactivation: this is the evidence for the grace period (core/cleanup.py).
            self._journals.record_deactivated(user, journal.old_key_id, self._clock.now())
        # Done is done: the journal is closed before anyone is told (a Ctrl-C now leaves nothing to resume).
        self._journals.close(journal, "done")
        events.step(Step.DONE, "done", journal.describe())
        return RotationResult(user, journal.old_key_id, journal.new_key_id, tuple(journal.done), "done")

    def _failed(self, journal: Journal, step: Step, exc: KeytuiError | KeyboardInterrupt,
                events: RotationEvents) -> None:
        """Record the failure in the journal and tell the user; always raises."""
        reason = str(exc) if isinstance(exc, KeytuiError) else "interrupted"
        if journal.status == "rolled back":
            # The step undid itself (its new key deleted, the journal closed): nothing is left to resume.
            events.step(step, "failed", reason)
            raise exc
        journal.status, journal.error = "failed", reason
        if isinstance(exc, AwsError) and exc.code != "NetworkError":
            journal.running = None  # AWS answered with an error: the step's call did not happen
        self._journals.save(journal)
        events.step(step, "failed", reason)
        if isinstance(exc, (KeyboardInterrupt, RotationError)):
            raise exc
        raise RotationError(
            f"The rotation of {journal.user} stopped at '{step.value}': {exc}", code=exc.code or "RotationFailed",
            state=f"{journal.describe()} {_advice(journal)}",
        ) from exc

    def _close_unchanged(self, journal: Journal) -> None:
        self._journals.close(journal, "rolled back")

    def _delete_key(self, user: str, key_id: str) -> bool:
        """Delete a key; False if it was already gone."""
        try:
            self._call(lambda iam: iam.delete_access_key(user, key_id))
        except AwsError as exc:
            if exc.code == "NoSuchEntity":
                return False
            raise
        return True

    def _clear_unrecorded(self, journal: Journal, keys: Sequence[AccessKey], events: RotationEvents) -> None:
        """Resuming a run interrupted while AWS created its key: that key's secret never reached keytui."""
        if not journal._was_running(Step.CREATE):
            return
        for key in keys:
            if key.key_id and key.key_id not in journal.keys_before:
                events.step(Step.CREATE, "running",
                            f"deleting {key.masked_id}, created by the interrupted run (its secret was never stored)")
                self._delete_key(journal.user, key.key_id)

    def _create(self, journal: Journal, events: RotationEvents) -> LongTermKey:
        self._begin(journal, Step.CREATE, events)
        try:
            new_key: LongTermKey = self._call(  # type: ignore[assignment]
                lambda iam: iam.create_access_key(journal.user))
        except AwsError as exc:
            self._create_failed(journal, exc)
            raise
        journal.new_key_id = new_key.access_key_id
        self._mark(journal, Step.CREATE, events, f"new key {mask_key_id(new_key.access_key_id)}")
        return new_key

    def _create_failed(self, journal: Journal, exc: AwsError) -> None:
        """CreateAccessKey failed. If no key appeared meanwhile, nothing changed: say so, and leave no journal
        that would block the next run. If one did, its answer may have been lost on the way: keep the journal
        (a roll-back deletes the key) and name the key."""
        try:
            keys = self._list(journal.user)
        except KeytuiError:
            # Cannot tell: the journal stays, saying that a key may exist (a roll-back finds it).
            raise RotationError(
                f"The rotation of {journal.user} stopped at 'create': {exc}", code=exc.code,
                state=f"{journal.describe()} {_advice(journal)}",
            ) from exc
        appeared = [k for k in keys if k.key_id not in journal.keys_before]
        # botocore retries a create whose answer was lost (a timeout), so any error can follow a create that
        # did happen. LimitExceeded is the exception: AWS says the user has two keys, shown below either way.
        if appeared and exc.code != "LimitExceeded":
            journal.status, journal.error, journal.running = "failed", str(exc), Step.CREATE.value
            self._journals.save(journal)
            raise RotationError(
                f"Could not tell whether AWS created the new key: {exc}", code=exc.code,
                state=f"{journal.describe(keys)} {_advice(journal)}",
            ) from exc
        self._close_unchanged(journal)
        if exc.code == "LimitExceeded" and len(keys) >= 2:
            # Someone created a key since the preflight (F-01): the same message as when it stops there.
            raise TwoKeysError(journal.user, tuple(self._with_last_use(k) for k in keys), self._clock.now()) from exc
        raise RotationError(f"{exc} Nothing was changed.", code=exc.code) from exc

    def _replace_unheld(self, journal: Journal, keys: Sequence[AccessKey], events: RotationEvents) -> LongTermKey:
        """Resuming with a new key whose secret keytui does not have."""
        new = mask_key_id(journal.new_key_id)
        if journal.has(Step.STORE):
            where = (f"the keyring no longer holds it for profile '{journal.profile}'" if journal.profile else
                     f"the keyring no longer holds it for keytui profile '{journal.store_as}'" if journal.can_resume
                     else "keytui does not keep another user's secret, so it cannot verify the key you stored")
            raise RotationError(
                f"This rotation cannot be resumed: the new key {new} must be verified and {where}.",
                code="CannotResume",
                state=f"{journal.describe(keys)} Roll it back ({_commands(journal)[1]}), which deletes {new}, "
                "then rotate again.",
            )
        # Nobody confirmed holding the secret (keytui never stored it): the key is useless to anyone.
        events.step(Step.CREATE, "running", f"the earlier new key {new} was never stored: deleting it")
        self._delete_key(journal.user, journal.new_key_id)  # type: ignore[arg-type]
        journal.new_key_id = None
        journal.done.remove(Step.CREATE.value)
        self._journals.save(journal)
        return self._create(journal, events)

    def _abandon(self, journal: Journal, reason: str, code: str | None) -> None:
        """The new key cannot be kept (its secret has nowhere to go): delete it rather than leave a key
        nobody holds. The old key was never touched. Always raises."""
        new = mask_key_id(journal.new_key_id)
        old = mask_key_id(journal.old_key_id)
        try:
            self._delete_key(journal.user, journal.new_key_id)  # type: ignore[arg-type]
        except KeytuiError as exc:
            journal.running = None
            raise RotationError(
                f"{reason} Deleting the new key {new} failed too ({exc}): it exists in AWS and nobody holds its "
                "secret.", code=code, state=f"{journal.describe()} Roll back ({_commands(journal)[1]}) to delete it.",
            ) from exc
        if journal.profile and self._store is not None:
            try:
                self._store.drop_pending(journal.profile)
            except KeytuiError:
                pass  # the key it names no longer exists; the next rotation overwrites it
        if journal.store_as and self._profiles is not None and journal.new_key_id:
            try:
                self._profiles.discard(journal.store_as, journal.new_key_id)
            except KeytuiError:
                pass  # the profile store undoes a failed write itself; this only sweeps after a crash
        self._close_unchanged(journal)
        held = f" and still the key of profile '{journal.profile}'" if journal.profile else ""
        raise RotationError(
            f"{reason} keytui deleted the new key {new}; the old key {old} is untouched{held}. Nothing else changed.",
            code=code,
        )

    def _store_new(self, journal: Journal, new_key: LongTermKey, events: RotationEvents) -> None:
        self._begin(journal, Step.STORE, events)
        if journal.profile and self._store is not None:
            try:
                self._store.put_pending(journal.profile, new_key)
            except KeytuiError as exc:
                self._abandon(journal, f"The new key could not be stored. {exc}", exc.code)
            self._mark(journal, Step.STORE, events, f"pending in the keyring for profile '{journal.profile}'")
            return
        if journal.store_as is None:
            try:
                answer = events.confirm_stored(new_key)
            except KeytuiError as exc:  # e.g. no terminal to show it on
                self._abandon(journal, f"The new key could not be shown: {exc}", exc.code)
            if not isinstance(answer, StoreAs):
                if not answer:
                    self._abandon(journal, "Cancelled: the new key was not stored.", "Cancelled")
                self._mark(journal, Step.STORE, events, "you stored it")
                return
            journal.store_as = answer.profile
            self._journals.save(journal)  # named before the write (a crash during it leaves a known profile)
        self._store_as(journal, new_key, events)

    def _store_as(self, journal: Journal, new_key: LongTermKey, events: RotationEvents) -> None:
        """Another user's new key kept by keytui: a new keytui profile (keyring entry read back, then the
        credential_process line), before anyone would have seen the secret. Failing, the new key is deleted."""
        name = journal.store_as
        if self._profiles is None:
            self._abandon(journal, f"The new key could not be stored as keytui profile '{name}': no keyring.",
                          "NoKeyring")
        try:
            self._profiles.create(name, new_key, journal.user)  # type: ignore[union-attr, arg-type]
        except KeytuiError as exc:
            self._abandon(journal, f"The new key could not be stored as keytui profile '{name}'. {exc}", exc.code)
        self._mark(journal, Step.STORE, events, f"kept by keytui as profile '{name}' (keyring)")

    def _verify(self, journal: Journal, new_key: LongTermKey, events: RotationEvents) -> None:
        """Poll sts get-caller-identity signed with the new key until AWS accepts it (F-02)."""
        self._begin(journal, Step.VERIFY, events)
        deadline = self._clock.now().timestamp() + self.verify_timeout
        while True:
            try:
                identity = self._verify_key(new_key)
            except AwsError as exc:
                if exc.code not in BAD_KEY and exc.code not in THROTTLED and exc.code != "NetworkError":
                    raise
                if self._clock.now().timestamp() >= deadline:
                    journal.running = None
                    raise RotationError(
                        f"AWS did not accept the new key within {self.verify_timeout:.0f} s ({exc.code}).",
                        code="VerifyTimeout",
                        state=f"{journal.describe()} The old key still works. Retry verification "
                        f"({_commands(journal)[0]}) or delete the new key ({_commands(journal)[1]}).",
                    ) from exc
                events.step(Step.VERIFY, "waiting", f"new keys take a few seconds to work ({exc.code})")
                self._clock.sleep(self.poll_interval)
                continue
            if not identity.arn.endswith(f"/{journal.user}"):
                journal.running = None
                raise RotationError(
                    f"The new key signs as {identity.arn}, not as {journal.user}.", code="WrongIdentity",
                    state=f"{journal.describe()} {_advice(journal)}",
                )
            self._mark(journal, Step.VERIFY, events, "AWS accepts the new key")
            return

    def _switch(self, journal: Journal, new_key: LongTermKey | None, events: RotationEvents) -> None:
        new_id = journal.new_key_id or ""
        shown = new_key or LongTermKey(new_id, Secret(""))
        self._begin(journal, Step.SWITCH, events)
        if journal.profile and self._store is not None:
            current = self._store.current(journal.profile)
            if current is None or current.access_key_id != new_id:
                self._store.promote_pending(journal.profile)
            self._mark(journal, Step.SWITCH, events, f"profile '{journal.profile}' uses {mask_key_id(new_id)}")
            # Every later call is signed with the new key; clients built from the old one go (F-03).
            self._iam = self._fresh_iam()
            events.switched(shown)
            return
        if journal.store_as:
            # keytui holds the new key (and verified it): there is no deployment to wait for.
            self._mark(journal, Step.SWITCH, events, f"keytui profile '{journal.store_as}' holds {mask_key_id(new_id)}")
            return
        if not events.confirm_deployed(shown):
            journal.running = None
            raise RotationError(
                "Stopped before deactivating the old key: the new key is not deployed yet.",
                code="NotDeployed", state=f"{journal.describe()} When it is, {_advice(journal)[0].lower()}"
                f"{_advice(journal)[1:]}",
            )
        self._mark(journal, Step.SWITCH, events, f"{mask_key_id(new_id)} deployed")

    def _retry_bad_key(self, journal: Journal, events: RotationEvents, step: Step,
                       fn: Callable[[IamService], object]) -> bool:
        """Right after a switch, calls can fail with InvalidClientTokenId while AWS catches up: that means
        "credentials changed, reloading", not "invalid key" (F-03). True if the old key was already gone."""
        deadline = self._clock.now().timestamp() + self.delete_retry_timeout
        while True:
            try:
                self._call(fn)
                return False
            except AwsError as exc:
                if exc.code == "NoSuchEntity":
                    return True
                if exc.code not in BAD_KEY:
                    raise
                if self._clock.now().timestamp() >= deadline:
                    journal.running = None
                    raise RotationError(
                        f"AWS kept refusing the call to {step.value} ({exc.code}) for "
                        f"{self.delete_retry_timeout:.0f} s after the switch; a key this new can take a while to "
                        "work everywhere.", code=exc.code,
                        state=f"{journal.describe()} {_advice(journal)}",
                    ) from exc
                events.step(step, "waiting", "credentials changed, reloading")
                self._clock.sleep(self.poll_interval)
                self._iam = self._fresh_iam()
