"""`keytui vault doctor`: which keyring backend is in use, whether D-Bus and a Secret Service are
reachable and unlocked, whether a write works, and the exact steps to fix a headless machine."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass, field

from keytui.vault.errors import VaultError
from keytui.vault.store import Vault

HEADLESS_LINUX_STEPS = (
    "Headless Linux, WSL or a container has no keyring until you start one:",
    "  1. install:  sudo apt-get install gnome-keyring dbus   (Fedora: sudo dnf install gnome-keyring dbus-daemon)",
    "  2. start a D-Bus session and an unlocked keyring in your shell:",
    "       dbus-run-session -- sh -c 'read -rsp \"keyring password: \" pw; echo;"
    " printf %s \"$pw\" | gnome-keyring-daemon --unlock --components=secrets >/dev/null; exec \"$SHELL\"'",
    "  3. run keytui inside that shell, then `keytui vault doctor` again.",
    "On a desktop session the keyring is already running: unlock it (log in again, or open Seahorse/KWallet).",
)


@dataclass
class DoctorReport:
    checks: list[tuple[str, str, bool]] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(passed for _, _, passed in self.checks)

    def add(self, label: str, value: str, passed: bool) -> None:
        self.checks.append((label, value, passed))

    def text(self) -> str:
        width = max((len(label) for label, _, _ in self.checks), default=0)
        lines = [f"{'ok ' if passed else 'NO '} {label.ljust(width)}  {value}" for label, value, passed in self.checks]
        if self.steps:
            lines += ["", "To fix:", *self.steps]
        else:
            lines += ["", "The keyring is ready: keytui can keep keys and sessions in it."]
        return "\n".join(lines)


def _secret_service(report: DoctorReport) -> None:
    bus = os.environ.get("DBUS_SESSION_BUS_ADDRESS")
    report.add("D-Bus session", bus or "not set (DBUS_SESSION_BUS_ADDRESS is empty)", bool(bus))
    try:
        import secretstorage
    except ImportError:
        report.add("Secret Service client", "python package secretstorage is not installed", False)
        return
    if not bus:
        report.add("Secret Service", "unreachable without a D-Bus session", False)
        return
    try:
        connection = secretstorage.dbus_init()
    except Exception as exc:  # secretstorage raises its own and jeepney's errors
        report.add("Secret Service", f"cannot connect to D-Bus: {exc}", False)
        return
    try:
        if not secretstorage.check_service_availability(connection):
            report.add("Secret Service", "no daemon answers on D-Bus (gnome-keyring/KWallet not running)", False)
            return
        report.add("Secret Service", "running", True)
        try:
            collection = secretstorage.get_default_collection(connection)
            locked = collection.is_locked()
            report.add("default collection", "LOCKED: unlock it and retry" if locked else "unlocked", not locked)
        except Exception as exc:
            report.add("default collection", f"missing or unreadable: {exc}", False)
    finally:
        connection.close()


def diagnose(vault: Vault) -> DoctorReport:
    report = DoctorReport()
    system = platform.system()
    report.add("platform", f"{system} {platform.release()}", True)
    info = vault.info
    report.add("keyring backend", info.label, info.kind in {"secure", "memory"} or (info.kind == "insecure" and vault.allow_insecure))
    if system == "Linux" and info.kind != "memory":
        _secret_service(report)
    if info.usable:
        try:
            vault.probe()
            report.add("test write", "written, read back and deleted", True)
        except VaultError as exc:
            report.add("test write", str(exc), False)
            if exc.code == "KeyringLocked":
                report.steps.append(
                    "The keyring is locked: unlock it (log in again, open Seahorse/KWallet/Keychain Access, or "
                    "run `gnome-keyring-daemon --unlock --components=secrets` and type its password), then retry."
                )
    if info.kind == "insecure":
        report.steps.append(
            "The backend in use keeps secrets in a readable file. Install a real keyring (below) or, knowingly, "
            "opt in with `[vault] allow_insecure_backend = true` in ~/.config/keytui/config.toml."
        )
    locked = any("locked" in step for step in report.steps)
    if not report.ok and system == "Linux" and not locked:
        report.steps.extend(HEADLESS_LINUX_STEPS)
    elif not report.ok and system == "Darwin":
        report.steps.append("Open Keychain Access and unlock the login keychain, then retry.")
    elif not report.ok and system == "Windows":
        report.steps.append("Windows Credential Locker should always be available; check `pip show keyring`.")
    return report
