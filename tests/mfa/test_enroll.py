"""Enrollment of a virtual MFA device (DESIGN "MFA", F-05, F-07) with keytui.core.mfa against moto: the codes
are computed by pyotp from the seed AWS returned, and every local refusal is asserted with the AWS calls
counted (the `faults` fixture records every call of every client keytui builds)."""

from __future__ import annotations

import json
import stat
from datetime import datetime, timedelta, timezone

import pyotp
import pytest

from keytui.core.clock import FixedClock
from keytui.core.errors import KeytuiError
from keytui.core.masking import Secret
from keytui.core.mfa import (
    LeftoverDeviceError,
    MfaCodeError,
    MfaService,
    NewDevice,
    UsedCodes,
    check_code,
    check_enrollment_codes,
    serial_for,
)

from ..conftest import ACCOUNT_ID, Faults, MotoAccount
from .conftest import mfa_state, plain_client, totp_pair, virtual_devices

# 12:00:10 UTC: 20 s before the app's next code.
AT = datetime(2026, 12, 3, 12, 0, 10, tzinfo=timezone.utc)
SEED = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
OTHER_SEED = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"


def pair(seed: str = SEED, offset: int = 0, at: datetime = AT) -> tuple[str, str]:
    return totp_pair(seed, at.timestamp(), offset)


@pytest.fixture
def iam(moto_account: MotoAccount) -> object:
    """moto's IAM, read without the faults (so `faults.calls` holds only keytui's calls)."""
    return plain_client()


@pytest.fixture
def service(moto_account: MotoAccount, faults: Faults, iam) -> MfaService:
    iam.create_user(UserName="alice")
    return MfaService(moto_account.client("iam"), FixedClock(at=AT), ACCOUNT_ID)


# -- the happy path -------------------------------------------------------------------------------------------


def test_enrollment_end_to_end_with_codes_from_the_returned_seed(service: MfaService, iam, faults: Faults) -> None:
    device = service.create_device("alice")

    assert device.serial == f"arn:aws:iam::{ACCOUNT_ID}:mfa/alice"
    assert virtual_devices(iam) == {device.serial: None}  # created, not yet assigned
    assert repr(device.seed) == "Secret('••••')" and "Secret('••••')" in repr(device)
    uri = device.uri().reveal()
    assert uri == f"otpauth://totp/AWS:alice@{ACCOUNT_ID}?secret={device.seed.reveal()}&issuer=AWS"
    assert pyotp.parse_uri(uri).secret == device.seed.reveal()

    checked = service.enable(device, *pair(device.seed.reveal()))

    assert checked.skew_seconds == 0 and checked.warning is None
    assert mfa_state(iam, "alice") == [device.serial]
    assert virtual_devices(iam) == {device.serial: "alice"}
    enabled = [c for c in faults.calls if c.operation == "EnableMFADevice"]
    assert [(c.params["UserName"], c.params["SerialNumber"]) for c in enabled] == [("alice", device.serial)]
    assert (enabled[0].params["AuthenticationCode1"], enabled[0].params["AuthenticationCode2"]) == pair(device.seed.reveal())
    # Confirmed with ListMFADevices after enabling.
    assert [c.operation for c in faults.calls][-2:] == ["EnableMFADevice", "ListMFADevices"]


def test_enrollment_accepts_the_pair_that_just_rolled_over(service: MfaService, iam) -> None:
    """The app changed its code while the user typed: the second code is the previous window's."""
    device = service.create_device("alice")

    checked = service.enable(device, *pair(device.seed.reveal(), offset=-1))

    assert checked.warning is None and mfa_state(iam, "alice") == [device.serial]


def test_list_devices_names_the_users_real_devices(service: MfaService, iam) -> None:
    iam.create_virtual_mfa_device(VirtualMFADeviceName="alice-phone")
    iam.enable_mfa_device(UserName="alice", SerialNumber=serial_for(ACCOUNT_ID, "alice-phone"),
                          AuthenticationCode1="123456", AuthenticationCode2="654321")

    devices = service.list_devices("alice")

    assert [(d.serial, d.virtual, d.enabled is not None) for d in devices] == [
        (f"arn:aws:iam::{ACCOUNT_ID}:mfa/alice-phone", True, True)
    ]


