"""`keytui rotate`: the rotation engine (core/rotation.py) from a script or a terminal. Each step is printed
as it happens; `--json` prints the result. Exit 0 only if the rotation finished as asked."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

from keytui.core.errors import KeytuiError
from keytui.core.masking import mask_key_id
from keytui.core.models import LongTermKey

if TYPE_CHECKING:  # the parser is built for every command, credential-process included: stay light
    from keytui.core.rotation import RotationResult, Step

EXIT_INTERRUPTED = 130  # as for any Ctrl-C (keytui.cli); the journal says what exists


def add_parser(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    rotate = commands.add_parser("rotate", parents=[common], help="rotate an access key without locking anyone out")
    rotate.add_argument("user", metavar="USER", nargs="?", help="IAM user (default: the profile's own user)")
    rotate.add_argument("--key-id", help="the key to replace (default: the profile's key, or the user's only key)")
    mode = rotate.add_mutually_exclusive_group()
    mode.add_argument("--deactivate-only", action="store_true", help="leave the old key inactive (default)")
    mode.add_argument("--delete-old", action="store_true", help="delete the old key once the new one works")
    mode.add_argument("--resume", action="store_true", help="finish an interrupted rotation")
    mode.add_argument("--rollback", action="store_true", help="undo an interrupted rotation (before its switch)")
    rotate.add_argument("--store-as", metavar="PROFILE",
                        help="another user's key: keep the new key in the keyring under this new keytui profile "
                        "(credential_process) instead of showing its secret")
    rotate.add_argument("--yes", action="store_true", help="do not ask for confirmation (for cron)")
    rotate.add_argument("--json", action="store_true", help="print the result as JSON")


class CliEvents:
    """Steps on stderr (stdout stays for --json); questions on the terminal."""

    def __init__(self, assume_yes: bool, user: str = "") -> None:
        self.assume_yes = assume_yes
        self.user = user

    def step(self, step: Step, state: str, detail: str = "") -> None:
        mark = {"running": "…", "waiting": "⧗", "done": "✓", "failed": "✗", "skipped": "-"}.get(state, state)
        if state == "running":
            return  # the done/failed line follows; a script log stays one line per step
        print(f"{mark} {step.value:<15} {detail}".rstrip(), file=sys.stderr, flush=True)

    def tty(self) -> TextIO:
        from keytui.cli_tty import open_tty

        return open_tty(
            "Rotating another user's key shows the new secret once, on a terminal, and needs a person to confirm "
            "it was stored; there is no terminal here. Run it interactively, or use --store-as PROFILE."
        )

    def confirm_stored(self, new_key: LongTermKey) -> bool:
        with self.tty() as tty:
            tty.write(
                "\nThe new key, shown ONCE (it is not stored by keytui; give it to its owner now):\n"
                f"  access key id:     {new_key.access_key_id}\n"
                f"  secret access key: {new_key.secret.reveal()}\n\n"
                "Type 'stored' when it is stored safely (anything else deletes the new key): "
            )
            tty.flush()
            answer = tty.readline().strip().lower()
            tty.write("\033[2J\033[H")  # clear the screen so the secret does not stay in view
            return answer == "stored"

    def confirm_deployed(self, new_key: LongTermKey) -> bool:
        # Always a question, even with --yes: only a person can know the new key is deployed, and the old
        # key must keep working until it is (another user's key needs a terminal anyway).
        with self.tty() as tty:
            tty.write(f"Is {mask_key_id(new_key.access_key_id)} deployed where the old key was used? "
                      "The old key is deactivated next. [y/N] ")
            tty.flush()
            return tty.readline().strip().lower() in {"y", "yes"}

    def switched(self, new_key: LongTermKey) -> None:
        who = f" ({self.user})" if self.user else ""
        print(f"  now using {mask_key_id(new_key.access_key_id)}{who}", file=sys.stderr)


def rotate_command(args: argparse.Namespace, services, out: TextIO) -> int:  # type: ignore[no-untyped-def]
    engine = services.rotation_engine(mfa_iam=services.mfa_iam(_mfa_prompt(services)))
    identity = services.identity()
    user = args.user or identity.name
    events = CliEvents(args.yes, user)
    if args.resume or args.rollback:
        if args.store_as:
            raise KeytuiError("--store-as names where a new rotation keeps its key; --resume and --rollback continue "
                              "the one the journal names.", code="Usage")
        action = engine.resume if args.resume else engine.rollback
        result = _interruptible(engine, user, lambda: action(user, events))
        return EXIT_INTERRUPTED if result is None else _report(result, args, out)

    engine.ensure_none_open(user)  # an unfinished rotation comes first: resume or roll it back
    source = services.credential_source()
    own = args.user is None or args.user == identity.name
    if own and args.store_as:
        raise KeytuiError("--store-as is for another user's key; your own profile's key is switched to the new one "
                          "in its keyring entry.", code="Usage")
    profile = None
    old_key_id = args.key_id
    if own:
        if not identity.is_user:
            raise KeytuiError(f"{identity.arn} is not an IAM user; name the user to rotate.", code="Usage")
        if source.method != "keytui-vault":
            raise KeytuiError(
                f"The profile's key comes from {source.label}, not from keytui's keyring, so keytui cannot switch it "
                f"safely. Move it first: keytui vault import {source.profile or 'default'}",
                code="NotInVault",
            )
        profile = source.profile
        old_key_id = old_key_id or source.key_id
        if old_key_id != source.key_id:
            raise KeytuiError(f"--key-id {mask_key_id(old_key_id)} is not the key profile '{profile}' holds "
                              f"({source.masked_key_id}).", code="Usage")
    elif old_key_id is None:
        keys = engine.preflight_keys(user)
        if not keys:
            raise KeytuiError(f"{user} has no access key to rotate.", code="NoKey")
        # With two keys the preflight stops and shows both (F-01); with one, that is the key.
        old_key_id = keys[0].key_id
    # What would stop the rotation (two keys, a key that is not the user's or not the profile's, a keyring
    # that cannot take a write) is said before any question; the engine checks it all again under its lock.
    engine.preflight(user, old_key_id, profile, store_as=args.store_as)
    others = [p for p in services.key_holders().get(old_key_id, ()) if p != profile]
    if others:
        # As the app says it: a profile keytui does not switch keeps the old key, which then stops working.
        print(f"keytui: warning: local profile(s) {', '.join(others)} hold the old key {mask_key_id(old_key_id)}; "
              "keytui does not change them. Update them to the new key before the old one is "
              f"{'deleted' if args.delete_old else 'deactivated'}, or they stop working.", file=sys.stderr)
    if profile is None and not args.store_as:
        events.tty().close()  # fail now, before a key exists, if the secret could not be shown
    if not args.yes:
        from keytui.cli_tty import confirm

        target = (f"profile '{profile}'" if profile else f"the new keytui profile '{args.store_as}' (keyring)"
                  if args.store_as else "you (the new secret is shown once)")
        question = (f"Rotate {mask_key_id(old_key_id)} of {user}? The new key goes to {target}; the old one is "
                    f"{'deleted' if args.delete_old else 'deactivated'} after the new one works. [y/N] ")
        if not confirm(question, "keytui rotate: confirm with --yes when there is no terminal."):
            print("Nothing changed.", file=sys.stderr)
            return 1
    result = _interruptible(
        engine, user,
        lambda: engine.rotate(user, old_key_id, profile, events, delete_old=args.delete_old, store_as=args.store_as))
    return EXIT_INTERRUPTED if result is None else _report(result, args, out)


def _mfa_prompt(services) -> Callable[[str], str]:  # type: ignore[no-untyped-def]
    """F-08: IAM denied a call for lack of MFA; ask for one code on the terminal (the engine retries once)."""

    def prompt(reason: str) -> str:
        from keytui.cli_tty import ask, open_tty

        profile = services.acting_profile
        with open_tty(f"{reason}, and there is no terminal to ask for the code. Run `keytui session --profile "
                      f"{profile}` first (keytui then acts with that session), and rotate again.") as tty:
            return ask(tty, f"{reason}. MFA code: ")

    return prompt


def _interruptible(engine, user: str,  # type: ignore[no-untyped-def]
                   run: Callable[[], RotationResult]) -> RotationResult | None:
    """Ctrl-C stops the rotation where it is (its journal already says so): tell the user what exists and
    how to finish or undo it, from the journal alone (no AWS call after an interrupt). None if interrupted."""
    try:
        return run()
    except KeyboardInterrupt:
        try:
            journal = engine.open_journal(user)
        except KeytuiError:
            journal = None
        if journal is None:
            raise
        what = journal.describe()
        print(f"keytui: Interrupted. {what[:1].upper()}{what[1:]} {journal.advice()}", file=sys.stderr)
        return None


def _report(result, args: argparse.Namespace, out: TextIO) -> int:  # type: ignore[no-untyped-def]
    if args.json:
        json.dump(
            {"user": result.user, "old_key_id": result.old_key_id, "new_key_id": result.new_key_id,
             "steps": list(result.steps), "status": result.status},
            out,
        )
        out.write("\n")
    else:
        print(f"{result.status}: {result.user} "
              f"{mask_key_id(result.old_key_id)} -> {mask_key_id(result.new_key_id) if result.new_key_id else '-'}",
              file=out)
    return 0
