"""One batch through LinkedIn's all-or-nothing BATCH_CREATE: which elements it accepted, which it refused.

A refusal naming element indices rejects exactly those; one without indices is isolated by bisection. Elements
answered 5xx/429 inside a 200 were not recorded: only they are sent again, under the retry policy. When bisection
would write off more than a few rows of a batch (`unnamed_limit`) with index-less refusals, the refusal is about
the request, not the rows: the batch stops with `RequestRefusedError` and none of its refusals count.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from destination_linkedin_capi import failures
from destination_linkedin_capi.errors import (
    ConfigError,
    NotConversionsApiRuleError,
    RejectedRequestError,
    RequestRefusedError,
    RetriesExhaustedError,
)
from destination_linkedin_capi.linkedin.client import BatchAnswer
from destination_linkedin_capi.linkedin.retry import Attempts, Retryable, RetryPolicy, plural, retry_loop
from destination_linkedin_capi.write.elements import EncodedElements

logger = logging.getLogger("airbyte")

#: Sends encoded elements (the whole batch, or a part of it) and returns LinkedIn's answer.
SendBatch = Callable[[EncodedElements], BatchAnswer]
#: Index-less refusals bisection may isolate in one batch: max(10, 1% of the batch); one more and the refusal is
#: taken to be about the request.
UNNAMED_MIN = 10
UNNAMED_SHARE = 0.01


def unnamed_limit(size: int) -> int:
    return max(UNNAMED_MIN, int(size * UNNAMED_SHARE))


class BatchDelivery:
    """Delivers one batch's payloads; `accepted` lists the indices LinkedIn recorded so far, even when `run` raises
    half-way (the report counts them sent: they were)."""

    def __init__(
        self,
        payloads: Sequence[dict[str, Any]],
        send: SendBatch,
        *,
        refuse: Callable[[int, str], None],
        policy: RetryPolicy,
        sleep: Callable[[float], None],
        clock: Callable[[], float] = time.monotonic,
        check: Callable[[], None] = lambda: None,
    ) -> None:
        self._payloads = payloads
        self._send = send
        self._refuse = refuse  # counts an element refused with its indexed reason, at once
        self._policy = policy
        self._sleep = sleep
        self._clock = clock
        self._check = check  # raises to abandon the batch between two requests (a cancelled sync)
        self.accepted: list[int] = []
        self.all_accepted = False  # the first request took the whole batch
        self._unnamed: list[tuple[int, str]] = []  # isolated by bisection: counted only once the batch is done
        self._limit = unnamed_limit(len(payloads))
        self._unrecorded: dict[int, str] = {}  # index → reason, of the last round's elements LinkedIn did not record

    def run(self) -> list[tuple[int, str]]:
        """Deliver; return the (index, reason) of elements refused without an index, for the caller to count. The
        retry deadline for elements LinkedIn could not record starts at its first such answer."""
        failed = self._round(list(range(len(self._payloads))))
        if failed is not None:
            retry_loop(
                self._policy,
                lambda attempts: self._round(sorted(self._unrecorded)),
                announce=self._announce,
                give_up=self._give_up,
                sleep=self._sleep,
                clock=self._clock,
                first=failed,
            )
        return self._unnamed

    def _round(self, selection: list[int]) -> Retryable | None:
        """Send `selection`, isolating what LinkedIn refuses; a `Retryable` when some elements were not recorded
        (they are in `_unrecorded`, to send again after a pause), else None."""
        size = len(self._payloads)
        pending = [selection]
        unrecorded: dict[int, str] = {}
        while pending:
            self._check()
            indices = pending.pop()
            try:
                answer = self._send(self._encoded(indices))
            except NotConversionsApiRuleError as error:
                positions = sorted(i for i in error.index_errors if 0 <= i < len(indices)) or [0]
                rule = self._payloads[indices[positions[0]]].get("conversion", "?")
                raise ConfigError(failures.not_conversions_api_rule(rule)) from error
            except RejectedRequestError as error:
                pending.extend(self._isolate(indices, error))
                continue
            if not answer.refused and not answer.transient:
                if len(indices) == size:
                    self.all_accepted = True
                self.accepted.extend(indices)
                continue
            for position, index in enumerate(indices):
                if position in answer.refused:
                    self._refuse(index, answer.refused[position])
                elif position in answer.transient:
                    unrecorded[index] = answer.transient[position]
                else:
                    self.accepted.append(index)
        self._unrecorded = unrecorded
        return Retryable(next(iter(unrecorded.values()))) if unrecorded else None

    def _encoded(self, indices: list[int]) -> EncodedElements:
        """The elements at `indices`: the batch as encoded when they are all of it, else encoded anew."""
        if len(indices) == len(self._payloads) and isinstance(self._payloads, EncodedElements):
            return self._payloads
        part = EncodedElements()
        part.add([self._payloads[i] for i in indices])
        return part

    def _isolate(self, indices: list[int], error: RejectedRequestError) -> list[list[int]]:
        """A refused request: reject the elements it names, or halve it; returns what to send next (last first)."""
        named = {i: reasons for i, reasons in error.index_errors.items() if 0 <= i < len(indices)}
        if named:
            for position, reasons in named.items():
                self._refuse(indices[position], "; ".join(reasons))
            rest = [index for position, index in enumerate(indices) if position not in named]
            return [rest] if rest else []
        if len(indices) > 1:
            middle = len(indices) // 2
            return [indices[middle:], indices[:middle]]
        self._unnamed.append((indices[0], error.message))
        if len(self._unnamed) > self._limit:
            raise RequestRefusedError(
                f"LinkedIn refused {len(self._unnamed)} events of a batch of {len(self._payloads):,} one by one, "
                f"without naming any element (HTTP {error.status}: {error.message}), so the refusal is about the "
                "request, not the rows. The events refused one by one are not counted as rejected; the next sync "
                "resumes from the last checkpoint."
            ) from error
        return []

    def _announce(self, failed: Retryable, attempts: Attempts, wait: float) -> None:
        count = len(self._unrecorded)
        logger.warning(
            "LinkedIn could not record %s of a batch (%s); sending %s again in %.1f s",
            plural(count, "event"),
            failed.reason,
            "it" if count == 1 else "them",
            wait,
        )

    def _give_up(self, failed: Retryable, attempts: Attempts) -> Exception:
        """The sync then stops as for a request that kept failing."""
        return RetriesExhaustedError(
            f"LinkedIn kept failing to record {plural(len(self._unrecorded), 'event')} of a batch for "
            f"{attempts.elapsed:.0f} s (last: {failed.reason}); {attempts.gave_up()}."
        )
