"""Benchmark: keytui's inventory against a naive sequential loop, on a 1,000-user account with latency.

    .venv/bin/python benchmarks/inventory.py [--users 1000] [--runs 3] [--delay 0.020] [--no-record]

Set-up (everything on 127.0.0.1, each server in its own process so that its CPU does not share the
benchmark's GIL):

    benchmark ──► latency proxy (+20 ms per request, counts calls) ──► moto server seeded with N users
                  benchmarks/latency_proxy.py                          benchmarks/moto_server.py
                                                                       (= python -m keytui.demo --users N)

Two such pairs run side by side, on identical accounts: one with moto's own credential report, one with
an AWS-like report (moto leaves the last-used service and region columns "not_supported", which costs
keytui one GetAccessKeyLastUsed per used key that real AWS would not need; see moto_server.py).

Measured, in turn, `--runs` times each:
  keytui  build_services(AwsTarget(endpoint_url=proxy, static keys from a temp credentials file), Settings())
          then services.load_inventory() until every user's keys and last use are known; "table rows
          available" is when the first progress callback delivers the full user list (when the TUI can
          show the table). Once against each account.
  naive   one plain boto3 IAM client, sequential: list users, then per user list keys, then per key
          get_access_key_last_used (what a shell script over the AWS CLI does, minus its process starts).
Both include building the client. The answers are checked against each other and the seeded account. The
CPU time each process spent is read from /proc, to show where the time goes.

Then the TUI (keytui/ui/app.py, if it exists): time from constructing the App to the users DataTable
(#users) having rows, headless (App.run_test), on the demo account and on the 1,000-user account, next to a
minimal Textual App with one Static.

Prints a table (median, min, calls, ratio) and appends a dated section to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import configparser
import json
import os
import platform
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
TARGET_RATIO = 10.0
TARGET_TABLE_S = 3.0


# -- the two servers ----------------------------------------------------------------------------------


def _spawn(cmd: list[str], timeout: float = 60.0) -> tuple[subprocess.Popen[str], dict]:
    """Start a server process that prints one JSON line when ready; return it and that line."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            line = proc.stdout.readline()
            if not line:
                break
            if line.startswith("{"):
                return proc, json.loads(line)
        if proc.poll() is not None:
            break
    _stop(proc)
    raise SystemExit(f"benchmark: {' '.join(cmd)} did not start (exit {proc.poll()})")


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _proxy(url: str, what: str) -> dict:
    method = "POST" if what == "reset" else "GET"
    with urllib.request.urlopen(urllib.request.Request(f"{url}/__proxy__/{what}", method=method, data=b"" if method == "POST" else None), timeout=10) as answer:
        return json.loads(answer.read())


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds used by each of some processes (this one included) between start() and stop()."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = {"benchmark": os.getpid(), **pids}
        self._start: dict[str, float] = {}

    def start(self) -> None:
        self._start = {name: _cpu_seconds(pid) for name, pid in self.pids.items()}

    def stop(self) -> dict[str, float]:
        return {name: _cpu_seconds(pid) - self._start[name] for name, pid in self.pids.items()}


# The benchmark signs with a static key of its own, from a temp credentials file (the demo's own profile
# is keyring-held in the server's process). moto checks no signature, and a key id it does not know leaves
# every seeded key's last use untouched.
BENCH_KEY_ID = "AKIAKEYTUIBENCHMARK0"


def _static_login(folder: str) -> dict[str, str]:
    config, credentials = os.path.join(folder, "config"), os.path.join(folder, "credentials")
    for path, text in ((config, "[profile bench]\nregion = us-east-1\n"),
                       (credentials, f"[bench]\naws_access_key_id = {BENCH_KEY_ID}\naws_secret_access_key = not-a-secret\n")):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
    return {"profile": "bench", "config_file": config, "credentials_file": credentials}


# -- one run of each side -----------------------------------------------------------------------------


