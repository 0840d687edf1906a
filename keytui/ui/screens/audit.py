"""`a`: the security audit. The score and open findings by severity at the top, every check grouped with its
findings in a tree, the selected row in full below (detail, practice, remediation, and what its fix does), and
the fix one key away:

- `f` fixes the selected finding. An AWS fix opens a confirmation that lists exactly the calls keytui makes
  (key ids masked, as everywhere on screen), runs them in a worker and refreshes the audit, so the finding
  goes away. A workflow fix opens the workflow: the rotation of that key (back on the main screen, as `r`
  there), the MFA enrollment of that user (as `m`), the Profiles screen's import of that profile (as `i`).
  A guide fix shows what to do; keytui calls nothing.
- `F` offers the finding's other fixes (e.g. remove the console password instead of enrolling MFA).
- `x` mutes the selected finding (on a check's row: every finding of the check) with a reason and a number
  of days, or unmutes a muted one.
- `ctrl+r`/`R` runs the audit again; `S` runs it with the policy simulator too (one call per user, so on demand;
  later refreshes on this screen keep it).

The audit runs in a thread worker (Services.run_audit); results come back as messages. "Could not check" is
shown as such, with the reason, never as a pass.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.markup import escape
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.widgets import Button, Footer, Input, Label, OptionList, Static, Tree
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState, get_current_worker

from keytui.core.audit.model import AuditReport, CheckResult, Finding, Fix, FixKind, Severity, Status
from keytui.core.audit.mutes import ANY, apply_mutes
from keytui.core.audit.report import status_line
from keytui.core.errors import KeytuiError
from keytui.core.masking import mask_key_id
from keytui.core.models import Identity, Inventory
from keytui.services import Services
from keytui.ui.screens.confirm import ConfirmModal
from keytui.ui.screens.mfa_code import mfa_cancelled, mfa_prompt
from keytui.ui.widgets.audit_tree import MARKS, SEVERITY_COLOURS, AuditRow, AuditTree, masked

if TYPE_CHECKING:
    from keytui.ui.screens.main import MainScreen

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
COLLECTING = ("collecting: users and keys, credential report, account summary, password policy, user policies, "
              "EC2 instances and security groups in every enabled region, CloudTrail trails, local AWS files")
SIMULATING = "; the policy simulator (one call per user)"
DEFAULT_MUTE_DAYS = 30


# -- messages (worker thread -> event loop) ---------------------------------------------------------------


class AuditLoaded(Message):
    def __init__(self, report: AuditReport) -> None:
        super().__init__()
        self.report = report


class AuditFailed(Message):
    def __init__(self, error: KeytuiError) -> None:
        super().__init__()
        self.error = error


class AuditFixed(Message):
    """An AWS fix ran: `sentence` says what changed, or `error` why nothing did."""

    def __init__(self, fix: Fix, sentence: str | None = None, error: KeytuiError | None = None) -> None:
        super().__init__()
        self.fix = fix
        self.sentence = sentence
        self.error = error


class AuditMuteSaved(Message):
    def __init__(self, text: str, report: AuditReport | None = None, error: KeytuiError | None = None) -> None:
        super().__init__()
        self.text = text
        self.report = report
        self.error = error


@dataclass(frozen=True)
class WorkflowRequest:
    """What the audit screen asks the main screen to do once it is closed: "rotate" (the rotation lives there)
    or "reload" (a fix or a workflow changed users and keys)."""

    workflow: str
    user: str = ""
    key_id: str | None = None


# -- the screen ---------------------------------------------------------------------------------------------


class AuditScreen(Screen[WorkflowRequest | None]):
    BINDINGS = [
        Binding("f", "fix", "Fix", id="audit.fix"),
        Binding("F", "other_fix", "Other fix", show=False, id="audit.fix-other"),
        Binding("x", "mute", "Mute", id="audit.mute"),
        Binding("ctrl+r,R", "refresh", "Refresh", id="audit.refresh"),
        Binding("S", "simulate", "Simulator", id="audit.simulate"),
        Binding("e", "toggle_all", "Fold/unfold all", show=False, id="audit.fold"),
        Binding("escape", "back", "Back", id="audit.back"),
    ]

    def __init__(self, services: Services, *, identity: Callable[[], Identity | None] = lambda: None,
                 inventory: Callable[[], Inventory | None] = lambda: None) -> None:
        super().__init__()
        self.services = services
        # The main screen's latest identity and inventory (it may still be loading when `a` is pressed), for the
        # MFA enrollment and the Profiles screen the fixes open.
        self.identity = identity
        self.inventory = inventory
        self.report: AuditReport | None = None
        self.collecting = False
        self.fixing: Fix | None = None
        self.simulate = False  # once asked for (S), later refreshes on this screen run the simulator too
        self.changed = False  # a fix ran or a workflow was opened: the main screen reloads when the audit closes
        self._started = 0.0
        self._spin = 0
        self._spinner: Timer | None = None
        self._progress = ""

    def compose(self) -> ComposeResult:
        yield Static("[b]Security audit[/b]", id="audit-title")
        yield Static("", id="audit-summary")
        with Vertical(id="audit-body"):
            yield AuditTree(id="audit-tree")
            with VerticalScroll(id="audit-detail"):
                yield Static("", id="audit-detail-text")
        yield Static("", id="audit-status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(AuditTree).focus()
        self.query_one("#audit-detail", VerticalScroll).border_title = "Selected"
        self.start_audit()

    def on_resize(self, event: events.Resize) -> None:
        # A short terminal gives the detail pane as much room as the tree: the fix's calls must fit.
        self.set_class(event.size.height < 30, "-short")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        row = self._row()
        # No fix while a fix runs or the report is being collected again: the finding on screen may be one the
        # last fix already removed (a second press would run its calls twice).
        idle = self.fixing is None and not self.collecting
        if action == "fix":
            return True if row is not None and row.finding is not None and row.finding.fix is not None \
                and idle else None
        if action == "other_fix":
            return True if row is not None and row.finding is not None and row.finding.also and idle else None
        if action == "mute":
            return True if row is not None and (row.finding is not None or row.result.findings) else None
        return True

    # -- running the audit (worker thread: no widget access, only messages) --------------------------------

    def start_audit(self) -> None:
        self.collecting = True
        self._started = time.monotonic()
        self._progress = COLLECTING + (SIMULATING if self.simulate else "")
        if self._spinner is None:
            self._spinner = self.set_interval(0.1, self._tick)
        self._tick()
        self.run_audit(self.simulate)

    @work(thread=True, exclusive=True, exit_on_error=False, group="audit")
    def run_audit(self, simulate: bool) -> None:
        worker = get_current_worker()
        try:
            report = self.services.run_audit(simulate=simulate)
        except KeytuiError as exc:
            if not worker.is_cancelled:
                self.post_message(AuditFailed(exc))
            return
        if not worker.is_cancelled:
            self.post_message(AuditLoaded(report))

    @work(thread=True, exit_on_error=False, group="audit-fix")
    def run_fix(self, fix: Fix) -> None:
        # A write: never exclusive, so nothing cancels a fix half way.
        prompt = mfa_prompt(self.app, self.services, get_current_worker())
        try:
            sentence = self.services.retry_with_mfa(lambda: self.services.apply_fix(fix), prompt)
        except KeyboardInterrupt:
            self.post_message(AuditFixed(fix, error=mfa_cancelled()))
            return
        except KeytuiError as exc:
            self.post_message(AuditFixed(fix, error=exc))
            return
        self.post_message(AuditFixed(fix, sentence))

    @work(thread=True, exit_on_error=False, group="audit-mute")
    def save_mute(self, check: str, resource: str, reason: str | None, days: int, report: AuditReport) -> None:
        """Add (reason given) or remove (None) a mute, then apply the mutes in force to the report shown: the
        mute concerns this machine's file only, so AWS is not asked again."""
        store = self.services.mute_store()
        now = self.services.clock.now()
        try:
            if reason is not None:
                mute = store.add(check, resource, reason, now.date() + timedelta(days=days))
                what = "every finding of " + check if mute.resource == ANY else f"{masked(resource)} ({check})"
                text = f"Muted {what} until {mute.until}: {mute.reason}"
            else:
                removed = store.remove(check, resource)
                if not removed and resource != ANY:
                    removed = store.remove(check, ANY)
                    text = f"Unmuted every finding of {check} (the mute was for the whole check)."
                else:
                    text = f"Unmuted {masked(resource) if resource != ANY else 'every finding of ' + check}."
                if not removed:
                    text = "That mute is no longer stored (it may have expired); nothing changed."
            mutes = store.load()
        except KeytuiError as exc:
            self.post_message(AuditMuteSaved("", error=exc))
            return
        results = tuple(replace(r, findings=tuple(replace(f, muted=None) for f in r.findings)) for r in report.results)
        self.post_message(AuditMuteSaved(text, replace(report, results=apply_mutes(results, mutes, now))))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # A bug, not an AWS refusal (those are KeytuiErrors, handled above): say so rather than spin forever.
        if event.state is WorkerState.ERROR and event.worker.group.startswith("audit"):
            if event.worker.group == "audit":
                self._stop_loading()
                self._status(f"the audit stopped: {event.worker.error}")
            if event.worker.group == "audit-fix":
                self.fixing = None
                self.refresh_bindings()
            self.notify(f"{type(event.worker.error).__name__}: {event.worker.error}", title="Audit: unexpected error",
                        severity="error", timeout=15)

    # -- results (event loop) ----------------------------------------------------------------------------

    def on_audit_loaded(self, message: AuditLoaded) -> None:
        self._stop_loading()
        self._show(message.report)

    def on_audit_failed(self, message: AuditFailed) -> None:
        self._stop_loading()
        self.notify(str(message.error), title="Could not run the audit", severity="error", timeout=15)
        self._status(f"the audit failed ({message.error.code or 'error'}); ctrl+r retries")
        if self.report is None:
            self.query_one("#audit-summary", Static).update(f"[b $error]audit failed:[/] {escape(str(message.error))}")

    def on_audit_fixed(self, message: AuditFixed) -> None:
        self.fixing = None
        self.refresh_bindings()
        if message.error is not None:
            self.notify(str(message.error), title="The fix failed", severity="error", timeout=15)
        else:
            self.notify(message.sentence or "Done.", title="Fixed")
        self.start_audit()  # either way AWS is the truth: show what it says now

    def on_audit_mute_saved(self, message: AuditMuteSaved) -> None:
        if message.error is not None:
            self.notify(str(message.error), title="Could not save the mute", severity="error", timeout=12)
            return
        self.notify(message.text, title="Audit")
        if message.report is not None and not self.collecting:
            self._show(message.report)

    def _show(self, report: AuditReport) -> None:
        self.report = report
        tree = self.query_one(AuditTree)
        tree.show(report)
        self._summary(report)
        self._show_detail()
        self._status_summary()
        self.refresh_bindings()

    def _stop_loading(self) -> None:
        self.collecting = False
        if self._spinner is not None:
            self._spinner.stop()
            self._spinner = None

    def _tick(self) -> None:
        self._spin = (self._spin + 1) % len(SPINNER)
        elapsed = int(time.monotonic() - self._started)
        spinner = SPINNER[self._spin]
        if self.report is None:
            # Nothing to show yet: the whole of what is being read, where the summary will be.
            self.query_one("#audit-summary", Static).update(f"{spinner} {escape(self._progress)}… {elapsed} s")
            self._status(f"{spinner} running the audit… {elapsed} s")
        else:
            self._status(f"{spinner} {elapsed} s  refreshing, {self._progress}…")

    def _status(self, text: str) -> None:
        self.query_one("#audit-status", Static).update(escape(text))

    # -- display -------------------------------------------------------------------------------------------

    def _colour(self, variable: str) -> str:
        return self.app.theme_variables.get(variable, "") if variable else ""

    def _summary(self, report: AuditReport) -> None:
        score = report.score
        colour = self._colour("success" if score >= 80 else "warning" if score >= 50 else "error")
        counts = report.counts()
        parts = []
        for severity in (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW):
            style = self._colour(SEVERITY_COLOURS[severity]) if counts[severity] else ""
            number = f"[b {style}]{counts[severity]}[/]" if style else f"[b]{counts[severity]}[/b]"
            parts.append(f"{number} {severity.label}")
        unknown = sum(1 for r in report.results if r.effective_status is Status.UNKNOWN)
        text = f"Score [b {colour}]{score}[/]/100   " + " · ".join(parts)
        if unknown:
            text += f"   [b {self._colour('warning')}]{unknown} check{'s' if unknown != 1 else ''} could not run[/]"
        self.query_one("#audit-summary", Static).update(text)
        account = f"account {escape(report.account)}" if report.account else "account unknown"
        ran = report.generated.astimezone().strftime("%Y-%m-%d %H:%M:%S")
        self.query_one("#audit-title", Static).update(
            f"[b]Security audit[/b]   {account} · profile {escape(self.services.profile_label)} · ran {ran}"
        )

    def _status_summary(self) -> None:
        if self.report is None:
            return
        statuses = [r.effective_status for r in self.report.results]
        parts = [f"{len(statuses)} checks"]
        for status, label in ((Status.PASS, "pass"), (Status.FAIL, "fail"), (Status.WARN, "warn"),
                              (Status.UNKNOWN, "could not check"), (Status.NOT_RUN, "not run")):
            if statuses.count(status):
                parts.append(f"{statuses.count(status)} {label}")
        muted = sum(1 for r in self.report.results for f in r.findings if f.muted)
        if muted:
            parts.append(f"{muted} muted")
        if self.simulate:
            parts.append("with the policy simulator")
        self._status("  ·  ".join(parts))

    def _row(self) -> AuditRow | None:
        try:
            return self.query_one(AuditTree).selected_row
        except Exception:  # not mounted yet
            return None

    @on(Tree.NodeHighlighted, "#audit-tree")
    def _highlighted(self) -> None:
        self._show_detail()
        self.refresh_bindings()

    def _show_detail(self) -> None:
        row = self._row()
        text = "" if row is None else (self._check_detail(row.result) if row.finding is None
                                       else self._finding_detail(row.result, row.finding))
        self.query_one("#audit-detail-text", Static).update(text)
        self.query_one("#audit-detail", VerticalScroll).scroll_home(animate=False)

    def _check_detail(self, result: CheckResult) -> str:
        check = result.check
        status = result.effective_status
        mark, colour = MARKS[status]
        style = self._colour(colour)
        lines = [
            f"[b {style}]{mark}[/] [b]{escape(check.id)}[/b] {escape(check.title)} "
            f"[dim]({check.severity.label})[/dim]",
            f"[{style or 'dim'}]{escape(status_line(result))}[/]",
        ]
        if status is Status.PASS and result.reason:
            lines.append(f"[dim]{escape(result.reason)}[/dim]")
        lines += ["", f"[b]Practice[/b]     {escape(check.practice)}",
                  f"[b]Remediation[/b]  {escape(check.remediation)}"]
        if check.calls:
            lines.append(f"[b]Reads[/b]        {escape(', '.join(check.calls))}")
        if result.passed:
            shown = ", ".join(masked(p) for p in result.passed[:12])
            more = f" and {len(result.passed) - 12} more" if len(result.passed) > 12 else ""
            lines.append(f"[b]Passed[/b]       {escape(shown)}{more}")
        if status is Status.NOT_RUN:
            lines += ["", "Press [b]S[/b] to run the audit with the policy simulator."]
        elif result.findings:
            lines += ["", "[dim]↓ to a finding for its fix; x on this row mutes every finding of the check.[/dim]"]
        return "\n".join(lines)

    def _finding_detail(self, result: CheckResult, finding: Finding) -> str:
        colour = self._colour(SEVERITY_COLOURS[finding.severity])
        severity = f"[b {colour}]{finding.severity.label}[/]" if colour else f"[b]{finding.severity.label}[/b]"
        lines = [f"{severity}  [b]{escape(masked(finding.resource))}[/b]  [dim]({escape(result.check.id)})[/dim]",
                 escape(masked(finding.detail))]
        if finding.muted:
            lines.append(f"[{self._colour('warning')}]muted: {escape(finding.muted)}[/]  [dim](x unmutes)[/dim]")
        # The fix first: on a small terminal it is what must be in view without scrolling.
        lines.append("")
        if finding.fix is None:
            lines.append("[dim]No fix from here: see the remediation.[/dim]")
        else:
            lines += fix_lines(finding.fix, "f")
        for other in finding.also:
            lines += fix_lines(other, "F" if len(finding.also) == 1 else "F, then choose")
        lines += ["", f"[b]Practice[/b]     {escape(result.check.practice)}",
                  f"[b]Remediation[/b]  {escape(result.check.remediation)}"]
        return "\n".join(lines)

    # -- actions -------------------------------------------------------------------------------------------

    def action_refresh(self) -> None:
        self.start_audit()

    def action_simulate(self) -> None:
        self.simulate = True
        self.start_audit()

    def action_toggle_all(self) -> None:
        self.query_one(AuditTree).toggle_all()

    def action_back(self) -> None:
        self.dismiss(WorkflowRequest("reload") if self.changed else None)

    def action_fix(self) -> None:
        row = self._row()
        if row is None or row.finding is None:
            self.notify("Select a finding (↓) to fix it.", title="Nothing to fix", severity="warning")
            return
        if row.finding.fix is None:
            self.notify("This finding has no fix from here; the detail says what to do.", severity="warning")
            return
        self.start_fix(row.finding, row.finding.fix)

    def action_other_fix(self) -> None:
        row = self._row()
        if row is None or row.finding is None or not row.finding.also:
            self.notify("This finding has no other fix.", severity="warning")
            return
        finding = row.finding
        if len(finding.also) == 1:
            self.start_fix(finding, finding.also[0])
            return

        def chosen(index: int | None) -> None:
            if index is not None:
                self.start_fix(finding, finding.also[index])

        self.app.push_screen(FixChooser(finding), chosen)

    def start_fix(self, finding: Finding, fix: Fix) -> None:
        if self.fixing is not None:
            self.notify("A fix is running; wait for it to finish.", severity="warning")
            return
        if fix.kind is FixKind.AWS:
            self._confirm_aws_fix(finding, fix)
        elif fix.kind is FixKind.GUIDE:
            self.app.push_screen(GuideModal(finding, fix))
        else:
            self._start_workflow(finding, fix)

    def _confirm_aws_fix(self, finding: Finding, fix: Fix) -> None:
        calls = "\n".join(f"  {masked(call)}" for call in fix.calls)
        body = (f"For: {masked(finding.resource)}\n\nkeytui will call (and nothing else):\n{calls}\n\n"
                "The audit runs again afterwards.")

        def answered(yes: bool | None) -> None:
            if yes:
                self.fixing = fix
                self.changed = True
                self.refresh_bindings()
                self._status(f"fixing: {masked(fix.label)}…")
                self.run_fix(fix)

        modal = ConfirmModal(escape(masked(fix.label)) + "?", escape(body), "Apply", classes="-audit")
        self.app.push_screen(modal, answered)

    def _start_workflow(self, finding: Finding, fix: Fix) -> None:
        self.changed = True
        user = fix.param("user")
        if fix.workflow == "rotate" and user:
            key_id = fix.param("key_id")
            self.dismiss(WorkflowRequest("rotate", str(user), str(key_id) if key_id else None))
        elif fix.workflow == "enroll" and user:
            self._enroll(str(user))
        elif fix.workflow == "import" and fix.param("profile"):
            from keytui.ui.screens.profiles import ProfilesScreen

            profile = str(fix.param("profile"))
            self.app.push_screen(ProfilesScreen(self.services, self.inventory(), import_profile=profile),
                                 lambda _: self.start_audit())
        else:
            self.notify(f"keytui cannot start '{fix.workflow}' from here: {masked(fix.label)}.", severity="warning")

    def _enroll(self, user: str) -> None:
        try:
            from keytui.ui.screens.mfa_enroll import MfaEnrollScreen
        except ImportError:
            self.notify(f"Press esc, select {user} on the main screen and press m to enroll an MFA device.",
                        title="Enroll MFA", timeout=10)
            return
        # Whatever happened there (enabled, cancelled), AWS says what is true now: run the audit again.
        self.app.push_screen(MfaEnrollScreen(self.services, user, identity=self.identity(), has_mfa=False),
                             lambda _: self.start_audit())

    def action_mute(self) -> None:
        row = self._row()
        if row is None or self.report is None:
            return
        check = row.result.check.id
        if row.finding is None:
            if not row.result.findings:
                self.notify("This check has no finding to mute.", severity="warning")
                return
            if all(f.muted for f in row.result.findings):
                self.save_mute(check, ANY, None, 0, self.report)
                return
            resource, what = ANY, f"every finding of {check}"
        else:
            if row.finding.muted:
                self.save_mute(check, row.finding.resource, None, 0, self.report)
                return
            resource, what = row.finding.resource, f"{masked(row.finding.resource)} ({check})"
        report = self.report

        def answered(result: tuple[str, int] | None) -> None:
            if result is not None:
                self.save_mute(check, resource, result[0], result[1], report)

        self.app.push_screen(MuteModal(what), answered)


