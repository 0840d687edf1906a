"""Edits to `~/.aws/config` and `~/.aws/credentials` that keep everything else exactly as it was:
other sections, comments, order, line endings and the file's mode. Written atomically.

botocore's loader is used for reading profiles elsewhere; it cannot write, and configparser would drop
comments, so edits are made on the lines themselves.
"""

from __future__ import annotations

import fcntl
import os
import re
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

    def duplicate_sections(self) -> set[str]:
        seen: set[str] = set()
        dupes = set()
        for section in self.sections():
            name = " ".join(section.name.split())
            (dupes if name in seen else seen).add(name)
        return dupes

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


_PROFILE_NAME = re.compile(r"^[A-Za-z0-9_.@+=,:/-]+(?: [A-Za-z0-9_.@+=,:/-]+)*$")


def check_profile_name(name: str) -> str:
    """A profile name keytui will write into the AWS files: letters, digits, `_.@+=,:/-`, single inner
    spaces. Anything else (newlines, brackets, `#`, blank) could rewrite other sections or is unusable."""
    if not _PROFILE_NAME.match(name or "") or len(name) > 64:
        raise KeytuiError(
            f"{name!r} is not a usable profile name: use letters, digits and _ . @ + = , : / - (at most 64).",
            code="Usage",
        )
    return name


def config_section(profile: str) -> str:
    return "default" if profile == "default" else f"profile {profile}"


def read_text(path: Path) -> str:
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            return handle.read()
    except FileNotFoundError:
        return ""
    except UnicodeDecodeError:
        raise KeytuiError(f"Could not read {path}: it is not a UTF-8 text file. Fix or move it.",
                          code="FileError") from None
    except OSError as exc:
        raise KeytuiError(f"Could not read {path}: {exc.strerror}.", code="FileError") from exc


def check_parses(path: Path, text: str) -> None:
    """Refuse to edit a file the AWS CLI itself cannot parse (botocore uses configparser the same way)."""
    import configparser

    try:
        configparser.RawConfigParser().read_string(text, source=str(path))
    except configparser.Error as exc:
        first = str(exc).splitlines()[0]
        raise KeytuiError(
            f"{path} cannot be parsed ({first}); the AWS CLI cannot read it either. Fix it first; keytui changed "
            "nothing.",
            code="ConfigParseError",
        ) from None


def write_atomic(path: Path, text: str) -> None:
    """Replace `path` with `text` in one rename, as a 0600 file (a wider mode on an AWS file is tightened:
    it may hold secrets). A symlinked
    file (dotfiles) is written through the link: renaming over the link itself would turn it into a copy
    and leave the old content, secrets included, in the file it pointed to."""
    path = Path(os.path.realpath(path))
    try:
        _replace(path, text)
    except OSError as exc:
        # Like read_text: a sentence for the user (read-only file system, permission, disk full), not a traceback.
        raise KeytuiError(f"Could not write {path}: {exc.strerror or exc}.", code="FileError") from exc


def _sweep_temp_files(path: Path) -> None:
    """Remove temp files an earlier keytui left when it was killed mid-write: they may hold a copy of the
    credentials file, secrets included."""
    for stale in path.parent.glob(f".{path.name}.*.keytui-tmp"):
        try:
            stale.unlink()
        except OSError:
            pass


def stale_temp_files(path: Path) -> list[Path]:
    return sorted(Path(os.path.realpath(path)).parent.glob(f".{Path(path).name}.*.keytui-tmp"))


def _replace(path: Path, text: str) -> None:
    mode = 0o600
    if not path.parent.exists():
        private_dir(path.parent)
    _sweep_temp_files(path)
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


def private_dir(path: Path) -> Path:
    """mkdir -p where every folder keytui creates is 0700 (mkdir(parents=True) gives parents the umask's mode)."""
    path = Path(path)
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for folder in reversed(missing):
        folder.mkdir(mode=0o700, exist_ok=True)
    return Path(missing[0]) if missing else path  # the folder asked for


def state_dir() -> Path:
    """keytui's state (journals, mutes, used codes, locks): $KEYTUI_STATE_DIR (the demo server sets it so that a
    throw-away account's state stays with it), else $XDG_STATE_HOME/keytui, else ~/.local/state/keytui."""
    explicit = os.environ.get("KEYTUI_STATE_DIR")
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    path = Path(explicit) if explicit else Path(base) / "keytui"
    private_dir(path)
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


def set_profile_value(config_file: Path, profile: str, key: str, value: str) -> None:
    """Write one setting into a profile of the config file (e.g. `mfa_serial` after an enrollment), keeping
    everything else as it is; refused if the file does not parse or the value would span lines."""
    check_profile_name(profile)
    if any(c in value for c in "\r\n"):
        raise KeytuiError(f"A value for {key} cannot contain a line break.", code="Usage")
    with files_lock():
        text = read_text(config_file)
        check_parses(config_file, text)
        document = IniDocument(text)
        document.set(config_section(profile), key, value)
        write_atomic(config_file, document.text())
