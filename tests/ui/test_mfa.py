"""`m`: enrolling a virtual MFA device from the TUI, end to end on the demo account (a moto server).

The codes are computed with pyotp from the seed of the NewDevice the screen holds (the screen never shows the
seed unless asked). AWS's state is read from moto's backend; every call keytui makes is recorded by `faults`,
so "AWS was not called" is asserted, not assumed. Every test starts its own demo account (enrolling changes it).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pyotp
import pytest
from textual.app import App
from textual.pilot import Pilot

from keytui.core.clock import FixedClock
from keytui.core.masking import Secret
from keytui.core.mfa import MfaService, NewDevice
from keytui.core.qr import encode, render_half_blocks
from keytui.demo import DEMO_ACCOUNT_ID, DEMO_PROFILE, DemoAccount
from keytui.ui.screens.confirm import ConfirmModal
from keytui.ui.screens.main import MainScreen
from keytui.ui.screens.mfa_enroll import MfaEnrollScreen, grouped, qr_layout
from keytui.vault.sessions import profile_values

from ..conftest import NOW, Sandbox
from ..mfa.qr_decode import decode
from .support import SIZE, column_text, freeze_cursor_blink, notifications, select_user, text_of, users_table, \
    wait_loaded, wait_until

SMALL = (80, 24)
# A fixed seed for the snapshot (moto's is random): base32, 64 characters, like AWS's.
SNAPSHOT_SEED = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


@pytest.fixture
def demo() -> Iterator[DemoAccount]:
    """A fresh demo account per test (overrides the per-module one of conftest.py: these tests change it)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("moto.iam.models.utcnow", lambda: NOW.replace(tzinfo=None))
        account = DemoAccount(now=NOW).start()
        try:
            yield account
        finally:
            account.stop()


def iam_backend():  # type: ignore[no-untyped-def]
    from moto.iam.models import iam_backends

    return iam_backends[DEMO_ACCOUNT_ID]["aws"]


def enabled_devices(user: str) -> set[str]:
    """The serials of the MFA devices AWS (moto) has enabled for `user`."""
    return set(iam_backend().get_user(user).mfa_devices)


def virtual_devices() -> dict[str, str | None]:
    """Every virtual MFA device in the account: serial -> the user it is assigned to (None: unassigned)."""
    return {serial: (device.user.name if device.user else None)
            for serial, device in iam_backend().virtual_mfa_devices.items()}


def serial(name: str) -> str:
    return f"arn:aws:iam::{DEMO_ACCOUNT_ID}:mfa/{name}"


def codes_for(device: NewDevice, clock: FixedClock) -> tuple[str, str]:
    """The previous and the current code of the device, as its authenticator app showed them."""
    totp = pyotp.TOTP(device.seed.reveal())
    now = clock.now()
    return totp.at(now - timedelta(seconds=30)), totp.at(now)


def enroll_screen(app: App[object]) -> MfaEnrollScreen:
    screen = next((s for s in app.screen_stack if isinstance(s, MfaEnrollScreen)), None)
    assert screen is not None, f"no enrollment screen in {app.screen_stack!r}"
    return screen


async def wait_phase(pilot: Pilot[object], phase: str) -> MfaEnrollScreen:
    screen = enroll_screen(pilot.app)
    await wait_until(pilot, lambda: screen.phase == phase and pilot.app.screen is screen,
                     f"the enrollment screen to be {phase} (it is {screen.phase})")
    return screen


async def start_enrollment(pilot: Pilot[object], user: str, phase: str = "codes") -> MfaEnrollScreen:
    await wait_loaded(pilot)
    await select_user(pilot, user)
    await pilot.press("m")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, (MfaEnrollScreen, ConfirmModal)),
                     "the enrollment screen")
    if phase == "leftover":
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ConfirmModal), "the leftover question")
        return enroll_screen(pilot.app)
    return await wait_phase(pilot, phase)


async def type_codes(pilot: Pilot[object], first: str, second: str) -> None:
    await pilot.press(*first, "enter", *second, "enter")


def outcome(screen: MfaEnrollScreen) -> str:
    return text_of(screen.query_one("#enroll-outcome"))


