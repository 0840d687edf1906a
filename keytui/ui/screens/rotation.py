"""`r`: one access key's rotation, driven by the engine (core/rotation.py) in a thread worker and shown as a
checklist whose rows follow the engine's steps live. The screen owns the questions the engine asks (the new
secret of another user, "is it deployed?") and, when a rotation stops, the one clear choice left: resume,
roll back, or close and come back later (the journal keeps it).

Phases: checking → ready (asks to start) → running → done | failed; or blocked (the preflight said no:
nothing was created), or open (an earlier rotation of the user did not finish: resume or roll back).
Blocked by two keys of which one is inactive (F-01), the screen offers to delete that key (after the same
confirmation as `d` on the main screen: deleting → checking again).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.markup import escape
from textual.screen import Screen
from textual.widgets import Button, Footer, Static
from textual.worker import Worker, get_current_worker

from keytui.core import present
from keytui.core.errors import KeytuiError
from keytui.core.masking import mask_key_id
from keytui.core.models import AccessKey, IamUser, LongTermKey
from keytui.core.rotation import Journal, RotationResult, Step, StoreAs, TwoKeysError
from keytui.services import Services
from keytui.ui.messages import (
    InactiveKeyDeleted,
    RotationFailed,
    RotationFinished,
    RotationPlanned,
    RotationStepChanged,
)
from keytui.ui.screens import delete_key
from keytui.ui.screens.confirm import ConfirmModal
from keytui.ui.screens.mfa_code import mfa_cancelled, mfa_prompt, rotation_mfa_iam
from keytui.ui.screens.new_secret import NewSecretModal

OPEN = {"running", "failed"}
STEPS = (Step.PREFLIGHT, Step.CREATE, Step.STORE, Step.VERIFY, Step.SWITCH, Step.DEACTIVATE, Step.DELETE)

# state -> (mark, theme variable)
MARKS = {
    "pending": ("·", "$text-muted"),
    "running": ("▸", "$accent"),
    "waiting": ("⧗", "$warning"),
    "asking": ("?", "$warning"),
    "done": ("✓", "$success"),
    "failed": ("✗", "$error"),
    "skipped": ("-", "$text-muted"),
    "undone": ("↺", "$text-muted"),
}


@dataclass(frozen=True)
class RotationTarget:
    """What `r` chose on the main screen (the same decisions as `keytui rotate`)."""

    user: str
    old_key_id: str
    # The keyring profile that is switched to the new key (the profile's own user); None: another user's
    # key, whose new secret is shown once.
    profile: str | None
    old_key: AccessKey | None = None
    # Local profiles holding the old key (files or keyring), for the confirmation.
    holders: tuple[str, ...] = ()


def journal_target(journal: Journal, base: RotationTarget | None = None, *, old_key: AccessKey | None = None,
                   holders: tuple[str, ...] = ()) -> RotationTarget:
    """The target an unfinished rotation's journal names (it wins over what `r` chose)."""
    if base is not None and base.old_key_id == journal.old_key_id:
        old_key, holders = old_key or base.old_key, holders or base.holders
    return RotationTarget(journal.user, journal.old_key_id, journal.profile, old_key=old_key, holders=holders)


def store_options(services: Services) -> tuple[frozenset[str], str | None]:
    """Worker thread: the profile names in use (a new keytui profile needs a new one), and why keytui could not
    keep another user's new key in the keyring (None: it can; the keyring took a test write)."""
    vault_service = services.vault_service
    if vault_service is None:
        return frozenset(), "there is no keyring"
    try:
        vault_service.vault.check_usable()
        vault_service.vault.probe()
        return frozenset(vault_service.profile_names()), None
    except KeytuiError as exc:
        return frozenset(), str(exc)


def journal_now(services: Services, user: str) -> tuple[Journal | None, str]:
    """Worker thread: `user`'s unfinished rotation (None if there is none) and what exists now in words."""
    journal = services.journals.load(user)  # an unreadable journal raises: it must not read as "none"
    if journal is None or journal.status not in OPEN:
        return None, ""
    try:
        keys = services.rotation_engine().preflight_keys(user)
    except KeytuiError:
        return journal, journal.describe()
    return journal, journal.describe(keys)


