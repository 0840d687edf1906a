"""`s`: MFA sessions from the TUI on the demo account, and the header's countdown (F-05, F-06, F-09, F-10).

The demo has profile `demo-mfa` (user sybil, with mfa_serial, its key in the demo keyring). moto accepts any
code; AWS's refusals are injected with `faults`, which also records every call, so "nothing was sent" is
asserted. moto's STS clock is pinned to NOW, so a session's expiry — and the countdown a FixedClock gives —
is the same on every run. Every test starts its own demo account (sessions and configs change).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import OptionList

from keytui.core.awsfiles import set_profile_value
from keytui.demo import DEMO_ACCOUNT_ID, DEMO_MFA_PROFILE, DEMO_PROFILE, DemoAccount
from keytui.ui.screens.confirm import ConfirmModal
from keytui.ui.screens.main import MainScreen
from keytui.ui.screens.mfa_code import MfaCodeModal, worker_prompt
from keytui.ui.screens.session import SessionScreen
from keytui.ui.widgets.identity_bar import IdentityBar
from keytui.vault.sessions import profile_values
from keytui.vault.store import Vault

from ..conftest import NOW
from .support import SIZE, freeze_cursor_blink, text_of, wait_loaded, wait_until

BAD_SERIAL_MESSAGE = ("MultiFactorAuthentication failed, unable to validate MFA code.  Please verify your MFA serial "
                      "number is valid and associated with this user.")
BAD_CODE_MESSAGE = "MultiFactorAuthentication failed with invalid MFA one time pass code. "


@pytest.fixture
def demo() -> Iterator[DemoAccount]:
    """A fresh demo account per test, with moto's IAM and STS clocks at NOW."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("moto.iam.models.utcnow", lambda: NOW.replace(tzinfo=None))
        patch.setattr("moto.sts.models.utcnow", lambda: NOW.replace(tzinfo=None))
        account = DemoAccount(now=NOW).start()
        try:
            yield account
        finally:
            account.stop()


def serial(name: str) -> str:
    return f"arn:aws:iam::{DEMO_ACCOUNT_ID}:mfa/{name}"


def session_screen(app: App[object]) -> SessionScreen:
    screen = next((s for s in app.screen_stack if isinstance(s, SessionScreen)), None)
    assert screen is not None, f"no session screen in {app.screen_stack!r}"
    return screen


def outcome(screen: SessionScreen) -> str:
    return text_of(screen.query_one("#session-outcome"))


async def open_session_screen(pilot: Pilot[object]) -> SessionScreen:
    await wait_loaded(pilot)
    await pilot.press("s")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, SessionScreen) and pilot.app.screen.phase != "loading",
                     "the session screen")
    return session_screen(pilot.app)


async def wait_phase(pilot: Pilot[object], screen: SessionScreen, *phases: str) -> None:
    await wait_until(pilot, lambda: screen.phase in phases, f"the session screen to be {phases} (it is {screen.phase})")


async def pick(pilot: Pilot[object], screen: SessionScreen, profile: str) -> None:
    profiles = screen.query_one("#session-profiles", OptionList)
    profiles.focus()
    profiles.highlighted = [option.id for option in profiles.options].index(profile)
    await pilot.press("enter")
    await wait_phase(pilot, screen, "code")
    assert screen.profile == profile


async def type_code(pilot: Pilot[object], screen: SessionScreen, code: str) -> None:
    screen.query_one("#session-code").focus()
    await pilot.press(*code, "enter")
    await wait_phase(pilot, screen, "code", "opened")


def stored_session(demo: DemoAccount, profile: str = DEMO_MFA_PROFILE):  # type: ignore[no-untyped-def]
    return Vault(demo.keyring).get_session(profile)


def header(app: App[object]) -> tuple[str, str]:
    """What the header says about the MFA session, and its style, after a tick."""
    bar = app.screen.query_one(IdentityBar)
    bar._tick_session()
    label = bar.query_one("#identity-session")
    text, style = bar.session_text()
    assert text_of(label) == text and (label.has_class(style) if style else label.has_class("hidden"))
    return text, style


# -- a session for another profile, then switching to it -------------------------------------------------------


