"""Muted findings: a check (and optionally one resource) set aside with a reason until a date. Stored
as non-secret JSON (0600) in keytui's state folder; an expired mute no longer applies."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime
from pathlib import Path

from keytui.core.audit.model import CheckResult
from keytui.core.awsfiles import files_lock, private_dir, write_atomic
from keytui.core.errors import KeytuiError
from keytui.core.masking import mask_key_id

ANY = "*"
_KEY_ID = re.compile(r"A[KS]IA[A-Z0-9]{12,124}")


@dataclass(frozen=True)
class Mute:
    check: str
    resource: str  # ANY: every finding of the check
    reason: str
    until: str  # ISO date, inclusive

    def active(self, today: date) -> bool:
        return date.fromisoformat(self.until) >= today

    def matches(self, check: str, resource: str) -> bool:
        """The whole check, the exact resource, or resources that start with it as a word: `sg-0abc` mutes
        `sg-0abc (legacy-ssh) tcp/22 from 0.0.0.0/0`; a full key id mutes its masked form `AKIA…WXYZ of bob`."""
        if self.check != check:
            return False
        if self.resource in (ANY, resource):
            return True
        wanted = mask_key_id(self.resource) if _KEY_ID.fullmatch(self.resource) else self.resource
        return resource == wanted or resource.startswith(wanted + " ")


class MuteStore:
    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> tuple[Mute, ...]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return ()
        except (OSError, ValueError) as exc:
            raise KeytuiError(f"Could not read the audit mutes in {self.path}: {exc}. Fix or delete the file.",
                              code="FileError") from None
        try:
            mutes = tuple(Mute(**entry) for entry in raw)
            for mute in mutes:  # a bad date would otherwise fail later, at every audit, with a traceback
                if not all(isinstance(value, str) for value in asdict(mute).values()):
                    raise TypeError(mute)
                date.fromisoformat(mute.until)
            return mutes
        except (TypeError, ValueError):
            raise KeytuiError(f"{self.path} is not a list of mutes; fix or delete it.", code="FileError") from None

    def _save(self, mutes: tuple[Mute, ...]) -> None:
        private_dir(self.path.parent)
        write_atomic(self.path, json.dumps([asdict(m) for m in mutes], indent=2) + "\n")

    def add(self, check: str, resource: str, reason: str, until: date) -> Mute:
        if not reason.strip():
            raise KeytuiError("A mute needs a reason (why is this finding acceptable for now?).", code="Usage")
        mute = Mute(check, resource or ANY, " ".join(reason.split()), until.isoformat())
        with files_lock("audit-mutes"):
            kept = tuple(m for m in self.load() if not (m.check == check and m.resource == mute.resource))
            self._save(kept + (mute,))
        return mute

    def remove(self, check: str, resource: str = ANY) -> int:
        with files_lock("audit-mutes"):
            mutes = self.load()
            kept = tuple(m for m in mutes if not (m.check == check and m.resource == (resource or ANY)))
            self._save(kept)
        return len(mutes) - len(kept)


def apply_mutes(results: tuple[CheckResult, ...], mutes: tuple[Mute, ...], now: datetime) -> tuple[CheckResult, ...]:
    today = now.date()
    live = [m for m in mutes if m.active(today)]
    if not live:
        return results
    out = []
    for result in results:
        findings = tuple(
            f.muted_by(f"{m.reason} (until {m.until})") if (m := next((m for m in live if m.matches(f.check_id, f.resource)),
                                                                   None)) else f
            for f in result.findings
        )
        out.append(replace(result, findings=findings))
    return tuple(out)
