#!/usr/bin/env python
"""Regenerate the README screenshots, screenshots/*.svg, from the embedded demo account.

    python scripts/export_screenshots.py                 # writes screenshots/{main,overdue,help,audit}.svg
    python scripts/export_screenshots.py --png /tmp/png  # also renders PNGs there (rsvg-convert), to look at

The output is deterministic, so a re-run without a UI change leaves git clean: the demo's ages are seeded
from a fixed instant and the app's clock is frozen at it, key ids are derived from user names, local time is
UTC, the user's own keytui settings and AWS_* variables are ignored, the load is awaited (never slept on)
before each screenshot, and the input cursor does not blink. A screenshot that shows a full access key id
or one of the demo's secrets is refused, not written.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=timezone.utc)  # the same instant as the tests' snapshots
SIZE = (120, 36)
FULL_KEY_ID = re.compile(r"AKIA[A-Z0-9]{16}")
SECRET_LIKE = re.compile(r"[A-Za-z0-9/+]{40}")


def _isolate() -> None:
    """Nothing from the developer's environment may show in (or change) a screenshot."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "KEYTUI_")):
            del os.environ[name]
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    os.environ["TZ"] = "UTC"
    time.tzset()


@dataclass(frozen=True)
class Shot:
    name: str
    description: str
    steps: Callable[..., Awaitable[None]]


async def _main_screen(pilot) -> None:  # type: ignore[no-untyped-def]
    pass


async def _overdue_user(pilot) -> None:  # type: ignore[no-untyped-def]
    from keytui.ui.widgets.users_table import UsersTable

    # mallory: a 400-day-old key, last used 60 days ago from another region, console without MFA.
    table = pilot.app.screen.query_one(UsersTable)
    names = [row.key.value for row in table.ordered_rows]
    table.move_cursor(row=names.index("mallory"), animate=False)
    await pilot.pause()


async def _help(pilot) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("question_mark")


async def _audit(pilot) -> None:  # type: ignore[no-untyped-def]
    from keytui.demo_audit import stable_report
    from keytui.ui.screens.audit import AuditScreen
    from keytui.ui.widgets.audit_tree import AuditTree

    # The demo's audit, run once, with moto's random security group/instance ids and the demo's temp folder
    # replaced by fixed values (stable_report), so that a re-run leaves the SVG unchanged.
    services = pilot.app.services
    report = stable_report(services.run_audit())
    services.run_audit = lambda **_: report
    await pilot.press("a")
    deadline = time.monotonic() + 60
    while not (isinstance(pilot.app.screen, AuditScreen) and pilot.app.screen.report is not None
               and not pilot.app.screen.collecting):
        if time.monotonic() > deadline:
            raise SystemExit("export_screenshots: the audit screen did not show its report within 60 s")
        await pilot.pause(0.05)
    # The world-open SSH rule: its finding shows an AWS fix with the exact call keytui would make.
    ssh = next(f for f in report.result("admin-ports").findings if "legacy-ssh" in f.resource)
    pilot.app.screen.query_one(AuditTree).select_row(("admin-ports", ssh.resource))
    await pilot.pause()


SHOTS = (
    Shot("main", "the main screen on the demo account", _main_screen),
    Shot("overdue", "a user with an overdue key selected", _overdue_user),
    Shot("help", "the help modal", _help),
    Shot("audit", "the security audit, a world-open SSH rule selected", _audit),
)


async def _wait_loaded(pilot, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    """Until the main screen shows a complete inventory and no worker runs."""
    from keytui.ui.screens.main import MainScreen

    app = pilot.app
    deadline = time.monotonic() + timeout
    while True:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.wait_for_scheduled_animations()
        await pilot.pause()
        screen = app.screen
        busy = any(not worker.is_finished for worker in app.workers)
        if not busy and isinstance(screen, MainScreen) and screen.inventory is not None and screen.inventory.complete:
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"export_screenshots: the demo account did not load within {timeout:.0f} s")
        await pilot.pause(0.05)


def _freeze_cursor_blink(app) -> None:  # type: ignore[no-untyped-def]
    from textual.widgets import Input

    for screen in app.screen_stack:
        for box in screen.query(Input):
            box.cursor_blink = False


async def _shoot(demo, shot: Shot) -> str:  # type: ignore[no-untyped-def]
    from keytui.core.clock import FixedClock
    from keytui.core.settings import Settings
    from keytui.services import build_services
    from keytui.ui.app import KeytuiApp

    def services(profile: str | None):  # type: ignore[no-untyped-def]
        # Settings() rather than the user's settings file: their thresholds or keymap must not show.
        return build_services(
            demo.target(profile), Settings(), clock=FixedClock(NOW), demo=True, tolerate_errors=True,
            keyring_backend=demo.keyring,
        )

    app = KeytuiApp(services("demo"), services)
    async with app.run_test(size=SIZE) as pilot:
        await _wait_loaded(pilot)
        await shot.steps(pilot)
        await pilot.wait_for_scheduled_animations()
        await pilot.pause()
        _freeze_cursor_blink(app)
        return app.export_screenshot()


def _demo_secrets(demo) -> list[str]:  # type: ignore[no-untyped-def]
    import configparser

    from keytui.vault.store import Vault

    secrets = []
    parser = configparser.ConfigParser()
    parser.read(demo.credentials_file)
    secrets += [parser[section]["aws_secret_access_key"] for section in parser.sections()]
    key = Vault(demo.keyring).get_key("demo")
    if key is not None:
        secrets.append(key.secret.reveal())
    return secrets


def _check(name: str, svg: str, secrets: list[str]) -> None:
    problems = []
    if FULL_KEY_ID.search(svg):
        problems.append("a full access key id")
    if SECRET_LIKE.search(svg):
        problems.append("a 40-character secret-like string")
    if any(secret in svg for secret in secrets):
        problems.append("a demo secret")
    if problems:
        raise SystemExit(f"export_screenshots: {name}.svg would show {' and '.join(problems)}; not written")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots", help="folder for the SVGs (default: screenshots/)")
    parser.add_argument("--png", type=Path, help="also render each SVG to a PNG in this folder (needs rsvg-convert)")
    args = parser.parse_args(argv)

    _isolate()
    sys.path.insert(0, str(ROOT))
    import moto.iam.models

    from keytui.demo import DemoAccount

    # moto stamps a key's last use with the real time when keytui signs a request with it (the demo
    # profile's key): pin that to NOW too, or "today" would depend on the machine's clock.
    moto.iam.models.utcnow = lambda: NOW.replace(tzinfo=None)  # type: ignore[assignment]

    args.out.mkdir(parents=True, exist_ok=True)
    rsvg = shutil.which("rsvg-convert") if args.png else None
    if args.png and rsvg is None:
        raise SystemExit("export_screenshots: --png needs rsvg-convert (librsvg2-bin)")
    with DemoAccount(now=NOW) as demo:
        secrets = _demo_secrets(demo)
        for shot in SHOTS:
            svg = asyncio.run(_shoot(demo, shot))
            _check(shot.name, svg, secrets)
            path = args.out / f"{shot.name}.svg"
            # LF line endings on every platform (and .gitattributes keeps them so in git).
            path.write_text(svg, encoding="utf-8", newline="\n")
            print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {shot.description}")
            if rsvg and args.png:
                args.png.mkdir(parents=True, exist_ok=True)
                png = args.png / f"{shot.name}.png"
                subprocess.run([rsvg, str(path), "-o", str(png)], check=True)
                print(f"  {png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
