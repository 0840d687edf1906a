"""The MFA commands as a person and as the AWS SDKs use them: `python -m keytui …` in a child process against the
demo account (moto on 127.0.0.1), with a real pseudo-terminal as its controlling terminal when a person is
there, and without any terminal when a tool runs it (F-11). The QR code is read off the terminal and decoded
back to the otpauth URI; the codes are computed by pyotp from the seed in it.

One demo account serves the whole module (`mfa_demo_server`); each test works on private copies of its AWS
files and keyring, and on its own users."""

from __future__ import annotations

import configparser
import json
import stat
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import boto3

from keytui.core.masking import Secret
from keytui.core.models import SessionCredentials

from ..conftest import ACCOUNT_ID, Sandbox
from .conftest import (
    DEMO_MFA_PROFILE,
    SYBIL_SERIAL,
    DemoCopy,
    demo_key,
    files_under,
    mfa_state,
    qr_lines,
    sandbox_roots,
    secrets_in_files,
    seed_of,
    totp_pair,
    uri_from_qr,
    virtual_devices,
)
from .test_sessions import CODE_REFUSED, INVALID_CODE

PROMPT = f"MFA code for profile 'demo-mfa' ({SYBIL_SERIAL}): "
NO_TERMINAL = (
    "keytui: Profile 'demo-mfa' needs an MFA session and none is valid, and there is no terminal to ask for the "
    "code on. Run `keytui session --profile demo-mfa` in a terminal, then retry.\n"
)
HEAVY = {"boto3", "botocore", "textual", "rich", "moto"}


def imported_modules(stderr: str) -> set[str]:
    return {line.rsplit("|", 1)[1].strip() for line in stderr.splitlines() if line.startswith("import time:")}


def a_session(expires: datetime) -> SessionCredentials:
    return SessionCredentials("ASIADEMOSESSION00001", Secret("demoSessionSecret/00000000000000000000001"),
                              Secret("FwoGZXIvYXdzDEMO" + "d" * 300), expires)


# -- enrollment on a terminal ------------------------------------------------------------------------------------


def test_enroll_on_a_pseudo_terminal_against_the_demo(demo: DemoCopy, sandbox: Sandbox) -> None:
    bob = f"arn:aws:iam::{ACCOUNT_ID}:mfa/bob"
    assert mfa_state(demo.iam(), "bob") == []
    keytui = demo.pty("mfa", "enroll", "--profile", "bob-laptop")

    keytui.expect("(type 's' to show it)\n")
    uri = uri_from_qr(qr_lines(keytui.transcript))
    seed = seed_of(uri)
    assert uri == f"otpauth://totp/AWS:bob@{ACCOUNT_ID}?secret={seed}&issuer=AWS"
    keytui.expect("First code (changes in ")
    keytui.expect(" s): ")
    first, second = totp_pair(seed, time.time())
    keytui.send(first)
    keytui.expect("s), then type it: ")
    keytui.send(second)
    keytui.expect(f"Write mfa_serial = {bob} into profile 'bob-laptop'? [Y/n] ")
    keytui.send("y")
    done = keytui.finish()

    assert (done.code, done.err) == (0, ""), done
    assert done.out == (
        f"MFA enabled for bob: {bob}.\n"
        "Profile 'bob-laptop' now has mfa_serial; get a session with: keytui session --profile bob-laptop\n"
    )
    # The demo account has the device enabled for bob, and the profile names it.
    assert mfa_state(demo.iam(), "bob") == [bob] and virtual_devices(demo.iam())[bob] == "bob"
    config = configparser.RawConfigParser()
    config.read(demo.config_file)
    assert config.get("profile bob-laptop", "mfa_serial") == bob
    assert stat.S_IMODE(demo.config_file.stat().st_mode) == 0o600
    # The QR code and the seed went to the terminal only, and nowhere to disk.
    assert seed not in done.out + done.err and "▀" not in done.out
    files = files_under([*sandbox_roots(sandbox), demo.config_file.parent])
    assert demo.config_file in files
    assert secrets_in_files(files, {"seed": seed, "uri": uri}) == []


def test_f07_ctrl_d_at_the_code_prompt_deletes_the_new_device(demo: DemoCopy) -> None:
    keytui = demo.pty("mfa", "enroll", "dave", "--profile", "demo", "--no-write-profile")

    keytui.expect("First code (changes in ")
    keytui.expect(" s): ")
    assert f"arn:aws:iam::{ACCOUNT_ID}:mfa/dave" in virtual_devices(demo.iam())  # created, waiting for codes
    keytui.send_eof()
    done = keytui.finish()

    assert (done.code, done.out) == (1, "")
    assert done.err == "keytui: Cancelled (end of input at a prompt); nothing was changed.\n"
    assert f"Enrollment cancelled; the new device arn:aws:iam::{ACCOUNT_ID}:mfa/dave was deleted.\n" in done.transcript
    assert f"arn:aws:iam::{ACCOUNT_ID}:mfa/dave" not in virtual_devices(demo.iam())
    assert mfa_state(demo.iam(), "dave") == []


