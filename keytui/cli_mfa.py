"""`keytui mfa …` (enroll, list, remove, resync) and `keytui session`: MFA from a terminal or a script.

Codes and the seed are exchanged on the terminal (`/dev/tty`); stdout carries only results, so
`--json` output stays parseable.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timezone
from typing import TYPE_CHECKING, TextIO

from keytui.core.errors import KeytuiError

if TYPE_CHECKING:
    from keytui.core.mfa import MfaService, NewDevice
    from keytui.services import Services


def add_parsers(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    mfa = commands.add_parser("mfa", help="virtual MFA devices: enroll, list, remove, resync")
    sub = mfa.add_subparsers(dest="mfa_command", metavar="SUBCOMMAND", required=True)
    enroll = sub.add_parser("enroll", parents=[common], help="create and enable a virtual MFA device (QR code)")
    enroll.add_argument("user", metavar="USER", nargs="?", help="IAM user (default: the profile's own user)")
    enroll.add_argument("--device-name", help="name of the virtual device (default: the user name)")
    enroll.add_argument("--replace-leftover", action="store_true",
                        help="delete an unassigned device of the same name left by an abandoned enrollment")
    where = enroll.add_mutually_exclusive_group()
    where.add_argument("--write-profile", metavar="PROFILE", help="write mfa_serial into this profile without asking")
    where.add_argument("--no-write-profile", action="store_true", help="do not offer to write mfa_serial")
    lst = sub.add_parser("list", parents=[common], help="a user's MFA devices")
    lst.add_argument("user", metavar="USER", nargs="?", help="IAM user (default: the profile's own user)")
    lst.add_argument("--json", action="store_true", help="print JSON")
    remove = sub.add_parser("remove", parents=[common], help="deactivate and delete a user's MFA device")
    remove.add_argument("user", metavar="USER")
    remove.add_argument("--serial", help="the device (needed when the user has several)")
    remove.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    resync = sub.add_parser("resync", parents=[common], help="resynchronise a device from two consecutive codes")
    resync.add_argument("user", metavar="USER", nargs="?", help="IAM user (default: the profile's own user)")
    resync.add_argument("--serial", help="the device (needed when the user has several)")

    session = commands.add_parser("session", parents=[common], help="get an MFA session and keep it in the keyring")
    session.add_argument("--duration", type=int, metavar="SECONDS",
                         help="session length (user: 900–129600, default 43200; role: its duration_seconds or 3600)")
    session.add_argument("--code-stdin", action="store_true", help="read the MFA code from stdin (one line)")
    session.add_argument("--renew", action="store_true", help="get a new session even if the stored one is valid")
    session.add_argument("--fix-serial", action="store_true",
                         help="when AWS refuses mfa_serial, offer to write the user's real device into the profile")
    action = session.add_mutually_exclusive_group()
    action.add_argument("--status", action="store_true", help="show the stored session's state; ask for nothing")
    action.add_argument("--forget", action="store_true", help="delete the stored session from the keyring")


# -- session ----------------------------------------------------------------------------------------

def session_command(args: argparse.Namespace, services: Services, out: TextIO) -> int:
    from keytui.cli_vault import new_session
    from keytui.core.sessions import MfaSerialError

    broker = services.session_broker()
    profile = services.acting_profile
    state = broker.state(profile)
    if args.forget:
        if state.session is None:
            print(f"No MFA session is stored for profile '{profile}'; nothing to delete.", file=out)
            return 0
        broker.forget(profile)
        print(f"Deleted the MFA session of profile '{profile}' from the keyring.", file=out)
        return 0
    if args.status:
        print(f"{profile}: {state.describe()}{_expires(state.session)}", file=out)
        return 0 if state.valid else 1
    if state.valid and not args.renew:
        print(f"Profile '{profile}' already has an MFA session: {state.describe()}{_expires(state.session)}. "
              "Use --renew for a new one.", file=out)
        return 0
    code_source = None
    if args.code_stdin:
        if sys.stdin is None:
            raise KeytuiError("--code-stdin given but standard input is closed.", code="Usage")
        code_source = lambda: sys.stdin.readline(64).strip()  # noqa: E731 — one line, not until EOF
    try:
        session = new_session(broker, profile, args.duration, code_source)
    except MfaSerialError as exc:
        if not (args.fix_serial and exc.devices):
            raise
        return _fix_serial(services, profile, exc, out)
    left = broker.state(profile)
    if broker.values(profile).get("role_arn"):
        # botocore's own assume-role provider wins over credential_process in a profile with role_arn.
        use = (f"Run commands with it through `keytui exec --profile {profile} -- COMMAND` (the AWS CLI assumes "
               "a role profile itself and would not ask keytui).")
    else:
        use = (f"Tools configured with `credential_process = keytui credential-process --profile {profile}` get "
               f"it; or run `keytui exec --profile {profile} -- COMMAND`.")
    print(
        f"MFA session for profile '{profile}' stored in the keyring ({services.vault.info.label}): "
        f"{left.describe()}{_expires(session)}.\n{use}",
        file=out,
    )
    return 0


def _expires(session) -> str:  # type: ignore[no-untyped-def]
    if session is None:
        return ""
    return f" (expires {session.expiration.astimezone(timezone.utc):%Y-%m-%d %H:%M:%S} UTC)"


def _fix_serial(services: Services, profile: str, exc, out: TextIO) -> int:  # type: ignore[no-untyped-def]
    from keytui.cli_tty import ask, open_tty
    from keytui.core.awsfiles import set_profile_value

    device = exc.devices[0]
    print(f"keytui: {exc}", file=sys.stderr)
    with open_tty("--fix-serial asks before editing the profile, and there is no terminal.") as tty:
        answer = ask(tty, f"Write mfa_serial = {device} into profile '{profile}'? [y/N] ")
    if answer.lower() not in {"y", "yes"}:
        print("The profile was not changed.", file=out)
        return 1
    set_profile_value(services.vault_service.config_file, profile, "mfa_serial", device)
    print(f"Profile '{profile}' now has mfa_serial = {device}. Run `keytui session` again.", file=out)
    return 0


# -- mfa ----------------------------------------------------------------------------------------------

def mfa_command(args: argparse.Namespace, services: Services, out: TextIO) -> int:
    handler = {"enroll": _enroll, "list": _list, "remove": _remove, "resync": _resync}[args.mfa_command]
    return handler(args, services, out)


def _user(args: argparse.Namespace, services: Services) -> str:
    if getattr(args, "user", None):
        return args.user
    identity = services.identity()
    if not identity.is_user:
        raise KeytuiError(f"{identity.arn} is not an IAM user; name the user.", code="Usage")
    return identity.name


def _list(args: argparse.Namespace, services: Services, out: TextIO) -> int:
    user = _user(args, services)
    devices = services.mfa_service().list_devices(user)
    if args.json:
        json.dump({"user": user, "devices": [
            {"serial": d.serial, "virtual": d.virtual,
             "enabled": d.enabled.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if d.enabled else None}
            for d in devices]}, out, indent=2)
        out.write("\n")
        return 0
    if not devices:
        print(f"{user} has no MFA device. Enroll one with: keytui mfa enroll {user}", file=out)
        return 0
    for d in devices:
        kind = "virtual" if d.virtual else "hardware"
        since = f"enabled {d.enabled:%Y-%m-%d}" if d.enabled else ""
        print(f"{d.serial}  {kind}  {since}".rstrip(), file=out)
    return 0


def _pick_serial(service: MfaService, user: str, serial: str | None) -> str:
    devices = [d.serial for d in service.list_devices(user)]
    if serial:
        if serial not in devices:
            raise KeytuiError(f"{serial} is not one of {user}'s MFA devices ({', '.join(devices) or 'none'}).",
                              code="Usage")
        return serial
    if not devices:
        raise KeytuiError(f"{user} has no MFA device.", code="NoDevice")
    if len(devices) > 1:
        raise KeytuiError(f"{user} has {len(devices)} MFA devices; choose one with --serial: {', '.join(devices)}.",
                          code="Usage")
    return devices[0]


def _remove(args: argparse.Namespace, services: Services, out: TextIO) -> int:
    service = services.mfa_service()
    serial = _pick_serial(service, args.user, args.serial)
    if not args.yes:
        from keytui.cli_tty import confirm

        question = (f"Deactivate and delete {serial} of {args.user}? {args.user} signs in without MFA until a new "
                    "device is enrolled, and sessions that need it fail. [y/N] ")
        if not confirm(question, "keytui mfa remove: confirm with --yes when there is no terminal."):
            print("Nothing changed.", file=out)
            return 1
    service.remove(args.user, serial)
    print(f"Removed {serial} from {args.user}.", file=out)
    return 0


def _resync(args: argparse.Namespace, services: Services, out: TextIO) -> int:
    from keytui.cli_tty import ask, open_tty

    user = _user(args, services)
    service = services.mfa_service()
    serial = _pick_serial(service, user, args.serial)
    with open_tty("keytui mfa resync asks for two codes on a terminal, and there is no terminal.") as tty:
        first = ask(tty, f"Code now shown for {serial}: ")
        second = ask(tty, "Wait for the next code, then type it: ")
    service.resync(user, serial, first, second)
    print(f"Resynchronised {serial} of {user}.", file=out)
    return 0


# -- enroll ---------------------------------------------------------------------------------------------

def _enroll(args: argparse.Namespace, services: Services, out: TextIO) -> int:
    from keytui.cli_tty import ask, open_tty
    from keytui.core.mfa import LeftoverDeviceError

    user = _user(args, services)
    service = services.mfa_service()
    # The QR code and the seed go to the terminal only: never to stdout, which may be a log file.
    tty = open_tty("Enrolling shows a QR code and asks for two codes on a terminal, and there is no terminal here. "
                   "Run it interactively.")
    with tty:
        try:
            device = service.create_device(user, args.device_name)
        except LeftoverDeviceError as exc:
            if not exc.unassigned or exc.serial is None:
                raise
            tty.write(f"{exc}\n")
            if not args.replace_leftover and ask(tty, "Delete the leftover device and start again? [y/N] ").lower() not in {"y", "yes"}:
                raise
            service.delete_leftover(exc.serial)
            device = service.create_device(user, args.device_name)
        try:
            with _signals_interrupt():
                checked = _collect_and_enable(tty, service, device, services)
        except BaseException as stopped:
            tty.write(_CLEAR)
            _cancel(tty, service, device, stopped)  # an abandoned enrollment leaves nothing behind (F-07)
            raise
        tty.write(_CLEAR)
    if checked.warning:
        print(f"keytui: warning: {checked.warning}", file=sys.stderr)
    print(f"MFA enabled for {user}: {device.serial}.", file=out)
    _offer_profile(args, services, user, device.serial, out)
    return 0


_CLEAR = "\033[2J\033[H"  # the QR code and the seed do not stay on the screen once enrollment ends


def _cancel(tty: TextIO, service: MfaService, device: NewDevice, stopped: BaseException) -> None:
    try:
        service.cancel(device)
    except KeytuiError as failed:
        # Say both: why the enrollment stopped, and that the device is still there (the next enroll offers it).
        raise KeytuiError(
            f"{stopped or type(stopped).__name__} The new device {device.serial} could not be deleted either "
            f"({failed}); it is left unassigned, and the next `keytui mfa enroll` offers to delete it.",
            code=getattr(stopped, "code", None) or failed.code,
        ) from stopped
    tty.write(f"Enrollment cancelled; the new device {device.serial} was deleted.\n")


@contextmanager
def _signals_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP (the terminal closed) stop an enrollment like Ctrl-C does, so the device keytui
    created is deleted instead of left behind."""
    import signal

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _collect_and_enable(tty: TextIO, service: MfaService, device: NewDevice, services: Services):  # type: ignore[no-untyped-def]
    from keytui.cli_tty import ATTEMPTS, ask
    from keytui.core.mfa import MfaCodeError, seconds_left
    from keytui.core.qr import encode, render_half_blocks

    uri = device.uri().reveal()
    tty.write("\nScan this with your authenticator app:\n\n")
    # White modules on black, whatever the terminal's theme: a scanner needs dark modules on light, and the
    # glyphs draw the light ones (render_half_blocks), so a light theme would otherwise show a negative.
    lines = render_half_blocks(encode(uri), quiet=2)
    tty.write("".join(f"\033[97;40m{line}\033[0m\n" for line in lines))
    tty.write(f"Secret for manual entry: {'•' * 16} (type 's' to show it)\n\n")
    tty.flush()
    for attempt in range(1, ATTEMPTS + 1):
        first = ask(tty, f"First code (changes in {seconds_left(services.clock.now())} s): ")
        while first.lower() == "s":
            tty.write(f"Secret: {device.seed.reveal()}\n")
            first = ask(tty, f"First code (changes in {seconds_left(services.clock.now())} s): ")
        second = ask(tty, f"Wait for the next code ({seconds_left(services.clock.now())} s), then type it: ")
        try:
            return service.enable(device, first, second)
        except MfaCodeError as exc:
            if attempt == ATTEMPTS:
                raise
            tty.write(f"{exc}\n")
    raise AssertionError("unreachable")


def _offer_profile(args: argparse.Namespace, services: Services, user: str, serial: str, out: TextIO) -> None:
    """Write mfa_serial into the profile that acts as this user, so `keytui session` works next."""
    from keytui.cli_tty import ask, has_tty, open_tty
    from keytui.core.awsfiles import set_profile_value

    if args.no_write_profile or services.vault_service is None:
        return
    profile = args.write_profile
    if profile is None:
        if services.identity().name != user or not has_tty():
            return  # another user's device: their profile is on their machine
        profile = services.acting_profile
        with open_tty("") as tty:
            if ask(tty, f"Write mfa_serial = {serial} into profile '{profile}'? [Y/n] ").lower() not in {"", "y", "yes"}:
                return
    set_profile_value(services.vault_service.config_file, profile, "mfa_serial", serial)
    print(f"Profile '{profile}' now has mfa_serial; get a session with: keytui session --profile {profile}", file=out)
