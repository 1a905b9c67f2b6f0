"""BatchWriter: batching, state gating, isolation of refused elements, failure handling.

`send` is the writer's injection point; the fakes here behave like LinkedIn's batch endpoint
(all-or-nothing, with or without indices in the error) and record exactly what was delivered.
"""

import math
import threading
import time

import pytest

from destination_linkedin_capi.errors import (
    AuthenticationError,
    ConfigError,
    RejectedRequestError,
    RequestRefusedError,
    RetriesExhaustedError,
    error_from_response,
)
from destination_linkedin_capi.linkedin.client import BatchAnswer
from destination_linkedin_capi.linkedin.retry import RetryPolicy
from destination_linkedin_capi.report import SyncReport
from destination_linkedin_capi.write.writer import CHUNK_EVENTS, BatchWriter
from unit_tests.conftest import rejected_by_reason

STREAM = (None, "orders")


class FakeLinkedIn:
    """All-or-nothing like LinkedIn: any bad element fails the whole request and stores nothing."""

    def __init__(self, *, with_indices: bool = True, fail_with: Exception | None = None) -> None:
        self.with_indices = with_indices
        self.fail_with = fail_with
        self.delivered: list[int] = []
        self.requests: list[int] = []
        self.lock = threading.Lock()

    def send(self, elements):
        with self.lock:
            self.requests.append(len(elements))
            if self.fail_with is not None:
                raise self.fail_with
            bad = [i for i, element in enumerate(elements) if element.get("bad")]
            if bad:
                if self.with_indices:
                    text = "".join(
                        f"Index: {i}, ERROR :: /user/userIds :: field is required but not found\n" for i in bad
                    )
                    raise RejectedRequestError(422, text)
                raise RejectedRequestError(400, "Request body is invalid")
            self.delivered.extend(element["n"] for element in elements)
            return BatchAnswer()


def make_writer(linkedin, emitted, *, batch_size=100, max_age=600.0, fail=False, dry_run=False, check=None):
    def emit(message):
        if check is not None:
            check(message)
        emitted.append(message)

    report = SyncReport()
    writer = BatchWriter(
        send=None if dry_run else linkedin.send,
        report=report,
        emit=emit,
        batch_size=batch_size,
        max_age=max_age,
        fail_on_rejection=fail,
    )
    return writer, report


def state(n):
    return {
        "type": "STATE",
        "state": {"type": "STREAM", "stream": {"stream_descriptor": {"name": "orders"}, "stream_state": {"n": n}}},
        "id": n,
    }


def test_states_wait_for_their_records_and_do_not_force_flushes():
    linkedin = FakeLinkedIn()
    emitted = []
    records_before_state = {}

    def check(message):  # at emission, every record before this state must already be delivered
        assert set(range(records_before_state[message["id"]])) <= set(linkedin.delivered)

    writer, report = make_writer(linkedin, emitted, check=check)
    for n in range(250):
        writer.add_event(STREAM, "purchase", {"n": n})
        if n % 10 == 9:
            records_before_state[n] = n + 1
            writer.add_state(state(n))
    writer.finish()
    assert linkedin.requests == [100, 100, 50]
    assert [m["id"] for m in emitted] == [n for n in range(250) if n % 10 == 9]
    assert sorted(linkedin.delivered) == list(range(250))
    assert report.total_sent == 250 and report.batches == 3


def test_state_without_pending_records_is_emitted_at_once():
    emitted = []
    writer, _ = make_writer(FakeLinkedIn(), emitted)
    writer.add_state(state(1))
    assert [m["id"] for m in emitted] == [1]
    writer.finish()