# -- sessions on a terminal ----------------------------------------------------------------------------------------


def test_f05_refused_code_is_asked_again_on_the_terminal_at_most_three_times(demo: DemoCopy, tmp_path) -> None:
    record = tmp_path / "get-session-token-calls"
    fault = {"service": "sts", "operation": "GetSessionToken", "code": "AccessDenied", "message": INVALID_CODE,
             "record": str(record)}
    keyring_before = demo.keyring_file.read_bytes()
    keytui = demo.pty("session", "--profile", DEMO_MFA_PROFILE, MFA_TEST_FAULT=json.dumps(fault))

    for code in ("111111", "222222", "333333"):
        keytui.expect(PROMPT)
        keytui.send(code)
    done = keytui.finish()

    assert (done.code, done.out, done.err) == (1, "", f"keytui: {CODE_REFUSED}\n")
    assert done.transcript == f"{PROMPT}{CODE_REFUSED}\n{PROMPT}{CODE_REFUSED}\n{PROMPT}"
    assert record.read_text().splitlines() == ["GetSessionToken"] * 3
    assert demo.keyring_file.read_bytes() == keyring_before  # nothing stored changed


def test_f11_credential_process_asks_on_the_terminal_and_prints_json_on_stdout_only(demo: DemoCopy) -> None:
    assert demo.session_entry() is None
    keytui = demo.pty("credential-process", "--profile", DEMO_MFA_PROFILE)

    keytui.expect(PROMPT)
    keytui.send("123456")
    done = keytui.finish()

    assert (done.code, done.err) == (0, "")
    assert done.transcript == PROMPT
    assert done.out.count("\n") == 1 and done.out.startswith("{") and done.out.endswith("}\n")
    document = json.loads(done.out)
    stored = demo.session_entry()
    assert document == {"Version": 1, **stored}
    assert document["Expiration"].endswith("Z") and document["AccessKeyId"] != demo_key(demo).access_key_id


# -- no terminal: a tool runs keytui (F-09, F-11) -------------------------------------------------------------------


def test_f11_credential_process_without_terminal_fails_and_names_the_command(demo: DemoCopy) -> None:
    done = demo.run("credential-process", "--profile", DEMO_MFA_PROFILE)

    assert (done.returncode, done.stdout, done.stderr) == (1, "", NO_TERMINAL)
    key = demo_key(demo)
    assert key.secret.reveal() not in done.stdout + done.stderr and key.access_key_id not in done.stdout


def test_f09_expired_session_without_terminal_is_dropped_and_the_long_term_key_not_served(demo: DemoCopy) -> None:
    key = demo_key(demo)
    demo.vault().put_session(DEMO_MFA_PROFILE, a_session(datetime.now(timezone.utc) - timedelta(seconds=1)))

    done = demo.run("credential-process", "--profile", DEMO_MFA_PROFILE)

    assert (done.returncode, done.stdout, done.stderr) == (1, "", NO_TERMINAL)
    assert key.secret.reveal() not in done.stdout + done.stderr
    assert demo.session_entry() is None  # the expired session is gone from the keyring ...
    assert demo_key(demo) == key  # ... and the long-term key is still there


def test_f09_session_inside_the_refresh_margin_is_not_served(demo: DemoCopy) -> None:
    demo.vault().put_session(DEMO_MFA_PROFILE, a_session(datetime.now(timezone.utc) + timedelta(seconds=120)))

    done = demo.run("credential-process", "--profile", DEMO_MFA_PROFILE)

    assert (done.returncode, done.stdout, done.stderr) == (1, "", NO_TERMINAL)
    assert demo.session_entry() is not None  # still valid for AWS: kept, just not handed out


