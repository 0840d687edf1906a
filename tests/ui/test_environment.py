"""The UI tests run isolated: the root conftest's sandbox (no AWS_* from the shell, IMDS off, AWS files in
a temporary home, a failing OS keyring) plus UTC local time, whatever the developer's machine has."""

from __future__ import annotations

import os
import time


def test_environment_has_no_developer_aws_settings(sandbox) -> None:
    aws = {name: value for name, value in os.environ.items() if name.startswith("AWS_")}
    assert aws == {
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": str(sandbox.aws_config),
        "AWS_SHARED_CREDENTIALS_FILE": str(sandbox.aws_credentials),
    }
    assert os.environ["HOME"] == str(sandbox.home)
    assert os.environ["PYTHON_KEYRING_BACKEND"] == "keyring.backends.fail.Keyring"


def test_environment_local_time_is_utc() -> None:
    assert os.environ["TZ"] == "UTC"
    assert time.localtime(0).tm_hour == 0 and time.strftime("%z", time.localtime(0)) == "+0000"
