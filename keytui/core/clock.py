"""Time as a dependency: every age and expiry is computed from an injected clock, never from datetime.now."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""

    def sleep(self, seconds: float) -> None:
        """Wait; a fake clock advances instead."""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


@dataclass
class FixedClock:
    """A clock for tests and the demo: frozen at `at`, advanced explicitly (or by sleep)."""

    at: datetime = field(default_factory=lambda: datetime(2026, 12, 3, 12, 0, tzinfo=timezone.utc))

    def now(self) -> datetime:
        return self.at

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        self.at = self.at + timedelta(seconds=seconds)


def days_between(earlier: datetime, later: datetime) -> int:
    """Whole days elapsed, never negative (a clock skew must not show '-1 days')."""
    return max(0, (later - earlier).days)
