"""Airbyte destination that streams conversion events to the LinkedIn Conversions API."""

from __future__ import annotations

from typing import Any

__all__ = ["DestinationLinkedinCapi"]


def __getattr__(name: str) -> Any:
    # Lazy, so the sandbox and the benchmarks can import submodules without loading the Airbyte CDK.
    if name == "DestinationLinkedinCapi":
        from destination_linkedin_capi.destination import DestinationLinkedinCapi

        return DestinationLinkedinCapi
    raise AttributeError(name)