def fix_lines(fix: Fix, key: str) -> list[str]:
    """The detail pane's account of a fix: what pressing `key` does, exactly."""
    label = escape(masked(fix.label))
    if fix.kind is FixKind.AWS:
        return [f"[b]Fix ({key})[/b]  {label} — after a confirmation, keytui calls:"] + \
               [f"  [b]{escape(masked(call))}[/b]" for call in fix.calls]
    if fix.kind is FixKind.GUIDE:
        return [f"[b]Guide ({key})[/b]  only someone with other access can fix this; keytui calls nothing:",
                f"  {escape(masked(fix.guide))}"]
    user = escape(str(fix.param("user") or ""))
    if fix.workflow == "rotate":
        key_id = fix.param("key_id")
        return [f"[b]Fix ({key})[/b]  {label} — back on the main screen, the rotation of "
                f"{escape(mask_key_id(str(key_id)))} of {user} starts (as r there): a new key is created, verified and "
                "switched to before the old one is deactivated."]
    if fix.workflow == "enroll":
        return [f"[b]Fix ({key})[/b]  {label} — opens the MFA enrollment for {user} (as m on the main screen): "
                "a QR code, then two consecutive codes."]
    if fix.workflow == "import":
        profile = escape(str(fix.param("profile") or ""))
        return [f"[b]Fix ({key})[/b]  {label} — opens Profiles and asks to move '{profile}' into the keyring "
                f"(as i there; the same as `keytui vault import {profile}`)."]
    return [f"[b]Fix ({key})[/b]  {label}"]


