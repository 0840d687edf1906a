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
class Settings:
    thresholds: Thresholds = field(default_factory=Thresholds)
    aws: AwsSettings = field(default_factory=AwsSettings)
    # [keys]: binding id -> key(s), e.g. "users.refresh" = "f5" (Textual's App.set_keymap).
    keymap: tuple[tuple[str, str], ...] = ()


def config_dir(environ: Mapping[str, str] = os.environ) -> Path:
    base = environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "keytui"


def settings_path(environ: Mapping[str, str] = os.environ) -> Path:
    explicit = environ.get("KEYTUI_CONFIG")
    return Path(explicit) if explicit else config_dir(environ) / "config.toml"


def _section(cls: type, name: str, values: Mapping[str, Any], environ: Mapping[str, str], source: str) -> Any:
    known = {f.name: f.type for f in fields(cls)}
    unknown = set(values) - set(known)
    if unknown:
        raise KeytuiError(f"Unknown setting(s) in [{name}] of {source}: {', '.join(sorted(unknown))}. "
                          f"Known: {', '.join(known)}.")
    merged = dict(values)
    for key in known:
        env_value = environ.get(f"KEYTUI_{name.upper()}_{key.upper()}")
        if env_value is not None:
            merged[key] = env_value
    converted: dict[str, Any] = {}
    defaults = cls()
    for key, value in merged.items():
        kind = type(getattr(defaults, key))
        try:
            converted[key] = kind(value)
        except (TypeError, ValueError):
            raise KeytuiError(f"Setting {name}.{key} must be a {kind.__name__}, got {value!r} ({source}).") from None
    try:
        return replace(defaults, **converted)
    except ValueError as exc:
        raise KeytuiError(f"Invalid settings in [{name}] ({source}): {exc}.") from None


def load_settings(environ: Mapping[str, str] = os.environ) -> Settings:
    path = settings_path(environ)
    data: dict[str, Any] = {}
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise KeytuiError(f"Could not read keytui settings {path}: {exc}. Fix or remove the file.") from None
    unknown = set(data) - {"thresholds", "aws", "keys"}
    if unknown:
        raise KeytuiError(f"Unknown section(s) in {path}: {', '.join(sorted(unknown))}. Known: thresholds, aws, keys.")
    keys = data.get("keys", {})
    if not all(isinstance(v, str) for v in keys.values()):
        raise KeytuiError(f"Every entry of [keys] in {path} must be a binding id = \"key\" string.")
    aws = _section(AwsSettings, "aws", data.get("aws", {}), environ, str(path))
    if aws.retry_mode not in {"standard", "adaptive", "legacy"}:
        raise KeytuiError(f"Setting aws.retry_mode must be standard or adaptive, got {aws.retry_mode!r} ({path}).")
    return Settings(
        thresholds=_section(Thresholds, "thresholds", data.get("thresholds", {}), environ, str(path)),
        aws=aws,
        keymap=tuple(sorted(keys.items())),
    )