def test_f11_botocore_gets_the_session_through_credential_process(demo: DemoCopy, monkeypatch) -> None:
    opened = demo.run("session", "--profile", DEMO_MFA_PROFILE, "--code-stdin", input="123456\n")
    assert opened.returncode == 0, opened.stderr
    assert opened.stdout.startswith("MFA session for profile 'demo-mfa' stored in the keyring (keytui demo keyring")
    stored = demo.session_entry()
    assert stored is not None and stored["Expiration"].endswith("Z")
    for name, value in demo.env().items():
        monkeypatch.setenv(name, value)

    session = boto3.Session(profile_name=DEMO_MFA_PROFILE)
    credentials = session.get_credentials()
    frozen = credentials.get_frozen_credentials()

    assert credentials.method == "custom-process"
    assert (frozen.access_key, frozen.secret_key, frozen.token) == (
        stored["AccessKeyId"], stored["SecretAccessKey"], stored["SessionToken"]
    )
    expiry = credentials._expiry_time  # botocore parsed the Expiration keytui printed
    assert expiry.utcoffset() == timedelta(0)
    assert expiry.strftime("%Y-%m-%dT%H:%M:%SZ") == stored["Expiration"]
    # And the AWS call is made with it.
    answer = session.client("sts", region_name="us-east-1").get_caller_identity()
    assert answer["Account"] == ACCOUNT_ID
    # The command botocore ran prints exactly this.
    direct = demo.run("credential-process", "--profile", DEMO_MFA_PROFILE)
    assert (direct.returncode, direct.stderr) == (0, "")
    assert json.loads(direct.stdout) == {"Version": 1, **stored}


def test_f05_a_code_spent_by_one_keytui_process_is_refused_by_the_next(demo: DemoCopy) -> None:
    assert demo.run("session", "--profile", DEMO_MFA_PROFILE, "--code-stdin", input="246810\n").returncode == 0
    stored = demo.session_entry()

    again = demo.run("session", "--profile", DEMO_MFA_PROFILE, "--renew", "--code-stdin", input="246810\n")

    assert again.returncode == 1 and again.stdout == ""
    assert again.stderr.startswith("keytui: This code was already used ")
    assert "and AWS accepts each code once. Wait for the next code (about " in again.stderr
    assert demo.session_entry() == stored


def test_exec_runs_the_command_with_the_session(demo: DemoCopy) -> None:
    assert demo.run("session", "--profile", DEMO_MFA_PROFILE, "--code-stdin", input="135790\n").returncode == 0
    stored = demo.session_entry()

    done = demo.run("exec", "--profile", DEMO_MFA_PROFILE, "--", sys.executable, "-c",
                    'import os; print(os.environ["AWS_SESSION_TOKEN"] != ""); print(os.environ["AWS_ACCESS_KEY_ID"])')

    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == f"True\n{stored['AccessKeyId']}\n"
    assert stored["AccessKeyId"] != demo_key(demo).access_key_id


def test_session_status_and_forget_in_a_child_process(demo: DemoCopy) -> None:
    key = demo_key(demo)
    status = demo.run("session", "--profile", DEMO_MFA_PROFILE, "--status")
    assert (status.returncode, status.stdout) == (1, "demo-mfa: no MFA session\n")

    demo.vault().put_session(DEMO_MFA_PROFILE, a_session(datetime.now(timezone.utc) + timedelta(hours=2)))
    status = demo.run("session", "--profile", DEMO_MFA_PROFILE, "--status")
    assert status.returncode == 0 and status.stdout.startswith("demo-mfa: MFA session, 1:59:")

    forget = demo.run("session", "--profile", DEMO_MFA_PROFILE, "--forget")
    assert (forget.returncode, forget.stdout) == (0, "Deleted the MFA session of profile 'demo-mfa' from the keyring.\n")
    assert demo.session_entry() is None and demo_key(demo) == key


# -- what the cached path imports ----------------------------------------------------------------------------------


def test_credential_process_serving_a_cached_session_imports_neither_boto_nor_textual(demo: DemoCopy) -> None:
    session = a_session((datetime.now(timezone.utc) + timedelta(hours=1)).replace(microsecond=0))
    demo.vault().put_session(DEMO_MFA_PROFILE, session)

    done = demo.run("credential-process", "--profile", DEMO_MFA_PROFILE, python_flags=["-X", "importtime"])

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["SessionToken"] == session.token.reveal()
    imported = imported_modules(done.stderr)
    assert {"keytui.cli_vault", "keytui.vault.sessions", "keyring"} <= imported  # the listing is real
    assert sorted(m for m in imported if m.split(".")[0] in HEAVY) == []


def test_code_stdin_reads_one_line_without_waiting_for_the_end_of_input(demo: DemoCopy) -> None:
    """A wrapper that writes the code and keeps stdin open (an expect script, a password manager's pipe)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "keytui", "session", "--profile", DEMO_MFA_PROFILE, "--code-stdin"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=demo.env(),
        start_new_session=True,
    )
    assert process.stdin is not None
    try:
        process.stdin.write("975310\n")
        process.stdin.flush()
        code = process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        out, err = process.communicate()

    assert (code, err) == (0, "")
    assert out.startswith("MFA session for profile 'demo-mfa' stored in the keyring")
    assert demo.session_entry() is not None
