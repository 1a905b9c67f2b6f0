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
    """One LinkedIn element ready to send, to its event's (first) rule, with what the report counts about it."""

    event: str
    payload: dict
    identifiers: tuple[str, ...]
    notes: tuple[str, ...]
    sources: Any = None  # `fields.Sources`: where its identifiers were read from, for the summary


@dataclass(slots=True)
class RoutedEvent(ConversionEvent):
    """A conversion event that does not go to its event's first rule alone (its own class, so that the common
    event pays nothing for it): to the row's own `rule`, or also to the event's further rules, `copies` (URN and
    rule ID of each), each of which receives the same payload with its own `conversion`."""

    rule: int | None = None
    copies: tuple[tuple[str, int], ...] = ()
