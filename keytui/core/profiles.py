"""The local AWS profiles (`~/.aws/config` and `~/.aws/credentials`, or the files AWS_CONFIG_FILE and
AWS_SHARED_CREDENTIALS_FILE name), read through botocore's own loader: which profile holds which key.

Only key *ids* leave this module; secrets are never read into the models.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from botocore import configloader
from botocore.exceptions import ConfigNotFound


@dataclass(frozen=True)
class LocalProfile:
    name: str
    # "static" (key in a file), "session" (temporary key with a token in a file), "process"
    # (credential_process), "role" (role_arn), "sso", or "none" (no credentials of its own).
    kind: str
    key_id: str | None = None
    in_credentials_file: bool = False
    region: str | None = None
    mfa_serial: str | None = None
    role_arn: str | None = None
    source_profile: str | None = None
    credential_process: str | None = None

    @property
    def plaintext_secret(self) -> bool:
        """True when a secret sits in a plaintext file: what the vault exists to remove."""
        return self.kind in {"static", "session"}


def _kind(values: Mapping[str, str]) -> str:
    if values.get("aws_access_key_id"):
        return "session" if values.get("aws_session_token") else "static"
    if values.get("credential_process"):
        return "process"
    if values.get("role_arn"):
        return "role"
    if values.get("sso_session") or values.get("sso_start_url"):
        return "sso"
    return "none"


def read_profiles(merged: Mapping[str, Mapping[str, str]], credentials_file: str) -> tuple[LocalProfile, ...]:
    """`merged` is botocore's full_config['profiles'] (config and credentials file merged)."""
    try:
        in_creds = set(configloader.raw_config_parse(os.path.expanduser(credentials_file)))
    except ConfigNotFound:
        in_creds = set()
    profiles = []
    for name in sorted(merged):
        values = merged[name]
        profiles.append(
            LocalProfile(
                name=name,
                kind=_kind(values),
                key_id=values.get("aws_access_key_id") or None,
                in_credentials_file=name in in_creds,
                region=values.get("region"),
                mfa_serial=values.get("mfa_serial"),
                role_arn=values.get("role_arn"),
                source_profile=values.get("source_profile"),
                credential_process=values.get("credential_process"),
            )
        )
    return tuple(profiles)


def profiles_by_key_id(profiles: tuple[LocalProfile, ...]) -> dict[str, tuple[str, ...]]:
    """Key id -> names of the local profiles that hold it (one key can sit in several profiles)."""
    holders: dict[str, list[str]] = {}
    for profile in profiles:
        if profile.key_id:
            holders.setdefault(profile.key_id, []).append(profile.name)
    return {key: tuple(names) for key, names in holders.items()}
