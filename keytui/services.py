"""The one factory that builds keytui's services for the CLI, the TUI and the tests.

The UI receives a `Services` and a `ServicesFactory` (to switch profile); it never builds AWS clients.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from keytui.core.aws import AwsSession, AwsTarget
from keytui.core.clock import Clock, SystemClock
from keytui.core.errors import KeytuiError
from keytui.core.iam import IamService
from keytui.core.inventory import InventoryService, ProgressCallback
from keytui.core.models import CredentialSource, Identity, Inventory
from keytui.core.profiles import LocalProfile, read_profiles
from keytui.core.settings import Settings


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

    def inventory_service(self) -> InventoryService:
        iam = IamService(self._session().client("iam"), self.clock)
        return InventoryService(iam, self.clock, concurrency=self.settings.aws.concurrency)

    def load_inventory(
        self, on_progress: ProgressCallback | None = None, cancelled: Callable[[], bool] = lambda: False
    ) -> Inventory:
        return self.inventory_service().load(on_progress=on_progress, cancelled=cancelled)


ServicesFactory = Callable[[str | None], Services]


def build_services(
    target: AwsTarget,
    settings: Settings,
    clock: Clock | None = None,
    *,
    demo: bool = False,
    tolerate_errors: bool = False,
) -> Services:
    """Build the services for `target`. With `tolerate_errors` (the TUI), a bad profile yields Services
    without a session and the error, so the app can start and let the user pick another profile."""
    target = replace(
        target,
        retry_mode=settings.aws.retry_mode,
        max_attempts=settings.aws.max_attempts,
        max_pool_connections=max(10, settings.aws.concurrency * 2),
    )
    clock = clock or SystemClock()
    try:
        aws = AwsSession(target)
    except KeytuiError as exc:
        if not tolerate_errors:
            raise
        available = getattr(exc, "available", ())
        return Services(target, settings, clock, None, startup_error=exc, demo=demo, available_profiles=available)
    return Services(target, settings, clock, aws, demo=demo, available_profiles=tuple(sorted(aws.available_profiles)))
