"""The sandbox counts what LinkedIn would count twice: the real `python main.py write`, the same rows written twice
with `send_once: false` (today's behaviour, every row sent again), and the sandbox's `duplicates_received`."""

from __future__ import annotations

from collections import Counter

import pytest

from devtools.sample_data import RULES, catalog, generate_lines
from integration_tests.writing import access_token_config, run_write, seed_access_token, with_state_ids

pytestmark = pytest.mark.timeout(300)


def test_the_same_rows_written_twice_without_send_once_are_each_received_twice(sandbox, tmp_path):
    seed_access_token(sandbox)
    lines = with_state_ids(generate_lines(1_200, bad=False, state_every=100))
    config = access_token_config(sandbox, send_once=False)

    first = run_write(tmp_path, config, catalog(), lines)
    assert first.code == 0, first.output
    sent = Counter(event["_rule_id"] for event in sandbox.events())
    assert sum(sent.values()) == 1_200 and set(sent) == set(RULES.values())
    assert sandbox.stats()["duplicates_received"] == 0

    second = run_write(tmp_path, config, catalog(), lines)
    assert second.code == 0, second.output
    stats = sandbox.stats()
    assert stats["duplicates_received"] == 1_200
    assert stats["duplicates_by_rule"] == dict(sent)
    assert len(sandbox.events()) == 2_400
