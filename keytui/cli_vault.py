"""`keytui vault …`, `keytui credential-process` and `keytui exec`: the commands that hand keyring-held
credentials to other tools. `credential-process` is on every AWS call of every tool configured with it,
so it imports neither boto3 nor Textual unless it has to."""

from __future__ import annotations

import argparse
import getpass
import re
import os
import subprocess
import sys
from datetime import datetime, timezone
from typing import TextIO

from keytui.core.errors import KeytuiError
from keytui.core.settings import load_settings

CHAIN_VARIABLE = "KEYTUI_CREDENTIAL_CHAIN"
EXEC_VARIABLE = "KEYTUI_EXEC"


def add_parsers(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    vault = commands.add_parser("vault", help="long-term keys in the OS keyring")
    sub = vault.add_subparsers(dest="vault_command", metavar="SUBCOMMAND", required=True)
    add = sub.add_parser("add", parents=[common], help="store a profile's key in the keyring (prompted)")
    add.add_argument("name", metavar="PROFILE")
    add.add_argument("--stdin", action="store_true", help="read the key id and the secret as two lines on stdin")
    imp = sub.add_parser("import", help="move plaintext keys from the credentials file into the keyring")
    imp.add_argument("name", metavar="PROFILE", nargs="?")
    imp.add_argument("--all", action="store_true", help="every profile with a plaintext key")
    imp.add_argument("--dry-run", action="store_true", help="say what would move, change nothing")
    sub.add_parser("list", help="every profile and where its secret lives")
    rem = sub.add_parser("remove", help="delete a profile's key from the keyring")
    rem.add_argument("name", metavar="PROFILE")
    rem.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    sub.add_parser("doctor", help="diagnose the keyring backend and how to fix it")

    cp = commands.add_parser("credential-process", help="print a profile's credentials for credential_process")
    cp.add_argument("--profile", required=True)
    ex = commands.add_parser("exec", help="run a command with a profile's credentials in its environment")
    ex.add_argument("--profile", required=True)
    ex.add_argument("command_args", nargs=argparse.REMAINDER, metavar="-- COMMAND …")


def _vault():
    from keytui.vault.factory import open_vault

    return open_vault(load_settings().vault)


def _service(command: str | None = None):
    from keytui.vault.factory import aws_file_paths
    from keytui.vault.service import VaultService, keytui_command

    config, creds = aws_file_paths()
    return VaultService(_vault(), config, creds, command or keytui_command())


def _broker(vault, settings):  # type: ignore[no-untyped-def]
    from keytui.core.clock import SystemClock
    from keytui.vault.factory import aws_file_paths
    from keytui.vault.sessions import SessionBroker

    config, creds = aws_file_paths()
    clock = SystemClock()
    return SessionBroker(
        vault, config, creds, clock, margin=settings.vault.session_margin,
        state_folder=_state_folder(), resolve=_resolve_with_botocore,
    )


def _state_folder():  # type: ignore[no-untyped-def]
    from keytui.core.awsfiles import state_dir

    try:
        return state_dir()
    except (OSError, KeytuiError):
        return None  # the used-codes record then lives in memory; AWS still refuses a reused code


def _stored_credentials(profile: str, *, prompt: bool = True):  # type: ignore[no-untyped-def]
    """(what to serve for `profile`, the vault asked). A valid MFA session first. A profile with mfa_serial
    never falls back to its long-term key (F-09): without a valid session it asks for a code on the
    terminal, or fails naming `keytui session`. Otherwise the long-term key, or None if none is stored."""
    settings = load_settings()
    from keytui.vault.factory import open_vault

    vault = open_vault(settings.vault)
    broker = _broker(vault, settings)
    session = broker.cached(profile)
    if session is not None:
        return session, vault
    if broker.needs_mfa(profile):
        if not prompt:
            return None, vault
        return new_session(broker, profile), vault
    return vault.get_key(profile), vault


def new_session(broker, profile: str, duration: int | None = None, code_source=None):  # type: ignore[no-untyped-def]
    """A new MFA session for `profile`, the code typed on the terminal (or read by `code_source`), stored in
    the keyring. A refused code is asked again; a refused mfa_serial lists the user's real devices (F-06).
    One process at a time per profile asks: another `credential-process` started meanwhile (tools run
    several) waits and then takes the session the first one stored, instead of spending a second code."""
    from contextlib import nullcontext

    from keytui.cli_tty import open_tty, with_code_retries
    from keytui.core.awsfiles import files_lock
    from keytui.core.sessions import MfaSerialError

    # No terminal is known before any AWS call: cron and IDEs get the message at once, not after a timeout.
    tty = nullcontext() if code_source is not None else open_tty(
        f"Profile '{profile}' needs an MFA session and none is valid, and there is no terminal to ask for the "
        f"code on. Run `keytui session --profile {profile}` in a terminal, then retry."
    )
    with tty, _session_lock(files_lock, profile):
        if code_source is None and duration is None:
            ready = broker.cached(profile)
            if ready is not None:
                return ready  # another process got one while this one waited
        plan, source = broker.plan(profile, duration)
        try:
            if code_source is not None:
                return broker.open(plan, source, code_source())
            return with_code_retries(
                tty,
                lambda: f"MFA code for profile '{profile}' ({plan.mfa_serial}): ",
                lambda code: broker.open(plan, source, code),
            )
        except MfaSerialError as exc:
            raise _with_devices(exc, broker, source, profile) from exc


def _session_lock(files_lock, profile: str):  # type: ignore[no-untyped-def]
    """files_lock for this profile's session, or no lock when the state folder cannot hold one."""
    import contextlib
    import hashlib

    @contextlib.contextmanager
    def lock():  # type: ignore[no-untyped-def]
        held = files_lock(f"session-{hashlib.sha256(profile.encode()).hexdigest()[:16]}")
        try:
            held.__enter__()
        except KeytuiError:
            yield  # no state folder: no lock, as before
            return
        try:
            yield
        finally:
            held.__exit__(None, None, None)

    return lock()


def _with_devices(exc, broker, source, profile: str) -> KeytuiError:  # type: ignore[no-untyped-def]
    try:
        devices = broker.user_devices(source, profile)
    except KeytuiError as listing:
        return KeytuiError(f"{exc} keytui could not list the user's devices either: {listing}", code=exc.code)
    if not devices:
        advice = "The user has no MFA device: enroll one with `keytui mfa enroll`."
    else:
        advice = (f"The user's MFA devices: {', '.join(devices)}. Set `mfa_serial = {devices[0]}` in the profile "
                  f"(`keytui session --profile {profile} --fix-serial` writes it after asking).")
    from keytui.core.sessions import MfaSerialError

    return MfaSerialError(f"{exc} {advice}", exc.serial, devices)


# -- credential-process -------------------------------------------------------------------------------

def credential_process(profile: str, out: TextIO) -> int:
    chain = [p for p in os.environ.get(CHAIN_VARIABLE, "").split(",") if p]
    if profile in chain:
        raise KeytuiError(
            f"credential_process recursion: profile '{profile}' leads back to itself "
            f"({' -> '.join(chain + [profile])}). Check source_profile/credential_process in the AWS config.",
            code="Recursion",
        )
    os.environ[CHAIN_VARIABLE] = ",".join(chain + [profile])
    credentials, vault = _stored_credentials(profile)
    from keytui.core.credential_output import credential_process_json

    if credentials is None:
        raise KeytuiError(
            f"No key for profile '{profile}' in the keyring ({vault.info.label}). Store one with "
            f"`keytui vault add {profile}` (or move a plaintext one with `keytui vault import {profile}`).",
            code="NotInVault",
        )
    out.write(credential_process_json(credentials) + "\n")
    return 0


# -- exec ---------------------------------------------------------------------------------------------

def exec_command(profile: str, command: list[str]) -> int:
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise UsageError("keytui exec: give the command after --, e.g. keytui exec --profile work -- aws s3 ls")
    outer = os.environ.get(EXEC_VARIABLE)
    if outer:
        raise KeytuiError(
            f"Already inside `keytui exec` for profile '{outer}'; nesting would mix two identities. "
            "Exit that shell first.",
            code="NestedExec",
        )
    from keytui.core.credential_output import environment

    from keytui.vault.errors import VaultInsecure, VaultUnavailable

    try:
        credentials, _ = _stored_credentials(profile)
    except (VaultUnavailable, VaultInsecure):
        # No keyring keytui may use holds nothing for this profile; botocore may still resolve it (plaintext,
        # SSO, role). A keyring-managed profile then fails there with the same keyring message. A *locked*
        # keyring is not "nothing stored": that error goes to the user as it is.
        credentials = None
    if credentials is None:
        credentials = _resolve_with_botocore(profile)
    env = {k: v for k, v in os.environ.items() if k not in _CLEARED}
    env.update(environment(credentials))
    region = _profile_region(profile)
    if region and not (env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")):
        # Without AWS_PROFILE the command no longer sees the profile's region: pass it on.
        env["AWS_REGION"] = env["AWS_DEFAULT_REGION"] = region
    env[EXEC_VARIABLE] = profile
    try:
        code = subprocess.call(command, env=env)
    except FileNotFoundError:
        raise KeytuiError(f"Command not found: {command[0]}.", code="CommandNotFound") from None
    except PermissionError:
        raise KeytuiError(f"Cannot run {command[0]}: permission denied.", code="CommandNotExecutable") from None
    return code if code >= 0 else 128 - code


def _profile_region(profile: str) -> str | None:
    from keytui.core.awsfiles import IniDocument, config_section, read_text
    from keytui.vault.factory import aws_file_paths

    config = IniDocument(read_text(aws_file_paths()[0]))
    return (config.values(config_section(profile)).get("region") or [None])[0]


_CLEARED = {
    "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN", "AWS_CREDENTIAL_EXPIRATION",
}


def _resolve_with_botocore(profile: str):
    """A profile the vault does not hold (SSO, role, plaintext…): let botocore resolve it as the AWS CLI
    would, so `keytui exec` works for every profile."""
    from keytui.core.aws import AwsSession, AwsTarget

    return AwsSession(AwsTarget(profile=profile)).resolved_credentials()


class UsageError(KeytuiError):
    def __init__(self, message: str) -> None:
        super().__init__(message, code="Usage")


# -- vault subcommands ----------------------------------------------------------------------------------

def vault_command(args: argparse.Namespace, out: TextIO) -> int:
    handler = {
        "add": _vault_add,
        "import": _vault_import,
        "list": _vault_list,
        "remove": _vault_remove,
        "doctor": _vault_doctor,
    }[args.vault_command]
    return handler(args, out)


def _read_key(use_stdin: bool):
    from keytui.core.masking import Secret
    from keytui.core.models import LongTermKey

    if use_stdin:
        if sys.stdin is None:
            raise UsageError("--stdin given but standard input is closed.")
        # Two short lines are all there is to read: never slurp an unbounded stream.
        lines = sys.stdin.read(4096).splitlines()
        if len(lines) < 2:
            raise UsageError("--stdin expects two lines: the access key id, then the secret access key.")
        key_id, secret = lines[0].strip(), lines[1].strip()
    else:
        if sys.stdin is None or not sys.stdin.isatty():
            raise UsageError("No terminal to prompt on; pass the key id and secret on stdin with --stdin.")
        key_id = input("Access key id: ").strip()
        secret = getpass.getpass("Secret access key (hidden): ").strip()
    if not re.fullmatch(r"A[KS]IA[A-Z0-9]{12,124}", key_id):
        # Never echo what was typed: the secret may have been pasted into the wrong line.
        raise UsageError("The first line is not an access key id (AKIA… in capitals and digits, usually 20 long).")
    if not re.fullmatch(r"[A-Za-z0-9/+=]{40}", secret):
        raise UsageError("The secret access key must be the 40 characters AWS showed (letters, digits, / + =).")
    return LongTermKey(key_id, Secret(secret))


def _vault_add(args: argparse.Namespace, out: TextIO) -> int:
    from keytui.core.aws import AwsTarget, identity_for_key
    from keytui.core.masking import mask_key_id

    key = _read_key(args.stdin)
    service = _service()
    target = AwsTarget(region=getattr(args, "region", None))
    identity = service.add(args.name, key, lambda k: identity_for_key(k, target))
    print(
        f"Stored {mask_key_id(key.access_key_id)} ({identity.arn}) for profile '{args.name}' in "
        f"{service.vault.info.label}.\nProfile '{args.name}' in {service.config_file} now uses "
        f"credential_process; try: aws sts get-caller-identity --profile {args.name}",
        file=out,
    )
    return 0


def _vault_import(args: argparse.Namespace, out: TextIO) -> int:
    from keytui.core.masking import mask_key_id

    if bool(args.name) == bool(args.all):
        raise UsageError("keytui vault import: name one PROFILE, or use --all.")
    service = _service()
    results = service.import_profiles([args.name] if args.name else None, dry_run=args.dry_run)
    failures = []
    for result in results:
        mark = "moved" if result.moved and not args.dry_run else ("would move" if result.moved else "kept")
        key = mask_key_id(result.key_id) if result.key_id else "-"
        print(f"{mark:<10}  {result.profile:<20}  {key:<10}  {result.reason}", file=out)
        if result.error or (bool(args.name) and not result.moved):
            failures.append(result)
    if not results:
        print(f"No profiles in {service.credentials_file}.", file=out)
    # The table is the output; a failure is also said on stderr, like every other failing command.
    for result in failures:
        print(f"keytui: profile '{result.profile}' was not moved: {result.reason}", file=sys.stderr)
    return 1 if failures else 0


def _vault_list(args: argparse.Namespace, out: TextIO) -> int:
    service = _service()
    rows = [("PROFILE", "SECRET LIVES IN", "KEY", "SESSION", "NOTE")]
    now = datetime.now(timezone.utc)
    for status in service.status():
        session = "-"
        if status.session:
            left = status.session.valid_for(now)
            session = f"expires in {int(left // 60)} min" if left > 0 else "expired"
        rows.append((status.name, status.where, status.masked_key_id, session, status.note))
    if os.environ.get("AWS_ACCESS_KEY_ID"):
        from keytui.core.masking import mask_key_id

        rows.append(("(environment)", "environment", mask_key_id(os.environ["AWS_ACCESS_KEY_ID"]), "-",
                     "AWS_ACCESS_KEY_ID overrides AWS_PROFILE"))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        line = "  ".join(c.ljust(w) for c, w in zip(row[:4], widths)) + ("  " + row[4] if row[4] else "")
        print(line.rstrip(), file=out)
    print(f"\nkeyring: {service.vault.info.label}", file=out)
    return 0


def _vault_remove(args: argparse.Namespace, out: TextIO) -> int:
    service = _service()
    if not args.yes:
        from keytui.cli_tty import confirm

        question = (f"Delete profile '{args.name}''s key and session from the keyring? The AWS key itself stays "
                    "valid. [y/N] ")
        if not confirm(question, "keytui vault remove: confirm with --yes when there is no terminal."):
            print("Nothing removed.", file=out)
            return 1
    if not service.remove(args.name):
        raise KeytuiError(f"Nothing to remove: the keyring holds no key or session for '{args.name}'.",
                          code="NotInVault")
    print(f"Removed profile '{args.name}' from the keyring.", file=out)
    return 0


def _vault_doctor(args: argparse.Namespace, out: TextIO) -> int:
    from keytui.vault.doctor import diagnose

    report = diagnose(_vault())
    out.write(report.text() + "\n")
    return 0 if report.ok else 1
