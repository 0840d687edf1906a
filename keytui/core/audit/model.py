"""The audit's nouns: a check's metadata, its findings, the fix for each, and the result of a run.

"Could not check" is a status of its own (UNKNOWN, with the reason); it is never counted as a pass.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import datetime


class Severity(enum.IntEnum):
    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(s.label for s in cls)
            raise ValueError(f"unknown severity '{text}' (one of: {names})") from None


class Status(enum.Enum):
    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    UNKNOWN = "could not check"
    NOT_RUN = "not run"  # a check run on demand only (the policy simulator)


class FixKind(enum.Enum):
    AWS = "aws"  # keytui makes the calls listed, after a confirmation that shows them
    WORKFLOW = "workflow"  # one of keytui's guided workflows (rotate, enroll MFA, import into the keyring)
    GUIDE = "guide"  # only a person with other access can fix it (root, policies): what to do


@dataclass(frozen=True)
class Fix:
    kind: FixKind
    label: str  # "Deactivate key AKIA…WXYZ of bob"
    # What will be called, exactly as shown in the confirmation ("iam update-access-key --user-name bob …").
    calls: tuple[str, ...] = ()
    # For AWS fixes: the operation and its parameters, executed by audit.fixes.apply_fix.
    action: str | None = None
    params: tuple[tuple[str, object], ...] = ()
    # For workflows: "rotate", "enroll", "import"; the UI and CLI start it.
    workflow: str | None = None
    guide: str = ""

    def param(self, name: str) -> object:
        return dict(self.params).get(name)


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    severity: Severity  # the severity of a failure (a finding may raise it, e.g. a 2-year-old key)
    practice: str  # the best practice this check serves
    calls: tuple[str, ...]  # the AWS calls the check needs (read-only)
    remediation: str
    on_demand: bool = False


@dataclass(frozen=True)
class Finding:
    check_id: str
    resource: str  # "bob", "AKIA…WXYZ of bob", "sg-0123 (ssh)", "root"
    detail: str
    severity: Severity
    status: Status = Status.FAIL
    fix: Fix | None = None
    also: tuple[Fix, ...] = ()  # other ways to fix it (e.g. remove the console password instead of MFA)
    muted: str | None = None  # the mute's reason, when muted

    @property
    def fixes(self) -> tuple[Fix, ...]:
        return ((self.fix,) if self.fix else ()) + self.also

    def muted_by(self, reason: str) -> Finding:
        return replace(self, muted=reason)


@dataclass(frozen=True)
class CheckResult:
    check: Check
    status: Status
    findings: tuple[Finding, ...] = ()
    reason: str | None = None  # why it could not check, or what passing means here
    passed: tuple[str, ...] = ()  # resources that were checked and passed (shown, not scored)

    @property
    def open_findings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.muted is None and f.status in (Status.FAIL, Status.WARN))

    @property
    def effective_status(self) -> Status:
        """The status once muted findings are set aside."""
        if self.status in (Status.UNKNOWN, Status.NOT_RUN, Status.PASS):
            return self.status
        open_ = self.open_findings
        if not open_:
            return Status.PASS
        return Status.FAIL if any(f.status is Status.FAIL for f in open_) else Status.WARN


@dataclass(frozen=True)
class AuditReport:
    results: tuple[CheckResult, ...]
    generated: datetime
    account: str | None = None
    errors: tuple[str, ...] = field(default_factory=tuple)

    def result(self, check_id: str) -> CheckResult | None:
        return next((r for r in self.results if r.check.id == check_id), None)

    @property
    def open_findings(self) -> tuple[Finding, ...]:
        return tuple(f for r in self.results for f in r.open_findings)

    def counts(self) -> dict[Severity, int]:
        counts = {s: 0 for s in Severity}
        for finding in self.open_findings:
            counts[finding.severity] += 1
        return counts

    def at_or_above(self, severity: Severity) -> tuple[Finding, ...]:
        return tuple(f for f in self.open_findings if f.severity >= severity)

    @property
    def score(self) -> int:
        """0–100: the share of checks that passed, weighted by severity. A check that could not run counts
        as not passed (unknown is not fine); one not run on demand is left out."""
        weights = {Severity.INFO: 0, Severity.LOW: 1, Severity.MEDIUM: 3, Severity.HIGH: 6, Severity.CRITICAL: 10}
        total = passed = 0
        for result in self.results:
            status = result.effective_status
            if status is Status.NOT_RUN:
                continue
            weight = weights[result.check.severity]
            total += weight
            if status is Status.PASS:
                passed += weight
            elif status is Status.WARN:
                passed += weight / 2
        return round(100 * passed / total) if total else 100