@dataclass
class Run:
    wall: float
    calls: int
    by_action: dict[str, int]
    table_rows: float | None = None
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds per process during the run
    answer: dict[str, list[tuple[str, str, str | None]]] = field(default_factory=dict, repr=False)


def _day(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def run_keytui(proxy_url: str, login: dict, expected_users: int, meter: CpuMeter) -> Run:
    from keytui.core.aws import AwsTarget
    from keytui.core.settings import Settings
    from keytui.services import build_services
    from keytui.vault.memory import MemoryKeyring

    _proxy(proxy_url, "reset")
    first_rows: list[float] = []
    meter.start()
    start = time.perf_counter()

    def on_progress(progress) -> None:  # noqa: ANN001 - InventoryProgress
        if not first_rows and len(progress.inventory.users) >= expected_users:
            first_rows.append(time.perf_counter() - start)

    target = AwsTarget(
        profile=login["profile"],
        region="us-east-1",
        endpoint_url=proxy_url,
        config_file=login["config_file"],
        credentials_file=login["credentials_file"],
    )
    # An in-memory keyring: the benchmark's profile is a plain one, and the OS keyring stays untouched.
    services = build_services(target, Settings(), keyring_backend=MemoryKeyring())
    inventory = services.load_inventory(on_progress=on_progress)
    wall = time.perf_counter() - start
    cpu = meter.stop()
    stats = _proxy(proxy_url, "stats")

    problems = []
    if not inventory.complete:
        problems.append("inventory not complete")
    unknown = [u.name for u in inventory.users if u.keys is None or not u.keys_complete]
    if unknown:
        problems.append(f"{len(unknown)} users with unknown keys, e.g. {unknown[:3]}")
    no_last_use = [k.key_id for u in inventory.users for k in u.keys or () if k.last_used is None]
    if no_last_use:
        problems.append(f"{len(no_last_use)} keys without a known last use")
    if problems:
        raise SystemExit("benchmark: keytui's inventory is wrong: " + "; ".join(problems))
    answer = {
        u.name: sorted((k.key_id or "", k.status, _day(k.last_used.date if k.last_used else None)) for k in u.keys or ())
        for u in inventory.users
    }
    return Run(wall, stats["total"], stats["by_action"], first_rows[0] if first_rows else None, cpu, answer)


def run_naive(proxy_url: str, login: dict, meter: CpuMeter) -> Run:
    import boto3

    creds = configparser.ConfigParser()
    creds.read(login["credentials_file"])
    profile = creds[login["profile"]]

    _proxy(proxy_url, "reset")
    meter.start()
    start = time.perf_counter()
    iam = boto3.session.Session().client(
        "iam",
        region_name="us-east-1",
        endpoint_url=proxy_url,
        aws_access_key_id=profile["aws_access_key_id"],
        aws_secret_access_key=profile["aws_secret_access_key"],
    )
    answer: dict[str, list[tuple[str, str, str | None]]] = {}
    for page in iam.get_paginator("list_users").paginate():
        for user in page["Users"]:
            keys = []
            for key_page in iam.get_paginator("list_access_keys").paginate(UserName=user["UserName"]):
                for key in key_page["AccessKeyMetadata"]:
                    used = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])["AccessKeyLastUsed"]
                    keys.append((key["AccessKeyId"], key["Status"], _day(used.get("LastUsedDate"))))
            answer[user["UserName"]] = sorted(keys)
    wall = time.perf_counter() - start
    cpu = meter.stop()
    stats = _proxy(proxy_url, "stats")
    return Run(wall, stats["total"], stats["by_action"], None, cpu, answer)


