"""The request budget's settings: a Redis URL or SQLite path that cannot work is a config error naming the field and
never the value; the keys a budget is counted under outlive a token rotation; `check` leaves no budget file behind."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
import redis
from airbyte_cdk.models import Status
from airbyte_cdk.utils.airbyte_secrets_utils import filter_secrets

from destination_linkedin_capi.budget.setup import budget_key, connection_key, make_budget, make_store
from destination_linkedin_capi.commands.check import run_check
from destination_linkedin_capi.config.connector import ConnectorConfig
from destination_linkedin_capi.errors import ConfigError, DailyBudgetExhaustedError
from unit_tests.conftest import ROOT, run_cli
from unit_tests.linkedin_mocks import ACCESS_TOKEN, config, mock_account_users, mock_rules, rule
from unit_tests.redis_server import RedisServer

#: A base64 password holding '/', '+' and '=' pasted into the URL as it is.
BASE64_PASSWORD = "kJ8q2Lw9x/T3vRzP0mN7+aBc="


def redis_config(url: str, mode: str = "access_token", **overrides) -> dict:
    return config(mode, request_budget={"store": "redis", "url": url}, **overrides)


def refused(raw: dict) -> str:
    with pytest.raises(ConfigError) as raised:
        ConnectorConfig.parse(raw)
    return str(raised.value)


@pytest.mark.parametrize(
    "url, problem",
    [
        (f"rediss://:{BASE64_PASSWORD}@cache.internal:6380/0", "unescaped"),
        ("redis://:Xq7Z?ss-SECRET@cache.internal:6379/0", "unescaped"),
        ("redis://:Xq7Z#ss-SECRET@cache.internal:6379/0", "unescaped"),
        ("redis://user-SECRET:Xq7Z/ss-SECRET@cache.internal:6379/0", "unescaped"),
        ("redis://:password-SECRET@cache.internal:70000/0", "port"),
        ("redis://:password-SECRET@cache.internal:0/0", "port"),
        ("redis://:password-SECRET@cache.internal:6379/zero", "database"),
        ("redis://:password-SECRET@cache.internal:6379/0?socket_timeout=soon", "option"),
        ("redis://:password-SECRET@cache.internal:6379/0?no_such_option-SECRET=1", "option"),
        ("rediss://:password-SECRET@cache.internal:6379/0?ssl_cert_reqs=maybe", "option"),
        ("redis://:password-SECRET@/0", "host"),
        ("redis://:Xq7Z ss-SECRET@cache.internal:6379/0", "whitespace"),
    ],
)
def test_a_redis_url_redis_py_cannot_use_is_a_config_error_without_the_value(url, problem):
    message = refused(redis_config(url))
    assert message.startswith("Redis URL (config field 'request_budget.url')"), message
    assert problem in message
    for piece in ("SECRET", "kJ8q2", "T3vRz", "Xq7Z", "cache.internal", "zero", "soon", "no_such", "maybe"):
        assert piece not in message


@pytest.mark.parametrize(
    "url",
    [
        "redis://127.0.0.1:6379/0",
        "redis://localhost",
        "rediss://:kJ8q2Lw9x%2FT3vRzP0mN7%2BaBc%3D@cache.internal:6380/1",
        "redis://app:p%40ss%23word@[::1]:6379/2?socket_keepalive=true&health_check_interval=10",
        "  redis://cache.internal:6379/  ",
    ],
)
def test_a_redis_url_redis_py_reads_as_written_is_accepted(url):
    assert ConnectorConfig.parse(redis_config(url)).request_budget.url == url


def test_the_redis_user_and_password_are_secrets_in_every_form():
    """The URL as a whole is an Airbyte secret; its parts too, percent-decoded as well, since an error text may
    quote a password without the rest of the URL."""
    parsed = ConnectorConfig.parse(
        redis_config("rediss://ops-user-SECRET:kJ8q2Lw9x%2FT3vRzP0mN7%2BaBc%3D@127.0.0.1:6380/0")
    )
    make_store(parsed).close()
    text = "auth as ops-user-SECRET with kJ8q2Lw9x/T3vRzP0mN7+aBc= (raw: kJ8q2Lw9x%2FT3vRzP0mN7%2BaBc%3D)"
    assert filter_secrets(text) == "auth as **** with **** (raw: ****)"


@pytest.mark.parametrize("path", [" ", ":memory:", "  :memory: "])
def test_an_sqlite_path_that_names_a_private_database_is_a_config_error(path):
    message = refused(config("access_token", request_budget={"store": "sqlite", "path": path}))
    assert message.startswith("SQLite file (config field 'request_budget.path')"), message
    assert "private database" in message


# -- keys that outlive a token rotation ---------------------------------------------------------------------


def oauth_config(refresh_token: str, access_token: str | None = None, **overrides) -> ConnectorConfig:
    creds = {"refresh_token": refresh_token, **({"access_token": access_token} if access_token else {})}
    return ConnectorConfig.parse(config("oauth2", creds=creds, **overrides))


def test_the_member_and_connection_keys_do_not_change_when_the_refresh_token_rotates():
    before = oauth_config("AQR-first-refresh-token-SECRET")
    after = oauth_config("AQR-rotated-refresh-token-SECRET", access_token="AQV-stored-by-airbyte-SECRET")
    assert budget_key(before) == budget_key(after)
    assert connection_key(before, budget_key(before)) == connection_key(after, budget_key(after))
    other_account = oauth_config("AQR-first-refresh-token-SECRET", account_id="507404993")
    assert budget_key(other_account) != budget_key(before)  # the member's budget is counted per account
    other_connection = oauth_config("AQR-first-refresh-token-SECRET", stream_events="orders=LEAD")
    assert connection_key(other_connection, budget_key(before)) != connection_key(before, budget_key(before))
    for key in (budget_key(before), connection_key(before, budget_key(before))):
        assert "SECRET" not in key


def test_a_connection_cap_of_five_still_holds_after_a_rotation(tmp_path):
    """Five requests, the refresh token rotates (the next attempt's config holds the new one): no sixth."""
    store = {"store": "sqlite", "path": str(tmp_path / "budget.sqlite")}
    first = make_budget(oauth_config("AQR-first-refresh-token-SECRET", sync_requests_per_day=5, request_budget=store))
    for _ in range(5):
        first.acquire()
    first.store.close()
    second = make_budget(
        oauth_config("AQR-rotated-refresh-token-SECRET", sync_requests_per_day=5, request_budget=store)
    )
    with pytest.raises(DailyBudgetExhaustedError, match="This connection's daily request cap"):
        second.acquire()
    second.store.close()


# -- check ------------------------------------------------------------------------------------------------------


def test_check_leaves_no_sqlite_file_behind_yet_proves_it_can_be_created(m, tmp_path):
    mock_account_users(m, ACCESS_TOKEN)
    mock_rules(m, ACCESS_TOKEN, [rule(111, "CRM leads")])
    path = tmp_path / "budget.sqlite"
    status = run_check(
        config("access_token", request_budget={"store": "sqlite", "path": str(path)}), logging.getLogger("airbyte")
    )
    assert status.status == Status.SUCCEEDED, status.message
    assert "today 0 of 300,000 requests" in status.message
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    status = run_check(
        config("access_token", request_budget={"store": "sqlite", "path": str(tmp_path / "missing" / "b.sqlite")}),
        logging.getLogger("airbyte"),
    )
    assert status.status == Status.FAILED and "missing" in status.message, status.message


def test_check_reads_an_existing_sqlite_file_and_keeps_it(m, tmp_path):
    mock_account_users(m, ACCESS_TOKEN)
    mock_rules(m, ACCESS_TOKEN, [rule(111, "CRM leads")])
    setting = {"store": "sqlite", "path": str(tmp_path / "budget.sqlite")}
    raw = config("access_token", request_budget=setting)
    budget = make_budget(ConnectorConfig.parse(raw))
    budget.acquire()
    budget.store.close()
    status = run_check(raw, logging.getLogger("airbyte"))
    assert status.status == Status.SUCCEEDED and "today 1 of 300,000 requests" in status.message, status.message
    assert (tmp_path / "budget.sqlite").exists()


@pytest.mark.parametrize("garbage", [("pause", "inf"), ("pause", str(10**17)), ("day", "many")])
def test_check_fails_on_a_redis_store_holding_values_the_connector_did_not_write(m, tmp_path, garbage):
    mock_account_users(m, ACCESS_TOKEN)
    mock_rules(m, ACCESS_TOKEN, [rule(111, "CRM leads")])
    server = RedisServer(tmp_path, password="check-redis-SECRET").start()
    try:
        kind, value = garbage
        budget_key_name = f"access-token-m-{kind}"
        suffix = "pause" if kind == "pause" else f"day:{dt.datetime.now(dt.timezone.utc):%Y-%m-%d}"
        redis.Redis.from_url(server.url).set(f"linkedin-capi:{budget_key_name}:{suffix}", value)
        setting = {"store": "redis", "url": server.url, "key": budget_key_name}
        status = run_check(config("access_token", request_budget=setting), logging.getLogger("airbyte"))
    finally:
        server.stop()
    assert status.status == Status.FAILED, status.message
    assert "holds a value the connector did not write under key linkedin-capi:access-token-m-" in status.message
    assert "check-redis-SECRET" not in status.message


def test_write_with_a_base64_redis_password_pasted_unescaped_is_a_config_error_that_quotes_none_of_it(write_json):
    """redis-py read the password's first part as the port: `write` died as a system_error quoting it."""
    raw = redis_config(f"rediss://:{BASE64_PASSWORD}@cache.internal:6380/0")
    catalog = ROOT / "integration_tests" / "configured_catalog.json"
    code, messages, stdout, stderr = run_cli(
        ["write", "--config", str(write_json("config.json", raw)), "--catalog", str(catalog)], stdin=""
    )
    (trace,) = [m["trace"] for m in messages if m["type"] == "TRACE"]
    assert code != 0 and trace["error"]["failure_type"] == "config_error"
    assert trace["error"]["message"].startswith("Redis URL (config field 'request_budget.url')")
    for piece in ("kJ8q2", "T3vRz", "aBc="):
        assert piece not in stdout + stderr
