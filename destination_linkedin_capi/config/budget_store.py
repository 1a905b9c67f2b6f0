"""`request_budget`: which store counts the request budget, and whether the store named can work at all.

A Redis URL is read by redis-py's own parser at config time, so a URL it would misread (a password holding an
unescaped `/`, `?` or `#` cuts the URL short: redis-py then fails on the password's first part as a port, or
connects to localhost) is refused before a sync starts. An SQLite path that opens a private database (blank,
`:memory:`) would give every sync its own budget while `check` calls it shared. The sentences name the field and
the problem, never the value: the URL is a secret.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from destination_linkedin_capi.errors import ConfigError

REDIS_URL_FORM = "redis://[user:password@]host:port/db, or rediss://… for TLS"
#: The database number in a Redis URL's path: `/0`, or nothing (database 0).
_DATABASE = re.compile(r"/?|/[0-9]{1,5}/?")


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ProcessBudget(_Model):
    store: Literal["process"]


class SqliteBudget(_Model):
    store: Literal["sqlite"]
    path: Annotated[str, Field(min_length=1)]
    key: Annotated[str, Field(min_length=1, max_length=200)] | None = None


class RedisBudget(_Model):
    store: Literal["redis"]
    url: Annotated[str, Field(pattern=r"^\s*rediss?://")]
    key_prefix: Annotated[str, Field(min_length=1, max_length=100)] = "linkedin-capi"
    key: Annotated[str, Field(min_length=1, max_length=200)] | None = None


BudgetStoreConfig = Annotated[ProcessBudget | SqliteBudget | RedisBudget, Field(discriminator="store")]


def _redis_url_problem(url: str) -> str | None:
    """Why redis-py would not read `url` as written, or None."""
    if not url.isascii() or any(ch.isspace() or not ch.isprintable() for ch in url):
        return "holds whitespace, control or non-ASCII characters (percent-encode them in a password: a space is %20)"
    parts = urlsplit(url)
    after_host = url[url.index("//") + 2 + len(parts.netloc) :]
    if "@" in after_host:
        return (
            "holds a user name or password with an unescaped '/', '?' or '#', which ends the host part early; "
            "percent-encode them (%2F, %3F, %23)"
        )
    if "#" in url:
        return "holds a fragment (#…); percent-encode '#' as %23"
    if not parts.hostname:
        return "names no host"
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        return "has a port that is not a number from 1 to 65535"
    if not _DATABASE.fullmatch(parts.path):
        return "has a database number (the path) that is not a whole number, e.g. /0"
    return _redis_py_problem(url)


def _redis_py_problem(url: str) -> str | None:
    """What redis-py itself says about the URL's options: a connection is built (nothing is sent) so that an
    unknown option fails here, not at the first request of a sync."""
    import redis  # here, not at the top: only a Redis budget needs it

    try:
        redis.ConnectionPool.from_url(url).make_connection()
    except (redis.RedisError, TypeError, ValueError):  # their texts may quote the value: never shown
        return "holds an unknown option or an option value redis-py cannot read (?name=value)"
    return None


def check_budget_store(setting: ProcessBudget | SqliteBudget | RedisBudget) -> None:
    """Refuse a store that cannot be used, or would not be shared, with one sentence naming the field."""
    if isinstance(setting, RedisBudget):
        problem = _redis_url_problem(setting.url.strip())
        if problem:
            raise ConfigError(f"Redis URL (config field 'request_budget.url') {problem}; expected {REDIS_URL_FORM}.")
    if isinstance(setting, SqliteBudget):
        path = setting.path.strip()
        if not path or path == ":memory:":
            raise ConfigError(
                "SQLite file (config field 'request_budget.path') names "
                + ("no file" if not path else "an in-memory database")
                + ", which SQLite opens as a private database no other sync shares; give the path of a file, e.g. "
                "/var/lib/airbyte/linkedin-capi-budget.sqlite."
            )
