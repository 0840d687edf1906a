"""The one factory that builds keytui's services for the CLI, the TUI and the tests.

The UI receives a `Services` and a `ServicesFactory` (to switch profile); it never builds AWS clients.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import os
from pathlib import Path
from typing import Any

from keytui.core.aws import AwsSession, AwsTarget, identity_for_key, env_profile
from keytui.core.clock import Clock, SystemClock
from keytui.core.errors import KeytuiError
from keytui.core.iam import IamService
from keytui.core.inventory import InventoryService, ProgressCallback
from keytui.core.models import CredentialSource, Identity, Inventory
from keytui.core.profiles import LocalProfile, profiles_by_key_id, read_profiles
from keytui.core.rotation import JournalStore, RotationEngine
from keytui.core.settings import Settings
from keytui.vault.errors import VaultError
from keytui.vault.factory import aws_file_paths, open_vault
from keytui.vault.keystore import VaultKeyStore
from keytui.vault.service import VaultService, keytui_command
from keytui.vault.store import Vault


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
        self.aws = AwsSession(self.target, _vault_credentials(self.target, self.vault_service))

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
        )

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


def _vault_credentials(target: AwsTarget, vault_service: VaultService) -> Any:
    """The vault's key for the profile keytui will act as, when the vault manages that profile.
    Environment keys win over AWS_PROFILE (as in the AWS CLI), so they are left to botocore."""
    profile = target.profile
    if profile is None:
        if os.environ.get("AWS_ACCESS_KEY_ID"):
            return None
        named = env_profile()  # botocore's order: AWS_DEFAULT_PROFILE, then AWS_PROFILE
        profile = named[1] if named else "default"
    if not vault_service.is_managed(profile):
        return None
    session = vault_service.vault.get_session(profile)
    return vault_service.vault.get_key(profile) or session


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
    vault_service = VaultService(
        open_vault(settings.vault, keyring_backend), config_file, credentials_file, keytui_command()
    )
    try:
        aws = AwsSession(target, _vault_credentials(target, vault_service))
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
            vault_service=vault_service, journals=journals,
        )
    return Services(
        target, settings, clock, aws, demo=demo, available_profiles=tuple(sorted(aws.available_profiles)),
        vault_service=vault_service, journals=journals,
    )
