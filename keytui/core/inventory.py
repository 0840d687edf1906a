"""The account's inventory: every user, key, last use and MFA state, loaded fast and honestly.

Fast path: the credential report (ages, last use, console and MFA for everyone in one download) and the
user list, fetched side by side; then ListAccessKeys per user, with bounded concurrency, for the key ids
the report lacks. Where the report is denied or missing something, per-user calls fill in. A per-user
failure stays on that user as "unknown (reason)"; it never becomes "0 keys".
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from datetime import datetime

from keytui.core.clock import Clock
from keytui.core.credential_report import ROOT_USER, ReportKey, ReportRow
from keytui.core.errors import AwsError, KeytuiError
from keytui.core.iam import IamService
from keytui.core.models import AccessKey, IamUser, Inventory, KeyLastUsed, NEVER_USED, RootAccount


@dataclass(frozen=True)
class InventoryProgress:
    done: int
    total: int
    inventory: Inventory

    @property
    def text(self) -> str:
        if self.inventory.complete:
            return f"loaded {self.total:,} users"
        return f"loaded {self.done:,}/{self.total:,} users"


ProgressCallback = Callable[[InventoryProgress], None]


def _reason(exc: KeytuiError) -> str:
    return exc.short if isinstance(exc, AwsError) else f"unknown ({exc.code or 'error'})"


def _last_used_from_report(slot: ReportKey) -> KeyLastUsed | None:
    if not slot.last_use_complete:
        return None
    if slot.never_used:
        return NEVER_USED
    return KeyLastUsed(date=slot.last_used, service=slot.last_used_service, region=slot.last_used_region)


def _keys_from_report(row: ReportRow) -> tuple[AccessKey, ...]:
    return tuple(
        AccessKey(
            user_name=row.user,
            status="Active" if slot.active else "Inactive",
            created=slot.created,
            last_used=_last_used_from_report(slot),
        )
        for slot in sorted(row.keys, key=lambda s: s.created)
    )


def _matching_slot(key: AccessKey, row: ReportRow | None) -> ReportKey | None:
    """The report slot describing `key`. The report has no key ids, so a slot matches by creation time
    (to the second) and status; an ambiguous or missing match is left to a per-key call."""
    if row is None:
        return None
    candidates = [
        slot
        for slot in row.keys
        if abs((slot.created - key.created).total_seconds()) < 1 and slot.active == key.active
    ]
    return candidates[0] if len(candidates) == 1 else None


class InventoryService:
    def __init__(self, iam: IamService, clock: Clock, concurrency: int = 16, progress_interval: float = 0.1) -> None:
        self._iam = iam
        self._clock = clock
        self._concurrency = max(1, concurrency)
        self._progress_interval = progress_interval

    def load(
        self,
        on_progress: ProgressCallback | None = None,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> Inventory:
        with ThreadPoolExecutor(max_workers=self._concurrency, thread_name_prefix="keytui-iam") as pool:
            report_future = pool.submit(self._iam.credential_report)
            raw_users = list(self._iam.iter_users())  # failure here is the whole inventory's failure
            report, generated, report_error = self._report_result(report_future)

            users = {raw["UserName"]: self._user_from_list(raw, report.get(raw["UserName"])) for raw in raw_users}
            root = self._root(report.get(ROOT_USER))
            source = "credential-report" if report else "per-user"

            def snapshot(complete: bool = False) -> Inventory:
                return Inventory(
                    users=tuple(users.values()),
                    loaded_at=self._clock.now(),
                    source=source,
                    report_generated=generated,
                    report_error=report_error,
                    root=root,
                    complete=complete,
                )

            total = len(users)
            if on_progress:
                on_progress(InventoryProgress(0, total, snapshot()))
            self._complete_users(pool, users, report, total, snapshot, on_progress, cancelled)

        inventory = snapshot(complete=not cancelled())
        if on_progress:
            on_progress(InventoryProgress(total, total, inventory))
        return inventory

    def _report_result(
        self, future: Future[tuple[dict[str, ReportRow], datetime | None]]
    ) -> tuple[dict[str, ReportRow], datetime | None, str | None]:
        try:
            report, generated = future.result()
        except KeytuiError as exc:
            return {}, None, str(exc)
        return report, generated, None

    def _complete_users(
        self,
        pool: ThreadPoolExecutor,
        users: dict[str, IamUser],
        report: dict[str, ReportRow],
        total: int,
        snapshot: Callable[[], Inventory],
        on_progress: ProgressCallback | None,
        cancelled: Callable[[], bool],
    ) -> None:
        pending: set[Future[IamUser]] = set()
        names = iter(list(users))
        done = 0
        last_report = time.monotonic()

        def submit_next() -> None:
            name = next(names, None)
            if name is not None and not cancelled():
                pending.add(pool.submit(self._complete_user, users[name], report.get(name)))

        # Keep at most `concurrency` users in flight so that cancelling stops promptly.
        for _ in range(self._concurrency):
            submit_next()
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                pending.discard(future)
                user = future.result()
                users[user.name] = user
                done += 1
                submit_next()
            now = time.monotonic()
            if on_progress and now - last_report >= self._progress_interval:
                last_report = now
                on_progress(InventoryProgress(done, total, snapshot()))

    @staticmethod
    def _user_from_list(raw: dict, row: ReportRow | None) -> IamUser:
        return IamUser(
            name=raw["UserName"],
            arn=raw["Arn"],
            created=raw.get("CreateDate"),
            path=raw.get("Path", "/"),
            user_id=raw.get("UserId"),
            keys=_keys_from_report(row) if row else None,
            mfa_active=row.mfa_active if row else None,
            console=row.password_enabled if row else None,
            password_last_used=row.password_last_used if row else None,
        )

    @staticmethod
    def _root(row: ReportRow | None) -> RootAccount | None:
        if row is None:
            return None
        actives = [slot.active for slot in row.keys] + [False, False]
        return RootAccount(
            arn=row.arn,
            mfa_active=row.mfa_active,
            access_keys_active=(actives[0], actives[1]),
            password_last_used=row.password_last_used,
            keys_last_used=max((s.last_used for s in row.keys if s.last_used), default=None),
        )

    def _complete_user(self, user: IamUser, row: ReportRow | None) -> IamUser:
        """Everything the report did not say about one user. Never raises: failures become reasons."""
        try:
            listed = self._iam.list_access_keys(user.name)
        except KeytuiError as exc:
            return user.with_(keys=None, keys_error=_reason(exc), keys_complete=False)
        keys = tuple(self._with_last_use(key, _matching_slot(key, row)) for key in listed)
        changes: dict[str, object] = {"keys": keys, "keys_error": None, "keys_complete": True}
        if row is None:  # no report (denied) or a user newer than the report
            changes.update(self._mfa_and_console(user.name))
        return user.with_(**changes)

    def _with_last_use(self, key: AccessKey, slot: ReportKey | None) -> AccessKey:
        from_report = _last_used_from_report(slot) if slot else None
        if from_report is not None:
            return replace(key, last_used=from_report)
        assert key.key_id is not None
        try:
            last_used = self._iam.key_last_used(key.key_id)
        except KeytuiError as exc:
            return replace(key, last_used_error=_reason(exc))
        return replace(key, last_used=last_used)

    def _mfa_and_console(self, name: str) -> dict[str, object]:
        changes: dict[str, object] = {}
        try:
            devices = self._iam.list_mfa_devices(name)
            changes.update(mfa_devices=devices, mfa_active=bool(devices))
        except KeytuiError:
            changes.update(mfa_devices=None, mfa_active=None)
        try:
            changes["console"] = self._iam.has_console_password(name)
        except KeytuiError:
            changes["console"] = None
        return changes