def _unexpected(exc: BaseException) -> KeytuiError:
    return KeytuiError(f"Unexpected error ({type(exc).__name__}: {exc}).", code="Unexpected")


def _reason(error: KeytuiError) -> str:
    """The error without RotationError.state (the screen shows the state on its own line)."""
    text = error.message
    state = getattr(error, "state", "")
    if state and text.endswith(state):
        text = text[: -len(state)].rstrip()
    return text


class StepRow(Static):
    """One line of the checklist: mark, what the step does, and its live state."""

    def __init__(self, step: Step, label: str, width: int) -> None:
        super().__init__("", id=f"step-{step.name.lower()}", classes="rotation-step", markup=True)
        self.step = step
        self.label = label
        self.width = width
        self.state = "pending"
        self.detail = ""
        self.since: datetime | None = None

    def set_state(self, state: str, detail: str, now: datetime) -> None:
        if state in {"running", "waiting"} and self.state not in {"running", "waiting"}:
            self.since = now
        self.state = state
        self.detail = detail
        self.show(now)

    def state_text(self, now: datetime) -> str:
        seconds = int((now - self.since).total_seconds()) if self.since else 0
        if self.state == "running":
            return f"running {seconds} s" + (f" — {self.detail}" if self.detail else "")
        if self.state == "waiting":
            return f"waiting {seconds} s — {self.detail}"
        if self.state == "skipped":
            return self.detail or "skipped"
        if self.state == "done":
            return self.detail or "done"
        return self.detail

    def show(self, now: datetime) -> None:
        mark, colour = MARKS[self.state]
        label = escape(self.label.ljust(self.width))
        text = escape(self.state_text(now))
        if self.state == "failed":
            text = f"[$error]{text}[/]"
        elif self.state in {"pending", "skipped", "undone"}:
            label, text = f"[$text-muted]{label}[/]", f"[$text-muted]{text}[/]"
        self.update(f"[{colour}]{mark}[/] {label} {text}")


class ScreenEvents:
    """RotationEvents for the engine running in the worker thread: steps become messages; the questions
    push a modal on the event loop and block this thread until it is answered. A cancelled worker (the app
    is closing) answers no, which the engine treats as "not stored"/"not deployed": the safe side."""

    def __init__(self, screen: RotationScreen, worker: Worker[None]) -> None:
        self.screen = screen
        self.worker = worker

    def step(self, step: Step, state: str, detail: str = "") -> None:
        self.screen.post_message(RotationStepChanged(step, state, detail))

    def confirm_stored(self, new_key: LongTermKey) -> bool | StoreAs:
        self.step(Step.STORE, "asking", "shown to you once: waiting for 'stored it'")
        target = self.screen.target
        existing, unavailable = store_options(self.screen.services)
        answer = self._ask(lambda: NewSecretModal(target.user, new_key, target.old_key_id, existing_profiles=existing,
                                                  store_unavailable=unavailable, classes="-low"))
        if isinstance(answer, StoreAs):
            try:
                self.screen.app.call_from_thread(self.screen.keep_as, answer.profile)
            except RuntimeError:
                pass  # the app is closing; the engine still stores (or deletes) the key
        return answer

    def confirm_deployed(self, new_key: LongTermKey) -> bool:
        target = self.screen.target
        old, new = mask_key_id(target.old_key_id), mask_key_id(new_key.access_key_id)
        then = (f"deactivates the old key {old}, then deletes it (not reversible)" if self.screen.delete_old else
                f"deactivates the old key {old} (reversible: it can be made active again in IAM)")
        self.step(Step.SWITCH, "asking", "waiting for you to confirm the new key is deployed")
        return self._ask(lambda: ConfirmModal(
            f"Is {new} deployed?",
            f"AWS accepts the new key {new} of {target.user}. Put it everywhere the old key {old} is used "
            f"and check it works there. Next keytui {then}.\n\n"
            + self._stop_here_text(),
            "Deployed",
            classes="-low",
        ))

    def _stop_here_text(self) -> str:
        return (f"Answer n to stop here: the old key stays active and the rotation stays open; `r` on "
                f"{self.screen.target.user} asks again later (or rolls it back, deleting the new key).")

    def switched(self, new_key: LongTermKey) -> None:
        # The engine's client factory already rebuilt the session from the keyring (services.reload_session).
        self.step(Step.SWITCH, "running", f"profile '{self.screen.target.profile}' now uses "
                                          f"{mask_key_id(new_key.access_key_id)}")

    def _ask(self, make: Callable[[], Screen]) -> bool | StoreAs:  # type: ignore[type-arg]
        answered = threading.Event()
        answer: list[bool | StoreAs] = [False]

        def callback(result: bool | StoreAs | None) -> None:
            answer[0] = result if isinstance(result, StoreAs) else bool(result)
            answered.set()

        app = self.screen.app
        try:
            app.call_from_thread(lambda: app.push_screen(make(), callback))
        except RuntimeError:
            return False  # the app is not running any more: nobody can answer
        while not answered.wait(0.2):
            if self.worker.is_cancelled:
                return False
        return answer[0]