def test_indexed_errors_reject_exactly_those_elements():
    linkedin = FakeLinkedIn(with_indices=True)
    emitted = []
    writer, report = make_writer(linkedin, emitted, batch_size=5000)
    bad = {17, 2500, 4999}
    for n in range(5000):
        writer.add_event(STREAM, "purchase", {"n": n, "bad": n in bad})
    writer.finish()
    assert linkedin.requests == [5000, 4997]
    assert sorted(linkedin.delivered) == [n for n in range(5000) if n not in bad]
    assert rejected_by_reason(report) == {"linkedin_rejected": 3}
    assert "field is required" in report.examples["linkedin_rejected"]


def test_a_refused_copy_for_a_further_rule_counts_for_that_rule_and_not_as_the_records_outcome():
    linkedin = FakeLinkedIn(with_indices=True)
    emitted = []
    writer, report = make_writer(linkedin, emitted, batch_size=5000)
    report.event_names, report.event_rules = {"purchase": "PURCHASE"}, {"purchase": 1}
    for n in range(4):
        writer.add_event(STREAM, "purchase", {"n": n})
        writer.add_event(STREAM, "purchase", {"n": n, "bad": n == 2}, None, (STREAM, "purchase", 2, True))
    writer.add_state(state(9))
    writer.finish()
    assert sorted(linkedin.delivered) == [0, 0, 1, 1, 2, 3, 3]
    assert (report.total_sent, report.total_rejected) == (4, 0)
    assert rejected_by_reason(report) == {}
    assert "field is required" in report.examples["linkedin_rejected"]
    assert "  PURCHASE → rule 1: 4 sent; rule 2: 3 sent, 1 refused by LinkedIn" in report.summary_lines(dry_run=False)
    assert [m["state"]["destinationStats"] for m in emitted] == [{"recordCount": 0.0}]  # STREAM 'orders': 0 read


def test_indexless_errors_are_isolated_by_bisection():
    linkedin = FakeLinkedIn(with_indices=False)
    emitted = []
    writer, report = make_writer(linkedin, emitted, batch_size=5000)
    bad = {0, 1234, 4999}
    for n in range(5000):
        writer.add_event(STREAM, "purchase", {"n": n, "bad": n in bad})
    writer.finish()
    assert sorted(linkedin.delivered) == [n for n in range(5000) if n not in bad]
    assert rejected_by_reason(report) == {"linkedin_rejected": 3}
    assert report.total_sent == 4997
    assert len(linkedin.requests) <= 1 + len(bad) * 2 * math.ceil(math.log2(5000))


def test_a_fatal_error_stops_sending_and_holds_later_states():
    linkedin = FakeLinkedIn(fail_with=AuthenticationError(401, "Invalid access token", code="INVALID_ACCESS_TOKEN"))
    emitted = []
    writer, _ = make_writer(linkedin, emitted, batch_size=10)
    for n in range(10):  # the tenth event hands the batch to the sender, which fails
        writer.add_event(STREAM, "purchase", {"n": n})
        writer.add_state(state(n))
    deadline = time.monotonic() + 10
    while writer.fatal is None and time.monotonic() < deadline:
        time.sleep(0.01)
    with pytest.raises(AuthenticationError):
        writer.add_event(STREAM, "purchase", {"n": 10})
    with pytest.raises(AuthenticationError):
        writer.finish()
    assert emitted == []
    assert linkedin.delivered == []
    assert len(linkedin.requests) == 1  # nothing after the first failure


def test_fail_policy_settles_what_came_before_then_stops():
    linkedin = FakeLinkedIn()
    emitted = []
    writer, _ = make_writer(linkedin, emitted, fail=True)
    for n in range(30):
        writer.add_event(STREAM, "purchase", {"n": n})
    writer.add_state(state(29))
    with pytest.raises(ConfigError, match=r"rejected \(too_old\): The event is older than 90 days"):
        writer.reject(STREAM, "purchase", "too_old", "The event is older than 90 days.")
    assert sorted(linkedin.delivered) == list(range(30))
    assert [m["id"] for m in emitted] == [29]


