"""`keytui mfa enroll|list|remove|resync` and `keytui session`, run in this process against moto with a scripted
terminal standing in for /dev/tty (the QR code drawn there is decoded back to read the seed, as a phone
would). Exit codes, stdout/stderr, what reached AWS, the keyring and the config file are asserted."""

from __future__ import annotations

import configparser
import json
import re
import sys
import time
from collections.abc import Callable
from typing import Any

import botocore.session
import pytest
from botocore.stub import Stubber

from keytui.core.clock import FixedClock
from keytui.core.mfa import MfaCodeError, MfaService, serial_for

from ..conftest import ACCOUNT_ID, REGION, Faults
from .conftest import (
    ALICE_SERIAL,
    PROFILE,
    SESSION_KEY_ID,
    SESSION_TOKEN,
    MfaUser,
    ScriptedTerminal,
    answers,
    grant,
    mfa_state,
    qr_lines,
    seed_of,
    totp_pair,
    uri_from_qr,
    virtual_devices,
)
from .test_sessions import CODE_REFUSED, INVALID_CODE, INVALID_SERIAL

NO_TERMINAL_SESSION = (
    "keytui: Profile 'alice' needs an MFA session and none is valid, and there is no terminal to ask for the code "
    "on. Run `keytui session --profile alice` in a terminal, then retry.\n"
)


def enroll_answers(
    codes: Callable[[str, int], tuple[str, str]] = lambda seed, attempt: totp_pair(seed, time.time()),
    *,
    write_profile: str | None = "",
    leftover: str | None = None,
) -> Callable[[ScriptedTerminal], str | None]:
    """Answers the enrollment's questions: reads the seed from the QR code on the terminal, types the codes
    `codes(seed, attempt)` gives, and answers the profile question with `write_profile`."""
    state: dict[str, Any] = {"attempt": 0}

    def answer(tty: ScriptedTerminal) -> str | None:
        prompt = tty.prompt
        if prompt.startswith("Delete the leftover device"):
            return leftover
        if prompt.startswith("First code (changes in "):
            state["attempt"] += 1
            state["pair"] = codes(seed_of(uri_from_qr(qr_lines(tty.transcript))), state["attempt"])
            return state["pair"][0]
        if prompt.startswith("Wait for the next code ("):
            return state["pair"][1]
        if prompt.startswith("Write mfa_serial = "):
            return write_profile
        raise AssertionError(f"unexpected question on the terminal: {prompt!r}")

    return answer


def profile_setting(user: MfaUser, profile: str, name: str) -> str | None:
    parser = configparser.RawConfigParser()
    parser.read_string(user.files.config.read_text())
    return parser.get(f"profile {profile}", name, fallback=None)


@pytest.fixture
def enrolling(alice: MfaUser) -> MfaUser:
    """alice, whose profile has no mfa_serial yet."""
    alice.write_config(mfa_serial=None)
    return alice


# -- enroll -----------------------------------------------------------------------------------------------------


def test_enroll_end_to_end_on_a_terminal(enrolling: MfaUser, terminal, run_cli, faults: Faults) -> None:
    tty = terminal(enroll_answers())

    result = run_cli("mfa", "enroll", "--profile", PROFILE)

    assert (result.code, result.err) == (0, ""), result
    assert result.out == (
        f"MFA enabled for alice: {ALICE_SERIAL}.\n"
        "Profile 'alice' now has mfa_serial; get a session with: keytui session --profile alice\n"
    )
    assert mfa_state(enrolling.iam, PROFILE) == [ALICE_SERIAL]
    assert profile_setting(enrolling, PROFILE, "mfa_serial") == ALICE_SERIAL
    lines = qr_lines(tty.transcript)
    uri = uri_from_qr(lines)
    seed = seed_of(uri)
    assert uri == f"otpauth://totp/AWS:alice@{ACCOUNT_ID}?secret={seed}&issuer=AWS"
    assert len(seed) >= 16 and seed not in result.out + result.err
    assert len(lines) <= 24 and len(lines[0]) <= 80  # fits an 80x24 terminal
    # The seed is offered masked; it is shown only when asked for ('s').
    assert "Secret for manual entry: •••••••••••••••• (type 's' to show it)" in tty.transcript
    assert seed not in tty.transcript.replace(uri, "")
    assert f"Write mfa_serial = {ALICE_SERIAL} into profile 'alice'? [Y/n] " in tty.transcript
    assert faults.count("EnableMFADevice") == 1


