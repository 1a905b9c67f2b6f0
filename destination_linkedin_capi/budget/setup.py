"""From the config to a `RequestBudget`: which store, and which key — one LinkedIn member's budget.

The default key is derived from the authorisation and never exposes it: a token ID is an identifier, not a
secret, so token-ID mode uses it (with the token service's host); an access token is a secret, so only a
SHA-256 prefix of it is used; OAuth uses the app's client ID and the ad account, not the refresh token, which
LinkedIn rotates (a key that changed with it would start the day again). Syncs of one member therefore share
by default. A connection's own key is its settings without their secrets, for the same reason.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from functools import cache
from typing import Any
from urllib.parse import unquote, urlsplit

from destination_linkedin_capi.budget.base import BudgetStore
from destination_linkedin_capi.budget.process import ProcessStore
from destination_linkedin_capi.budget.request_budget import RequestBudget
from destination_linkedin_capi.config.budget_store import RedisBudget, SqliteBudget
from destination_linkedin_capi.config.connector import (
    AccessTokenCredentials,
    ConnectorConfig,
    OAuth2Credentials,
    TokenIdCredentials,
    connection_specification,
)
from destination_linkedin_capi.safety import register_secret

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
    return f"oauth:{credentials.client_id.strip()}@{config.account_id}"


def budget_key(config: ConnectorConfig) -> str:
    setting = config.request_budget
    if isinstance(setting, (SqliteBudget, RedisBudget)) and setting.key:
        return setting.key.strip()
    return default_key(config)


@cache
def _secret_names() -> frozenset[str]:
    """The config fields spec.json marks `airbyte_secret`: tokens, passwords, the Redis URL."""
    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            properties = node.get("properties")
            if isinstance(properties, dict):
                names.update(name for name, field in properties.items() if field.get("airbyte_secret") is True)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(connection_specification())
    return frozenset(names)


def _without_secrets(value: Any) -> Any:
    if isinstance(value, dict):
        return {name: _without_secrets(item) for name, item in value.items() if name not in _secret_names()}
    if isinstance(value, list):
        return [_without_secrets(item) for item in value]
    return value


def connection_key(config: ConnectorConfig, key: str) -> str:
    """One connection's own counter (Requests per day for this connection): the same settings, the same counter,
    so a restarted sync continues the day it began. Secrets are left out: a refresh token LinkedIn rotates (or an
    access token Airbyte stores) must not start the connection's day again."""
    settings = json.dumps(_without_secrets(config.raw.model_dump(mode="json")), sort_keys=True)
    return f"{key}:connection:{_digest(settings)}"


def register_url_secrets(url: str) -> None:
    """The Redis user and password, as written and percent-decoded: an error text may quote either without the
    rest of the URL (which Airbyte already masks as a whole). Redis's built-in user name `default` is no secret,
    and masking that word would garble every sentence that uses it."""
    parts = urlsplit(url)
    for secret in (parts.username, parts.password):
        if secret and secret != "default":
            register_secret(secret)
            register_secret(unquote(secret))


def make_store(config: ConnectorConfig) -> BudgetStore:
    setting = config.request_budget
    if isinstance(setting, SqliteBudget):
        from destination_linkedin_capi.budget.sqlite_store import SqliteStore

        return SqliteStore(setting.path.strip())
    if isinstance(setting, RedisBudget):
        from destination_linkedin_capi.budget.redis_store import RedisStore

        register_url_secrets(setting.url.strip())
        return RedisStore(setting.url.strip(), setting.key_prefix.strip())
    return ProcessStore()


def make_budget(config: ConnectorConfig, *, sleep: Callable[[float], None] = time.sleep) -> RequestBudget:
    """The sync's request budget; `sleep` is the cancellation's, so a wait for a slot ends when the sync is cancelled."""
    key = budget_key(config)
    return RequestBudget(
        config.requests_per_minute,
        config.requests_per_day,
        window_seconds=config.throttle_window_seconds,
        store=make_store(config),
        key=key,
        sync_key=connection_key(config, key),
        sync_per_day=config.sync_requests_per_day,
        sleep=sleep,
    )
