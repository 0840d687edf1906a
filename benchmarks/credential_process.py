"""Benchmark: `keytui credential-process --profile P` for a stored long-term key, against the same read
done by a bare `python -c "import keyring; keyring.get_password(…)"` on the same backend, in one run.

Target (issue 3): keytui at most 1.5x the bare keyring read. The backend is keytui's demo file keyring
(PYTHON_KEYRING_BACKEND), so both sides pay the same keyring cost; on a machine with a Secret Service
run it under `dbus-run-session` with gnome-keyring unlocked and pass --backend secretservice.

    python benchmarks/credential_process.py [--runs 15] [--backend demo|secretservice]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent


def timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(argv, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{argv[:4]} failed: {result.stderr.strip()}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--backend", choices=["demo", "secretservice"], default="demo")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="keytui-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "KEYTUI_"))}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / "cfg"), XDG_STATE_HOME=str(home / "state"))
    service, entry = "keytui", "profile:bench"
    if args.backend == "demo":
        env.update(PYTHON_KEYRING_BACKEND="keytui.vault.memory.DemoFileKeyring",
                   KEYTUI_DEMO_KEYRING=str(home / "keyring.json"))
    else:
        service = "keytui"  # the real Secret Service of this (throw-away) D-Bus session

    # Store a key the way `keytui vault` does.
    store = (
        "from keytui.vault.factory import open_vault; from keytui.core.settings import VaultSettings;"
        "from keytui.core.models import LongTermKey; from keytui.core.masking import Secret;"
        "open_vault(VaultSettings()).put_key('bench', LongTermKey('AKIAIOSFODNN7EXAMPLE', Secret('x'*40)))"
    )
    subprocess.run([sys.executable, "-c", store], env=env, check=True)

    keytui = [sys.executable, "-m", "keytui", "credential-process", "--profile", "bench"]
    bare = [sys.executable, "-c", f"import keyring; print(keyring.get_password({service!r}, {entry!r}))"]
    # Warm the OS page cache and .pyc files for both, then alternate so drift hits both equally.
    timed(keytui, env), timed(bare, env)
    keytui_times, bare_times = [], []
    for _ in range(args.runs):
        keytui_times.append(timed(keytui, env))
        bare_times.append(timed(bare, env))

    k_med, b_med = statistics.median(keytui_times), statistics.median(bare_times)
    ratio = k_med / b_med
    table = (
        f"| command | median ms | min ms | runs |\n|---|---|---|---|\n"
        f"| `keytui credential-process --profile bench` | {k_med * 1000:.0f} | {min(keytui_times) * 1000:.0f} | {args.runs} |\n"
        f"| bare `keyring.get_password` | {b_med * 1000:.0f} | {min(bare_times) * 1000:.0f} | {args.runs} |\n"
        f"\nratio keytui/bare (medians): **{ratio:.2f}x** (target ≤ 1.5x) — backend: {args.backend}\n"
    )
    print(table)
    with open(HERE / "RESULTS.md", "a", encoding="utf-8") as results:
        results.write(f"\n## credential_process — {date.today()} ({os.uname().machine}, {os.cpu_count()} cores)\n\n{table}")
    return 0 if ratio <= 1.5 else 1


if __name__ == "__main__":
    raise SystemExit(main())
