"""IAM reads for the inventory, one method per question, paginated, errors translated.

Mutations (rotation, MFA) arrive with their issues and live beside these, in the same service.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from keytui.core.clock import Clock
from keytui.core.credential_report import ReportRow, parse_report
from keytui.core.errors import AwsError, aws_errors
from keytui.core.masking import Secret, mask_key_id
from keytui.core.models import AccessKey, KeyLastUsed, LongTermKey, MfaDevice, NEVER_USED


class IamService:
    def __init__(self, client: Any, clock: Clock) -> None:
        self._iam = client
        self._clock = clock

    def iter_users(self) -> Iterator[dict[str, Any]]:
        with aws_errors("list IAM users"):
            for page in self._iam.get_paginator("list_users").paginate():
                yield from page.get("Users", [])

    def list_access_keys(self, user: str) -> tuple[AccessKey, ...]:
        keys = []
        with aws_errors(f"list access keys for {user}"):
            for page in self._iam.get_paginator("list_access_keys").paginate(UserName=user):
                for meta in page.get("AccessKeyMetadata", []):
                    keys.append(
                        AccessKey(
                            user_name=user,
                            key_id=meta["AccessKeyId"],
                            status=meta["Status"],
                            created=meta["CreateDate"],
                        )
                    )
        return tuple(sorted(keys, key=lambda k: k.created))

    def key_last_used(self, key_id: str) -> KeyLastUsed:
        with aws_errors(f"read when key {key_id[:4]}…{key_id[-4:]} was last used"):
            info = self._iam.get_access_key_last_used(AccessKeyId=key_id).get("AccessKeyLastUsed", {})
        date = info.get("LastUsedDate")
        if date is None:
            return NEVER_USED
        return KeyLastUsed(date=date, service=_known(info.get("ServiceName")), region=_known(info.get("Region")))

    def list_mfa_devices(self, user: str) -> tuple[MfaDevice, ...]:
        devices = []
        with aws_errors(f"list MFA devices of {user}"):
            for page in self._iam.get_paginator("list_mfa_devices").paginate(UserName=user):
                for device in page.get("MFADevices", []):
                    devices.append(MfaDevice(serial=device["SerialNumber"], enabled=device.get("EnableDate")))
        return tuple(devices)

    def has_console_password(self, user: str) -> bool:
        try:
            with aws_errors(f"read the console login profile of {user}"):
                self._iam.get_login_profile(UserName=user)
        except AwsError as exc:
            if exc.code == "NoSuchEntity":
                return False
            raise
        return True

    def credential_report(self, timeout: float = 20.0) -> tuple[dict[str, ReportRow], datetime | None]:
        """Generate (if needed) and fetch the credential report. AWS reuses a report for up to four hours,
        so this is usually two calls."""
        deadline = self._clock.now().timestamp() + timeout
        delay = 0.25
        with aws_errors("generate the IAM credential report"):
            while True:
                state = self._iam.generate_credential_report().get("State")
                if state == "COMPLETE":
                    break
                if self._clock.now().timestamp() >= deadline:
                    raise AwsError(
                        "Could not get the IAM credential report: AWS was still generating it after "
                        f"{timeout:.0f} s. keytui reads each user instead.",
                        code="ReportInProgress",
                    )
                self._clock.sleep(delay)
                delay = min(delay * 2, 2.0)
        with aws_errors("download the IAM credential report"):
            answer = self._iam.get_credential_report()
        return parse_report(answer["Content"]), answer.get("GeneratedTime")


    # -- mutations (rotation) ------------------------------------------------------------------------

    def create_access_key(self, user: str) -> LongTermKey:
        with aws_errors(f"create a new access key for {user}"):
            created = self._iam.create_access_key(UserName=user)["AccessKey"]
        return LongTermKey(created["AccessKeyId"], Secret(created["SecretAccessKey"]))

    def set_key_status(self, user: str, key_id: str, status: str) -> None:
        verb = "deactivate" if status == "Inactive" else "activate"
        with aws_errors(f"{verb} key {mask_key_id(key_id)} of {user}"):
            self._iam.update_access_key(UserName=user, AccessKeyId=key_id, Status=status)

    def delete_access_key(self, user: str, key_id: str) -> None:
        with aws_errors(f"delete key {mask_key_id(key_id)} of {user}"):
            self._iam.delete_access_key(UserName=user, AccessKeyId=key_id)


def _known(value: str | None) -> str | None:
    return None if value in (None, "", "N/A") else value