# -- local refusals (no AWS call) -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "said"),
    [
        ("12345", "got 5 digits"),
        ("1234567", "got 7 digits"),
        ("12a456", "got 6 characters"),
        ("", "got nothing"),
        ("   ", "got nothing"),
        ("١٢٣٤٥٦", "got 6 characters"),  # Arabic-Indic digits: digits to Python's \d, not to AWS
    ],
)
def test_f05_code_that_is_not_six_digits_is_refused_locally(code: str, said: str) -> None:
    with pytest.raises(MfaCodeError) as raised:
        check_code(code)

    assert str(raised.value) == (
        f"An MFA code is exactly six digits; {said}. Type the code your authenticator app shows."
    )
    assert raised.value.code == "BadMfaCode"


def test_f05_a_code_typed_with_a_space_is_six_digits() -> None:
    assert check_code(" 123 456 ") == "123456"


def _refused_without_aws(service: MfaService, device: NewDevice, faults: Faults, first: str, second: str) -> str:
    before = list(faults.calls)
    with pytest.raises(MfaCodeError) as raised:
        service.enable(device, first, second)
    assert faults.calls == before, "an AWS call was made for codes keytui could refuse itself"
    return str(raised.value)


def test_f07_two_identical_codes_are_refused_before_aws(service: MfaService, iam, faults: Faults) -> None:
    device = service.create_device("alice")
    code = pair(device.seed.reveal())[1]

    message = _refused_without_aws(service, device, faults, code, code)

    assert message == (
        "The two codes are the same. The second code must be the next one: wait until the app shows a new code "
        "(about 20 s) and type that."
    )
    assert mfa_state(iam, "alice") == []


def test_f07_codes_not_consecutive_are_refused_before_aws(service: MfaService, iam, faults: Faults) -> None:
    device = service.create_device("alice")
    totp = pyotp.TOTP(device.seed.reveal())
    counter = int(AT.timestamp()) // 30

    message = _refused_without_aws(service, device, faults, totp.generate_otp(counter - 3), totp.generate_otp(counter))

    assert message == (
        "Both codes belong to this device, but the second code must be the next one after the first. Type the code "
        "the app shows now, wait for it to change, then type the new one."
    )
    # The pair in the wrong order is not consecutive either.
    first, second = pair(device.seed.reveal())
    assert "the second code must be the next one after the first" in _refused_without_aws(
        service, device, faults, second, first
    )
    assert mfa_state(iam, "alice") == []


def test_f07_codes_of_another_seed_are_refused_before_aws(service: MfaService, iam, faults: Faults) -> None:
    """An app entry scanned from an earlier, abandoned attempt."""
    device = service.create_device("alice")

    message = _refused_without_aws(service, device, faults, *pair(OTHER_SEED))

    assert message == (
        "These codes do not come from this device's secret. Scan the QR code shown here (or type the secret shown "
        "for manual entry), not one from an earlier attempt, then type two consecutive codes."
    )
    assert mfa_state(iam, "alice") == []


def test_f05_malformed_enrollment_code_is_refused_before_aws(service: MfaService, faults: Faults) -> None:
    device = service.create_device("alice")
    first, _ = pair(device.seed.reveal())

    message = _refused_without_aws(service, device, faults, first, "12345")

    assert message.startswith("An MFA code is exactly six digits; got 5 digits.")


@pytest.mark.parametrize(("offset", "skew", "direction"), [(3, 90, "ahead of"), (-4, -120, "behind"), (20, 600, "ahead of")])
def test_skewed_phone_clock_is_recognised_and_reported(offset: int, skew: int, direction: str) -> None:
    checked = check_enrollment_codes(Secret(SEED), *pair(offset=offset), AT)

    assert checked.skew_seconds == skew
    assert checked.warning == (
        f"The phone's clock seems to be about {abs(skew)} s {direction} this computer's. AWS accepts small "
        "differences, but set the phone's time automatically (network time) or sign-ins will fail."
    )


