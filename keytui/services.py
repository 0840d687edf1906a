"""The one factory that builds keytui's services for the CLI, the TUI and the tests.

The UI receives a `Services` and a `ServicesFactory` (to switch profile); it never builds AWS clients.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import os
from pathlib import Path
from typing import Any, TypeVar

from keytui.core.aws import AwsSession, AwsTarget, identity_for_key, env_profile
from keytui.core.clock import Clock, SystemClock
from keytui.core.errors import KeytuiError
from keytui.core.cleanup import delete_inactive_key
from keytui.core.iam import IamService
from keytui.core.mfa import MfaPrompt, MfaService, UsedCodes
from keytui.core.inventory import InventoryService, ProgressCallback
from keytui.core.models import AccessKey, CredentialSource, Identity, Inventory, LongTermKey, SessionCredentials
from keytui.core.profiles import LocalProfile, profiles_by_key_id, read_profiles
from keytui.core.rotation import JournalStore, RotationEngine
from keytui.core.settings import Settings
from keytui.vault.errors import VaultError
from keytui.vault.factory import aws_file_paths, open_vault
from keytui.vault.keystore import VaultKeyStore, VaultProfileStore
from keytui.vault.service import VaultService, keytui_command
from keytui.vault.sessions import SessionBroker, SessionState
from keytui.vault.store import Vault


T = TypeVar("T")


@dataclass
class Services:
    target: AwsTarget
    settings: Settings
    clock: Clock
    aws: AwsSession | None
    # Why `aws` is None (e.g. an unknown profile): the TUI shows it and offers a profile picker.
    startup_error: KeytuiError | None = None
    demo: bool = False
    available_profiles: tuple[str, ...] = field(default_factory=tuple)
    vault_service: VaultService | None = None
    # Set when key_holders() could not read the keyring: the holder lists are then incomplete.
    holders_warning: str | None = None
    # Rotation journals: under keytui's state folder, or the demo's own folder (never the user's).
    journals: JournalStore = field(default_factory=JournalStore)
    # Where the used-MFA-codes record lives (None: in memory, e.g. until a state folder is known).
    state_folder: Path | None = None

    @property
    def vault(self) -> Vault | None:
        return self.vault_service.vault if self.vault_service else None

    @property
    def profile_label(self) -> str:
        if self.aws is None:
            return self.target.profile or "(none)"
        return self.aws.profile or "default"

    def _session(self) -> AwsSession:
        if self.aws is None:
            raise self.startup_error or KeytuiError("No AWS session.")
        return self.aws

    def credential_source(self) -> CredentialSource:
        return self._session().credential_source()

    def identity(self) -> Identity:
        return self._session().caller_identity()

    def local_profiles(self) -> tuple[LocalProfile, ...]:
        session = self._session()
        return read_profiles(session.profile_config(), session.config_paths[1])

    def key_holders(self) -> dict[str, tuple[str, ...]]:
        """Key id -> the local profiles holding it, in plaintext files or in the keyring. A keyring that
        cannot be read leaves its profiles out (the header already says why)."""
        holders = {k: list(v) for k, v in profiles_by_key_id(self.local_profiles()).items()}
        if self.vault_service is not None:
            try:
                statuses = self.vault_service.status()
            except KeytuiError as exc:
                statuses = []
                self.holders_warning = f"keyring-held profiles are not marked: {exc}"
            unread = [s.name for s in statuses if s.where.startswith("keyring (") and "missing" not in s.where]
            if unread:
                reason = next(s.where for s in statuses if s.name == unread[0])
                self.holders_warning = (
                    f"the keyring could not be read for profile(s) {', '.join(unread)} ({reason}); the keys "
                    "they hold are not marked. See `keytui vault list`."
                )
            for status in statuses:
                if status.key_id and status.name not in holders.get(status.key_id, []):
                    holders.setdefault(status.key_id, []).append(status.name)
        return {k: tuple(sorted(v)) for k, v in holders.items()}

    def reload_session(self) -> None:
        """Rebuild the AWS session from the profile's current credentials (after a rotation switched the
        keyring to a new key, every client built from the old one must go: F-03)."""
        if self.vault_service is None:
            return
        self.aws = AwsSession(
            self.target,
            _vault_credentials(self.target, self.vault_service, self.clock, self.settings.vault.session_margin),
        )

    def rotation_engine(self, mfa_iam: Callable[[], IamService] | None = None) -> RotationEngine:
        def fresh_iam() -> IamService:
            self.reload_session()
            return IamService(self._session().client("iam"), self.clock)

        store = VaultKeyStore(self.vault_service.vault) if self.vault_service else None
        return RotationEngine(
            fresh_iam,
            # Verify against the STS endpoint this profile really uses (an endpoint_url in the profile
            # included), not only the one the target or the environment names.
            lambda key: identity_for_key(
                key, replace(self.target, endpoint_url=self._session().client("sts").meta.endpoint_url)
            ),
            store,
            self.journals,
            self.clock,
            mfa_iam=mfa_iam,
            profiles=VaultProfileStore(self.vault_service) if self.vault_service else None,
        )

    # -- MFA ------------------------------------------------------------------------------------------

    @property
    def acting_profile(self) -> str:
        return self.aws.profile if self.aws and self.aws.profile else (self.target.profile or "default")

    def session_broker(self) -> SessionBroker:
        if self.vault_service is None:
            raise KeytuiError("No keyring: MFA sessions cannot be stored.", code="NoKeyring")

        def resolve(profile: str) -> LongTermKey | SessionCredentials:
            return AwsSession(replace(self.target, profile=profile)).resolved_credentials()

        return SessionBroker(
            self.vault_service.vault, self.vault_service.config_file, self.vault_service.credentials_file,
            self.clock, margin=self.settings.vault.session_margin,
            used_codes=UsedCodes(self.state_folder, self.clock), target=self.target, resolve=resolve,
        )

    def session_state(self) -> SessionState | None:
        """The acting profile's MFA session, for the header (None: the profile has no keyring)."""
        if self.vault_service is None:
            return None
        return self.session_broker().state(self.acting_profile)

    def open_session(self, code: str, duration: int | None = None, profile: str | None = None) -> SessionCredentials:
        """Spend `code` on an MFA session for the profile, store it, and act with it from now on."""
        broker = self.session_broker()
        plan, source = broker.plan(profile or self.acting_profile, duration)
        session = broker.open(plan, source, code)
        if plan.profile == self.acting_profile:
            self.reload_session()
        return session

    def drop_expired_session(self, exc: BaseException) -> bool:
        """F-09: AWS says the stored MFA session has expired (ExpiredToken, RequestExpired…) although it looked
        valid here (a skewed clock, a revoked session): delete it, so it is never shown or used again, and act
        with the profile's own key. True when a session was dropped; the caller offers a new one."""
        from keytui.core.errors import EXPIRED

        if not isinstance(exc, KeytuiError) or exc.code not in EXPIRED or self.vault_service is None:
            return False
        vault = self.vault_service.vault
        if vault.get_session(self.acting_profile) is None:
            return False
        vault.remove(f"session:{self.acting_profile}")  # the session only: never the long-term key
        self.reload_session()
        return True

    def set_mfa_serial(self, profile: str, serial: str) -> None:
        """Write `mfa_serial` into a profile of the config file (after an enrollment, or to fix F-06)."""
        from keytui.core.awsfiles import set_profile_value

        if self.vault_service is None:
            raise KeytuiError("The AWS config file is not known here.", code="NoConfig")
        set_profile_value(self.vault_service.config_file, profile, "mfa_serial", serial)

    def mfa_service(self) -> MfaService:
        account = self.identity().account
        return MfaService(self._session().client("iam"), self.clock, account)

    def retry_with_mfa(self, call: Callable[[], T], prompt: MfaPrompt | None) -> T:
        """F-08 for one IAM write: when AWS denies it with an explicit deny and the acting profile has
        mfa_serial, ask for a code, open an MFA session (keytui acts with it from then on) and try once more.
        `call` must build its client from the services each time (it does: they are cached per session)."""
        from keytui.core.errors import AwsError
        from keytui.core.rotation import explicit_deny

        try:
            return call()
        except AwsError as exc:
            if prompt is None or not explicit_deny(exc):
                raise
            if not self.session_broker().values(self.acting_profile).get("mfa_serial"):
                raise
            reason = f"IAM denied this without MFA ({exc.code})"
        self._open_session_prompted(prompt, reason)
        return call()

    def _open_session_prompted(self, prompt: MfaPrompt, reason: str, *, act_with_it: bool = True) -> SessionCredentials:
        """An MFA session for the acting profile, the code asked with `prompt` (again, a few times, after a
        mistyped or reused one: F-05), stored in the keyring; with `act_with_it`, keytui acts with it now."""
        from keytui.core.mfa import MfaCodeError

        broker = self.session_broker()
        plan, source = broker.plan(self.acting_profile)
        for attempt in range(3):
            try:
                session = broker.open(plan, source, prompt(reason))
                break
            except MfaCodeError as exc:
                if attempt == 2:
                    raise
                reason = f"{exc} IAM needs an MFA session for profile '{plan.profile}'"
        if act_with_it:
            self.reload_session()
        return session

    def mfa_iam(self, prompt: MfaPrompt) -> Callable[[], IamService]:
        """For the rotation engine (F-08): when IAM denies a call for lack of MFA, ask for a code, get an MFA
        session for the acting profile, and give an IAM client signed with it."""

        def upgrade() -> IamService:
            # The rotation keeps this client for its remaining calls; the app's own session is left as it is.
            reason = f"IAM needs an MFA session for profile '{self.acting_profile}'"
            session = self._open_session_prompted(prompt, reason, act_with_it=False)
            return IamService(AwsSession(self.target, session).client("iam"), self.clock)

        return upgrade

    def delete_inactive_key(self, user: str, key_id: str) -> AccessKey:
        """Delete one of `user`'s inactive keys (a cleanup after a rotation, or to make room for one: F-01).
        AWS is asked again right before: a key that is active there, or gone, is refused. Not while a rotation
        of `user` runs or is unfinished (its journal knows that user's keys)."""
        with self.journals.lock(user):
            journal = self.journals.load(user)
            if journal is not None and journal.status in {"running", "failed"}:
                raise KeytuiError(
                    f"A rotation of {user} did not finish; resume or roll it back first (r on {user}, or "
                    f"`keytui rotate {user} --resume`). Nothing was deleted.",
                    code="RotationOpen",
                )
            key = delete_inactive_key(IamService(self._session().client("iam"), self.clock), user, key_id)
        self.journals.forget_deactivated(key_id)
        return key

    # -- audit ----------------------------------------------------------------------------------------

    def mute_store(self) -> Any:
        from keytui.core.audit.mutes import MuteStore

        return MuteStore((self.state_folder or self.journals.folder.parent) / "audit-mutes.json")

    def run_audit(self, *, simulate: bool = False, inventory: Inventory | None = None) -> Any:
        """Collect once, evaluate every check, apply the mutes in force: an AuditReport."""
        from keytui.core.audit import AuditCollector, run_audit

        session = self._session()
        files = (self.vault_service.config_file, self.vault_service.credentials_file) if self.vault_service else None
        # The AWS CLI's caches live under ~/.aws whatever AWS_SHARED_CREDENTIALS_FILE says; the demo has its own.
        aws_dir = files[1].parent if files and self.demo else Path.home() / ".aws"
        collector = AuditCollector(
            session.client, self.clock, (lambda: inventory) if inventory else self.load_inventory,
            local_files=files, aws_dir=aws_dir, open_rotations=lambda: [j.user for j in self.journals.open_journals()],
        )
        try:
            account = self.identity().account
        except KeytuiError:
            account = None
        data = collector.collect(account=account, simulate=simulate)
        return run_audit(data, self.settings.audit, self.mute_store().load())

    def apply_fix(self, fix: Any) -> str:
        from keytui.core.audit.fixes import apply_fix
        from keytui.core.masking import mask_key_id

        key_id = fix.param("key_id")
        if fix.action in {"deactivate_key", "delete_key"} and key_id:
            # Never lock out this machine: AWS's last-use data lags by hours, so a key just stored here can look
            # like the "less used" one. A key keytui acts with, or a local profile holds, is rotated instead.
            holders = [p for p in self.key_holders().get(str(key_id), ())]
            if self.credential_source().key_id == key_id:
                holders.insert(0, "the one keytui is acting with")
            if holders:
                raise KeytuiError(
                    f"Key {mask_key_id(str(key_id))} is in use on this machine ({', '.join(holders)}): switching it off "
                    "would lock them out. Rotate it instead (r), or move those profiles to another key first.",
                    code="KeyInUse",
                )
        return apply_fix(fix, self._session().client)

    def inventory_service(self) -> InventoryService:
        iam = IamService(self._session().client("iam"), self.clock)
        return InventoryService(iam, self.clock, concurrency=self.settings.aws.concurrency)

    def load_inventory(
        self, on_progress: ProgressCallback | None = None, cancelled: Callable[[], bool] = lambda: False
    ) -> Inventory:
        return self.inventory_service().load(on_progress=on_progress, cancelled=cancelled)


