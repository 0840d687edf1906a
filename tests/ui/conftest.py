"""Fixtures for the Textual tests: one demo account per module, its ages seeded relative to a fixed instant,
and an app factory wired the way `keytui --demo` wires it, but with a FixedClock at that instant.

The root conftest's autouse fixtures already keep the machine out (sandboxed HOME and AWS files, no AWS_*
variables, IMDS off, 127.0.0.1 only); `faults` from there injects AWS errors.
"""

from __future__ import annotations

import configparser
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from keytui.core.settings import Settings
from keytui.demo import DEMO_PROFILE, DemoAccount
from keytui.services import Services, ServicesFactory
from keytui.ui.app import KeytuiApp

from ..conftest import NOW
from .support import ProfilesConfig, services_for


@pytest.fixture(autouse=True)
def local_time_utc() -> Iterator[None]:
    """The status line shows the load time in local time: pin the zone so that text and snapshots are the
    same on every machine. (Not monkeypatch: the zone must be re-read with tzset after the restore.)"""
    previous = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = previous
        time.tzset()


@pytest.fixture(scope="module")
def demo() -> Iterator[DemoAccount]:
    """A started demo account with ages relative to NOW, shared by a module's tests (which only read it).

    In this process rather than the root conftest's `demo_server` subprocess, because the screens need
    fixed ages; starting resets moto, so it is started per module, never while a `mock_aws` test runs."""
    with pytest.MonkeyPatch.context() as patch:
        # moto stamps a key's last use with the real time when keytui signs a request with it (the demo
        # profile's key): pin that to NOW too, or "today" would depend on the machine's clock.
        patch.setattr("moto.iam.models.utcnow", lambda: NOW.replace(tzinfo=None))
        account = DemoAccount(now=NOW).start()
        try:
            yield account
        finally:
            account.stop()


@pytest.fixture
def make_services(demo: DemoAccount) -> Callable[..., Services]:
    """`make_services(profile="demo", settings=None)`: demo services with the fixed clock."""

    def make(profile: str | None = DEMO_PROFILE, settings: Settings | None = None) -> Services:
        return services_for(demo.target(profile), settings, keyring=demo.keyring)

    return make


@pytest.fixture
def make_app(make_services: Callable[..., Services]) -> Callable[..., KeytuiApp]:
    """`make_app()` builds the app on the demo account; `make_app(services, factory)` on anything else.
    The default profile factory switches between the demo's profiles, keeping the settings."""

    def make(
        services: Services | None = None,
        factory: ServicesFactory | None = None,
        *,
        settings: Settings | None = None,
    ) -> KeytuiApp:
        services = services or make_services(settings=settings)
        keep = services.settings
        return KeytuiApp(services, factory or (lambda profile: make_services(profile, settings=keep)))

    return make


@pytest.fixture
def profiles_config(demo: DemoAccount, tmp_path: Path) -> ProfilesConfig:
    """AWS files of our own with profiles `default` and `work`, both reaching the demo account with
    bob-laptop's key through `endpoint_url` in the config file (as after `keytui demo serve`)."""
    demo_credentials = configparser.ConfigParser()
    demo_credentials.read(demo.credentials_file)
    key_id = demo_credentials["bob-laptop"]["aws_access_key_id"]
    secret = demo_credentials["bob-laptop"]["aws_secret_access_key"]
    config = tmp_path / "config"
    credentials = tmp_path / "credentials"
    config.write_text(
        "".join(f"[{section}]\nregion = us-east-1\nendpoint_url = {demo.endpoint_url}\n\n"
                for section in ("default", "profile work"))
    )
    credentials.write_text(
        "".join(f"[{name}]\naws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n\n"
                for name in ("default", "work"))
    )
    return ProfilesConfig(config, credentials)
