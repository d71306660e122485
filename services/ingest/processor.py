"""The ingest processor: origins and raw records -> event bundles (revisions).

Per message:

- an origin opens an event (a repeated origin for an open event is ignored) and
  releases records that arrived before it;
- a record for an open event: a second record with the same SEED id is a duplicate
  and ignored (counted, not dead-lettered); then the per-event record limit
  (``too_many_records``), the sample limit (``oversize``), decoding
  (``undecodable``), finiteness (``nan``) and the inventory (``unknown_station``) are
  checked and the record is preprocessed (the ``RejectReason`` values of
  ``symae.data.preprocess``); every refusal goes to the dead-letter topic;
- a record whose origin has not arrived waits ``unknown_event_grace_s``, then goes to
  the dead-letter topic as ``unknown_event``; one for an event already closed, as
  ``late``.

After every poll, :meth:`IngestProcessor.tick` emits a bundle for each event the
:class:`~services.ingest.state.ReadinessPolicy` finds due (quiet for
``revision_quiet_s``, at most one revision per ``revision_interval_s``), and closes
events ``event_close_s`` after their origin with a last bundle marked ``final`` (its
newest traces, even if that revision went out before: inference extracts a final
revision in full, its earlier ones as cheaper previews).

Records are preprocessed for the data contract of the served model (``SYMAE_MODEL`` in
``SYMAE_MODEL_REGISTRY``, resolved as inference resolves it, when the service starts);
every bundle carries that contract, and inference dead-letters a bundle whose contract
is not its model's (``contract_mismatch``), e.g. after a model of another contract is
registered and before ingest restarts.

Event lifetime follows stream progress, not a producer's clock: every partition has a
stream time, the newest message timestamp read there (each timestamp clamped to at most
``clock_skew_s`` ahead of this host's clock), which follows the wall clock once the
partition has no backlog. An event opens at the stream time its origin is read (an origin
stamped hours ago lives ``event_close_s`` from then) and closes ``event_close_s`` of
stream time later, so an ingest outage longer than ``event_close_s`` closes nothing early
(the backlog is read at the stream times it was written), and a timestamp in the future
cannot keep an event, and its offsets, open forever. A due event closes only once neither
its origin nor any of its records has come for ``close_quiet_s`` of wall time: a consumer
that catches up with a producer stamping its messages hours in the past (its stream time
then jumps to now) would otherwise close the event before or between its records.

Records waiting for their origin are bounded: at most ``max_pending_bytes_per_event``
per event and ``max_pending_bytes`` in all; past either, a record is dead-lettered
``over_capacity``.

Crash safety: the offsets of an open event's origin and records are reported by
:meth:`retained`, so the runtime never commits past them; after a crash or a
rebalance they are re-read and the same state (and the same bundle revisions) is
rebuilt. Revisions are numbered by trace count, so a re-emitted bundle is an identical
re-delivery under the same key.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from services.ingest.records import Inventories, decode_record
from services.ingest.settings import IngestSettings
from services.ingest.state import EventState, ReadinessPolicy
from services.runtime import BUNDLES, ORIGINS, RAW, Incoming, Outgoing, PoisonMessage, Processor
from services.schemas import BundleMessage, DeadLetterReason, OriginMessage, RawRecord
from symae.artifacts.store import read_model_dir
from symae.contract import DataContract
from symae.data.preprocess import PreprocessConfig, assemble_event, preprocess_trace
from symae.data.rejections import Rejected
from symae.version import __version__

if TYPE_CHECKING:
    from services.runtime import ServiceApp

log = logging.getLogger(__name__)

CLOSED_MEMORY = 100_000  # closed event ids remembered to flag late records


def served_contract(spec: str, registry: Path | None = None) -> DataContract:
    """The data contract of the model inference serves for ``spec`` (torch-free: only
    its model.json is read), resolved as the inference service resolves it."""
    from services.inference.model_watch import registry_resolver

    ref = registry_resolver(spec, registry)()
    return read_model_dir(ref.path, check=False).contract


class IngestProcessor(Processor):
    """Stateful ingest: see the module docstring."""

    inputs = {ORIGINS: OriginMessage, RAW: RawRecord}
    outputs = (BUNDLES,)

    def __init__(
        self,
        settings: IngestSettings,
        inventories: Inventories | None = None,
        contract: DataContract | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.policy = ReadinessPolicy(
            min_traces=settings.min_traces,
            min_pixels=settings.min_pixels,
            deadline_s=settings.ready_deadline_s,
            quiet_s=settings.revision_quiet_s,
            revision_interval_s=settings.revision_interval_s,
        )
        self.now = clock  # the wall clock of the readiness policy (tests inject one)
        if contract is None:
            contract = served_contract(settings.model, settings.model_registry)
        config = PreprocessConfig(contract=contract)
        if settings.snr_min is not None:
            config = replace(config, snr_min=settings.snr_min)
        self.config = config
        log.info("preprocessing for data contract %s", contract.to_dict())
        self.inventories = inventories or Inventories.from_path(
            settings.inventory, settings.stationxml_cache_size
        )
        self.events: dict[str, EventState] = {}
        self.pending: dict[str, list[tuple[float, Incoming]]] = {}  # event id -> (arrival, msg)
        self.closed: OrderedDict[str, None] = OrderedDict()
        self.clock: dict[int, float] = {}  # partition -> stream time (see module docstring)
        # partition -> newest message timestamp read (the stream time without the jumps
        # to the wall clock when the partition has no backlog)
        self.read_clock: dict[int, float] = {}
        self.pending_bytes: dict[str, int] = {}  # event id -> bytes waiting for its origin
        self.app: ServiceApp | None = None

    def start(self, app: ServiceApp) -> None:
        self.app = app
        origins, raw = app.partitions(ORIGINS), app.partitions(RAW)
        if origins != raw:
            # an event's origin and records would land on different partition numbers and,
            # with several replicas, in different processes
            log.error(
                "topics %s and %s have %d and %d partitions; with more than one ingest "
                "replica events would be split: give both the same count",
                app.settings.topic(ORIGINS),
                app.settings.topic(RAW),
                len(origins),
                len(raw),
            )

    # ------------------------------------------------------------------ messages
    def _stamp(self, msg: Incoming) -> float:
        """The message's time, clamped to the skew window; advances its partition's clock."""
        t = min(msg.timestamp, time.time() + self.settings.clock_skew_s)
        if t > self.clock.get(msg.partition, float("-inf")):
            self.clock[msg.partition] = t
        if t > self.read_clock.get(msg.partition, float("-inf")):
            self.read_clock[msg.partition] = t
        return t

    def _open_time(self, msg: Incoming) -> float:
        """Stream time at which an event opens: its partition's clock, or now when the
        origin is the newest message there (a back-dated origin read live lives its full
        ``event_close_s`` from now)."""
        opened = self.stream_time(msg.partition)
        if self.app is None or self.app.at_end(msg.topic, msg.partition, msg.offset):
            # only this event's start: the partition's clock is not moved (records of
            # older events may still be behind on the other topic)
            opened = max(opened, time.time())
        return opened

    def stream_time(self, partition: int) -> float:
        return self.clock.get(partition, time.time())

    def handle(self, msg: Incoming) -> Sequence[Outgoing]:
        self._stamp(msg)
        if msg.topic == ORIGINS:
            return self._origin(msg)
        return self._record(msg)

    def _origin(self, msg: Incoming) -> list[Outgoing]:
        origin: OriginMessage = msg.value
        event_id = origin.event_id
        if event_id in self.events or event_id in self.closed:
            log.info("origin of %s again (%s); keeping the first", event_id, msg.where)
            return []
        self.events[event_id] = EventState(
            origin=origin,
            origin_partition=msg.partition,
            origin_offset=msg.offset,
            origin_time=self._open_time(msg),
            last_record_at=self.now(),  # it waits close_quiet_s for its first records too
        )
        log.info("event %s opened", event_id, extra={"event_id": event_id, "where": msg.where})
        outputs: list[Outgoing] = []
        self.pending_bytes.pop(event_id, None)
        for _, held in self.pending.pop(event_id, []):
            outputs.extend(self._record(held))
        self._gauge()
        return outputs

    def _record(self, msg: Incoming) -> list[Outgoing]:
        """Check and preprocess one record; dead letters are returned, never raised."""
        record: RawRecord = msg.value
        event = self.events.get(record.event_id)
        if event is None:
            if record.event_id in self.closed:
                return [
                    self._reject(msg, DeadLetterReason.LATE, f"event {record.event_id} is closed")
                ]
            if self._stale(msg, self.read_clock):
                # re-read after a restart: its event was closed (or dead-lettered) before
                # (judged against the messages read, not the wall clock: records stamped
                # hours in the past, read live before their origin, are not re-reads)
                log.debug("%s belongs to an event closed before a restart; skipped", msg.where)
                return []
            size = len(msg.raw)
            held = self.pending_bytes.get(record.event_id, 0)
            total = sum(self.pending_bytes.values())
            if held + size > self.settings.max_pending_bytes_per_event:
                return [
                    self._reject(
                        msg,
                        DeadLetterReason.OVER_CAPACITY,
                        f"records waiting for the origin of {record.event_id} "
                        f"exceed {self.settings.max_pending_bytes_per_event} bytes",
                    )
                ]
            if total + size > self.settings.max_pending_bytes:
                return [
                    self._reject(
                        msg,
                        DeadLetterReason.OVER_CAPACITY,
                        f"records waiting for origins exceed "
                        f"{self.settings.max_pending_bytes} bytes in all",
                    )
                ]
            self.pending_bytes[record.event_id] = held + size
            self.pending.setdefault(record.event_id, []).append((time.time(), msg))
            return []
        if record.seed_id in event.seen:
            log.debug("duplicate %s for %s ignored", record.seed_id, record.event_id)
            if self.app is not None:
                self.app.metrics.rejection("duplicate")
            return []
        note = event.note_record(msg.partition, msg.offset, msg.timestamp, record.seed_id)
        event.last_record_at = self.now()
        try:
            if event.n_records > self.settings.max_records_per_event:
                raise PoisonMessage(
                    DeadLetterReason.TOO_MANY_RECORDS,
                    f"event {record.event_id} reached its limit of "
                    f"{self.settings.max_records_per_event} records",
                )
            trace = decode_record(record, self.settings.max_samples_per_record)
            inventory = self.inventories.for_record(record, self.settings.max_stationxml_bytes)
            start = time.perf_counter()
            try:
                processed = preprocess_trace(
                    trace, inventory, event.origin.to_origin(), self.config
                )
            except Rejected as exc:
                raise PoisonMessage(DeadLetterReason(exc.reason.value), exc.message) from exc
            finally:
                if self.app is not None:
                    self.app.metrics.observe_latency("preprocess", time.perf_counter() - start)
        except PoisonMessage as exc:
            note.reason = exc.reason.value
            return [self._reject(msg, exc.reason, exc.detail)]
        event.traces[record.seed_id] = processed
        event.last_accepted_at = self.now()
        return []

    def _stale(self, msg: Incoming, clock: dict[int, float] | None = None) -> bool:
        """A record older than ``event_close_s`` of its partition's stream time (or of
        another per-partition ``clock``)."""
        times = self.clock if clock is None else clock
        age = times.get(msg.partition, time.time()) - msg.timestamp
        return age > self.settings.event_close_s

    def _reject(self, msg: Incoming, reason: DeadLetterReason, detail: str) -> Outgoing:
        log.info(
            "%s refused: %s: %s",
            msg.where,
            reason,
            detail,
            extra={"where": msg.where, "reason": reason, "key": msg.key},
        )
        assert self.app is not None, "processor used before start()"
        return self.app.dead_letter(msg, reason, detail)

    # ------------------------------------------------------------------ periodic
    def tick(self, now: float) -> Sequence[Outgoing]:
        outputs: list[Outgoing] = []
        self._advance_clocks(now)
        grace = self.settings.unknown_event_grace_s
        for event_id, held in list(self.pending.items()):
            waiting = [(t, m) for t, m in held if now - t < grace]
            if len(waiting) == len(held):
                continue
            if waiting:
                self.pending[event_id] = waiting
                self.pending_bytes[event_id] = sum(len(m.raw) for _, m in waiting)
            else:
                del self.pending[event_id]
                self.pending_bytes.pop(event_id, None)
            reason = f"no origin for event {event_id} within {grace:g} s"
            for t, m in held:
                if now - t < grace:
                    continue
                if self._stale(m):  # its event closed before a restart: nothing to say
                    continue
                outputs.append(self._reject(m, DeadLetterReason.UNKNOWN_EVENT, reason))
        for event in list(self.events.values()):
            age = self.stream_time(event.origin_partition) - event.origin_time
            # and only once its records have paused: a partition that catches up with a
            # producer stamping hours in the past must not close the event mid-send
            closing = (
                age >= self.settings.event_close_s
                and now - event.last_record_at >= self.settings.close_quiet_s
            )
            # a closing event sends its final revision, whatever the policy says
            if closing and event.traces:
                outputs.append(self._bundle(event, now, final=True))
            elif self.policy.due(event, now):
                outputs.append(self._bundle(event, now))
            if closing:
                self._close(event)
        self._gauge()
        return outputs

    def next_tick_at(self) -> float | None:
        """The earliest revision the readiness policy will make due (closing an event and
        the origin grace are checked at the loop's usual pace: seconds, not deadlines)."""
        due = [t for e in self.events.values() if (t := self.policy.due_at(e)) is not None]
        return min(due, default=None)

    def _advance_clocks(self, now: float) -> None:
        """A partition without backlog is at the present: its stream time follows ``now``."""
        partitions = set(self.clock) | {e.origin_partition for e in self.events.values()}
        for p in partitions:
            app = self.app
            if app is None or (app.caught_up(ORIGINS, p) and app.caught_up(RAW, p)):
                if now > self.clock.get(p, float("-inf")):
                    self.clock[p] = now

    def _bundle(self, event: EventState, now: float, final: bool = False) -> Outgoing:
        traces = event.ordered_traces()
        summary = event.summary()
        data = assemble_event(
            event.origin.to_origin(),
            traces,
            self.config.contract,
            provenance={"ingest": {"code_version": __version__, "records": summary.n_records}},
        )
        bundle = BundleMessage.from_event(
            data,
            origin=event.origin,
            contract=self.config.contract,
            first_record_time=summary.first_record_time,
            last_record_time=summary.last_record_time,
            rejections=summary.rejections,
            final=final,
        )
        if event.emitted_at is None and self.app is not None:
            self.app.metrics.observe_latency("readiness_wait", now - event.first_record_time)
        event.emitted_traces = len(traces)
        event.emitted_at = now
        log.info(
            "event %s revision %d%s: %d traces on %d pixels",
            event.event_id,
            bundle.revision,
            " (final)" if final else "",
            bundle.n_traces,
            bundle.n_pixels,
            extra={"event_id": event.event_id, "revision": bundle.revision},
        )
        return Outgoing(BUNDLES, key=event.event_id, value=bundle)

    def _close(self, event: EventState) -> None:
        del self.events[event.event_id]
        self.closed[event.event_id] = None
        while len(self.closed) > CLOSED_MEMORY:
            self.closed.popitem(last=False)
        if not event.traces:
            log.warning(
                "event %s closed without a usable trace (%d records)",
                event.event_id,
                event.n_records,
                extra={"event_id": event.event_id},
            )
        else:
            log.info("event %s closed", event.event_id, extra={"event_id": event.event_id})

    def _gauge(self) -> None:
        if self.app is not None:
            self.app.metrics.set_in_flight(len(self.events))

    # ------------------------------------------------------------------ offsets
    def retained(self) -> Mapping[tuple[str, int], int]:
        """Lowest offset per partition of every message an open event or a wait holds."""
        low: dict[tuple[str, int], int] = {}

        def hold(topic: str, partition: int, offset: int) -> None:
            key = (topic, partition)
            low[key] = min(offset, low.get(key, offset))

        for event in self.events.values():
            hold(ORIGINS, event.origin_partition, event.origin_offset)
            for partition, offset in event.held_offsets().items():
                hold(RAW, partition, offset)
        for held in self.pending.values():
            for _, m in held:
                hold(RAW, m.partition, m.offset)
        return low

    def on_revoked(self, partitions: Sequence[tuple[str, int]]) -> None:
        """Forget the events and waiting records of partitions handed to another replica."""
        gone = set(partitions)
        for event_id, event in list(self.events.items()):
            if (ORIGINS, event.origin_partition) in gone or any(
                (RAW, p) in gone for p in event.held_offsets()
            ):
                del self.events[event_id]
        for event_id, held in list(self.pending.items()):
            kept = [(t, m) for t, m in held if (RAW, m.partition) not in gone]
            if kept:
                self.pending[event_id] = kept
                self.pending_bytes[event_id] = sum(len(m.raw) for _, m in kept)
            else:
                del self.pending[event_id]
                self.pending_bytes.pop(event_id, None)
        for p in {p for t, p in gone}:
            self.clock.pop(p, None)
            self.read_clock.pop(p, None)
        self._gauge()