def qr_modules(lines: list[str]) -> list[list[bool]]:
    """Half-block lines drawn with invert=True (a glyph's ink is a dark module) back to module rows."""
    top = {"█": True, "▀": True, "▄": False, " ": False}
    bottom = {"█": True, "▄": True, "▀": False, " ": False}
    rows = []
    for line in lines:
        rows.append([top[c] for c in line])
        rows.append([bottom[c] for c in line])
    return rows


def strip_quiet_zone(rows: list[list[bool]]) -> list[list[bool]]:
    dark = [(y, x) for y, row in enumerate(rows) for x, cell in enumerate(row) if cell]
    top, bottom = min(y for y, _ in dark), max(y for y, _ in dark)
    left, right = min(x for _, x in dark), max(x for _, x in dark)
    return [row[left : right + 1] for row in rows[top : bottom + 1]]


# -- enrollment end to end ------------------------------------------------------------------------------


async def test_enrollment_end_to_end_enables_the_device_and_the_table_shows_mfa(
    make_app, demo: DemoAccount, sandbox: Sandbox, faults
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        before = _mfa_cell(app, "bob")
        screen = await start_enrollment(pilot, "bob")
        device = screen.device
        assert device is not None and device.user == "bob" and device.serial == serial("bob")
        assert virtual_devices()[serial("bob")] is None, "created, not yet assigned"

        # The seed is masked until v, and masked again by v.
        seed_text = screen.query_one("#enroll-seed")
        assert device.seed.reveal() not in text_of(seed_text).replace(" ", "") and "••••" in text_of(seed_text)
        await pilot.press("v")
        assert grouped(device.seed.reveal()) in text_of(seed_text)
        await pilot.press("v")
        assert device.seed.reveal() not in text_of(seed_text).replace(" ", "")
        assert "next code in 30 s" in text_of(screen.query_one("#enroll-countdown")), "NOW is on a 30 s boundary"

        first, second = codes_for(device, app.services.clock)
        await type_codes(pilot, first, second)
        await wait_phase(pilot, "enabled")
        assert enabled_devices("bob") == {serial("bob")}
        assert app.services.mfa_service().list_devices("bob")[0].serial == serial("bob")
        assert faults.count("EnableMFADevice") == 1
        assert f"✓ MFA enabled for bob: {serial('bob')}" in outcome(screen)
        assert not isinstance(app.screen, ConfirmModal), "bob is not the profile's own user: no profile offer"
        assert screen.device is None, "the seed is dropped once the device is enabled"

        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, MainScreen) and _mfa_cell(app, "bob") != before,
                         "the users table to show bob's MFA")
        assert _mfa_cell(app, "bob") == _mfa_cell(app, "alice"), "bob now shows MFA like alice (who has it)"
        seed = device.seed.reveal()
        assert not any(seed in text for text in notifications(app))
    assert "mfa_serial" not in profile_values(demo.config_file, demo.credentials_file, "bob-laptop")
    assert not _files_containing(seed, sandbox.root, demo.home), "the seed is stored nowhere"


def _row(app: App[object], user: str) -> int:
    return [row.key.value for row in users_table(app).ordered_rows].index(user)


def _mfa_cell(app: App[object], user: str) -> str:
    return column_text(users_table(app), "mfa")[_row(app, user)]


def _files_containing(text: str, *folders) -> list:  # type: ignore[no-untyped-def]
    return [path for folder in folders for path in folder.rglob("*")
            if path.is_file() and text.encode() in path.read_bytes()]


async def test_qr_code_on_screen_decodes_to_the_devices_uri_and_fits_80x24(make_app, demo: DemoAccount) -> None:
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        screen = await start_enrollment(pilot, "bob")
        assert screen.device is not None
        qr = screen.query_one("#enroll-qr")
        lines = text_of(qr).split("\n")
        decoded = decode(strip_quiet_zone(qr_modules(lines)))
        assert decoded.data.decode() == screen.device.uri().reveal()
        # A light quiet zone all round: the top and bottom lines, and the first and last columns, are blank.
        assert set(lines[0]) == {" "} and set(lines[-1]) <= {" ", "▄"}
        assert all(line[:2] == "  " and line[-2:] == "  " for line in lines)
        # Everything is on screen at 80x24: the QR code, the seed, both inputs and the countdown.
        assert qr.region.bottom <= 24 and qr.region.right <= 80 - 30
        for selector in ("#enroll-seed", "#enroll-first", "#enroll-second", "#enroll-countdown"):
            region = screen.query_one(selector).region
            assert region.x >= qr.region.right and region.bottom <= 24, selector


