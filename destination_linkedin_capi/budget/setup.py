"""From the config to a `RequestBudget`: which store, and which key — one LinkedIn member's budget.

The default key is derived from the authorisation and never exposes it: a token ID is an identifier, not a
secret, so token-ID mode uses it (with the token service's host); access tokens and refresh tokens are
secrets, so only a SHA-256 prefix of them is used. Syncs of one member therefore share by default.
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

from destination_linkedin_capi.budget.base import BudgetStore
from destination_linkedin_capi.budget.process import ProcessStore
from destination_linkedin_capi.budget.request_budget import RequestBudget
from destination_linkedin_capi.config.connector import (
    AccessTokenCredentials,
    ConnectorConfig,
    OAuth2Credentials,
    RedisBudget,
    SqliteBudget,
    TokenIdCredentials,
)

HASH_CHARS = 16  # 64 bits of a SHA-256: enough to keep members apart, far too few to learn the secret from


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:HASH_CHARS]


def default_key(config: ConnectorConfig) -> str:
    """The budget key of the member behind the config's authorisation."""
    credentials = config.credentials
    if isinstance(credentials, TokenIdCredentials):
        host = urlsplit(credentials.token_service_url.strip()).hostname or "token-service"
        return f"token-id:{credentials.token_id}@{host}"
    if isinstance(credentials, AccessTokenCredentials):
        return f"access-token:{_digest(credentials.access_token.strip())}"
    assert isinstance(credentials, OAuth2Credentials)
    return f"oauth:{_digest(credentials.client_id.strip(), credentials.refresh_token.strip())}"


def budget_key(config: ConnectorConfig) -> str:
    setting = config.request_budget
    if isinstance(setting, (SqliteBudget, RedisBudget)) and setting.key:
        return setting.key.strip()
    return default_key(config)


def connection_key(config: ConnectorConfig, key: str) -> str:
    """One connection's own counter (Requests per day for this connection): the same config, the same counter,
    so a restarted sync continues the day it began."""
    return f"{key}:connection:{_digest(config.raw.model_dump_json())}"


def make_store(config: ConnectorConfig) -> BudgetStore:
    setting = config.request_budget
    if isinstance(setting, SqliteBudget):
        from destination_linkedin_capi.budget.sqlite_store import SqliteStore

        return SqliteStore(setting.path.strip())
    if isinstance(setting, RedisBudget):
        from destination_linkedin_capi.budget.redis_store import RedisStore

        return RedisStore(setting.url.strip(), setting.key_prefix.strip())
    return ProcessStore()


def make_budget(config: ConnectorConfig) -> RequestBudget:
    key = budget_key(config)
    return RequestBudget(
        config.requests_per_minute,
        config.requests_per_day,
        window_seconds=config.throttle_window_seconds,
        store=make_store(config),
        key=key,
        sync_key=connection_key(config, key),
        sync_per_day=config.sync_requests_per_day,
    )
