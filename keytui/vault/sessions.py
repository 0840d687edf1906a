"""MFA sessions held in the keyring: the valid one is served, an expired one is dropped and never shown
as valid (F-09), a new one costs one MFA code and is stored at once (`session:<profile>`).

Reading the cached session needs neither botocore nor boto3 (`keytui credential-process` runs on every
AWS call of every tool); they are imported only when a new session must be requested.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keytui.core.awsfiles import read_text
from keytui.core.clock import Clock
from keytui.core.errors import KeytuiError
from keytui.core.models import LongTermKey, SessionCredentials
from keytui.vault.store import Vault

if TYPE_CHECKING:
    from keytui.core.aws import AwsTarget
    from keytui.core.mfa import UsedCodes
    from keytui.core.sessions import SessionPlan


def _sections(path: Path) -> dict[str, dict[str, str]]:
    """The file's sections as botocore's configloader reads them (configparser, raw); a missing file is empty."""
    import configparser

    text = read_text(path)
    parser = configparser.RawConfigParser()
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error as exc:
        raise KeytuiError(
            f"{path} cannot be parsed ({str(exc).splitlines()[0]}), so keytui cannot tell whether a profile needs "
            "MFA; it serves nothing. Fix the file.",
            code="ConfigParseError",
        ) from None
    return {name: {k: v.strip() for k, v in parser.items(name)} for name in parser.sections()}


def profile_values(config_file: Path, credentials_file: Path, profile: str) -> dict[str, str] | None:
    """A profile's settings exactly as botocore merges them (`[profile X]`, `[profile "X"]` or `[default]` in
    the config, the credentials file's `[X]` over it); None when neither file has the profile. Parsed with
    the same stdlib parser and rules as botocore, because a profile whose `mfa_serial` keytui missed would
    be served its long-term key."""
    import shlex

    profiles: dict[str, dict[str, str]] = {}
    for name, values in _sections(config_file).items():
        if name.startswith("profile"):
            try:
                parts = shlex.split(name)
            except ValueError:
                continue
            if len(parts) == 2:
                profiles[parts[1]] = values
        elif name == "default":
            profiles["default"] = values
    credentials = _sections(credentials_file)
    if profile not in profiles and profile not in credentials:
        return None
    return {**profiles.get(profile, {}), **credentials.get(profile, {})}


@dataclass(frozen=True)
class SessionState:
    """What the header and `keytui session` show: a session's remaining time, or why there is none."""

    profile: str
    session: SessionCredentials | None
    seconds_left: float | None
    margin: int
    mfa_serial: str | None = None

    @property
    def valid(self) -> bool:
        return self.seconds_left is not None and self.seconds_left > self.margin

    @property
    def expired(self) -> bool:
        return self.seconds_left is not None and self.seconds_left <= 0

    def describe(self) -> str:
        if self.seconds_left is None:
            return "no MFA session"
        if self.expired:
            return "MFA session expired"
        left = format_duration(self.seconds_left)
        if not self.valid:
            return f"MFA session ends in {left} (inside the {self.margin // 60} min refresh margin: renew it)"
        return f"MFA session, {left} left"


