"""`a`: the audit screen on the demo account — every check with its status, fixes (AWS after a confirmation
that lists the calls, workflows, guides), mutes, "could not check", and snapshots.

The demo account is the module's (conftest.py): the one test that changes AWS (revoking the legacy-ssh rule)
puts the rule back when it ends. Mutes live in the sandbox's state folder, which is per test.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator

import pytest
from textual.message import Message
from textual.pilot import Pilot

from keytui.core.audit import all_checks
from keytui.core.audit.model import AuditReport, CheckResult, Finding, FixKind, Status
from keytui.core.masking import mask_key_id
from keytui.demo import DEMO_REGION, DemoAccount
from keytui.demo_audit import stable_report
from keytui.services import Services
from keytui.ui.messages import InventoryLoaded
from keytui.ui.screens.audit import AuditScreen, GuideModal, MuteModal
from keytui.ui.screens.confirm import ConfirmModal
from keytui.ui.screens.main import MainScreen
from keytui.ui.screens.mfa_enroll import MfaEnrollScreen
from keytui.ui.screens.profiles import ProfilesScreen
from keytui.ui.screens.rotation import RotationScreen
from keytui.ui.widgets.audit_tree import MARKS, AuditTree

from .support import FULL_KEY_ID, SIZE, freeze_cursor_blink, notifications, text_of, wait_loaded, wait_until

SMALL = (80, 24)


# -- helpers ---------------------------------------------------------------------------------------------------


def audit_screen(pilot: Pilot[object]) -> AuditScreen:
    screen = next((s for s in pilot.app.screen_stack if isinstance(s, AuditScreen)), None)
    assert screen is not None, f"no audit screen in {pilot.app.screen_stack!r}"
    return screen


async def wait_report(pilot: Pilot[object], after: AuditReport | None = None) -> AuditScreen:
    """Wait until the audit screen shows a report (a newer one than `after`) and nothing runs."""

    def shown() -> bool:
        screen = pilot.app.screen
        return (isinstance(screen, AuditScreen) and screen.report is not None and screen.report is not after
                and not screen.collecting)

    await wait_until(pilot, shown, "the audit report", timeout=60)
    return audit_screen(pilot)


async def open_audit(pilot: Pilot[object]) -> AuditScreen:
    await wait_loaded(pilot)
    await pilot.press("a")
    return await wait_report(pilot)


def check_rows(screen: AuditScreen) -> dict[str, str]:
    """check id -> the row's text as shown."""
    tree = screen.query_one(AuditTree)
    return {node.data.result.check.id: tree.check_text(node.data.result, node).plain
            for node in tree.root.children if node.data}


def finding_rows(screen: AuditScreen, check_id: str) -> list[str]:
    tree = screen.query_one(AuditTree)
    node = tree.node_for((check_id, None))
    assert node is not None
    return [tree.finding_text(child.data.finding).plain for child in node.children if child.data and child.data.finding]


def inventory_loads(seen: list[Message]) -> int:
    return len({id(m) for m in seen if isinstance(m, InventoryLoaded)})


def find(report: AuditReport, check_id: str, needle: str) -> Finding:
    result = report.result(check_id)
    assert result is not None
    return next(f for f in result.findings if needle in f.resource)


async def select(pilot: Pilot[object], screen: AuditScreen, check_id: str, resource: str | None) -> None:
    tree = screen.query_one(AuditTree)
    tree.focus()
    assert tree.select_row((check_id, resource)), f"no row {check_id} {resource}"
    await pilot.pause()
    row = tree.selected_row
    assert row is not None and row.key == (check_id, resource)


def world_ssh_rules(services: Services, group_name: str) -> list[dict[str, object]]:
    """The group's rules that open port 22 to the world, as AWS (the demo) has them now."""
    ec2 = services.aws.client("ec2", DEMO_REGION)  # type: ignore[union-attr]
    (group,) = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [group_name]}])["SecurityGroups"]
    return [p for p in group["IpPermissions"] if p.get("FromPort") == 22
            and any(r.get("CidrIp") == "0.0.0.0/0" for r in p.get("IpRanges", []))]


