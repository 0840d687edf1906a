"""MFA sessions (DESIGN "MFA", F-05, F-06, F-08, F-09, F-10): what is checked before a code is spent, the STS
call against moto (GetSessionToken for a user profile, AssumeRole for a role profile, the source's key from the
keyring), what is stored in the keyring, and what AWS's refusals (injected: moto accepts any code) become."""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from keytui.core.clock import FixedClock
from keytui.core.errors import KeytuiError
from keytui.core.iam import IamService
from keytui.core.masking import Secret
from keytui.core.mfa import MfaCodeError, UsedCodes
from keytui.core.models import SessionCredentials
from keytui.core.sessions import (
    CHAINED_ROLE_MAX,
    MfaSerialError,
    check_serial,
    plan_session,
)
from keytui.vault.memory import MemoryKeyring
from keytui.vault.sessions import SessionBroker, SessionState, format_duration
from keytui.vault.store import Vault

from ..conftest import ACCOUNT_ID, REGION, AwsFiles, Faults
from .conftest import (
    ALICE_SERIAL,
    PROFILE,
    SESSION_KEY_ID,
    SESSION_SECRET,
    SESSION_TOKEN,
    MfaUser,
    Sent,
    grant,
)

INVALID_CODE = "MultiFactorAuthentication failed with invalid MFA one time pass code. "
INVALID_SERIAL = (
    "MultiFactorAuthentication failed, unable to validate MFA code. Please verify your MFA serial number is valid "
    "and associated with this user."
)
CODE_REFUSED = (
    "AWS refused the MFA code: it was mistyped, already used, or from another device's app entry. Type the next "
    "code the app shows; nothing was stored."
)
ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/Admin"


