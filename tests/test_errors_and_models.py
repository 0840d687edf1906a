"""The sentences users read (errors.translate) and the small domain rules of the models."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from botocore import exceptions as bce

from keytui.core.errors import AwsError, KeytuiError, NoCredentialsError, ProfileNotFoundError, aws_errors, translate
from keytui.core.masking import Secret, mask_key_id
from keytui.core.models import AccessKey, IamUser, Identity, KeyLastUsed

from .conftest import NOW


def client_error(code: str, message: str, operation: str = "ListUsers") -> bce.ClientError:
    return bce.ClientError({"Error": {"Code": code, "Message": message}}, operation)


@pytest.mark.parametrize(
    ("code", "message", "sentence"),
    [
        (
            "AccessDenied",
            "User: arn:aws:iam::123456789012:user/bob is not authorized to perform: iam:ListUsers",
            "Could not list IAM users: AccessDenied (User: arn:aws:iam::123456789012:user/bob is not authorized "
            "to perform: iam:ListUsers). Ask an administrator to allow this action for your user, or use a "
            "profile that has it.",
        ),
        (
            "Throttling",
            "Rate exceeded",
            "Could not list IAM users: Throttling (Rate exceeded). AWS is rate-limiting this account; keytui "
            "already retried with backoff. Wait a minute and refresh.",
        ),
        (
            "ExpiredToken",
            "The security token included in the request is expired",
            "Could not list IAM users: ExpiredToken (The security token included in the request is expired). "
            "The session has expired. Get a new one (`keytui session`) and retry.",
        ),
        (
            "InvalidClientTokenId",
            "The security token included in the request is invalid.",
            "Could not list IAM users: InvalidClientTokenId (The security token included in the request is "
            "invalid). AWS does not accept this access key: it may be deleted, inactive, mistyped, or too new "
            "to work yet. Check the profile's key (`keytui vault list`) or rotate it.",
        ),
        ("SomethingNew", "", "Could not list IAM users: SomethingNew."),
    ],
)
def test_errors_translate_client_errors(code: str, message: str, sentence: str) -> None:
    error = translate(client_error(code, message), "list IAM users")

    assert isinstance(error, AwsError)
    assert str(error) == sentence
    assert error.code == code and error.operation == "ListUsers"
    assert error.short == f"unknown ({code})"


def test_errors_translate_network_error() -> None:
    exc = bce.EndpointConnectionError(endpoint_url="https://iam.amazonaws.com/")

    error = translate(exc, "list IAM users")

    assert error.code == "NetworkError"
    assert str(error) == (
        'Could not list IAM users: network error (Could not connect to the endpoint URL: '
        '"https://iam.amazonaws.com/"). Check the connection, proxy and AWS_ENDPOINT_URL, then retry.'
    )


@pytest.mark.parametrize(
    "exc",
    [
        bce.ConnectTimeoutError(endpoint_url="https://sts.amazonaws.com/"),
        bce.ReadTimeoutError(endpoint_url="https://sts.amazonaws.com/"),
        bce.ConnectionClosedError(endpoint_url="https://sts.amazonaws.com/"),
    ],
)
def test_errors_translate_other_network_errors(exc: Exception) -> None:
    error = translate(exc, "check who these credentials belong to")

    assert error.code == "NetworkError"
    assert str(error).startswith("Could not check who these credentials belong to: network error (")
    assert str(error).endswith("Check the connection, proxy and AWS_ENDPOINT_URL, then retry.")


def test_errors_translate_no_credentials() -> None:
    error = translate(bce.NoCredentialsError(), "list IAM users")

    assert isinstance(error, NoCredentialsError)
    assert str(error) == (
        "No AWS credentials found for the default profile or the environment. Add a profile with `aws configure` "
        "(keytui will offer to move its key into the keyring), set AWS_PROFILE, or try the demo account with "
        "`keytui --demo`."
    )


def test_errors_translate_keeps_keytui_errors() -> None:
    original = KeytuiError("already a sentence")

    assert translate(original, "anything") is original


def test_errors_aws_errors_translates_and_chains() -> None:
    with pytest.raises(AwsError) as caught, aws_errors("list access keys for alice"):
        raise client_error("AccessDenied", "denied", "ListAccessKeys")

    assert str(caught.value).startswith("Could not list access keys for alice: AccessDenied (denied).")
    assert isinstance(caught.value.__cause__, bce.ClientError)


def test_errors_profile_not_found_sentence() -> None:
    error = ProfileNotFoundError("wrok", ["/h/.aws/config", "/h/.aws/credentials"], ["work", "default"])

    assert str(error) == (
        "Profile 'wrok' not found in /h/.aws/config or /h/.aws/credentials; available: default, work. "
        "Pick one with --profile NAME or AWS_PROFILE, or try the demo account with `keytui --demo`."
    )
    assert error.available == ("default", "work")


@pytest.mark.parametrize(
    ("arn", "name", "is_user"),
    [
        ("arn:aws:iam::123456789012:user/alice", "alice", True),
        ("arn:aws:iam::123456789012:user/eng/backend/alice", "alice", True),
        ("arn:aws:sts::123456789012:assumed-role/Admin/bob", "Admin/bob", False),
        ("arn:aws:sts::123456789012:assumed-role/Admin/bob@example.com", "Admin/bob@example.com", False),
        ("arn:aws:iam::123456789012:root", "root", False),
        ("arn:aws:sts::123456789012:federated-user/carol", "carol", False),
    ],
)
def test_identity_name(arn: str, name: str, is_user: bool) -> None:
    identity = Identity(account="123456789012", arn=arn, user_id="AIDAEXAMPLE")

    assert identity.name == name
    assert identity.is_user is is_user


def test_masking_key_ids_and_secrets() -> None:
    assert mask_key_id("AKIAIOSFODNN7EXAMPLE") == "AKIA…MPLE"
    assert mask_key_id(None) == "…"
    secret = Secret("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    assert "wJalr" not in repr(secret) and "wJalr" not in str(secret) and "wJalr" not in f"{secret}"
    assert secret.reveal() == "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def test_access_key_ages_never_negative_and_idle_unknown() -> None:
    future = AccessKey(user_name="a", status="Active", created=NOW + timedelta(hours=5), key_id="AKIAFUTURE0000000001")
    assert future.age_days(NOW) == 0  # clock skew never shows "-1 days"
    unknown = AccessKey(user_name="a", status="Active", created=NOW - timedelta(days=9), last_used=None)
    assert unknown.idle_days(NOW) is None
    used = AccessKey(
        user_name="a", status="Active", created=NOW - timedelta(days=9),
        last_used=KeyLastUsed(date=NOW - timedelta(days=2, hours=1)),
    )
    assert used.idle_days(NOW) == 2


def test_iam_user_unknown_keys_are_not_zero() -> None:
    user = IamUser(name="bob", arn="arn:aws:iam::123456789012:user/bob", keys=None, keys_error="unknown (AccessDenied)")

    assert user.key_count is None
    assert user.active_keys == ()
    assert user.keys_unknown_reason() == "unknown (AccessDenied)"
    assert IamUser(name="x", arn="arn", keys=()).key_count == 0
    assert IamUser(name="x", arn="arn").keys_unknown_reason() == "loading"


def test_iam_user_last_used_is_the_latest_key_use() -> None:
    early = datetime(2026, 1, 1, tzinfo=timezone.utc)
    late = datetime(2026, 6, 1, tzinfo=timezone.utc)
    user = IamUser(
        name="a", arn="arn", keys_complete=True,
        keys=(
            AccessKey(user_name="a", status="Active", created=early, last_used=KeyLastUsed(date=late)),
            AccessKey(user_name="a", status="Inactive", created=early, last_used=KeyLastUsed(date=early)),
            AccessKey(user_name="a", status="Active", created=early, last_used=KeyLastUsed(date=None)),
        ),
    )

    assert user.last_used() == late
    assert len(user.active_keys) == 2


def test_errors_translate_credential_process_failure_is_one_line() -> None:
    # botocore passes the credential_process's stderr through, newline and final period included.
    exc = bce.CredentialRetrievalError(
        provider="custom-process",
        error_msg="keytui: No key for profile 'demo' in the keyring.\nStore one with `keytui vault add demo`.\n",
    )

    error = translate(exc, "load AWS credentials")

    assert error.code == "CredentialRetrievalError"
    assert str(error) == (
        "Could not load AWS credentials: Error when retrieving credentials from custom-process: keytui: No key "
        "for profile 'demo' in the keyring. Store one with `keytui vault add demo`."
    )
