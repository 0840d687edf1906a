"""MFA-backed sessions: what to ask STS for, checked before a code is spent (F-06, F-10), and the call.

A profile with `mfa_serial` gets `GetSessionToken`; one with `role_arn` + `source_profile` + `mfa_serial`
gets `AssumeRole`. The lifetime is always the response's `Expiration`, never what was asked (F-10).
botocore is imported only by the caller that builds the STS client, so this module stays cheap to import.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from keytui.core.errors import AwsError, KeytuiError, aws_errors
from keytui.core.masking import Secret
from keytui.core.mfa import MfaCodeError, check_code
from keytui.core.models import SessionCredentials

# AWS's limits (seconds). GetSessionToken: 15 min to 36 h (root: cut to 1 h without an error).
SESSION_TOKEN_LIMITS = (900, 129_600)
# AssumeRole: 15 min to the role's MaxSessionDuration, itself at most 12 h; chaining: at most 1 h.
ASSUME_ROLE_LIMITS = (900, 43_200)
CHAINED_ROLE_MAX = 3_600
DEFAULT_USER_DURATION = 43_200  # GetSessionToken's own default
DEFAULT_ROLE_DURATION = 3_600  # AssumeRole's own default

_PARTITIONS = "aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b|aws-iso-e|aws-iso-f|aws-eusc"
_DEVICE_ARN = re.compile(rf"^arn:(?:{_PARTITIONS}):iam::(\d{{12}}):mfa/[\w+=,.@/-]+$")
_HARDWARE_SERIAL = re.compile(r"^[A-Z0-9]{9,256}$")  # e.g. GAHT12345678 (a hardware TOTP token)
_ANY_IAM_ARN = re.compile(rf"^arn:(?:{_PARTITIONS}):(?:iam|sts)::(\d{{12}}|aws):([\w-]+)")


class MfaSerialError(KeytuiError):
    """The profile's `mfa_serial` is not a device this user can use (F-06). `devices` is filled in by the
    caller when it could list the user's real devices."""

    def __init__(self, message: str, serial: str, devices: tuple[str, ...] = ()) -> None:
        super().__init__(message, code="BadMfaSerial")
        self.serial = serial
        self.devices = devices


def check_serial(serial: str, account: str | None = None) -> str:
    """Catch a malformed or foreign `mfa_serial` before a code is spent on it (F-06)."""
    serial = serial.strip()
    match = _DEVICE_ARN.fullmatch(serial)
    if match:
        if account and match.group(1) != account:
            raise MfaSerialError(
                f"mfa_serial {serial} is a device in account {match.group(1)}, but the profile's credentials are "
                f"in account {account}. A user can only use their own account's MFA devices; list yours with "
                "`keytui mfa list`.",
                serial,
            )
        return serial
    if _HARDWARE_SERIAL.fullmatch(serial):
        return serial
    other = _ANY_IAM_ARN.match(serial)
    if other and other.group(2) != "mfa":  # an mfa ARN that failed the device shape is malformed (below)
        kind = other.group(2)
        what = {"user": "a user", "role": "a role", "u2f": "a security key (FIDO)", "assumed-role": "a session"}.get(
            kind, f"an IAM {kind}"
        )
        extra = " Security keys cannot sign CLI sessions; use a virtual or hardware TOTP device." if kind == "u2f" else ""
        raise MfaSerialError(
            f"mfa_serial {serial} is the ARN of {what}, not of an MFA device. A virtual device's ARN looks like "
            f"arn:aws:iam::ACCOUNT:mfa/NAME; `keytui mfa list` shows yours.{extra}",
            serial,
        )
    raise MfaSerialError(
        f"mfa_serial '{serial}' is not an MFA device: expected arn:aws:iam::ACCOUNT:mfa/NAME (virtual device) "
        "or a hardware token's serial number. `keytui mfa list` shows yours.",
        serial,
    )


@dataclass(frozen=True)
class SessionPlan:
    """What `keytui session` will ask STS for, already checked against AWS's limits."""

    profile: str
    mfa_serial: str
    duration: int
    role_arn: str | None = None
    source_profile: str | None = None
    role_session_name: str | None = None
    external_id: str | None = None
    chained: bool = False

    @property
    def is_role(self) -> bool:
        return self.role_arn is not None

    @property
    def operation(self) -> str:
        return "AssumeRole" if self.is_role else "GetSessionToken"


def _duration(value: object, where: str) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        raise KeytuiError(f"{where} must be a whole number of seconds, got '{value}'.", code="Usage") from None


