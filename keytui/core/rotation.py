"""Access-key rotation that never locks anyone out: an explicit state machine, journaled step by step.

preflight → create → store → verify → switch → deactivate old → (delete old) → done

At every moment at least one working key is held by the keyring (managed profile) or shown to the user:
the new key is stored as *pending* beside the old one before anything else happens, verified with calls
signed by itself, and only then switched to; the old key is deactivated (reversible) only after the
switch. Each step is written to a journal (key ids and step names, never secrets) so that an interrupted
rotation can be resumed or rolled back, and a lock stops two rotations of one user at once.
"""

from __future__ import annotations

import enum
import fcntl
import json
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

from keytui.core.awsfiles import state_dir, write_atomic
from keytui.core.clock import Clock
from keytui.core.errors import AwsError, BAD_KEY, KeytuiError
from keytui.core.iam import IamService
from keytui.core.masking import mask_key_id
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
        super().__init__(f"{message} {state}".strip(), code=code)
        self.state = state


class TwoKeysError(RotationError):
    def __init__(self, user: str, keys: tuple[AccessKey, ...], now: datetime) -> None:
        from keytui.core.present import key_last_used_text

        evidence = "; ".join(
            f"{k.masked_id} {k.status}, {k.age_days(now)}d old, last used {key_last_used_text(k, now)}" for k in keys
        )
        super().__init__(
            f"{user} already has two access keys ({evidence}). AWS allows two, inactive ones included, so a "
            "rotation cannot create a new one. Delete the key that is no longer used first (the inactive one "
            "if there is one), then rotate. Nothing was changed.",
            code="TwoKeys",
        )
        self.keys = keys


class KeyStore(Protocol):
    """Where a managed profile's key lives (the vault). Core does not know the keyring."""

    def probe(self) -> None: ...
    def current(self, profile: str) -> LongTermKey | None: ...
    def put_pending(self, profile: str, key: LongTermKey) -> None: ...
    def get_pending(self, profile: str) -> LongTermKey | None: ...
    def promote_pending(self, profile: str) -> LongTermKey: ...
    def drop_pending(self, profile: str) -> None: ...


class RotationEvents(Protocol):
    def step(self, step: Step, state: str, detail: str = "") -> None:
        """`state`: running | waiting | done | skipped | failed."""

    def confirm_stored(self, new_key: LongTermKey) -> bool:
        """Another user's key: show the secret once; True when the user says it is stored safely."""

    def confirm_deployed(self, new_key: LongTermKey) -> bool:
        """Another user's key: True when the new key is deployed and the old one may be deactivated."""

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

    def has(self, step: Step) -> bool:
        return step.value in self.done

    def describe(self) -> str:
        """What exists, in the words F-04 asks for."""
        old = mask_key_id(self.old_key_id)
        if not self.new_key_id:
            return f"No new key was recorded; old key {old} is untouched."
        new = mask_key_id(self.new_key_id)
        parts = [f"new key {new} created"]
        if self.has(Step.STORE):
            parts.append("stored" + (f" (pending) for profile '{self.profile}'" if self.profile else " by you"))
        if self.has(Step.VERIFY):
            parts.append("verified")
        if self.has(Step.SWITCH):
            parts.append(f"in use by profile '{self.profile}'" if self.profile else "deployed")
        old_state = "deleted" if self.has(Step.DELETE) else ("inactive" if self.has(Step.DEACTIVATE) else "still active")
        return f"{', '.join(parts)}; old key {old} {old_state}."


def _safe(user: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.@+=,-]", "_", user)


