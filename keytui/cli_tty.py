"""Talking to the person at the terminal (`/dev/tty`), never on stdout: stdout belongs to the command's
output (`credential-process` JSON, `--json`), and a prompt printed there would corrupt it (F-11)."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import TextIO, TypeVar

from keytui.core.errors import KeytuiError

T = TypeVar("T")
ATTEMPTS = 3  # codes asked for at most, after AWS or the local checks refuse one (F-05)


def _open_terminal() -> TextIO:
    # Unbuffered underneath (as getpass does): a terminal cannot seek, and open("/dev/tty", "r+") in text mode
    # builds a BufferedRandom that refuses anything unseekable ("File or stream is not seekable").
    raw = io.FileIO("/dev/tty", "r+")
    return io.TextIOWrapper(raw, encoding="utf-8", write_through=True)


def open_tty(why: str) -> TextIO:
    """The controlling terminal, or a KeytuiError whose text is `why` (what to do without one)."""
    try:
        return _open_terminal()
    except OSError:
        raise KeytuiError(why, code="NoTerminal") from None


def has_tty() -> bool:
    try:
        _open_terminal().close()
    except OSError:
        return False
    return True


def confirm(question: str, without_terminal: str) -> bool:
    """A yes/no question on the terminal (default no). `without_terminal` is the error when there is none,
    e.g. "confirm with --yes when there is no terminal"."""
    try:
        tty = open_tty(without_terminal)
    except KeytuiError:
        raise KeytuiError(without_terminal, code="Usage") from None  # the fix is a flag (--yes): a usage error
    with tty:
        return ask(tty, question).lower() in {"y", "yes"}


def ask(tty: TextIO, question: str) -> str:
    tty.write(question)
    tty.flush()
    line = tty.readline()
    if not line:
        raise EOFError
    return line.strip()


def with_code_retries(tty: TextIO, question: Callable[[], str], spend: Callable[[str], T]) -> T:
    """Ask for a code and spend it; a code refused (locally or by AWS) is said and asked again, a few times."""
    from keytui.core.mfa import MfaCodeError

    for attempt in range(1, ATTEMPTS + 1):
        code = ask(tty, question())
        try:
            return spend(code)
        except MfaCodeError as exc:
            if attempt == ATTEMPTS:
                raise
            tty.write(f"{exc}\n")
    raise AssertionError("unreachable")
