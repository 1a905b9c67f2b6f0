"""SyncReport: every record read ends in one outcome, and the summary says which, per stream and per event."""

from __future__ import annotations

import sys
import threading
from collections import Counter

import pytest

from destination_linkedin_capi.report import SUMMARY_STREAMS, SyncReport
from unit_tests.conftest import rejected_by_reason

LEADS = (None, "leads")
ORDERS = ("shop", "orders")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_outcomes_add_up_and_unsettled_is_what_is_left():
    report = SyncReport()
    for _ in range(5):
        report.record_read(LEADS)
    report.record_read((None, "unknown"))
    report.record_ignored("unknown_stream", "stream 'unknown' is not in the configured catalog")
    report.record_rejected(LEADS, None, "missing_identifier", "no email")
    report.batch_settled([(LEADS, "lead")] * 2, 3)
    assert (report.total_read, report.total_sent, report.total_rejected) == (6, 2, 1)
    assert report.unsettled == 2  # 6 read - 2 sent - 1 rejected - 1 on an unknown stream
    assert (report.batches, report.events_in_batches) == (1, 3)


def test_mapped_counts_expand_per_event_identifier_and_note():
    report = SyncReport()
    report.record_mapped("lead", ("email", "li_fat_id"), ("value_dropped",))
    report.record_mapped("lead", ("email",), ())
    report.record_mapped("purchase", ("email",), ("value_dropped",))
    assert report.mapped_by_event == {"lead": 2, "purchase": 1}
    assert report.identifiers == {("lead", "email"): 2, ("lead", "li_fat_id"): 1, ("purchase", "email"): 1}
    assert report.notes == {"value_dropped": 2}


def test_the_first_example_per_reason_is_kept_and_ignored_examples_are_capped():
    report = SyncReport()
    report.record_rejected(LEADS, "lead", "linkedin_rejected", "first")
    report.record_rejected(ORDERS, "lead", "linkedin_rejected", "second")
    for n in range(5):
        report.record_ignored("non_json_line", f"line {n}")
    assert report.examples == {"linkedin_rejected": "first"}
    assert report.ignored == {"non_json_line": 5}
    assert report.ignored_examples["non_json_line"] == ["line 0", "line 1", "line 2"]
    assert report.rejected_by_event == {("lead", "linkedin_rejected"): 2}
    assert rejected_by_reason(report) == {"linkedin_rejected": 2}


def test_summary_lines():
    clock = Clock()
    report = SyncReport(event_names={"lead": "LEAD"}, clock=clock)
    for _ in range(3):
        report.record_read(LEADS)
        report.record_mapped("lead", ("email",), ())
    report.record_read(ORDERS)
    report.record_rejected(ORDERS, None, "record_not_object", "The record's data is not a JSON object.")
    report.batch_settled([(LEADS, "lead")] * 3, 3)
    clock.now = 2.5
    assert report.summary_lines(dry_run=False) == [
        "Sync summary: 4 records read, 3 sent, 1 rejected, in 1 batch, 2.5 s.",
        "  stream leads: read 3, sent 3, rejected 0",
        "  stream shop.orders: read 1, sent 0, rejected 1 (record_not_object 1)",
        "  event LEAD: sent 3, rejected by LinkedIn 0; identifiers: email 100%",
        "  record_not_object: e.g. The record's data is not a JSON object.",
    ]


def test_a_stopped_sync_says_how_many_were_not_sent_and_a_dry_run_says_would():
    report = SyncReport(clock=Clock())
    report.record_read(LEADS)
    report.record_read(LEADS)
    report.batch_settled([(LEADS, "lead")], 1)
    first = report.summary_lines(dry_run=True)[0]
    assert (
        first
        == "Sync summary: 2 records read, 1 would be sent, 0 rejected, 1 not sent because the sync stopped, in 1 batch, 0.0 s."
    )


