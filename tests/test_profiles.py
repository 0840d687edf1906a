"""The local AWS profiles, read through botocore's loader: which profile holds which key, of what kind."""

from __future__ import annotations

from keytui.core.aws import AwsTarget
from keytui.core.profiles import LocalProfile, profiles_by_key_id
from keytui.core.settings import Settings
from keytui.services import build_services

from .conftest import AwsFiles

CONFIG = """
    [default]
    region = eu-west-1

    [profile work]
    region = us-east-1
    mfa_serial = arn:aws:iam::123456789012:mfa/alice

    [profile ci]
    credential_process = keytui credential-process --profile ci

    [profile admin]
    role_arn = arn:aws:iam::123456789012:role/Admin
    source_profile = work

    [profile sso-dev]
    sso_session = corp
    sso_account_id = 123456789012
    sso_role_name = Dev

    [sso-session corp]
    sso_start_url = https://corp.awsapps.com/start
    sso_region = us-east-1

    [profile config-only]
    region = ap-southeast-2

    [profile keys-in-config]
    aws_access_key_id = AKIACONFIGFILE000001
    aws_secret_access_key = cfgsecret
"""
CREDENTIALS = """
    [default]
    aws_access_key_id = AKIADEFAULT000000001
    aws_secret_access_key = secret1

    [work]
    aws_access_key_id = AKIAWORK000000000002
    aws_secret_access_key = secret2

    [work-copy]
    aws_access_key_id = AKIAWORK000000000002
    aws_secret_access_key = secret2

    [temp]
    aws_access_key_id = ASIATEMP000000000003
    aws_secret_access_key = secret3
    aws_session_token = FwoGZXIvYXdzEXAMPLETOKEN
"""


def _profiles(aws_files: AwsFiles) -> dict[str, LocalProfile]:
    aws_files.write(config=CONFIG, credentials=CREDENTIALS)
    services = build_services(AwsTarget(), Settings())
    return {p.name: p for p in services.local_profiles()}


def test_profiles_which_profile_holds_which_key(aws_files: AwsFiles) -> None:
    profiles = _profiles(aws_files)

    holders = profiles_by_key_id(tuple(profiles.values()))

    assert holders == {
        "AKIADEFAULT000000001": ("default",),
        "AKIAWORK000000000002": ("work", "work-copy"),
        "ASIATEMP000000000003": ("temp",),
        "AKIACONFIGFILE000001": ("keys-in-config",),
    }


def test_profiles_kinds(aws_files: AwsFiles) -> None:
    profiles = _profiles(aws_files)

    assert {name: p.kind for name, p in profiles.items()} == {
        "default": "static",
        "work": "static",
        "work-copy": "static",
        "temp": "session",
        "ci": "process",
        "admin": "role",
        "sso-dev": "sso",
        "config-only": "none",
        "keys-in-config": "static",
    }
    assert profiles["temp"].plaintext_secret and profiles["work"].plaintext_secret
    assert not profiles["ci"].plaintext_secret and not profiles["config-only"].plaintext_secret


def test_profiles_merge_config_and_credentials(aws_files: AwsFiles) -> None:
    profiles = _profiles(aws_files)

    work = profiles["work"]
    assert (work.region, work.mfa_serial, work.in_credentials_file) == (
        "us-east-1", "arn:aws:iam::123456789012:mfa/alice", True,
    )
    assert profiles["admin"].role_arn == "arn:aws:iam::123456789012:role/Admin"
    assert profiles["admin"].source_profile == "work"
    assert profiles["ci"].credential_process == "keytui credential-process --profile ci"
    only = profiles["config-only"]
    assert (only.key_id, only.in_credentials_file, only.region) == (None, False, "ap-southeast-2")
    assert profiles["keys-in-config"].in_credentials_file is False
    # Nothing but key ids leaves the module: no secret in any model.
    assert "secret" not in repr(tuple(profiles.values()))


def test_profiles_without_any_files(aws_files: AwsFiles) -> None:
    services = build_services(AwsTarget(), Settings())

    assert services.local_profiles() == ()
    assert services.available_profiles == ()
