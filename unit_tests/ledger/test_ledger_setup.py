"""The ledger lives in the store the user chose for the request budget: the same SQLite file, the same Redis under the
same key prefix (its own `:ledger:` keys), or this process alone."""

from __future__ import annotations

import time

import redis
from airbyte_cdk.utils.airbyte_secrets_utils import filter_secrets

from destination_linkedin_capi.config.connector import ConnectorConfig
from destination_linkedin_capi.ledger.base import CLAIMED, Verdict, entry_key
from destination_linkedin_capi.ledger.process import ProcessLedger
from destination_linkedin_capi.ledger.redis_store import RedisLedger
from destination_linkedin_capi.ledger.setup import make_ledger
from destination_linkedin_capi.ledger.sqlite_store import SqliteLedger
from unit_tests.linkedin_mocks import config

KEY = entry_key("urn:lla:llaPartnerConversion:1", "order-1")


def test_the_process_budget_gives_a_ledger_of_this_sync_alone():
    ledger = make_ledger(ConnectorConfig.parse(config("access_token")))
    assert isinstance(ledger, ProcessLedger) and not ledger.shared


def test_the_sqlite_budget_file_holds_the_ledger_too(tmp_path):
    path = tmp_path / "budget.sqlite"
    ledger = make_ledger(
        ConnectorConfig.parse(config("access_token", request_budget={"store": "sqlite", "path": f" {path} "}))
    )
    assert isinstance(ledger, SqliteLedger) and ledger.shared and ledger.description == f"SQLite file {path}"
    assert ledger.claim([KEY], "sync-a", 60_000) == [Verdict(CLAIMED)]
    ledger.close()
    assert path.exists()


def test_the_redis_budget_holds_the_ledger_under_its_key_prefix_and_its_password_is_masked(redis_server):
    prefix = f"shop-{time.time_ns()}"
    setting = {"store": "redis", "url": redis_server.url, "key_prefix": prefix}
    ledger = make_ledger(ConnectorConfig.parse(config("access_token", request_budget=setting)))
    assert isinstance(ledger, RedisLedger) and ledger.shared
    assert ledger.description == f"Redis at 127.0.0.1:{redis_server.port}"
    ledger.claim([KEY], "sync-a", 60_000)
    ledger.confirm([KEY], [int(time.time() * 1000) + 60_000], 1)
    stored = redis.Redis.from_url(redis_server.url).keys(f"{prefix}:*")
    assert stored == [f"{prefix}:ledger:s:".encode() + KEY]
    assert redis_server.password not in filter_secrets(f"auth {redis_server.password} refused")
    ledger.close()
