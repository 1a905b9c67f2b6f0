"""Send each conversion once: the writer's side of the sent-events ledger (`ledger/base.py`).

Before a batch goes out, its events are claimed in the ledger in one call: those LinkedIn accepted before are left
out (already sent), those another sync is sending are waited for until they settle, and the rest are this sync's
to send. A key met twice in one batch is sent once; its later copies follow the first one's fate. After LinkedIn's
answer, what it accepted is confirmed (an entry until the conversion leaves LinkedIn's 90-day window) and the rest
released. A claim lasts as long as one request may take (`lease_seconds`) and is renewed between the requests of a
batch, so a sync that died leaves its claims for others to take over within minutes.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from destination_linkedin_capi import constants as c
from destination_linkedin_capi.errors import LedgerUnavailableError
from destination_linkedin_capi.ledger.base import (
    CLAIMED,
    CLAIMED_VERDICT,
    SENT,
    LedgerStore,
    LedgerUnavailable,
    entry_key,
)

logger = logging.getLogger("airbyte")

#: An event as the ledger knows it: (rule URN, eventId, conversionHappenedAt in epoch ms).
EventRef = tuple[str, str, int]
#: While another sync holds a claim, look again this often (or when its lease ends, if sooner).
HELD_POLL_SECONDS = 1.0


@dataclass
class Plan:
    """What to do with one batch: indices to send, indices already sent (→ first accepted ms, 0 if unknown),
    later copies of a key in the batch (→ the index of its first copy). `keys` are the batch's ledger keys, or
    empty when the ledger could not be reached and the batch goes out without it."""

    send: list[int]
    already: dict[int, int] = field(default_factory=dict)
    copies: dict[int, int] = field(default_factory=dict)
    keys: list[bytes] = field(default_factory=list)
    claimed_at: float = 0.0


class SendOnce:
    """Claims, confirms and releases a batch's events in the ledger for one sync."""

    def __init__(
        self,
        store: LedgerStore,
        *,
        lease_seconds: float,
        keep_ms: int,
        when_unreachable: str = "stop",
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        wall_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        self.store = store
        self.owner = uuid.uuid4().hex
        self._lease_ms = int(lease_seconds * 1000)
        self._keep_ms = keep_ms  # how long after its conversion an entry is kept (LinkedIn's window + margin)
        self._when_unreachable = when_unreachable
        self._sleep = sleep
        self._clock = clock
        self._wall_ms = wall_ms
        self._warned = False

    def _unreachable(self, error: LedgerUnavailable, doing: str) -> None:
        """Stop (the default) or, with `send`, warn once and go on without the ledger."""
        if self._when_unreachable != "send":
            raise LedgerUnavailableError(
                f"The sent-events ledger ({error}) could not be reached while {doing}, so the sync stops before "
                "sending anything it cannot vouch for: nothing is lost, and the next sync resumes from the last "
                "checkpoint. To send anyway, set 'When the ledger store is unreachable' to 'send'."
            ) from error
        if not self._warned:
            logger.warning(
                "The sent-events ledger (%s) could not be reached while %s; sending anyway, as 'When the ledger store "
                "is unreachable' is 'send': events re-sent meanwhile may count twice in LinkedIn.",
                error,
                doing,
            )
            self._warned = True

    def plan(self, refs: Sequence[EventRef], check: Callable[[], None]) -> Plan:
        """Claim the batch's events; waits (calling `check`, which raises on cancellation) while another sync holds
        some of them. Raises `LedgerUnavailableError` when the ledger is away (unless `send` is set)."""
        keys = [entry_key(rule, event_id) for rule, event_id, _ in refs]
        first: dict[bytes, int] = {}
        copies: dict[int, int] = {}
        if len(set(keys)) < len(keys):  # rare: a key repeated in the batch
            for index, key in enumerate(keys):
                if key in first:
                    copies[index] = first[key]
                else:
                    first[key] = index
        pending = list(first.values()) if copies else list(range(len(keys)))
        plan = Plan(send=[], copies=copies, keys=keys, claimed_at=self._clock())
        try:
            while pending:
                asked = keys if len(pending) == len(keys) else [keys[i] for i in pending]
                verdicts = self.store.claim(asked, self.owner, self._lease_ms)
                if all(verdict is CLAIMED_VERDICT for verdict in verdicts):  # the common case: all new
                    plan.send.extend(pending)
                    break
                held, wait = [], HELD_POLL_SECONDS
                for index, verdict in zip(pending, verdicts, strict=True):
                    if verdict.status == CLAIMED:
                        plan.send.append(index)
                    elif verdict.status == SENT:
                        plan.already[index] = verdict.at_ms
                    else:
                        held.append(index)
                        wait = min(wait, max(0.05, (verdict.at_ms - self._wall_ms()) / 1000))
                pending = held
                if pending:
                    check()
                    self._sleep(wait)
        except LedgerUnavailable as error:
            self.release(plan)  # best effort: what was claimed before the outage
            self._unreachable(error, "claiming a batch's events")
            return Plan(send=sorted(first.values()) if copies else list(range(len(keys))), copies=copies)
        except BaseException:  # a cancelled sync: its claims are free for others at once
            self.release(plan)
            raise
        plan.send.sort()
        return plan

    def renew(self, plan: Plan) -> None:
        """Between two requests of a batch: extend this sync's claims once a third of the lease has passed."""
        if not plan.keys or self._clock() - plan.claimed_at < self._lease_ms / 3000:
            return
        try:
            self.store.claim([plan.keys[i] for i in plan.send], self.owner, self._lease_ms)
            plan.claimed_at = self._clock()
        except LedgerUnavailable as error:
            self._unreachable(error, "renewing a batch's claims")

    def settle(self, plan: Plan, accepted: Iterable[int], refs: Sequence[EventRef]) -> None:
        """After LinkedIn's answer: confirm what it accepted, release the rest of the claims. An entry the ledger
        could not record only warns: LinkedIn has the events, and the next batch's claim stops the sync if the
        ledger is still away."""
        if not plan.keys:
            return
        keep = self._keep_ms
        if accepted is plan.send and len(accepted) == len(plan.keys):  # the common case: all new, all accepted
            confirmed, expires, rest = plan.keys, [ref[2] + keep for ref in refs], []
        else:
            accepted = sorted(set(accepted))
            done = set(accepted)
            confirmed = [plan.keys[i] for i in accepted]
            expires = [refs[i][2] + keep for i in accepted]
            rest = [plan.keys[i] for i in plan.send if i not in done]
        try:
            if confirmed:
                self.store.confirm(confirmed, expires, self._wall_ms())
            if rest:
                self.store.release(rest, self.owner)
        except LedgerUnavailable as error:
            logger.warning(
                "The sent-events ledger (%s) could not record %s LinkedIn accepted; a later sync may send them again.",
                error,
                f"{len(confirmed):,} events",
            )

    def release(self, plan: Plan) -> None:
        if plan.keys and plan.send:
            with contextlib.suppress(LedgerUnavailable):  # the claims run out with their lease
                self.store.release([plan.keys[i] for i in plan.send], self.owner)

    def seen(self, refs: Sequence[EventRef]) -> dict[int, int]:
        """A dry run: the batch's events LinkedIn accepted before (index → first accepted ms); nothing is claimed."""
        keys = [entry_key(rule, event_id) for rule, event_id, _ in refs]
        try:
            answers = self.store.seen(keys)
        except LedgerUnavailable as error:
            self._unreachable(error, "looking up a batch's events")
            return {}
        return {index: at for index, at in enumerate(answers) if at is not None}


def keep_ms(margin_minutes: int) -> int:
    """How long an entry is kept after its conversion: LinkedIn's 90-day window plus the event age margin."""
    return int(c.MAX_EVENT_AGE.total_seconds() * 1000) + margin_minutes * 60_000
