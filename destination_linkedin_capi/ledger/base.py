"""The sent-events ledger: which (conversion rule, eventId) pairs LinkedIn accepted, so a re-sent row is left out.

Every store answers for a whole batch in one round trip. A sync *claims* the keys of a batch before it sends it;
a claim is the sync's own for `lease_ms` (derived from the request deadline), so a second sync meeting a live
claim waits for it to settle instead of sending the event too; a claim whose sync died simply runs out and is
taken over. After LinkedIn's answer the sync *confirms* what LinkedIn accepted (an entry then lives until its
conversion leaves LinkedIn's 90-day window) and *releases* the rest, which any sync may then send.

An entry is never written before LinkedIn accepted the event: a sync killed at any point leaves at most claims,
which expire; the one duplicate window is a crash between LinkedIn's answer and the confirmation (one batch).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

#: A claim's answer for one key.
CLAIMED = 0  # this sync holds it now: send the event
SENT = 1  # LinkedIn accepted it before: leave the event out (`at_ms`: when it was first accepted)
HELD = 2  # another sync's live claim (`at_ms`: when the claim runs out): wait for it to settle

#: Bytes of a ledger key: 128 bits of BLAKE2b, so the chance that two of a billion events share a key (and one
#: of them is wrongly left out as already sent) is about 10⁻²¹.
KEY_BYTES = 16


class LedgerUnavailable(Exception):
    """The ledger's store did not answer or refused; `str()` names the store (host:port or path), never a password."""


@dataclass(frozen=True, slots=True)
class Verdict:
    status: int  # CLAIMED, SENT or HELD
    at_ms: int = 0  # SENT: first accepted (epoch ms, 0 if unknown); HELD: when the other claim runs out


#: The verdict most keys get, shared (a verdict is immutable): a batch of new events allocates none.
CLAIMED_VERDICT = Verdict(CLAIMED)


def entry_key(rule: str, event_id: str) -> bytes:
    """The ledger key of one event: its rule URN and its eventId, as LinkedIn keeps them apart."""
    return hashlib.blake2b(f"{rule}\0{event_id}".encode(), digest_size=KEY_BYTES).digest()


class LedgerStore(Protocol):
    """One of `process`, `sqlite`, `redis` (the `request_budget` setting). Methods may raise `LedgerUnavailable`."""

    description: str  # names the store in sentences ("this process", "SQLite file …", "Redis at host:port")
    shared: bool  # whether other syncs see this ledger (False: this sync only)

    def claim(self, keys: Sequence[bytes], owner: str, lease_ms: int) -> list[Verdict]:
        """For each key, in order and in one round trip: SENT if an unexpired entry says LinkedIn accepted it;
        HELD if another owner's claim on it has not run out; else CLAIMED — the key is now `owner`'s until
        `lease_ms` from now (a key `owner` already claims is extended). `keys` holds no repeats: the caller folds
        a batch's duplicates into their first copy."""
        ...

    def confirm(self, keys: Sequence[bytes], expires_ms: Sequence[int], accepted_ms: int) -> None:
        """LinkedIn accepted these events at `accepted_ms`: each becomes an entry until `expires_ms` (epoch ms)."""
        ...

    def release(self, keys: Sequence[bytes], owner: str) -> None:
        """Drop `owner`'s claims on keys it did not confirm (refused, or never sent); other claims are untouched."""
        ...

    def seen(self, keys: Sequence[bytes]) -> list[int | None]:
        """Read only (a dry run): for each key, when LinkedIn first accepted it (epoch ms), or None."""
        ...

    def count(self) -> int:
        """How many unexpired entries the ledger holds (check reports it)."""
        ...

    def close(self) -> None: ...