def test_qr_layout_prefers_a_wide_quiet_zone_and_drops_the_footer_before_the_quiet_zone() -> None:
    code = encode(f"otpauth://totp/AWS:bob@{DEMO_ACCOUNT_ID}?secret={SNAPSHOT_SEED}&issuer=AWS")
    assert code.size == 41
    assert qr_layout(code, 90, 36) == (4, True)
    assert qr_layout(code, 50, 24) == (2, True)  # 45x23 and the footer
    long = encode(f"otpauth://totp/AWS:a-very-long-user-name-x@{DEMO_ACCOUNT_ID}?secret={SNAPSHOT_SEED}&issuer=AWS")
    assert long.size == 45
    assert qr_layout(long, 50, 24) == (1, False)  # 47x24: the whole height
    assert qr_layout(long, 40, 24) is None
    assert render_half_blocks(code, quiet=2, invert=True)[0] == " " * 45


# -- local refusals: AWS is not called -----------------------------------------------------------------------


async def test_f07_identical_or_unrelated_codes_are_refused_locally_and_aws_is_not_called(
    make_app, demo: DemoAccount, faults
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await start_enrollment(pilot, "bob")
        assert screen.device is not None
        first, second = codes_for(screen.device, app.services.clock)

        await type_codes(pilot, second, second)
        assert outcome(screen) == ("✗ The two codes are the same. The second code must be the next one: wait until "
                                   "the app shows a new code (about 30 s) and type that.")
        assert screen.phase == "codes" and screen.query_one("#enroll-second").value == ""

        await pilot.press(*"123456", "enter")  # the first code is still typed; the second is wrong
        assert outcome(screen) == (
            "✗ These codes do not come from this device's secret. Scan the QR code shown here (or type the secret "
            "shown for manual entry), not one from an earlier attempt, then type two consecutive codes.")

        screen.query_one("#enroll-first").value = second
        screen.query_one("#enroll-second").value = first
        screen.query_one("#enroll-second").focus()
        await pilot.press("enter")
        assert outcome(screen).startswith("✗ Both codes belong to this device, but the second code must be the next "
                                          "one after the first.")
        await pilot.pause()
        assert faults.count("EnableMFADevice") == 0, "nothing was sent to AWS"
        assert virtual_devices()[serial("bob")] is None and enabled_devices("bob") == set()
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, MainScreen), "the main screen")


async def test_f07_escape_deletes_the_device_keytui_created(make_app, demo: DemoAccount) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await start_enrollment(pilot, "bob")
        assert screen.device is not None
        seed = screen.device.seed.reveal()
        assert serial("bob") in virtual_devices()
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, MainScreen), "the main screen")
        assert serial("bob") not in virtual_devices()
        assert any("the new device arn:aws:iam::123456789012:mfa/bob was deleted" in text
                   for text in notifications(app))
        assert not any(seed in text for text in notifications(app))
        assert screen.device is None, "the seed is not kept after the screen closed"


async def test_quit_is_refused_while_an_enrollment_holds_a_device(make_app, demo: DemoAccount) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await start_enrollment(pilot, "bob")
        await pilot.press("q")
        await pilot.pause()
        assert app.is_running and isinstance(app.screen, MfaEnrollScreen)
        assert any("An MFA enrollment is open" in text for text in notifications(app))
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, MainScreen), "the main screen")


# -- leftovers (F-07) ----------------------------------------------------------------------------------------------


