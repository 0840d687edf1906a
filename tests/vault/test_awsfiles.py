"""keytui.core.awsfiles: line-level edits of the AWS files that keep everything else as it was (nested
values, odd headers, comments), and the atomic write (mode kept, symlinks followed, failures as sentences)."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from keytui.core.awsfiles import IniDocument, config_section, write_atomic
from keytui.core.errors import KeytuiError

NESTED = """\
[profile work]
region = us-east-1
s3 =
    max_concurrent_requests = 20
    addressing_style = path
; between
[ profile  other ]   # a header with a comment
aws_access_key_id = AKIAOTHER00000000003
"""


def test_inidocument_finds_sections_by_normalised_name() -> None:
    doc = IniDocument(NESTED)
    assert [s.name for s in doc.sections()] == ["profile work", "profile  other"]
    assert doc.values("profile other") == {"aws_access_key_id": ["AKIAOTHER00000000003"]}
    assert doc.values("profile work") == {"region": ["us-east-1"], "s3": [""]}
    assert config_section("default") == "default" and config_section("work") == "profile work"


def test_inidocument_set_goes_after_a_nested_value_not_into_it() -> None:
    doc = IniDocument(NESTED)
    doc.set("profile work", "credential_process", "keytui credential-process --profile work")
    assert doc.text() == NESTED.replace(
        "    addressing_style = path\n",
        "    addressing_style = path\ncredential_process = keytui credential-process --profile work\n",
    )


def test_inidocument_set_replaces_an_existing_key_whatever_its_case() -> None:
    doc = IniDocument("[profile work]\nCredential_Process = old\nregion = x\n")
    doc.set("profile work", "credential_process", "new")
    assert doc.text() == "[profile work]\ncredential_process = new\nregion = x\n"


def test_inidocument_remove_keys_takes_continuation_lines_along() -> None:
    doc = IniDocument(NESTED)
    assert doc.remove_keys("profile work", {"s3"}) == 3
    assert doc.text() == NESTED.replace("s3 =\n    max_concurrent_requests = 20\n    addressing_style = path\n", "")


def test_inidocument_remove_last_keys_drops_the_header_but_not_comments() -> None:
    doc = IniDocument("[a]\nx = 1\n\n# about b\n[b]\ny = 2\n")
    doc.remove_keys("a", {"x"})
    assert doc.text() == "\n# about b\n[b]\ny = 2\n"


def test_inidocument_new_section_in_an_empty_file() -> None:
    doc = IniDocument("")
    doc.set("profile work", "credential_process", "cmd")
    assert doc.text() == "[profile work]\ncredential_process = cmd\n"


def test_write_atomic_new_file_is_0600_in_a_new_0700_folder(tmp_path: Path) -> None:
    path = tmp_path / "new" / "config"
    write_atomic(path, "[default]\n")
    assert path.read_text() == "[default]\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_write_atomic_keeps_crlf_and_tightens_the_mode_to_0600(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    path.write_bytes(b"old\r\n")
    path.chmod(0o640)
    write_atomic(path, "[a]\r\nx = 1\r\n")
    assert path.read_bytes() == b"[a]\r\nx = 1\r\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_write_atomic_sweeps_temp_files_left_by_a_killed_write(tmp_path: Path) -> None:
    """A keytui killed mid-write leaves `.credentials.XXXX.keytui-tmp`, possibly full of secrets."""
    path = tmp_path / "credentials"
    path.write_text("[a]\n")
    stale = tmp_path / ".credentials.abcd1234.keytui-tmp"
    stale.write_text("[p]\naws_secret_access_key = " + "S" * 40 + "\n")
    write_atomic(path, "[b]\n")
    assert not stale.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["credentials"]


def test_write_atomic_failure_is_a_sentence_and_leaves_the_file(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "config"
    path.write_text("original\n")

    def replace(src: str, dst: str) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(KeytuiError) as raised:
        write_atomic(path, "new\n")

    assert str(raised.value) == f"Could not write {path}: No space left on device."
    assert raised.value.code == "FileError"
    assert path.read_text() == "original\n"
    assert [p.name for p in tmp_path.iterdir()] == ["config"]  # the temporary file is gone


def test_write_atomic_writes_through_a_symlink(tmp_path: Path) -> None:
    target = tmp_path / "dotfiles" / "credentials"
    target.parent.mkdir()
    target.write_text("old\n")
    link = tmp_path / "credentials"
    link.symlink_to(target)

    write_atomic(link, "new\n")

    assert link.is_symlink()
    assert target.read_text() == "new\n"