class JournalStore:
    """One JSON file per user being rotated (0600), plus a lock file held while a rotation runs."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or state_dir() / "rotations"

    def _path(self, user: str) -> Path:
        return self.folder / f"{_safe(user)}.json"

    def load(self, user: str) -> Journal | None:
        try:
            data = json.loads(self._path(user).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise KeytuiError(f"The rotation journal {self._path(user)} is unreadable ({exc}).", code="Journal") from exc
        return Journal(**data)

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


def _explicit_deny(exc: AwsError) -> bool:
    return exc.code in {"AccessDenied", "AccessDeniedException"} and "explicit deny" in exc.message.lower()


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
        verify_timeout: float = 60.0,
        poll_interval: float = 1.5,
        delete_retry_timeout: float = 30.0,
    ) -> None:
        self._iam_factory = iam_factory
        self._iam = iam_factory()
        self._verify_key = verify_key
        self._store = store
        self._journals = journals
        self._clock = clock
        self._mfa_iam = mfa_iam
        self._mfa_used = False
        self.verify_timeout = verify_timeout
        self.poll_interval = poll_interval
        self.delete_retry_timeout = delete_retry_timeout

    # -- calls, with one MFA upgrade per rotation (F-08) ---------------------------------------------

    def _call(self, fn: Callable[[IamService], object]) -> object:
        try:
            return fn(self._iam)
        except AwsError as exc:
            if _explicit_deny(exc) and self._mfa_iam is not None and not self._mfa_used:
                # Policies commonly deny IAM writes without MFA: get one MFA session, keep it for the rest.
                self._mfa_used = True
                self._iam = self._mfa_iam()
                return fn(self._iam)
            raise

    # -- preflight ---------------------------------------------------------------------------------------

    def preflight_keys(self, user: str) -> tuple[AccessKey, ...]:
        return self._call(lambda iam: iam.list_access_keys(user))  # type: ignore[return-value]

    def preflight(self, user: str, old_key_id: str, profile: str | None) -> tuple[AccessKey, ...]:
        keys: tuple[AccessKey, ...] = self._call(lambda iam: iam.list_access_keys(user))  # type: ignore[assignment]
        if old_key_id not in {k.key_id for k in keys}:
            raise RotationError(
                f"Key {mask_key_id(old_key_id)} does not belong to {user} (their keys: "
                f"{', '.join(k.masked_id for k in keys) or 'none'}). Nothing was changed.",
                code="KeyNotFound",
            )
        if len(keys) >= 2:
            detailed = tuple(self._with_last_use(k) for k in keys)
            raise TwoKeysError(user, detailed, self._clock.now())
        if profile is not None:
            if self._store is None:
                raise RotationError("No keyring to store the new key in.", code="NoKeyring")
            self._store.probe()  # prove the keyring takes a write before a secret exists
        return keys

    def _with_last_use(self, key: AccessKey) -> AccessKey:
        from dataclasses import replace

        try:
            return replace(key, last_used=self._iam.key_last_used(key.key_id or ""))
        except KeytuiError as exc:
            return replace(key, last_used_error=f"unknown ({exc.code})")

    # -- the run ------------------------------------------------------------------------------------------

    def rotate(self, user: str, old_key_id: str, profile: str | None, events: RotationEvents,
               *, delete_old: bool = False) -> RotationResult:
        with self._journals.lock(user):
            existing = self._journals.load(user)
            if existing is not None and existing.status in {"running", "failed"}:
                raise RotationError(
                    f"An earlier rotation of {user} did not finish.",
                    code="RotationOpen",
                    state=f"{existing.describe()} Resume it (`keytui rotate {user} --resume`) or roll it back "
                    f"(`--rollback`).",
                )
            events.step(Step.PREFLIGHT, "running")
            keys = self.preflight(user, old_key_id, profile)
            events.step(Step.PREFLIGHT, "done", f"{len(keys)} key(s); replacing {mask_key_id(old_key_id)}")
            journal = Journal(
                user=user, old_key_id=old_key_id, profile=profile, delete_old=delete_old,
                keys_before=[k.key_id or "" for k in keys], started_at=self._clock.now().isoformat(),
                done=[Step.PREFLIGHT.value],
            )
            self._journals.save(journal)
            return self._continue(journal, events, new_key=None)

    def resume(self, user: str, events: RotationEvents) -> RotationResult:
        with self._journals.lock(user):
            journal = self._open(user)
            new_key = None
            if journal.new_key_id and journal.profile and self._store is not None:
                pending = self._store.get_pending(journal.profile)
                current = self._store.current(journal.profile)
                new_key = pending if pending and pending.access_key_id == journal.new_key_id else (
                    current if current and current.access_key_id == journal.new_key_id else None)
            if journal.new_key_id and not journal.has(Step.SWITCH) and new_key is None:
                raise RotationError(
                    "This rotation cannot be resumed: the new key's secret is not in the keyring.",
                    code="CannotResume",
                    state=f"{journal.describe()} Roll it back (`keytui rotate {user} --rollback`).",
                )
            journal.status, journal.error = "running", None
            return self._continue(journal, events, new_key=new_key)

    def rollback(self, user: str, events: RotationEvents) -> RotationResult:
        """Undo an unfinished rotation: delete the new key — only if nothing was switched to it yet."""
        with self._journals.lock(user):
            journal = self._open(user)
            if journal.has(Step.SWITCH):
                raise RotationError(
                    f"The rotation of {user} cannot be rolled back: profile '{journal.profile}' already uses the "
                    "new key.", code="CannotRollBack", state=f"{journal.describe()} Resume it instead.",
                )
            new_ids = [journal.new_key_id] if journal.new_key_id else []
            # A crash between CreateAccessKey's answer and the journal write leaves a key the journal does not
            # know: any key that was not there before the rotation started is ours.
            now_keys: tuple[AccessKey, ...] = self._call(lambda iam: iam.list_access_keys(user))  # type: ignore[assignment]
            new_ids += [k.key_id for k in now_keys if k.key_id not in journal.keys_before and k.key_id not in new_ids]
            for key_id in new_ids:
                if key_id in {k.key_id for k in now_keys}:
                    events.step(Step.DELETE, "running", f"deleting new key {mask_key_id(key_id)}")
                    self._call(lambda iam, k=key_id: iam.delete_access_key(user, k))  # type: ignore[misc]
            if journal.profile and self._store is not None:
                self._store.drop_pending(journal.profile)
            self._call(lambda iam: iam.set_key_status(user, journal.old_key_id, "Active")) if journal.has(
                Step.DEACTIVATE) else None
            events.step(Step.DONE, "done", f"rolled back; old key {mask_key_id(journal.old_key_id)} is the key")
            self._journals.close(journal, "rolled back")
            return RotationResult(user, journal.old_key_id, None, tuple(journal.done), "rolled back")

    def _open(self, user: str) -> Journal:
        journal = self._journals.load(user)
        if journal is None or journal.status not in {"running", "failed"}:
            raise RotationError(f"There is no unfinished rotation of {user}.", code="NoJournal")
        return journal

    def _mark(self, journal: Journal, step: Step, events: RotationEvents, detail: str = "") -> None:
        journal.done.append(step.value)
        self._journals.save(journal)
        events.step(step, "done", detail)

    def _continue(self, journal: Journal, events: RotationEvents, new_key: LongTermKey | None) -> RotationResult:
        user = journal.user
        try:
            if not journal.has(Step.CREATE):
                events.step(Step.CREATE, "running")
                new_key = self._call(lambda iam: iam.create_access_key(user))  # type: ignore[assignment]
                assert new_key is not None
                journal.new_key_id = new_key.access_key_id
                self._mark(journal, Step.CREATE, events, f"new key {mask_key_id(new_key.access_key_id)}")
            assert new_key is not None or journal.has(Step.SWITCH)
            if not journal.has(Step.STORE):
                events.step(Step.STORE, "running")
                self._store_new(journal, new_key, events)  # type: ignore[arg-type]
                self._mark(journal, Step.STORE, events)
            if not journal.has(Step.VERIFY):
                self._verify(journal, new_key, events)  # type: ignore[arg-type]
                self._mark(journal, Step.VERIFY, events, "AWS accepts the new key")
            if not journal.has(Step.SWITCH):
                events.step(Step.SWITCH, "running")
                if journal.profile and self._store is not None:
                    self._store.promote_pending(journal.profile)
                    events.switched(new_key)  # type: ignore[arg-type]
                    # Later calls may have been signed with the old key (F-03): rebuild from the new one.
                    self._iam = self._mfa_iam() if self._mfa_used and self._mfa_iam else self._iam_factory()
                elif not events.confirm_deployed(new_key):  # type: ignore[arg-type]
                    raise RotationError(
                        "Stopped before deactivating the old key: the new key is not deployed yet.",
                        code="NotDeployed", state=journal.describe(),
                    )
                self._mark(journal, Step.SWITCH, events)
            if not journal.has(Step.DEACTIVATE):
                events.step(Step.DEACTIVATE, "running")
                self._retry_bad_key(lambda iam: iam.set_key_status(user, journal.old_key_id, "Inactive"), events,
                                    Step.DEACTIVATE)
                self._mark(journal, Step.DEACTIVATE, events, f"{mask_key_id(journal.old_key_id)} is inactive")
            if journal.delete_old and not journal.has(Step.DELETE):
                events.step(Step.DELETE, "running")
                self._retry_bad_key(lambda iam: iam.delete_access_key(user, journal.old_key_id), events, Step.DELETE)
                self._mark(journal, Step.DELETE, events, f"{mask_key_id(journal.old_key_id)} deleted")
        except (KeytuiError, KeyboardInterrupt) as exc:
            journal.status = "failed"
            journal.error = str(exc) if isinstance(exc, KeytuiError) else "interrupted"
            self._journals.save(journal)
            if isinstance(exc, KeyboardInterrupt):
                raise
            if isinstance(exc, RotationError):
                raise
            raise RotationError(f"The rotation of {user} stopped: {exc}", code=exc.code or "RotationFailed",
                                state=journal.describe()) from exc
        events.step(Step.DONE, "done", journal.describe())
        self._journals.close(journal, "done")
        return RotationResult(user, journal.old_key_id, journal.new_key_id, tuple(journal.done), "done")

    def _store_new(self, journal: Journal, new_key: LongTermKey, events: RotationEvents) -> None:
        if journal.profile and self._store is not None:
            try:
                self._store.put_pending(journal.profile, new_key)
            except KeytuiError:
                # The secret exists only in memory and cannot be kept: delete the key rather than leave a key
                # nobody holds. The old key was never touched.
                self._call(lambda iam: iam.delete_access_key(journal.user, new_key.access_key_id))
                journal.status = "rolled back"
                self._journals.close(journal, "rolled back")
                raise
            return
        try:
            stored = events.confirm_stored(new_key)
        except BaseException:
            stored = False
            failure = True
        else:
            failure = False
        if not stored:
            # Nobody holds the secret: a key nobody holds must not be left behind.
            self._call(lambda iam: iam.delete_access_key(journal.user, new_key.access_key_id))
            self._journals.close(journal, "rolled back")
            if failure:
                raise
            raise RotationError(
                "Cancelled: the new key was not stored, so keytui deleted it. Nothing else changed.",
                code="Cancelled",
            )

    def _verify(self, journal: Journal, new_key: LongTermKey, events: RotationEvents) -> None:
        """Poll sts get-caller-identity signed with the new key until AWS accepts it (F-02)."""
        events.step(Step.VERIFY, "running")
        deadline = self._clock.now().timestamp() + self.verify_timeout
        while True:
            try:
                identity = self._verify_key(new_key)
            except AwsError as exc:
                if exc.code not in BAD_KEY and exc.code != "NetworkError":
                    raise
                if self._clock.now().timestamp() >= deadline:
                    raise RotationError(
                        f"AWS did not accept the new key within {self.verify_timeout:.0f} s ({exc.code}).",
                        code="VerifyTimeout",
                        state=f"{journal.describe()} The old key still works. Retry verification "
                        f"(`keytui rotate {journal.user} --resume`) or delete the new key (`--rollback`).",
                    ) from exc
                events.step(Step.VERIFY, "waiting", f"new keys take a few seconds to work ({exc.code})")
                self._clock.sleep(self.poll_interval)
                continue
            if not identity.arn.endswith(f"/{journal.user}"):
                raise RotationError(
                    f"The new key signs as {identity.arn}, not as {journal.user}.", code="WrongIdentity",
                    state=journal.describe(),
                )
            return

    def _retry_bad_key(self, fn: Callable[[IamService], object], events: RotationEvents, step: Step) -> None:
        """Right after a switch, calls can fail with InvalidClientTokenId while AWS catches up: that means
        "credentials changed, reloading", not "invalid key" (F-03)."""
        deadline = self._clock.now().timestamp() + self.delete_retry_timeout
        while True:
            try:
                self._call(fn)
                return
            except AwsError as exc:
                if exc.code not in BAD_KEY or self._clock.now().timestamp() >= deadline:
                    raise
                events.step(step, "waiting", "credentials changed, reloading")
                self._clock.sleep(self.poll_interval)
                self._iam = self._iam_factory()
