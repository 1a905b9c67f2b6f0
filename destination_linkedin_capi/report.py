"""Counts of what happened to every record, turned into progress lines and the final sync summary.

Every record read ends in exactly one outcome — sent, already sent (LinkedIn accepted its event before: the
sent-events ledger left it out), rejected (with a reason) or, when the sync fails, unsettled — so
`read == sent + already sent + rejected + unsettled + ignored` always holds.
"""

from __future__ import annotations

import datetime as dt
import heapq
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from destination_linkedin_capi.mapping.identifiers import IDENTIFIERS

IDENTIFIER_LABELS = {identifier.key: identifier.label for identifier in IDENTIFIERS}

StreamKey = tuple[str | None, str]
# Where an element came from: (stream, event) when it goes to its event's first rule (the common case); else (stream,
# event, its rule, whether it is a copy of the record's event for a further rule). A copy counts for its rule only:
# each record's outcome is its first element's.
Origin = tuple[StreamKey, str] | tuple[StreamKey, str, int | None, bool]
IGNORED_EXAMPLES = 3
# Per-stream lines in the summary: the streams that read the most records; the rest are totalled in one line.
SUMMARY_STREAMS = 100
#: A stream's rejected share is first judged once it has read this many records (an early warning in a long sync).
EARLY_SHARE_RECORDS = 1_000
#: Reasons named in a rejected-share warning.
TOP_REASONS = 3


# Record fields a coverage figure names, at most: the ones most records were read from.
SHOWN_SOURCES = 3


def _read_from(counts: Counter[tuple[str, str]] | None) -> str:
    """` (950 from user.email (mapped), 50 from Email (recognised))`: where an identifier was read from, when a
    mapping was read or more than one field was (one recognised field says nothing new: kept short)."""
    if not counts or (len(counts) == 1 and next(iter(counts))[1] != "mapped"):
        return ""
    top = counts.most_common(SHOWN_SOURCES)
    shown = [f"{n:,} from {source} ({kind})" for (source, kind), n in top]
    if len(counts) > len(top):
        shown.append(f"{sum(counts.values()) - sum(n for _, n in top):,} from {len(counts) - len(top)} more fields")
    return f" ({', '.join(shown)})"


def is_copy(origin: Origin) -> bool:
    """Whether the element is a copy of a record's event for a further rule (not the record's outcome)."""
    return len(origin) == 4 and bool(origin[3])


def stream_label(key: StreamKey) -> str:
    namespace, name = key
    return f"{namespace}.{name}" if namespace else name


