"""Suite-wide scheduling for `make test`, which runs pytest on two pytest-xdist workers (`-n 2 --dist loadgroup`);
its hook is registered by `unit_tests/conftest.py` and sees every collected test, integration tests included.

Most tests are CPU-bound (a `python main.py` start-up imports the Airbyte CDK); the tests below are bound by the
wall clock instead: they wait on the sandbox's rate windows, race parallel syncs, or time a signal's effect. They
form the `wall_clock` group, which pytest-xdist runs on a single worker, one test after the other — so two of them
never load the machine at the same time, exactly as in a one-process run — and they are collected first, so that
group starts at once and its waits overlap with the CPU-bound rest on the other worker. Without xdist
(`make test PYTEST_WORKERS=0`, or a plain `pytest`) the marker does nothing and only the order changes.
"""

from __future__ import annotations

import pytest

WALL_CLOCK_GROUP = "wall_clock"

#: Test modules (or single tests, `module::name`) in the wall_clock group, each with what makes it timing-bound.
WALL_CLOCK = {
    "integration_tests/test_fleet_rules.py": "six parallel first syncs must really race on rule creation",
    "integration_tests/test_fleet.py": "four parallel syncs at 10 requests a second, zero 429s allowed",
    "integration_tests/test_cancel.py": "a signal mid-request must end the sync within 15 s",
    "integration_tests/test_fault_sandbox.py": "exact retry counts, with a 1 s read timeout and a 1 s sandbox quota",
    "integration_tests/test_fault_tokens.py": "the token must die while paced batches remain",
    "integration_tests/test_write_sandbox.py::test_the_request_budget_means_zero_429s": "8 requests a second, no 429",
    "integration_tests/test_progress_sandbox.py": "a 12 s request-budget window must really pass",
}


def _wall_clock(item: pytest.Item) -> bool:
    module, _, name = item.nodeid.partition("::")
    return module in WALL_CLOCK or f"{module}::{name.split('[')[0]}" in WALL_CLOCK


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the group off the marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    timed = [item for item in items if _wall_clock(item)]
    for item in timed:
        item.add_marker(pytest.mark.xdist_group(WALL_CLOCK_GROUP))
    timed_ids = {id(item) for item in timed}
    items[:] = timed + [item for item in items if id(item) not in timed_ids]