async def test_f07_unassigned_leftover_is_offered_for_deletion_and_enrollment_starts_again(
    make_app, demo: DemoAccount
) -> None:
    leftover = iam_backend().create_virtual_mfa_device("bob", "/")  # an abandoned enrollment
    old_seed = leftover.base32_string_seed
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await start_enrollment(pilot, "bob", phase="leftover")
        modal = app.screen
        assert text_of(modal.query_one("#confirm-title")) == f"Delete the leftover device {serial('bob')}?"
        assert "not assigned to anyone" in text_of(modal.query_one("#confirm-body"))
        await pilot.press("y")
        await wait_phase(pilot, "codes")
        assert screen.device is not None and screen.device.seed.reveal() != old_seed
        assert virtual_devices() == {**_assigned(), serial("bob"): None}
        first, second = codes_for(screen.device, app.services.clock)
        await type_codes(pilot, first, second)
        await wait_phase(pilot, "enabled")
        assert enabled_devices("bob") == {serial("bob")}


def _assigned() -> dict[str, str | None]:
    return {s: u for s, u in virtual_devices().items() if u is not None}


async def test_f07_leftover_kept_when_the_answer_is_no(make_app, demo: DemoAccount) -> None:
    iam_backend().create_virtual_mfa_device("bob", "/")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await start_enrollment(pilot, "bob", phase="leftover")
        await pilot.press("n")
        await wait_until(pilot, lambda: app.screen is screen, "the enrollment screen")
        assert "The leftover device was not deleted; nothing changed." in outcome(screen)
        assert virtual_devices()[serial("bob")] is None


async def test_f07_a_device_in_use_is_never_offered_for_deletion_another_name_is_asked(
    make_app, demo: DemoAccount
) -> None:
    """The profile's own user (ops-admin) already has a device named after them: another name, then the
    offer to write mfa_serial into the profile (confirmed)."""
    assert enabled_devices("ops-admin") == {serial("ops-admin")}
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await start_enrollment(pilot, "ops-admin", phase="named")
        assert "already exists and is in use, so keytui will not touch it" in outcome(screen)
        assert not isinstance(app.screen, ConfirmModal)
        assert screen.query_one("#enroll-name").value == "ops-admin-2"
        await pilot.press("enter")
        await wait_phase(pilot, "codes")
        assert screen.device is not None and screen.device.serial == serial("ops-admin-2")
        first, second = codes_for(screen.device, app.services.clock)
        await type_codes(pilot, first, second)
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the offer to write mfa_serial")
        assert text_of(app.screen.query_one("#confirm-title")) == f"Write mfa_serial into profile '{DEMO_PROFILE}'?"
        await pilot.press("y")
        await wait_until(pilot, lambda: "now has mfa_serial" in outcome(screen), "mfa_serial written")
        assert enabled_devices("ops-admin") == {serial("ops-admin"), serial("ops-admin-2")}
    values = profile_values(demo.config_file, demo.credentials_file, DEMO_PROFILE)
    assert values["mfa_serial"] == serial("ops-admin-2")


async def test_mfa_key_is_disabled_without_a_selected_user(make_app, demo: DemoAccount) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        main = await wait_loaded(pilot)
        assert main.check_action("mfa", ()) is True
        main.query_one("#filter").value = "nobody-matches-this"
        await pilot.pause()
        assert main.check_action("mfa", ()) is None


# -- snapshot --------------------------------------------------------------------------------------------------------


def fixed_seed(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto's seeds are random: the device keeps its AWS seed, the screen is shown a fixed one."""
    create = MfaService.create_device

    def create_device(self: MfaService, user: str, name: str | None = None) -> NewDevice:
        return replace(create(self, user, name), seed=Secret(SNAPSHOT_SEED))

    monkeypatch.setattr(MfaService, "create_device", create_device)


class TestEnrollmentSnapshots:
    @pytest.mark.parametrize("size", [SMALL, SIZE], ids=["80x24", "120x36"])
    def test_enrollment_screen(self, snap_compare, make_app, demo: DemoAccount, monkeypatch: pytest.MonkeyPatch,
                               size: tuple[int, int]) -> None:
        fixed_seed(monkeypatch)

        async def run_before(pilot: Pilot[object]) -> None:
            await start_enrollment(pilot, "bob")
            await pilot.press(*"123")
            freeze_cursor_blink(pilot.app)

        assert snap_compare(make_app(), terminal_size=size, run_before=run_before)
