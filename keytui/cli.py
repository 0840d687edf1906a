"""The `keytui` command: the TUI by default, subcommands for scripts. Heavy imports (boto3, Textual,
moto) happen inside the subcommand that needs them, so `--help` and errors stay fast.

Exit codes: 0 success, 1 failure (one paragraph on stderr), 2 usage.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from pathlib import Path

    from keytui.core.aws import AwsTarget
    from keytui.core.models import IamUser
    from keytui.services import Services

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    # Subcommands repeat --profile/--region with a suppressed default, so that
    # `keytui --profile work users` keeps the value given before the subcommand.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--profile", default=argparse.SUPPRESS, help="AWS profile (default: AWS_PROFILE, then 'default')")
    common.add_argument("--region", default=argparse.SUPPRESS, help="AWS region (default: AWS_REGION or the profile's)")

    parser = argparse.ArgumentParser(
        prog="keytui",
        description="AWS IAM credential hygiene: see keys, rotate them, MFA, keyring-held credentials.",
        epilog="Run without a command to open the terminal app. Try it safely with: keytui --demo",
    )
    parser.add_argument("--profile", help="AWS profile (default: AWS_PROFILE, then 'default')")
    parser.add_argument("--region", help="AWS region (default: AWS_REGION or the profile's)")
    parser.add_argument("--demo", action="store_true", help="open the app on the embedded demo account (no AWS needed)")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    users = commands.add_parser("users", parents=[common], help="inventory: users, keys, ages, last use, MFA")
    users.add_argument("--json", action="store_true", help="stable JSON (schema keytui.users/1, see README)")

    from keytui import cli_vault

    cli_vault.add_parsers(commands, common)
    from keytui import cli_rotate

    cli_rotate.add_parser(commands, common)
    from keytui import cli_mfa

    cli_mfa.add_parsers(commands, common)
    from keytui import cli_audit

    cli_audit.add_parser(commands, common)

    demo = commands.add_parser("demo", help="the embedded demo account")
    demo_commands = demo.add_subparsers(dest="demo_command", metavar="SUBCOMMAND", required=True)
    serve = demo_commands.add_parser("serve", help="serve the demo account on 127.0.0.1 until Ctrl-C")
    serve.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from keytui.core.errors import KeytuiError

    if args.demo and args.command:
        _fail(f"--demo opens the app on the demo account; it does not apply to `keytui {args.command}`. For commands, "
              "run `keytui demo serve` and use the exports it prints.")
        return EXIT_USAGE
    try:
        if args.version:
            from keytui import __version__

            print(f"keytui {__version__}")
            return EXIT_OK
        if args.command == "users":
            return _users(args, sys.stdout)
        if args.command == "rotate":
            from keytui.cli_rotate import rotate_command

            return rotate_command(args, _services(_target(args)), sys.stdout)
        if args.command == "audit":
            from keytui.cli_audit import audit_command

            return audit_command(args, _services(_target(args)), sys.stdout)
        if args.command in {"mfa", "session"}:
            from keytui import cli_mfa

            handler = cli_mfa.mfa_command if args.command == "mfa" else cli_mfa.session_command
            return handler(args, _services(_target(args)), sys.stdout)
        if args.command in {"vault", "credential-process", "exec"}:
            from keytui import cli_vault

            if args.command == "vault":
                return cli_vault.vault_command(args, sys.stdout)
            if args.command == "credential-process":
                return cli_vault.credential_process(args.profile, sys.stdout)
            return cli_vault.exec_command(args.profile, args.command_args)
        if args.command == "demo":
            return _demo_serve(args.port, sys.stdout)
        return _tui(args)
    except KeytuiError as exc:
        _fail(str(exc))
        return EXIT_USAGE if exc.code == "Usage" else EXIT_FAILURE
    except KeyboardInterrupt:
        _fail("Interrupted.")
        return 130
    except EOFError:
        _fail("Cancelled (end of input at a prompt); nothing was changed.")
        return EXIT_FAILURE
    except BrokenPipeError:
        # The reader went away (`keytui users | head`): stop quietly, and keep Python from complaining
        # again when it flushes stdout at exit.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILURE


def _fail(message: str) -> None:
    print(f"keytui: {message}", file=sys.stderr)


def _target(args: argparse.Namespace) -> AwsTarget:
    from keytui.core.aws import AwsTarget

    return AwsTarget(profile=args.profile, region=args.region)


def _services(
    target: AwsTarget, *, demo: bool = False, tolerate_errors: bool = False, keyring: object = None,
    state_folder: Path | None = None,
) -> Services:
    from keytui.core.settings import load_settings
    from keytui.services import build_services

    return build_services(
        target, load_settings(), demo=demo, tolerate_errors=tolerate_errors, keyring_backend=keyring,
        state_folder=state_folder,
    )


def _users(args: argparse.Namespace, out: TextIO) -> int:
    import json

    from keytui.core import present

    services = _services(_target(args))
    source = services.credential_source()
    for warning in source.warnings:
        _fail(f"warning: {warning}")
    identity = services.identity()
    if not args.json and out.isatty():
        print(f"{identity.name} in account {identity.account} (via {source.label}); loading…", file=sys.stderr)
    inventory = services.load_inventory()
    # Profiles holding each key, in the AWS files *and* in the keyring (a managed profile's key is only there).
    holders = services.key_holders()
    if services.holders_warning:
        _fail(f"warning: {services.holders_warning}")
    now, thresholds = services.clock.now(), services.settings.thresholds
    if args.json:
        json.dump(present.inventory_json(inventory, identity, thresholds, holders, now), out, indent=2)
        out.write("\n")
    else:
        from keytui.users_table import write_table

        write_table(out, inventory, thresholds, holders, now, color=out.isatty() and not _no_color())
    unknown = inventory.unknown_users
    if unknown:
        names = ", ".join(f"{u.name} ({_unknown_reason(u)})" for u in unknown[:5])
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        users = "user" if len(unknown) == 1 else "users"
        _fail(
            f"The keys of {len(unknown)} {users} could not be read: {names}{more}. They are shown as unknown; "
            "the listing is incomplete, so keytui drew no conclusions about them."
        )
        return EXIT_FAILURE
    return EXIT_OK


def _unknown_reason(user: IamUser) -> str:
    """`unknown (AccessDenied)` -> `AccessDenied`: the sentence already says the keys are unknown."""
    reason = user.keys_unknown_reason() or "not read"
    if reason.startswith("unknown (") and reason.endswith(")"):
        return reason[len("unknown (") : -1]
    return reason


def _no_color() -> bool:
    import os

    return bool(os.environ.get("NO_COLOR"))


def _demo_serve(port: int, out: TextIO) -> int:
    from keytui.demo import DEMO_PROFILE, DemoAccount

    def ready(demo: DemoAccount) -> None:
        print(
            f"keytui demo account serving on {demo.endpoint_url} (Ctrl-C to stop).\n"
            "In another shell, point the AWS CLI, SDKs and keytui at it:\n\n"
            f"  export AWS_ENDPOINT_URL={demo.endpoint_url}\n"
            f"  export AWS_CONFIG_FILE={demo.config_file}\n"
            f"  export AWS_SHARED_CREDENTIALS_FILE={demo.credentials_file}\n"
            f"  export AWS_PROFILE={DEMO_PROFILE}\n"
            "  export PYTHON_KEYRING_BACKEND=keytui.vault.memory.DemoFileKeyring\n"
            f"  export KEYTUI_DEMO_KEYRING={demo.keyring_file}\n"
            f"  export KEYTUI_STATE_DIR={demo.home / 'state'}\n\n"
            "then e.g.: keytui users\n"
            "MFA sessions: profile demo-mfa has mfa_serial; `keytui session --profile demo-mfa` takes any six\n"
            "digits here (the demo account does not check codes), then `aws --profile demo-mfa …` gets it.",
            file=out,
            flush=True,
        )

    # Ctrl-C, SIGTERM (systemd, docker stop, kill) and SIGHUP (terminal closed) all stop the server and
    # delete the temporary files, which hold moto's fake secrets.
    DemoAccount(port=port, shared_keyring=True).serve(ready)
    print("\nDemo account stopped; its temporary files are deleted.", file=out, flush=True)
    return EXIT_OK


def _tui(args: argparse.Namespace) -> int:
    from keytui.ui.app import run_app

    if args.demo:
        from keytui.demo import DEMO_PROFILE, DemoAccount

        with DemoAccount() as demo:
            import os

            # Locks and records (used codes, mutes) of the throw-away account stay in its own folder.
            os.environ["KEYTUI_STATE_DIR"] = str(demo.home / "state")

            def demo_services(profile: str | None) -> Services:
                return _services(demo.target(profile), demo=True, tolerate_errors=True, keyring=demo.keyring,
                                 state_folder=demo.home / "state")

            return run_app(demo_services(DEMO_PROFILE), demo_services)
    from keytui.core.aws import AwsTarget

    services = _services(_target(args), tolerate_errors=True)
    return run_app(services, lambda profile: _services(AwsTarget(profile=profile, region=args.region), tolerate_errors=True))