async def test_session_for_demo_mfa_is_stored_and_the_header_counts_down_after_switching(
    make_app, demo: DemoAccount, faults
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_session_screen(pilot)
        intro = text_of(screen.query_one("#session-intro"))
        assert f"Profile '{DEMO_PROFILE}' (the one keytui acts as) has no mfa_serial" in intro
        assert "press m to enroll a device" in intro
        assert "Demo account: any six digits work (the demo account does not check MFA codes)." in intro
        assert [o.id for o in screen.query_one("#session-profiles", OptionList).options] == [DEMO_MFA_PROFILE]
        assert screen.phase == "choose" and screen.profile is None

        await pick(pilot, screen, DEMO_MFA_PROFILE)
        plan = text_of(screen.query_one("#session-plan"))
        assert plan == f"12:00:00 (43200 s) · GetSessionToken · device {serial('sybil')}"
        assert faults.count("GetSessionToken") == 0, "planned before any code is typed"

        await type_code(pilot, screen, "123456")
        assert screen.phase == "opened"
        assert faults.count("GetSessionToken") == 1
        session = stored_session(demo)
        assert session is not None and session.valid_for(NOW) == 43200
        assert "✓ MFA session for profile 'demo-mfa' stored in the keyring" in outcome(screen)
        app.services.clock.at = NOW  # loading the credential report waited on this clock (it advances on sleep)
        screen._tick()
        state = text_of(screen.query_one("#session-state"))
        assert state == ("Profile 'demo-mfa': MFA session valid: ends in 12:00:00 "
                         "(expires 2026-12-04 00:00:00 UTC)")

        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the offer to switch")
        assert text_of(app.screen.query_one("#confirm-title")) == f"Switch keytui to profile '{DEMO_MFA_PROFILE}'?"
        await pilot.press("y")
        await wait_until(pilot, lambda: isinstance(app.screen, MainScreen) and app.services.acting_profile
                         == DEMO_MFA_PROFILE and header(app)[0] != "", "the app to act as demo-mfa")
        main = await wait_loaded(pilot)
        assert len([s for s in app.screen_stack if isinstance(s, MainScreen)]) == 1
        # (moto answers GetCallerIdentity for session credentials as user "moto": the name is not checked.)
        assert text_of(main.query_one("#identity-profile")) == f"profile {DEMO_MFA_PROFILE}"
        assert app.services.aws is not None
        assert app.services.aws.resolved_credentials().access_key_id == stored_session(demo).access_key_id, \
            "keytui acts with the MFA session"
        clock = app.services.clock
        clock.at = NOW
        assert header(app) == ("MFA session 12:00:00", "-valid")

        # F-09: the countdown is the services' clock's; inside the margin it says renew; expired is never valid.
        clock.advance(3600)
        assert header(app) == ("MFA session 11:00:00", "-valid")
        clock.advance(43200 - 3600 - 252)
        assert header(app) == ("MFA session · renew: 4:12", "-renew")
        clock.advance(252)
        assert header(app) == ("MFA session expired", "-expired")
        clock.advance(60)
        assert header(app) == ("MFA session expired", "-expired")


async def test_f09_expired_session_is_shown_as_expired_on_the_session_screen(make_app, make_services,
                                                                             demo: DemoAccount) -> None:
    app = make_app(make_services(DEMO_MFA_PROFILE))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_session_screen(pilot)
        assert screen.profile == DEMO_MFA_PROFILE, "the acting profile has mfa_serial: it is chosen"
        await wait_phase(pilot, screen, "code")
        await type_code(pilot, screen, "123456")
        assert screen.phase == "opened"
        app.services.clock.at = NOW
        app.services.clock.advance(43200 + 1)
        screen._tick()
        state = text_of(screen.query_one("#session-state"))
        assert state.startswith("Profile 'demo-mfa': MFA session expired (at 2026-12-04 00:00:00 UTC)")
        assert screen.query_one("#session-state").has_class("error")
        assert "valid" not in state


# -- codes (F-05) -------------------------------------------------------------------------------------------------


async def test_f05_short_code_and_reused_code_are_refused_locally(make_app, make_services, demo: DemoAccount,
                                                                 faults) -> None:
    app = make_app(make_services(DEMO_MFA_PROFILE))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_session_screen(pilot)
        await wait_phase(pilot, screen, "code")
        await type_code(pilot, screen, "12345")
        assert outcome(screen) == ("✗ An MFA code is exactly six digits; got 5 digits. Type the code your "
                                   "authenticator app shows.")
        assert stored_session(demo) is None and faults.count("GetSessionToken") == 0

        await type_code(pilot, screen, "123456")
        assert screen.phase == "opened" and faults.count("GetSessionToken") == 1
        first = stored_session(demo)
        assert not isinstance(app.screen, ConfirmModal), "the acting profile's own session: nothing to switch"

        await pick(pilot, screen, DEMO_MFA_PROFILE)  # a new session, with the same code
        await type_code(pilot, screen, "123456")
        assert outcome(screen) == ("✗ This code was already used 0 s ago, and AWS accepts each code once. Wait for "
                                   "the next code (about 30 s) and type that.")
        assert faults.count("GetSessionToken") == 1, "refused before AWS"
        assert stored_session(demo) == first, "nothing stored changed"
        assert screen.query_one("#session-code").value == "" and app.focused is screen.query_one("#session-code")


async def test_f05_a_code_aws_refuses_is_typed_again(make_app, make_services, demo: DemoAccount, faults) -> None:
    faults.deny("GetSessionToken", service="sts", message=BAD_CODE_MESSAGE)
    app = make_app(make_services(DEMO_MFA_PROFILE))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_session_screen(pilot)
        await wait_phase(pilot, screen, "code")
        await type_code(pilot, screen, "111111")
        assert outcome(screen).startswith("✗ AWS refused the MFA code: it was mistyped, already used, or from "
                                          "another device's app entry.")
        assert stored_session(demo) is None
        faults._denials.clear()
        await type_code(pilot, screen, "222222")
        assert screen.phase == "opened" and stored_session(demo) is not None


# -- the plan before the code (F-10, F-06) -------------------------------------------------------------------------


async def test_f10_a_duration_outside_awss_limits_is_said_before_any_code_is_spent(
    make_app, make_services, demo: DemoAccount, faults
) -> None:
    app = make_app(make_services(DEMO_MFA_PROFILE))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_session_screen(pilot)
        await wait_phase(pilot, screen, "code")
        screen.query_one("#session-duration").focus()
        await pilot.press(*"100")
        await wait_until(pilot, lambda: screen.plan_error is not None, "the duration to be checked")
        assert "lasts 900–129600 seconds (15 min to 36 h); 100 was asked. Nothing was sent to AWS." in outcome(screen)
        await type_code(pilot, screen, "123456")
        assert "No code was spent." in outcome(screen)
        assert faults.count("GetSessionToken") == 0

        screen.query_one("#session-duration").value = "3600"
        await wait_until(pilot, lambda: screen.plan is not None and screen.plan.duration == 3600, "a good plan")
        await type_code(pilot, screen, "123456")
        assert screen.phase == "opened"
        assert stored_session(demo).valid_for(NOW) == 3600
        assert faults.calls[-1].params["DurationSeconds"] == 3600 or any(
            c.params.get("DurationSeconds") == 3600 for c in faults.calls if c.operation == "GetSessionToken")


async def test_f06_a_serial_aws_refuses_lists_the_users_devices_and_offers_to_fix_the_profile(
    make_app, make_services, demo: DemoAccount, faults
) -> None:
    set_profile_value(demo.config_file, DEMO_MFA_PROFILE, "mfa_serial", serial("sybil-phone"))
    faults.deny("GetSessionToken", service="sts", message=BAD_SERIAL_MESSAGE,
                when=lambda params: params.get("SerialNumber") == serial("sybil-phone"))
    app = make_app(make_services(DEMO_MFA_PROFILE))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_session_screen(pilot)
        await wait_phase(pilot, screen, "code")
        await type_code(pilot, screen, "123456")
        devices = screen.query_one("#session-devices", OptionList)
        await wait_until(pilot, lambda: devices.option_count > 0, "the user's devices")
        text = outcome(screen)
        assert text.startswith(f"✗ AWS could not match mfa_serial {serial('sybil-phone')} to this user")
        assert "The user's MFA devices are below" in text
        assert [o.id for o in devices.options] == [serial("sybil")]
        assert profile_values(demo.config_file, demo.credentials_file, DEMO_MFA_PROFILE)["mfa_serial"] == \
            serial("sybil-phone"), "never edited silently"

        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the question")
        assert text_of(app.screen.query_one("#confirm-title")) == \
            f"Write mfa_serial = {serial('sybil')} into profile '{DEMO_MFA_PROFILE}'?"
        await pilot.press("y")
        await wait_until(pilot, lambda: "now has mfa_serial" in outcome(screen) and screen.phase == "code",
                         "the profile fixed and planned again")
        assert profile_values(demo.config_file, demo.credentials_file, DEMO_MFA_PROFILE)["mfa_serial"] == serial("sybil")
        await type_code(pilot, screen, "654321")
        assert screen.phase == "opened" and stored_session(demo) is not None


async def test_no_profile_with_mfa_serial_says_how_to_add_one(make_app, demo: DemoAccount) -> None:
    text = demo.config_file.read_text()
    demo.config_file.write_text("\n".join(line for line in text.splitlines() if not line.startswith("mfa_serial")))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_session_screen(pilot)
        assert screen.phase == "none"
        intro = text_of(screen.query_one("#session-intro"))
        assert "No profile has mfa_serial yet." in intro and "press m to enroll a device" in intro
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, MainScreen), "the main screen")


