"""What mapping one record gives: a `ConversionEvent` to send, or a `Rejection` a marketer can read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(slots=True, frozen=True)
class Rejection:
    """Why a record is not sent: a code from REJECTION_REASONS and one specific sentence."""

    reason: str
    message: str


@dataclass(slots=True)
class ConversionEvent:
    """One LinkedIn element ready to send, with what the report counts about it."""

    event: str
    payload: dict
    identifiers: tuple[str, ...]
    notes: tuple[str, ...]
    sources: Any = None  # `fields.Sources`: where its identifiers were read from, for the summary