def test_skew_beyond_ten_minutes_is_not_this_device() -> None:
    with pytest.raises(MfaCodeError, match="do not come from this device's secret"):
        check_enrollment_codes(Secret(SEED), *pair(offset=25), AT)


def test_skewed_phone_clock_still_enables_with_a_warning(service: MfaService, iam) -> None:
    device = service.create_device("alice")

    checked = service.enable(device, *pair(device.seed.reveal(), offset=3))

    assert checked.skew_seconds == 90 and "90 s ahead of" in (checked.warning or "")
    assert mfa_state(iam, "alice") == [device.serial]


def test_aws_refusing_the_codes_says_so_and_leaves_the_device_unassigned(
    service: MfaService, iam, faults: Faults
) -> None:
    faults.deny("EnableMFADevice", code="InvalidAuthenticationCode", message="Authentication code for device is not valid.")
    device = service.create_device("alice")

    with pytest.raises(MfaCodeError) as raised:
        service.enable(device, *pair(device.seed.reveal()))

    assert str(raised.value) == (
        "AWS did not accept the two codes (they may have expired while waiting). Type the code the app shows now, "
        "wait for the next one, and type that."
    )
    assert virtual_devices(iam) == {device.serial: None}


# -- F-07: leftovers and cancelling --------------------------------------------------------------------------


def test_f07_unassigned_leftover_is_reported_and_can_be_deleted(service: MfaService, iam, faults: Faults) -> None:
    leftover = iam.create_virtual_mfa_device(VirtualMFADeviceName="alice")["VirtualMFADevice"]["SerialNumber"]

    with pytest.raises(LeftoverDeviceError) as raised:
        service.create_device("alice")

    assert (raised.value.unassigned, raised.value.serial, raised.value.code) == (True, leftover, "EntityAlreadyExists")
    assert str(raised.value) == (
        "A virtual MFA device named 'alice' already exists and is not assigned to anyone: an earlier enrollment was "
        "abandoned. Delete it and start again (keytui offers this; `keytui mfa enroll --replace-leftover` in "
        "scripts)."
    )
    assert faults.count("DeleteVirtualMFADevice") == 0  # reporting it deletes nothing

    service.delete_leftover(leftover)

    assert virtual_devices(iam) == {}
    device = service.create_device("alice")  # and enrollment starts again
    assert virtual_devices(iam) == {device.serial: None}


def test_f07_an_assigned_device_is_never_deleted_as_a_leftover(service: MfaService, iam, faults: Faults) -> None:
    iam.create_user(UserName="carol")
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName="carol")["VirtualMFADevice"]["SerialNumber"]
    iam.enable_mfa_device(UserName="carol", SerialNumber=serial, AuthenticationCode1="123456",
                          AuthenticationCode2="654321")

    with pytest.raises(LeftoverDeviceError) as raised:
        service.create_device("carol")
    assert (raised.value.unassigned, raised.value.serial) == (False, serial)
    assert str(raised.value) == (
        "A virtual MFA device named 'carol' already exists and is in use. Choose another device name "
        "(`--device-name`)."
    )

    with pytest.raises(KeytuiError) as refused:
        service.delete_leftover(serial)

    assert refused.value.code == "DeviceInUse"
    assert str(refused.value) == f"{serial} is not an unassigned virtual MFA device, so keytui will not delete it."
    assert faults.count("DeleteVirtualMFADevice") == 0
    assert virtual_devices(iam) == {serial: "carol"} and mfa_state(iam, "carol") == [serial]


def test_f07_delete_leftover_refuses_a_device_that_does_not_exist(service: MfaService, faults: Faults) -> None:
    with pytest.raises(KeytuiError, match="is not an unassigned virtual MFA device"):
        service.delete_leftover(serial_for(ACCOUNT_ID, "nobody"))
    assert faults.count("DeleteVirtualMFADevice") == 0


