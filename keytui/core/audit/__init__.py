"""The security audit: checks with metadata (registry + rules_*), the data they read (data, collect),
fixes (fixes), mutes (mutes) and the report formats (report)."""

from __future__ import annotations

from keytui.core.audit.collect import AuditCollector
from keytui.core.audit.data import AuditData
from keytui.core.audit.model import AuditReport
from keytui.core.audit.mutes import Mute, apply_mutes
from keytui.core.audit.registry import all_checks, evaluate
from keytui.core.settings import AuditSettings


def run_audit(data: AuditData, settings: AuditSettings, mutes: tuple[Mute, ...] = ()) -> AuditReport:
    """Evaluate every check on collected data and apply the mutes that are still in force."""
    results = apply_mutes(evaluate(data, settings), mutes, data.now)
    return AuditReport(results=results, generated=data.now, account=data.account)


__all__ = ["AuditCollector", "AuditData", "AuditReport", "all_checks", "run_audit"]