def z(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- F-06: the serial's shape and account, before a code is typed -------------------------------------------------


@pytest.mark.parametrize("serial", [ALICE_SERIAL, f"arn:aws:iam::{ACCOUNT_ID}:mfa/eng/alice-phone",
                                    "arn:aws-us-gov:iam::123456789012:mfa/alice", "GAHT12345678"])
def test_f06_device_serials_pass(serial: str) -> None:
    assert check_serial(f" {serial} ", ACCOUNT_ID) == serial


def test_f06_a_user_arn_is_not_a_device() -> None:
    with pytest.raises(MfaSerialError) as raised:
        check_serial(f"arn:aws:iam::{ACCOUNT_ID}:user/alice")

    assert str(raised.value) == (
        f"mfa_serial arn:aws:iam::{ACCOUNT_ID}:user/alice is the ARN of a user, not of an MFA device. A virtual "
        "device's ARN looks like arn:aws:iam::ACCOUNT:mfa/NAME; `keytui mfa list` shows yours."
    )
    assert (raised.value.code, raised.value.serial) == ("BadMfaSerial", f"arn:aws:iam::{ACCOUNT_ID}:user/alice")


def test_f06_a_security_key_cannot_sign_cli_sessions() -> None:
    with pytest.raises(MfaSerialError, match="is the ARN of a security key \\(FIDO\\).*Security keys cannot sign CLI"):
        check_serial(f"arn:aws:iam::{ACCOUNT_ID}:u2f/user/alice/fidosecuritykey-ABC")


def test_f06_a_device_of_another_account() -> None:
    with pytest.raises(MfaSerialError) as raised:
        check_serial("arn:aws:iam::210987654321:mfa/alice", ACCOUNT_ID)

    assert str(raised.value) == (
        "mfa_serial arn:aws:iam::210987654321:mfa/alice is a device in account 210987654321, but the profile's "
        f"credentials are in account {ACCOUNT_ID}. A user can only use their own account's MFA devices; list yours "
        "with `keytui mfa list`."
    )
    # ... also when the plan is made with the account known.
    with pytest.raises(MfaSerialError, match="is a device in account 210987654321"):
        plan_session("work", {"mfa_serial": "arn:aws:iam::210987654321:mfa/alice"}, account=ACCOUNT_ID)


@pytest.mark.parametrize("serial", ["alice-phone", "arn:aws:iam::12345:mfa/alice", "arn:aws:iam::123456789012:mfa/",
                                    "mfa/alice", "gaht12345678"])
def test_f06_a_malformed_serial(serial: str) -> None:
    with pytest.raises(MfaSerialError) as raised:
        check_serial(serial)

    assert str(raised.value) == (
        f"mfa_serial '{serial}' is not an MFA device: expected arn:aws:iam::ACCOUNT:mfa/NAME (virtual device) or a "
        "hardware token's serial number. `keytui mfa list` shows yours."
    )


# -- F-10: durations, before a code is spent ------------------------------------------------------------------------

USER = {"mfa_serial": ALICE_SERIAL}
ROLE = {"mfa_serial": ALICE_SERIAL, "role_arn": ROLE_ARN, "source_profile": "alice"}


@pytest.mark.parametrize("seconds", [900, 3600, 43_200, 129_600])
def test_f10_get_session_token_durations_within_limits(seconds: int) -> None:
    plan = plan_session("alice", USER, seconds)
    assert (plan.duration, plan.operation, plan.is_role) == (seconds, "GetSessionToken", False)


def test_f10_get_session_token_defaults_to_12_hours() -> None:
    assert plan_session("alice", USER).duration == 43_200


@pytest.mark.parametrize("seconds", [0, 899, 129_601, 200_000, -900])
def test_f10_get_session_token_durations_outside_limits(seconds: int) -> None:
    with pytest.raises(KeytuiError) as raised:
        plan_session("alice", USER, seconds)

    assert raised.value.code == "BadDuration"
    assert str(raised.value) == (
        f"An MFA session (GetSessionToken) lasts 900–129600 seconds (15 min to 36 h); {seconds} was asked. Nothing "
        "was sent to AWS."
    )


@pytest.mark.parametrize("seconds", [900, 43_200])
def test_f10_assume_role_durations_within_limits(seconds: int) -> None:
    plan = plan_session("admin", ROLE, seconds)
    assert (plan.duration, plan.operation, plan.role_arn, plan.source_profile) == (seconds, "AssumeRole", ROLE_ARN, "alice")


@pytest.mark.parametrize("seconds", [899, 43_201, 129_600])
def test_f10_assume_role_durations_outside_limits(seconds: int) -> None:
    with pytest.raises(KeytuiError) as raised:
        plan_session("admin", ROLE, seconds)

    assert str(raised.value) == (
        f"A role session lasts 900–43200 seconds (and at most the role's own MaxSessionDuration); {seconds} was "
        "asked. Nothing was sent to AWS."
    )


def test_f10_role_duration_comes_from_the_profile_and_defaults_to_an_hour() -> None:
    assert plan_session("admin", ROLE).duration == 3600
    assert plan_session("admin", {**ROLE, "duration_seconds": " 7200 "}).duration == 7200
    assert plan_session("admin", {**ROLE, "duration_seconds": "7200"}, 1800).duration == 1800  # --duration wins
    with pytest.raises(KeytuiError, match="duration_seconds of profile 'admin' must be a whole number of seconds, got '2h'"):
        plan_session("admin", {**ROLE, "duration_seconds": "2h"})


def test_f10_a_chained_role_is_capped_at_one_hour() -> None:
    assert plan_session("admin", ROLE, CHAINED_ROLE_MAX, source_temporary=True).chained is True

    with pytest.raises(KeytuiError) as raised:
        plan_session("admin", ROLE, 3601, source_temporary=True)

    assert str(raised.value) == (
        "A role session lasts 900–3600 seconds (the source credentials are themselves temporary: AWS caps a chained "
        "role session at 1 hour); 3601 was asked. Nothing was sent to AWS."
    )


def test_a_profile_without_mfa_serial_cannot_ask_for_an_mfa_session() -> None:
    with pytest.raises(KeytuiError) as raised:
        plan_session("work", {"region": "us-east-1"})

    assert raised.value.code == "NoMfaSerial"
    assert "Profile 'work' has no mfa_serial" in str(raised.value)
    assert "`mfa_serial = arn:aws:iam::ACCOUNT:mfa/NAME` to [profile work]" in str(raised.value)


# -- a session for a user profile, against moto ---------------------------------------------------------------------


def test_session_for_a_user_profile_is_requested_with_the_code_and_stored(
    alice: MfaUser, faults: Faults, sent: list[Sent], clock: FixedClock
) -> None:
    services = alice.services()
    grant(faults)

    session = services.open_session("123456", duration=3600)

    [call] = [c for c in faults.calls if c.operation == "GetSessionToken"]
    assert call.params == {"DurationSeconds": 3600, "SerialNumber": ALICE_SERIAL, "TokenCode": "123456"}
    [request] = [s for s in sent if s.operation == "GetSessionToken"]
    assert (request.key_id, request.token) == (alice.key.access_key_id, None)  # signed with the long-term key
    # moto dates the session with the real time: an hour from now, whatever the clock says to the second.
    assert abs(session.valid_for(clock.now()) - 3600) < 30
    assert alice.session_entry() == {
        "AccessKeyId": SESSION_KEY_ID, "SecretAccessKey": SESSION_SECRET, "SessionToken": SESSION_TOKEN,
        "Expiration": z(session.expiration),
    }
    assert alice.vault.get_key(PROFILE) == alice.key  # the long-term key stays
    # From now on keytui acts with the session (what IAM policies requiring MFA accept).
    services.identity()
    assert (sent[-1].operation, sent[-1].key_id, sent[-1].token) == ("GetCallerIdentity", SESSION_KEY_ID, SESSION_TOKEN)


def test_f10_the_lifetime_is_taken_from_the_response_not_from_what_was_asked(
    alice: MfaUser, faults: Faults, clock: FixedClock
) -> None:
    """A root user's session is cut to an hour without an error; AWS's Expiration is what counts."""
    granted = clock.now() + timedelta(hours=1)
    grant(faults, expiration=granted)
    broker = alice.services().session_broker()
    plan, source = broker.plan(PROFILE, 129_600)

    session = broker.open(plan, source, "123456")

    assert [c.params["DurationSeconds"] for c in faults.calls if c.operation == "GetSessionToken"] == [129_600]
    assert session.expiration == granted
    assert alice.session_entry()["Expiration"] == z(granted)
    assert broker.state(PROFILE).describe() == "MFA session, 1:00:00 left"


def test_f10_a_session_already_expired_on_arrival_is_not_stored(alice: MfaUser, faults: Faults, clock: FixedClock) -> None:
    grant(faults, expiration=clock.now() - timedelta(seconds=5))
    broker = alice.services().session_broker()
    plan, source = broker.plan(PROFILE)

    with pytest.raises(KeytuiError) as raised:
        broker.open(plan, source, "123456")

    assert raised.value.code == "ExpiredOnArrival"
    assert "this computer's clock is probably wrong" in str(raised.value)
    assert alice.session_entry() is None


def test_f10_a_duration_out_of_limits_spends_no_code(alice: MfaUser, faults: Faults) -> None:
    broker = alice.services().session_broker()

    with pytest.raises(KeytuiError, match="lasts 900–129600 seconds"):
        broker.plan(PROFILE, 899)

    assert faults.count("GetSessionToken") == 0


# -- F-05 on AWS's side, and a code used twice ---------------------------------------------------------------------


def test_f05_aws_refusing_the_code_stores_nothing(alice: MfaUser, faults: Faults) -> None:
    faults.deny("GetSessionToken", service="sts", message=INVALID_CODE)
    broker = alice.services().session_broker()
    plan, source = broker.plan(PROFILE)
    keyring_before = dict(alice.keyring.entries)

    with pytest.raises(MfaCodeError) as raised:
        broker.open(plan, source, "123456")

    assert str(raised.value) == CODE_REFUSED
    assert faults.count("GetSessionToken") == 1
    assert alice.keyring.entries == keyring_before  # nothing stored changed


def test_f05_a_code_used_by_another_keytui_is_refused_without_calling_aws(
    alice: MfaUser, faults: Faults, sandbox
) -> None:
    """Two keytui processes share the state folder: the second one refuses the code the first one spent."""
    first = alice.services()
    first.open_session("123456")
    second = alice.services()  # built afresh: only the state folder is shared
    second.session_broker().forget(PROFILE)

    with pytest.raises(MfaCodeError, match=r"^This code was already used \d+ s ago, and AWS accepts each code once\."):
        second.open_session("123456")

    assert faults.count("GetSessionToken") == 1
    assert alice.session_entry() is None
    record = sandbox.state_home / "keytui" / "used-mfa-codes.json"
    assert record.exists() and "123456" not in record.read_text()
    second.open_session("654321")  # the next code works
    assert faults.count("GetSessionToken") == 2


# -- F-06 on AWS's side --------------------------------------------------------------------------------------------


def test_f06_aws_refusing_the_serial_lists_the_users_real_devices(alice: MfaUser, faults: Faults) -> None:
    """The device was renamed to alice-phone; the profile still says mfa/alice."""
    from keytui.cli_vault import new_session

    phone = alice.iam.create_virtual_mfa_device(VirtualMFADeviceName="alice-phone")["VirtualMFADevice"]["SerialNumber"]
    alice.iam.enable_mfa_device(UserName=PROFILE, SerialNumber=phone, AuthenticationCode1="123456",
                                AuthenticationCode2="654321")
    faults.deny("GetSessionToken", service="sts", message=INVALID_SERIAL)
    config_before = alice.files.config.read_text()
    broker = alice.services().session_broker()

    with pytest.raises(MfaSerialError) as raised:
        new_session(broker, PROFILE, code_source=lambda: "123456")

    assert str(raised.value) == (
        f"AWS could not match mfa_serial {ALICE_SERIAL} to this user (profile 'alice'): it is not one of the user's "
        "MFA devices. keytui does not edit the profile silently; see the devices below. The user's MFA devices: "
        f"{phone}. Set `mfa_serial = {phone}` in the profile (`keytui session --profile alice --fix-serial` writes "
        "it after asking)."
    )
    assert raised.value.devices == (phone,)
    assert str(raised.value) != CODE_REFUSED  # told apart from F-05
    assert alice.files.config.read_text() == config_before  # never edited silently
    assert alice.session_entry() is None


def test_f06_a_user_without_devices_is_told_to_enroll(alice: MfaUser, faults: Faults) -> None:
    from keytui.cli_vault import new_session

    faults.deny("GetSessionToken", service="sts", message=INVALID_SERIAL)

    with pytest.raises(MfaSerialError) as raised:
        new_session(alice.services().session_broker(), PROFILE, code_source=lambda: "123456")

    assert str(raised.value).endswith("The user has no MFA device: enroll one with `keytui mfa enroll`.")
    assert raised.value.devices == ()


# -- F-08 ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [True, False], ids=["session-token", "asia-key"])
def test_f08_temporary_credentials_cannot_request_an_mfa_session(
    alice: MfaUser, aws_files: AwsFiles, faults: Faults, token: bool
) -> None:
    alice.write_config(f"[profile temp]\nregion = {REGION}\nmfa_serial = {ALICE_SERIAL}\n")
    aws_files.write(credentials=(
        "[temp]\naws_access_key_id = ASIATEMPORARY0000001\naws_secret_access_key = tempSecret/00000000000000000000000000001\n"
        + ("aws_session_token = FwoGZXIvYXdzTEMP\n" if token else "")
    ))
    services = alice.services()

    with pytest.raises(KeytuiError) as raised:
        services.open_session("123456", profile="temp")

    assert raised.value.code == "TemporarySource"
    assert str(raised.value) == (
        "Profile 'temp' holds temporary credentials (a session token or an ASIA… key), and AWS only gives MFA "
        "sessions to long-term keys. Use the profile of the long-term key, or store one with `keytui vault add "
        "temp`."
    )
    assert faults.count("GetSessionToken") == 0


def test_f08_mfa_iam_asks_for_a_code_and_signs_iam_with_the_session(
    alice: MfaUser, faults: Faults, sent: list[Sent]
) -> None:
    grant(faults)
    services = alice.services()
    asked: list[str] = []

    def prompt(what: str) -> str:
        asked.append(what)
        return "123456"

    upgrade = services.mfa_iam(prompt)
    assert asked == []  # nothing is asked until IAM needs it
    iam = upgrade()
    keys = iam.list_access_keys(PROFILE)

    assert asked == ["IAM needs an MFA session for profile 'alice'"]
    assert [k.key_id for k in keys] == [alice.key.access_key_id]
    assert (sent[-1].operation, sent[-1].key_id, sent[-1].token) == ("ListAccessKeys", SESSION_KEY_ID, SESSION_TOKEN)
    assert alice.session_entry()["SessionToken"] == SESSION_TOKEN


def test_f08_mfa_iam_with_a_refused_code_gives_no_iam_service(alice: MfaUser, faults: Faults) -> None:
    faults.deny("GetSessionToken", service="sts", message=INVALID_CODE)
    upgrade = alice.services().mfa_iam(lambda what: "123456")

    with pytest.raises(MfaCodeError, match="^AWS refused the MFA code"):
        upgrade()
    assert alice.session_entry() is None


def test_f08_an_iam_write_denied_without_mfa_asks_once_and_retries_with_a_session(
    alice: MfaUser, faults: Faults, sent: list[Sent]
) -> None:
    """Services.retry_with_mfa (the app's `d` and audit fixes): an explicit deny -> one code -> an MFA
    session (kept, and acted with) -> the same call once more, signed with the session."""
    grant(faults)
    services = alice.services()
    faults.deny("ListAccessKeys", when=lambda params: not [s for s in sent if s.operation == "GetSessionToken"])
    asked: list[str] = []

    def prompt(what: str) -> str:
        asked.append(what)
        return "123456"

    keys = services.retry_with_mfa(lambda: services.inventory_service()._iam.list_access_keys(PROFILE), prompt)

    assert len(asked) == 1 and asked[0].startswith("IAM denied this without MFA (AccessDenied)")
    assert [k.key_id for k in keys] == [alice.key.access_key_id]
    assert (sent[-1].operation, sent[-1].token) == ("ListAccessKeys", SESSION_TOKEN)
    assert alice.session_entry()["SessionToken"] == SESSION_TOKEN


def test_f08_without_a_prompt_or_without_mfa_serial_the_denial_is_shown_as_it_is(
    alice: MfaUser, faults: Faults
) -> None:
    services = alice.services()
    faults.deny("ListAccessKeys")

    with pytest.raises(KeytuiError, match="explicit deny"):
        services.retry_with_mfa(lambda: services.inventory_service()._iam.list_access_keys(PROFILE), None)
    alice.write_config(mfa_serial=None)
    with pytest.raises(KeytuiError, match="explicit deny"):
        services.retry_with_mfa(lambda: services.inventory_service()._iam.list_access_keys(PROFILE),
                                lambda what: pytest.fail("no question without mfa_serial"))
    assert faults.count("GetSessionToken") == 0


# -- role profiles -------------------------------------------------------------------------------------------------

ROLE_CONFIG = (
    f"[profile admin]\nregion = {REGION}\nrole_arn = {ROLE_ARN}\nsource_profile = alice\nmfa_serial = {ALICE_SERIAL}\n"
    "duration_seconds = 7200\nrole_session_name = alice-admin\n"
)


def create_role(alice: MfaUser) -> None:
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                      "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}}]}
    alice.iam.create_role(RoleName="Admin", AssumeRolePolicyDocument=json.dumps(trust), MaxSessionDuration=43_200)


def test_role_profile_assumes_the_role_with_the_source_key_from_the_keyring(
    alice: MfaUser, faults: Faults, sent: list[Sent], clock: FixedClock, run_cli
) -> None:
    create_role(alice)
    alice.write_config(ROLE_CONFIG)
    services = alice.services()

    session = services.open_session("123456", profile="admin")

    [call] = [c for c in faults.calls if c.operation == "AssumeRole"]
    assert call.params == {"RoleArn": ROLE_ARN, "RoleSessionName": "alice-admin", "DurationSeconds": 7200,
                           "SerialNumber": ALICE_SERIAL, "TokenCode": "123456"}
    [request] = [s for s in sent if s.operation == "AssumeRole"]
    assert (request.key_id, request.token) == (alice.key.access_key_id, None)
    assert faults.count("GetSessionToken") == 0
    assert session.access_key_id.startswith("ASIA") and abs(session.valid_for(clock.now()) - 7200) < 30
    stored = alice.session_entry("admin")
    assert stored["AccessKeyId"] == session.access_key_id and stored["Expiration"] == z(session.expiration)
    assert alice.session_entry(PROFILE) is None  # the source profile has no session of its own
    # credential_process for the role profile serves that session.
    result = run_cli("credential-process", "--profile", "admin")
    assert (result.code, result.err) == (0, "")
    assert json.loads(result.out)["SessionToken"] == stored["SessionToken"]


def test_role_profile_without_source_profile(alice: MfaUser, faults: Faults) -> None:
    alice.write_config(f"[profile admin]\nrole_arn = {ROLE_ARN}\nmfa_serial = {ALICE_SERIAL}\n")

    with pytest.raises(KeytuiError) as raised:
        alice.services().open_session("123456", profile="admin")

    assert raised.value.code == "NoSourceProfile"
    assert faults.count("AssumeRole") == 0


def test_f10_role_chained_from_a_session_is_capped_at_an_hour(
    alice: MfaUser, faults: Faults, sent: list[Sent], clock: FixedClock
) -> None:
    """The source profile has no long-term key in the keyring, only a valid session: role chaining."""
    create_role(alice)
    alice.write_config(ROLE_CONFIG.replace("source_profile = alice", "source_profile = hop"))
    hop = SessionCredentials("ASIAHOPSESSION000001", Secret("hopSecret/000000000000000000000000000001"),
                             Secret("FwoGZXIvYXdzHOP"), clock.now() + timedelta(hours=2))
    alice.vault.put_session("hop", hop)
    broker = alice.services().session_broker()

    with pytest.raises(KeytuiError, match=r"^A role session lasts 900–3600 seconds \(the source credentials are"):
        broker.plan("admin")  # duration_seconds = 7200
    plan, source = broker.plan("admin", 3600)
    broker.open(plan, source, "123456")

    assert plan.chained and source == hop
    [request] = [s for s in sent if s.operation == "AssumeRole"]
    assert (request.key_id, request.token) == ("ASIAHOPSESSION000001", "FwoGZXIvYXdzHOP")
    assert [c.params["DurationSeconds"] for c in faults.calls if c.operation == "AssumeRole"] == [3600]


# -- F-09: expiry, margin and countdown, under several time zones -------------------------------------------------

ZONES = {"UTC": 0, "America/Los_Angeles": -8 * 3600, "Asia/Kolkata": 5 * 3600 + 1800, "Pacific/Chatham": 13 * 3600 + 2700}
AT = datetime(2026, 12, 3, 12, 0, tzinfo=timezone.utc)


@pytest.fixture(params=sorted(ZONES))
def local_zone(request: pytest.FixtureRequest) -> Any:
    """The process's local time zone (TZ + tzset), for the test; restored afterwards."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = request.param
    time.tzset()
    assert time.localtime(AT.timestamp()).tm_gmtoff == ZONES[request.param]  # the zone really applies
    yield request.param
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()


def session_ending(at: datetime) -> SessionCredentials:
    return SessionCredentials("ASIATZSESSION0000001", Secret("tzSecret/0000000000000000000000000000001"),
                              Secret("FwoGZXIvYXdzTZ"), at)


def a_broker(alice: MfaUser, clock: FixedClock) -> SessionBroker:
    return SessionBroker(alice.vault, alice.files.config, alice.files.credentials, clock, margin=300)


@pytest.mark.parametrize(
    ("left", "valid", "expired", "text"),
    [
        (129_600, True, False, "MFA session, 36:00:00 left"),
        (3600, True, False, "MFA session, 1:00:00 left"),
        (301, True, False, "MFA session, 5:01 left"),
        (300, False, False, "MFA session ends in 5:00 (inside the 5 min refresh margin: renew it)"),
        (1, False, False, "MFA session ends in 0:01 (inside the 5 min refresh margin: renew it)"),
        (0, False, True, "MFA session expired"),
        (-3600, False, True, "MFA session expired"),
    ],
)
def test_f09_session_states_in_every_time_zone(
    alice: MfaUser, local_zone: str, left: int, valid: bool, expired: bool, text: str
) -> None:
    clock = FixedClock(at=AT)
    # Stored from a datetime in the local zone: the keyring holds UTC with Z, the countdown is the same.
    ends = (AT + timedelta(seconds=left)).astimezone()
    alice.vault.put_session(PROFILE, session_ending(ends))
    broker = a_broker(alice, clock)

    state = broker.state(PROFILE)

    assert alice.session_entry()["Expiration"] == z(AT + timedelta(seconds=left))
    assert (state.valid, state.expired, state.seconds_left) == (valid, expired, left)
    assert state.describe() == text
    assert state.mfa_serial == ALICE_SERIAL


def test_f09_no_session_is_said_as_such(alice: MfaUser, local_zone: str) -> None:
    state = a_broker(alice, FixedClock(at=AT)).state(PROFILE)
    assert (state.valid, state.expired, state.describe()) == (False, False, "no MFA session")
    assert SessionState("x", None, None, 300).describe() == "no MFA session"


def test_f09_cached_serves_a_valid_session_and_keeps_one_inside_the_margin(alice: MfaUser, local_zone: str) -> None:
    clock = FixedClock(at=AT)
    alice.vault.put_session(PROFILE, session_ending(AT + timedelta(seconds=301)))
    broker = a_broker(alice, clock)

    assert broker.cached(PROFILE) is not None
    clock.advance(1)  # now inside the margin: not served, not dropped (it is still valid for AWS)
    assert broker.cached(PROFILE) is None
    assert alice.session_entry() is not None


def test_f09_an_expired_session_is_dropped_and_never_served(alice: MfaUser, local_zone: str) -> None:
    clock = FixedClock(at=AT)
    alice.vault.put_session(PROFILE, session_ending(AT + timedelta(seconds=60)))
    broker = a_broker(alice, clock)
    clock.advance(60)

    assert broker.cached(PROFILE) is None
    assert alice.session_entry() is None  # dropped from the keyring
    assert alice.vault.get_key(PROFILE) == alice.key  # ... and only the session: the long-term key stays
    assert broker.state(PROFILE).describe() == "no MFA session"


def test_f09_forget_deletes_the_session_only(alice: MfaUser) -> None:
    alice.vault.put_session(PROFILE, session_ending(AT + timedelta(hours=1)))

    a_broker(alice, FixedClock(at=AT)).forget(PROFILE)

    assert alice.session_entry() is None
    assert alice.vault.get_key(PROFILE) == alice.key


def test_f09_moto_session_expiry_is_read_as_utc_in_every_time_zone(
    alice: MfaUser, local_zone: str, clock: FixedClock
) -> None:
    """moto sends Expiration without a zone; it is UTC, not the machine's local time."""
    session = alice.services().open_session("123456", duration=900)

    assert session.expiration.utcoffset() == timedelta(0)
    assert abs(session.valid_for(datetime.now(timezone.utc)) - 900) < 30


def test_format_duration() -> None:
    assert [format_duration(s) for s in (0, 59, 60, 3599, 3600, 129_600, -5, 61.9)] == [
        "0:00", "0:59", "1:00", "59:59", "1:00:00", "36:00:00", "0:00", "1:01"
    ]


def test_used_codes_are_kept_per_device_by_the_broker(alice: MfaUser, faults: Faults, tmp_path) -> None:
    """A broker without a state folder still refuses a code it spent itself (in memory)."""
    broker = SessionBroker(alice.vault, alice.files.config, alice.files.credentials, FixedClock(at=datetime.now(timezone.utc)),
                           used_codes=UsedCodes(None, FixedClock(at=datetime.now(timezone.utc))))
    plan, source = broker.plan(PROFILE)
    broker.open(plan, source, "123456")

    with pytest.raises(MfaCodeError, match="already used"):
        broker.open(plan, source, "123456")
    assert faults.count("GetSessionToken") == 1


def test_a_keyring_that_cannot_take_the_session_spends_no_code(alice: MfaUser, faults: Faults, use_keyring) -> None:
    from keyring.errors import PasswordSetError

    class ReadOnly(MemoryKeyring):
        def set_password(self, service: str, username: str, password: str) -> None:
            raise PasswordSetError("write access denied")

    backend = ReadOnly()
    backend.entries = dict(alice.keyring.entries)
    broker = SessionBroker(Vault(backend), alice.files.config, alice.files.credentials, FixedClock(at=AT))
    plan, source = broker.plan(PROFILE)

    with pytest.raises(KeytuiError, match="refused the write"):
        broker.open(plan, source, "123456")
    assert faults.count("GetSessionToken") == 0


# -- F-09: AWS says the session expired although it looked valid ---------------------------------------------------


def test_f09_expired_token_drops_the_session_and_keytui_acts_with_the_key_again(
    alice: MfaUser, faults: Faults, sent: list[Sent]
) -> None:
    grant(faults)
    services = alice.services()
    services.open_session("123456")
    services.identity()
    assert sent[-1].key_id == SESSION_KEY_ID  # acting with the session
    faults.deny("ListUsers", code="ExpiredToken", message="The security token included in the request is expired")
    with pytest.raises(KeytuiError) as raised:
        list(IamService(services.aws.client("iam"), services.clock).iter_users())
    assert raised.value.code == "ExpiredToken"

    assert services.drop_expired_session(raised.value) is True

    assert alice.session_entry() is None
    assert alice.vault.get_key(PROFILE) == alice.key  # the long-term key is never dropped with the session
    services.identity()
    assert (sent[-1].key_id, sent[-1].token) == (alice.key.access_key_id, None)
    assert services.drop_expired_session(raised.value) is False  # nothing left to drop


def test_f09_other_errors_do_not_drop_the_session(alice: MfaUser, faults: Faults) -> None:
    grant(faults)
    services = alice.services()
    services.open_session("123456")

    assert services.drop_expired_session(KeytuiError("denied", code="AccessDenied")) is False
    assert alice.session_entry() is not None