def format_duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class SessionBroker:
    """One profile's MFA sessions: state, the plan of a new one, and obtaining it with a code."""

    def __init__(
        self,
        vault: Vault,
        config_file: Path,
        credentials_file: Path,
        clock: Clock,
        *,
        margin: int = 300,
        used_codes: UsedCodes | None = None,
        state_folder: Path | None = None,
        target: AwsTarget | None = None,
        resolve: Callable[[str], LongTermKey | SessionCredentials] | None = None,
    ) -> None:
        """`resolve(profile)` gives botocore's credentials for a profile whose key is not in the keyring
        (a plaintext file, SSO): the source of the session. `target` says where STS is (the demo, tests)."""
        self.vault = vault
        self.config_file, self.credentials_file = Path(config_file), Path(credentials_file)
        self.clock = clock
        self.margin = margin
        self._used_codes = used_codes
        self._state_folder = state_folder
        self.target = target
        self._resolve = resolve

    @property
    def used_codes(self) -> UsedCodes:
        """Built when a code is first checked: serving a cached session never loads the MFA module."""
        if self._used_codes is None:
            from keytui.core.mfa import UsedCodes

            self._used_codes = UsedCodes(self._state_folder, self.clock)
        return self._used_codes

    def values(self, profile: str) -> dict[str, str]:
        return profile_values(self.config_file, self.credentials_file, profile) or {}

    def known(self, profile: str) -> bool:
        return profile_values(self.config_file, self.credentials_file, profile) is not None

    def state(self, profile: str) -> SessionState:
        session = self.vault.get_session(profile)
        left = session.valid_for(self.clock.now()) if session else None
        return SessionState(profile, session, left, self.margin, self.values(profile).get("mfa_serial"))

    def cached(self, profile: str) -> SessionCredentials | None:
        """The stored session if it is valid beyond the margin. An expired one is dropped from the keyring
        (F-09): it can never be served or shown as valid again."""
        state = self.state(profile)
        if state.valid:
            return state.session
        if state.expired:
            self.vault.remove(f"session:{profile}")  # the session only: the long-term key stays
        return None

    def needs_mfa(self, profile: str) -> bool:
        return bool(self.values(profile).get("mfa_serial"))

    # -- a new session ----------------------------------------------------------------------------

    def _source(self, profile: str, values: dict[str, str]) -> LongTermKey | SessionCredentials:
        """The credentials that ask STS: the profile's own long-term key for GetSessionToken, the source
        profile's for AssumeRole (its keyring key, its valid session when chaining, or botocore's)."""
        name = values.get("source_profile") if values.get("role_arn") else profile
        if not name:
            raise KeytuiError(
                f"Role profile '{profile}' has no source_profile, so keytui does not know which key asks for the "
                "role. Add `source_profile = NAME` to the profile.",
                code="NoSourceProfile",
            )
        key = self.vault.get_key(name)
        if key is not None:
            return key
        if name != profile:
            chained = self.cached(name)
            if chained is not None:
                return chained
        if self._resolve is None:
            raise KeytuiError(
                f"No long-term key for profile '{name}' in the keyring ({self.vault.info.label}). Store one with "
                f"`keytui vault add {name}`.",
                code="NotInVault",
            )
        return self._resolve(name)

    def plan(self, profile: str, duration: int | None = None) -> tuple[SessionPlan, LongTermKey | SessionCredentials]:
        """Everything checked before the user types a code (F-06 shape, F-10 limits)."""
        from keytui.core.sessions import plan_session

        values = self.values(profile)
        source = self._source(profile, values) if values.get("mfa_serial") else None
        temporary = isinstance(source, SessionCredentials) or bool(source and source.access_key_id.startswith("ASIA"))
        account = self._account(profile, source) if source is not None and not values.get("role_arn") else None
        plan = plan_session(profile, values, duration, source_temporary=temporary, account=account)
        assert source is not None  # plan_session refused a profile without mfa_serial
        return plan, source

    def _account(self, profile: str, source: LongTermKey | SessionCredentials) -> str | None:
        """The account of the key that will ask, so a device ARN of another account is refused before a code
        is spent (F-06). None when STS cannot say: AWS then makes the check itself."""
        from keytui.core.errors import aws_errors

        try:
            with aws_errors("check whose key asks for the session"):
                return str(self._sts(profile, source).get_caller_identity()["Account"])
        except KeytuiError:
            return None

    def open(self, plan: SessionPlan, source: LongTermKey | SessionCredentials, code: str) -> SessionCredentials:
        """Spend `code` on a session and store it; nothing is stored unless AWS granted it."""
        from keytui.core.mfa import check_code
        from keytui.core.sessions import request_session

        code = check_code(code)
        self.used_codes.check(plan.mfa_serial, code)
        self.vault.probe()  # never spend a code on a session the keyring cannot take
        session = request_session(self._sts(plan.profile, source), plan, code, self.clock.now())
        self.used_codes.record(plan.mfa_serial, code)
        if session.valid_for(self.clock.now()) <= 0:
            raise KeytuiError(
                f"AWS returned a session for profile '{plan.profile}' that has already expired "
                f"({session.expiration:%Y-%m-%d %H:%M:%S} UTC): this computer's clock is probably wrong.",
                code="ExpiredOnArrival",
            )
        self.vault.put_session(plan.profile, session)
        return session

    def _target_for(self, profile: str) -> AwsTarget:
        from keytui.core.aws import AwsTarget

        values = self.values(profile)
        base = self.target or AwsTarget()
        return replace(
            base,
            region=base.region or values.get("region"),
            endpoint_url=base.endpoint_url or values.get("endpoint_url"),
        )

    def _sts(self, profile: str, source: LongTermKey | SessionCredentials) -> Any:
        from keytui.core.aws import sts_client

        target = self._target_for(profile)
        return sts_client(source, target, target.region)

    def user_devices(self, source: LongTermKey | SessionCredentials, profile: str) -> tuple[str, ...]:
        """The MFA devices of the user that `source` belongs to: offered when AWS refuses mfa_serial (F-06)."""
        from keytui.core.aws import AwsSession
        from keytui.core.mfa import MfaService
        from keytui.core.models import Identity

        from keytui.core.errors import aws_errors

        target = self._target_for(profile)
        with aws_errors("check whose key asked for the session (sts get-caller-identity)"):
            answer = self._sts(profile, source).get_caller_identity()
        identity = Identity(account=answer["Account"], arn=answer["Arn"], user_id=answer["UserId"])
        session = AwsSession(replace(target, profile=None), source)
        service = MfaService(session.client("iam"), self.clock, identity.account)
        return tuple(d.serial for d in service.list_devices(identity.name))

    def forget(self, profile: str) -> None:
        self.vault.remove(f"session:{profile}")