def test_f07_cancelling_deletes_the_device_keytui_created(service: MfaService, iam, faults: Faults) -> None:
    device = service.create_device("alice")

    service.cancel(device)

    assert virtual_devices(iam) == {}
    assert [c.params for c in faults.calls if c.operation == "DeleteVirtualMFADevice"] == [{"SerialNumber": device.serial}]
    service.cancel(device)  # already gone is what was wanted: no error


def test_f07_invalid_device_name_is_refused_before_aws(service: MfaService, faults: Faults) -> None:
    with pytest.raises(KeytuiError) as raised:
        service.create_device("alice", "alice phone")
    assert raised.value.code == "Usage"
    assert "'alice phone' cannot be an MFA device name" in str(raised.value)
    assert faults.count("CreateVirtualMFADevice") == 0


# -- F-05: a code used in the last 90 s, across processes ----------------------------------------------------------


def test_f05_reused_code_is_refused_across_instances_sharing_a_folder(tmp_path) -> None:
    folder = tmp_path / "state"
    clock = FixedClock(at=AT)
    UsedCodes(folder, clock).record(serial_for(ACCOUNT_ID, "alice"), "123456")
    clock.advance(11)  # 12:00:21

    other = UsedCodes(folder, FixedClock(at=clock.now()))  # another keytui process, same state folder
    with pytest.raises(MfaCodeError) as raised:
        other.check(serial_for(ACCOUNT_ID, "alice"), "123456")

    assert str(raised.value) == (
        "This code was already used 11 s ago, and AWS accepts each code once. Wait for the next code (about 9 s) "
        "and type that."
    )
    other.check(serial_for(ACCOUNT_ID, "alice"), "654321")  # another code
    other.check(serial_for(ACCOUNT_ID, "bob"), "123456")  # the same code for another device
    # Only a hash is kept, in a private file.
    record = folder / "used-mfa-codes.json"
    assert "123456" not in record.read_text() and len(json.loads(record.read_text())) == 1
    assert stat.S_IMODE(record.stat().st_mode) == 0o600 and stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_f05_a_code_is_forgotten_after_90_seconds(tmp_path) -> None:
    clock = FixedClock(at=AT)
    UsedCodes(tmp_path, clock).record("GAHT12345678", "123456")

    later = UsedCodes(tmp_path, FixedClock(at=AT + timedelta(seconds=89)))
    with pytest.raises(MfaCodeError):
        later.check("GAHT12345678", "123456")
    UsedCodes(tmp_path, FixedClock(at=AT + timedelta(seconds=90))).check("GAHT12345678", "123456")


def test_f05_a_damaged_record_only_hands_the_check_to_aws(tmp_path) -> None:
    (tmp_path / "used-mfa-codes.json").write_text("{not json")
    codes = UsedCodes(tmp_path, FixedClock(at=AT))

    codes.check("GAHT12345678", "123456")  # no crash, no refusal
    codes.record("GAHT12345678", "123456")
    with pytest.raises(MfaCodeError):
        UsedCodes(tmp_path, FixedClock(at=AT)).check("GAHT12345678", "123456")


@pytest.mark.parametrize("confirmation", ["denied", "lagging"])
def test_an_enabled_device_is_never_reported_as_failed_when_the_confirmation_fails(
    service: MfaService, iam, faults: Faults, monkeypatch: pytest.MonkeyPatch, confirmation: str
) -> None:
    """AWS enabled the device, but ListMFADevices is denied or does not list it yet (IAM is eventually
    consistent): enable() returns with a warning, so no caller cancels (deletes) a device that is in use."""
    device = service.create_device("alice")
    if confirmation == "denied":
        faults.deny("ListMFADevices")
    else:
        monkeypatch.setattr(service, "list_devices", lambda user: ())

    checked = service.enable(device, *pair(device.seed.reveal()))

    assert checked.unconfirmed is not None and checked.warning is not None
    assert f"AWS enabled {device.serial} for alice" in checked.warning
    assert "do not delete the app entry" in checked.warning
    assert mfa_state(iam, "alice") == [device.serial]  # enabled in AWS, and left so
