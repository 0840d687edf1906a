"""Parsing the IAM credential report: AWS's placeholders (N/A, no_information, not_supported), the root
row and the two key slots."""

from __future__ import annotations

from datetime import datetime, timezone

from keytui.core.credential_report import ROOT_USER, parse_date, parse_report

HEADER = (
    "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,"
    "password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,"
    "access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,"
    "access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,"
    "access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,"
    "cert_2_active,cert_2_last_rotated"
)
ROWS = [
    # Root: password fields not_supported, MFA on, one active key that was used.
    "<root_account>,arn:aws:iam::123456789012:root,2019-01-01T00:00:00+00:00,not_supported,"
    "2026-11-30T08:00:00+00:00,not_supported,not_supported,true,"
    "true,2020-01-01T00:00:00+00:00,2026-11-01T00:00:00+00:00,us-east-1,s3,"
    "false,N/A,N/A,N/A,N/A,false,N/A,false,N/A",
    # Two keys: slot 1 used, slot 2 never used (AWS writes N/A for date, region and service).
    "alice,arn:aws:iam::123456789012:user/eng/alice,2024-03-01T10:00:00+00:00,true,"
    "2026-12-01T09:30:00+00:00,2024-03-01T10:05:00+00:00,N/A,true,"
    "true,2025-10-29T11:49:00+00:00,2026-12-02T11:00:00+00:00,eu-west-1,s3,"
    "true,2026-11-28T11:49:00+00:00,N/A,N/A,N/A,false,N/A,false,N/A",
    # Console password never used (no_information); one inactive key in slot 2 only (slot 1 deleted).
    "bob,arn:aws:iam::123456789012:user/bob,2024-03-01T10:00:00+00:00,true,no_information,"
    "2024-03-01T10:00:00+00:00,N/A,false,"
    "false,N/A,N/A,N/A,N/A,"
    "false,2025-09-01T00:00:00+00:00,2025-10-01T00:00:00+00:00,us-west-2,ec2,false,N/A,false,N/A",
    # A used key whose region/service AWS did not track (keys used before April 2015): incomplete.
    "carol,arn:aws:iam::123456789012:user/carol,2014-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,"
    "true,2014-01-01T00:00:00+00:00,2015-01-01T00:00:00+00:00,N/A,N/A,"
    "false,N/A,N/A,N/A,N/A,false,N/A,false,N/A",
    # No keys, no password.
    "dave,arn:aws:iam::123456789012:user/dave,2024-03-01T10:00:00+00:00,false,N/A,N/A,N/A,false,"
    "false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A",
]
REPORT = ("\n".join([HEADER, *ROWS]) + "\n").encode()


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def test_credential_report_parse_date_placeholders_are_none() -> None:
    for placeholder in ("N/A", "no_information", "not_supported", "", None):
        assert parse_date(placeholder) is None
    assert parse_date("2026-12-02T11:00:00+00:00") == utc(2026, 12, 2, 11)
    assert parse_date("2026-12-02T11:00:00Z") == utc(2026, 12, 2, 11)


def test_credential_report_root_row() -> None:
    rows = parse_report(REPORT)

    root = rows[ROOT_USER]
    assert root.arn == "arn:aws:iam::123456789012:root"
    assert root.password_enabled is None  # not_supported: unknown, not "false"
    assert root.password_last_used == utc(2026, 11, 30, 8)
    assert root.mfa_active is True
    assert len(root.keys) == 1 and root.keys[0].active


def test_credential_report_two_slots() -> None:
    alice = parse_report(REPORT)["alice"]

    assert alice.created == utc(2024, 3, 1, 10)
    assert alice.password_enabled is True and alice.mfa_active is True
    used, unused = alice.keys
    assert used.active and used.created == utc(2025, 10, 29, 11, 49)
    assert used.last_used == utc(2026, 12, 2, 11) and used.last_used_service == "s3"
    assert used.last_used_region == "eu-west-1"
    assert not used.never_used and used.last_use_complete
    assert unused.active and unused.created == utc(2026, 11, 28, 11, 49)
    assert unused.last_used is None and unused.never_used and unused.last_use_complete
    assert unused.last_used_service is None and unused.last_used_region is None


def test_credential_report_no_information_and_second_slot_only() -> None:
    bob = parse_report(REPORT)["bob"]

    assert bob.password_enabled is True
    assert bob.password_last_used is None  # no_information
    assert bob.mfa_active is False
    (key,) = bob.keys  # slot 1 is empty, slot 2 holds the key
    assert not key.active and key.created == utc(2025, 9, 1)
    assert key.last_used == utc(2025, 10, 1) and key.last_used_service == "ec2"


def test_credential_report_used_key_without_service_is_incomplete() -> None:
    (key,) = parse_report(REPORT)["carol"].keys

    assert key.last_used == utc(2015, 1, 1)
    assert not key.never_used
    assert not key.last_use_complete  # keytui asks GetAccessKeyLastUsed for this one


def test_credential_report_user_without_keys_or_password() -> None:
    dave = parse_report(REPORT.decode())["dave"]  # str works as well as bytes

    assert dave.keys == ()
    assert dave.password_enabled is False and dave.password_last_used is None
