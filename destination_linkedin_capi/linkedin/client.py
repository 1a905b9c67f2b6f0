"""LinkedIn REST over one pooled `requests.Session`: headers, budget, retries, token refresh, typed errors.

Knows nothing of Airbyte. Every call goes through `request`, so every call gets the same treatment:
the request budget, `LinkedIn-Version`, a retry policy for 429/5xx/network failures (full-jitter
exponential backoff, `Retry-After` honoured, bounded by `max_retry_seconds`: `retry.RetryPolicy`) and one
token refresh on 401.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

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
    TransientElementsError,
    TransportError,
    error_from_response,
    is_transient_status,
)
from destination_linkedin_capi.linkedin.auth import TokenProvider
from destination_linkedin_capi.linkedin.retry import RetryPolicy
from destination_linkedin_capi.write.elements import EncodedElements

logger = logging.getLogger("airbyte")

ACCEPTED = {"status": 201}  # one element's status in a BATCH_CREATE answer (docs/linkedin-facts.md §6)


def _body(response: requests.Response) -> Any:
    if not response.content:
        return None
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return response.text


class LinkedInClient:
    def __init__(
        self,
        base_url: str,
        api_version: str,
        tokens: TokenProvider,
        budget: RequestBudget | None = None,
        *,
        max_retry_seconds: float = 600.0,
        read_timeout: float = 60.0,
        deadline_bounds_attempts: bool = False,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_version = api_version
        self.tokens = tokens
        self.budget = budget
        self.policy = RetryPolicy(
            max_seconds=max_retry_seconds, read_timeout=read_timeout, deadline_bounds_attempts=deadline_bounds_attempts
        )
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
    ) -> requests.Response:
        """Send one logical request (a body as `json`, or `body` already encoded); return the 2xx response or
        raise a typed error.

        One loop on purpose (it is longer than most functions): every attempt takes a budget slot and the
        current token, a 401 refreshes the token once, a 429 pauses the whole fleet, and the retry policy
        decides when to give up — these share the attempt's state, which helpers would have to pass around."""
        headers = {
            "LinkedIn-Version": self.api_version,
            "X-Restli-Protocol-Version": c.RESTLI_PROTOCOL_VERSION,
        }
        data = body
        if json is not None:
            data = orjson.dumps(json)
        if data is not None:
            headers["Content-Type"] = "application/json"
        if restli_method:
            headers["X-RestLi-Method"] = restli_method
        url = self.base_url + path
        attempts = self.policy.attempts(clock=self._monotonic, rng=self._rng)
        refreshed = False
        while True:
            if self.budget is not None:
                self.budget.acquire()
            token = self.tokens.token()
            headers["Authorization"] = f"Bearer {token}"
            try:
                response = self.session.request(
                    method,
                    url,
                    params=params,
                    data=data,
                    headers=headers,
                    timeout=attempts.timeout,
                    allow_redirects=False,
                )
            except requests.exceptions.InvalidHeader:  # its text quotes the header, token included: never shown
                raise ConfigError(
                    f"{self.tokens.description.capitalize()} is not a valid HTTP header value (it holds a line break "
                    "or another control character); nothing was sent."
                ) from None
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as error:
                failure: Exception = TransportError(f"no answer from LinkedIn ({type(error).__name__})")
                retry_after = None
            else:
                if response.status_code < 300:
                    return response
                if response.status_code < 400:  # never followed: events or a token must not go to another origin
                    raise ConfigError(
                        failures.redirected(response.status_code, f"LinkedIn ({method} {path})", "API base URL")
                    )
                failure = error_from_response(response.status_code, _body(response), response.headers)
                if isinstance(failure, AuthenticationError):
                    if not refreshed and self.tokens.refresh(token):
                        refreshed = True
                        continue
                    raise failure
                if not isinstance(failure, RetryableError):
                    raise failure
                retry_after = failure.retry_after
            wait = attempts.next_wait(retry_after)
            if wait is None:
                raise RetriesExhaustedError(
                    f"LinkedIn kept failing for {attempts.elapsed:.0f} s (last: {failure}) on {method} {path}; "
                    f"{attempts.gave_up()}. The next sync resumes from the last checkpoint."
                ) from failure
            logger.warning("%s %s failed: %s; retry %d in %.1f s", method, path, failure, attempts.count, wait)
            if self.budget is not None and isinstance(failure, RetryableError) and failure.status == 429:
                self.budget.pause(wait)  # every sync sharing the budget waits it out, not only this one
            self._sleep(wait)

    def send_events(self, elements: Sequence[dict[str, Any]]) -> dict[int, str]:
        """BATCH_CREATE the elements (a list of payloads, or a batch already encoded); return {index: reason} for
        elements LinkedIn refused inside a 200 (4xx statuses). Elements with a transient status (5xx/429) were not
        recorded: TransientElementsError says which, so that the caller sends only those again."""
        body = elements.body() if isinstance(elements, EncodedElements) else orjson.dumps({"elements": elements})
        response = self.request("POST", c.CONVERSION_EVENTS_PATH, body=body, restli_method="BATCH_CREATE")
        body = _body(response)
        statuses = body.get("elements") if isinstance(body, dict) else None
        if not isinstance(statuses, list) or len(statuses) != len(elements):
            raise TransportError(
                f"LinkedIn answered the batch of {len(elements)} events with HTTP {response.status_code} "
                "but without one status per event, so what it recorded is unknown."
            )
        if statuses.count(ACCEPTED) == len(statuses):  # the usual answer, checked in C
            return {}
        failures: dict[int, str] = {}
        transient: dict[int, str] = {}
        for index, item in enumerate(statuses):
            if not isinstance(item, dict):
                raise TransportError(
                    f"LinkedIn answered the batch of {len(elements)} events with HTTP {response.status_code}, but "
                    f"status {index + 1} of its answer is not an object, so what it recorded is unknown."
                )
            status = item.get("status")
            if status not in (200, 201):
                reason = str(item.get("error") or item.get("message") or f"status {status}")
                (transient if is_transient_status(status) else failures)[index] = reason
        if transient:
            raise TransientElementsError(transient, failures)
        return failures

    def single_attempt(self) -> LinkedInClient:
        """A client sharing this one's session, tokens and budget that sends each request once (a 401 still gets
        its token refresh). For non-idempotent writes, such as creating a rule, whose outcome must be looked up
        before trying again: a blind retry after a lost answer would create a duplicate."""
        once = LinkedInClient.__new__(LinkedInClient)
        once.__dict__.update(self.__dict__)
        once.policy = self.policy.once()
        return once
