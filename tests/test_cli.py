"""`keytui users` in-process against moto: the JSON document, the text table, exit codes, and failures as
one paragraph on stderr (never a traceback)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

from keytui import cli
from keytui.demo import DemoKey as K
from keytui.demo import DemoUser

from .conftest import DEFAULT_KEY_ID, DEFAULT_SECRET, AwsFiles, Faults, MotoAccount, default_profile

USERS = (
    DemoUser("alice", "/eng/", console=True, mfa=True,
             keys=(K(400, used_days_ago=1, service="s3", region="eu-west-1"), K(5)), profile="alice-laptop"),
    DemoUser("bob", "/eng/", console=True, keys=(K(95, active=False, used_days_ago=60, service="ec2", region="us-west-2"),)),
    DemoUser("carol", "/ops/", mfa=True),
)


@pytest.fixture
def account(moto_account: MotoAccount, monkeypatch: pytest.MonkeyPatch) -> MotoAccount:
    """USERS in moto; alice's first key also sits in two local profiles; the CLI runs on the test's clock."""
    credentials = moto_account.seed(USERS)
    key_id, secret = credentials["alice-laptop"]
    moto_account.files.write(
        credentials=(
            f"[default]\naws_access_key_id = {DEFAULT_KEY_ID}\naws_secret_access_key = {DEFAULT_SECRET}\n\n"
            f"[alice-laptop]\naws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n\n"
            f"[alice-ci]\naws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n"
        )
    )
    moto_account.report_ready()
    monkeypatch.setattr("keytui.services.SystemClock", lambda: moto_account.clock)
    return moto_account


def key_ids(account: MotoAccount, user: str) -> list[str]:
    return [k.access_key_id for k in account.backend.users[user].access_keys]


def one_paragraph(err: str) -> None:
    assert err.startswith("keytui: ")
    assert err.endswith("\n") and err.count("\n") == 1
    assert "Traceback" not in err


# -- JSON ---------------------------------------------------------------------------------------------------


def test_cli_users_json_document(account: MotoAccount, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["users", "--json"])

    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    document = json.loads(out)
    assert {k: document[k] for k in ("schema", "generated_at", "account", "source", "complete")} == {
        "schema": "keytui.users/1",
        "generated_at": "2026-12-03T12:00:00Z",
        "account": "123456789012",
        "source": "credential-report",
        "complete": True,
    }
    assert document["identity"].startswith("arn:aws:")
    assert document["thresholds"] == {"warn_days": 60, "overdue_days": 90, "unused_days": 45}
    assert [u["name"] for u in document["users"]] == ["alice", "bob", "carol"]

    alice, bob, carol = document["users"]
    old_id, new_id = key_ids(account, "alice")
    assert {k: alice[k] for k in ("arn", "path", "console", "mfa_active", "keys_error")} == {
        "arn": "arn:aws:iam::123456789012:user/eng/alice",
        "path": "/eng/",
        "console": True,
        "mfa_active": True,
        "keys_error": None,
    }
    assert alice["keys"] == [
        {
            "access_key_id": old_id,
            "status": "Active",
            "created": "2025-10-29T11:49:00Z",
            "age_days": 400,
            "age_level": "overdue",
            "last_used": {"date": "2026-12-02T11:00:00Z", "service": "s3", "region": "eu-west-1"},
            "last_used_error": None,
            "never_used": False,
            "unused": False,
            "local_profiles": ["alice-ci", "alice-laptop"],
        },
        {
            "access_key_id": new_id,
            "status": "Active",
            "created": "2026-11-28T11:42:00Z",
            "age_days": 5,
            "age_level": "ok",
            "last_used": {"date": None, "service": None, "region": None},
            "last_used_error": None,
            "never_used": True,
            "unused": False,
            "local_profiles": [],
        },
    ]
    (bob_key,) = bob["keys"]
    assert (bob_key["status"], bob_key["age_days"], bob_key["age_level"]) == ("Inactive", 95, None)
    assert (carol["keys"], carol["console"], carol["mfa_active"]) == ([], False, True)


def test_cli_users_json_unknown_is_null(account: MotoAccount, faults: Faults, capsys: pytest.CaptureFixture[str]) -> None:
    _, new_id = key_ids(account, "alice")
    # moto's report has no last-used service, so alice's used key is asked per key: that call fails
    # (throttled past botocore's retries); and carol's keys cannot be listed at all.
    faults.deny("ListAccessKeys", when=lambda p: p.get("UserName") == "carol")
    faults.deny("GetAccessKeyLastUsed", code="Throttling", message="Rate exceeded")

    code = cli.main(["users", "--json"])

    out, err = capsys.readouterr()
    assert code == 1
    assert err == (
        "keytui: The keys of 1 user could not be read: carol (AccessDenied). They are shown as unknown; "
        "the listing is incomplete, so keytui drew no conclusions about them.\n"
    )
    alice, bob, carol = json.loads(out)["users"]
    assert carol["keys"] is None and carol["keys_error"] == "unknown (AccessDenied)"
    old, new = alice["keys"]
    assert (old["last_used"], old["last_used_error"], old["never_used"], old["unused"]) == (
        None, "unknown (Throttling)", None, None,
    )
    assert new["access_key_id"] == new_id and new["never_used"] is True  # the report's N/A settles it


# -- the text table -----------------------------------------------------------------------------------------


def test_cli_users_table(account: MotoAccount, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["users"])

    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    old_id, new_id = key_ids(account, "alice")
    (bob_id,) = key_ids(account, "bob")
    mask = lambda key_id: f"{key_id[:4]}…{key_id[-4:]}"  # noqa: E731
    assert out == (
        "USER   PATH   KEYS           OLDEST  LAST USED  MFA  CONSOLE\n"
        "alice  /eng/  2              400d    yesterday  yes  yes\n"
        f"  {mask(old_id)}  Active    400d  yesterday (s3, eu-west-1)  profiles alice-ci, alice-laptop\n"
        f"  {mask(new_id)}  Active    5d    never\n"
        "bob    /eng/  0 +1 inactive  -       60d ago    no   yes\n"
        f"  {mask(bob_id)}  Inactive  95d   60d ago (ec2, us-west-2)\n"
        "carol  /ops/  0              -       -          yes  no\n"
        "\n"
        "3 users; credential report of 2015-02-02T20:02:02Z\n"
    )


def test_cli_users_table_unknown_user_shows_the_reason(
    account: MotoAccount, faults: Faults, capsys: pytest.CaptureFixture[str]
) -> None:
    faults.deny("ListAccessKeys", when=lambda p: p.get("UserName") == "alice")

    code = cli.main(["users"])

    out, _ = capsys.readouterr()
    assert code == 1
    alice_line = next(line for line in out.splitlines() if line.startswith("alice"))
    assert alice_line.split() == [
        "alice", "/eng/", "unknown", "(AccessDenied)", "?", "unknown", "(AccessDenied)", "yes", "yes",
    ]
    assert "AKIA" not in out.split("bob")[0]  # no key rows under a user whose keys are unknown


# -- exit codes ---------------------------------------------------------------------------------------------


def test_cli_version_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out == "keytui 0.1.0\n"


@pytest.mark.parametrize("argv", [["users", "--bogus"], ["nonsense"], ["users", "extra"], ["demo"]])
def test_cli_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        cli.main(argv)

    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: keytui") and "error:" in err
    assert "Traceback" not in err


def test_cli_profile_before_subcommand_is_honoured() -> None:
    args = cli._parser().parse_args(["--profile", "work", "users"])

    assert args.profile == "work"


# -- failures: one paragraph on stderr, exit 1 ----------------------------------------------------------------


def test_cli_no_credentials_at_all(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["users"])

    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    one_paragraph(err)
    assert err == (
        "keytui: No AWS credentials found for the default profile or the environment. Add a profile with "
        "`aws configure` (keytui will offer to move its key into the keyring), set AWS_PROFILE, or try the demo "
        "account with `keytui --demo`.\n"
    )


def test_cli_unknown_profile_from_env(
    aws_files: AwsFiles, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    default_profile(aws_files)
    monkeypatch.setenv("AWS_PROFILE", "nope")

    code = cli.main(["users", "--json"])

    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    one_paragraph(err)
    assert err.startswith(
        f"keytui: Profile 'nope' not found in {aws_files.config} or {aws_files.credentials}; available: default. "
    )


def test_cli_access_denied_on_list_users(account: MotoAccount, faults: Faults, capsys: pytest.CaptureFixture[str]) -> None:
    faults.deny("ListUsers")

    code = cli.main(["users"])

    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    one_paragraph(err)
    assert err == (
        "keytui: Could not list IAM users: AccessDenied (User: arn:aws:iam::123456789012:user/tester is not "
        "authorized to perform: iam:ListUsers with an explicit deny in a service control policy). Ask an "
        "administrator to allow this action for your user, or use a profile that has it.\n"
    )


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port on 127.0.0.1 that refuses connections: bound (so nobody else takes it) but not listening."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def test_cli_network_error_to_a_closed_port(
    aws_files: AwsFiles, closed_port: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    default_profile(aws_files)
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{closed_port}")

    code = cli.main(["users"])

    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    one_paragraph(err)
    assert err == (
        "keytui: Could not check who these credentials belong to (sts get-caller-identity): network error "
        f'(Could not connect to the endpoint URL: "http://127.0.0.1:{closed_port}/"). Check the connection, '
        "proxy and AWS_ENDPOINT_URL, then retry.\n"
    )


@pytest.mark.parametrize("which", ["config", "credentials"])
def test_cli_malformed_aws_file_is_one_sentence(
    aws_files: AwsFiles, which: str, capsys: pytest.CaptureFixture[str]
) -> None:
    default_profile(aws_files)
    broken = aws_files.config if which == "config" else aws_files.credentials
    broken.write_text("region = us-east-1\n[default]\nno equals sign here\n")

    code = cli.main(["users"])

    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    one_paragraph(err)
    assert err == f"keytui: Could not read the AWS config files: Unable to parse config file: {broken}.\n"
