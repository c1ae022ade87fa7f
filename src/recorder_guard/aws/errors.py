"""One reading of any AWS failure: a code and a message, whatever raised it.

Service errors (`ClientError`) carry a `response` with an error code; transport errors
(`ReadTimeoutError`, `EndpointConnectionError`, `ConnectionClosedError`, ...) carry none.
Every handler that explains a failure goes through here, so none can trip over the difference.
"""

from __future__ import annotations


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
