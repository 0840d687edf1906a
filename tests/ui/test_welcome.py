"""The welcome screen: no credentials at all, or an unknown profile, opens it instead of crashing; picking
one of the listed profiles opens the main screen on it."""

from __future__ import annotations

from textual.widgets import OptionList

from keytui.core.aws import AwsTarget
from keytui.ui.app import KeytuiApp
from keytui.ui.screens.welcome import WelcomeScreen
from keytui.vault.memory import MemoryKeyring

from .support import DEMO_USER_COUNT, SIZE, services_for, text_of, users_table, wait_loaded, wait_until


async def _wait_welcome(pilot) -> WelcomeScreen:
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, WelcomeScreen), "the welcome screen")
    screen = pilot.app.screen
    assert isinstance(screen, WelcomeScreen)
    return screen


async def test_welcome_no_credentials_suggests_demo(aws_files) -> None:
    # The sandbox's AWS files do not exist and no AWS_* variable is set: nothing to sign with.
    assert not aws_files.config.exists() and not aws_files.credentials.exists()
    services = services_for(AwsTarget(), demo=False)

    def no_factory(profile: str | None):  # never called: there is nothing to pick
        raise AssertionError(profile)

    app = KeytuiApp(services, no_factory)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _wait_welcome(pilot)
        assert text_of(screen.query_one("#welcome-reason")).startswith(
            "No AWS credentials found for the default profile or the environment."
        )
        assert "keytui --demo" in text_of(screen.query_one("#welcome-help"))
        assert not screen.query(OptionList)  # no profiles to offer
        assert app.is_running and app.return_code is None
        await pilot.press("q")
    assert app.return_code == 0


async def test_welcome_unknown_profile_lists_profiles_and_switches(profiles_config) -> None:
    keyring = MemoryKeyring()
    services = services_for(profiles_config.target("wrok"), keyring=keyring, demo=False)
    app = KeytuiApp(services, lambda profile: services_for(profiles_config.target(profile), keyring=keyring, demo=False))
    async with app.run_test(size=SIZE) as pilot:
        screen = await _wait_welcome(pilot)
        reason = text_of(screen.query_one("#welcome-reason"))
        assert reason.startswith(f"Profile 'wrok' not found in {profiles_config.config_file}")
        assert "available: default, work." in reason
        options = screen.query_one(OptionList)
        assert [options.get_option_at_index(i).id for i in range(options.option_count)] == ["default", "work"]
        assert app.focused is options

        await pilot.press("down", "enter")
        main = await wait_loaded(pilot)
        assert main.services.profile_label == "work"
        assert text_of(main.query_one("#identity-profile")) == "profile work"
        assert text_of(main.query_one("#identity-who")) == "as bob"  # the files hold bob-laptop's key
        assert users_table(app).row_count == DEMO_USER_COUNT
        assert len(app.screen_stack) == 2  # the welcome screen was replaced, not stacked