def test_progress_is_due_once_per_interval():
    clock = Clock()
    report = SyncReport(clock=clock, progress_every=30.0)
    assert not report.progress_due()
    clock.now = 30.0
    assert report.progress_due() and not report.progress_due()
    report.record_read(LEADS)
    line = report.progress_line(7, 1234)
    assert line.startswith(
        "Progress: read 1, sent 0, rejected 0 (none), batches 0, requests this minute 7, today 1,234"
    )


def test_settling_from_another_thread_while_the_main_thread_rejects_loses_no_count():
    report = SyncReport()

    def settle():
        for _ in range(2000):
            report.batch_settled([(LEADS, "lead")], 1)

    sender = threading.Thread(target=settle)
    sender.start()
    for _ in range(2000):
        report.record_rejected(LEADS, "lead", "linkedin_rejected", "x")
    sender.join()
    assert (report.total_sent, report.total_rejected, report.batches) == (2000, 2000, 2000)


def test_progress_lines_are_safe_while_other_threads_count():
    """The watchdog writes progress lines while the sender adds rejection reasons and the main thread reads new
    streams; with thread switches forced every microsecond, iterating a live counter would fail with
    'dictionary changed size during iteration'."""
    report = SyncReport()
    done = threading.Event()

    def count() -> None:
        for n in range(20_000):
            report.record_rejected(LEADS, "lead", f"reason_{n}", "m")
            report.record_read((None, f"stream_{n}"))
        done.set()

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        counter = threading.Thread(target=count)
        counter.start()
        lines = 0
        while not done.is_set():
            assert report.progress_line(0, 0).startswith("Progress: read ")
            lines += 1
        counter.join()
    finally:
        sys.setswitchinterval(interval)
    assert report.progress_line(0, 0).startswith("Progress: read 20,000, sent 0, rejected 20,000 ")


class CountingCounter(Counter):
    """A Counter that counts how often it is walked whole (`items()`)."""

    walks = 0

    def items(self):
        type(self).walks += 1
        return super().items()


@pytest.mark.timeout(60)  # the quadratic summary took minutes for this many streams
def test_the_summary_of_50k_streams_shows_100_of_them_and_totals_the_rest():
    report = SyncReport()
    for n in range(50_000):
        stream = (None, f"s{n:05d}")
        for _ in range(1 + (n % 7 == 0)):  # one in seven streams read two records
            report.record_read(stream)
        report.record_rejected(stream, None, "no_identifier", "The record has no email.")
    report.batch_settled([((None, f"s{n:05d}"), "lead") for n in range(0, 50_000, 7)], 7_143)
    lines = report.summary_lines(dry_run=False)
    streams = [line for line in lines if line.startswith("  stream ")]
    assert len(streams) == SUMMARY_STREAMS
    assert all(line.endswith("read 2, sent 1, rejected 1 (no_identifier 1)") for line in streams)  # the busiest
    (more,) = [line for line in lines if line.startswith("  and ")]
    assert more == "  and 49,900 more streams: read 56,943, sent 7,043, rejected 49,900"
    assert len(lines) < SUMMARY_STREAMS + 10


def test_the_summary_walks_each_counter_a_bounded_number_of_times_not_once_per_stream():
    report = SyncReport()
    report.sent, report.rejected, report.rejected_by_event = CountingCounter(), CountingCounter(), CountingCounter()
    for n in range(3_000):
        stream = (None, f"s{n}")
        report.record_read(stream)
        report.record_rejected(stream, "lead", "linkedin_rejected", "LinkedIn refused the event.")
    report.batch_settled([((None, f"s{n}"), "lead") for n in range(3_000)], 3_000)
    CountingCounter.walks = 0
    report.summary_lines(dry_run=False)
    assert CountingCounter.walks <= 8  # the old summary walked `sent` and `rejected` once per stream: 6,000 walks


def test_few_streams_are_all_shown_without_a_more_line():
    report = SyncReport()
    for n in range(SUMMARY_STREAMS):
        report.record_read((None, f"s{n}"))
    lines = report.summary_lines(dry_run=True)
    assert sum(line.startswith("  stream ") for line in lines) == SUMMARY_STREAMS
    assert not any(line.startswith("  and ") for line in lines)