ServicesFactory = Callable[[str | None], Services]


def _file_paths(target: AwsTarget) -> tuple[Path, Path]:
    config, creds = aws_file_paths()
    return (
        Path(target.config_file) if target.config_file else config,
        Path(target.credentials_file) if target.credentials_file else creds,
    )


def _vault_credentials(target: AwsTarget, vault_service: VaultService, clock: Clock, margin: int) -> Any:
    """The vault's key for the profile keytui will act as, when the vault manages that profile.
    Environment keys win over AWS_PROFILE (as in the AWS CLI), so they are left to botocore."""
    profile = target.profile
    if profile is None:
        if os.environ.get("AWS_ACCESS_KEY_ID"):
            return None
        named = env_profile()  # botocore's order: AWS_DEFAULT_PROFILE, then AWS_PROFILE
        profile = named[1] if named else "default"
    # A valid MFA session the user opened for this profile wins: it is what IAM policies requiring MFA accept.
    managed = vault_service.is_managed(profile)
    try:
        session = vault_service.vault.get_session(profile)
    except VaultError:
        if managed:
            raise  # a locked keyring is not "no credentials"
        session = None  # no usable keyring: botocore resolves the profile as the AWS CLI would
    if session is not None and session.valid_for(clock.now()) > margin:
        return session
    return vault_service.vault.get_key(profile) if managed else None


