"""Typed errors: one class per way a LinkedIn call or a config can go wrong.

The writer and `check` branch on these types, never on HTTP codes or message text.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Mapping
from typing import Any

from destination_linkedin_capi.linkedin.retry import retry_after_seconds


class ConnectorError(Exception):
    """An error whose `str()` is a sentence safe to show the user (it never contains a secret)."""


class ConfigError(ConnectorError):
    """The configuration is wrong; the user must change it."""


class LinkedInApiError(ConnectorError):
    """LinkedIn answered with an error status."""

    def __init__(self, status: int, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class AuthenticationError(LinkedInApiError):
    """401: the access token is missing, invalid, expired or revoked."""


class ForbiddenError(LinkedInApiError):
    """403: the token cannot reach the account or rule (role, scope, rule in another account)."""


class VersionSunsetError(LinkedInApiError):
    """426: the `LinkedIn-Version` is no longer served."""


class RejectedRequestError(LinkedInApiError):
    """400/422: LinkedIn refused the content of the request; `index_errors` maps element index → reasons."""

    def __init__(self, status: int, message: str, *, code: str | None = None) -> None:
        super().__init__(status, message, code=code)
        self.index_errors: dict[int, list[str]] = parse_index_errors(message)


class NotConversionsApiRuleError(RejectedRequestError):
    """400: the batch names a conversion rule that is not a Conversions API rule (an Insight Tag rule); no event
    of that rule can ever be accepted, so the sync stops with a configuration error."""


#: How LinkedIn's 400 for such a rule reads ("Conversion's method should be CONVERSIONS_API"); recognised here,
#: where the answer is parsed, so that no caller has to read message text.
_NOT_CAPI = re.compile(r"method should be CONVERSIONS_API")


class RetryableError(LinkedInApiError):
    """429 or 5xx: worth retrying after a pause (`retry_after` seconds when LinkedIn said so)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(status, message, code=code)
        self.retry_after = retry_after


def is_transient_status(status: Any) -> bool:
    """429, 408, 423 and 5xx: LinkedIn did not do it now but may later, for a whole request or one element."""
    return type(status) is int and (status in (408, 423, 429) or 500 <= status <= 599)


class RequestRefusedError(ConnectorError):
    """Bisection found more events "bad" one by one, without element indices, than a batch plausibly holds: the
    refusal is about the request (its shape, a rule, LinkedIn itself), not about rows."""


class TransportError(ConnectorError):
    """No HTTP answer: connection refused or reset, DNS failure, timeout."""


_INDEX_LINE = re.compile(r"\s*Index: (\d+), ERROR :: (.*)")
_ERROR_LINE = re.compile(r"ERROR :: ([^\n]*)")
_INDICES = re.compile(r"indices \[([\d,\s]+)\]")


def parse_index_errors(message: str) -> dict[int, list[str]]:
    """Read LinkedIn's per-element error text (docs/linkedin-facts.md §6) into {index: [reasons]}.

    422: `Index: n, ERROR :: /ptr :: reason\\n` then further `ERROR ::` lines for the same index.
    400: `... indices [0, 3] (0-indexed)`: every listed index gets the whole message.
    """
    errors: dict[int, list[str]] = {}
    current: int | None = None
    for line in message.split("\n"):
        match = _INDEX_LINE.match(line)
        if match:
            current = int(match.group(1))
            errors.setdefault(current, []).append(match.group(2).strip())
            continue
        match = _ERROR_LINE.match(line.strip())
        if match and current is not None:
            errors[current].append(match.group(1).strip())
    if not errors:
        found = _INDICES.search(message)
        if found:
            reason = message.strip()
            for part in found.group(1).split(","):
                if part.strip():
                    errors.setdefault(int(part), []).append(reason)
    return errors


def error_from_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> LinkedInApiError:
    """Turn an HTTP error answer into the matching typed error."""
    message = ""
    code = None
    if isinstance(body, Mapping):
        message = str(body.get("message") or "")
        code = body.get("code") if isinstance(body.get("code"), str) else None
    elif isinstance(body, str):
        message = body
    message = message or f"HTTP {status}"
    if status == 401:
        return AuthenticationError(status, message, code=code)
    if status == 403:
        return ForbiddenError(status, message, code=code)
    if status == 426:
        return VersionSunsetError(status, message, code=code)
    if status == 400 and _NOT_CAPI.search(message):
        return NotConversionsApiRuleError(status, message, code=code)
    if status in (400, 422):
        return RejectedRequestError(status, message, code=code)
    if is_transient_status(status) or status >= 500:
        return RetryableError(status, message, code=code, retry_after=_retry_after(headers))
    return LinkedInApiError(status, message, code=code)


def _retry_after(headers: Mapping[str, str] | None) -> float | None:
    if not headers:
        return None
    return retry_after_seconds(headers.get("Retry-After") or headers.get("retry-after"))


class RetriesExhaustedError(ConnectorError):
    """LinkedIn kept failing (429/5xx/network) for longer than the retry time limit."""


class DailyBudgetExhaustedError(ConnectorError):
    """The configured requests-per-day budget is spent; `resets_at` is the next midnight UTC."""

    def __init__(self, message: str, resets_at: float) -> None:
        super().__init__(message)
        self.resets_at = resets_at


class LedgerUnavailableError(ConnectorError):
    """The sent-events ledger's store could not be reached, and the sync stops rather than risk counting twice."""


class SyncCancelled(ConnectorError):
    """The sync was cancelled by a signal; `str()` is the sentence for the user."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.signal_name = signal.Signals(signum).name
        super().__init__(
            f"The sync was cancelled ({self.signal_name}); every state emitted covers only records LinkedIn settled, "
            "and the next sync resumes from the last one."
        )
