"""The one way to build the LinkedIn client from the config: the auth mode's token provider, the request budget
and one retry policy for both.

A sync may wait out LinkedIn or the token service for `max_retry_seconds` (600 s by default); a command the
user is waiting for (`check`, `discover`) passes `deadline_seconds` and gives up within the shorter of the two.
Both the retries and each attempt's timeouts are then bounded by it, so even a service that accepts the
connection and never answers costs no more than that.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import requests

from destination_linkedin_capi.budget.request_budget import RequestBudget
from destination_linkedin_capi.config.connector import (
    AccessTokenCredentials,
    ConnectorConfig,
    OAuth2Credentials,
    TokenIdCredentials,
)
from destination_linkedin_capi.errors import ConfigError
from destination_linkedin_capi.linkedin.auth import OAuth2Provider, StaticTokenProvider, TokenIdProvider, TokenProvider
from destination_linkedin_capi.linkedin.client import LinkedInClient
from destination_linkedin_capi.linkedin.retry import RetryPolicy

#: How long `check` and `discover` wait for an unresponsive LinkedIn or token service, not a sync's limit.
COMMAND_RETRY_SECONDS = 20.0


def connect(
    config: ConnectorConfig,
    *,
    budget: RequestBudget | None = None,
    deadline_seconds: float | None = None,
    session: requests.Session | None = None,
    clock: Callable[[], float] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> LinkedInClient:
    """The client, with the configured auth mode's provider as its `tokens`, sharing `session`. `clock` (tests: a
    fake one, with its `sleep`) measures both the token's lifetime and the retry deadline."""
    limit = float(config.max_retry_seconds)
    if deadline_seconds is not None:
        limit = min(limit, deadline_seconds)
    policy = RetryPolicy(
        max_seconds=limit,
        read_timeout=config.read_timeout_seconds,
        deadline_bounds_attempts=deadline_seconds is not None,
    )
    tokens = _token_provider(config, policy, session=session, clock=clock or time.time, sleep=sleep)
    return LinkedInClient(
        config.api_base_url,
        config.api_version,
        tokens,
        budget,
        policy=policy,
        session=session,
        sleep=sleep,
        monotonic=clock or time.monotonic,
    )


def _token_provider(
    config: ConnectorConfig,
    policy: RetryPolicy,
    *,
    session: requests.Session | None,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> TokenProvider:
    """The provider for the configured auth mode; `policy` retries its issuing service."""
    credentials = config.credentials
    if isinstance(credentials, AccessTokenCredentials):
        return StaticTokenProvider(credentials.access_token)
    options = {"session": session, "policy": policy, "clock": clock, "sleep": sleep}
    if isinstance(credentials, TokenIdCredentials):
        return TokenIdProvider(
            credentials.token_id,
            credentials.token_service_url.strip(),
            credentials.token_service_key,
            config.account_id,
            **options,
        )
    if isinstance(credentials, OAuth2Credentials):
        return OAuth2Provider(
            credentials.client_id,
            credentials.client_secret,
            credentials.refresh_token,
            config.oauth_base_url,
            **options,
        )
    raise ConfigError("Authentication must be one of: token_id, access_token, oauth2.")
