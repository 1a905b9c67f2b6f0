"""Pytest plugin (`-p linkedin_capi_sandbox.pytest_plugin`): the `sandbox` fixture.

Every test in the repo can ask for `sandbox`: a started `Sandbox` on an ephemeral port with
LinkedIn's default quotas, stopped after the test. Seed it through its Python API. Tests that
cross quota windows, token expiries or the 90-day limit build their own `Sandbox(clock=ManualClock())`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from linkedin_capi_sandbox.app import Sandbox


class ManualClock:
    """A settable clock (epoch seconds) to pass as `Sandbox(clock=...)`: move `now` instead of sleeping."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A running sandbox (default quotas, real clock); `sandbox.url` is its base URL."""
    with Sandbox() as sb:
        yield sb
