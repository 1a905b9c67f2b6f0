"""The token provider and LinkedIn client of a command that must answer soon: `check` and `discover`.

A sync may wait out LinkedIn or the token service for `max_retry_seconds` (600 s by default); a command the
user is waiting for gives up after `seconds` (or the config's own limit, when that is shorter). Both the
retries and each attempt's timeouts are bounded by that deadline, so even a service that accepts the
connection and never answers costs no more than it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import requests

from destination_linkedin_capi.config.connector import ConnectorConfig
from destination_linkedin_capi.linkedin.auth import TokenProvider, make_token_provider
from destination_linkedin_capi.linkedin.client import LinkedInClient

#: How long `check` and `discover` wait for an unresponsive LinkedIn or token service, not a sync's limit.
COMMAND_RETRY_SECONDS = 20.0


def command_client(
    config: ConnectorConfig,
    seconds: float = COMMAND_RETRY_SECONDS,
    *,
    session: requests.Session | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[TokenProvider, LinkedInClient]:
    """The tokens and a client sharing `session`, both giving up within `min(seconds, max_retry_seconds)`.
    `clock` measures the token's lifetime and both deadlines; tests pass a fake one with its `sleep`."""
    limit = min(float(config.max_retry_seconds), seconds)
    tokens = make_token_provider(
        config, session, max_retry_seconds=limit, deadline_bounds_attempts=True, clock=clock, sleep=sleep
    )
    client = LinkedInClient(
        config.api_base_url,
        config.api_version,
        tokens,
        max_retry_seconds=limit,
        read_timeout=config.read_timeout_seconds,
        deadline_bounds_attempts=True,
        session=session,
        sleep=sleep,
        monotonic=clock,
    )
    return tokens, client