def build_services(
    target: AwsTarget,
    settings: Settings,
    clock: Clock | None = None,
    *,
    demo: bool = False,
    tolerate_errors: bool = False,
    keyring_backend: Any = None,
    state_folder: Path | None = None,
) -> Services:
    """Build the services for `target`. With `tolerate_errors` (the TUI), a bad profile or a locked
    keyring yields Services without a session and the error, so the app can start, say why, and let the
    user pick another profile. `keyring_backend` overrides the OS keyring (the demo, the tests)."""
    target = replace(
        target,
        retry_mode=settings.aws.retry_mode,
        max_attempts=settings.aws.max_attempts,
        max_pool_connections=max(10, settings.aws.concurrency * 2),
    )
    clock = clock or SystemClock()
    config_file, credentials_file = _file_paths(target)
    journals = JournalStore(state_folder / "rotations" if state_folder else None)
    state = state_folder if state_folder else _default_state_folder()
    vault_service = VaultService(
        open_vault(settings.vault, keyring_backend), config_file, credentials_file, keytui_command()
    )
    try:
        aws = AwsSession(target, _vault_credentials(target, vault_service, clock, settings.vault.session_margin))
    except (KeytuiError, VaultError) as exc:
        if not tolerate_errors:
            raise
        available = getattr(exc, "available", ())
        if not available:
            try:
                available = tuple(vault_service.profile_names())
            except KeytuiError:
                available = ()  # the files themselves are what failed: nothing to offer
        return Services(
            target, settings, clock, None, startup_error=exc, demo=demo, available_profiles=tuple(available),
            vault_service=vault_service, journals=journals, state_folder=state,
        )
    return Services(
        target, settings, clock, aws, demo=demo, available_profiles=tuple(sorted(aws.available_profiles)),
        vault_service=vault_service, journals=journals, state_folder=state,
    )


def _default_state_folder() -> Path | None:
    from keytui.core.awsfiles import state_dir

    try:
        return state_dir()
    except OSError:
        return None  # read-only home: codes are remembered in memory only
