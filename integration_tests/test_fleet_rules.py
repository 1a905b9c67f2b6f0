"""Six first syncs at once on an empty account, rule creation taking a while as on a real API: with a shared
store (its lock) and without (convergence), every event ends with exactly one enabled rule, and every
event of every sync is recorded on it. Repeated, because a race that is lost once in a while is still lost.

Creation takes 1 s here (a real API takes about 0.3 s): the syncs' start-ups are spread over a few seconds on
this machine, and the race must really be run for the test to mean something — without a store, duplicates
must have been created (and disabled again) in at least one round."""

from __future__ import annotations

import time

import orjson
import pytest
from linkedin_capi_sandbox import Sandbox

from devtools.sample_data import ACCOUNT
from integration_tests.fleet import event_ids, run_fleet, sync_lines, token_id_credentials
from unit_tests.redis_server import RedisServer

SYNCS = 6
ROUNDS = 2
STREAMS = ("leads", "purchases")
TYPES = {"leads": "LEAD", "purchases": "PURCHASE"}


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


def first_sync_config(sandbox: Sandbox, budget: dict) -> dict:
    return {
        "account_id": str(ACCOUNT),
        "credentials": token_id_credentials(sandbox),
        "conversion_events": ["LEAD", "PURCHASE"],
        "stream_events": "leads=LEAD,purchases=PURCHASE",
        "api_base_url": sandbox.url,
        "oauth_base_url": sandbox.url,
        "request_budget": budget,
    }


@pytest.mark.slow
@pytest.mark.parametrize("store", ["none", "redis"])
def test_parallel_first_syncs_keep_one_enabled_rule_per_event(tmp_path, redis_server, store):
    duplicates_seen = 0
    for round_number in range(ROUNDS):
        with Sandbox(rule_creation_latency=1.0) as sandbox:
            budget = (
                {"store": "redis", "url": redis_server.url, "key_prefix": f"rules-{time.time_ns()}"}
                if store == "redis"
                else {"store": "process"}
            )
            config = first_sync_config(sandbox, budget)
            lines = [sync_lines(i, 6, STREAMS) for i in range(SYNCS)]
            folder = tmp_path / f"round-{round_number}"
            folder.mkdir()
            runs = run_fleet(folder, [config] * SYNCS, lines, list(STREAMS))
            for run in runs:
                assert run.code == 0, run.output[-2000:]
            rules = sandbox.rules(ACCOUNT)
            kept = {}
            for conversion_type in TYPES.values():
                enabled = [r for r in rules if r["type"] == conversion_type and r["enabled"]]
                assert [r["name"] for r in enabled] == [f"Airbyte CAPI {conversion_type}"], (round_number, rules)
                kept[conversion_type] = enabled[0]["id"]
            events = sandbox.events()
            assert sorted(e["eventId"] for e in events) == sorted(i for sync in lines for i in event_ids(sync))
            expected_rule = {m_id: kept[TYPES[stream]] for sync in lines for m_id, stream in _event_streams(sync)}
            assert {e["eventId"]: e["_rule_id"] for e in events} == expected_rule
            duplicates = [r for r in rules if not r["enabled"]]
            logs = [line for run in runs for line in run.logs]
            disabled_lines = [line for line in logs if "disabled its own duplicate" in line]
            assert len(disabled_lines) == len(duplicates)  # every duplicate is disabled by its creator, and says so
            duplicates_seen += len(duplicates)
            if store == "redis":
                assert duplicates == []  # the lock let one sync create, the others found its rule
    if store == "none":
        assert duplicates_seen > 0  # the race did happen, and was repaired


def _event_streams(lines: list[bytes]):
    for message in map(orjson.loads, lines):
        if message["type"] == "RECORD":
            yield message["record"]["data"]["event_id"], message["record"]["stream"]
