"""One batch through LinkedIn's all-or-nothing BATCH_CREATE: which elements it accepted, which it refused.

A refusal naming element indices rejects exactly those; one without indices is isolated by bisection. Elements
answered 5xx/429 inside a 200 were not recorded: only they are sent again, under the retry policy. When bisection
would write off more than a few rows of a batch (`unnamed_limit`) with index-less refusals, the refusal is about
the request, not the rows: the batch stops with `RequestRefusedError` and none of its refusals count.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from destination_linkedin_capi import failures
from destination_linkedin_capi.errors import (
    ConfigError,
    NotConversionsApiRuleError,
    RejectedRequestError,
    RequestRefusedError,
    RetriesExhaustedError,
    TransientElementsError,
)
from destination_linkedin_capi.linkedin.retry import Attempts, plural
from destination_linkedin_capi.write.elements import EncodedElements

logger = logging.getLogger("airbyte")

#: Sends a batch's elements: the whole batch as encoded (`EncodedElements`), a part of it as a list of payloads.
SendBatch = Callable[[Sequence[dict[str, Any]]], dict[int, str]]
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
        attempts: Callable[[], Attempts],
        sleep: Callable[[float], None],
        check: Callable[[], None] = lambda: None,
    ) -> None:
        self._payloads = payloads
        self._send = send
        self._refuse = refuse  # counts an element refused with its indexed reason, at once
        self._new_attempts = attempts
        self._sleep = sleep
        self._check = check  # raises to abandon the batch between two requests (a cancelled sync)
        self.accepted: list[int] = []
        self.all_accepted = False  # the first request took the whole batch
        self._unnamed: list[tuple[int, str]] = []  # isolated by bisection: counted only once the batch is done
        self._limit = unnamed_limit(len(payloads))
        self._attempts: Attempts | None = None

    def run(self) -> list[tuple[int, str]]:
        """Deliver; return the (index, reason) of elements refused without an index, for the caller to count."""
        size = len(self._payloads)
        pending: list[list[int]] = [list(range(size))]
        retry: dict[int, str] = {}
        while pending or retry:
            if not pending:
                self._pause(retry)
                pending, retry = [sorted(retry)], {}
            self._check()
            indices = pending.pop()
            whole = len(indices) == size  # no copy by index needed
            if whole:  # as encoded; a list is copied, so that the caller's stays as it was
                elements = self._payloads if isinstance(self._payloads, EncodedElements) else list(self._payloads)
            else:
                elements = [self._payloads[i] for i in indices]
            try:
                refused = self._send(elements)
                transient: dict[int, str] = {}
            except TransientElementsError as answer:
                refused, transient = answer.refused, answer.transient
            except NotConversionsApiRuleError as error:
                positions = sorted(i for i in error.index_errors if 0 <= i < len(indices)) or [0]
                rule = self._payloads[indices[positions[0]]].get("conversion", "?")
                raise ConfigError(failures.not_conversions_api_rule(rule)) from error
            except RejectedRequestError as error:
                pending.extend(self._isolate(indices, error))
                continue
            if not refused and not transient:
                if whole:
                    self.all_accepted = True
                self.accepted.extend(indices)
                continue
            for position, index in enumerate(indices):
                if position in refused:
                    self._refuse(index, refused[position])
                elif position in transient:
                    retry[index] = transient[position]
                else:
                    self.accepted.append(index)
        return self._unnamed

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

    def _pause(self, retry: dict[int, str]) -> None:
        """Before sending again the elements LinkedIn could not record; RetriesExhaustedError when the policy gives
        up (the sync then stops as for a request that kept failing)."""
        attempts = self._attempts = self._attempts or self._new_attempts()
        wait = attempts.next_wait()
        last = next(iter(retry.values()))
        if wait is None:
            raise RetriesExhaustedError(
                f"LinkedIn kept failing to record {plural(len(retry), 'event')} of a batch for {attempts.elapsed:.0f} s "
                f"(last: {last}); {attempts.gave_up()}. The next sync resumes from the last checkpoint."
            )
        logger.warning(
            "LinkedIn could not record %s of a batch (%s); sending %s again in %.1f s",
            plural(len(retry), "event"),
            last,
            "it" if len(retry) == 1 else "them",
            wait,
        )
        self._sleep(wait)
