"""The archiver's processor: the final bundle of every event into the archive.

Ingest marks the bundle it sends when it closes an event ``final``: that one is written at
once. Until then the archiver keeps the latest revision of each event in memory and
writes it once no newer revision has arrived for ``archive_quiet_s`` seconds (so an
archive holds an event long before it closes; a revision arriving after the write is
archived again and replaces the earlier one, see :mod:`symae.data.archive`).

Ack-then-commit: held bundles are reported by :meth:`retained`, so the runtime never
commits past a bundle that is not yet on disk; after a crash they are re-read, and an
event already archived with that revision is skipped. On SIGTERM held bundles are not
written early: the final commit stops before them and the next run re-reads them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prometheus_client import Counter, Gauge

from services.runtime import BUNDLES, Incoming, Outgoing, PoisonMessage, Processor
from services.schemas import BundleMessage, DeadLetterReason
from symae.data.archive import ArchiveStore

if TYPE_CHECKING:
    from services.runtime import ServiceApp

log = logging.getLogger(__name__)


@dataclass
class Held:
    bundle: BundleMessage
    partition: int
    offset: int
    updated: float  # time.time() of the latest revision


class ArchiveProcessor(Processor):
    """Latest revision per event, written after a quiet period; see the module docstring."""

    inputs = {BUNDLES: BundleMessage}
    outputs = ()

    def __init__(self, store: ArchiveStore, quiet_s: float) -> None:
        self.store = store
        self.quiet_s = quiet_s
        self.held: dict[str, Held] = {}
        self.app: ServiceApp | None = None

    def start(self, app: ServiceApp) -> None:
        self.app = app
        registry = app.metrics.registry
        self._events = Counter(
            "symae_archive_events_total",
            "Events written to the archive, by outcome",
            ["service", "outcome"],
            registry=registry,
        )
        self._bytes = Gauge(
            "symae_archive_bytes",
            "Bytes held by the archive shards",
            ["service"],
            registry=registry,
        )
        self._deleted = Counter(
            "symae_archive_shards_deleted_total",
            "Shards deleted by retention",
            ["service"],
            registry=registry,
        )
        self._bytes.labels(app.name).set(self.store.total_bytes())
        app.metrics.set_in_flight(0)

    def handle(self, msg: Incoming) -> Sequence[Outgoing]:
        bundle: BundleMessage = msg.value
        if msg.key is not None and msg.key != bundle.event_id:
            raise PoisonMessage(
                DeadLetterReason.SCHEMA, f"key {msg.key!r} but event {bundle.event_id!r}"
            )
        held = self.held.get(bundle.event_id)
        if held is not None and (held.bundle.revision, held.bundle.emitted_at) > (
            bundle.revision,
            bundle.emitted_at,
        ):
            return []  # an older revision delivered late
        self.held[bundle.event_id] = Held(bundle, msg.partition, msg.offset, time.time())
        if bundle.final:  # the event closed: nothing newer will come
            self._write(self.held.pop(bundle.event_id))
        self._gauge()
        return []

    def tick(self, now: float) -> Sequence[Outgoing]:
        for event_id, held in list(self.held.items()):
            if now - held.updated >= self.quiet_s:
                self._write(held)
                del self.held[event_id]
        self._gauge()
        return []

    def _write(self, held: Held) -> None:
        bundle = held.bundle
        written = self.store.write(bundle.to_event_data(), bundle.data_contract(), bundle.revision)
        outcome = "skipped" if written.shard is None else "written"
        log.info(
            "event %s revision %d: %s%s",
            bundle.event_id,
            bundle.revision,
            outcome,
            f" to {written.shard}" if written.shard else " (already archived)",
            extra={"event_id": bundle.event_id, "revision": bundle.revision},
        )
        if self.app is not None:
            self._events.labels(self.app.name, outcome).inc()
            if written.deleted:
                self._deleted.labels(self.app.name).inc(len(written.deleted))
            self._bytes.labels(self.app.name).set(self.store.total_bytes())

    def retained(self) -> Mapping[tuple[str, int], int]:
        low: dict[tuple[str, int], int] = {}
        for held in self.held.values():
            key = (BUNDLES, held.partition)
            low[key] = min(held.offset, low.get(key, held.offset))
        return low

    def on_revoked(self, partitions: Sequence[tuple[str, int]]) -> None:
        gone = {p for t, p in partitions if t == BUNDLES}
        self.held = {k: h for k, h in self.held.items() if h.partition not in gone}
        self._gauge()

    def _gauge(self) -> None:
        if self.app is not None:
            self.app.metrics.set_in_flight(len(self.held))