def _normalised(run: Run, caller_key: str, by_day: bool) -> dict[str, list[tuple[str, ...]]]:
    """The key that signs the benchmark's own requests is left out of the last-use comparison (moto marks
    it used on every request, were it a seeded key). `by_day`: compare statuses and last-use days only
    (another account with the same seed has the same users, but its dates were computed a moment later)."""
    result = {}
    for name, rows in run.answer.items():
        if by_day:
            result[name] = sorted((status, "(caller)" if kid == caller_key else (used or "")[:10]) for kid, status, used in rows)
        else:
            result[name] = sorted((kid, status, "(caller)" if kid == caller_key else used or "") for kid, status, used in rows)
    return result


def check_same(keytui: Run, naive: Run, users: int, keys: int, caller_key: str, *, by_day: bool = False) -> None:
    """Both found the same keys, statuses and last uses, and the seeded number of each."""
    found_keys = sum(map(len, keytui.answer.values()))
    if len(keytui.answer) != users or found_keys != keys:
        raise SystemExit(f"benchmark: keytui saw {len(keytui.answer)} users / {found_keys} keys, seeded {users} / {keys}")
    mine, theirs = _normalised(keytui, caller_key, by_day), _normalised(naive, caller_key, by_day)
    if mine != theirs:
        differ = [name for name in mine if mine[name] != theirs.get(name)]
        raise SystemExit(f"benchmark: keytui and the naive loop disagree on {len(differ)} users, e.g. {differ[:3]}: "
                         f"{mine[differ[0]]} vs {theirs.get(differ[0])}")


# -- the TUI ------------------------------------------------------------------------------------------


def _app_class(module: object) -> type | None:
    from textual.app import App

    for name in ("KeytuiApp", "KeyTuiApp", "KeytuiTUI"):
        cls = getattr(module, name, None)
        if isinstance(cls, type) and issubclass(cls, App):
            return cls
    for value in vars(module).values():
        if isinstance(value, type) and issubclass(value, App) and value is not App and value.__module__ == module.__name__:  # type: ignore[attr-defined]
            return value
    return None


async def _time_to_rows(make_app: Callable[[], object], want_rows: int, timeout: float = 120.0) -> tuple[float, float, float | None]:
    """Seconds from constructing the app to: the #users table's first rows; all `want_rows` rows; and the
    screen showing a complete inventory (its `inventory.complete`; None if the screen has no such field)."""
    from textual.css.query import NoMatches
    from textual.widgets import DataTable

    start = time.perf_counter()
    app = make_app()
    first = full = None
    async with app.run_test(size=(160, 50)):  # type: ignore[attr-defined]
        while time.perf_counter() - start < timeout:
            try:
                table = app.screen.query_one("#users", DataTable)  # type: ignore[attr-defined]
            except NoMatches:
                table = None
            rows = table.row_count if table is not None else 0
            now = time.perf_counter() - start
            if rows and first is None:
                first = now
            if rows >= want_rows and full is None:
                full = now
            if full is not None:
                if not hasattr(app.screen, "inventory"):  # type: ignore[attr-defined]
                    return first or 0.0, full, None
                inventory = app.screen.inventory  # type: ignore[attr-defined]
                if inventory is not None and getattr(inventory, "complete", False):
                    return first or 0.0, full, now
            await asyncio.sleep(0.005)
    raise TimeoutError(f"the users table did not reach {want_rows} rows and a complete inventory in {timeout:.0f} s "
                       f"(first rows: {first}, all rows: {full})")


async def _time_minimal() -> float:
    from textual.app import App, ComposeResult
    from textual.widgets import Static

    class Minimal(App):
        def compose(self) -> ComposeResult:
            yield Static("hello")

    start = time.perf_counter()
    async with Minimal().run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        return time.perf_counter() - start


