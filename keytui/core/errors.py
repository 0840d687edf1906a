"""Every failure keytui reports, and the one place where botocore exceptions become them.

A KeytuiError's `str()` is the paragraph shown to the user: what failed, why (the AWS error code),
and what to do. Nothing above core ever sees a botocore exception.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

# botocore is imported inside the functions that need it: the credential-process path imports these
# error types and must stay free of botocore/boto3.


class KeytuiError(Exception):
    """A failure with a message fit for the user."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def __str__(self) -> str:
        return self.message


class ProfileNotFoundError(KeytuiError):
    def __init__(self, profile: str, paths: Sequence[str], available: Sequence[str]) -> None:
        where = " or ".join(paths) if paths else "the AWS config files"
        names = ", ".join(sorted(available)) if available else "none"
        super().__init__(
            f"Profile '{profile}' not found in {where}; available: {names}. "
            "Pick one with --profile NAME or AWS_PROFILE, or try the demo account with `keytui --demo`.",
            code="ProfileNotFound",
        )
        self.profile = profile
        self.available = tuple(sorted(available))


class NoCredentialsError(KeytuiError):
    def __init__(self, profile: str | None) -> None:
        which = f"profile '{profile}'" if profile else "the default profile or the environment"
        super().__init__(
            f"No AWS credentials found for {which}. Add a profile with `aws configure` "
            "(keytui will offer to move its key into the keyring), set AWS_PROFILE, "
            "or try the demo account with `keytui --demo`.",
            code="NoCredentials",
        )


class AwsError(KeytuiError):
    """An AWS call failed. `code` is AWS's error code (AccessDenied, Throttling, …)."""

    def __init__(self, message: str, *, code: str, operation: str | None = None) -> None:
        super().__init__(message, code=code)
        self.operation = operation

    @property
    def short(self) -> str:
        """For a table cell: `unknown (AccessDenied)`."""
        return f"unknown ({self.code})"


ACCESS_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedAccess"}
THROTTLED = {"Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded"}
EXPIRED = {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"}
BAD_KEY = {"InvalidClientTokenId", "InvalidAccessKeyId", "SignatureDoesNotMatch", "UnrecognizedClientException"}

_ADVICE = {
    **{c: "Ask an administrator to allow this action for your user, or use a profile that has it." for c in ACCESS_DENIED},
    **{c: "AWS is rate-limiting this account; keytui already retried with backoff. Wait a minute and refresh." for c in THROTTLED},
    **{c: "The session has expired. Get a new one (`keytui session`) and retry." for c in EXPIRED},
    **{
        c: "AWS does not accept this access key: it may be deleted, inactive, mistyped, or too new to work yet. "
        "Check the profile's key (`keytui vault list`) or rotate it."
        for c in BAD_KEY
    },
    "NoSuchEntity": "It may have been deleted meanwhile; refresh.",
    "LimitExceeded": "AWS allows at most two access keys per user; delete an unused one first.",
}


def _aws_message(action: str, code: str, detail: str) -> str:
    advice = _ADVICE.get(code, "")
    detail = detail.rstrip(".")
    text = f"Could not {action}: {code}"
    if detail:
        text += f" ({detail})"
    text += "."
    return f"{text} {advice}".strip()


def _detail(exc: Exception) -> str:
    """botocore's text as part of one sentence: a credential_process's stderr arrives with newlines and its
    own final period, which would make the paragraph two lines ending in a lone '.'."""
    return " ".join(str(exc).split()).rstrip(".")


def translate(exc: Exception, action: str) -> KeytuiError:
    """Turn a botocore exception into the KeytuiError the user will read. `action` completes the sentence
    'Could not …', e.g. 'list access keys for alice'."""
    from botocore import exceptions as bce

    if isinstance(exc, KeytuiError):
        return exc
    if isinstance(exc, bce.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code") or "Unknown")
        return AwsError(
            _aws_message(action, code, str(error.get("Message") or "")),
            code=code,
            operation=exc.operation_name,
        )
    if isinstance(exc, bce.ProfileNotFound):
        return KeytuiError(f"Could not {action}: {_detail(exc)}.", code="ProfileNotFound")
    if isinstance(exc, bce.NoCredentialsError):
        return NoCredentialsError(None)
    if isinstance(exc, (bce.EndpointConnectionError, bce.ConnectionClosedError, bce.ConnectTimeoutError,
                        bce.ReadTimeoutError, bce.ProxyConnectionError)):
        return AwsError(
            f"Could not {action}: network error ({_detail(exc)}). Check the connection, proxy and AWS_ENDPOINT_URL, "
            "then retry.",
            code="NetworkError",
        )
    if isinstance(exc, bce.CredentialRetrievalError):
        return AwsError(f"Could not {action}: {_detail(exc)}.", code="CredentialRetrievalError")
    from botocore.parsers import ResponseParserError

    if isinstance(exc, ResponseParserError):
        # Not an AWS answer at all (an HTTP 500 page): a proxy, or an endpoint that lacks the call.
        status = " (HTTP 500)" if "500" in str(exc) else ""
        return AwsError(
            f"Could not {action}: the endpoint did not answer like AWS{status}; it may not implement this call, "
            "or a proxy is in the way.",
            code="NotAnAwsResponse",
        )
    if isinstance(exc, bce.BotoCoreError):
        return AwsError(f"Could not {action}: {_detail(exc)}.", code=type(exc).__name__)
    if isinstance(exc, UnicodeError):
        return KeytuiError(
            f"Could not {action}: a file or value is not valid text ({_detail(exc)}).", code="EncodingError"
        )
    if isinstance(exc, OSError):
        # botocore running a profile's credential_process, or reading a file it was pointed at.
        where = f" ({exc.filename})" if exc.filename else ""
        return KeytuiError(f"Could not {action}: {exc.strerror or exc}{where}.", code="FileError")
    if isinstance(exc, ValueError):
        # e.g. a credential_process that printed something other than JSON, or an unbalanced quote in it.
        return KeytuiError(f"Could not {action}: {_detail(exc)}.", code="BadValue")
    raise exc


@contextmanager
def aws_errors(action: str) -> Iterator[None]:
    """`with aws_errors("list users"): ...` — the only try/except around AWS calls."""
    from botocore import exceptions as bce
    from botocore.parsers import ResponseParserError

    try:
        yield
    except (bce.BotoCoreError, bce.ClientError, OSError, ValueError, ResponseParserError) as exc:
        raise translate(exc, action) from exc


def error_code(exc: BaseException) -> str | None:
    return exc.code if isinstance(exc, KeytuiError) else None
