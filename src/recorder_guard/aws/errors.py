"""One reading of any AWS failure: a code and a message, whatever raised it.

Service errors (`ClientError`) carry a `response` with an error code; transport errors
(`ReadTimeoutError`, `EndpointConnectionError`, `ConnectionClosedError`, ...) carry none, or
carry `response=None`. Every handler that explains a failure goes through here, so none can
trip over the difference.
"""

from __future__ import annotations

# Errors that say "you may not", not "try again later": worth remembering for a short while.
# https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html#API_AssumeRole_Errors
# and https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html
ACCESS_DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "AuthorizationError",
        "RegionDisabledException",
        "InvalidClientTokenId",
        "NotAuthorized",
    }
)


def error_details(error: BaseException) -> tuple[str, str]:
    """(code, message): the service's error code, or the exception's class name."""
    response = getattr(error, "response", None)
    details = response.get("Error") if isinstance(response, dict) else None
    if isinstance(details, dict):
        code = details.get("Code")
        message = details.get("Message")
        return str(code or type(error).__name__), str(message or error)
    return type(error).__name__, str(error)


def error_code(error: BaseException) -> str:
    return error_details(error)[0]


def is_access_denied(error: BaseException) -> bool:
    """A refusal that the next attempt would meet again (unlike throttling or a timeout)."""
    return error_code(error) in ACCESS_DENIED_CODES