def test_enroll_shows_the_seed_only_when_asked(enrolling: MfaUser, terminal, run_cli) -> None:
    seen: dict[str, str] = {}

    def answer(tty: ScriptedTerminal) -> str | None:
        if tty.prompt.startswith("First code") and "seed" not in seen:
            seen["seed"] = ""
            return "s"
        if tty.prompt.startswith("First code"):
            seen["seed"] = re.search(r"Secret: ([A-Z2-7]+)\n", tty.transcript).group(1)
            seen["pair"] = totp_pair(seen["seed"], time.time())
            return seen["pair"][0]
        if tty.prompt.startswith("Wait for the next code"):
            return seen["pair"][1]
        return "n"

    tty = terminal(answer)
    result = run_cli("mfa", "enroll", "--profile", PROFILE)

    assert result.code == 0, result
    assert seen["seed"] == seed_of(uri_from_qr(qr_lines(tty.transcript)))
    assert "mfa_serial" not in enrolling.files.config.read_text()  # 'n': the profile is left alone
    assert "now has mfa_serial" not in result.out


def test_f07_identical_codes_are_refused_and_asked_again(enrolling: MfaUser, terminal, run_cli, faults: Faults) -> None:
    def codes(seed: str, attempt: int) -> tuple[str, str]:
        first, second = totp_pair(seed, time.time())
        return (second, second) if attempt == 1 else (first, second)

    tty = terminal(enroll_answers(codes))
    result = run_cli("mfa", "enroll", "--profile", PROFILE, "--no-write-profile")

    assert result.code == 0, result
    assert "The two codes are the same. The second code must be the next one: wait until the app shows a new code" in tty.transcript
    assert tty.transcript.count("First code (changes in ") == 2
    assert faults.count("EnableMFADevice") == 1  # the refused pair never reached AWS
    assert mfa_state(enrolling.iam, PROFILE) == [ALICE_SERIAL]
    assert "mfa_serial" not in enrolling.files.config.read_text()


def test_f07_three_refused_attempts_delete_the_new_device(enrolling: MfaUser, terminal, run_cli, faults: Faults) -> None:
    tty = terminal(enroll_answers(lambda seed, attempt: totp_pair("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", time.time())))

    result = run_cli("mfa", "enroll", "--profile", PROFILE)

    assert result.code == 1
    assert result.err == (
        "keytui: These codes do not come from this device's secret. Scan the QR code shown here (or type the secret "
        "shown for manual entry), not one from an earlier attempt, then type two consecutive codes.\n"
    )
    assert result.out == ""
    assert tty.transcript.count("First code (changes in ") == 3
    assert f"Enrollment cancelled; the new device {ALICE_SERIAL} was deleted.\n" in tty.transcript
    assert faults.count("EnableMFADevice") == 0
    assert virtual_devices(enrolling.iam) == {} and mfa_state(enrolling.iam, PROFILE) == []
    assert "mfa_serial" not in enrolling.files.config.read_text()


def test_f07_cancelling_at_the_prompt_deletes_the_new_device(enrolling: MfaUser, terminal, run_cli) -> None:
    tty = terminal(answers())  # Ctrl-D at the first question

    result = run_cli("mfa", "enroll", "--profile", PROFILE)

    assert (result.code, result.out) == (1, "")
    assert result.err == "keytui: Cancelled (end of input at a prompt); nothing was changed.\n"
    assert f"Enrollment cancelled; the new device {ALICE_SERIAL} was deleted.\n" in tty.transcript
    assert virtual_devices(enrolling.iam) == {}