def after_audit(main: MainScreen, request: WorkflowRequest | None) -> None:
    """The main screen's callback when the audit closes: start the rotation it asked for (chosen exactly as `r`
    chooses, with that user and key selected), or reload when fixes may have changed users and keys."""
    from textual.widgets import DataTable
    from textual.widgets.data_table import RowDoesNotExist

    from keytui.ui.widgets.users_table import UsersTable

    if request is None:
        return  # nothing changed
    if request.workflow != "rotate":
        main.load_all()
        return
    users = main.query_one(UsersTable)
    try:
        row = users.get_row_index(request.user)
    except RowDoesNotExist:
        main.notify(f"{request.user} is not in the users list (still loading, or filtered out): select them and "
                    "press r.", title="Cannot rotate yet", severity="warning", timeout=10)
        return
    users.move_cursor(row=row, animate=False)
    main._show_selected_keys()  # the keys panel shows this user's keys now, not on the next event
    keys: Any = main.query_one("#keys", DataTable)
    if request.key_id:
        try:
            keys.move_cursor(row=keys.get_row_index(request.key_id), animate=False)
            main.set_focus(keys)  # `r` rotates the key under the keys panel's cursor when it has the focus
        except RowDoesNotExist:
            pass  # the key is gone or its id unknown: `r` decides, and says why if it cannot
    main.action_rotate()


