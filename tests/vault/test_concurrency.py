"""Two `keytui vault import` runs at once on the same files (threads of one process, and two processes
sharing a keyring): the file lock serialises them, so nothing is corrupted, every profile moves exactly
once, and both files still parse afterwards."""

from __future__ import annotations

import configparser
import subprocess
import sys
import threading
from collections import Counter

import botocore.session

from keytui.vault.memory import MemoryKeyring
from keytui.vault.service import ImportResult, VaultService
from keytui.vault.store import Vault

from ..conftest import AwsFiles
from .conftest import KEYTUI, entries, process_line, stored_json

NAMES = [f"p{i}" for i in range(8)]


def key_id(i: int) -> str:
    return f"AKIACONCURRENT{i:06d}"


def secret(i: int) -> str:
    return f"concurrentSecret/{i:023d}"


def write_profiles(files: AwsFiles) -> None:
    files.write(
        config="".join(f"[profile {name}]\nregion = us-east-1\n\n" for name in NAMES),
        credentials="# shared credentials\n" + "".join(
            f"[{name}]\naws_access_key_id = {key_id(i)}\naws_secret_access_key = {secret(i)}\n\n"
            for i, name in enumerate(NAMES)
        ),
    )


def assert_all_moved_once(files: AwsFiles, moved: list[str], backend: MemoryKeyring) -> None:
    assert Counter(moved) == Counter(NAMES)
    for i, name in enumerate(NAMES):
        assert stored_json(backend, f"profile:{name}")["SecretAccessKey"] == secret(i)
    config = configparser.RawConfigParser()  # strict: a duplicated section or key raises
    config.read_string(files.config.read_text())
    assert {s: config[s]["credential_process"] for s in config.sections()} == {
        f"profile {name}": process_line(name) for name in NAMES
    }
    assert files.credentials.read_text() == "# shared credentials\n"
    session = botocore.session.Session()
    assert sorted(session.full_config["profiles"]) == sorted(NAMES)  # botocore reads both files


def test_import_from_two_threads_moves_each_profile_once(aws_files: AwsFiles) -> None:
    write_profiles(aws_files)
    backend = MemoryKeyring()
    start = threading.Barrier(2)
    results: list[list[ImportResult]] = []
    errors: list[BaseException] = []

    def run() -> None:
        service = VaultService(Vault(backend), aws_files.config, aws_files.credentials, KEYTUI)
        start.wait()
        try:
            results.append(service.import_profiles(None))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    moved = [r.profile for batch in results for r in batch if r.moved]
    assert all(not r.reason.startswith("failed") for batch in results for r in batch)
    assert_all_moved_once(aws_files, moved, backend)


def test_import_from_two_processes_moves_each_profile_once(aws_files: AwsFiles, shared_keyring) -> None:
    write_profiles(aws_files)
    command = [sys.executable, "-m", "keytui", "vault", "import", "--all"]

    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=60) for run in runs]

    assert [run.returncode for run in runs] == [0, 0], outputs
    assert [err for _, err in outputs] == ["", ""]
    moved = [line.split()[1] for out, _ in outputs for line in out.splitlines() if line.startswith("moved ")]
    assert_all_moved_once(aws_files, moved, shared_keyring)
    assert sorted(entries(shared_keyring)) == sorted(f"profile:{name}" for name in NAMES)


def test_import_of_different_profiles_at_once_keeps_both(aws_files: AwsFiles, shared_keyring) -> None:
    write_profiles(aws_files)
    runs = [
        subprocess.Popen([sys.executable, "-m", "keytui", "vault", "import", name], stdout=subprocess.PIPE, text=True)
        for name in ("p0", "p7")
    ]
    for run in runs:
        run.communicate(timeout=60)

    assert [run.returncode for run in runs] == [0, 0]
    config = configparser.RawConfigParser()
    config.read_string(aws_files.config.read_text())
    managed = sorted(s for s in config.sections() if config.has_option(s, "credential_process"))
    assert managed == ["profile p0", "profile p7"]
    assert sorted(entries(shared_keyring)) == ["profile:p0", "profile:p7"]
    credentials = configparser.RawConfigParser()
    credentials.read_string(aws_files.credentials.read_text())
    assert sorted(credentials.sections()) == [f"p{i}" for i in range(1, 7)]