def measure_tui(runs: int, proxy_url: str, login: dict, users: int) -> dict[str, list[float]] | str:
    """{label: [seconds per run]} or, when the app is not there yet, the reason it was skipped."""
    try:
        from keytui.ui import app as ui_app
    except ImportError as exc:
        return f"skipped: keytui.ui.app cannot be imported yet ({exc})"
    app_cls = _app_class(ui_app)
    if app_cls is None:
        return "skipped: keytui/ui/app.py defines no Textual App subclass yet"

    from keytui.core.aws import AwsTarget
    from keytui.core.settings import Settings
    from keytui.demo import DEMO_PROFILE, DemoAccount
    from keytui.services import build_services
    from keytui.vault.memory import MemoryKeyring

    results: dict[str, list[float]] = {}

    def add(label: str, value: float) -> None:
        results.setdefault(label, []).append(value)

    asyncio.run(_time_minimal())  # warm Textual's own imports and caches once, for both sides
    with DemoAccount() as demo:  # in-process moto, as `keytui --demo` runs it
        demo_users = len(demo.users)

        def demo_app() -> object:  # as keytui/cli.py builds it for `keytui --demo`
            def factory(profile: str | None) -> object:
                return build_services(demo.target(profile), Settings(), demo=True, tolerate_errors=True,
                                      keyring_backend=demo.keyring)
            return app_cls(factory(DEMO_PROFILE), factory)

        def bulk_app() -> object:
            def factory(profile: str | None) -> object:
                target = AwsTarget(profile=profile or login["profile"], region="us-east-1", endpoint_url=proxy_url,
                                   config_file=login["config_file"], credentials_file=login["credentials_file"])
                return build_services(target, Settings(), tolerate_errors=True, keyring_backend=MemoryKeyring())
            return app_cls(factory(None), factory)

        try:
            for index in range(runs):
                add("minimal Textual App (one Static): start-up", asyncio.run(_time_minimal()))
                first, full, complete = asyncio.run(_time_to_rows(demo_app, demo_users))
                add(f"keytui, demo account ({demo_users} users): first rows", first)
                if complete is not None:
                    add(f"keytui, demo account ({demo_users} users): inventory complete on screen", complete)
                if index == 0:  # once: it takes as long as the whole inventory
                    first, full, complete = asyncio.run(_time_to_rows(bulk_app, users))
                    add(f"keytui, {users:,} users +20 ms, AWS-like report: first rows (1 run)", first)
                    add(f"keytui, {users:,} users +20 ms, AWS-like report: all {users:,} rows (1 run)", full)
                    if complete is not None:
                        add(f"keytui, {users:,} users +20 ms, AWS-like report: inventory complete on screen (1 run)", complete)
        except Exception as exc:  # noqa: BLE001 - the UI is being written; report, don't crash the benchmark
            return f"skipped: the TUI measurement failed: {type(exc).__name__}: {exc}"
    return results


# -- report -------------------------------------------------------------------------------------------


def _fmt(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds:.2f} s"


@dataclass
class Side:
    label: str
    runs: list[Run] = field(default_factory=list)

    def median(self) -> float:
        return statistics.median(r.wall for r in self.runs)

    def table_median(self) -> float | None:
        values = [r.table_rows for r in self.runs if r.table_rows is not None]
        return statistics.median(values) if values else None

    def cpu_per_call_ms(self, process: str) -> float:
        return statistics.median(1000 * r.cpu[process] / r.calls for r in self.runs)


