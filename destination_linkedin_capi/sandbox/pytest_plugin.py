"""Pytest plugin (`-p destination_linkedin_capi.sandbox.pytest_plugin`): the `sandbox` fixture.

Every test in the repo can ask for `sandbox`: a started `Sandbox` on an ephemeral port with
LinkedIn's default quotas, stopped after the test. Seed it through its Python API.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from destination_linkedin_capi.sandbox.app import Sandbox


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A running sandbox (default quotas, real clock); `sandbox.url` is its base URL."""
    with Sandbox() as sb:
        yield sb
