"""Virtual MFA devices: enrollment, listing, removal, resync, and the local checks on one-time codes.

Every check that can be made without AWS is made before AWS is called, so a typo never burns a code or
leaves a half-enrolled device (F-05, F-07). The seed lives in memory only, wrapped in `Secret`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from keytui.core.awsfiles import files_lock, private_dir, write_atomic
from keytui.core.clock import Clock
from keytui.core.errors import AwsError, KeytuiError, aws_errors
from keytui.core.masking import Secret
from keytui.core.models import MfaDevice

STEP = 30  # seconds per TOTP code (RFC 6238; what AWS's virtual devices use)
USED_CODE_MEMORY = 90  # AWS refuses a code used in the last ~90 s (F-05)
# How far a phone's clock may be off and still be recognised (and reported) rather than "wrong codes".
SKEW_SEARCH_STEPS = 20
_DEVICE_NAME = re.compile(r"^[\w+=,.@-]{1,226}$")


class MfaCodeError(KeytuiError):
    """A code refused locally or by AWS: the user types another one; nothing stored changed."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="BadMfaCode")


class LeftoverDeviceError(KeytuiError):
    """A virtual device with this name already exists (F-07). `unassigned` says whether keytui may offer
    to delete it: an abandoned enrollment may be deleted, a device in use never."""

    def __init__(self, name: str, serial: str | None, unassigned: bool) -> None:
        self.serial, self.unassigned = serial, unassigned
        if unassigned:
            text = (
                f"A virtual MFA device named '{name}' already exists and is not assigned to anyone: an earlier "
                "enrollment was abandoned. Delete it and start again (keytui offers this; `keytui mfa enroll "
                "--replace-leftover` in scripts)."
            )
        else:
            text = (
                f"A virtual MFA device named '{name}' already exists and is in use. Choose another device name "
                "(`--device-name`)."
            )
        super().__init__(text, code="EntityAlreadyExists")


def seconds_left(now: datetime) -> int:
    """Seconds until the authenticator app shows its next code."""
    return STEP - int(now.timestamp()) % STEP


def check_code(code: str) -> str:
    """Six digits, nothing else (spaces typed as in '123 456' are dropped). The code itself is never
    repeated in a message: it is a credential for the next 30 s."""
    cleaned = "".join(str(code).split())
    ascii_digits = cleaned.isascii() and cleaned.isdigit()  # AWS takes 0-9 only, not any Unicode digit
    if not (ascii_digits and len(cleaned) == 6):
        what = "nothing" if not cleaned else f"{len(cleaned)} digits" if ascii_digits else f"{len(cleaned)} characters"
        raise MfaCodeError(f"An MFA code is exactly six digits; got {what}. Type the code your authenticator app shows.")
    return cleaned


@dataclass(frozen=True)
class CodePairCheck:
    """Two enrollment codes that belong to the seed and follow each other. `skew_seconds` is how far the
    phone's clock seems to be from ours (0 when the codes are the current or the previous pair)."""

    skew_seconds: int
    # Set when AWS enabled the device but ListMFADevices could not confirm it yet (IAM is eventually
    # consistent, or listing is denied): the device IS enabled, and must never be "cancelled" then.
    unconfirmed: str | None = None

    @property
    def warning(self) -> str | None:
        notes = []
        if self.skew_seconds:
            direction = "behind" if self.skew_seconds < 0 else "ahead of"
            notes.append(
                f"The phone's clock seems to be about {abs(self.skew_seconds)} s {direction} this computer's. AWS "
                "accepts small differences, but set the phone's time automatically (network time) or sign-ins "
                "will fail."
            )
        if self.unconfirmed:
            notes.append(self.unconfirmed)
        return " ".join(notes) or None


def check_enrollment_codes(seed: Secret, first: str, second: str, now: datetime) -> CodePairCheck:
    """The two consecutive codes AWS needs, checked against the seed before AWS sees them (F-07)."""
    first, second = check_code(first), check_code(second)
    if first == second:
        raise MfaCodeError(
            "The two codes are the same. The second code must be the next one: wait until the app shows a new "
            f"code (about {seconds_left(now)} s) and type that."
        )
    import pyotp  # here, not at the top: credential-process imports this module on every AWS call

    totp = pyotp.TOTP(seed.reveal())
    counter = int(now.timestamp()) // STEP

    def code_at(step: int) -> str:
        return totp.generate_otp(step)

    # The second code is normally the current one (or the previous one when the code just changed).
    for offset in sorted(range(-SKEW_SEARCH_STEPS, SKEW_SEARCH_STEPS + 1), key=abs):
        step = counter + offset
        if code_at(step) == second and code_at(step - 1) == first:
            skew = 0 if offset in (0, -1) else offset * STEP
            return CodePairCheck(skew_seconds=skew)
    window = range(counter - SKEW_SEARCH_STEPS, counter + SKEW_SEARCH_STEPS + 1)
    known = {code_at(step) for step in window}
    if first in known and second in known:
        raise MfaCodeError(
            "Both codes belong to this device, but the second code must be the next one after the first. Type "
            "the code the app shows now, wait for it to change, then type the new one."
        )
    raise MfaCodeError(
        "These codes do not come from this device's secret. Scan the QR code shown here (or type the secret "
        "shown for manual entry), not one from an earlier attempt, then type two consecutive codes."
    )


