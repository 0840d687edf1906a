"""The Vault itself (keytui.vault.store) on in-memory backends: typed entries, read-back, chunking for
the Windows size limit (F-14), and each way a keyring can fail (F-12, F-13) surfacing as its own error."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

import pytest
from keyring.backend import KeyringBackend, get_all_keyring
from keyring.backends import chainer, fail, null
from keyring.backends.SecretService import Keyring as SecretServiceKeyring
from keyring.core import load_keyring
from keyring.errors import PasswordSetError

from keytui.core.masking import Secret
from keytui.core.models import LongTermKey, SessionCredentials
from keytui.vault.backend import classify
from keytui.vault.errors import VaultError, VaultInsecure, VaultLocked, VaultUnavailable, VaultWriteFailed
from keytui.vault.memory import MemoryKeyring
from keytui.vault.store import Vault

from .conftest import ForgetfulKeyring, ReadOnlyKeyring, RecordingKeyring, entries

KEY = LongTermKey("AKIAVAULTTEST0000001", Secret("vaultTestSecret/0000000000000000000000001"))
EXPIRES = datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
DOCTOR = "Run `keytui vault doctor` for the exact steps."


def session(token_chars: int = 400) -> SessionCredentials:
    return SessionCredentials(
        "ASIAVAULTTEST0000001", Secret("sessionSecret/00000000000000000000000001"), Secret("T" * token_chars), EXPIRES
    )


def big_session() -> SessionCredentials:
    """A session whose JSON is ~1,300 characters: over 2,560 bytes as UTF-16 (F-14)."""
    return session(1150)


class PlaintextFileKeyring(KeyringBackend):
    """A backend from outside keyring.backends (like keyrings.alt's PlaintextKeyring): classify() cannot
    vouch for it, so it counts as insecure."""

    priority = 1  # type: ignore[assignment]
    viable = False  # keep keyring's own discovery from ever instantiating it

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        del self.entries[(service, username)]


# -- classify --------------------------------------------------------------------------------------------


def test_classify_names_each_kind_of_backend() -> None:
    assert classify(fail.Keyring()).kind == "none"
    assert classify(null.Keyring()).kind == "none"
    assert classify(SecretServiceKeyring()).label == "SecretService Keyring (secure)"
    assert classify(MemoryKeyring()).label == "in-memory keyring (memory)"
    assert classify(PlaintextFileKeyring()).kind == "insecure"


def test_memory_keyrings_are_never_discovered_by_keyring() -> None:
    """Discovery instantiates every viable backend class: keytui's memory/demo keyrings must not be among
    them (a forgetful store as "the keyring"; DemoFileKeyring raising without KEYTUI_DEMO_KEYRING)."""
    found = get_all_keyring()
    assert not [ring for ring in found if isinstance(ring, MemoryKeyring)]
    assert load_keyring("keytui.vault.memory.MemoryKeyring").keytui_memory  # explicit selection still works


def test_classify_chainer_is_judged_by_its_first_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [PlaintextFileKeyring(), MemoryKeyring()])
    assert classify(chainer.ChainerBackend()).kind == "insecure"
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [])
    assert classify(chainer.ChainerBackend()).label == "no backend (none)"


# -- typed entries and read-back --------------------------------------------------------------------------


def test_vault_key_round_trip_stores_one_json_entry() -> None:
    backend = MemoryKeyring()
    vault = Vault(backend)

    vault.put_key("work", KEY, UserArn="arn:aws:iam::123456789012:user/alice")

    assert vault.get_key("work") == KEY
    value = json.loads(entries(backend)["profile:work"])
    assert list(entries(backend)) == ["profile:work"]
    assert {k: v for k, v in value.items() if k != "StoredAt"} == {
        "AccessKeyId": KEY.access_key_id,
        "SecretAccessKey": KEY.secret.reveal(),
        "UserArn": "arn:aws:iam::123456789012:user/alice",
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", value["StoredAt"])


def test_vault_session_round_trip_with_utc_z_expiration() -> None:
    backend = MemoryKeyring()
    vault = Vault(backend)

    vault.put_session("work", session())

    assert vault.get_session("work") == session()
    assert json.loads(entries(backend)["session:work"])["Expiration"] == "2030-01-02T03:04:05Z"


def test_vault_put_key_refuses_a_temporary_key() -> None:
    backend = MemoryKeyring()
    with pytest.raises(VaultError) as raised:
        Vault(backend).put_key("work", LongTermKey("ASIATEMPORARY0000001", Secret("x" * 40)))
    assert raised.value.code == "TemporaryKey"
    assert str(raised.value) == "ASIA… is a temporary (STS) key; the vault stores long-term keys only."
    assert entries(backend) == {}


def test_vault_absent_entries_read_as_none() -> None:
    vault = Vault(MemoryKeyring())
    assert (vault.get_key("nobody"), vault.get_session("nobody"), vault.read("profile:nobody")) == (None, None, None)


def test_vault_damaged_entries_read_as_absent() -> None:
    backend = MemoryKeyring()
    backend.entries[("keytui", "session:work")] = json.dumps({"AccessKeyId": "ASIA1", "Expiration": "soon"})
    backend.entries[("keytui", "profile:work")] = "not json"
    vault = Vault(backend)
    assert vault.get_session("work") is None
    assert vault.get_key("work") is None


def test_vault_forget_removes_key_and_session() -> None:
    backend = MemoryKeyring()
    vault = Vault(backend)
    vault.put_key("work", KEY)
    vault.put_session("work", big_session())
    vault.put_key("other", KEY)

    vault.forget("work")
    vault.forget("never-stored")

    assert list(entries(backend)) == ["profile:other"]


def test_vault_probe_leaves_nothing_behind() -> None:
    backend = RecordingKeyring()
    Vault(backend).probe()
    assert backend.entries == {}
    assert [op for op, _ in backend.calls] == ["set", "get", "delete"]


def test_vault_uses_its_own_service_name() -> None:
    backend = MemoryKeyring()
    Vault(backend, service="keytui-test").put_key("work", KEY)
    assert list(backend.entries) == [("keytui-test", "profile:work")]
    assert Vault(backend).get_key("work") is None


# -- F-14: the size limit -----------------------------------------------------------------------------------


def test_f14_big_session_is_chunked_under_the_limit_and_reads_back() -> None:
    backend = RecordingKeyring(size_limit=2560)
    vault = Vault(backend)
    vault.put_session("work", big_session())

    stored = entries(backend)
    assert all(len(v.encode("utf-16-le")) <= 2560 for v in stored.values())
    chunks = sorted(name for name in stored if name.startswith("session:work#"))
    assert len(chunks) == 2
    manifest = json.loads(stored["session:work"])["keytui_chunks"]
    assert manifest["count"] == 2
    assert chunks == [f"session:work#{manifest['gen']}.0", f"session:work#{manifest['gen']}.1"]
    assert vault.get_session("work") == big_session()


def test_f14_manifest_is_written_after_every_chunk() -> None:
    backend = RecordingKeyring(size_limit=2560)
    Vault(backend).put_session("work", big_session())

    writes = [name for op, name in backend.calls if op == "set"]
    assert writes[-1] == "session:work"
    assert all(name.startswith("session:work#") for name in writes[:-1])


def test_f14_json_of_1300_characters_is_over_the_limit_unchunked() -> None:
    """The premise: written as one entry, the same value fails with Windows' error 1783."""
    raw = json.dumps({
        "AccessKeyId": "ASIAVAULTTEST0000001", "SecretAccessKey": "s" * 40, "SessionToken": "T" * 1150,
        "Expiration": "2030-01-02T03:04:05Z",
    })
    assert 1250 < len(raw) < 1350
    backend = MemoryKeyring(size_limit=2560)
    with pytest.raises(PasswordSetError, match="1783"):
        backend.set_password("keytui", "session:work", raw)


def test_f14_rewrite_removes_the_stale_chunks() -> None:
    backend = MemoryKeyring(size_limit=2560)
    vault = Vault(backend)
    vault.put_session("work", big_session())
    first = set(entries(backend))

    second_session = SessionCredentials("ASIAVAULTTEST0000002", Secret("s" * 40), Secret("U" * 1200), EXPIRES)
    vault.put_session("work", second_session)

    now = set(entries(backend))
    assert not (first - {"session:work"}) & now  # none of the old chunks is left
    assert len(now) == 3  # manifest + two new chunks
    assert vault.get_session("work") == second_session

    vault.put_session("work", session(10))  # small again: one plain entry, no chunk left
    assert set(entries(backend)) == {"session:work"}
    assert vault.get_session("work") == session(10)


def test_f14_missing_chunk_reads_as_no_session_never_truncated() -> None:
    backend = MemoryKeyring(size_limit=2560)
    vault = Vault(backend)
    vault.put_session("work", big_session())
    last_chunk = max(name for name in entries(backend) if "#" in name)
    del backend.entries[("keytui", last_chunk)]

    assert vault.get_session("work") is None
    assert vault.read("session:work") is None


def test_f14_altered_chunk_reads_as_no_session() -> None:
    backend = MemoryKeyring(size_limit=2560)
    vault = Vault(backend)
    vault.put_session("work", big_session())
    first_chunk = min(name for name in entries(backend) if "#" in name)
    backend.entries[("keytui", first_chunk)] = backend.entries[("keytui", first_chunk)][:-1]

    assert vault.get_session("work") is None


def test_f14_remove_deletes_manifest_and_chunks() -> None:
    backend = MemoryKeyring(size_limit=2560)
    vault = Vault(backend)
    vault.put_session("work", big_session())

    vault.remove("session:work")

    assert entries(backend) == {}


# -- F-12 / F-13: keyrings that cannot -----------------------------------------------------------------------


def test_f12_no_keyring_is_unavailable_not_empty() -> None:
    vault = Vault(fail.Keyring())
    for attempt in (lambda: vault.get_key("work"), lambda: vault.put_key("work", KEY), vault.probe):
        with pytest.raises(VaultUnavailable) as raised:
            attempt()
        assert raised.value.code == "NoKeyring"
        assert str(raised.value) == (
            "No usable keyring: keyring found only 'fail Keyring'. keytui keeps secrets only in an OS keyring "
            "(Secret Service/KWallet on Linux, Keychain on macOS, Credential Locker on Windows), so it runs "
            f"read-only for now. {DOCTOR}"
        )


def test_f12_insecure_backend_refused_without_opt_in() -> None:
    backend = PlaintextFileKeyring()
    with pytest.raises(VaultInsecure) as raised:
        Vault(backend).put_key("work", KEY)
    assert raised.value.code == "InsecureKeyring"
    assert str(raised.value) == (
        "The only keyring available is 'test store PlaintextFileKeyring', which keeps secrets in a file that "
        "other programs can read. keytui will not store secrets there unless you opt in with "
        f"`[vault] allow_insecure_backend = true` in keytui's config. {DOCTOR}"
    )
    assert backend.entries == {}


def test_f12_insecure_backend_used_after_opt_in() -> None:
    backend = PlaintextFileKeyring()
    vault = Vault(backend, allow_insecure=True)
    vault.put_key("work", KEY)
    assert vault.get_key("work") == KEY


def test_f13_locked_keyring_raises_locked_for_reads_and_writes() -> None:
    backend = MemoryKeyring()
    Vault(backend).put_key("work", KEY)
    before = dict(backend.entries)
    backend.locked = True
    vault = Vault(backend)

    with pytest.raises(VaultLocked) as read:
        vault.get_key("work")
    with pytest.raises(VaultLocked) as write:
        vault.put_key("work", LongTermKey("AKIAVAULTTEST0000002", Secret("y" * 40)))

    assert read.value.code == write.value.code == "KeyringLocked"
    assert str(read.value) == (
        "Could not read 'profile:work' from the keyring: the keyring (in-memory keyring) is locked or the unlock "
        f"prompt was dismissed (Failed to unlock the collection!). Unlock it and retry; nothing was changed. {DOCTOR}"
    )
    assert backend.entries == before


def test_f13_read_only_keyring_write_fails_clearly() -> None:
    backend = ReadOnlyKeyring()
    with pytest.raises(VaultWriteFailed) as raised:
        Vault(backend).put_key("work", KEY)
    assert raised.value.code == "KeyringWriteFailed"
    assert str(raised.value) == (
        "Could not write 'profile:work' to the keyring: the keyring (read-only keyring) refused the write "
        f"(write access denied). {DOCTOR}"
    )
    assert backend.entries == {}


def test_f13_entry_that_vanishes_after_the_write_is_not_stored() -> None:
    backend = ForgetfulKeyring()
    with pytest.raises(VaultWriteFailed) as raised:
        Vault(backend).put_key("work", KEY)
    assert raised.value.code == "KeyringReadBackFailed"
    assert str(raised.value) == (
        f"The keyring (forgetful keyring) did not return 'profile:work' as written; it was not stored. {DOCTOR}"
    )


def test_f13_unreachable_backend_error_is_a_sentence() -> None:
    class Broken(MemoryKeyring):
        name = "broken keyring"

        def get_password(self, service: str, username: str) -> str | None:
            raise ConnectionError("org.freedesktop.DBus.Error.ServiceUnknown")

    with pytest.raises(VaultError) as raised:
        Vault(Broken()).get_key("work")
    assert raised.value.code == "KeyringUnreachable"
    assert str(raised.value) == (
        "Could not read 'profile:work' from the keyring: the keyring (broken keyring) is unreachable "
        f"(ConnectionError: org.freedesktop.DBus.Error.ServiceUnknown). {DOCTOR}"
    )
