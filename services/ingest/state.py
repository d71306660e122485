"""Per-event state of the ingest service and its readiness policy (pure logic, no Kafka).

An :class:`EventState` holds an event's origin, the model traces accepted so far (one
per SEED id), which SEED ids were seen, rejection counts, and the Kafka offsets of the
messages it was built from: until the event is closed those offsets are not committed,
so a restart re-reads them and rebuilds the same state.

Times are broker timestamps (POSIX s) of the messages, so a rebuilt state reaches the
same decisions as the original one. Records of one event arrive in offset order on one
partition, so the accepted traces are always a prefix (in offset order) of the event's
accepted records: a bundle's content, summarised by :meth:`EventState.summary` over
the records up to its last accepted one, depends only on its revision. *When* revisions
go out (the quiet time and the rate limit of :class:`ReadinessPolicy`) follows this
host's clock, so a rebuilt state may emit other revisions than the original one did, but
a revision it emits is the same bundle; the final revision (the event closing) is the
same in both.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from services.schemas import OriginMessage
from symae.data.preprocess import PreprocessedTrace
from symae.extract.extractor import MIN_PIXELS, MIN_TRACES


@dataclass(frozen=True)
class ReadinessPolicy:
    """When an event's bundle goes out, and how often it is revised.

    Ready when it has ``min_traces`` traces on ``min_pixels`` focal-sphere pixels, or,
    with at least one trace, ``deadline_s`` after its first record. A revision goes out
    when traces were added since the last one, the event has been quiet (no new accepted
    record) for ``quiet_s``, and at least ``revision_interval_s`` passed since its last
    revision (the most revisions per second of one event). The first revision that the
    deadline makes due goes out at once; so does the final one, when the event closes
    (the ingest processor sends it whatever this policy says).
    """

    min_traces: int = MIN_TRACES
    min_pixels: int = MIN_PIXELS
    deadline_s: float = 120.0
    quiet_s: float = 0.5
    revision_interval_s: float = 1.0

    def due(self, event: EventState, now: float) -> bool:
        """Whether ``event`` should emit a (new) revision at time ``now``."""
        n = len(event.traces)
        if n == 0 or n == event.emitted_traces:
            return False
        complete = n >= self.min_traces and event.n_pixels >= self.min_pixels
        late = now - event.first_record_time >= self.deadline_s
        if not (complete or late):
            return False
        if event.emitted_at is None and late and not complete:
            return True  # the deadline's revision waits for nothing
        if event.emitted_at is not None and now - event.emitted_at < self.revision_interval_s:
            return False
        return now - event.last_accepted_at >= self.quiet_s

    def due_at(self, event: EventState) -> float | None:
        """The earliest time ``due`` turns true if no record comes before (None: never)."""
        n = len(event.traces)
        if n == 0 or n == event.emitted_traces:
            return None
        late_at = event.first_record_time + self.deadline_s
        if not (n >= self.min_traces and event.n_pixels >= self.min_pixels):
            return late_at if event.emitted_at is None else max(late_at, self._paced(event))
        return self._paced(event)

    def _paced(self, event: EventState) -> float:
        """When the quiet time and the rate limit both allow a revision."""
        at = event.last_accepted_at + self.quiet_s
        if event.emitted_at is not None:
            at = max(at, event.emitted_at + self.revision_interval_s)
        return at


@dataclass
class RecordNote:
    """One record of an event: where it was and whether it was refused (and why)."""

    offset: int
    timestamp: float
    reason: str | None = None
    partition: int = 0  # None: accepted (or duplicate-free and still pending)


@dataclass(frozen=True)
class Summary:
    """Record-level facts of a bundle, over the records up to its last accepted one."""

    first_record_time: float
    last_record_time: float
    n_records: int
    rejections: dict[str, int]


@dataclass
class EventState:
    """What ingest knows about one event."""

    origin: OriginMessage
    origin_partition: int
    origin_offset: int
    origin_time: float  # stream time when the origin was read (its lifetime starts there)
    traces: dict[str, PreprocessedTrace] = field(default_factory=dict)  # seed id -> trace
    seen: set[str] = field(default_factory=set)  # seed ids received (accepted or not)
    raw_partition: int | None = None
    notes: list[RecordNote] = field(default_factory=list)  # in arrival (= offset) order
    first_record_time: float = float("inf")
    emitted_traces: int = 0  # traces in the last emitted revision
    emitted_at: float | None = None  # wall time of the last emission
    last_accepted_at: float = float("-inf")  # wall time the last trace was accepted
    last_record_at: float = float("-inf")  # wall time its origin or last record was read

    @property
    def event_id(self) -> str:
        return self.origin.event_id

    @property
    def n_records(self) -> int:
        return len(self.seen)

    @property
    def n_pixels(self) -> int:
        return len({t.pixel for t in self.traces.values()})

    def note_record(
        self, partition: int, offset: int, timestamp: float, seed_id: str
    ) -> RecordNote:
        """Remember a record (its offset is held until the event closes)."""
        self.raw_partition = partition
        self.seen.add(seed_id)
        self.first_record_time = min(self.first_record_time, timestamp)
        note = RecordNote(offset, timestamp, partition=partition)
        self.notes.append(note)
        return note

    def held_offsets(self) -> dict[int, int]:
        """Lowest record offset per raw partition (an event's records may sit on two)."""
        low: dict[int, int] = {}
        for n in self.notes:
            low[n.partition] = min(n.offset, low.get(n.partition, n.offset))
        return low

    def summary(self) -> Summary:
        """Times, record count and rejections over the records up to the last accepted."""
        last = max((i for i, n in enumerate(self.notes) if n.reason is None), default=-1)
        upto = self.notes[: last + 1]
        if not upto:
            raise ValueError(f"event {self.event_id}: no accepted record to summarise")
        reasons = Counter(n.reason for n in upto if n.reason is not None)
        return Summary(
            first_record_time=min(n.timestamp for n in upto),
            last_record_time=max(n.timestamp for n in upto),
            n_records=len(upto),
            rejections=dict(sorted(reasons.items())),
        )

    def ordered_traces(self) -> list[PreprocessedTrace]:
        """Accepted traces sorted by SEED id (a bundle does not depend on arrival order)."""
        return [self.traces[k] for k in sorted(self.traces)]
