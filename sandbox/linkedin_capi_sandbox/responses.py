"""What the sandbox answers: a small `Reply` value and LinkedIn's error bodies.

Every error body is built here so its exact shape is written down once and tested once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

THROTTLE_MESSAGE = "Resource level throttle limit for calls to this resource is reached."
NON_CAPI_MESSAGE = "Incorrect conversions information provided. Conversion's method should be CONVERSIONS_API"
WINDOW_MESSAGE = (
    "Incorrect conversions information provided. Conversion happened at should be within the last 90 days"
    " and not in the future"
)
NO_AD_ACCOUNTS_MESSAGE = "No ad accounts found"


@dataclass
class Reply:
    """One HTTP answer. `body` None means no body at all (201/204); `drop` closes without answering."""

    status: int
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False


def json_reply(status: int, payload: Any, headers: dict[str, str] | None = None) -> Reply:
    """A JSON answer; the body is compact like LinkedIn's."""
    return Reply(status, orjson.dumps(payload), {"Content-Type": "application/json", **(headers or {})})


def empty_reply(status: int, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, None, dict(headers or {}))


def error(status: int, message: str, **extra: Any) -> Reply:
    """The generic Rest.li error body: `{"status", "message", ...extra}`."""
    return json_reply(status, {"status": status, **extra, "message": message})


def indices_text(indices: Iterable[int]) -> str:
    """`indices [0, 3] (0-indexed)`, the tail LinkedIn appends to its per-element 400 messages."""
    return f"indices [{', '.join(str(i) for i in indices)}] (0-indexed)"


def missing_token() -> Reply:
    return json_reply(401, {"message": "Empty oauth2_access_token", "serviceErrorCode": 401, "status": 401})


def invalid_token() -> Reply:
    return error(401, "Invalid access token", serviceErrorCode=65600, code="INVALID_ACCESS_TOKEN")


def revoked_token() -> Reply:
    return error(
        401,
        "The token used in the request has been revoked by the user",
        serviceErrorCode=65601,
        code="REVOKED_ACCESS_TOKEN",
    )


def expired_token() -> Reply:
    """LinkedIn's expired-token body is not documented; 65602/EXPIRED_ACCESS_TOKEN is this sandbox's choice."""
    return error(401, "The token used in the request has expired", serviceErrorCode=65602, code="EXPIRED_ACCESS_TOKEN")


def version_missing() -> Reply:
    reply = error(
        400,
        "A version must be present. Please specify a version by adding the LinkedIn-Version header.",
        code="VERSION_MISSING",
    )
    reply.headers["X-Restli-Gateway-Error"] = "true"
    return reply


def version_invalid(version: str) -> Reply:
    reply = error(400, f"Invalid LinkedIn-Version header '{version}'; expected YYYYMM", code="INVALID_VERSION")
    reply.headers["X-Restli-Gateway-Error"] = "true"
    return reply


def version_not_active(version: str) -> Reply:
    return error(426, f"Requested version {version} is not active", code="NONEXISTENT_VERSION")


def throttled() -> Reply:
    return error(429, THROTTLE_MESSAGE)


def access_denied(what: str) -> Reply:
    """403 for a role or account the token lacks (LinkedIn's generic permission body)."""
    return error(403, f"Not enough permissions to access: {what}", serviceErrorCode=100, code="ACCESS_DENIED")


def not_found(message: str) -> Reply:
    return error(404, message)


def bad_request(message: str) -> Reply:
    return error(400, message)


def unprocessable(message: str) -> Reply:
    return error(422, message)


def fault(status: int, retry_after: float | None) -> Reply:
    """An injected server-side failure with a LinkedIn-like body."""
    messages = {
        429: THROTTLE_MESSAGE,
        500: "Internal Server Error",
        502: "Bad Gateway",
        503: "Service Unavailable",
        504: "Gateway Timeout",
    }
    reply = error(status, messages.get(status, f"Injected failure {status}"))
    if retry_after is not None:
        reply.headers["Retry-After"] = f"{retry_after:g}"
    return reply


def oauth_error(status: int, error_code: str, description: str) -> Reply:
    return json_reply(status, {"error": error_code, "error_description": description})


def cdp_error(status: int, error_code: str, message: str) -> Reply:
    return json_reply(status, {"error": error_code, "message": message})