def test_enroll_without_a_terminal_creates_nothing(enrolling: MfaUser, run_cli, faults: Faults) -> None:
    result = run_cli("mfa", "enroll", "--profile", PROFILE)

    assert (result.code, result.out) == (1, "")
    assert result.err == (
        "keytui: Enrolling shows a QR code and asks for two codes on a terminal, and there is no terminal here. Run it "
        "interactively.\n"
    )
    assert faults.count("CreateVirtualMFADevice") == 0 and virtual_devices(enrolling.iam) == {}


@pytest.mark.parametrize("how", ["asked", "--replace-leftover"])
def test_f07_leftover_device_is_deleted_after_consent_and_enrollment_starts_again(
    enrolling: MfaUser, terminal, run_cli, faults: Faults, how: str
) -> None:
    leftover = enrolling.iam.create_virtual_mfa_device(VirtualMFADeviceName="alice")["VirtualMFADevice"]["SerialNumber"]
    tty = terminal(enroll_answers(leftover="y"))

    result = run_cli("mfa", "enroll", "--profile", PROFILE, "--no-write-profile",
                     *(["--replace-leftover"] if how != "asked" else []))

    assert result.code == 0, result
    assert "is not assigned to anyone: an earlier enrollment was abandoned" in tty.transcript
    assert ("Delete the leftover device and start again? [y/N] " in tty.transcript) == (how == "asked")
    operations = [c.operation for c in faults.calls if "MFA" in c.operation]
    assert operations[:4] == ["CreateVirtualMFADevice", "ListVirtualMFADevices", "ListVirtualMFADevices",
                              "DeleteVirtualMFADevice"]
    assert operations[4] == "CreateVirtualMFADevice"
    assert virtual_devices(enrolling.iam) == {leftover: PROFILE}


def test_f07_leftover_kept_when_the_user_says_no(enrolling: MfaUser, terminal, run_cli, faults: Faults) -> None:
    leftover = enrolling.iam.create_virtual_mfa_device(VirtualMFADeviceName="alice")["VirtualMFADevice"]["SerialNumber"]
    terminal(enroll_answers(leftover="n"))

    result = run_cli("mfa", "enroll", "--profile", PROFILE)

    assert result.code == 1
    assert result.err.startswith("keytui: A virtual MFA device named 'alice' already exists and is not assigned")
    assert faults.count("DeleteVirtualMFADevice") == 0
    assert virtual_devices(enrolling.iam) == {leftover: None}


def test_f07_a_device_in_use_is_never_offered_for_deletion(enrolling: MfaUser, terminal, run_cli, faults: Faults) -> None:
    enrolling.iam.create_user(UserName="carol")
    serial = enrolling.iam.create_virtual_mfa_device(VirtualMFADeviceName="carol")["VirtualMFADevice"]["SerialNumber"]
    enrolling.iam.enable_mfa_device(UserName="carol", SerialNumber=serial, AuthenticationCode1="123456",
                                    AuthenticationCode2="654321")
    tty = terminal(enroll_answers(leftover="y"))

    result = run_cli("mfa", "enroll", "carol", "--profile", PROFILE, "--replace-leftover")

    assert result.code == 1
    assert result.err == (
        "keytui: A virtual MFA device named 'carol' already exists and is in use. Choose another device name "
        "(`--device-name`).\n"
    )
    assert "Delete the leftover" not in tty.transcript
    assert faults.count("DeleteVirtualMFADevice") == 0
    assert virtual_devices(enrolling.iam) == {serial: "carol"}


def test_enroll_warns_about_a_skewed_phone_clock(enrolling: MfaUser, terminal, run_cli) -> None:
    terminal(enroll_answers(lambda seed, attempt: totp_pair(seed, time.time(), offset=3)))

    result = run_cli("mfa", "enroll", "--profile", PROFILE, "--no-write-profile")

    assert result.code == 0, result
    assert re.fullmatch(
        r"keytui: warning: The phone's clock seems to be about (90|60) s ahead of this computer's\. AWS accepts small "
        r"differences, but set the phone's time automatically \(network time\) or sign-ins will fail\.\n",
        result.err,
    ), result.err