def test_fail_policy_on_a_linkedin_rejection():
    linkedin = FakeLinkedIn()
    emitted = []
    writer, _ = make_writer(linkedin, emitted, fail=True, batch_size=10)
    for n in range(10):
        writer.add_event(STREAM, "purchase", {"n": n, "bad": n == 4})
    writer.add_state(state(9))
    with pytest.raises(ConfigError, match="linkedin_rejected"):
        writer.finish()
    assert sorted(linkedin.delivered) == [n for n in range(10) if n != 4]
    assert emitted == []  # state 9 covers the refused record 4: the next sync must send it again


def test_fail_policy_emits_no_state_covering_a_row_linkedin_refused():
    """Batches of 10, a state every 5 records, LinkedIn refuses record 13 (422): the states after records 4 and 9
    come back, those after 14 and 19 (their batch holds record 13) never do, nor any later one."""
    linkedin = FakeLinkedIn()
    emitted = []
    writer, _ = make_writer(linkedin, emitted, fail=True, batch_size=10)
    with pytest.raises(ConfigError, match="linkedin_rejected"):
        for n in range(40):
            writer.add_event(STREAM, "purchase", {"n": n, "bad": n == 13})
            if n % 5 == 4:
                writer.add_state(state(n))
        writer.finish()
    assert [m["id"] for m in emitted] == [4, 9]


def test_non_capi_rule_is_a_config_error():
    class NonCapi(FakeLinkedIn):
        def send(self, elements):
            raise error_from_response(
                400,
                {
                    "status": 400,
                    "message": "Incorrect conversions information provided. Conversion's method should be "
                    "CONVERSIONS_API, indices [0] (0-indexed)",
                },
            )

    emitted = []
    writer, _ = make_writer(NonCapi(), emitted)
    writer.add_event(STREAM, "purchase", {"n": 0, "conversion": "urn:lla:llaPartnerConversion:77"})
    with pytest.raises(ConfigError, match="urn:lla:llaPartnerConversion:77: it is not a Conversions API rule"):
        writer.finish()


def test_a_refused_element_whose_reason_mentions_conversions_api_is_only_a_rejection():
    """The writer branches on the error's type, not on its text: an element refusal inside a 200 that happens to
    name CONVERSIONS_API is one counted rejection, and the sync goes on."""

    class Mentions(FakeLinkedIn):
        def send(self, elements):
            return BatchAnswer(refused={0: "conversion urn:lla:llaPartnerConversion:77 is not a CONVERSIONS_API rule"})

    emitted = []
    writer, report = make_writer(Mentions(), emitted)
    writer.add_event(STREAM, "purchase", {"n": 0})
    writer.finish()
    assert rejected_by_reason(report) == {"linkedin_rejected": 1}


def test_linkedin_sentences_quoting_an_events_values_are_masked():
    """LinkedIn's answers may echo a value of the refused event; the rejection sentence masks it (masking.redact),
    whether LinkedIn named the element inside a 200 or bisection isolated it after an index-less 400."""

    class Echoes(FakeLinkedIn):
        def send(self, elements):
            if len(elements) > 1:
                raise RejectedRequestError(400, "Request body is invalid")
            if elements[0]["n"] == 0:
                return BatchAnswer(refused={0: "/user/userInfo/firstName :: Zebediah is not allowed"})
            raise RejectedRequestError(400, "/user/externalIds/0 :: crm-77331 is refused")

    emitted, sentences = [], []
    writer, report = make_writer(Echoes(), emitted)
    record_rejected = report.record_rejected
    report.record_rejected = lambda *args: sentences.append(args[3]) or record_rejected(*args)
    for n, user in enumerate(({"userInfo": {"firstName": "Zebediah"}}, {"externalIds": ["crm-77331"]})):
        writer.add_event(STREAM, "purchase", {"n": n, "user": user})
    writer.finish()
    assert rejected_by_reason(report) == {"linkedin_rejected": 2}
    assert sentences == [
        "LinkedIn refused the event: /user/userInfo/firstName :: Z*** is not allowed",
        "LinkedIn refused the event: /user/externalIds/0 :: c*** is refused",
    ]