# -- modals ---------------------------------------------------------------------------------------------------


class GuideModal(ModalScreen[None]):
    """A guide fix: what to do, by whom. keytui calls nothing."""

    BINDINGS = [Binding("escape,enter,q", "close", "Close", id="audit.guide-close")]

    def __init__(self, finding: Finding, fix: Fix) -> None:
        super().__init__()
        self.finding = finding
        self.fix = fix

    def compose(self) -> ComposeResult:
        with Vertical(id="guide-box"):
            yield Static(f"[b]{escape(masked(self.fix.label))}[/b]", id="guide-title")
            yield Static(escape(masked(self.finding.detail)), id="guide-finding")
            yield Static(escape(masked(self.fix.guide)), id="guide-text")
            yield Static("[dim]keytui does not do this for you: it needs access or judgement keytui does not have. "
                         "esc closes.[/dim]", id="guide-note")

    def action_close(self) -> None:
        self.dismiss(None)


class FixChooser(ModalScreen[int | None]):
    """The finding's other fixes, to pick one (F when there are several)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="audit.choose-cancel")]

    def __init__(self, finding: Finding) -> None:
        super().__init__()
        self.finding = finding

    def compose(self) -> ComposeResult:
        with Vertical(id="chooser-box"):
            yield Static(f"[b]Other fixes for {escape(masked(self.finding.resource))}[/b]", id="chooser-title")
            yield OptionList(*[Option(escape(masked(fix.label)), id=str(i)) for i, fix in enumerate(self.finding.also)],
                             id="chooser-list")

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(int(event.option.id or 0))

    def action_cancel(self) -> None:
        self.dismiss(None)


class MuteModal(ModalScreen[tuple[str, int] | None]):
    """Why a finding is acceptable for now (required) and for how many days."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="audit.mute-cancel")]

    def __init__(self, what: str) -> None:
        super().__init__()
        self.what = what

    def compose(self) -> ComposeResult:
        with Vertical(id="mute-box"):
            yield Static(f"[b]Mute {escape(self.what)}[/b]", id="mute-title")
            yield Static("A muted finding is shown dimmed and left out of the score until the mute expires. "
                         "The reason is stored with it (not a secret).", id="mute-help")
            with Horizontal(classes="mute-row"):
                yield Label("Reason ", classes="mute-label")
                yield Input(placeholder="why is this acceptable for now? (required)", id="mute-reason")
            with Horizontal(classes="mute-row"):
                yield Label("Days   ", classes="mute-label")
                yield Input(str(DEFAULT_MUTE_DAYS), type="integer", id="mute-days")
            yield Static("", id="mute-error")
            with Horizontal(id="mute-buttons"):
                yield Button("Mute", variant="warning", id="mute-ok")
                yield Button("Cancel (esc)", id="mute-cancel")

    def on_mount(self) -> None:
        self.query_one("#mute-reason", Input).focus()

    @on(Input.Submitted, "#mute-reason")
    def _reason_submitted(self) -> None:
        if self.query_one("#mute-reason", Input).value.strip():
            self.query_one("#mute-days", Input).focus()
        else:
            self._submit()  # says a reason is needed

    @on(Input.Submitted, "#mute-days")
    def _days_submitted(self) -> None:
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "mute-ok":
            self._submit()
        else:
            self.dismiss(None)

    def _submit(self) -> None:
        reason = " ".join(self.query_one("#mute-reason", Input).value.split())
        days_text = self.query_one("#mute-days", Input).value.strip()
        error = self.query_one("#mute-error", Static)
        if not reason:
            error.update("A reason is required: why is this finding acceptable for now?")
            self.query_one("#mute-reason", Input).focus()
            return
        try:
            days = int(days_text)
        except ValueError:
            days = 0
        if not 1 <= days <= 365:
            error.update("Days: a whole number from 1 to 365 (a mute should be looked at again).")
            self.query_one("#mute-days", Input).focus()
            return
        self.dismiss((reason, days))

    def action_cancel(self) -> None:
        self.dismiss(None)