def test_enroll_for_another_user_writes_the_named_profile_without_asking(
    enrolling: MfaUser, terminal, run_cli
) -> None:
    enrolling.iam.create_user(UserName="dave")
    tty = terminal(enroll_answers(write_profile=None))

    result = run_cli("mfa", "enroll", "dave", "--device-name", "dave-phone", "--profile", PROFILE,
                     "--write-profile", "dave")

    serial = serial_for(ACCOUNT_ID, "dave-phone")
    assert result.code == 0, result
    assert mfa_state(enrolling.iam, "dave") == [serial] and mfa_state(enrolling.iam, PROFILE) == []
    assert "Write mfa_serial" not in tty.transcript
    assert profile_setting(enrolling, "dave", "mfa_serial") == serial


# -- list / remove / resync -------------------------------------------------------------------------------------


@pytest.fixture
def carol(alice: MfaUser) -> str:
    alice.iam.create_user(UserName="carol")
    serial = alice.iam.create_virtual_mfa_device(VirtualMFADeviceName="carol")["VirtualMFADevice"]["SerialNumber"]
    alice.iam.enable_mfa_device(UserName="carol", SerialNumber=serial, AuthenticationCode1="123456",
                                AuthenticationCode2="654321")
    return serial


def test_mfa_list_json(carol: str, run_cli) -> None:
    result = run_cli("mfa", "list", "carol", "--json", "--profile", PROFILE)

    assert (result.code, result.err) == (0, "")
    document = json.loads(result.out)
    assert list(document) == ["user", "devices"] and document["user"] == "carol"
    [device] = document["devices"]
    assert list(device) == ["serial", "virtual", "enabled"]
    assert (device["serial"], device["virtual"]) == (carol, True)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", device["enabled"])


def test_mfa_list_of_the_profiles_own_user_and_of_a_user_without_devices(alice: MfaUser, run_cli) -> None:
    assert json.loads(run_cli("mfa", "list", "--json", "--profile", PROFILE).out) == {"user": "alice", "devices": []}
    result = run_cli("mfa", "list", "--profile", PROFILE)
    assert (result.code, result.out) == (0, "alice has no MFA device. Enroll one with: keytui mfa enroll alice\n")


def test_mfa_remove_with_yes_deactivates_and_deletes(carol: str, alice: MfaUser, run_cli, faults: Faults) -> None:
    result = run_cli("mfa", "remove", "carol", "--yes", "--profile", PROFILE)

    assert (result.code, result.out, result.err) == (0, f"Removed {carol} from carol.\n", "")
    assert [c.operation for c in faults.calls if c.operation in {"DeactivateMFADevice", "DeleteVirtualMFADevice"}] == [
        "DeactivateMFADevice", "DeleteVirtualMFADevice"
    ]
    assert mfa_state(alice.iam, "carol") == [] and virtual_devices(alice.iam) == {}


def test_mfa_remove_refuses_without_yes_and_without_a_terminal(carol: str, alice: MfaUser, run_cli, faults: Faults) -> None:
    result = run_cli("mfa", "remove", "carol", "--profile", PROFILE)

    assert (result.code, result.out) == (2, "")
    assert result.err == "keytui: keytui mfa remove: confirm with --yes when there is no terminal.\n"
    assert faults.count("DeactivateMFADevice") == 0
    assert mfa_state(alice.iam, "carol") == [carol]


def test_mfa_remove_a_serial_the_user_does_not_have(carol: str, alice: MfaUser, run_cli, faults: Faults) -> None:
    other = serial_for(ACCOUNT_ID, "carol-old")

    result = run_cli("mfa", "remove", "carol", "--serial", other, "--yes", "--profile", PROFILE)

    assert result.code == 2
    assert result.err == f"keytui: {other} is not one of carol's MFA devices ({carol}).\n"
    assert faults.count("DeactivateMFADevice") == 0 and mfa_state(alice.iam, "carol") == [carol]


def stubbed_iam() -> tuple[Any, Stubber]:
    client = botocore.session.Session().create_client(
        "iam", region_name=REGION, aws_access_key_id="AKIASTUBBED000000001",
        aws_secret_access_key="stubbed/000000000000000000000000000000001",
    )
    return client, Stubber(client)