class SyncReport:
    """Thread-safe counters; the sender thread settles batches while the main thread maps records."""

    def __init__(
        self,
        *,
        event_names: dict[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        progress_every: float = 30.0,
    ) -> None:
        self.event_names = event_names or {}  # event key → the name the user configured
        self.event_rules: dict[str, int] = {}  # event key → its first rule, for the per-rule lines
        self._lock = threading.Lock()
        self._clock = clock
        self.started = clock()
        self.progress_every = progress_every
        self._last_progress = self.started
        # `read` and `mapped` are plain dicts, not Counters: they are added to once per record, and a dict
        # subclass's item access takes CPython's slow path (0.13 against 0.06 µs an increment).
        self.read: dict[StreamKey, int] = {}
        self.sent: Counter[Origin] = Counter()
        self.already_sent: Counter[tuple[StreamKey, str]] = Counter()
        self.first_accepted: dict[StreamKey, tuple[int, int]] = {}  # earliest, latest first acceptance (epoch ms)
        self.copies_refused: Counter[tuple[str, int | None]] = Counter()  # (event, rule) of copies LinkedIn refused
        self.rejected: Counter[tuple[StreamKey, str]] = Counter()  # (stream, reason)
        self.rejected_by_event: Counter[tuple[str, str]] = Counter()  # (event, reason), when the event is known
        # (event, identifiers, notes, sources) of each mapped record: one count per record on the hot path,
        # expanded into the per-event, per-identifier and per-note counts below when read. `sources` (a
        # `mapping.fields.Sources`, one object per distinct content, or None) says where the identifiers were read.
        self.mapped: dict[tuple[str, tuple[str, ...], tuple[str, ...], Any], int] = {}
        self.ignored: Counter[str] = Counter()  # unknown_stream, non_json, not_a_message, ...
        self.examples: dict[str, str] = {}  # first message per rejection reason
        self.stream_examples: dict[tuple[StreamKey, str], str] = {}  # first message per (stream, reason)
        self._share_warned: set[StreamKey] = set()  # streams warned early about their rejected share
        self.ignored_examples: dict[str, list[str]] = {}  # first few per ignored kind (quoted input, truncated)
        self.batches = 0
        self.events_in_batches = 0

    # --- counting -------------------------------------------------------------------------
    # `record_read` and `record_mapped` run once per record on the main thread only (the sender thread never
    # touches these two counters), so they take no lock.
    def record_read(self, stream: StreamKey) -> None:
        """A RECORD message of `stream` was read (whether or not the stream is configured)."""
        self.read[stream] = self.read.get(stream, 0) + 1

    def record_mapped(
        self, event: str, identifiers: tuple[str, ...], notes: tuple[str, ...], sources: Any = None
    ) -> None:
        """A record became an event of `event`, identified by `identifiers` (read from `sources`), with mapping
        `notes`."""
        key = (event, identifiers, notes, sources)
        self.mapped[key] = self.mapped.get(key, 0) + 1

    @property
    def mapped_by_event(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        for (event, _, _, _), n in self.mapped.items():
            counts[event] += n
        return counts

    @property
    def identifiers(self) -> Counter[tuple[str, str]]:
        """(event, identifier) → records mapped with that identifier."""
        counts: Counter[tuple[str, str]] = Counter()
        for (event, identifiers, _, _), n in self.mapped.items():
            for identifier in identifiers:
                counts[(event, identifier)] += n
        return counts

    @property
    def identifier_sources(self) -> dict[tuple[str, str], Counter[tuple[str, str]]]:
        """(event, identifier) → (record field, "mapped" or "recognised") → records whose identifier came from it."""
        counts: dict[tuple[str, str], Counter[tuple[str, str]]] = {}
        for (event, identifiers, _, sources), n in self.mapped.items():
            if sources is None:
                continue
            for key, source, kind in sources.read_from:
                if key in identifiers:
                    counts.setdefault((event, key), Counter())[(source, kind)] += n
        return counts

    @property
    def notes(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        for (_, _, notes, _), n in self.mapped.items():
            for note in notes:
                counts[note] += n
        return counts

    def record_rejected(self, stream: StreamKey, event: str | None, reason: str, message: str) -> None:
        with self._lock:
            self.rejected[(stream, reason)] += 1
            if event is not None:
                self.rejected_by_event[(event, reason)] += 1
            self.examples.setdefault(reason, message)
            self.stream_examples.setdefault((stream, reason), message)

    def record_ignored(self, kind: str, example: str) -> None:
        with self._lock:
            self.ignored[kind] += 1
            shown = self.ignored_examples.setdefault(kind, [])
            if len(shown) < IGNORED_EXAMPLES:
                shown.append(example)

    def copy_refused(self, event: str, rule: int | None, message: str) -> None:
        """LinkedIn refused a record's event for one of its further rules (the record's own outcome is its first)."""
        with self._lock:
            self.copies_refused[(event, rule)] += 1
            self.examples.setdefault("linkedin_rejected", message)

    def record_sent(self, sent: Iterable[Origin]) -> None:
        """Events LinkedIn accepted from a batch the sync stopped in the middle of: sent, though not settled."""
        with self._lock:
            self.sent.update(sent)

    def batch_settled(self, sent: Iterable[Origin], size: int, already: Iterable[tuple[Origin, int]] = ()) -> None:
        """A batch is settled: `sent` LinkedIn accepted now; `already` (origin, first accepted ms, 0 if unknown) it
        had accepted before, so they were left out (a copy for a further rule is not a record's outcome)."""
        with self._lock:
            self.batches += 1
            self.events_in_batches += size
            self.sent.update(sent)
            for origin, at in already:
                if is_copy(origin):
                    continue
                stream = origin[0]
                self.already_sent[(stream, origin[1])] += 1
                if at:
                    low, high = self.first_accepted.get(stream, (at, at))
                    self.first_accepted[stream] = (min(low, at), max(high, at))

    # --- totals ---------------------------------------------------------------------------
    @property
    def total_read(self) -> int:
        return sum(self.read.values())

    @property
    def total_sent(self) -> int:
        """Records sent (a copy for a further rule is not a record)."""
        return sum(n for origin, n in self.sent.items() if not is_copy(origin))

    @property
    def total_already_sent(self) -> int:
        return sum(self.already_sent.values())

    @property
    def total_rejected(self) -> int:
        return sum(self.rejected.values())

    # --- output -----------------------------------------------------------------------------
    def progress_due(self) -> bool:
        now = self._clock()
        if now - self._last_progress >= self.progress_every:
            self._last_progress = now
            return True
        return False

    def progress_line(self, requests_in_window: int, requests_today: int) -> str:
        """Run by the watchdog thread while the main and sender threads count: it reads copies taken under the
        lock (`read`, counted without it on the main thread, is copied in one C-level step)."""
        elapsed = max(self._clock() - self.started, 1e-9)
        with self._lock:
            rejected = dict(self.rejected)
            sent = sum(n for origin, n in self.sent.items() if not is_copy(origin))
            already = sum(self.already_sent.values())
            batches = self.batches
        read = sum(dict(self.read).values())
        by_reason: Counter[str] = Counter()
        for (_, reason), count in rejected.items():
            by_reason[reason] += count
        reasons = ", ".join(f"{reason} {n:,}" for reason, n in by_reason.most_common()) or "none"
        return (
            f"Progress: read {read:,}, sent {sent:,}, "
            + (f"already sent {already:,}, " if already else "")
            + f"rejected {sum(rejected.values()):,} "
            f"({reasons}), batches {batches:,}, requests this minute {requests_in_window}, today "
            f"{requests_today:,}, {read / elapsed:,.0f} records/s."
        )

    # --- rejected share ----------------------------------------------------------------------------
    def _rejected_by_stream(self) -> dict[StreamKey, Counter[str]]:
        with self._lock:
            rejected = dict(self.rejected)
        by_stream: dict[StreamKey, Counter[str]] = {}
        for (stream, reason), n in rejected.items():
            by_stream.setdefault(stream, Counter())[reason] += n
        return by_stream

    def streams_over(self, percent: int) -> list[tuple[StreamKey, int, int]]:
        """(stream, rejected, read) of each stream all of whose records, or more than `percent` % of them, were
        rejected; the largest share first."""
        read = dict(self.read)  # counted without the lock on the main thread: copied in one step
        over = []
        for stream, reasons in self._rejected_by_stream().items():
            rejected, total = sum(reasons.values()), read.get(stream, 0)
            if total and (rejected >= total or rejected * 100 > percent * total):
                over.append((stream, rejected, total))
        return sorted(over, key=lambda item: (-item[1] / item[2], stream_label(item[0])))

    def rejected_share_warnings(self, percent: int, *, early: bool = False) -> list[str]:
        """A warning per stream whose rejected share is over `percent` (or all), with its top reasons. `early`: only
        streams that read EARLY_SHARE_RECORDS records and were not warned yet, each warned once."""
        by_stream = self._rejected_by_stream()
        lines = []
        for stream, rejected, read in self.streams_over(percent):
            if early and (read < EARLY_SHARE_RECORDS or stream in self._share_warned):
                continue
            if early:
                self._share_warned.add(stream)
            top = by_stream[stream].most_common(TOP_REASONS)
            example = self.stream_examples.get((stream, top[0][0]))
            reasons = ", ".join(f"{reason} {n:,}" for reason, n in top) + (f" (e.g. {example})" if example else "")
            so_far = " so far" if early else " in this sync"
            if rejected >= read:
                share = f"all {read:,} records read{so_far} were rejected, none sent"
            else:
                share = (
                    f"{rejected:,} of {read:,} records read{so_far} were rejected ({100 * rejected / read:.0f}%, "
                    f"more than {percent}%)"
                )
            lines.append(f"Stream {stream_label(stream)}: {share}; top reasons: {reasons}.")
        return lines

    @property
    def unsettled(self) -> int:
        """Records read that are neither sent, rejected nor ignored: only non-zero when the sync stopped."""
        return (
            self.total_read
            - self.total_sent
            - self.total_already_sent
            - self.total_rejected
            - self.ignored["unknown_stream"]
        )

    def summary_lines(self, *, dry_run: bool) -> list[str]:
        verb = "would be sent" if dry_run else "sent"
        elapsed = self._clock() - self.started
        unsettled = self.unsettled
        batches = f"{self.batches:,} batch" + ("" if self.batches == 1 else "es")
        already = f"{self.total_already_sent:,} " + ("would be left out as already sent" if dry_run else "already sent")
        lines = [
            f"Sync summary: {self.total_read:,} records read, {self.total_sent:,} {verb}, "
            + (f"{already}, " if self.already_sent else "")
            + f"{self.total_rejected:,} rejected"
            + (f", {unsettled:,} not sent because the sync stopped" if unsettled else "")
            + f", in {batches}, {elapsed:.1f} s."
        ]
        lines += self._stream_lines(verb)
        lines += self._event_lines(verb)
        for reason, example in sorted(self.examples.items()):
            lines.append(f"  {reason}: e.g. {example}")
        for note, n in sorted(self.notes.items()):
            lines.append(f"  note {note}: {n:,} records")
        for kind, n in sorted(self.ignored.items()):
            lines.append(f"  ignored {kind}: {n:,} (e.g. {'; '.join(self.ignored_examples.get(kind, []))})")
        return lines

    def _stream_lines(self, verb: str) -> list[str]:
        """One line per stream, at most SUMMARY_STREAMS of them (those that read the most records, by name),
        then one line totalling the others. Linear in the counters: each is walked once, not once per stream."""
        sent: Counter[StreamKey] = Counter()
        for origin, n in self.sent.items():
            if not is_copy(origin):
                sent[origin[0]] += n
        already: Counter[StreamKey] = Counter()
        for (stream, _), n in self.already_sent.items():
            already[stream] += n
        rejected: dict[StreamKey, dict[str, int]] = {}
        for (stream, reason), n in self.rejected.items():
            rejected.setdefault(stream, {})[reason] = n
        shown = (
            self.read
            if len(self.read) <= SUMMARY_STREAMS
            else dict(heapq.nlargest(SUMMARY_STREAMS, self.read.items(), key=lambda item: item[1]))
        )
        lines = []
        for stream in sorted(shown, key=stream_label):
            reasons = rejected.get(stream, {})
            detail = ", ".join(f"{reason} {n:,}" for reason, n in sorted(reasons.items()))
            lines.append(
                f"  stream {stream_label(stream)}: read {self.read[stream]:,}, {verb} {sent[stream]:,}, "
                + self._already_part(stream, already[stream])
                + f"rejected {sum(reasons.values()):,}"
                + (f" ({detail})" if detail else "")
            )
        others = len(self.read) - len(shown)
        if others:
            read = sum(self.read.values()) - sum(self.read[stream] for stream in shown)
            sent_others = sum(sent.values()) - sum(sent[stream] for stream in shown)
            already_others = sum(already.values()) - sum(already[stream] for stream in shown)
            rejected_others = sum(sum(reasons.values()) for stream, reasons in rejected.items() if stream not in shown)
            lines.append(
                f"  and {others:,} more streams: read {read:,}, {verb} {sent_others:,}, "
                + (f"already sent {already_others:,}, " if already_others else "")
                + f"rejected {rejected_others:,}"
            )
        return lines

    def _already_part(self, stream: StreamKey, count: int) -> str:
        """`already sent N (first accepted …), ` for a stream's line; empty when none was."""
        if not count:
            return ""
        span = self.first_accepted.get(stream)
        if span is None:
            return f"already sent {count:,}, "
        low, high = (dt.datetime.fromtimestamp(at / 1000, dt.timezone.utc).strftime("%Y-%m-%d %H:%M") for at in span)
        when = low if low == high else f"{low} to {high}"
        return f"already sent {count:,} (first accepted {when} UTC), "

    def _event_lines(self, verb: str) -> list[str]:
        """One line per configured event met (their number is bounded by the config)."""
        events: Counter[str] = Counter()
        for origin, n in self.sent.items():
            if not is_copy(origin):
                events[origin[1]] += n
        already: Counter[str] = Counter()
        for (_, event), n in self.already_sent.items():
            already[event] += n
        rejected: dict[str, dict[str, int]] = {}
        for (event, reason), n in self.rejected_by_event.items():
            rejected.setdefault(event, {})[reason] = n
        mapped_by_event, identifiers, sources = self.mapped_by_event, self.identifiers, self.identifier_sources
        lines = []
        for event in sorted(set(events) | set(already) | set(mapped_by_event) | set(rejected)):
            mapped = mapped_by_event[event]
            coverage = ", ".join(
                f"{label} {100 * identifiers[(event, key)] / mapped:.0f}%" + _read_from(sources.get((event, key)))
                for key, label in IDENTIFIER_LABELS.items()
                if mapped and identifiers[(event, key)]
            )
            reasons = rejected.get(event, {})
            detail = ", ".join(f"{reason} {n:,}" for reason, n in sorted(reasons.items()))
            lines.append(
                f"  event {self.event_names.get(event, event)}: {verb} {events[event]:,}, "
                + (f"already sent {already[event]:,}, " if already[event] else "")
                + f"rejected by LinkedIn {sum(reasons.values()):,}"
                + (f" ({detail})" if detail else "")
                + (f"; identifiers: {coverage}" if coverage else "")
            )
        return lines + self._rule_lines(verb)

    def _rule_lines(self, verb: str) -> list[str]:
        """`LEAD → rule 22285180: 10 sent; rule 22285190: 10 sent`, for each event sent to more than one rule (its
        further rules, or rows naming their own) or with a further rule's event refused."""
        by_event: dict[str, Counter[int | None]] = {}
        for origin, n in self.sent.items():
            event, rule = origin[1], origin[2] if len(origin) == 4 else None
            by_event.setdefault(event, Counter())[self.event_rules.get(event) if rule is None else rule] += n
        refused: dict[str, Counter[int | None]] = {}
        for (event, rule), n in self.copies_refused.items():
            refused.setdefault(event, Counter())[rule] += n
        lines = []
        for event in sorted(set(by_event) | set(refused)):
            sent, lost = by_event.get(event, Counter()), refused.get(event, Counter())
            rules = sorted(set(sent) | set(lost), key=lambda rule: (rule is None, rule or 0))
            if len(rules) < 2 and not lost:
                continue
            parts = [
                f"rule {rule}: {sent[rule]:,} {verb}" + (f", {lost[rule]:,} refused by LinkedIn" if lost[rule] else "")
                for rule in rules
            ]
            lines.append(f"  {self.event_names.get(event, event)} → " + "; ".join(parts))
        return lines