class UsedCodes:
    """Codes used in the last 90 s, per device, across keytui processes, so a reused code is refused
    locally instead of by AWS (F-05). Only a hash is kept, and only for 90 s (file 0600)."""

    def __init__(self, folder: Path | None, clock: Clock) -> None:
        self._path = folder / "used-mfa-codes.json" if folder else None
        self._clock = clock
        self._memory: dict[str, float] = {}

    @staticmethod
    def _digest(serial: str, code: str) -> str:
        return hashlib.sha256(f"{serial}\0{code}".encode()).hexdigest()

    def _load(self) -> dict[str, float]:
        if self._path is None:
            return dict(self._memory)
        try:
            data = json.loads(self._path.read_text(encoding="utf-8"))
            return {str(k): float(v) for k, v in data.items()} if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}  # no record (or a damaged one) only means AWS makes the check instead

    def _fresh(self, entries: dict[str, float]) -> dict[str, float]:
        now = self._clock.now().timestamp()
        return {k: t for k, t in entries.items() if now - t < USED_CODE_MEMORY}

    def check(self, serial: str, code: str) -> None:
        used_at = self._fresh(self._load()).get(self._digest(serial, code))
        if used_at is not None:
            wait = seconds_left(self._clock.now())
            raise MfaCodeError(
                f"This code was already used {int(self._clock.now().timestamp() - used_at)} s ago, and AWS accepts "
                f"each code once. Wait for the next code (about {wait} s) and type that."
            )

    def record(self, serial: str, code: str) -> None:
        entries = self._fresh(self._load())
        entries[self._digest(serial, code)] = self._clock.now().timestamp()
        if self._path is None:
            self._memory = entries
            return
        try:
            private_dir(self._path.parent)
            with files_lock("used-mfa-codes"):
                write_atomic(self._path, json.dumps(entries))
        except (OSError, KeytuiError):
            self._memory = entries  # losing the record only means AWS refuses a reuse instead of keytui


@dataclass(frozen=True)
class NewDevice:
    """A virtual device created but not yet enabled. The seed is shown once and kept in memory only."""

    user: str
    serial: str
    seed: Secret
    account: str

    def uri(self) -> Secret:
        """The `otpauth://` URI an authenticator app scans (it contains the seed: a secret)."""
        from urllib.parse import quote

        label = quote(f"AWS:{self.user}@{self.account}", safe=":@")
        return Secret(f"otpauth://totp/{label}?secret={self.seed.reveal()}&issuer=AWS")


def serial_for(account: str, name: str, path: str = "/") -> str:
    return f"arn:aws:iam::{account}:mfa{path}{name}"


