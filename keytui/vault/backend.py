"""Which keyring backend is in use and how far to trust it: secure (Keychain, Windows Credential Locker,
Secret Service, KWallet), insecure (plaintext or "alt" file backends), memory (keytui's demo/test
backend), or none."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SECURE_MODULES = (
    "keyring.backends.SecretService",
    "keyring.backends.libsecret",
    "keyring.backends.kwallet",
    "keyring.backends.macOS",
    "keyring.backends.Windows",
)
NONE_MODULES = ("keyring.backends.fail", "keyring.backends.null")


@dataclass(frozen=True)
class BackendInfo:
    name: str  # e.g. "SecretService Keyring"
    kind: str  # "secure" | "insecure" | "memory" | "none"

    @property
    def label(self) -> str:
        return f"{self.name} ({self.kind})"

    @property
    def usable(self) -> bool:
        return self.kind in {"secure", "memory", "insecure"}


def _name(backend: Any) -> str:
    return getattr(backend, "name", None) or f"{type(backend).__module__}.{type(backend).__name__}"


def classify(backend: Any) -> BackendInfo:
    module = type(backend).__module__
    if module.startswith("keyring.backends.chainer"):
        # The chainer asks its backends in priority order; the first one decides where secrets go.
        chained = list(getattr(backend, "backends", []))
        if not chained:
            return BackendInfo("no backend", "none")
        return classify(chained[0])
    if getattr(backend, "keytui_memory", False):
        return BackendInfo(_name(backend), "memory")
    if module.startswith(NONE_MODULES):
        return BackendInfo(_name(backend), "none")
    if module.startswith(SECURE_MODULES):
        return BackendInfo(_name(backend), "secure")
    # keyrings.alt (PlaintextKeyring, EncryptedKeyring with a file next to it …) and anything unknown:
    # treated as insecure, so secrets need an explicit opt-in.
    return BackendInfo(_name(backend), "insecure")
