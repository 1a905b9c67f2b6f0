"""Kill-and-restart: SIGKILL `python main.py write` at random points of a sync and restart it from the last STATE
it printed, as Airbyte does (the input starts again right after that state; the sandbox keeps what it received),
until a run completes. Nothing may be lost, and every event LinkedIn receives more than once must be the same
event — same eventId, same content — so LinkedIn's eventId deduplication makes the replay harmless.

The sync is paced by the connector's own request budget (40-event batches, at most 5 requests per 0.25 s), so
it lasts long enough to be killed mid-way without any sleeping in the test.
"""

from __future__ import annotations

import random
from pathlib import Path

import orjson
import pytest

from devtools.sample_data import catalog, generate_lines
from integration_tests.writing import (
    TOKEN,
    DeliveryGate,
    WriteRun,
    access_token_config,
    assert_duplicates_identical,
    kill_plan,
    parse_summary,
    run_write,
    sample_event_ids,
    seed_access_token,
    with_state_ids,
)

pytestmark = pytest.mark.timeout(120)

SEEDS = [1, 2, 3]
RECORDS = 1_200
MAX_KILLS = 3


@pytest.mark.parametrize("seed", SEEDS)
def test_sigkill_and_restart_from_the_last_state_loses_nothing(sandbox, tmp_path: Path, seed: int):
    seed_access_token(sandbox)
    lines = with_state_ids(generate_lines(RECORDS, bad=False, state_every=30))
    state_position = {orjson.loads(line)["id"]: i for i, line in enumerate(lines) if b'"STATE"' in line}
    state_ids = list(state_position)
    config = access_token_config(sandbox, batch_size=40, requests_per_minute=5, throttle_window_seconds=0.25)
    gate = DeliveryGate(sandbox, lines)
    rng = random.Random(seed)

    position = 0  # where the input starts again: right after the last state Airbyte received
    runs: list[WriteRun] = []
    while True:
        plan = kill_plan(rng) if len([r for r in runs if r.killed]) < MAX_KILLS else {}
        assert len(runs) < 12, "the sync never completed"
        last_start = position
        run = run_write(tmp_path, config, catalog(), lines[position:], on_message=gate, **plan)
        runs.append(run)
        assert run.code in (0, -9), run.output
        assert TOKEN not in run.output
        # A run prints the states of its input in order, none skipped, and nothing out of thin air.
        expected = [i for i in state_ids if state_position[i] >= position]
        assert [s["id"] for s in run.states] == expected[: len(run.states)]
        if run.states:
            position = state_position[run.states[-1]["id"]] + 1
        if run.code == 0:
            break

    assert sum(run.killed for run in runs) >= 1, "no run was killed mid-sync"
    # The last state came back (a run restarted after it may print none), and the completing run read its input.
    assert [s["id"] for run in runs for s in run.states][-1] == state_ids[-1]
    last = runs[-1]
    summary = parse_summary(last.logs)
    assert summary.read == summary.sent == sum(b'"RECORD"' in line for line in lines[last_start:])
    stored = sandbox.events()
    assert {event["eventId"] for event in stored} == set(sample_event_ids(lines)), "records lost (or unknown events)"
    assert_duplicates_identical(stored)
    assert gate.checked, "no state was checked"