class MfaService:
    """IAM's MFA calls, errors translated, with the local checks in front of them."""

    def __init__(self, client: Any, clock: Clock, account: str) -> None:
        self._iam = client
        self._clock = clock
        self.account = account

    def list_devices(self, user: str) -> tuple[MfaDevice, ...]:
        devices = []
        with aws_errors(f"list the MFA devices of {user}"):
            for page in self._iam.get_paginator("list_mfa_devices").paginate(UserName=user):
                for device in page.get("MFADevices", []):
                    devices.append(MfaDevice(serial=device["SerialNumber"], enabled=device.get("EnableDate")))
        return tuple(devices)

    def _unassigned(self) -> set[str]:
        serials = set()
        with aws_errors("list unassigned virtual MFA devices"):
            pages = self._iam.get_paginator("list_virtual_mfa_devices").paginate(AssignmentStatus="Unassigned")
            for page in pages:
                serials.update(d["SerialNumber"] for d in page.get("VirtualMFADevices", []))
        return serials

    def create_device(self, user: str, name: str | None = None) -> NewDevice:
        name = name or user
        if not _DEVICE_NAME.fullmatch(name):
            raise KeytuiError(
                f"'{name}' cannot be an MFA device name: use letters, digits and + = , . @ _ - (at most 226).",
                code="Usage",
            )
        try:
            with aws_errors(f"create a virtual MFA device for {user}"):
                created = self._iam.create_virtual_mfa_device(VirtualMFADeviceName=name)["VirtualMFADevice"]
        except AwsError as exc:
            if exc.code != "EntityAlreadyExists":
                raise
            serial = serial_for(self.account, name)
            raise LeftoverDeviceError(name, serial, serial in self._unassigned()) from exc
        seed = created["Base32StringSeed"]
        seed = seed.decode("ascii") if isinstance(seed, bytes) else str(seed)
        return NewDevice(user=user, serial=created["SerialNumber"], seed=Secret(seed), account=self.account)

    def delete_leftover(self, serial: str) -> None:
        """Delete an *unassigned* virtual device (an abandoned enrollment); refuse anything else."""
        if serial not in self._unassigned():
            raise KeytuiError(
                f"{serial} is not an unassigned virtual MFA device, so keytui will not delete it.",
                code="DeviceInUse",
            )
        self._delete_virtual(serial)

    def _delete_virtual(self, serial: str) -> None:
        try:
            with aws_errors(f"delete the virtual MFA device {serial}"):
                self._iam.delete_virtual_mfa_device(SerialNumber=serial)
        except AwsError as exc:
            if exc.code != "NoSuchEntity":  # already gone is what we wanted
                raise

    def enable(self, device: NewDevice, first: str, second: str) -> CodePairCheck:
        """Check the codes locally, enable the device, and confirm with ListMFADevices."""
        checked = check_enrollment_codes(device.seed, first, second, self._clock.now())
        try:
            with aws_errors(f"enable the MFA device for {device.user}"):
                self._iam.enable_mfa_device(
                    UserName=device.user, SerialNumber=device.serial,
                    AuthenticationCode1=check_code(first), AuthenticationCode2=check_code(second),
                )
        except AwsError as exc:
            if exc.code == "InvalidAuthenticationCode":
                raise MfaCodeError(
                    "AWS did not accept the two codes (they may have expired while waiting). Type the code the "
                    "app shows now, wait for the next one, and type that."
                ) from exc
            raise
        # From here on the device is enabled: a failed confirmation is a warning, never a reason to cancel
        # (deleting it would leave the phone's entry useless and, on AWS, fail on an assigned device).
        try:
            listed = device.serial in {d.serial for d in self.list_devices(device.user)}
            why = "" if listed else "does not list it yet (IAM takes a moment to show changes)"
        except KeytuiError as exc:
            listed, why = False, f"could not be read to confirm it ({exc.code})"
        if not listed:
            return replace(checked, unconfirmed=(
                f"AWS enabled {device.serial} for {device.user}, but ListMFADevices {why}. Check with "
                f"`keytui mfa list {device.user}` in a minute; do not delete the app entry."
            ))
        return checked

    def cancel(self, device: NewDevice) -> None:
        """An enrollment the user abandoned: delete the device keytui created (F-07)."""
        self._delete_virtual(device.serial)

    def remove(self, user: str, serial: str) -> None:
        """Deactivate the device for the user, then delete it if it is a virtual one."""
        with aws_errors(f"deactivate the MFA device {serial} of {user}"):
            self._iam.deactivate_mfa_device(UserName=user, SerialNumber=serial)
        if ":mfa/" in serial:
            self._delete_virtual(serial)

    def resync(self, user: str, serial: str, first: str, second: str) -> None:
        """Resynchronise a device whose codes AWS no longer accepts (a phone clock that drifted)."""
        first, second = check_code(first), check_code(second)
        if first == second:
            raise MfaCodeError("The two codes are the same. Type one code, wait for the next one, and type that.")
        try:
            with aws_errors(f"resynchronise the MFA device {serial} of {user}"):
                self._iam.resync_mfa_device(
                    UserName=user, SerialNumber=serial, AuthenticationCode1=first, AuthenticationCode2=second
                )
        except AwsError as exc:
            if exc.code == "InvalidAuthenticationCode":
                raise MfaCodeError(
                    "AWS did not accept the two codes for resynchronisation. Type two consecutive codes from "
                    "the app for this device."
                ) from exc
            raise


MfaPrompt = Callable[[str], str]
"""Asks the user for an MFA code; the argument says what for. Raises KeyboardInterrupt/EOFError to cancel."""