# -- the code modal of F-08 ------------------------------------------------------------------------------------------


async def test_f08_worker_prompt_blocks_until_the_modal_is_answered_and_cancel_raises(make_app, demo: DemoAccount) -> None:
    app = make_app()
    answers: list[object] = []
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        prompt = worker_prompt(app, app.services)

        def ask() -> None:
            for _ in range(2):
                try:
                    answers.append(prompt("IAM needs an MFA session for profile 'demo'"))
                except KeyboardInterrupt:
                    answers.append(KeyboardInterrupt)

        worker = app.run_worker(ask, thread=True)
        await wait_until(pilot, lambda: isinstance(app.screen, MfaCodeModal), "the code modal", idle=False)
        modal = app.screen
        assert "IAM needs an MFA session for profile 'demo'." in text_of(modal.query_one("#mfa-code-help"))
        await pilot.press(*"1234", "enter")
        assert text_of(modal.query_one("#mfa-code-error")).startswith("An MFA code is exactly six digits; got 4")
        await pilot.press(*"123456", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, MfaCodeModal) and app.screen is not modal,
                         "the second question", idle=False)
        await pilot.press("escape")
        await worker.wait()
    assert answers == ["123456", KeyboardInterrupt]


async def test_f08_rotation_denied_without_mfa_asks_for_a_code_in_the_modal_and_retries_once(
    make_app, make_services, demo: DemoAccount, faults
) -> None:
    """Acting as demo-mfa (sybil, with mfa_serial): IAM denies CreateAccessKey once "with an explicit deny"
    (a policy requiring MFA); the rotation asks for a code in the modal, gets an MFA session, and retries."""
    from keytui.ui.screens.new_secret import NewSecretModal
    from keytui.ui.screens.rotation import RotationScreen

    denied: list[bool] = []

    def first_time(params: dict) -> bool:  # type: ignore[type-arg]
        denied.append(True)
        return len(denied) == 1

    faults.deny("CreateAccessKey", when=first_time)
    app = make_app(make_services(DEMO_MFA_PROFILE))
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        table = app.screen.query_one("#users")
        table.move_cursor(row=[row.key.value for row in table.ordered_rows].index("mallory"), animate=False)
        await pilot.pause()
        await pilot.press("r")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the confirmation", idle=False)
        await pilot.press("y")
        await wait_until(pilot, lambda: isinstance(app.screen, MfaCodeModal), "the MFA code modal", idle=False)
        help_text = text_of(app.screen.query_one("#mfa-code-help"))
        assert f"IAM needs an MFA session for profile '{DEMO_MFA_PROFILE}'." in help_text
        assert serial("sybil") in help_text
        await pilot.press(*"123456", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, NewSecretModal), "the new secret", idle=False)
        assert faults.count("GetSessionToken") == 1 and faults.count("CreateAccessKey") == 2
        assert stored_session(demo) is not None, "the MFA session is kept for the rest of the rotation"
        await pilot.press("s")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the deployed question", idle=False)
        await pilot.press("y")
        rotation = next(s for s in app.screen_stack if isinstance(s, RotationScreen))
        await wait_until(pilot, lambda: rotation.phase == "done", "the rotation to finish")
        assert faults.count("GetSessionToken") == 1, "one code for the whole rotation (F-04)"