def _start_account(users: int, delay: float, aws_like: bool) -> tuple[list[subprocess.Popen[str]], dict, str]:
    cmd = [sys.executable, str(HERE / "moto_server.py"), "--users", str(users)] + (["--aws-like-report"] if aws_like else [])
    moto, account = _spawn(cmd)
    try:
        proxy, info = _spawn([sys.executable, str(HERE / "latency_proxy.py"), "--upstream", account["endpoint_url"], "--delay", str(delay)])
    except BaseException:
        _stop(moto)
        raise
    return [proxy, moto], account, info["endpoint_url"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--delay", type=float, default=0.020, help="latency added per request, seconds")
    parser.add_argument("--no-record", action="store_true", help="do not append to benchmarks/RESULTS.md")
    parser.add_argument("--no-tui", action="store_true", help="skip the TUI measurement")
    args = parser.parse_args(argv)

    # Nothing here may read the developer's ~/.aws or settings, or ask an instance-metadata service.
    scratch = tempfile.mkdtemp(prefix="keytui-bench-")
    os.environ.update(
        AWS_CONFIG_FILE=os.path.join(scratch, "none"), AWS_SHARED_CREDENTIALS_FILE=os.path.join(scratch, "none"),
        AWS_EC2_METADATA_DISABLED="true", KEYTUI_CONFIG=os.path.join(scratch, "none.toml"),
    )
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        os.environ.pop(name, None)

    from keytui.demo import bulk_users

    seeded_keys = sum(len(u.keys) for u in bulk_users(args.users))
    started = time.perf_counter()
    children: list[subprocess.Popen[str]] = []
    naive = Side("naive sequential loop (boto3)")
    moto_side = Side("keytui, moto's report")
    aws_side = Side("keytui, AWS-like report")
    try:
        procs, _, proxy_url = _start_account(args.users, args.delay, aws_like=False)
        children += procs
        procs, _, aws_proxy_url = _start_account(args.users, args.delay, aws_like=True)
        children += procs
        login = _static_login(scratch)
        caller_key = BENCH_KEY_ID
        meter = CpuMeter({"moto": children[1].pid, "proxy": children[0].pid})
        aws_meter = CpuMeter({"moto": children[3].pid, "proxy": children[2].pid})
        print(f"{args.users:,} users, {seeded_keys:,} keys; +{args.delay * 1000:.0f} ms per request; "
              f"proxies {proxy_url} (moto's report), {aws_proxy_url} (AWS-like report)", flush=True)

        for index in range(args.runs):
            for side, url, m in ((moto_side, proxy_url, meter), (aws_side, aws_proxy_url, aws_meter)):
                side.runs.append(run_keytui(url, login, args.users, m))
                r = side.runs[-1]
                print(f"run {index + 1}: {side.label:<24} {r.wall:6.2f} s, {r.calls} calls, table rows at {_fmt(r.table_rows)}", flush=True)
            naive.runs.append(run_naive(proxy_url, login, meter))
            r = naive.runs[-1]
            print(f"run {index + 1}: {naive.label:<24} {r.wall:6.2f} s, {r.calls} calls", flush=True)
            check_same(moto_side.runs[-1], r, args.users, seeded_keys, caller_key)
            check_same(aws_side.runs[-1], r, args.users, seeded_keys, caller_key, by_day=True)
        tui = "skipped: --no-tui" if args.no_tui else measure_tui(args.runs, aws_proxy_url, login, args.users)
    finally:
        for child in children:
            _stop(child)
        shutil.rmtree(scratch, ignore_errors=True)
    total = time.perf_counter() - started

    n_med = naive.median()
    header = f"| {'measurement (' + format(args.users, ',') + ' users)':<46} | {'median':>8} | {'min':>8} | {'calls':>5} | {'vs naive':>8} |"
    lines = [header, "|" + "|".join("-" * len(part) for part in header.split("|")[1:-1]) + "|"]

    def row(label: str, med: float, low: float, calls: int | None, rel: str) -> None:
        lines.append(f"| {label:<46} | {_fmt(med):>8} | {_fmt(low):>8} | {'' if calls is None else calls:>5} | {rel:>8} |")

    row(naive.label, n_med, min(r.wall for r in naive.runs), naive.runs[-1].calls, "1.0x")
    for side in (moto_side, aws_side):
        med = side.median()
        row(f"{side.label}: inventory complete", med, min(r.wall for r in side.runs), side.runs[-1].calls, f"{n_med / med:.1f}x")
        t_med = side.table_median()
        if t_med is not None:
            row(f"{side.label}: table rows available", t_med, min(r.table_rows or 0 for r in side.runs), None, f"{n_med / t_med:.0f}x")
    table = "\n".join(lines)

    summary = []
    for side in (moto_side, aws_side):
        ratio = n_med / side.median()
        ratios = [n.wall / k.wall for k in side.runs for n in naive.runs]
        t_med = side.table_median() or float("inf")
        summary.append(
            f"{side.label}: >= {TARGET_RATIO:.0f}x target {'met' if ratio >= TARGET_RATIO else 'MISSED'} "
            f"({ratio:.1f}x median, {min(ratios):.1f}x–{max(ratios):.1f}x over all run pairs); table within "
            f"{TARGET_TABLE_S:.0f} s {'met' if t_med <= TARGET_TABLE_S else 'MISSED'} ({_fmt(t_med)})."
        )
    cpu = ["CPU per API call, median over runs (ms; read from /proc):"]
    for side in (naive, moto_side, aws_side):
        cpu.append(f"  {side.label:<30} " + ", ".join(f"{proc} {side.cpu_per_call_ms(proc):.1f}" for proc in ("benchmark", "moto", "proxy")))
    calls = ["API calls per run (counted at the proxy):"]
    for side in (naive, moto_side, aws_side):
        last = side.runs[-1]
        calls.append(f"  {side.label:<30} {last.calls:>5} = " + ", ".join(f"{a} {c}" for a, c in last.by_action.items()))
    per_run = ["Per run (s): " + "; ".join(f"{side.label} " + ", ".join(f"{r.wall:.2f}" for r in side.runs)
                                         for side in (naive, moto_side, aws_side))]

    if isinstance(tui, str):
        tui_lines = [f"TUI launch: {tui}"]
    else:
        width = max(map(len, tui))
        tui_lines = ["TUI launch, headless App.run_test(), from constructing the App (median / min of "
                     f"{args.runs}; imports excluded):"]
        tui_lines += [f"  {label:<{width}}  {_fmt(statistics.median(v))} / {_fmt(min(v))}" for label, v in tui.items()]

    print()
    print(table)
    print()
    for line in summary + per_run + calls + cpu + [""] + tui_lines:
        print(line)
    print(f"\n(total benchmark time {total:.0f} s)")

    if not args.no_record:
        _record(args, seeded_keys, table, summary, per_run + calls + cpu, tui_lines, total)
        print(f"appended to {RESULTS.relative_to(HERE.parent)}")
    return 0


def _versions() -> str:
    from importlib.metadata import version

    names = ("keytui", "boto3", "botocore", "moto", "textual")
    return ", ".join(f"{n} {version(n)}" for n in names) + f", Python {platform.python_version()}"


def _record(args: argparse.Namespace, keys: int, table: str, summary: list[str], details: list[str],
            tui_lines: list[str], total: float) -> None:
    try:
        commit = subprocess.run(["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(HERE.parent), "status", "--porcelain", "--", "keytui"], capture_output=True, text=True).stdout.strip()
        commit += " + uncommitted changes" if dirty else ""
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    section = [
        f"## {now} — inventory, {args.users:,} users / {keys:,} keys, +{args.delay * 1000:.0f} ms per request",
        "",
        f"`python benchmarks/inventory.py --users {args.users} --runs {args.runs} --delay {args.delay}` on "
        f"{os.cpu_count()} cores ({platform.machine()}), commit {commit}; {_versions()}. Total {total:.0f} s.",
        "",
        table,
        "",
        *[f"- {line}" for line in summary],
        "",
        "```",
        *details,
        "",
        *tui_lines,
        "```",
        "",
    ]
    new_file = not RESULTS.exists()
    with RESULTS.open("a", encoding="utf-8") as out:
        if new_file:
            out.write("# Benchmark results\n\nAppended by the scripts in this folder; newest last.\n\n")
        out.write("\n".join(section) + "\n")


if __name__ == "__main__":
    sys.exit(main())
