"""`keytui rotate` end to end against a demo account served over HTTP on 127.0.0.1 (AWS_ENDPOINT_URL, as
`keytui demo serve` advises): the stored profile 'demo' (ops-admin's key, in the demo keyring) is rotated,
after which `keytui credential-process` hands out the new key; and the refusals, each before anything is
created."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from keytui.core.masking import mask_key_id as mask

from .conftest import Injector, demo_keys

STEP_LINES = (
    "✓ preflight       1 key(s); replacing {old}\n"
    "✓ create          new key {new}\n"
    "✓ store           pending in the keyring for profile 'demo'\n"
    "✓ verify          AWS accepts the new key\n"
    "✓ switch          profile 'demo' uses {new}\n"
    "  now using {new} (ops-admin)\n"
    "✓ deactivate old  {old} is inactive\n"
)


def secret_in_aws(key_id: str) -> str:
    from moto.iam.models import iam_backends

    return iam_backends["123456789012"]["aws"].access_keys[key_id].secret_access_key


def test_cli_rotate_delete_old_then_credential_process_returns_the_new_key(demo: Any, run_cli: Any) -> None:
    (old,) = demo_keys(demo, "ops-admin")

    result = run_cli("rotate", "--profile", "demo", "--yes", "--delete-old")

    (new,) = demo_keys(demo, "ops-admin")
    assert new != old
    assert (result.code, result.out) == (0, f"done: ops-admin {mask(old)} -> {mask(new)}\n")
    assert result.err == STEP_LINES.format(old=mask(old), new=mask(new)) + (
        f"✓ delete old      {mask(old)} deleted\n"
        f"✓ done            new key {mask(new)} verified and in use by profile 'demo'; old key {mask(old)} deleted.\n"
    )

    served = run_cli("credential-process", "--profile", "demo")

    assert served.code == 0 and served.err == ""
    assert json.loads(served.out) == {"Version": 1, "AccessKeyId": new, "SecretAccessKey": secret_in_aws(new)}


def test_cli_rotate_json_output(demo: Any, run_cli: Any) -> None:
    (old,) = demo_keys(demo, "ops-admin")

    result = run_cli("rotate", "--profile", "demo", "--yes", "--json")

    keys = demo_keys(demo, "ops-admin")
    (new,) = [k for k in keys if k != old]
    assert keys == {old: "Inactive", new: "Active"}  # --deactivate-only is the default
    assert result.code == 0
    assert result.out.count("\n") == 1
    assert json.loads(result.out) == {
        "user": "ops-admin", "old_key_id": old, "new_key_id": new,
        "steps": ["preflight", "create", "store", "verify", "switch", "deactivate old"], "status": "done",
    }
    assert result.err.startswith(STEP_LINES.format(old=mask(old), new=mask(new)))


def test_cli_rotate_resume_or_rollback_without_journal(demo: Any, run_cli: Any) -> None:
    for flag in ("--resume", "--rollback"):
        result = run_cli("rotate", "--profile", "demo", flag)
        assert (result.code, result.out, result.err) == (
            1, "", "keytui: There is no unfinished rotation of ops-admin.\n")


def test_cli_rotate_other_users_key_without_terminal_is_refused_before_any_key(demo: Any) -> None:
    before = demo_keys(demo, "dave")
    # A new session has no controlling terminal: /dev/tty cannot be opened, as under cron or CI.
    result = subprocess.run(
        [sys.executable, "-m", "keytui", "rotate", "dave", "--profile", "demo", "--yes"],
        env=dict(os.environ), stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120,
        start_new_session=True,
    )
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "keytui: Rotating another user's key shows the new secret once, on a terminal, and needs a person to "
        "confirm it was stored; there is no terminal here. Run it interactively, or use --store-as PROFILE.\n"
    )
    assert demo_keys(demo, "dave") == before


def test_cli_rotate_other_users_two_keys_says_so_first(demo: Any, run_cli: Any) -> None:
    before = demo_keys(demo, "alice")
    first, second = before

    result = run_cli("rotate", "alice", "--profile", "demo", "--yes")

    assert (result.code, result.out) == (1, "")
    assert result.err == (
        f"keytui: alice already has two access keys ({mask(first)} Active, 400d old, last used yesterday (s3, "
        f"eu-west-1); {mask(second)} Active, 5d old, last used today (sts, us-east-1)). AWS allows two, inactive "
        "ones included, so a rotation cannot create a new one. Delete the key that is no longer used first (the "
        "inactive one if there is one), then rotate. Nothing was changed.\n"
    )
    assert demo_keys(demo, "alice") == before


def test_cli_rotate_plaintext_profile_is_refused_with_the_import_hint(demo: Any, run_cli: Any) -> None:
    before = demo_keys(demo, "bob")

    result = run_cli("rotate", "--profile", "bob-laptop", "--yes")

    assert (result.code, result.out) == (1, "")
    assert result.err == (
        f"keytui: The profile's key comes from credentials file {demo.credentials_file}, not from keytui's keyring, "
        "so keytui cannot switch it safely. Move it first: keytui vault import bob-laptop\n"
    )
    assert demo_keys(demo, "bob") == before


def test_cli_rotate_without_yes_and_without_terminal_asks_for_yes(demo: Any, run_cli: Any) -> None:
    before = demo_keys(demo, "ops-admin")
    result = run_cli("rotate", "--profile", "demo")
    assert (result.code, result.out, result.err) == (
        2, "", "keytui: keytui rotate: confirm with --yes when there is no terminal.\n")
    assert demo_keys(demo, "ops-admin") == before


def test_cli_rotate_interrupted_says_what_exists_then_rolls_back(demo: Any, run_cli: Any, inject: Injector) -> None:
    (old,) = demo_keys(demo, "ops-admin")
    inject.add("iam", "CreateAccessKey", "interrupt-after", times=1)  # Ctrl-C as AWS answers

    interrupted = run_cli("rotate", "--profile", "demo", "--yes")

    (orphan,) = [k for k in demo_keys(demo, "ops-admin") if k != old]
    commands = ("Resume it (`keytui rotate ops-admin --profile demo --resume`) or roll it back "
                "(`keytui rotate ops-admin --profile demo --rollback`).")
    assert (interrupted.code, interrupted.out) == (130, "")
    assert interrupted.err == (
        f"✓ preflight       1 key(s); replacing {mask(old)}\n"
        "✗ create          interrupted\n"
        "keytui: Interrupted. A new key may have been created (the run was interrupted while AWS was creating it; "
        f"roll back finds and deletes it); old key {mask(old)} still active. {commands}\n"
    )

    again = run_cli("rotate", "--profile", "demo", "--yes")

    assert (again.code, again.out) == (1, "")
    assert again.err == (
        "keytui: An earlier rotation of ops-admin did not finish: nothing new was started. "
        f"Key {mask(orphan)} was created by the interrupted run but never recorded (its secret never reached keytui; "
        f"roll back deletes it); old key {mask(old)} still active. {commands}\n"
    )

    rolled_back = run_cli("rotate", "--profile", "demo", "--rollback", "--json")

    assert rolled_back.code == 0
    assert json.loads(rolled_back.out) == {"user": "ops-admin", "old_key_id": old, "new_key_id": None,
                                           "steps": ["preflight"], "status": "rolled back"}
    assert demo_keys(demo, "ops-admin") == {old: "Active"}
    assert run_cli("credential-process", "--profile", "demo").out.count(old) == 1


def test_cli_rotate_interrupted_while_verifying_then_resume(demo: Any, run_cli: Any, inject: Injector) -> None:
    (old,) = demo_keys(demo, "ops-admin")
    inject.add("sts", "GetCallerIdentity", "interrupt", times=1,
               signed_by=lambda key_id: key_id != old)  # Ctrl-C while the new key is being checked

    interrupted = run_cli("rotate", "--profile", "demo", "--yes", "--delete-old")

    (new,) = [k for k in demo_keys(demo, "ops-admin") if k != old]
    assert interrupted.code == 130
    assert interrupted.err.endswith(
        f"keytui: Interrupted. New key {mask(new)} created and stored (pending) for profile 'demo', not verified yet; "
        f"old key {mask(old)} still active. Resume it (`keytui rotate ops-admin --profile demo --resume`) or roll it "
        "back (`keytui rotate ops-admin --profile demo --rollback`).\n"
    )
    # Meanwhile the profile still works, with the old key.
    assert json.loads(run_cli("credential-process", "--profile", "demo").out)["AccessKeyId"] == old

    resumed = run_cli("rotate", "--profile", "demo", "--resume", "--json")

    assert resumed.code == 0
    assert json.loads(resumed.out) == {
        "user": "ops-admin", "old_key_id": old, "new_key_id": new, "status": "done",
        "steps": ["preflight", "create", "store", "verify", "switch", "deactivate old", "delete old"],
    }
    assert demo_keys(demo, "ops-admin") == {new: "Active"}
    assert json.loads(run_cli("credential-process", "--profile", "demo").out)["AccessKeyId"] == new


class _Answers:
    """A terminal whose user answers `line`."""

    def __init__(self, line: str) -> None:
        self.line, self.written = line, ""

    def __enter__(self) -> _Answers:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def write(self, text: str) -> None:
        self.written += text

    def flush(self) -> None:
        pass

    def readline(self) -> str:
        return self.line

    def close(self) -> None:
        pass


def test_cli_events_ask_about_deployment_even_with_yes(monkeypatch: Any) -> None:
    """--yes skips "Rotate?", never "is the new key deployed?": only a person knows, and the old key is
    deactivated right after."""
    from keytui.cli_rotate import CliEvents
    from keytui.core.masking import Secret
    from keytui.core.models import LongTermKey

    events = CliEvents(assume_yes=True, user="bob")
    key = LongTermKey("AKIAIOSFODNN7EXAMPLE", Secret(""))
    for answer, expected in (("\n", False), ("n\n", False), ("y\n", True)):
        terminal = _Answers(answer)
        monkeypatch.setattr(events, "tty", lambda terminal=terminal: terminal)
        assert events.confirm_deployed(key) is expected
        assert terminal.written == ("Is AKIA…MPLE deployed where the old key was used? The old key is deactivated "
                                    "next. [y/N] ")
