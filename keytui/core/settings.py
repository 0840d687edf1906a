"""keytui's own settings: a TOML file (non-secret) plus KEYTUI_* environment overrides.

File: $KEYTUI_CONFIG, else $XDG_CONFIG_HOME/keytui/config.toml, else ~/.config/keytui/config.toml.
Environment: KEYTUI_<SECTION>_<KEY>, e.g. KEYTUI_THRESHOLDS_WARN_DAYS=30.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from keytui.core.errors import KeytuiError
from keytui.core.models import Thresholds


@dataclass(frozen=True)
class AwsSettings:
    concurrency: int = 16
    retry_mode: str = "standard"  # botocore: standard or adaptive
    max_attempts: int = 8


@dataclass(frozen=True)
class VaultSettings:
    # Store secrets in a plaintext/"alt" file keyring backend anyway. Off unless the user opts in.
    allow_insecure_backend: bool = False
    # Seconds before a session's expiry when it is no longer served (refreshed instead).
    session_margin: int = 300


@dataclass(frozen=True)
class RotationSettings:
    # Days an inactive key is kept before keytui marks it as one that can be deleted (--deactivate-only
    # leaves the old key inactive; `d` in the app deletes it).
    grace_days: int = 7


@dataclass(frozen=True)
class AuditSettings:
    """The audit's thresholds (defaults: the CIS AWS Foundations Benchmark and common practice)."""

    key_age_days: int = 90  # an active key older than this fails key-age
    key_age_high_days: int = 730  # … and older than this is a high finding
    unused_days: int = 45  # a key or password unused this long fails unused
    root_use_fail_days: int = 1  # root used this recently: fail root-use
    root_use_warn_days: int = 90  # … this recently: warn
    password_min_length: int = 14
    password_reuse_prevention: int = 24


@dataclass(frozen=True)
class Settings:
    thresholds: Thresholds = field(default_factory=Thresholds)
    aws: AwsSettings = field(default_factory=AwsSettings)
    vault: VaultSettings = field(default_factory=VaultSettings)
    rotation: RotationSettings = field(default_factory=RotationSettings)
    audit: AuditSettings = field(default_factory=AuditSettings)
    # [keys]: binding id -> key(s), e.g. "users.refresh" = "f5" (Textual's App.set_keymap).
    keymap: tuple[tuple[str, str], ...] = ()


def config_dir(environ: Mapping[str, str] = os.environ) -> Path:
    base = environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "keytui"


def settings_path(environ: Mapping[str, str] = os.environ) -> Path:
    explicit = environ.get("KEYTUI_CONFIG")
    return Path(explicit) if explicit else config_dir(environ) / "config.toml"


_KIND_WORDS = {int: "a whole number", str: "a string", bool: "true or false"}


def _section(cls: type, name: str, values: Any, environ: Mapping[str, str], source: str) -> Any:
    if not isinstance(values, Mapping):
        # `thresholds = 5` instead of a [thresholds] table: say so rather than fail on it.
        raise KeytuiError(f"[{name}] in {source} must be a table of settings, got {values!r}.")
    known = {f.name: f.type for f in fields(cls)}
    unknown = set(values) - set(known)
    if unknown:
        raise KeytuiError(f"Unknown setting(s) in [{name}] of {source}: {', '.join(sorted(unknown))}. "
                          f"Known: {', '.join(known)}.")
    merged = dict(values)
    origin = dict.fromkeys(values, source)
    for key in known:
        variable = f"KEYTUI_{name.upper()}_{key.upper()}"
        env_value = environ.get(variable)
        if env_value is not None:
            merged[key] = env_value
            origin[key] = f"environment variable {variable}"
    converted: dict[str, Any] = {}
    defaults = cls()
    for key, value in merged.items():
        kind = type(getattr(defaults, key))
        try:
            if kind is bool and isinstance(value, str) and origin[key] == source:
                raise TypeError(value)  # in TOML a yes/no is `true`/`false`; "yes" (a string) is a mistake
            converted[key] = _convert(kind, value)
        except (TypeError, ValueError):
            words = _KIND_WORDS.get(kind, f"a {kind.__name__}")
            raise KeytuiError(f"Setting {name}.{key} must be {words}, got {value!r} ({origin[key]}).") from None
    try:
        return replace(defaults, **converted)
    except ValueError as exc:
        where = ", ".join(sorted(set(origin.values()))) or source
        raise KeytuiError(f"Invalid settings in [{name}] ({where}): {exc}.") from None


def _convert(kind: type, value: Any) -> Any:
    if kind is bool and isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off"}:
            return False
        raise ValueError(value)
    if kind is bool and not isinstance(value, bool):
        raise TypeError(value)
    # int(True) == 1 and int(30.5) == 30: a TOML `warn_days = true` or `= 30.5` is a mistake, not a value.
    if (kind is int and not isinstance(value, (int, str))) or (isinstance(value, bool) and kind is not bool):
        raise TypeError(value)
    if kind is str and not isinstance(value, str):
        raise TypeError(value)
    return kind(value)


def load_settings(environ: Mapping[str, str] = os.environ) -> Settings:
    path = settings_path(environ)
    data: dict[str, Any] = {}
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise KeytuiError(f"Could not read keytui settings {path}: {exc}. Fix or remove the file.") from None
    unknown = set(data) - {"thresholds", "aws", "vault", "rotation", "audit", "keys"}
    if unknown:
        raise KeytuiError(
            f"Unknown section(s) in {path}: {', '.join(sorted(unknown))}. Known: thresholds, aws, vault, rotation, "
            "audit, keys."
        )
    keys = data.get("keys", {})
    if not isinstance(keys, dict) or not all(isinstance(v, str) for v in keys.values()):
        raise KeytuiError(f"Every entry of [keys] in {path} must be a binding id = \"key\" string.")
    aws = _section(AwsSettings, "aws", data.get("aws", {}), environ, str(path))
    if aws.retry_mode not in {"standard", "adaptive", "legacy"}:
        raise KeytuiError(f"Setting aws.retry_mode must be standard or adaptive, got {aws.retry_mode!r} ({path}).")
    for key, low, high in (("concurrency", 1, 64), ("max_attempts", 1, 20)):
        if not low <= getattr(aws, key) <= high:
            raise KeytuiError(f"Setting aws.{key} must be between {low} and {high}, got {getattr(aws, key)}.")
    vault = _section(VaultSettings, "vault", data.get("vault", {}), environ, str(path))
    if vault.session_margin < 0:
        raise KeytuiError(f"Setting vault.session_margin must be 0 or more seconds, got {vault.session_margin}.")
    rotation = _section(RotationSettings, "rotation", data.get("rotation", {}), environ, str(path))
    if rotation.grace_days < 0:
        raise KeytuiError(f"Setting rotation.grace_days must be 0 or more days, got {rotation.grace_days}.")
    audit = _section(AuditSettings, "audit", data.get("audit", {}), environ, str(path))
    for name in ("key_age_days", "key_age_high_days", "unused_days", "root_use_fail_days", "root_use_warn_days",
                 "password_min_length"):
        if getattr(audit, name) <= 0:
            raise KeytuiError(f"Setting audit.{name} must be positive, got {getattr(audit, name)}.")
    return Settings(
        audit=audit,
        thresholds=_section(Thresholds, "thresholds", data.get("thresholds", {}), environ, str(path)),
        aws=aws,
        vault=vault,
        rotation=rotation,
        keymap=tuple(sorted(keys.items())),
    )