@pytest.fixture(autouse=True)
def one_region(faults) -> None:
    """moto lists 38 regions and the audit reads EC2 in each (~6 s of client creation per audit); the demo's
    instances and security groups are all in one, which is enough here."""

    def only_demo_region(parsed: dict[str, object], params: dict[str, object]) -> None:
        parsed["Regions"] = [r for r in parsed["Regions"] if r["RegionName"] == DEMO_REGION]  # type: ignore

    faults.rewrite("DescribeRegions", only_demo_region, service="ec2")


@pytest.fixture
def restore_legacy_ssh(make_services: Callable[..., Services]) -> Iterator[None]:
    """The module's demo account is shared: put the legacy-ssh rule back if a test revoked it."""
    yield
    services = make_services()
    if not world_ssh_rules(services, "legacy-ssh"):
        ec2 = services.aws.client("ec2", DEMO_REGION)  # type: ignore[union-attr]
        (group,) = ec2.describe_security_groups(
            Filters=[{"Name": "group-name", "Values": ["legacy-ssh"]}])["SecurityGroups"]
        ec2.authorize_security_group_ingress(GroupId=group["GroupId"], IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])


# -- the report --------------------------------------------------------------------------------------------------


async def test_every_check_appears_with_its_status(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_audit(pilot)
        report = screen.report
        assert report is not None
        rows = check_rows(screen)
        assert list(rows) == [c.id for c in all_checks()] and len(rows) == 16
        for result in report.results:
            mark = MARKS[result.effective_status][0]
            assert rows[result.check.id].lstrip("▶▼ ").startswith(f"{mark} {result.check.id}"), rows[result.check.id]
            assert result.check.title in rows[result.check.id]
        # What the demo is seeded to show.
        statuses = {r.check.id: r.effective_status for r in report.results}
        assert statuses["root-keys"] is Status.PASS
        assert statuses["root-use"] is Status.WARN
        assert statuses["simulator"] is Status.NOT_RUN
        assert "not run: runs on demand" in rows["simulator"]
        for check in ("root-mfa", "console-mfa", "key-age", "unused", "admin-ports", "cloudtrail", "local-plaintext"):
            assert statuses[check] is Status.FAIL, check
        assert any("legacy-ssh" in row for row in finding_rows(screen, "admin-ports"))

        summary = text_of(screen.query_one("#audit-summary"))
        counts = report.counts()
        assert summary.startswith(f"Score {report.score}/100")
        for severity in ("critical", "high", "medium", "low"):
            assert f"{counts[next(s for s in counts if s.label == severity)]} {severity}" in summary
        assert "could not run" not in summary
        assert "ran 2026-12-03 12:00:00" in text_of(screen.query_one("#audit-title"))
        status = text_of(screen.query_one("#audit-status"))
        assert status.startswith("16 checks") and "1 not run" in status


async def test_key_ids_are_masked_everywhere_on_the_screen(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_audit(pilot)
        assert screen.report is not None
        finding = find(screen.report, "unused", "of bob")
        assert finding.fix is not None and FULL_KEY_ID.search(finding.fix.calls[0]), "the call has the full id"
        await select(pilot, screen, "unused", finding.resource)
        detail = text_of(screen.query_one("#audit-detail-text"))
        assert "iam update-access-key --user-name bob --access-key-id AKIA…" in detail
        assert not FULL_KEY_ID.search(detail)
        await pilot.press("f")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the confirmation")
        body = text_of(app.screen.query_one("#confirm-body"))
        key_id = str(finding.fix.param("key_id"))
        assert f"--access-key-id {mask_key_id(key_id)} --status Inactive" in body
        assert not FULL_KEY_ID.search(body) and not FULL_KEY_ID.search(app.export_screenshot())
        await pilot.press("n")


async def test_loading_shows_progress_and_keeps_the_ui_responsive(make_app) -> None:
    app = make_app()
    release = threading.Event()
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        real = app.services.run_audit

        def slow(**kwargs: object) -> AuditReport:
            release.wait(10)
            return real(**kwargs)  # type: ignore[arg-type]

        app.services.run_audit = slow  # type: ignore[method-assign]
        await pilot.press("a")
        screen = audit_screen(pilot)
        await wait_until(pilot, lambda: "collecting: users and keys" in text_of(screen.query_one("#audit-summary")),
                         "the progress text", idle=False)
        assert "running the audit" in text_of(screen.query_one("#audit-status"))
        # The event loop is free while the worker collects: keys work (S restarts the run with the simulator).
        await pilot.press("S")
        await wait_until(pilot, lambda: "policy simulator" in text_of(screen.query_one("#audit-summary")),
                         "the progress text to say the simulator runs too", idle=False)
        release.set()
        await wait_report(pilot)
        assert screen.report is not None and screen.report.result("simulator").effective_status is not Status.NOT_RUN


async def test_check_that_could_not_run_says_why_and_never_passes(make_app, faults) -> None:
    faults.deny("DescribeRegions", service="ec2")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_audit(pilot)
        rows = check_rows(screen)
        for check in ("ec2-roles", "admin-ports"):
            assert rows[check].lstrip("▶▼ ").startswith(f"? {check}"), rows[check]
            assert "could not check: " in rows[check] and "✓" not in rows[check]
            await select(pilot, screen, check, None)
            detail = text_of(screen.query_one("#audit-detail-text"))
            assert "could not check: " in detail and "the regions could not be listed" in detail
            assert "AccessDenied" in detail
        assert "2 checks could not run" in text_of(screen.query_one("#audit-summary"))
        assert "2 could not check" in text_of(screen.query_one("#audit-status"))


async def test_unknown_check_from_a_patched_report_is_shown_with_its_reason(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        check = next(c for c in all_checks() if c.id == "cloudtrail")
        real = app.services.run_audit()
        results = tuple(CheckResult(check, Status.UNKNOWN, reason="the trails could not be read: throttled")
                        if r.check.id == "cloudtrail" else r for r in real.results)
        app.services.run_audit = lambda **_: AuditReport(results, real.generated, real.account)  # type: ignore
        await pilot.press("a")
        screen = await wait_report(pilot)
        row = check_rows(screen)["cloudtrail"]
        assert row.lstrip("▶▼ ").startswith("? cloudtrail")
        assert "could not check: the trails could not be read: throttled" in row


# -- fixes -------------------------------------------------------------------------------------------------------


async def test_aws_fix_confirms_the_exact_call_revokes_the_rule_and_the_finding_goes(
    make_app, restore_legacy_ssh: None
) -> None:
    app = make_app()
    seen: list[Message] = []
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        screen = await open_audit(pilot)
        before = screen.report
        assert before is not None
        finding = find(before, "admin-ports", "legacy-ssh")
        assert finding.fix is not None and finding.fix.kind is FixKind.AWS
        (call,) = finding.fix.calls
        assert call.startswith("ec2 revoke-security-group-ingress --region us-east-1 --group-id sg-")
        await select(pilot, screen, "admin-ports", finding.resource)
        assert call in text_of(screen.query_one("#audit-detail-text"))
        assert world_ssh_rules(app.services, "legacy-ssh")

        await pilot.press("f")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the confirmation")
        assert text_of(app.screen.query_one("#confirm-title")) == f"{finding.fix.label}?"
        body = text_of(app.screen.query_one("#confirm-body"))
        assert f"  {call}\n" in body, body
        assert world_ssh_rules(app.services, "legacy-ssh"), "nothing happens before the answer"

        await pilot.press("y")
        after = await wait_report(pilot, after=before)
        assert after is screen
        assert not world_ssh_rules(app.services, "legacy-ssh"), "AWS no longer has the rule"
        report = screen.report
        assert report is not None
        assert not any("legacy-ssh" in f.resource for f in report.result("admin-ports").findings)
        assert not any("legacy-ssh" in row for row in finding_rows(screen, "admin-ports"))
        assert any("rdp-jumphost" in row for row in finding_rows(screen, "admin-ports")), "the other one stays"
        assert any(n.startswith("Fixed: Revoked the world-open rule on sg-") for n in notifications(app))
        # The cursor moved to the neighbouring finding of the same check.
        row = screen.query_one(AuditTree).selected_row
        assert row is not None and row.key[0] == "admin-ports" and "rdp-jumphost" in (row.key[1] or "")

        # Back on the main screen, the users and keys are read again (a fix may have changed them).
        loads = inventory_loads(seen)
        await pilot.press("escape")
        await wait_until(pilot, lambda: inventory_loads(seen) == loads + 1, "the main screen's reload")


async def test_cancelling_an_aws_fix_changes_nothing(make_app, faults) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_audit(pilot)
        assert screen.report is not None
        finding = find(screen.report, "admin-ports", "legacy-ssh")
        await select(pilot, screen, "admin-ports", finding.resource)
        calls = len(faults.calls)
        await pilot.press("f")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the confirmation")
        await pilot.press("n")
        await wait_until(pilot, lambda: app.screen is screen, "the audit screen again")
        assert len(faults.calls) == calls, "no AWS call at all"
        assert faults.count("RevokeSecurityGroupIngress") == 0
        assert world_ssh_rules(app.services, "legacy-ssh")
        assert find(screen.report, "admin-ports", "legacy-ssh") is finding, "the report was not even refreshed"


async def test_guide_fix_shows_the_guide_and_calls_nothing(make_app, faults) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_audit(pilot)
        assert screen.report is not None
        finding = find(screen.report, "root-mfa", "root")
        assert finding.fix is not None and finding.fix.kind is FixKind.GUIDE
        await select(pilot, screen, "root-mfa", finding.resource)
        assert finding.fix.guide in text_of(screen.query_one("#audit-detail-text"))
        calls = len(faults.calls)
        await pilot.press("f")
        await wait_until(pilot, lambda: isinstance(app.screen, GuideModal), "the guide")
        assert finding.fix.guide in text_of(app.screen.query_one("#guide-text"))
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen, "the audit screen again")
        assert len(faults.calls) == calls


async def test_other_fix_offers_removing_the_console_password(make_app, faults) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_audit(pilot)
        await select(pilot, screen, "console-mfa", "bob")
        assert "Fix (F)  Remove the console password of bob" in text_of(screen.query_one("#audit-detail-text"))
        await pilot.press("F")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the confirmation")
        assert "  iam delete-login-profile --user-name bob\n" in text_of(app.screen.query_one("#confirm-body"))
        await pilot.press("n")
        await wait_until(pilot, lambda: app.screen is screen, "the audit screen again")
        assert faults.count("DeleteLoginProfile") == 0


async def test_rotate_fix_goes_back_and_starts_the_rotation_of_that_key(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_audit(pilot)
        assert screen.report is not None
        finding = find(screen.report, "key-age", "of dave")
        assert finding.fix is not None and finding.fix.workflow == "rotate"
        await select(pilot, screen, "key-age", finding.resource)
        await pilot.press("f")
        # (Its preflight then asks to start: the question is a modal above it.)
        await wait_until(pilot, lambda: any(isinstance(s, RotationScreen) for s in app.screen_stack),
                         "the rotation screen", idle=False)
        index, rotation = next((i, s) for i, s in enumerate(app.screen_stack) if isinstance(s, RotationScreen))
        assert rotation.target.user == "dave" and rotation.target.old_key_id == finding.fix.param("key_id")
        assert not any(isinstance(s, AuditScreen) for s in app.screen_stack), "the audit was closed"
        assert isinstance(app.screen_stack[index - 1], MainScreen)


async def test_enroll_fix_opens_the_mfa_enrollment_for_that_user(make_app, monkeypatch) -> None:
    # Creating the device would change the shared demo account: the screen's opening is what is tested here.
    monkeypatch.setattr(MfaEnrollScreen, "create_device", lambda self, *args, **kwargs: None)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_audit(pilot)
        await select(pilot, screen, "console-mfa", "frank")
        await pilot.press("f")
        await wait_until(pilot, lambda: isinstance(app.screen, MfaEnrollScreen), "the enrollment", idle=False)
        assert app.screen.user == "frank"
        assert app.screen_stack[-2] is screen, "opened over the audit, which runs again when it closes"


async def test_import_fix_opens_profiles_and_asks_to_import_that_profile(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_audit(pilot)
        before = screen.report
        await select(pilot, screen, "local-plaintext", "profile bob-laptop")
        await pilot.press("f")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the import's confirmation")
        assert isinstance(app.screen_stack[-2], ProfilesScreen)
        assert text_of(app.screen.query_one("#confirm-title")) == "Move 'bob-laptop' into the keyring?"
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, ProfilesScreen), "the profiles screen")
        await pilot.press("escape")
        await wait_report(pilot, after=before)  # back on the audit, which ran again
        assert screen.report is not None and find(screen.report, "local-plaintext", "bob-laptop")


# -- mutes -------------------------------------------------------------------------------------------------------


async def test_mute_with_a_reason_dims_the_finding_and_unmute_restores_it(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_audit(pilot)
        assert screen.report is not None
        finding = find(screen.report, "ec2-roles", "legacy-batch")
        await select(pilot, screen, "ec2-roles", finding.resource)
        await pilot.press("x")
        await wait_until(pilot, lambda: isinstance(app.screen, MuteModal), "the mute question")
        modal = app.screen
        assert modal.query_one("#mute-days").value == "30"
        await pilot.press("enter")  # no reason: refused
        assert isinstance(app.screen, MuteModal)
        assert "A reason is required" in text_of(modal.query_one("#mute-error"))
        await pilot.press(*"batch host retires in January", "enter")
        assert app.focused is modal.query_one("#mute-days")
        await pilot.press("backspace", "backspace", *"10", "enter")
        await wait_until(pilot, lambda: app.screen is screen and screen.report is not None
                         and find(screen.report, "ec2-roles", "legacy-batch").muted is not None, "the mute")

        muted = find(screen.report, "ec2-roles", "legacy-batch")
        assert muted.muted == "batch host retires in January (until 2026-12-13)"
        (row,) = finding_rows(screen, "ec2-roles")
        assert "muted: batch host retires in January (until 2026-12-13)" in row
        assert check_rows(screen)["ec2-roles"].lstrip("▶▼ ").startswith("✓ ec2-roles")
        assert "pass (1 muted)" in check_rows(screen)["ec2-roles"]
        (stored,) = app.services.mute_store().load()
        assert (stored.check, stored.resource, stored.until) == ("ec2-roles", finding.resource, "2026-12-13")
        assert any(n.startswith("Audit: Muted ") for n in notifications(app))

        await pilot.press("x")  # on a muted finding: unmute
        await wait_until(pilot, lambda: find(screen.report, "ec2-roles", "legacy-batch").muted is None, "the unmute")
        assert app.services.mute_store().load() == ()
        assert check_rows(screen)["ec2-roles"].lstrip("▶▼ ").startswith("✗ ec2-roles")


async def test_cancelled_mute_stores_nothing(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_audit(pilot)
        await select(pilot, screen, "cloudtrail", None)
        await pilot.press("x")
        await wait_until(pilot, lambda: isinstance(app.screen, MuteModal), "the mute question")
        assert "every finding of cloudtrail" in text_of(app.screen.query_one("#mute-title"))
        await pilot.press(*"not now", "escape")
        await wait_until(pilot, lambda: app.screen is screen, "the audit screen again")
        assert app.services.mute_store().load() == ()


async def test_escape_returns_to_the_main_screen(make_app) -> None:
    app = make_app()
    seen: list[Message] = []
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        await open_audit(pilot)
        loads = inventory_loads(seen)
        await pilot.press("escape")
        main = await wait_loaded(pilot)
        assert app.screen is main
        assert inventory_loads(seen) == loads, "nothing changed: no reload"


# -- snapshots ---------------------------------------------------------------------------------------------------


@pytest.fixture
def stable_app(make_services: Callable[..., Services], make_app) -> Callable[[], object]:
    """The app whose audit is the demo's, run once, with its random ids and temp paths replaced by fixed ones."""
    services = make_services()
    report = stable_report(services.run_audit())
    services.run_audit = lambda **_: report  # type: ignore[method-assign]
    return lambda: make_app(services)


async def _audit_with_ssh_finding(pilot: Pilot[object]) -> None:
    screen = await open_audit(pilot)
    assert screen.report is not None
    await select(pilot, screen, "admin-ports", find(screen.report, "admin-ports", "legacy-ssh").resource)
    freeze_cursor_blink(pilot.app)


class TestAuditSnapshots:
    def test_audit_screen(self, snap_compare, stable_app) -> None:
        assert snap_compare(stable_app(), terminal_size=SIZE, run_before=_audit_with_ssh_finding)

    def test_audit_screen_small_terminal(self, snap_compare, stable_app) -> None:
        assert snap_compare(stable_app(), terminal_size=SMALL, run_before=_audit_with_ssh_finding)


def test_stable_report_replaces_only_what_varies(make_services: Callable[..., Services], demo: DemoAccount) -> None:
    report = make_services().run_audit()
    stable = stable_report(report)
    assert json.dumps([r.check.id for r in stable.results]) == json.dumps([r.check.id for r in report.results])
    assert [r.effective_status for r in stable.results] == [r.effective_status for r in report.results]
    text = repr(stable)
    assert "keytui-demo-" not in text and str(demo.credentials_file) not in text
    assert "sg-00000000000000001" in text and "i-00000000000000001" in text