def test_the_dry_run_preview_is_masked(caplog):
    emitted = []
    writer, _ = make_writer(None, emitted, dry_run=True)
    user = {"userIds": [{"idType": "ACXIOM_ID", "idValue": "ACX-5551234"}], "userInfo": {"firstName": "Zebediah"}}
    writer.add_event(STREAM, "purchase", {"n": 0, "eventId": "ORD-99", "user": user})
    writer.finish()
    (preview,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Dry run, would send")]
    assert "ACX-5551234" not in preview and "Zebediah" not in preview and "ORD-99" not in preview
    assert '"userInfo":{"firstName":"Z***"}' in preview


def test_dry_run_sends_nothing_and_emits_states(caplog):
    emitted = []
    writer, report = make_writer(None, emitted, dry_run=True, batch_size=2)
    for n in range(5):
        writer.add_event(STREAM, "purchase", {"n": n})
    writer.add_state(state(4))
    writer.finish()
    assert [m["id"] for m in emitted] == [4]
    assert report.total_sent == 5 and report.batches == 3
    previews = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Dry run, would send")]
    assert previews == [f'Dry run, would send (personal data masked): {{"n":{n}}}' for n in range(3)]


def test_events_reach_batches_in_order_whatever_the_chunk_and_batch_sizes():
    """Events are encoded a chunk (CHUNK_EVENTS) at a time; a chunk that crosses a batch boundary is split."""
    linkedin = FakeLinkedIn()
    emitted = []
    writer, report = make_writer(linkedin, emitted, batch_size=100)
    for n in range(3 * CHUNK_EVENTS):
        writer.add_event(STREAM, "purchase", {"n": n})
    writer.add_state(state(1))
    writer.finish()
    assert linkedin.requests == [100] * (3 * CHUNK_EVENTS // 100) + [3 * CHUNK_EVENTS % 100]
    assert linkedin.delivered == list(range(3 * CHUNK_EVENTS))
    assert report.total_sent == 3 * CHUNK_EVENTS
    assert [m["id"] for m in emitted] == [1]


def test_batch_age_flushes_a_partial_batch_and_releases_its_state():
    linkedin = FakeLinkedIn()
    emitted = []
    writer, _ = make_writer(linkedin, emitted, batch_size=5000, max_age=0.2)
    for n in range(3):
        writer.add_event(STREAM, "purchase", {"n": n})
    writer.add_state(state(2))
    deadline = time.monotonic() + 10
    while not emitted and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [m["id"] for m in emitted] == [2]  # released by the watchdog, before end of input
    assert linkedin.delivered == [0, 1, 2]
    writer.finish()


@pytest.mark.timeout(60)
def test_a_sender_that_cannot_emit_a_state_ends_the_sync_instead_of_hanging():
    """stdout closed: emitting a state from the sender thread raises BrokenPipeError. The main thread, which would
    wait for ever for a queue slot, raises it instead."""

    def closed_stdout(message):
        raise BrokenPipeError(32, "Broken pipe")

    report = SyncReport()
    writer = BatchWriter(send=FakeLinkedIn().send, report=report, emit=closed_stdout, batch_size=10, max_age=600.0)
    with pytest.raises(BrokenPipeError):
        for n in range(10_000):
            writer.add_event(STREAM, "purchase", {"n": n})
            if n % 10 == 5:  # held for the open batch: the sender emits it once that batch is sent
                writer.add_state(state(n))
        writer.finish()


@pytest.mark.timeout(60)
def test_a_dead_watchdog_fails_the_sync():
    def broken_progress():
        raise RuntimeError("dictionary changed size during iteration")

    report = SyncReport()
    writer = BatchWriter(
        send=FakeLinkedIn().send,
        report=report,
        emit=lambda message: None,
        batch_size=10,
        max_age=0.04,
        progress=broken_progress,
    )
    writer.add_event(STREAM, "purchase", {"n": 0})
    while writer.fatal is None:  # the watchdog ticks every 10 ms
        time.sleep(0.01)
    with pytest.raises(RuntimeError, match="dictionary changed size"):
        writer.add_event(STREAM, "purchase", {"n": 1})
    with pytest.raises(RuntimeError, match="dictionary changed size"):
        writer.finish()


class FlakyElements(FakeLinkedIn):
    """A 200 in which the elements numbered in `statuses` get that status (500, 429) the first `times` times they
    are sent; LinkedIn records every other element of the request, as it does."""

    def __init__(self, statuses, times):
        super().__init__()
        self.statuses = statuses
        self.left = dict.fromkeys(statuses, times)
        self.sent_numbers = []

    def send(self, elements):
        with self.lock:
            self.requests.append(len(elements))
            self.sent_numbers.append([element["n"] for element in elements])
            transient = {}
            for position, element in enumerate(elements):
                n = element["n"]
                if self.left.get(n, 0) > 0:
                    self.left[n] -= 1
                    transient[position] = f"status {self.statuses[n]}"
                else:
                    self.delivered.append(n)
            return BatchAnswer(transient=transient)


def retrying_writer(linkedin, emitted, sleeps, *, max_attempts=None, batch_size=10):
    report = SyncReport()
    writer = BatchWriter(
        send=linkedin.send,
        report=report,
        emit=emitted.append,
        batch_size=batch_size,
        max_age=600.0,
        retry=RetryPolicy(max_seconds=600.0, max_attempts=max_attempts),
        sleep=sleeps.append,
    )
    return writer, report


def test_elements_linkedin_could_not_record_are_sent_again_alone():
    """`{"elements":[{"status":500},{"status":429},{"status":201},…]}`: the 500 and the 429 are sent again, only
    they, after a pause of the retry policy; nothing is rejected and the state comes back once all are recorded."""
    linkedin = FlakyElements({0: 500, 1: 429}, times=2)
    emitted, sleeps = [], []
    writer, report = retrying_writer(linkedin, emitted, sleeps)
    for n in range(10):
        writer.add_event(STREAM, "purchase", {"n": n})
    writer.add_state(state(9))
    writer.finish()
    assert linkedin.sent_numbers == [list(range(10)), [0, 1], [0, 1]]
    assert sorted(linkedin.delivered) == list(range(10))
    assert (report.total_sent, report.total_rejected) == (10, 0)
    assert len(sleeps) == 2
    assert [m["id"] for m in emitted] == [9]


def test_elements_that_keep_failing_fail_the_sync_after_the_last_safe_state():
    linkedin = FlakyElements({13: 500}, times=100)
    emitted, sleeps = [], []
    writer, report = retrying_writer(linkedin, emitted, sleeps, max_attempts=4)
    for n in range(20):
        writer.add_event(STREAM, "purchase", {"n": n})
        if n % 5 == 4:
            writer.add_state(state(n))
    with pytest.raises(RetriesExhaustedError, match=r"kept failing to record 1 event of a batch .* 4 attempts"):
        writer.finish()
    assert linkedin.sent_numbers[2:] == [[13], [13], [13]]
    assert [m["id"] for m in emitted] == [4, 9]  # the second batch, which holds element 13, never settled
    assert report.total_sent == 19 and report.total_rejected == 0  # what LinkedIn recorded is counted sent


def test_a_request_refused_whatever_it_holds_stops_after_a_few_isolated_rows():
    """Every request answered `400 {"message":"boom"}`: bisection would reject all 128 events with 255 requests.
    Past max(10, 1%) index-less refusals in one batch the error is about the request: the sync stops with
    LinkedIn's message, no event of the batch is counted rejected, and the batch cost a few dozen requests."""

    class RefusesEverything(FakeLinkedIn):
        def send(self, elements):
            self.requests.append(len(elements))
            raise error_from_response(400, {"status": 400, "message": "boom"})

    linkedin = RefusesEverything()
    emitted = []
    writer, report = make_writer(linkedin, emitted, batch_size=128)
    writer.add_state(state(0))
    for n in range(128):
        writer.add_event(STREAM, "purchase", {"n": n})
    writer.add_state(state(127))
    with pytest.raises(RequestRefusedError, match=r"refused 11 events of a batch of 128 .*HTTP 400: boom"):
        writer.finish()
    assert (report.total_sent, report.total_rejected) == (0, 0)
    assert [m["id"] for m in emitted] == [0]
    assert len(linkedin.requests) <= 2 * 11 + 7  # the way down to the first single event, then ~2 per event


def test_a_few_bad_rows_without_indices_are_still_isolated_and_rejected():
    linkedin = FakeLinkedIn(with_indices=False)
    emitted = []
    writer, report = make_writer(linkedin, emitted, batch_size=30)
    for n in range(30):
        writer.add_event(STREAM, "purchase", {"n": n, "bad": n in {3, 17, 29}})
    writer.finish()
    assert rejected_by_reason(report) == {"linkedin_rejected": 3}
    assert report.total_sent == 27


def test_events_delivered_before_a_batch_fails_half_way_count_as_sent():
    """Bisection delivers part of a batch, then the next request fails for good: the summary must say what
    LinkedIn recorded (not "0 sent")."""

    class FailsLater(FakeLinkedIn):
        def send(self, elements):
            if len(self.requests) == 6:
                self.requests.append(len(elements))
                raise RetriesExhaustedError("LinkedIn kept failing")
            return super().send(elements)

    linkedin = FailsLater(with_indices=False)
    emitted = []
    writer, report = make_writer(linkedin, emitted, batch_size=30)
    for n in range(30):
        report.record_read(STREAM)  # as the session does
        writer.add_event(STREAM, "purchase", {"n": n, "bad": n == 5})
    with pytest.raises(RetriesExhaustedError):
        writer.finish()
    assert len(linkedin.delivered) > 0
    assert report.total_sent == len(linkedin.delivered)
    assert report.unsettled == 30 - len(linkedin.delivered)
    assert report.summary_lines(dry_run=False)[0].startswith(
        f"Sync summary: 30 records read, {len(linkedin.delivered)} sent, 0 rejected, "
        f"{30 - len(linkedin.delivered)} not sent because the sync stopped"
    )


@pytest.mark.timeout(60)
def test_progress_keeps_its_rhythm_while_the_sender_waits_and_the_queue_is_full():
    """The sender waits (for the request budget, say) and the main thread waits for a queue slot, holding the open
    batch's lock: the watchdog still calls `progress` at every tick, instead of waiting with them."""
    released = threading.Event()
    sending = threading.Event()

    def waiting_send(elements):
        sending.set()
        released.wait()
        return BatchAnswer()

    ticks = []
    writer = BatchWriter(
        send=waiting_send,
        report=SyncReport(),
        emit=lambda message: None,
        batch_size=1,
        max_age=0.2,
        progress=lambda: ticks.append(1),
        chunk_events=1,
    )

    def add_events():  # one batch being sent, two queued, and the fourth waits for a slot
        for n in range(4):
            writer.add_event(STREAM, "purchase", {"n": n})

    adder = threading.Thread(target=add_events)
    adder.start()
    try:
        assert sending.wait(30)
        while writer._queue.qsize() < 2:  # the queue is full: the main thread now waits, holding the lock
            time.sleep(0.01)
        counted = len(ticks)
        deadline = time.monotonic() + 30  # a generous bound for a busy machine; the ticks come every 50 ms
        while len(ticks) < counted + 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(ticks) >= counted + 3
        assert adder.is_alive()  # still waiting for a slot: the ticks came while it waited
    finally:
        released.set()
        adder.join(30)
        writer.finish()