async def test_f08_cancelling_the_code_stops_the_rotation_with_a_sentence(make_app, make_services,
                                                                        demo: DemoAccount, faults) -> None:
    from keytui.ui.screens.rotation import RotationScreen

    faults.deny("CreateAccessKey")
    app = make_app(make_services(DEMO_MFA_PROFILE))
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        table = app.screen.query_one("#users")
        table.move_cursor(row=[row.key.value for row in table.ordered_rows].index("mallory"), animate=False)
        await pilot.pause()
        await pilot.press("r")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the confirmation", idle=False)
        await pilot.press("y")
        await wait_until(pilot, lambda: isinstance(app.screen, MfaCodeModal), "the MFA code modal", idle=False)
        await pilot.press("escape")
        rotation = next(s for s in app.screen_stack if isinstance(s, RotationScreen))
        await wait_until(pilot, lambda: rotation.phase in {"failed", "blocked"}, "the rotation to stop")
        assert "no MFA code was given" in text_of(rotation.query_one("#rotation-outcome"))
        assert faults.count("GetSessionToken") == 0 and stored_session(demo) is None


# -- snapshot --------------------------------------------------------------------------------------------------------


class TestSessionSnapshots:
    def test_session_screen_with_countdown(self, snap_compare, make_app, make_services, demo: DemoAccount) -> None:
        async def run_before(pilot: Pilot[object]) -> None:
            screen = await open_session_screen(pilot)
            await wait_phase(pilot, screen, "code")
            await type_code(pilot, screen, "123456")
            assert screen.phase == "opened"
            # The countdown moves with the services' clock (which loading advanced a little: set it exactly).
            pilot.app.services.clock.at = NOW
            pilot.app.services.clock.advance(3 * 3600 + 17 * 60 + 48)
            screen._tick()
            await pilot.pause()
            freeze_cursor_blink(pilot.app)

        assert snap_compare(make_app(make_services(DEMO_MFA_PROFILE)), terminal_size=SIZE, run_before=run_before)