def test_resync_sends_the_two_codes(clock: FixedClock) -> None:
    client, stubber = stubbed_iam()
    serial = serial_for(ACCOUNT_ID, "alice")
    stubber.add_response("resync_mfa_device", {}, {"UserName": "alice", "SerialNumber": serial,
                                                   "AuthenticationCode1": "123456", "AuthenticationCode2": "654321"})

    with stubber:
        MfaService(client, clock, ACCOUNT_ID).resync("alice", serial, "123 456", "654321")

    stubber.assert_no_pending_responses()


def test_resync_codes_refused_by_aws(clock: FixedClock) -> None:
    client, stubber = stubbed_iam()
    stubber.add_client_error("resync_mfa_device", service_error_code="InvalidAuthenticationCode",
                             service_message="Authentication code for device is not valid.", http_status_code=403)

    with stubber, pytest.raises(MfaCodeError) as raised:
        MfaService(client, clock, ACCOUNT_ID).resync("alice", serial_for(ACCOUNT_ID, "alice"), "123456", "654321")

    assert str(raised.value) == (
        "AWS did not accept the two codes for resynchronisation. Type two consecutive codes from the app for this device."
    )


@pytest.mark.parametrize(("first", "second", "said"), [
    ("123456", "123456", "The two codes are the same. Type one code, wait for the next one, and type that."),
    ("12345", "654321", "An MFA code is exactly six digits; got 5 digits."),
])
def test_resync_bad_codes_are_refused_before_aws(clock: FixedClock, first: str, second: str, said: str) -> None:
    client, stubber = stubbed_iam()  # no response stubbed: any call would fail the test differently

    with stubber, pytest.raises(MfaCodeError) as raised:
        MfaService(client, clock, ACCOUNT_ID).resync("alice", serial_for(ACCOUNT_ID, "alice"), first, second)

    assert str(raised.value).startswith(said)


