"""Each class of sandbox fault, on its own, during a real `python main.py write`: 429 storms with and without
Retry-After (injected, and the sandbox's own quota), 5xx bursts, connection resets and answers slower than the
read timeout. Every time: zero loss, every STATE printed only once the sandbox holds every record before it, every
state echoed in order, and exactly the retries the faults call for.

Faults are scheduled (not random), so the request counts are exact. The client's backoff is full-jitter
exponential from 1 s when LinkedIn gives no Retry-After, so those scenarios keep to two or three failures.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from linkedin_capi_sandbox import Sandbox

from devtools.sample_data import catalog, generate_lines
from integration_tests.writing import (
    TOKEN,
    DeliveryGate,
    access_token_config,
    assert_duplicates_identical,
    assert_states_echoed,
    parse_summary,
    run_write,
    sample_event_ids,
    seed_access_token,
    with_state_ids,
)

pytestmark = pytest.mark.timeout(120)

RECORDS = 400
BATCH = 50
BATCHES = RECORDS // BATCH
EVENTS_PATH = "/rest/conversionEvents"


@dataclass(frozen=True)
class Scenario:
    id: str
    faults: tuple[dict[str, Any], ...] = ()  # add_fault keyword arguments, all on the events path
    statuses: dict[int, int] = field(default_factory=dict)  # error answers the sandbox must have given, exactly
    failures: int | None = 0  # requests that failed and were retried (None: as many as the sandbox's quota refused)
    limits: dict[str, Any] | None = None  # sandbox.set_limits: its own quota answers 429 without Retry-After
    config: dict[str, Any] = field(default_factory=dict)
    resent_batches: int = 0  # batches LinkedIn stored twice (answer lost after it was stored)


SCENARIOS = [
    Scenario(
        "429-storm-with-retry-after",
        faults=({"status": 429, "count": 5, "after": 1, "retry_after": 0.2},),
        statuses={429: 5},
        failures=5,
    ),
    Scenario(
        "429-storm-without-retry-after",
        faults=({"status": 429, "count": 2, "after": 1},),
        statuses={429: 2},
        failures=2,
    ),
    Scenario("429-from-the-sandbox-quota", limits={"requests_per_minute": 4, "window_seconds": 1.0}, failures=None),
    Scenario(
        "5xx-burst",
        faults=(
            {"status": 500, "after": 1},
            {"status": 502, "after": 3},
            {"status": 503, "count": 3, "after": 5, "retry_after": 0.1},
            {"status": 504, "after": 9, "retry_after": 0.1},
        ),
        statuses={500: 1, 502: 1, 503: 3, 504: 1},
        failures=6,
    ),
    Scenario("connection-reset", faults=({"drop": True, "after": 1}, {"drop": True, "after": 4}), failures=2),
    Scenario(
        "slower-than-the-read-timeout",
        faults=({"delay": 1.5, "after": 1},),
        failures=1,
        config={"read_timeout_seconds": 1},
        resent_batches=1,
    ),
]


def wait_for_events(sandbox: Sandbox, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
    """The slow answer's request is still being handled when the CLI exits: wait (briefly) for it to be stored."""
    deadline = time.monotonic() + timeout
    while len(events := sandbox.events()) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return events


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.id for s in SCENARIOS])
def test_each_fault_class_loses_nothing_and_never_runs_a_state_ahead(sandbox, tmp_path: Path, scenario: Scenario):
    seed_access_token(sandbox)
    for fault in scenario.faults:
        sandbox.add_fault(**fault, path_prefix=EVENTS_PATH)
    if scenario.limits:
        sandbox.set_limits(**scenario.limits)
    lines = with_state_ids(generate_lines(RECORDS, bad=False, state_every=25))
    gate = DeliveryGate(sandbox, lines)
    config = access_token_config(sandbox, batch_size=BATCH, **scenario.config)

    run = run_write(tmp_path, config, catalog(), lines, on_message=gate)

    assert run.code == 0, run.output
    assert_states_echoed(run, lines)
    assert len(gate.checked) == len(run.states) == RECORDS // 25
    events = wait_for_events(sandbox, RECORDS + scenario.resent_batches * BATCH)
    assert {e["eventId"] for e in events} == set(sample_event_ids(lines))  # zero loss
    assert assert_duplicates_identical(events) == scenario.resent_batches * BATCH
    assert len(events) == RECORDS + scenario.resent_batches * BATCH

    stats = sandbox.stats()
    if scenario.failures is None:
        failures, statuses = stats["throttled"], {429: stats["throttled"]}
        assert failures >= 1, "the quota never answered 429"
    else:
        failures, statuses = scenario.failures, scenario.statuses
    assert stats["by_path"][EVENTS_PATH] == BATCHES + failures
    assert {status: n for status, n in stats["by_status"].items() if status != 200} == statuses
    assert stats["batch_sizes"] == [BATCH] * (BATCHES + scenario.resent_batches)
    retries = [line for line in run.logs if line.startswith(f"POST {EVENTS_PATH} failed: ")]
    assert len(retries) == failures
    summary = parse_summary(run.logs)
    assert (summary.read, summary.sent, summary.rejected, summary.unsettled) == (RECORDS, RECORDS, 0, 0)
    assert TOKEN not in run.output
