"""F-15 Environment overrides: env keys over AWS_PROFILE, a profile that does not exist, and AWS files that
live elsewhere (AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE)."""

from __future__ import annotations

from pathlib import Path

import pytest

from keytui import cli
from keytui.core.aws import AwsTarget
from keytui.core.errors import ProfileNotFoundError
from keytui.core.settings import Settings
from keytui.services import build_services

from .conftest import AwsFiles, MotoAccount

ENV_KEY = "AKIAENVIRONMENT00001"
WORK_KEY = "AKIAWORK000000000002"


def two_profiles(files: AwsFiles) -> AwsFiles:
    return files.write(
        config="[default]\nregion = us-east-1\n\n[profile work]\nregion = us-east-1\n",
        credentials=(
            "[default]\naws_access_key_id = AKIADEFAULT000000001\naws_secret_access_key = s1\n\n"
            f"[work]\naws_access_key_id = {WORK_KEY}\naws_secret_access_key = s2\n"
        ),
    )


def not_found(profile: str, files: AwsFiles) -> str:
    config, credentials = files.paths
    return (
        f"Profile '{profile}' not found in {config} or {credentials}; available: default, work. "
        "Pick one with --profile NAME or AWS_PROFILE, or try the demo account with `keytui --demo`."
    )


@pytest.fixture
def env_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ENV_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "envsecret")


def test_f15_env_keys_override_aws_profile_with_a_warning(
    aws_files: AwsFiles, env_keys: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    two_profiles(aws_files)
    monkeypatch.setenv("AWS_PROFILE", "work")

    source = build_services(AwsTarget(), Settings()).credential_source()

    assert (source.method, source.profile, source.key_id) == ("env", None, ENV_KEY)
    assert source.label == "environment variables"
    assert source.warnings == (
        "AWS_ACCESS_KEY_ID in the environment overrides AWS_PROFILE=work: "
        "keytui is acting with the environment's key, not that profile's.",
    )


def test_f15_env_keys_override_aws_default_profile_too(
    aws_files: AwsFiles, env_keys: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    two_profiles(aws_files)
    monkeypatch.setenv("AWS_DEFAULT_PROFILE", "work")

    source = build_services(AwsTarget(), Settings()).credential_source()

    assert source.key_id == ENV_KEY
    assert source.warnings == (
        "AWS_ACCESS_KEY_ID in the environment overrides AWS_DEFAULT_PROFILE=work: "
        "keytui is acting with the environment's key, not that profile's.",
    )


def test_f15_explicit_profile_beats_env_keys_with_a_warning(aws_files: AwsFiles, env_keys: None) -> None:
    two_profiles(aws_files)

    source = build_services(AwsTarget(profile="work"), Settings()).credential_source()

    assert (source.method, source.profile, source.key_id) == ("shared-credentials-file", "work", WORK_KEY)
    assert source.warnings == (
        "AWS_ACCESS_KEY_ID is set in the environment but ignored: --profile work was given, "
        "and its own credentials are used.",
    )


def test_f15_no_warning_without_a_conflict(aws_files: AwsFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    two_profiles(aws_files)
    monkeypatch.setenv("AWS_PROFILE", "work")

    source = build_services(AwsTarget(), Settings()).credential_source()

    assert (source.profile, source.key_id, source.warnings) == ("work", WORK_KEY, ())
    assert source.label == f"credentials file {aws_files.credentials}"


def test_f15_aws_profile_naming_a_missing_profile(aws_files: AwsFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    two_profiles(aws_files)
    monkeypatch.setenv("AWS_PROFILE", "wrok")

    with pytest.raises(ProfileNotFoundError) as caught:
        build_services(AwsTarget(), Settings())

    assert str(caught.value) == not_found("wrok", aws_files)


def test_f15_aws_default_profile_is_checked_first(aws_files: AwsFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    # botocore uses AWS_DEFAULT_PROFILE over AWS_PROFILE: a missing one must be reported, not skipped.
    two_profiles(aws_files)
    monkeypatch.setenv("AWS_DEFAULT_PROFILE", "wrok")
    monkeypatch.setenv("AWS_PROFILE", "work")

    with pytest.raises(ProfileNotFoundError) as caught:
        build_services(AwsTarget(), Settings())

    assert str(caught.value) == not_found("wrok", aws_files)


def test_f15_cli_profile_wrok_is_one_sentence_and_exit_1(
    aws_files: AwsFiles, capsys: pytest.CaptureFixture[str]
) -> None:
    two_profiles(aws_files)

    code = cli.main(["users", "--profile", "wrok"])

    out, err = capsys.readouterr()
    assert code == 1
    assert out == ""
    assert err == f"keytui: {not_found('wrok', aws_files)}\n"


def test_f15_missing_profile_still_lets_the_tui_start(aws_files: AwsFiles) -> None:
    two_profiles(aws_files)

    services = build_services(AwsTarget(profile="wrok"), Settings(), tolerate_errors=True)

    assert services.aws is None
    assert isinstance(services.startup_error, ProfileNotFoundError)
    assert str(services.startup_error) == not_found("wrok", aws_files)
    assert services.available_profiles == ("default", "work")  # for the profile picker
    assert services.profile_label == "wrok"
    with pytest.raises(ProfileNotFoundError):
        services.load_inventory()


def test_f15_files_named_by_env_are_read(
    aws_files: AwsFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ~/.aws has a profile that must now be invisible; the files the variables name are the truth.
    aws_files.write(credentials="[home-only]\naws_access_key_id = AKIAHOME000000000009\naws_secret_access_key = s\n")
    elsewhere = two_profiles(aws_files.elsewhere(tmp_path / "corp", monkeypatch))
    monkeypatch.setenv("AWS_PROFILE", "work")

    services = build_services(AwsTarget(), Settings())
    source = services.credential_source()

    assert services.available_profiles == ("default", "work")
    assert source.key_id == WORK_KEY
    assert source.label == f"credentials file {elsewhere.credentials}"
    assert services.aws is not None and services.aws.config_paths == elsewhere.paths
    assert {p.name for p in services.local_profiles()} == {"default", "work"}

    monkeypatch.setenv("AWS_PROFILE", "home-only")
    with pytest.raises(ProfileNotFoundError) as caught:
        build_services(AwsTarget(), Settings())
    assert str(caught.value) == not_found("home-only", elsewhere)


def test_f15_cli_users_warns_and_lists_with_env_keys(
    moto_account: MotoAccount, env_keys: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    two_profiles(moto_account.files)
    moto_account.report_ready()
    monkeypatch.setenv("AWS_PROFILE", "work")

    code = cli.main(["users"])

    out, err = capsys.readouterr()
    assert code == 0
    assert err == (
        "keytui: warning: AWS_ACCESS_KEY_ID in the environment overrides AWS_PROFILE=work: "
        "keytui is acting with the environment's key, not that profile's.\n"
    )
    assert out.startswith("USER ")


def test_f15_malformed_file_still_lets_the_tui_start(aws_files: AwsFiles) -> None:
    two_profiles(aws_files)
    aws_files.config.write_text("region = us-east-1\n[default]\nno equals sign here\n")

    services = build_services(AwsTarget(), Settings(), tolerate_errors=True)

    assert services.aws is None
    assert str(services.startup_error) == (
        f"Could not read the AWS config files: Unable to parse config file: {aws_files.config}."
    )
