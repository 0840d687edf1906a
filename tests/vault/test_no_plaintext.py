"""The invariant "no secret at rest in plaintext", checked after a scripted session: `vault add`, `vault
import`, `credential-process` through botocore (with a real call to the demo account), `exec`, `vault list`.
Afterwards no file under HOME, the XDG folders or the AWS files holds a secret, every file there is 0600,
every folder 0700, and no temporary file is left behind. The only plaintext secret was the credentials
file's *before* the import."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import botocore.session

from ..conftest import AwsFiles, Sandbox
from .conftest import BOB_ARN, AuthDemo, entries

WORK_ID = "AKIAPLAINTEXT0000001"
WORK_SECRET = "plaintextSecret/0000000000000000000000001"


def files_and_folders(roots: list[Path]) -> tuple[list[Path], list[Path]]:
    files, folders = [], []
    for root in roots:
        folders.append(root)
        for folder, subfolders, names in os.walk(root):
            folders += [Path(folder) / name for name in subfolders]
            files += [Path(folder) / name for name in names]
    return files, folders


def test_vault_session_leaves_no_secret_at_rest(
    aws_endpoint: AuthDemo, aws_files: AwsFiles, sandbox: Sandbox, shared_keyring, run_cli
) -> None:
    aws_files.write(
        config="[default]\nregion = us-east-1\n\n[profile work]\nregion = us-east-1\n",
        credentials=f"[work]\naws_access_key_id = {WORK_ID}\naws_secret_access_key = {WORK_SECRET}\n",
    )
    bob = aws_endpoint.key()
    secrets = [WORK_SECRET, bob.secret.reveal()]
    assert WORK_SECRET in aws_files.credentials.read_text()  # the one plaintext secret, before the import
    outputs = []

    outputs.append(run_cli("vault", "add", "bob", "--stdin", stdin=f"{bob.access_key_id}\n{bob.secret.reveal()}\n"))
    outputs.append(run_cli("vault", "import", "--all"))
    outputs.append(run_cli("vault", "list"))
    assert [r.code for r in outputs] == [0, 0, 0], outputs
    assert sorted(entries(shared_keyring)) == ["profile:bob", "profile:work"]

    answer = botocore.session.Session(profile="bob").create_client("sts", region_name="us-east-1").get_caller_identity()
    assert answer["Arn"] == BOB_ARN
    process = subprocess.run(
        [sys.executable, "-m", "keytui", "credential-process", "--profile", "work"],
        capture_output=True, text=True, timeout=60,
    )
    assert process.returncode == 0 and WORK_SECRET in process.stdout  # handed over on stdout only
    exec_run = subprocess.run(
        [sys.executable, "-m", "keytui", "exec", "--profile", "bob", "--",
         "sh", "-c", f'test "$AWS_SECRET_ACCESS_KEY" = "{bob.secret.reveal()}"'],
        capture_output=True, text=True, timeout=60,
    )
    assert (exec_run.returncode, exec_run.stdout, exec_run.stderr) == (0, "", "")

    for result in outputs:
        for value in secrets:
            assert value not in result.out + result.err

    roots = [sandbox.home, sandbox.config_home, sandbox.data_home, sandbox.state_home, sandbox.cache_home]
    files, folders = files_and_folders(roots)
    files += [p for p in (Path(os.environ["AWS_CONFIG_FILE"]), Path(os.environ["AWS_SHARED_CREDENTIALS_FILE"]))
              if p not in files]
    assert aws_files.config in files and (sandbox.state_home / "keytui" / "aws-files.lock") in files
    hits = [(str(path), value[:4]) for path in files for value in secrets if value.encode() in path.read_bytes()]
    assert hits == []
    assert [p.name for p in files if "tmp" in p.name] == []
    assert {str(p): oct(stat.S_IMODE(p.stat().st_mode)) for p in files if stat.S_IMODE(p.stat().st_mode) != 0o600} == {}
    assert {str(p): oct(stat.S_IMODE(p.stat().st_mode)) for p in folders if stat.S_IMODE(p.stat().st_mode) != 0o700} == {}
