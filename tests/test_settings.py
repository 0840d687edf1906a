"""keytui's settings: the TOML file, KEYTUI_* overrides, and a clear sentence for every bad value."""

from __future__ import annotations

import pytest

from keytui.core.errors import KeytuiError
from keytui.core.models import Thresholds
from keytui.core.settings import AwsSettings, Settings, load_settings, settings_path

from .conftest import Sandbox, write_private


def test_settings_defaults_without_a_file(sandbox: Sandbox) -> None:
    assert not sandbox.settings_file.exists()

    settings = load_settings()

    assert settings.thresholds == Thresholds(warn_days=60, overdue_days=90, unused_days=45)
    assert settings.aws == AwsSettings(concurrency=16, retry_mode="standard", max_attempts=8)
    assert settings == Settings()


def test_settings_file_in_xdg_config_home(sandbox: Sandbox) -> None:
    write_private(
        sandbox.settings_file,
        """
        [thresholds]
        warn_days = 30
        overdue_days = 60

        [aws]
        concurrency = 4
        retry_mode = "adaptive"
        """,
    )

    settings = load_settings()

    assert settings_path() == sandbox.settings_file
    assert settings.thresholds == Thresholds(warn_days=30, overdue_days=60, unused_days=45)
    assert settings.aws == AwsSettings(concurrency=4, retry_mode="adaptive", max_attempts=8)


def test_settings_env_overrides_the_file(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    write_private(sandbox.settings_file, "[thresholds]\nwarn_days = 30\noverdue_days = 60\n")
    monkeypatch.setenv("KEYTUI_THRESHOLDS_WARN_DAYS", "20")
    monkeypatch.setenv("KEYTUI_AWS_MAX_ATTEMPTS", "3")

    settings = load_settings()

    assert settings.thresholds == Thresholds(warn_days=20, overdue_days=60, unused_days=45)
    assert settings.aws.max_attempts == 3


def test_settings_keytui_config_names_another_file(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = write_private(tmp_path / "elsewhere.toml", "[thresholds]\nunused_days = 10\n")
    monkeypatch.setenv("KEYTUI_CONFIG", str(other))

    assert load_settings().thresholds.unused_days == 10


def test_settings_bad_value_in_file_is_a_clear_error(sandbox: Sandbox) -> None:
    write_private(sandbox.settings_file, '[thresholds]\nwarn_days = "soon"\n')

    with pytest.raises(KeytuiError) as caught:
        load_settings()

    assert str(caught.value) == (
        f"Setting thresholds.warn_days must be a whole number, got 'soon' ({sandbox.settings_file})."
    )


def test_settings_bad_env_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEYTUI_THRESHOLDS_OVERDUE_DAYS", "ninety")

    with pytest.raises(KeytuiError) as caught:
        load_settings()

    assert str(caught.value) == (
        "Setting thresholds.overdue_days must be a whole number, got 'ninety' "
        "(environment variable KEYTUI_THRESHOLDS_OVERDUE_DAYS)."
    )


@pytest.mark.parametrize("value", ["true", "30.5"])
def test_settings_bool_or_float_is_not_a_whole_number(sandbox: Sandbox, value: str) -> None:
    write_private(sandbox.settings_file, f"[thresholds]\nwarn_days = {value}\n")

    with pytest.raises(KeytuiError, match=r"^Setting thresholds\.warn_days must be a whole number, got "):
        load_settings()


def test_settings_inconsistent_thresholds_are_a_clear_error(sandbox: Sandbox) -> None:
    write_private(sandbox.settings_file, "[thresholds]\nwarn_days = 100\n")

    with pytest.raises(KeytuiError) as caught:
        load_settings()

    assert str(caught.value) == (
        f"Invalid settings in [thresholds] ({sandbox.settings_file}): "
        "thresholds: need 0 < warn_days <= overdue_days."
    )


def test_settings_unknown_key_and_section(sandbox: Sandbox) -> None:
    write_private(sandbox.settings_file, "[thresholds]\nwarn_dayz = 10\n")
    with pytest.raises(KeytuiError, match=r"Unknown setting\(s\) in \[thresholds\] .*: warn_dayz\. Known: warn_days"):
        load_settings()

    write_private(sandbox.settings_file, "[colours]\nwarn = 'red'\n")
    with pytest.raises(KeytuiError, match=r"Unknown section\(s\) in .*config\.toml: colours\. Known: thresholds"):
        load_settings()


def test_settings_section_that_is_not_a_table(sandbox: Sandbox) -> None:
    write_private(sandbox.settings_file, "thresholds = 5\n")

    with pytest.raises(KeytuiError) as caught:
        load_settings()

    assert str(caught.value) == f"[thresholds] in {sandbox.settings_file} must be a table of settings, got 5."


def test_settings_broken_toml(sandbox: Sandbox) -> None:
    write_private(sandbox.settings_file, "[thresholds\n")

    with pytest.raises(KeytuiError, match=r"^Could not read keytui settings .*config\.toml: .*Fix or remove the file\.$"):
        load_settings()


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("KEYTUI_AWS_RETRY_MODE", "fast", "Setting aws.retry_mode must be standard or adaptive, got 'fast'"),
        ("KEYTUI_AWS_MAX_ATTEMPTS", "0", "Setting aws.max_attempts must be between 1 and 20, got 0"),
        ("KEYTUI_AWS_CONCURRENCY", "-2", "Setting aws.concurrency must be between 1 and 64, got -2"),
    ],
)
def test_settings_bad_aws_values(monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str) -> None:
    monkeypatch.setenv(variable, value)

    with pytest.raises(KeytuiError) as caught:
        load_settings()

    assert str(caught.value).startswith(message)
