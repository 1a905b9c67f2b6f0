"""Send each conversion once, end to end: `python main.py write` processes against the strict sandbox, with the
sent-events ledger in a real SQLite file or a real Redis server (no mock of the store).

A full refresh written three times, parallel syncs over the same rows, syncs killed at random points and resumed,
and the ledger's store lost at the start or in the middle of a sync.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import orjson
import pytest
from linkedin_capi_sandbox import Sandbox

from devtools.sample_data import ACCOUNT, access_token_config, catalog, generate_lines
from integration_tests.fleet import REDIS_PASSWORD, event_ids, run_fleet, store_setting, sync_lines
from integration_tests.writing import (
    DeliveryGate,
    kill_plan,
    parse_summary,
    run_write,
    sample_event_ids,
    seed_rules,
    with_state_ids,
)
from unit_tests.conftest import run_cli

pytestmark = pytest.mark.timeout(240)

TOKEN = "AQX-send-once-access-token-SECRET"


@pytest.fixture
def sandbox():
    with Sandbox(requests_per_minute=None, requests_per_day=None) as sb:
        seed_rules(sb)
        sb.add_token(TOKEN, {ACCOUNT: "ACCOUNT_MANAGER"})
        yield sb


def config(sandbox: Sandbox, budget: dict, **overrides) -> dict:
    return access_token_config(
        TOKEN,
        sandbox.url,
        request_budget=budget,
        max_retry_seconds=2,  # a claim's lease: one window, the retry limit and the read timeout (≈ 5 s here)
        read_timeout_seconds=2,
        throttle_window_seconds=1,
        **overrides,
    )


def folder(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    path.mkdir()
    return path


def assert_each_event_once(sandbox: Sandbox, expected: list[str]) -> None:
    received = [event["eventId"] for event in sandbox.events()]
    assert len(received) == len(set(received)), f"{len(received) - len(set(received))} events reached LinkedIn twice"
    assert sorted(received) == sorted(expected)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_a_full_refresh_written_three_times_reaches_linkedin_once(sandbox, tmp_path, redis_server, kind):
    lines = sync_lines(0, 300)
    settings = config(sandbox, store_setting(kind, tmp_path, redis_server))
    summaries = []
    for attempt in range(3):
        run = run_write(folder(tmp_path, f"run-{attempt}"), settings, catalog(), lines)
        assert run.code == 0, run.output
        assert REDIS_PASSWORD not in run.output and TOKEN not in run.output
        summaries.append(parse_summary(run.logs))
    assert [(s.read, s.sent, s.already_sent, s.rejected) for s in summaries] == [
        (300, 300, 0, 0),
        (300, 0, 300, 0),
        (300, 0, 300, 0),
    ]
    assert_each_event_once(sandbox, event_ids(lines))
    assert sandbox.stats()["duplicates_received"] == 0


@pytest.mark.slow
@pytest.mark.parametrize("kind, syncs", [("sqlite", 2), ("redis", 2), ("sqlite", 4), ("redis", 4)])
def test_parallel_syncs_over_the_same_rows_send_each_event_once_between_them(
    sandbox, tmp_path, redis_server, kind, syncs
):
    lines = sync_lines(0, 5_000)
    settings = config(sandbox, store_setting(kind, tmp_path, redis_server), batch_size=250)
    runs = run_fleet(tmp_path, [settings] * syncs, [lines] * syncs)
    assert [run.code for run in runs] == [0] * syncs, [run.output[-2000:] for run in runs]
    summaries = [parse_summary(run.logs) for run in runs]
    assert sum(s.sent for s in summaries) == 5_000
    assert all(s.sent + s.already_sent == 5_000 for s in summaries)
    assert_each_event_once(sandbox, event_ids(lines))
    assert sandbox.stats()["duplicates_received"] == 0


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_syncs_killed_at_random_points_and_resumed_lose_nothing_and_double_at_most_a_batch_a_kill(
    sandbox, tmp_path, redis_server, seed
):
    lines = with_state_ids(generate_lines(600, seed=seed, bad=False, state_every=30))
    positions = {orjson.loads(line)["id"]: i for i, line in enumerate(lines) if b'"STATE"' in line}
    # paced by the connector's own budget so that a kill lands mid-sync: batches of 20, 5 requests a second
    settings = config(sandbox, store_setting("sqlite", tmp_path, redis_server), batch_size=20, requests_per_minute=5)
    gate, rng, position, kills = DeliveryGate(sandbox, lines), random.Random(seed), 0, 0
    for attempt in range(12):
        plan = kill_plan(rng, most_states=6, latest=2.5) if kills < 3 else {}
        run = run_write(
            folder(tmp_path, f"run-{attempt}"), settings, catalog(), lines[position:], on_message=gate, **plan
        )
        assert run.code in (0, -9), run.output
        kills += run.killed
        if run.states:
            position = positions[run.states[-1]["id"]] + 1
        if run.code == 0:
            break
    else:
        pytest.fail("the sync never completed")
    assert kills >= 1, "no run was killed mid-sync"
    received = [event["eventId"] for event in sandbox.events()]
    assert set(received) == set(sample_event_ids(lines)), "records lost"
    assert len(received) - len(set(received)) <= 20 * kills  # the batch in flight at each kill, at most
    assert sandbox.stats()["duplicates_received"] == len(received) - len(set(received))


def test_the_ledger_store_down_at_the_start_stops_the_sync_before_anything_is_sent(sandbox, tmp_path, redis_server):
    lines = sync_lines(0, 50)
    settings = config(sandbox, store_setting("redis", tmp_path, redis_server))
    redis_server.stop()
    run = run_write(tmp_path, settings, catalog(), lines)
    assert run.code != 0
    assert "The sent-events ledger (Redis at 127.0.0.1:" in run.output
    assert "could not be reached while claiming a batch's events, so the sync stops" in run.output
    assert REDIS_PASSWORD not in run.output
    assert run.states == []
    assert sandbox.events() == []


def test_with_send_when_unreachable_the_sync_sends_anyway_with_one_warning(sandbox, tmp_path, redis_server):
    lines = sync_lines(0, 50)
    settings = config(
        sandbox, store_setting("redis", tmp_path, redis_server), batch_size=10, send_once_when_store_unreachable="send"
    )
    redis_server.stop()
    run = run_write(tmp_path, settings, catalog(), lines)
    assert run.code == 0, run.output
    warnings = [line for line in run.logs if "could not be reached while claiming" in line]
    assert len(warnings) == 1 and "sending anyway" in warnings[0]
    assert_each_event_once(sandbox, event_ids(lines))


def test_the_ledger_store_lost_mid_sync_stops_it_with_no_state_past_unsent_rows(sandbox, tmp_path, redis_server):
    lines = with_state_ids(generate_lines(300, bad=False, state_every=30))
    settings = config(sandbox, store_setting("redis", tmp_path, redis_server), batch_size=10, requests_per_minute=5)
    gate = DeliveryGate(sandbox, lines)
    printed = []

    def lose_the_store(message: dict) -> None:
        gate(message)
        if message["type"] == "STATE":
            printed.append(message)
            if len(printed) == 2:
                redis_server.kill()

    run = run_write(tmp_path, settings, catalog(), lines, on_message=lose_the_store)
    assert run.code != 0
    assert "could not be reached while" in run.output and "the next sync resumes" in run.output
    assert 0 < len(sandbox.events()) < 300
    assert len(gate.checked) == len(run.states)  # every state printed was checked against what LinkedIn holds


def test_check_counts_the_ledgers_entries(sandbox, tmp_path, redis_server):
    settings = config(sandbox, store_setting("sqlite", tmp_path, redis_server))
    path = settings["request_budget"]["path"]
    lines = sync_lines(0, 40)
    assert run_write(folder(tmp_path, "first"), settings, catalog(), lines).code == 0
    (tmp_path / "config.json").write_text(json.dumps(settings))
    code, messages, _, _ = run_cli(["check", "--config", str(tmp_path / "config.json")])
    status = next(m["connectionStatus"] for m in messages if m["type"] == "CONNECTION_STATUS")
    assert code == 0 and status["status"] == "SUCCEEDED", status
    assert (
        f"Sent-events ledger (SQLite file {path}): 40 conversions LinkedIn accepted in the last 90 days."
        in (status["message"])
    )
