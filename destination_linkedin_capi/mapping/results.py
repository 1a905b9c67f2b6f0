"""What mapping one record gives: a `ConversionEvent` to send, or a `Rejection` a marketer can read."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True, frozen=True)
class Rejection:
    """Why a record is not sent: a code from REJECTION_REASONS and one specific sentence."""

    reason: str
    message: str


@dataclass(slots=True)
class ConversionEvent:
    """One LinkedIn element ready to send, with what the report counts about it. `rule` is the row's own conversion
    rule (None: its event's first rule); `copies` are the (URN, rule ID) of the event's further rules, each of which
    receives the same payload with its own `conversion`."""

    event: str
    payload: dict
    identifiers: tuple[str, ...]
    notes: tuple[str, ...]
    rule: int | None = None
    copies: tuple[tuple[str, int], ...] = ()
