"""LinkedIn REST over one pooled `requests.Session`: headers, budget, retries, token refresh, typed answers.

Knows nothing of Airbyte nor of how a batch is built. Every call goes through `request`, so every call gets
the same treatment: the request budget, `LinkedIn-Version`, the retry loop of `retry.py` for 429/5xx/network
failures and one token refresh on 401.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson
import requests
from requests.adapters import HTTPAdapter

from destination_linkedin_capi import constants as c
from destination_linkedin_capi import failures
from destination_linkedin_capi.budget.request_budget import RequestBudget
from destination_linkedin_capi.errors import (
    AuthenticationError,
    ConfigError,
    RetriesExhaustedError,
    RetryableError,
    TransportError,
    error_from_response,
    is_transient_status,
)
from destination_linkedin_capi.linkedin.auth import TokenProvider
from destination_linkedin_capi.linkedin.retry import Attempts, Retryable, RetryPolicy, retry_loop

logger = logging.getLogger("airbyte")

ACCEPTED = {"status": 201}  # one element's status in a BATCH_CREATE answer (docs/linkedin-facts.md §6)


class EncodedBatch(Protocol):
    """What `send_events` sends: a BATCH_CREATE request body and how many events it holds."""

    def __len__(self) -> int: ...

    def body(self) -> bytes: ...


@dataclass(frozen=True)
class BatchAnswer:
    """LinkedIn's 200 to a BATCH_CREATE, by element index: `refused` (4xx, final) and `transient` (5xx/429: not
    recorded, worth sending again); every other element was accepted."""

    refused: dict[int, str] = field(default_factory=dict)
    transient: dict[int, str] = field(default_factory=dict)


_ALL_ACCEPTED = BatchAnswer()


def _body(response: requests.Response) -> Any:
    if not response.content:
        return None
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return response.text


def _batch_answer(response: requests.Response, count: int) -> BatchAnswer:
    """Read the one status per event of a 200 answer; TransportError when the answer does not say them all."""
    body = _body(response)
    statuses = body.get("elements") if isinstance(body, dict) else None
    if not isinstance(statuses, list) or len(statuses) != count:
        raise TransportError(
            f"LinkedIn answered the batch of {count} events with HTTP {response.status_code} "
            "but without one status per event, so what it recorded is unknown."
        )
    if statuses.count(ACCEPTED) == len(statuses):  # the usual answer, checked in C
        return _ALL_ACCEPTED
    answer = BatchAnswer()
    for index, item in enumerate(statuses):
        if not isinstance(item, dict):
            raise TransportError(
                f"LinkedIn answered the batch of {count} events with HTTP {response.status_code}, but "
                f"status {index + 1} of its answer is not an object, so what it recorded is unknown."
            )
        status = item.get("status")
        if status not in (200, 201):
            reason = str(item.get("error") or item.get("message") or f"status {status}")
            (answer.transient if is_transient_status(status) else answer.refused)[index] = reason
    return answer


class LinkedInClient:
    def __init__(
        self,
        base_url: str,
        api_version: str,
        tokens: TokenProvider,
        budget: RequestBudget | None = None,
        *,
        policy: RetryPolicy | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_version = api_version
        self.tokens = tokens
        self.budget = budget
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self._monotonic = monotonic
        self._rng = rng
        self.session = session or requests.Session()
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=4, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | str | None = None,
        json: Any = None,
        body: bytes | None = None,
        restli_method: str | None = None,
        once: bool = False,
    ) -> requests.Response:
        """Send one logical request (a body as `json`, or `body` already encoded); return the 2xx response or
        raise a typed error. `once`: no retry (a 401 still gets its token refresh), for a non-idempotent write
        whose outcome must be looked up before trying again, such as creating a rule."""
        headers = {"LinkedIn-Version": self.api_version, "X-Restli-Protocol-Version": c.RESTLI_PROTOCOL_VERSION}
        data = orjson.dumps(json) if json is not None else body
        if data is not None:
            headers["Content-Type"] = "application/json"
        if restli_method:
            headers["X-RestLi-Method"] = restli_method
        refreshed = False

        def attempt(attempts: Attempts) -> requests.Response | Retryable:
            nonlocal refreshed
            while True:
                if self.budget is not None:
                    self.budget.acquire()
                token = self.tokens.token()
                headers["Authorization"] = f"Bearer {token}"
                try:
                    return self._send(method, path, params, data, headers, attempts.timeout)
                except AuthenticationError:
                    if refreshed or not self.tokens.refresh(token):
                        raise
                    refreshed = True  # once per request, and not a retry: the policy does not count it

        def announce(failed: Retryable, attempts: Attempts, wait: float) -> None:
            logger.warning("%s %s failed: %s; retry %d in %.1f s", method, path, failed.reason, attempts.count, wait)
            if self.budget is not None and isinstance(failed.error, RetryableError) and failed.error.status == 429:
                self.budget.pause(wait)  # every sync sharing the budget waits it out, not only this one

        def give_up(failed: Retryable, attempts: Attempts) -> Exception:
            return RetriesExhaustedError(
                f"LinkedIn kept failing for {attempts.elapsed:.0f} s (last: {failed.reason}) on {method} {path}; "
                f"{attempts.gave_up()}."
            )

        policy = self.policy.once() if once else self.policy
        return retry_loop(
            policy, attempt, announce=announce, give_up=give_up, sleep=self._sleep, clock=self._monotonic, rng=self._rng
        )

    def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | str | None,
        data: bytes | None,
        headers: dict[str, str],
        timeout: tuple[float, float],
    ) -> requests.Response | Retryable:
        """One HTTP exchange: the 2xx response, a failure worth retrying, or a typed error raised."""
        try:
            response = self.session.request(
                method,
                self.base_url + path,
                params=params,
                data=data,
                headers=headers,
                timeout=timeout,
                allow_redirects=False,
            )
        except requests.exceptions.InvalidHeader:  # its text quotes the header, token included: never shown
            raise ConfigError(
                f"{self.tokens.description.capitalize()} is not a valid HTTP header value (it holds a line break "
                "or another control character); nothing was sent."
            ) from None
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as error:
            failure = TransportError(f"no answer from LinkedIn ({type(error).__name__})")
            return Retryable(str(failure), error=failure)
        if response.status_code < 300:
            return response
        if response.status_code < 400:  # never followed: events or a token must not go to another origin
            raise ConfigError(failures.redirected(response.status_code, f"LinkedIn ({method} {path})", "API base URL"))
        error = error_from_response(response.status_code, _body(response), response.headers)
        if not isinstance(error, RetryableError):
            raise error
        return Retryable(str(error), error.retry_after, error)

    def send_events(self, batch: EncodedBatch) -> BatchAnswer:
        """BATCH_CREATE the encoded batch; the answer says which elements LinkedIn refused (4xx) and which it did
        not record (5xx/429), so that the caller sends only those again."""
        response = self.request("POST", c.CONVERSION_EVENTS_PATH, body=batch.body(), restli_method="BATCH_CREATE")
        return _batch_answer(response, len(batch))
