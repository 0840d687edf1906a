"""The connection to AWS: one botocore session per target, clients cached per service, retries and
endpoints configured the way the AWS CLI does it.

`AwsTarget` says where to connect; everything not given explicitly is resolved by botocore itself from
AWS_PROFILE, AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE, AWS_ENDPOINT_URL, AWS_REGION and the files.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import botocore.session
import dateutil.parser
from botocore.config import Config

from keytui.core.errors import KeytuiError, NoCredentialsError, ProfileNotFoundError, aws_errors
from keytui.core.masking import Secret
from keytui.core.models import CredentialSource, Identity, LongTermKey, SessionCredentials

# IAM and STS are global; any region works for them. This one is used only if nothing is configured.
FALLBACK_REGION = "us-east-1"

_METHOD_LABELS = {
    "env": "environment variables",
    "explicit": "explicit keys",
    "shared-credentials-file": "credentials file",
    "config-file": "config file",
    "custom-process": "credential_process",
    "assume-role": "assumed role",
    "assume-role-with-web-identity": "web identity",
    "sso": "IAM Identity Center (SSO)",
    "login": "aws login",
    "iam-role": "instance profile (IMDS)",
    "container-role": "container role",
    "boto-config": "boto config",
    "keytui-vault": "keyring (keytui vault)",
}


def parse_utc(value: object) -> datetime:
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, timezone.utc)
    parsed = dateutil.parser.parse(str(value))
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def env_profile() -> tuple[str, str] | None:
    """The profile the environment names, as (variable, name), in botocore's order: AWS_DEFAULT_PROFILE
    wins over AWS_PROFILE (botocore's `profile` config variable)."""
    for variable in ("AWS_DEFAULT_PROFILE", "AWS_PROFILE"):
        name = os.environ.get(variable)
        if name:
            return variable, name
    return None


@dataclass(frozen=True)
class AwsTarget:
    profile: str | None = None
    region: str | None = None
    # An explicit endpoint wins over AWS_ENDPOINT_URL (the demo uses it so a user's env cannot redirect it).
    endpoint_url: str | None = None
    config_file: str | None = None
    credentials_file: str | None = None
    retry_mode: str = "standard"
    max_attempts: int = 8
    max_pool_connections: int = 32


class AwsSession:
    """One set of credentials and the clients built from it. Thread-safe: workers share it."""

    def __init__(self, target: AwsTarget, credentials: LongTermKey | SessionCredentials | None = None) -> None:
        """`credentials`: keys keytui already holds for this profile (its vault), used directly instead
        of botocore spawning `keytui credential-process` for ourselves."""
        self.target = target
        self._lock = threading.Lock()
        self._clients: dict[str, Any] = {}
        self._botocore = self._build()
        if credentials is not None:
            token = credentials.token.reveal() if isinstance(credentials, SessionCredentials) else None
            self._botocore.set_credentials(credentials.access_key_id, credentials.secret.reveal(), token)
            self._botocore.get_credentials().method = "keytui-vault"

    def _build(self) -> botocore.session.Session:
        session = botocore.session.Session()
        # Every datetime keytui handles is aware UTC; botocore would read an offset-less timestamp
        # (moto sends those) as local time and shift every age by the machine's UTC offset.
        session.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=parse_utc)
        if self.target.config_file:
            session.set_config_variable("config_file", self.target.config_file)
        if self.target.credentials_file:
            session.set_config_variable("credentials_file", self.target.credentials_file)
        with aws_errors("read the AWS config files"):
            # Parse both files now (botocore caches them): a syntax error in one becomes a sentence here
            # instead of a traceback from whichever property first touches them.
            session.full_config  # noqa: B018
        if self.target.profile:
            if self.target.profile not in session.available_profiles:
                raise self.profile_not_found(session, self.target.profile)
            session.set_config_variable("profile", self.target.profile)
        else:
            named = env_profile()
            if named and named[1] not in session.available_profiles:
                raise self.profile_not_found(session, named[1])
        return session

    @staticmethod
    def profile_not_found(session: botocore.session.Session, profile: str) -> ProfileNotFoundError:
        paths = [
            os.path.expanduser(session.get_config_variable("config_file")),
            os.path.expanduser(session.get_config_variable("credentials_file")),
        ]
        return ProfileNotFoundError(profile, paths, session.available_profiles)

    # -- what the session is ------------------------------------------------------------------------

    @property
    def profile(self) -> str | None:
        return self.target.profile or self._botocore.get_config_variable("profile")

    @property
    def region(self) -> str:
        return self.target.region or self._botocore.get_config_variable("region") or FALLBACK_REGION

    @property
    def available_profiles(self) -> list[str]:
        return list(self._botocore.available_profiles)

    @property
    def config_paths(self) -> tuple[str, str]:
        return (
            os.path.expanduser(self._botocore.get_config_variable("config_file")),
            os.path.expanduser(self._botocore.get_config_variable("credentials_file")),
        )

    def profile_config(self) -> Mapping[str, Mapping[str, str]]:
        """Every profile of the config and credentials files, as botocore parsed them (merged)."""
        return self._botocore.full_config.get("profiles", {})

    def credential_source(self) -> CredentialSource:
        """Resolve the credentials (without calling AWS) and say where they come from."""
        with aws_errors(f"load the AWS credentials of profile '{self.profile or 'default'}'"):
            creds = self._botocore.get_credentials()
        if creds is None:
            self._check_readable()
            raise NoCredentialsError(self.profile)
        method = getattr(creds, "method", "unknown")
        label = _METHOD_LABELS.get(method, method)
        path = {"shared-credentials-file": self.config_paths[1], "config-file": self.config_paths[0]}.get(method)
        if path:
            label = f"{label} {path}"
        profile = None if method == "env" else (self.profile or "default")
        return CredentialSource(
            profile=profile,
            method=method,
            label=label,
            key_id=creds.access_key if creds.access_key else None,
            warnings=self._override_warnings(method),
            path=path,
        )

    def _check_readable(self) -> None:
        """botocore silently skips files it cannot read; "no credentials" would then be a wrong diagnosis."""
        for path in self.config_paths:
            if os.path.exists(path) and not os.access(path, os.R_OK):
                raise KeytuiError(f"Could not read {path}: permission denied. Fix its owner or mode (0600).",
                                  code="FileError")

    def resolved_credentials(self) -> LongTermKey | SessionCredentials:
        """The credentials botocore resolves for this profile (any provider: file, SSO, role, process)."""
        with aws_errors(f"load the credentials of profile '{self.profile or 'default'}'"):
            creds = self._botocore.get_credentials()
            frozen = creds.get_frozen_credentials() if creds else None
        if frozen is None:
            self._check_readable()
            raise NoCredentialsError(self.profile)
        if frozen.token:
            # Refreshable credentials know their expiry; static ones with a token do not (assume 1 h left).
            expiry = getattr(creds, "_expiry_time", None) or datetime.now(timezone.utc) + timedelta(hours=1)
            return SessionCredentials(frozen.access_key, Secret(frozen.secret_key), Secret(frozen.token), expiry)
        return LongTermKey(frozen.access_key, Secret(frozen.secret_key))

    def _override_warnings(self, method: str) -> tuple[str, ...]:
        env_keys = bool(os.environ.get("AWS_ACCESS_KEY_ID"))
        named = env_profile()
        if method == "env" and named:
            variable, name = named
            return (
                f"AWS_ACCESS_KEY_ID in the environment overrides {variable}={name}: "
                "keytui is acting with the environment's key, not that profile's.",
            )
        if env_keys and self.target.profile:
            return (
                f"AWS_ACCESS_KEY_ID is set in the environment but ignored: --profile {self.target.profile} "
                "was given, and its own credentials are used.",
            )
        return ()

    # -- clients --------------------------------------------------------------------------------------

    def client(self, service: str, region: str | None = None) -> Any:
        """A client of this session's credentials, in its region or in `region` (EC2, CloudTrail per region)."""
        cache_key = f"{service}@{region}" if region else service
        with self._lock:
            client = self._clients.get(cache_key)
            if client is None:
                client = self._create_client(service, region)
                self._clients[cache_key] = client
            return client

    def _create_client(self, service: str, region: str | None = None) -> Any:
        config = Config(
            retries={"mode": self.target.retry_mode, "max_attempts": self.target.max_attempts},
            max_pool_connections=self.target.max_pool_connections,
            connect_timeout=5,
            read_timeout=30,
            user_agent_extra="keytui",
        )
        kwargs: dict[str, Any] = {"region_name": region or self.region, "config": config}
        if self.target.endpoint_url:
            kwargs["endpoint_url"] = self.target.endpoint_url
        with aws_errors(f"connect to {service.upper()} with profile '{self.profile or 'default'}'"):
            return self._botocore.create_client(service, **kwargs)

    def caller_identity(self) -> Identity:
        self.credential_source()  # a clear "no credentials" before botocore's terse one
        with aws_errors("check who these credentials belong to (sts get-caller-identity)"):
            answer = self.client("sts").get_caller_identity()
        return Identity(account=answer["Account"], arn=answer["Arn"], user_id=answer["UserId"])


