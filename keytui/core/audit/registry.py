"""The checks, each a pure function of the collected data, registered with its metadata.

A rule returns its findings (and optionally what passed); `evaluate` turns that into a CheckResult and
turns a missing input (`Unavailable`) into "could not check: reason" — never a pass.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from keytui.core.audit.data import AuditData, Unavailable
from keytui.core.audit.model import Check, CheckResult, Finding, Status
from keytui.core.settings import AuditSettings


class CouldNotCheck(Exception):
    """Raised by a rule whose input is unavailable; the message is the reason shown to the user."""


@dataclass(frozen=True)
class Outcome:
    findings: tuple[Finding, ...] = ()
    passed: tuple[str, ...] = ()
    note: str | None = None


Rule = Callable[[AuditData, AuditSettings], Outcome]
_RULES: list[tuple[Check, Rule]] = []


def rule(check: Check) -> Callable[[Rule], Rule]:
    def register(fn: Rule) -> Rule:
        _RULES.append((check, fn))
        return fn

    return register


def need(value: object, what: str) -> object:
    """The value, or CouldNotCheck with the reason it is unavailable."""
    if isinstance(value, Unavailable):
        raise CouldNotCheck(f"{what}: {value.reason}")
    return value


def outcome(findings: Iterable[Finding] = (), passed: Iterable[str] = (), note: str | None = None) -> Outcome:
    return Outcome(tuple(findings), tuple(passed), note)


def all_checks() -> tuple[Check, ...]:
    _load()
    return tuple(check for check, _ in _RULES)


def evaluate(data: AuditData, settings: AuditSettings) -> tuple[CheckResult, ...]:
    _load()
    results = []
    for check, fn in _RULES:
        if check.on_demand and data.simulation is None:
            results.append(CheckResult(check, Status.NOT_RUN, reason="runs on demand (it calls the policy simulator "
                                                                      "once per user): `keytui audit --simulate`, or S in the app"))
            continue
        try:
            out = fn(data, settings)
        except CouldNotCheck as exc:
            results.append(CheckResult(check, Status.UNKNOWN, reason=str(exc)))
            continue
        failing = [f for f in out.findings if f.status in (Status.FAIL, Status.WARN)]
        if not failing:
            status = Status.PASS
        elif any(f.status is Status.FAIL for f in failing):
            status = Status.FAIL
        else:
            status = Status.WARN
        results.append(CheckResult(check, status, out.findings, reason=out.note, passed=out.passed))
    return tuple(results)


def _load() -> None:
    """Import the rule modules (they register themselves on first import), in the order the report lists."""
    from keytui.core.audit import rules_root, rules_credentials, rules_policies, rules_infra, rules_local  # noqa: F401

    order = ("root-", "console-mfa", "key-age", "unused", "one-key", "never-used", "password-policy", "admin-users",
             "via-groups", "simulator", "ec2-roles", "admin-ports", "cloudtrail", "local-plaintext")
    _RULES.sort(key=lambda item: next(i for i, prefix in enumerate(order) if item[0].id.startswith(prefix)))