@pytest.fixture
def resync_answered(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """moto does not implement ResyncMFADevice: answer it with AWS's empty success before it is sent (as
    botocore's Stubber does) and record the request's parameters."""
    from botocore.awsrequest import AWSResponse

    requests: list[dict[str, Any]] = []
    create = botocore.session.Session.create_client

    def create_answering(self: botocore.session.Session, *args: Any, **kwargs: Any) -> Any:
        client = create(self, *args, **kwargs)

        def answer(params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
            requests.append(dict(params["body"]))
            return AWSResponse(params["url"], 200, {}, None), {"ResponseMetadata": {"HTTPStatusCode": 200}}

        client.meta.events.register("before-call.iam.ResyncMFADevice", answer)
        return client

    monkeypatch.setattr(botocore.session.Session, "create_client", create_answering)
    return requests


def test_mfa_resync_asks_for_two_codes_on_the_terminal(carol: str, terminal, run_cli, resync_answered) -> None:
    tty = terminal(answers("123456", "654321"))

    result = run_cli("mfa", "resync", "carol", "--profile", PROFILE)

    assert (result.code, result.out, result.err) == (0, f"Resynchronised {carol} of carol.\n", "")
    assert f"Code now shown for {carol}: " in tty.transcript and "Wait for the next code, then type it: " in tty.transcript
    [params] = resync_answered
    assert {k: params[k] for k in ("UserName", "SerialNumber", "AuthenticationCode1", "AuthenticationCode2")} == {
        "UserName": "carol", "SerialNumber": carol, "AuthenticationCode1": "123456", "AuthenticationCode2": "654321"
    }


def test_mfa_resync_without_a_terminal(carol: str, run_cli, resync_answered) -> None:
    result = run_cli("mfa", "resync", "carol", "--profile", PROFILE)

    assert result.code == 1
    assert result.err == "keytui: keytui mfa resync asks for two codes on a terminal, and there is no terminal.\n"
    assert resync_answered == []


# -- keytui session ---------------------------------------------------------------------------------------------

EXPIRES = r"\(expires \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\)"


def test_session_status_code_stdin_reuse_renew_and_forget(alice: MfaUser, run_cli, faults: Faults) -> None:
    grant(faults)

    status = run_cli("session", "--profile", PROFILE, "--status")
    assert (status.code, status.out, status.err) == (1, "alice: no MFA session\n", "")

    opened = run_cli("session", "--profile", PROFILE, "--duration", "3600", "--code-stdin", stdin="123456\n")
    assert (opened.code, opened.err) == (0, "")
    label = alice.vault.info.label
    assert re.fullmatch(
        rf"MFA session for profile 'alice' stored in the keyring \({re.escape(label)}\): MFA session, 59:\d\d left "
        rf"{EXPIRES}\.\nTools configured with `credential_process = keytui credential-process --profile alice` get "
        r"it; or run `keytui exec --profile alice -- COMMAND`\.\n",
        opened.out,
    ), opened.out
    assert alice.session_entry()["SessionToken"] == SESSION_TOKEN
    assert [c.params for c in faults.calls if c.operation == "GetSessionToken"] == [
        {"DurationSeconds": 3600, "SerialNumber": ALICE_SERIAL, "TokenCode": "123456"}
    ]
    expires = alice.session_entry()["Expiration"].replace("T", " ").replace("Z", " UTC")

    status = run_cli("session", "--profile", PROFILE, "--status")
    assert status.code == 0 and re.fullmatch(rf"alice: MFA session, 59:\d\d left \(expires {expires}\)\n", status.out)

    again = run_cli("session", "--profile", PROFILE, "--code-stdin", stdin="654321\n")
    assert again.code == 0 and again.out.startswith("Profile 'alice' already has an MFA session: MFA session, 59:")
    assert again.out.endswith("Use --renew for a new one.\n")
    assert faults.count("GetSessionToken") == 1  # the valid session is reused: no code spent

    renewed = run_cli("session", "--profile", PROFILE, "--renew", "--code-stdin", stdin="654321\n")
    assert renewed.code == 0 and re.search(r"MFA session, 11:59:\d\d left", renewed.out)
    assert faults.count("GetSessionToken") == 2

    forgotten = run_cli("session", "--profile", PROFILE, "--forget")
    assert (forgotten.code, forgotten.out) == (0, "Deleted the MFA session of profile 'alice' from the keyring.\n")
    assert alice.session_entry() is None
    assert alice.vault.get_key(PROFILE) == alice.key  # --forget forgets the session, not the key
    assert run_cli("session", "--profile", PROFILE, "--status").code == 1


def test_session_code_stdin_refused_locally(alice: MfaUser, run_cli, faults: Faults) -> None:
    result = run_cli("session", "--profile", PROFILE, "--code-stdin", stdin="12345\n")

    assert (result.code, result.out) == (1, "")
    assert result.err == "keytui: An MFA code is exactly six digits; got 5 digits. Type the code your authenticator app shows.\n"
    assert faults.count("GetSessionToken") == 0


def test_session_reused_code_is_refused_in_the_next_run(alice: MfaUser, run_cli, faults: Faults) -> None:
    assert run_cli("session", "--profile", PROFILE, "--code-stdin", stdin="123456\n").code == 0

    result = run_cli("session", "--profile", PROFILE, "--renew", "--code-stdin", stdin="123456\n")

    assert result.code == 1
    assert re.fullmatch(r"keytui: This code was already used \d+ s ago, and AWS accepts each code once\. Wait for the "
                        r"next code \(about \d+ s\) and type that\.\n", result.err)
    assert faults.count("GetSessionToken") == 1


def test_f10_session_duration_out_of_limits(alice: MfaUser, run_cli, faults: Faults) -> None:
    result = run_cli("session", "--profile", PROFILE, "--duration", "129601", "--code-stdin", stdin="123456\n")

    assert (result.code, result.out) == (1, "")
    assert result.err == (
        "keytui: An MFA session (GetSessionToken) lasts 900–129600 seconds (15 min to 36 h); 129601 was asked. "
        "Nothing was sent to AWS.\n"
    )
    assert faults.count("GetSessionToken") == 0


def test_session_without_a_code_source_and_without_a_terminal(alice: MfaUser, run_cli, faults: Faults) -> None:
    result = run_cli("session", "--profile", PROFILE)

    assert (result.code, result.out, result.err) == (1, "", NO_TERMINAL_SESSION)
    assert faults.count("GetSessionToken") == 0


def test_f05_session_asks_again_on_the_terminal_at_most_three_times(
    alice: MfaUser, terminal, run_cli, faults: Faults
) -> None:
    faults.deny("GetSessionToken", service="sts", message=INVALID_CODE)
    tty = terminal(answers("111111", "222222", "333333", "444444"))

    result = run_cli("session", "--profile", PROFILE)

    assert (result.code, result.out, result.err) == (1, "", f"keytui: {CODE_REFUSED}\n")
    prompt = f"MFA code for profile 'alice' ({ALICE_SERIAL}): "
    assert tty.transcript == (
        f"{prompt}111111\n{CODE_REFUSED}\n{prompt}222222\n{CODE_REFUSED}\n{prompt}333333\n"
    )
    assert [c.params["TokenCode"] for c in faults.calls if c.operation == "GetSessionToken"] == [
        "111111", "222222", "333333"
    ]
    assert alice.session_entry() is None


def test_f05_a_typo_then_a_good_code(alice: MfaUser, terminal, run_cli, faults: Faults) -> None:
    grant(faults)
    tty = terminal(answers("12345", "123456"))

    result = run_cli("session", "--profile", PROFILE)

    assert result.code == 0, result
    assert "An MFA code is exactly six digits; got 5 digits." in tty.transcript
    assert [c.params["TokenCode"] for c in faults.calls if c.operation == "GetSessionToken"] == ["123456"]
    assert alice.session_entry()["AccessKeyId"] == SESSION_KEY_ID


@pytest.fixture
def renamed_device(alice: MfaUser, faults: Faults) -> str:
    """alice's device is alice-phone; the profile says mfa/alice, and AWS says so (F-06)."""
    phone = alice.iam.create_virtual_mfa_device(VirtualMFADeviceName="alice-phone")["VirtualMFADevice"]["SerialNumber"]
    alice.iam.enable_mfa_device(UserName=PROFILE, SerialNumber=phone, AuthenticationCode1="123456",
                                AuthenticationCode2="654321")
    faults.deny("GetSessionToken", service="sts", message=INVALID_SERIAL)
    return phone


def test_f06_session_names_the_real_device_and_how_to_fix(alice: MfaUser, renamed_device: str, run_cli) -> None:
    config = alice.files.config.read_text()

    result = run_cli("session", "--profile", PROFILE, "--code-stdin", stdin="123456\n")

    assert (result.code, result.out) == (1, "")
    assert f"AWS could not match mfa_serial {ALICE_SERIAL} to this user (profile 'alice')" in result.err
    assert result.err.endswith(
        f"The user's MFA devices: {renamed_device}. Set `mfa_serial = {renamed_device}` in the profile (`keytui "
        "session --profile alice --fix-serial` writes it after asking).\n"
    )
    assert alice.files.config.read_text() == config


@pytest.mark.parametrize(("answer", "code"), [("n", 1), ("", 1), ("y", 0)])
def test_f06_fix_serial_writes_the_device_only_after_a_yes(
    alice: MfaUser, renamed_device: str, terminal, run_cli, answer: str, code: int
) -> None:
    config = alice.files.config.read_text()
    tty = terminal(answers(answer))

    result = run_cli("session", "--profile", PROFILE, "--code-stdin", "--fix-serial", stdin="123456\n")

    assert result.code == code
    assert f"Write mfa_serial = {renamed_device} into profile 'alice'? [y/N] " in tty.transcript
    assert "AWS could not match mfa_serial" in result.err
    if answer == "y":
        assert result.out == f"Profile 'alice' now has mfa_serial = {renamed_device}. Run `keytui session` again.\n"
        assert alice.files.config.read_text() == config.replace(ALICE_SERIAL, renamed_device)
    else:
        assert result.out == "The profile was not changed.\n"
        assert alice.files.config.read_text() == config


def test_f06_fix_serial_without_a_terminal_changes_nothing(alice: MfaUser, renamed_device: str, run_cli) -> None:
    config = alice.files.config.read_text()

    result = run_cli("session", "--profile", PROFILE, "--code-stdin", "--fix-serial", stdin="123456\n")

    assert result.code == 1 and "--fix-serial asks before editing the profile, and there is no terminal." in result.err
    assert alice.files.config.read_text() == config


def test_f08_session_for_a_temporary_profile(alice: MfaUser, run_cli, faults: Faults) -> None:
    alice.write_config(f"[profile temp]\nregion = {REGION}\nmfa_serial = {ALICE_SERIAL}\n")
    alice.files.write(credentials="[temp]\naws_access_key_id = ASIATEMPORARY0000001\n"
                                  "aws_secret_access_key = tempSecret/00000000000000000000000000001\n"
                                  "aws_session_token = FwoGZXIvYXdzTEMP\n")

    result = run_cli("session", "--profile", "temp", "--code-stdin", stdin="123456\n")

    assert result.code == 1
    assert result.err == (
        "keytui: Profile 'temp' holds temporary credentials (a session token or an ASIA… key), and AWS only gives MFA "
        "sessions to long-term keys. Use the profile of the long-term key, or store one with `keytui vault add "
        "temp`.\n"
    )
    assert faults.count("GetSessionToken") == 0


# -- credential-process and exec never fall back to the long-term key (F-09) ----------------------------------------


def test_f09_credential_process_asks_on_the_terminal_and_prints_only_json(
    alice: MfaUser, terminal, run_cli, faults: Faults
) -> None:
    grant(faults)
    tty = terminal(answers("123456"))

    result = run_cli("credential-process", "--profile", PROFILE)

    assert (result.code, result.err) == (0, "")
    document = json.loads(result.out)
    assert (document["AccessKeyId"], document["SessionToken"], document["Version"]) == (SESSION_KEY_ID, SESSION_TOKEN, 1)
    assert document["Expiration"] == alice.session_entry()["Expiration"] and document["Expiration"].endswith("Z")
    assert tty.transcript == f"MFA code for profile 'alice' ({ALICE_SERIAL}): 123456\n"
    # The next call is served from the keyring, without a code.
    terminal(answers())
    assert json.loads(run_cli("credential-process", "--profile", PROFILE).out) == document
    assert faults.count("GetSessionToken") == 1


def test_f09_credential_process_without_terminal_never_serves_the_long_term_key(alice: MfaUser, run_cli) -> None:
    result = run_cli("credential-process", "--profile", PROFILE)

    assert (result.code, result.out, result.err) == (1, "", NO_TERMINAL_SESSION)
    assert alice.key.secret.reveal() not in result.out + result.err


def test_f09_exec_without_session_and_terminal_runs_nothing(alice: MfaUser, run_cli, tmp_path) -> None:
    marker = tmp_path / "ran"

    result = run_cli("exec", "--profile", PROFILE, "--", sys.executable, "-c", f"open({str(marker)!r}, 'w')")

    assert (result.code, result.err) == (1, NO_TERMINAL_SESSION)
    assert not marker.exists()


def test_exec_uses_the_session(alice: MfaUser, run_cli, faults: Faults, tmp_path) -> None:
    grant(faults)
    assert run_cli("session", "--profile", PROFILE, "--code-stdin", stdin="123456\n").code == 0
    seen = tmp_path / "seen"

    result = run_cli("exec", "--profile", PROFILE, "--", sys.executable, "-c",
                     "import os, sys; open(sys.argv[1], 'w').write(os.environ['AWS_ACCESS_KEY_ID'] + ' ' + "
                     "os.environ['AWS_SESSION_TOKEN'] + ' ' + os.environ['AWS_CREDENTIAL_EXPIRATION'])", str(seen))

    assert result.code == 0, result
    assert seen.read_text() == f"{SESSION_KEY_ID} {SESSION_TOKEN} {alice.session_entry()['Expiration']}"


def test_a_profile_without_mfa_serial_still_gets_its_long_term_key(alice: MfaUser, run_cli) -> None:
    alice.write_config(mfa_serial=None)

    result = run_cli("credential-process", "--profile", PROFILE)

    assert result.code == 0 and json.loads(result.out)["AccessKeyId"] == alice.key.access_key_id