def sts_client(credentials: LongTermKey | SessionCredentials, target: AwsTarget, region: str | None = None) -> Any:
    """An STS client signed with `credentials` themselves (not the session's), at the STS endpoint the
    target uses: to prove a key works, or to spend an MFA code on a session."""
    # No profile at all: the credentials given are all that matter, whatever AWS_PROFILE names.
    session = botocore.session.Session(session_vars={"profile": (None, None, None, None)})
    session.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=parse_utc)
    kwargs: dict[str, Any] = {
        "region_name": region or target.region or FALLBACK_REGION,
        "aws_access_key_id": credentials.access_key_id,
        "aws_secret_access_key": credentials.secret.reveal(),
        "config": Config(retries={"mode": target.retry_mode, "max_attempts": 3}, connect_timeout=5, read_timeout=15),
    }
    if isinstance(credentials, SessionCredentials):
        kwargs["aws_session_token"] = credentials.token.reveal()
    endpoint = target.endpoint_url or os.environ.get("AWS_ENDPOINT_URL_STS") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        kwargs["endpoint_url"] = endpoint
    with aws_errors("connect to STS"):
        return session.create_client("sts", **kwargs)


def identity_for_key(key: LongTermKey, target: AwsTarget, region: str | None = None) -> Identity:
    """`sts get-caller-identity` signed with `key` itself: proves a key works and says whose it is."""
    client = sts_client(key, target, region)
    with aws_errors(f"check key {key.access_key_id[:4]}…{key.access_key_id[-4:]} with sts get-caller-identity"):
        answer = client.get_caller_identity()
    return Identity(account=answer["Account"], arn=answer["Arn"], user_id=answer["UserId"])