class RotationScreen(Screen[None]):
    BINDINGS = [
        Binding("enter", "start", "Start", id="rotation.start"),
        Binding("d", "toggle_delete", "Delete old key too", id="rotation.delete-old"),
        Binding("u", "resume", "Resume", id="rotation.resume"),
        Binding("b", "rollback", "Roll back", id="rotation.rollback"),
        Binding("x", "delete_inactive", "Delete inactive key", id="rotation.delete-inactive"),
        Binding("escape", "close", "Back", id="rotation.close"),
    ]

    def __init__(self, services: Services, target: RotationTarget, *, delete_old: bool = False) -> None:
        super().__init__()
        self.services = services
        self.target = target
        self.delete_old = delete_old
        self.phase = "checking"
        self.mode = "rotate"  # rotate | resume | rollback: what the running worker does
        self.journal: Journal | None = None
        self.keys: tuple[AccessKey, ...] = ()
        self.result: RotationResult | None = None
        self._done_text = ""
        # Another user's new key kept by keytui under this new profile (chosen in the new-secret modal).
        self.kept_as: str | None = None
        # Blocked by two keys (F-01): the inactive one that can be deleted to make room (None: none can), and
        # both keys as the preflight read them (with their last use).
        self.deletable: AccessKey | None = None
        self._two_keys: tuple[AccessKey, ...] = ()

    # -- layout ------------------------------------------------------------------------------------------

    def _done_texts(self) -> dict[Step, str]:
        """What a finished step means, for the steps the engine marks done without a detail (and for the
        steps an unfinished rotation's journal records)."""
        target = self.target
        new_id = self.journal.new_key_id if self.journal else None
        profile = f"profile '{target.profile}'"
        kept = self._kept_as()
        return {
            Step.PREFLIGHT: "checked",
            Step.CREATE: f"new key {mask_key_id(new_id)}" if new_id else "new key created",
            Step.STORE: f"pending in the keyring for {profile}" if target.profile else
            f"kept by keytui as profile '{kept}' (keyring)" if kept else "stored by you",
            Step.VERIFY: "AWS accepts the new key",
            Step.SWITCH: f"{profile} uses the new key" if target.profile else
            f"keytui profile '{kept}' holds the new key" if kept else "deployed (you confirmed)",
            Step.DEACTIVATE: f"{mask_key_id(target.old_key_id)} is inactive",
            Step.DELETE: f"{mask_key_id(target.old_key_id)} deleted",
        }

    def _kept_as(self) -> str | None:
        return self.kept_as or (self.journal.store_as if self.journal else None)

    def keep_as(self, profile: str) -> None:
        """The user chose to have keytui keep the new key as `profile`: the checklist says so from now on."""
        self.kept_as = profile
        self._describe_target()
        self._relabel()

    def _labels(self) -> dict[Step, str]:
        target = self.target
        old = mask_key_id(target.old_key_id)
        profile = f"profile '{target.profile}'"
        own = target.profile is not None
        kept = self._kept_as()
        return {
            Step.PREFLIGHT: "check the keys and the keyring" if own else "check the user's keys",
            Step.CREATE: "create a new key",
            Step.STORE: f"store it for {profile} (pending)" if own else
            f"store it as keytui profile '{kept}'" if kept else "show its secret once; you store it",
            Step.VERIFY: "verify it (a call signed with it)",
            Step.SWITCH: f"switch {profile} to it" if own else "keytui holds it" if kept else "you deploy it",
            Step.DEACTIVATE: f"deactivate old key {old}",
            Step.DELETE: f"delete old key {old}",
        }

    def compose(self) -> ComposeResult:
        yield Static("", id="rotation-title")
        with VerticalScroll(id="rotation-body"):
            yield Static("", id="rotation-intro")
            labels = self._labels()
            width = max(len(text) for text in labels.values()) + 2
            with Vertical(id="rotation-steps"):
                for step in STEPS:
                    yield StepRow(step, labels[step], width)
            yield Static("", id="rotation-outcome")
            yield Static("", id="rotation-choices")
            yield Button("", id="rotation-delete-inactive", variant="warning", classes="hidden")
        yield Footer()

    def on_mount(self) -> None:
        self._describe_target()
        self._show_rows()
        now = self._now()
        for row in self._rows():
            row.show(now)
        self._row(Step.PREFLIGHT).set_state("running", "", now)
        self._outcome(f"Checking {self.target.user}'s keys…", "")
        self.set_interval(1.0, self._tick)
        self.load_plan()

    def _now(self) -> datetime:
        return self.services.clock.now()

    def _row(self, step: Step) -> StepRow:
        return self.query_one(f"#step-{step.name.lower()}", StepRow)

    def _rows(self) -> list[StepRow]:
        return list(self.query(StepRow))

    def _show_rows(self) -> None:
        self._row(Step.DELETE).set_class(not self.delete_old, "hidden")

    def _relabel(self) -> None:
        labels = self._labels()
        width = max(len(text) for text in labels.values()) + 2
        now = self._now()
        for row in self._rows():
            row.label, row.width = labels[row.step], width
            row.show(now)

    def _describe_target(self) -> None:
        target = self.target
        old = mask_key_id(target.old_key_id)
        self.query_one("#rotation-title", Static).update(
            f"[b]Rotate {old} of {escape(target.user)}[/b]" + (f"  ·  profile '{escape(target.profile)}'" if target.profile else "")
        )
        facts = []
        if target.old_key is not None:
            now = self._now()
            facts.append(f"{target.old_key.status}, {present.days_text(target.old_key.age_days(now))} old, "
                         f"last used {present.key_last_used_text(target.old_key, now)}")
        if target.holders:
            facts.append(f"held by local profile(s) {', '.join(target.holders)}")
        kept = self._kept_as()
        where = (f"the keyring, for profile '{target.profile}' (kept as pending beside the old key until it works)"
                 if target.profile else f"the keyring, as the new keytui profile '{kept}'" if kept
                 else "you: its secret is shown once and keytui keeps no copy")
        after = "deactivated, then deleted" if self.delete_old else "deactivated (reversible), not deleted"
        lines = [
            f"Old key {old}" + (f": {'; '.join(facts)}." if facts else "."),
            f"The new key goes to {where}.",
            f"The old key keeps working until the new one works; then it is {after}.",
        ]
        self.query_one("#rotation-intro", Static).update(escape("\n".join(lines)))

    def _outcome(self, text: str, choices: str, style: str = "") -> None:
        outcome = self.query_one("#rotation-outcome", Static)
        outcome.update(text)
        outcome.set_classes(style)
        self.query_one("#rotation-choices", Static).update(choices)
        self.refresh_bindings()

    def _tick(self) -> None:
        now = self._now()
        for row in self._rows():
            if row.state in {"running", "waiting"}:
                row.show(now)

    # -- the check (a read, plus the keyring probe) --------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="rotation-check")
    def load_plan(self) -> None:
        user = self.target.user
        try:
            journal, state = journal_now(self.services, user)
            if journal is not None:
                self.post_message(RotationPlanned(journal=journal, state=state))
                return
            # F-08: IAM denying a read for lack of MFA asks for a code (ui/screens/mfa_code.py).
            mfa_iam = rotation_mfa_iam(self.app, self.services, get_current_worker())
            keys = self.services.rotation_engine(mfa_iam=mfa_iam).preflight(user, self.target.old_key_id,
                                                                             self.target.profile)
        except KeytuiError as exc:
            self.post_message(RotationFailed(exc, None, before_start=True))
            return
        except KeyboardInterrupt:  # the MFA code was not given
            self.post_message(RotationFailed(mfa_cancelled(), None, before_start=True))
            return
        except Exception as exc:  # noqa: BLE001 - shown as a sentence; the screen must not stay "checking"
            self.post_message(RotationFailed(_unexpected(exc), None, before_start=True))
            return
        self.post_message(RotationPlanned(keys=keys))

    def on_rotation_planned(self, message: RotationPlanned) -> None:
        if message.journal is not None:
            self._open_journal(message.journal, message.state)
            return
        self.keys = message.keys
        self.phase = "ready"
        detail = f"{len(self.keys)} key; the keyring takes a write" if self.target.profile else f"{len(self.keys)} key"
        self._row(Step.PREFLIGHT).set_state("done", detail, self._now())
        self._ready("Ready. Nothing has been created yet.")
        self._ask_to_start()

    def _ready(self, text: str) -> None:
        self._outcome(
            text,
            "[b]enter[/b] start (asks first)   [b]d[/b] "
            + ("only deactivate the old key" if self.delete_old else "delete the old key too, once the new one works")
            + "   [b]esc[/b] back",
        )

    def _confirmation(self) -> tuple[str, str]:
        target = self.target
        old = mask_key_id(target.old_key_id)
        lines = [f"1. create a new access key for {target.user}"]
        if target.profile:
            vault = self.services.vault
            keyring = vault.info.label if vault else "the keyring"
            lines += [
                f"2. store it in the keyring ({keyring}) for profile '{target.profile}', beside the old one, and "
                "read it back",
                "3. check that AWS accepts it (a call signed with the new key)",
                f"4. switch profile '{target.profile}' to the new key",
            ]
        else:
            lines += [
                "2. show you its secret once: store it where the old key is used (keytui keeps no copy), or have "
                "keytui keep it as a new keytui profile in the keyring",
                "3. check that AWS accepts it (a call signed with the new key)",
                "4. ask you to confirm that the new key is deployed (not asked when keytui keeps it)",
            ]
        lines.append(f"5. deactivate {old}, then delete it (not reversible)" if self.delete_old
                     else f"5. deactivate {old} (reversible; it is not deleted)")
        notes = ["The old key keeps working until step 5."]
        others = [p for p in target.holders if p != target.profile]
        if others:
            notes.append(f"Local profile(s) {', '.join(others)} hold the old key: keytui does not change them; "
                         "update them before step 5.")
        if not self.delete_old:
            notes.append("To delete the old key as well, answer n and press d.")
        title = (f"Rotate your own key {old} ({target.user}, profile '{target.profile}')?" if target.profile
                 else f"Rotate {target.user}'s key {old}?")
        return title, "\n".join(lines) + "\n\n" + " ".join(notes)

    def _ask_to_start(self) -> None:
        title, body = self._confirmation()

        def answered(yes: bool | None) -> None:
            if yes and self.phase == "ready":
                self._run("rotate")
            elif self.phase == "ready":
                self._ready("Not started: nothing was changed.")

        self.app.push_screen(ConfirmModal(title, body, "Rotate", classes="-low"), answered)

    # -- the run (a write: never exclusive) ---------------------------------------------------------------

    def _run(self, mode: str) -> None:
        self.mode = mode
        self.phase = "running"
        now = self._now()
        if mode == "rotate":
            for row in self._rows():
                row.set_state("pending", "", now)
        verb = {"rotate": "Rotating", "resume": "Resuming", "rollback": "Rolling back"}[mode]
        self._outcome(f"{verb}… every step is journaled; the old key keeps working until the new one does.", "")
        self.run_rotation(mode)

    @work(thread=True, exit_on_error=False, group="rotation")
    def run_rotation(self, mode: str) -> None:
        # A write: never exclusive, since cancelling a half-done rotation is worse than finishing it.
        events = ScreenEvents(self, get_current_worker())
        user = self.target.user
        try:
            # F-08: an IAM call denied for lack of MFA asks for a code once (ui/screens/mfa_code.py).
            engine = self.services.rotation_engine(mfa_iam=rotation_mfa_iam(self.app, self.services, events.worker))
            if mode == "resume":
                result = engine.resume(user, events)
            elif mode == "rollback":
                result = engine.rollback(user, events)
            else:
                result = engine.rotate(user, self.target.old_key_id, self.target.profile, events,
                                       delete_old=self.delete_old)
        except KeytuiError as exc:
            self.post_message(RotationFailed(exc, *self._settle_after_failure()))
            return
        except KeyboardInterrupt:  # the MFA code was not given: the engine journaled where it stopped
            self.post_message(RotationFailed(mfa_cancelled(), *self._settle_after_failure()))
            return
        except Exception as exc:  # noqa: BLE001 - shown as a sentence, with the journal's account of what exists
            self.post_message(RotationFailed(_unexpected(exc), *self._settle_after_failure()))
            return
        self.post_message(RotationFinished(result))

    def _settle_after_failure(self) -> tuple[Journal | None, str]:
        """Worker thread: the journal as it is on disk now, and what exists in words, from AWS's list of the
        user's keys when it can be read (exact) or from the journal alone."""
        try:
            return journal_now(self.services, self.target.user)
        except KeytuiError as exc:
            return None, f"The rotation journal could not be read ({exc}); `keytui rotate {self.target.user} --resume` says more."

    # -- results (event loop) -------------------------------------------------------------------------------

    def on_rotation_step_changed(self, message: RotationStepChanged) -> None:
        if self.mode == "rollback":
            self._outcome(escape(f"Rolling back… {message.detail}"), "")
            return
        if message.step == Step.DONE:
            self._done_text = message.detail
            return
        row = self._row(message.step)
        detail = message.detail
        if message.state == "done" and not detail:
            detail = self._done_texts()[message.step]
        row.set_state(message.state, detail, self._now())

    def on_rotation_finished(self, message: RotationFinished) -> None:
        self.result = message.result
        self.journal = None
        now = self._now()
        back = "[b]esc[/b] back to the users (they reload)"
        if message.result.status == "rolled back":
            self.phase = "rolled-back"
            for row in self._rows():
                if row.step == Step.PREFLIGHT:
                    continue
                if row.state == "done":
                    row.set_state("undone", "rolled back", now)
                elif row.state == "failed":
                    row.set_state("skipped", "not done (rolled back)", now)
            self._outcome(
                f"↺ Rolled back: the new key is deleted; the old key {mask_key_id(self.target.old_key_id)} is still "
                "the key. Nothing is left open.",
                back, "ok",
            )
            return
        self.phase = "done"
        for row in self._rows():
            if row.state in {"running", "waiting", "asking"}:
                row.set_state("done", row.detail, now)
        text = f"✓ Done: {self._done_text}" if self._done_text else "✓ Done."
        if self.target.profile:
            text += f" keytui now uses the new key for profile '{self.target.profile}'."
        self._outcome(escape(text), back, "ok")

    def on_rotation_failed(self, message: RotationFailed) -> None:
        error = message.error
        now = self._now()
        if isinstance(error, TwoKeysError):
            # Also when AWS said so only at the create (a key appeared since the check): nothing was changed.
            self._blocked_by_two_keys(error)
            return
        if message.before_start:
            self.phase = "blocked"
            self._row(Step.PREFLIGHT).set_state("failed", error.code or "failed", now)
            self._outcome(escape(f"✗ {error.message}") + "\nNothing was changed.", "[b]esc[/b] back", "error")
            return
        if error.code == "RotationOpen" and message.journal is not None and self.mode == "rotate":
            self._open_journal(message.journal, message.state)  # another keytui left one meanwhile
            return
        self.phase = "failed"
        self.journal = message.journal
        failed = False
        for row in self._rows():
            if row.state in {"running", "waiting", "asking"}:
                row.set_state("failed", _reason(error), now)
                failed = True
        if message.journal is not None:
            self._mark_journal(message.journal)
        if not failed and not any(row.state == "failed" for row in self._rows()) and self.mode == "rotate":
            self._row(Step.PREFLIGHT).set_state("failed", error.code or "failed", now)
        self._outcome(self._failure_text(error, message.journal, message.state), self._choices(message.journal),
                      "error")

    def _blocked_by_two_keys(self, error: TwoKeysError) -> None:
        self.phase = "blocked"
        now = self._now()
        for row in self._rows():
            if row.step != Step.PREFLIGHT:
                row.set_state("pending", "", now)
        self._row(Step.PREFLIGHT).set_state("failed", f"{self.target.user} already has two access keys", now)
        # The inactive key that is not the one being rotated (deleting the key being rotated would leave
        # nothing to rotate).
        self.deletable = next((k for k in error.inactive_keys if k.key_id != self.target.old_key_id), None)
        self._two_keys = error.keys
        button = self.query_one("#rotation-delete-inactive", Button)
        if self.deletable is not None:
            button.label = f"Delete inactive key {self.deletable.masked_id} (x)"
        button.set_class(self.deletable is None, "hidden")
        choices = "[b]esc[/b] back"
        if self.deletable is not None:
            choices = (f"[b]x[/b] delete the inactive key {self.deletable.masked_id} (asks first), then check again   "
                       + choices)
        self._outcome(self._two_keys_text(error), choices, "error")

    def _two_keys_text(self, error: TwoKeysError) -> str:
        now = self._now()
        lines = [f"✗ {escape(self.target.user)} already has two access keys. AWS allows two, inactive ones included, "
                 "so a new one cannot be created:"]
        for key in error.keys:
            lines.append(f"    {key.masked_id}  {key.status:<8}  {present.days_text(key.age_days(now)):>5} old  "
                         f"last used {escape(present.key_last_used_text(key, now))}")
        if self.deletable is not None:
            lines.append(f"The inactive key {self.deletable.masked_id} is the one to delete: delete it here (x), then "
                         "the rotation is checked again. Nothing was changed.")
        elif error.inactive_keys:
            lines.append("The inactive key is the one chosen for rotation: delete it with d on the main screen, then "
                         "rotate the other one. Nothing was changed.")
        else:
            lines.append("Both keys are active, and keytui deletes only inactive keys. Delete the key that is no longer "
                         "used first (deactivate it, check nothing breaks, then delete it), then rotate. Nothing was "
                         "changed.")
        return "\n".join(lines)

    def _failure_text(self, error: KeytuiError, journal: Journal | None, state: str) -> str:
        # The engine's errors are whole sentences ("The rotation of X stopped: …"); a roll-back's are AWS's.
        prefix = "The roll-back stopped: " if self.mode == "rollback" else ""
        lines = [f"✗ {prefix}{escape(_reason(error))}"]
        if journal is not None:
            lines.append(f"Now: {escape(state or journal.describe())}")
        elif state:
            lines.append(escape(state))
        else:
            # The engine closes the journal only when nothing is left to do (a cancelled or failed store
            # deletes the new key first; the error says so).
            lines.append("Nothing is left open.")
        return "\n".join(lines)

    def _choices(self, journal: Journal | None) -> str:
        if journal is None:
            return "[b]esc[/b] back"
        user = escape(journal.user)
        lines = ["What now?"]
        if journal.can_resume:
            lines.append("  [b]u[/b]    resume: retry from the step that stopped")
        else:
            lines.append("  [dim]u    resume: not possible — the new secret was only shown, keytui kept no copy[/dim]")
        if journal.can_roll_back:
            lines.append("  [b]b[/b]    roll back: delete the new key; the old key stays as it is")
        else:
            lines.append(f"  [dim]b    roll back: not possible — profile '{escape(journal.profile or '')}' "
                         "already uses the new key; resume instead[/dim]")
        lines.append(f"  [b]esc[/b]  close: the rotation stays open; `r` on {user} resumes or rolls it back later")
        return "\n".join(lines)

    def _mark_journal(self, journal: Journal) -> None:
        now = self._now()
        done = self._done_texts()
        for row in self._rows():
            if journal.has(row.step) and row.state != "done":
                row.set_state("done", done[row.step], now)

    def _open_journal(self, journal: Journal, state: str = "") -> None:
        self.phase = "open"
        self.journal = journal
        self.target = journal_target(journal, self.target)
        self.delete_old = journal.delete_old
        self._describe_target()
        self._relabel()
        self._show_rows()
        now = self._now()
        done = self._done_texts()
        for row in self._rows():
            row.set_state("done" if journal.has(row.step) else "pending", done[row.step] if journal.has(row.step) else "", now)
        # The journal's error ends with the state it left, which the next line says anyway.
        error, described = journal.error or "", journal.describe()
        if described in error:
            error = error[: error.index(described)].rstrip()
        why = f" ({error})" if error else ""
        self._outcome(
            escape(f"An earlier rotation of {journal.user}, started {journal.started_at[:19].replace('T', ' ')} UTC, "
                   f"did not finish{why}.") + f"\nNow: {escape(state or journal.describe())}",
            self._choices(journal),
            "warning",
        )

    # -- actions ------------------------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in {"start", "toggle_delete"}:
            return self.phase == "ready"
        if action == "resume":
            if self.phase not in {"failed", "open"} or self.journal is None:
                return False
            return True if self.journal.can_resume else None
        if action == "rollback":
            if self.phase not in {"failed", "open"} or self.journal is None:
                return False
            return True if self.journal.can_roll_back else None
        if action == "delete_inactive":
            return self.phase == "blocked" and self.deletable is not None
        if action == "close":
            # Leaving would orphan the worker's questions: the rotation finishes or asks first.
            return self.phase not in {"running", "deleting"}
        return True

    def action_start(self) -> None:
        self._ask_to_start()

    def action_toggle_delete(self) -> None:
        self.delete_old = not self.delete_old
        self._show_rows()
        self._describe_target()
        self._ready("The old key will be deleted once the new one works." if self.delete_old
                    else "The old key will only be deactivated.")

    def action_resume(self) -> None:
        self._run("resume")

    def action_rollback(self) -> None:
        assert self.journal is not None
        journal = self.journal

        def answered(yes: bool | None) -> None:
            if yes and self.phase in {"failed", "open"}:
                self._run("rollback")

        new = f"the new key {mask_key_id(journal.new_key_id)}" if journal.new_key_id else "any key this rotation created"
        self.app.push_screen(
            ConfirmModal(
                f"Roll back the rotation of {journal.user}?",
                f"keytui deletes {new}"
                + (f", drops the pending key from profile '{journal.profile}'" if journal.profile else "")
                + f". The old key {mask_key_id(journal.old_key_id)} stays as it is (nothing was switched to the new "
                "one yet). Nothing else changes.",
                "Roll back",
                classes="-low",
            ),
            answered,
        )

    def action_close(self) -> None:
        self.dismiss(None)

    # -- F-01: delete the inactive key, then check again --------------------------------------------------------

    def action_delete_inactive(self) -> None:
        key = self.deletable
        if key is None or self.phase != "blocked":
            return
        user = self.target.user
        listed = IamUser(user, "", keys=self._two_keys, keys_complete=True)
        found = delete_key.evidence(self.services, listed, key)

        def answered(yes: bool | None) -> None:
            if yes and self.phase == "blocked" and self.deletable is key:
                self.phase = "deleting"
                self._outcome(f"Deleting the inactive key {key.masked_id} of {escape(user)}…", "")
                self.delete_inactive(user, key.key_id or "")

        self.app.push_screen(
            delete_key.DeleteInactiveKeyModal(user, key, self._now(), found, classes="-low"),
            answered,
        )

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "rotation-delete-inactive":
            self.action_delete_inactive()

    @work(thread=True, exit_on_error=False, group="rotation-delete")
    def delete_inactive(self, user: str, key_id: str) -> None:
        prompt = mfa_prompt(self.app, self.services, get_current_worker())
        self.post_message(delete_key.delete_in_worker(self.services, user, key_id, prompt))

    def on_inactive_key_deleted(self, message: InactiveKeyDeleted) -> None:
        if message.error is not None:
            self.phase = "blocked"
            self._outcome(escape(f"✗ {message.error}"), "[b]x[/b] try again   [b]esc[/b] back", "error")
            return
        self.notify(delete_key.deleted_text(message), title="Key deleted")
        self.deletable = None
        self.query_one("#rotation-delete-inactive", Button).add_class("hidden")
        self.phase = "checking"
        now = self._now()
        for row in self._rows():
            row.set_state("pending", "", now)
        self._row(Step.PREFLIGHT).set_state("running", "", now)
        self._outcome(escape(f"{delete_key.deleted_text(message)} Checking {self.target.user}'s keys again…"), "")
        self.load_plan()

    @property
    def running(self) -> bool:
        return self.phase == "running"