def plan_session(
    profile: str,
    values: Mapping[str, str],
    duration: int | None = None,
    *,
    source_temporary: bool = False,
    account: str | None = None,
) -> SessionPlan:
    """Check everything that can be checked before a code is typed: the profile asks for MFA, its serial
    has a device's shape, and the duration is within AWS's limits for this kind of session (F-10)."""
    serial = values.get("mfa_serial")
    if not serial:
        raise KeytuiError(
            f"Profile '{profile}' has no mfa_serial, so keytui cannot ask for an MFA session. Enroll a device "
            f"with `keytui mfa enroll` (it offers to write mfa_serial into the profile), or add "
            f"`mfa_serial = arn:aws:iam::ACCOUNT:mfa/NAME` to [profile {profile}].",
            code="NoMfaSerial",
        )
    serial = check_serial(serial, account)
    role_arn = values.get("role_arn")
    if role_arn:
        asked = duration if duration is not None else _duration(values.get("duration_seconds", DEFAULT_ROLE_DURATION),
                                                                f"duration_seconds of profile '{profile}'")
        low, high = ASSUME_ROLE_LIMITS
        if source_temporary:
            high = CHAINED_ROLE_MAX
        if not low <= asked <= high:
            why = (
                " (the source credentials are themselves temporary: AWS caps a chained role session at 1 hour)"
                if source_temporary else " (and at most the role's own MaxSessionDuration)"
            )
            raise KeytuiError(
                f"A role session lasts {low}–{high} seconds{why}; {asked} was asked. Nothing was sent to AWS.",
                code="BadDuration",
            )
        return SessionPlan(
            profile, serial, asked, role_arn=role_arn, source_profile=values.get("source_profile"),
            role_session_name=values.get("role_session_name"), external_id=values.get("external_id"),
            chained=source_temporary,
        )
    if source_temporary:
        raise KeytuiError(
            f"Profile '{profile}' holds temporary credentials (a session token or an ASIA… key), and AWS only "
            "gives MFA sessions to long-term keys. Use the profile of the long-term key, or store one with "
            f"`keytui vault add {profile}`.",
            code="TemporarySource",
        )
    asked = duration if duration is not None else DEFAULT_USER_DURATION
    low, high = SESSION_TOKEN_LIMITS
    if not low <= asked <= high:
        raise KeytuiError(
            f"An MFA session (GetSessionToken) lasts {low}–{high} seconds (15 min to 36 h); {asked} was asked. "
            "Nothing was sent to AWS.",
            code="BadDuration",
        )
    return SessionPlan(profile, serial, asked)


def request_session(sts: Any, plan: SessionPlan, code: str, now: datetime) -> SessionCredentials:
    """Spend `code` on the session. AWS's refusals become the sentence that says what to do: a wrong code
    (type the next one, F-05) is told apart from a serial AWS cannot match to the user (F-06)."""
    code = check_code(code)
    try:
        with aws_errors(f"get an MFA session for profile '{plan.profile}' ({plan.operation})"):
            if plan.is_role:
                kwargs: dict[str, Any] = {
                    "RoleArn": plan.role_arn,
                    "RoleSessionName": plan.role_session_name or f"keytui-{int(now.timestamp())}",
                    "DurationSeconds": plan.duration,
                    "SerialNumber": plan.mfa_serial,
                    "TokenCode": code,
                }
                if plan.external_id:
                    kwargs["ExternalId"] = plan.external_id
                answer = sts.assume_role(**kwargs)
            else:
                answer = sts.get_session_token(
                    DurationSeconds=plan.duration, SerialNumber=plan.mfa_serial, TokenCode=code
                )
    except AwsError as exc:
        raise classify_refusal(exc, plan) from exc
    creds = answer["Credentials"]
    expiration = creds["Expiration"]
    if not isinstance(expiration, datetime):
        from keytui.core.aws import parse_utc

        expiration = parse_utc(expiration)
    return SessionCredentials(
        creds["AccessKeyId"], Secret(creds["SecretAccessKey"]), Secret(creds["SessionToken"]), expiration
    )


def classify_refusal(exc: AwsError, plan: SessionPlan) -> KeytuiError:
    text = str(exc).lower()
    if "invalid mfa one time pass code" in text or "one time pass code" in text:
        return MfaCodeError(
            "AWS refused the MFA code: it was mistyped, already used, or from another device's app entry. Type "
            "the next code the app shows; nothing was stored."
        )
    if "unable to validate mfa code" in text or "verify your mfa serial" in text:
        return MfaSerialError(
            f"AWS could not match mfa_serial {plan.mfa_serial} to this user (profile '{plan.profile}'): it is not "
            "one of the user's MFA devices. keytui does not edit the profile silently; see the devices below.",
            plan.mfa_serial,
        )
    if "durationseconds" in text or "maxsessionduration" in text:
        return KeytuiError(
            f"AWS refused the session length of {plan.duration} s for profile '{plan.profile}': {exc} Ask for less "
            "with --duration, or raise the role's maximum session duration.",
            code="BadDuration",
        )
    return exc
