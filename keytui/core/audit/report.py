"""The audit as stable JSON (schema keytui.audit/1), as Markdown for a ticket or a wiki, and as text."""

from __future__ import annotations

from datetime import timezone
from typing import Any

from keytui.core.audit.model import AuditReport, CheckResult, Finding, Severity, Status

SCHEMA = "keytui.audit/1"
_MARK = {Status.PASS: "✓", Status.FAIL: "✗", Status.WARN: "!", Status.UNKNOWN: "?", Status.NOT_RUN: "-"}


def _utc(report: AuditReport) -> str:
    return report.generated.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _finding_json(f: Finding) -> dict[str, Any]:
    return {
        "resource": f.resource, "severity": f.severity.label, "status": f.status.value, "detail": f.detail,
        "muted": f.muted,
        "fixes": [{"kind": x.kind.value, "label": x.label, "calls": list(x.calls), "guide": x.guide or None}
                  for x in f.fixes],
    }


def to_json(report: AuditReport) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "generated": _utc(report),
        "account": report.account,
        "score": report.score,
        "counts": {s.label: n for s, n in sorted(report.counts().items(), reverse=True)},
        "checks": [
            {
                "id": r.check.id, "title": r.check.title, "severity": r.check.severity.label,
                "practice": r.check.practice, "calls": list(r.check.calls), "remediation": r.check.remediation,
                "status": r.effective_status.value, "reason": r.reason,
                "findings": [_finding_json(f) for f in r.findings],
                "passed": list(r.passed),
            }
            for r in report.results
        ],
    }


def status_line(result: CheckResult) -> str:
    status = result.effective_status
    if status is Status.UNKNOWN:
        return f"could not check: {result.reason}"
    if status is Status.NOT_RUN:
        return f"not run: {result.reason}"
    open_ = len(result.open_findings)
    muted = sum(1 for f in result.findings if f.muted)
    text = "pass" if status is Status.PASS else f"{status.value}: {open_} finding{'s' if open_ != 1 else ''}"
    return text + (f" ({muted} muted)" if muted else "")


def summary_line(report: AuditReport) -> str:
    counts = report.counts()
    parts = [f"{counts[s]} {s.label}" for s in sorted(Severity, reverse=True) if s is not Severity.INFO]
    unknown = sum(1 for r in report.results if r.effective_status is Status.UNKNOWN)
    tail = f"; {unknown} check{'s' if unknown != 1 else ''} could not run" if unknown else ""
    return f"score {report.score}/100 — {', '.join(parts)}{tail}"


def to_text(report: AuditReport) -> str:
    lines = [f"keytui audit of account {report.account or '?'} at {_utc(report)}", summary_line(report), ""]
    for r in report.results:
        lines.append(f"{_MARK[r.effective_status]} {r.check.id:<16} {r.check.title} — {status_line(r)}")
        for f in r.findings:
            muted = f"  [muted: {f.muted}]" if f.muted else ""
            lines.append(f"    {f.severity.label:<8} {f.detail}{muted}")
            if f.fix and not f.muted:
                lines.append(f"             fix: {f.fix.label}" + (f" ({'; '.join(f.fix.calls)})" if f.fix.calls else ""))
    return "\n".join(lines) + "\n"


def to_markdown(report: AuditReport) -> str:
    lines = [
        f"# keytui audit — account {report.account or '?'}", "",
        f"Generated {_utc(report)}. {summary_line(report)}.", "",
        "| check | severity | result |", "|---|---|---|",
    ]
    for r in report.results:
        lines.append(f"| `{r.check.id}` {r.check.title} | {r.check.severity.label} | {_md(status_line(r))} |")
    for r in report.results:
        if not r.findings:
            continue
        lines += ["", f"## {r.check.id}: {r.check.title}", "", f"Practice: {r.check.practice}. "
                  f"Remediation: {r.check.remediation}", ""]
        for f in r.findings:
            muted = f" *(muted: {_md(f.muted)})*" if f.muted else ""
            fix = f" Fix: {_md(f.fix.label)}" + (f" (`{'`; `'.join(f.fix.calls)}`)" if f.fix and f.fix.calls else "") \
                if f.fix else ""
            lines.append(f"- **{f.severity.label}** {_md(f.detail)}{muted}{fix}")
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|")
