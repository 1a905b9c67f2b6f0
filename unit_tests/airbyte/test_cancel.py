"""cancel.py: the first SIGTERM/SIGINT raises SyncCancelled in the main thread (never half-way through printing a
line), ends every retry pause at once, and is only recorded outside the armed part of a sync."""

from __future__ import annotations

import signal
import threading

import pytest

from destination_linkedin_capi.airbyte.cancel import Cancellation
from destination_linkedin_capi.errors import SyncCancelled


def test_a_signal_raises_in_the_main_thread_while_armed():
    cancellation = Cancellation()
    with cancellation.handling_signals(), pytest.raises(SyncCancelled) as raised, cancellation.armed():
        signal.raise_signal(signal.SIGTERM)
    assert raised.value.signal_name == "SIGTERM" and cancellation.cancelled
    assert "The sync was cancelled (SIGTERM)" in str(raised.value)


def test_outside_the_armed_part_a_signal_is_only_recorded_and_a_second_one_changes_nothing():
    cancellation = Cancellation()
    with cancellation.handling_signals():
        signal.raise_signal(signal.SIGINT)
        signal.raise_signal(signal.SIGTERM)
        assert cancellation.cancelled and cancellation.signum == signal.SIGINT
        with pytest.raises(SyncCancelled, match=r"\(SIGINT\)"), cancellation.armed():  # signalled before it started
            pass


def test_the_previous_handlers_come_back():
    before = signal.getsignal(signal.SIGTERM)
    with Cancellation().handling_signals():
        assert signal.getsignal(signal.SIGTERM) != before
    assert signal.getsignal(signal.SIGTERM) == before


def test_a_line_being_printed_is_printed_whole_then_the_sync_stops():
    cancellation = Cancellation()
    printed = []

    def emit(message):
        signal.raise_signal(signal.SIGTERM)  # arrives mid-print
        printed.append(message)

    emit_whole = cancellation.whole_lines(emit)
    with cancellation.handling_signals(), pytest.raises(SyncCancelled), cancellation.armed():
        emit_whole({"type": "STATE", "id": 1})
    assert printed == [{"type": "STATE", "id": 1}]


def test_a_retry_pause_ends_at_once_when_cancelled_from_another_thread():
    cancellation = Cancellation()
    with cancellation.handling_signals():
        errors = []

        def pause():
            try:
                cancellation.sleep(600)
            except SyncCancelled as error:
                errors.append(error)

        sender = threading.Thread(target=pause)
        sender.start()
        signal.raise_signal(signal.SIGTERM)  # not armed: recorded, and the pause wakes
        sender.join(timeout=30)
    assert not sender.is_alive() and len(errors) == 1
