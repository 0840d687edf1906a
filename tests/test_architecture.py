"""The layer rule, checked two ways: what a fresh interpreter loads when it imports a layer, and the
import-linter contracts of pyproject.toml (`lint-imports`)."""

from __future__ import annotations

import ast
import json
import os
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import keytui

from .conftest import clean_environ

PACKAGE = Path(keytui.__file__).parent
ROOT = PACKAGE.parent


def modules_of(package: str) -> list[str]:
    folder = PACKAGE.joinpath(*package.split(".")[1:])
    return [package] + [
        info.name for info in pkgutil.walk_packages([str(folder)], prefix=f"{package}.")
    ]


def loaded_after_import(modules: list[str], watch: list[str]) -> list[str]:
    """Import `modules` in a fresh interpreter; which of `watch` ended up in sys.modules?"""
    code = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(json.dumps(sorted(m for m in {watch!r} if m in sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=clean_environ(), timeout=120, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_architecture_core_imports_no_textual_rich_or_keyring() -> None:
    core = modules_of("keytui.core")
    assert "keytui.core.inventory" in core and "keytui.core.aws" in core

    assert loaded_after_import(core, ["textual", "rich", "keyring", "moto", "keytui.vault", "keytui.ui"]) == []


def test_architecture_services_import_no_textual_or_rich() -> None:
    # services wires the vault, so the keyring package is fair game there; the UI toolkit is not.
    assert loaded_after_import(["keytui.services"], ["textual", "rich", "moto", "keytui.ui"]) == []


def test_architecture_vault_imports_no_textual_or_rich() -> None:
    assert loaded_after_import(modules_of("keytui.vault"), ["textual", "rich", "keytui.ui"]) == []


def _direct_imports(path: Path) -> set[str]:
    """Top-level package names a module imports anywhere in its body (lazy imports included)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.skipif(not (PACKAGE / "ui" / "app.py").exists(), reason="keytui/ui/app.py does not exist yet")
def test_architecture_ui_modules_do_not_import_aws_libraries() -> None:
    # botocore arrives indirectly (keytui.core.errors uses it), which import-linter allows; the UI's own
    # modules must not import boto3/botocore/moto themselves, and opening the app must not load moto.
    offenders = {
        str(path.relative_to(ROOT)): sorted(_direct_imports(path) & {"boto3", "botocore", "moto"})
        for path in (PACKAGE / "ui").rglob("*.py")
    }
    assert {path: names for path, names in offenders.items() if names} == {}
    assert loaded_after_import(["keytui.ui.app"], ["moto", "keytui.demo"]) == []


def _lint_imports() -> str:
    found = Path(sys.executable).parent / "lint-imports"
    if found.exists():
        return str(found)
    which = shutil.which("lint-imports")
    if which is None:
        pytest.fail("lint-imports (import-linter) is not installed in this environment")
    return which


def test_architecture_import_linter_contracts_are_kept() -> None:
    env = clean_environ()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))

    result = subprocess.run(
        [_lint_imports(), "--config", str(ROOT / "pyproject.toml")],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
