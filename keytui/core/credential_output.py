"""The JSON a `credential_process` must print, exactly as botocore and the AWS CLI accept it:
`"Version": 1` (an integer), `Expiration` in UTC with `Z`, no token or expiry for long-term keys."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from keytui.core.models import LongTermKey, SessionCredentials


def credential_process_json(credentials: LongTermKey | SessionCredentials) -> str:
    document: dict[str, object] = {
        "Version": 1,
        "AccessKeyId": credentials.access_key_id,
        "SecretAccessKey": credentials.secret.reveal(),
    }
    if isinstance(credentials, SessionCredentials):
        document["SessionToken"] = credentials.token.reveal()
        document["Expiration"] = credentials.expiration.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return json.dumps(document)


def environment(credentials: LongTermKey | SessionCredentials) -> dict[str, str]:
    """The variables `keytui exec` sets for its command."""
    env = {
        "AWS_ACCESS_KEY_ID": credentials.access_key_id,
        "AWS_SECRET_ACCESS_KEY": credentials.secret.reveal(),
    }
    if isinstance(credentials, SessionCredentials):
        env["AWS_SESSION_TOKEN"] = credentials.token.reveal()
        env["AWS_CREDENTIAL_EXPIRATION"] = credentials.expiration.astimezone(timezone.utc).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
    return env


def is_expired(credentials: LongTermKey | SessionCredentials, now: datetime, margin_seconds: float = 0) -> bool:
    return isinstance(credentials, SessionCredentials) and credentials.valid_for(now) <= margin_seconds
