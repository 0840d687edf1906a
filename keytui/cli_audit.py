"""`keytui audit`: the account and this machine against the best practices, for cron and CI pipelines.

Exit 0 when nothing at or above `--fail-on` is open, 1 otherwise (a check at or above it that could not
run counts too: unknown is not a pass), 2 for usage errors.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import timedelta
from typing import TYPE_CHECKING, TextIO

from keytui.core.errors import KeytuiError

if TYPE_CHECKING:
    from keytui.services import Services

SEVERITIES = ("critical", "high", "medium", "low")


def add_parser(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    audit = commands.add_parser("audit", parents=[common], help="the account and this machine against the best practices")
    audit.add_argument("--json", action="store_true", help="stable JSON (schema keytui.audit/1); same as --format json")
    audit.add_argument("--format", choices=("text", "md", "json"), default=None, help="output format (default text)")
    audit.add_argument("--fail-on", metavar="SEVERITY", choices=SEVERITIES,
                       help="exit 1 if a finding at or above this severity is open (critical, high, medium, low)")
    audit.add_argument("--simulate", action="store_true",
                       help="also run the policy simulator on destructive actions (one call per user)")
    mutes = audit.add_mutually_exclusive_group()
    mutes.add_argument("--mute", metavar="CHECK[:RESOURCE]",
                       help="mute a check's findings, or those whose resource starts with RESOURCE (needs --reason)")
    mutes.add_argument("--unmute", metavar="CHECK[:RESOURCE]", help="remove a mute")
    audit.add_argument("--reason", help="why the muted finding is acceptable for now")
    audit.add_argument("--days", type=int, default=30, help="how long a mute lasts (default 30 days)")


def audit_command(args: argparse.Namespace, services: Services, out: TextIO) -> int:
    from keytui.core.audit import all_checks
    from keytui.core.audit.model import Severity, Status
    from keytui.core.audit.report import summary_line, to_json, to_markdown, to_text

    known = {c.id for c in all_checks()}
    if args.mute or args.unmute:
        return _mutes(args, services, known, out)
    # Credentials AWS rejects, or an endpoint that cannot be reached, would turn every check into "could not
    # check" and the run into a report of unknowns that exits 0: fail once, clearly, instead.
    services.identity()
    report = services.run_audit(simulate=args.simulate)
    fmt = "json" if args.json else (args.format or "text")
    if fmt == "json":
        json.dump(to_json(report), out, indent=2)
        out.write("\n")
    else:
        out.write(to_markdown(report) if fmt == "md" else to_text(report))
    if not args.fail_on:
        return 0
    threshold = Severity.parse(args.fail_on)
    failing = report.at_or_above(threshold)
    unknown = [r.check.id for r in report.results
               if r.effective_status is Status.UNKNOWN and r.check.severity >= threshold]
    if failing or unknown:
        parts = []
        if failing:
            parts.append(f"{len(failing)} open finding{'s' if len(failing) != 1 else ''} at or above {threshold.label}")
        if unknown:
            parts.append(f"{len(unknown)} check{'s' if len(unknown) != 1 else ''} at or above {threshold.label} could "
                         f"not run ({', '.join(unknown)})")
        print(f"keytui: audit failed: {' and '.join(parts)} ({summary_line(report)}).", file=sys.stderr)
        return 1
    return 0


def _mutes(args: argparse.Namespace, services: Services, known: set[str], out: TextIO) -> int:
    spec = args.mute or args.unmute
    check, _, resource = spec.partition(":")
    if check not in known:
        raise KeytuiError(f"Unknown check '{check}'. Checks: {', '.join(sorted(known))}.", code="Usage")
    store = services.mute_store()
    if args.unmute:
        removed = store.remove(check, resource or "*")
        print(f"Removed {removed} mute{'s' if removed != 1 else ''} for {spec}.", file=out)
        return 0 if removed else 1
    if not args.reason:
        raise KeytuiError("--mute needs --reason: say why this finding is acceptable for now.", code="Usage")
    if not 1 <= args.days <= 365:
        raise KeytuiError("--days must be between 1 and 365: a mute should be looked at again.", code="Usage")
    mute = store.add(check, resource or "*", args.reason, (services.clock.now() + timedelta(days=args.days)).date())
    what = f"{check} for {mute.resource}" if mute.resource != "*" else f"every finding of {check}"
    print(f"Muted {what} until {mute.until}: {mute.reason}", file=out)
    return 0
