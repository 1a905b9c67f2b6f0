"""SIGTERM (how Airbyte cancels a sync) and SIGINT (Ctrl-C) during `write`.

The first signal stops the main thread where it is (reading stdin, waiting for a queue slot, mapping) by raising
`SyncCancelled` there; the sender is given `CANCEL_GRACE_SECONDS` to finish the request in flight, and every
pause of a retry ends at once. States already settled are emitted, the summary and a "cancelled" line are logged,
and the process exits 128 + the signal's number. A state whose records were not settled is never emitted, so the
next sync resends them, with the same eventIds. Later signals are ignored: the exit is on its way.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

from destination_linkedin_capi.errors import SyncCancelled

#: How long the request in flight may take to finish once the sync is cancelled; then it is abandoned.
CANCEL_GRACE_SECONDS = 5.0
SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Cancellation:
    """Whether, and by which signal, the sync was cancelled; shared by the main thread and the sender."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.signum: int | None = None
        self._armed = False
        self._printing = False  # the main thread is printing a message: a signal waits for the end of it
        self._deferred = False

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def sleep(self, seconds: float) -> None:
        """A retry's pause that a cancellation ends at once (with SyncCancelled), in any thread."""
        if self._event.wait(seconds):
            raise SyncCancelled(self.signum or signal.SIGTERM)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self._event.is_set():
            return
        self.signum = signum
        self._event.set()
        if self._armed:
            if self._printing:
                self._deferred = True
            else:
                raise SyncCancelled(signum)

    def whole_lines(self, emit: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
        """`emit`, such that a signal never stops the main thread half-way through printing a message (the CDK's
        print buffer could then print a STATE line twice): SyncCancelled is raised once the line is out."""
        main = threading.main_thread()

        def emit_whole(message: dict[str, Any]) -> None:
            if threading.current_thread() is not main:  # signals only ever interrupt the main thread
                emit(message)
                return
            self._printing = True
            try:
                emit(message)
            finally:
                self._printing = False
            if self._deferred:
                self._deferred = False
                raise SyncCancelled(self.signum or signal.SIGTERM)

        return emit_whole

    @contextlib.contextmanager
    def handling_signals(self) -> Iterator[None]:
        """Install the handlers for the block (main thread only; elsewhere, nothing is installed)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {signum: signal.signal(signum, self._handle) for signum in SIGNALS}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    @contextlib.contextmanager
    def armed(self) -> Iterator[None]:
        """While armed, a signal raises SyncCancelled in the main thread; outside, it is only recorded."""
        self._armed = True
        try:
            if self._event.is_set():  # signalled before the sync started
                raise SyncCancelled(self.signum or signal.SIGTERM)
            yield
        finally:
            self._armed = False
