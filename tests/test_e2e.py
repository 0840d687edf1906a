"""End to end: `python -m keytui users` as a separate process against the demo account's moto server on
127.0.0.1, configured only through the environment (AWS_ENDPOINT_URL, AWS_CONFIG_FILE, …) as a user would."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Mapping

import pytest

from keytui.demo import DEMO_USERS

from .conftest import DemoServer, clean_environ


def keytui(args: list[str], env: Mapping[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "keytui", *args], env=dict(env), capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def users_json(demo_server: DemoServer) -> tuple[subprocess.CompletedProcess[str], dict]:
    result = keytui(["users", "--json"], demo_server.env())
    return result, json.loads(result.stdout) if result.stdout else {}


def by_name(document: dict) -> dict[str, dict]:
    return {user["name"]: user for user in document["users"]}


def test_e2e_users_json_exit_0_and_complete(users_json: tuple[subprocess.CompletedProcess[str], dict]) -> None:
    result, document = users_json

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert document["schema"] == "keytui.users/1"
    assert document["account"] == "123456789012"
    assert document["identity"] == "arn:aws:iam::123456789012:user/ops/ops-admin"  # the demo profile's key
    assert document["source"] == "credential-report"
    assert document["complete"] is True
    assert sorted(by_name(document)) == sorted(u.name for u in DEMO_USERS)


def test_e2e_users_json_ages(users_json: tuple[subprocess.CompletedProcess[str], dict]) -> None:
    users = by_name(users_json[1])

    assert [k["age_days"] for k in users["alice"]["keys"]] == [400, 5]
    assert [(k["age_days"], k["age_level"]) for k in users["bob"]["keys"]] == [(95, "overdue")]
    assert [(k["age_days"], k["age_level"]) for k in users["ivan"]["keys"]] == [(62, "warn")]
    assert [(k["age_days"], k["age_level"]) for k in users["carol"]["keys"]] == [(5, "ok")]
    ages = {k["age_days"] for u in users.values() for k in u["keys"]}
    assert {5, 95, 400} <= ages


def test_e2e_users_json_inactive_and_never_used(users_json: tuple[subprocess.CompletedProcess[str], dict]) -> None:
    users = by_name(users_json[1])

    inactive = sorted(name for name, u in users.items() for k in u["keys"] if k["status"] == "Inactive")
    assert inactive == ["ci-deploy", "erin", "legacy-etl", "walter"]
    walter = users["walter"]["keys"][0]
    assert (walter["age_days"], walter["age_level"], walter["unused"]) == (400, None, True)

    never = sorted(name for name, u in users.items() for k in u["keys"] if k["never_used"])
    assert never == ["dave", "rupert", "slack-notifier"]
    dave = users["dave"]["keys"][0]
    assert dave["last_used"] == {"date": None, "service": None, "region": None}
    assert (dave["age_days"], dave["unused"]) == (400, True)
    assert users["rupert"]["keys"][0]["unused"] is False  # 5 days old, never used: not idle long enough yet

    erin_old = users["erin"]["keys"][0]
    assert erin_old["status"] == "Inactive" and erin_old["last_used"]["service"] == "dynamodb"


def test_e2e_users_json_mfa_console_and_profiles(users_json: tuple[subprocess.CompletedProcess[str], dict]) -> None:
    users = by_name(users_json[1])

    assert (users["grace"]["mfa_active"], users["grace"]["keys"]) == (True, [])
    assert (users["heidi"]["mfa_active"], users["heidi"]["console"]) == (False, True)  # console without MFA
    assert users["dave"]["console"] is False
    assert users["ops-admin"]["keys"][0]["local_profiles"] == ["demo"]
    assert users["bob"]["keys"][0]["local_profiles"] == ["bob-laptop"]
    assert all(len(u["keys"]) == 2 for n, u in users.items() if n in {"alice", "erin", "niaj", "ci-deploy"})


def test_e2e_users_table_and_usage_exit_codes(demo_server: DemoServer) -> None:
    table = keytui(["users"], demo_server.env())
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["USER", "PATH", "KEYS", "OLDEST", "LAST", "USED", "MFA", "CONSOLE"]
    assert re.fullmatch(r"28 users; credential report of \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", lines[-1])
    assert "\033[" not in table.stdout  # no colour on a pipe

    usage = keytui(["users", "--bogus"], demo_server.env())
    assert usage.returncode == 2
    assert usage.stdout == "" and "usage: keytui" in usage.stderr and "Traceback" not in usage.stderr


def test_e2e_demo_serve_then_users_in_another_shell() -> None:
    """The documented flow: `keytui demo serve`, paste its exports into another shell, run `keytui users`."""
    serve = subprocess.Popen(
        [sys.executable, "-m", "keytui", "demo", "serve"],
        env=clean_environ(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert serve.stdout is not None
        exports: dict[str, str] = {}
        for line in serve.stdout:
            match = re.fullmatch(r"\s+export (\w+)=(\S+)\s*", line)
            if match:
                exports[match[1]] = match[2]
            if line.startswith("then e.g."):
                break
        assert {"AWS_ENDPOINT_URL", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_PROFILE"} <= set(exports)
        env = clean_environ()
        env.update(exports, AWS_EC2_METADATA_DISABLED="true")

        result = keytui(["users", "--json"], env)

        assert result.returncode == 0, result.stderr
        assert len(json.loads(result.stdout)["users"]) == len(DEMO_USERS)
    finally:
        serve.send_signal(signal.SIGTERM)
        try:
            serve.wait(timeout=30)
        except subprocess.TimeoutExpired:
            serve.kill()
            serve.wait()
    assert not os.path.exists(exports.get("AWS_CONFIG_FILE", "/nonexistent"))  # cleaned up on SIGTERM


def test_e2e_users_into_a_closed_pipe_exits_quietly(demo_server) -> None:
    """`keytui users --json | head -1`: no BrokenPipeError traceback when the reader goes away."""
    env = demo_server.env()
    result = subprocess.run(
        f"{sys.executable} -m keytui users --json | head -1", shell=True, env=env, capture_output=True, text=True
    )
    assert result.stdout.strip() == "{"
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr
