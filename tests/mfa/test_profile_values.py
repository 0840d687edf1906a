"""keytui reads a profile's settings (above all `mfa_serial`) exactly as botocore does: a spelling that
botocore understands but keytui missed would let credential-process serve the long-term key of a profile
that asks for MFA (F-09)."""

from __future__ import annotations

from pathlib import Path

import botocore.session
import pytest

from keytui.core.errors import KeytuiError
from keytui.vault.sessions import profile_values

SERIAL = "arn:aws:iam::123456789012:mfa/alice"


def botocore_view(config: Path, credentials: Path, profile: str) -> dict[str, str]:
    session = botocore.session.Session()
    session.set_config_variable("config_file", str(config))
    session.set_config_variable("credentials_file", str(credentials))
    return dict(session.full_config["profiles"].get(profile, {}))


@pytest.mark.parametrize(
    ("config_text", "profile"),
    [
        (f"[profile work]\nmfa_serial = {SERIAL}\n", "work"),
        (f'[profile "work"]\nmfa_serial = {SERIAL}\n', "work"),
        (f"[profile   work]\nmfa_serial: {SERIAL}\n", "work"),
        (f"[profile default]\nmfa_serial = {SERIAL}\n", "default"),
        (f"[default]\nmfa_serial = {SERIAL}\n", "default"),
        (f"[profile work]\n  mfa_serial = {SERIAL}\nregion = eu-west-1\n", "work"),
    ],
)
def test_mfa_serial_is_seen_wherever_botocore_sees_it(tmp_path: Path, config_text: str, profile: str) -> None:
    config, credentials = tmp_path / "config", tmp_path / "credentials"
    config.write_text(config_text)
    credentials.write_text("")

    ours = profile_values(config, credentials, profile)

    assert ours is not None
    assert ours.get("mfa_serial") == botocore_view(config, credentials, profile).get("mfa_serial") == SERIAL


def test_the_credentials_file_wins_as_in_botocore(tmp_path: Path) -> None:
    config, credentials = tmp_path / "config", tmp_path / "credentials"
    config.write_text("[profile work]\nregion = eu-west-1\nmfa_serial = arn:aws:iam::123456789012:mfa/old\n")
    credentials.write_text(f"[work]\nmfa_serial = {SERIAL}\n")

    assert profile_values(config, credentials, "work") == botocore_view(config, credentials, "work")


def test_an_unknown_profile_is_none_not_an_empty_profile(tmp_path: Path) -> None:
    (tmp_path / "config").write_text("[profile other]\nregion = eu-west-1\n")

    assert profile_values(tmp_path / "config", tmp_path / "missing", "work") is None


def test_a_config_file_that_does_not_parse_serves_nothing(tmp_path: Path) -> None:
    (tmp_path / "config").write_text(f"[profile work\nmfa_serial = {SERIAL}\n")

    with pytest.raises(KeytuiError) as caught:
        profile_values(tmp_path / "config", tmp_path / "credentials", "work")

    assert caught.value.code == "ConfigParseError"
    assert "cannot tell whether a profile needs MFA" in str(caught.value)


@pytest.mark.parametrize(
    "expiration", ['"2020-01-01T00:00:00"', "1893456000", "null", '""', '"soon"', '["2030-01-01T00:00:00Z"]']
)
def test_a_damaged_session_entry_is_no_session_not_a_crash(expiration: str) -> None:
    from keytui.vault.memory import MemoryKeyring
    from keytui.vault.store import Vault

    backend = MemoryKeyring()
    vault = Vault(backend)
    vault.write("session:work", '{"AccessKeyId": "ASIAEXAMPLE", "SecretAccessKey": "s", "SessionToken": "t", '
                                f'"Expiration": {expiration}}}')

    assert vault.get_session("work") is None
