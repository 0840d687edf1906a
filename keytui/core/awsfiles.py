"""Edits to `~/.aws/config` and `~/.aws/credentials` that keep everything else exactly as it was:
other sections, comments, order, line endings and the file's mode. Written atomically.

botocore's loader is used for reading profiles elsewhere; it cannot write, and configparser would drop
comments, so edits are made on the lines themselves.
"""

from __future__ import annotations

import fcntl
import os
import re
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from keytui.core.errors import KeytuiError

_HEADER = re.compile(r"^\s*\[\s*([^\]]+?)\s*\]\s*(?:[#;].*)?$")
_KEY = re.compile(r"^([^\s=#;\[][^=]*?)\s*=\s*(.*?)\s*$")


@dataclass(frozen=True)
class Section:
    name: str  # as written inside the brackets, e.g. "profile work" or "work"
    start: int  # index of the header line
    end: int  # index after the section's last line


class IniDocument:
    def __init__(self, text: str) -> None:
        self.newline = "\r\n" if "\r\n" in text else "\n"
        self.lines = text.splitlines()
        self.trailing_newline = text.endswith(("\n", "\r"))

    def text(self) -> str:
        body = self.newline.join(self.lines)
        return body + self.newline if (self.trailing_newline or self.lines) and body else body

    def sections(self) -> list[Section]:
        heads = [(i, m.group(1)) for i, line in enumerate(self.lines) if (m := _HEADER.match(line))]
        return [
            Section(name, start, heads[n + 1][0] if n + 1 < len(heads) else len(self.lines))
            for n, (start, name) in enumerate(heads)
        ]

    def section(self, name: str) -> Section | None:
        wanted = " ".join(name.split())
        matches = [s for s in self.sections() if " ".join(s.name.split()) == wanted]
        return matches[0] if matches else None

    def _key_lines(self, section: Section) -> Iterator[tuple[int, str, str]]:
        for i in range(section.start + 1, section.end):
            line = self.lines[i]
            if line[:1] in (" ", "\t"):
                continue  # a continuation of the previous key (nested config such as s3 = …)
            match = _KEY.match(line)
            if match:
                yield i, match.group(1).strip(), match.group(2)

    def values(self, name: str) -> dict[str, list[str]]:
        section = self.section(name)
        found: dict[str, list[str]] = {}
        if section:
            for _, key, value in self._key_lines(section):
                found.setdefault(key.lower(), []).append(value)
        return found

    def set(self, name: str, key: str, value: str) -> None:
        section = self.section(name)
        line = f"{key} = {value}"
        if section is None:
            if self.lines and self.lines[-1].strip():
                self.lines.append("")
            self.lines += [f"[{name}]", line]
            return
        existing = [i for i, k, _ in self._key_lines(section) if k.lower() == key.lower()]
        if existing:
            self.lines[existing[0]] = line
            for i in reversed(existing[1:]):
                del self.lines[i]
            return
        keys = [i for i, _, _ in self._key_lines(section)]
        insert_at = (keys[-1] + 1) if keys else section.start + 1
        while insert_at < section.end and self.lines[insert_at][:1] in (" ", "\t"):
            insert_at += 1
        self.lines.insert(insert_at, line)

    def remove_keys(self, name: str, keys: set[str]) -> int:
        """Remove `keys` (and their continuation lines) from a section; drop the section if no key is left."""
        section = self.section(name)
        if section is None:
            return 0
        doomed: list[int] = []
        for i, key, _ in self._key_lines(section):
            if key.lower() in keys:
                doomed.append(i)
                j = i + 1
                while j < section.end and self.lines[j][:1] in (" ", "\t"):
                    doomed.append(j)
                    j += 1
        for i in sorted(doomed, reverse=True):
            del self.lines[i]
        section = self.section(name)
        if section and not list(self._key_lines(section)):
            # Only the header (and maybe blank lines/comments) remain: remove header and trailing blanks.
            end = section.end
            body = self.lines[section.start + 1 : end]
            if all(not line.strip() for line in body):
                del self.lines[section.start : end]
            else:
                del self.lines[section.start]
        return len(doomed)


def config_section(profile: str) -> str:
    return "default" if profile == "default" else f"profile {profile}"


def read_text(path: Path) -> str:
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            return handle.read()
    except FileNotFoundError:
        return ""
    except OSError as exc:
        raise KeytuiError(f"Could not read {path}: {exc.strerror}.", code="FileError") from exc


def write_atomic(path: Path, text: str) -> None:
    """Replace `path` with `text` in one rename, keeping the file's mode (0600 for a new file). A symlinked
    file (dotfiles) is written through the link: renaming over the link itself would turn it into a copy
    and leave the old content, secrets included, in the file it pointed to."""
    path = Path(os.path.realpath(path))
    try:
        _replace(path, text)
    except OSError as exc:
        # Like read_text: a sentence for the user (read-only file system, permission, disk full), not a traceback.
        raise KeytuiError(f"Could not write {path}: {exc.strerror or exc}.", code="FileError") from exc


def _replace(path: Path, text: str) -> None:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = 0o600
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".keytui-tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    path = Path(base) / "keytui"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


@contextmanager
def files_lock(name: str = "aws-files") -> Iterator[None]:
    """An exclusive lock across keytui processes, so two edits of the AWS files never interleave."""
    try:
        path = state_dir() / f"{name}.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise KeytuiError(
            f"Could not create keytui's lock file in {exc.filename or 'the state folder'}: {exc.strerror}. "
            "Check that XDG_STATE_HOME (or ~/.local/state) is writable.",
            code="FileError",
        ) from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
