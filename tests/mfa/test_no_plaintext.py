"""The invariant "no secret at rest in plaintext" after the MFA commands: an enrollment (the TOTP seed), an MFA
session (its secret and token), credential-process and exec serving it. Afterwards no file under HOME, the XDG
folders or the AWS files holds one of them (nor the long-term secret), every file there is 0600, every folder
0700, and the used-codes record holds no code."""

from __future__ import annotations

import os
import stat
import sys
import time
from pathlib import Path

from ..conftest import Faults, Sandbox
from .conftest import (
    PROFILE,
    SESSION_SECRET,
    SESSION_TOKEN,
    MfaUser,
    ScriptedTerminal,
    files_under,
    grant,
    qr_lines,
    sandbox_roots,
    secrets_in_files,
    seed_of,
    totp_pair,
    uri_from_qr,
)


def test_mfa_commands_leave_no_secret_at_rest(
    alice: MfaUser, faults: Faults, sandbox: Sandbox, terminal, run_cli, tmp_path
) -> None:
    alice.write_config(mfa_serial=None)
    grant(faults)
    typed: dict[str, str] = {}

    def answer(tty: ScriptedTerminal) -> str | None:
        if tty.prompt.startswith("First code"):
            typed["seed"] = seed_of(uri_from_qr(qr_lines(tty.transcript)))
            typed["first"], typed["second"] = totp_pair(typed["seed"], time.time())
            return typed["first"]
        if tty.prompt.startswith("Wait for the next code"):
            return typed["second"]
        return "y"  # write mfa_serial into the profile

    terminal(answer)
    runs = [run_cli("mfa", "enroll", "--profile", PROFILE)]
    runs.append(run_cli("session", "--profile", PROFILE, "--code-stdin", stdin="864209\n"))
    runs.append(run_cli("session", "--profile", PROFILE, "--status"))
    runs.append(run_cli("mfa", "list", PROFILE, "--profile", PROFILE, "--json"))
    cp = run_cli("credential-process", "--profile", PROFILE)
    exec_run = run_cli("exec", "--profile", PROFILE, "--", sys.executable, "-c",
                       "import os, sys; sys.exit(os.environ['AWS_SESSION_TOKEN'] != sys.argv[1])", SESSION_TOKEN)
    assert [r.code for r in [*runs, cp, exec_run]] == [0] * 6, runs
    assert alice.session_entry()["SessionToken"] == SESSION_TOKEN  # the secrets did go to the keyring
    assert SESSION_TOKEN in cp.out  # handed over on stdout, to the SDK that asked

    secrets = {"seed": typed["seed"], "session secret": SESSION_SECRET, "session token": SESSION_TOKEN,
               "long-term secret": alice.key.secret.reveal()}
    for result in runs:
        assert [what for what, value in secrets.items() if value in result.out + result.err] == []

    files = files_under(sandbox_roots(sandbox))
    files += [p for p in (Path(os.environ["AWS_CONFIG_FILE"]), Path(os.environ["AWS_SHARED_CREDENTIALS_FILE"]))
              if p not in files]
    record = sandbox.state_home / "keytui" / "used-mfa-codes.json"
    assert alice.files.config in files and record in files
    assert "mfa_serial" in alice.files.config.read_text()  # enrollment wrote the profile (no secret in it)
    assert secrets_in_files(files, secrets) == []
    assert [code for code in ("864209", typed["first"], typed["second"]) if code in record.read_text()] == []
    assert [p.name for p in files if "tmp" in p.name] == []
    modes = {str(p): oct(stat.S_IMODE(p.stat().st_mode)) for p in files if p.exists()}
    assert {p: m for p, m in modes.items() if m != "0o600"} == {}
    folders = {Path(f) for root in sandbox_roots(sandbox) for f, _, _ in os.walk(root)}
    keytui_folders = [f for f in folders if "keytui" in f.parts or f.name == ".aws"]
    assert keytui_folders and {str(f): oct(stat.S_IMODE(f.stat().st_mode)) for f in keytui_folders
                               if stat.S_IMODE(f.stat().st_mode) != 0o700} == {}
