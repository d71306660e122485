"""The latest result per event, kept on disk in the products directory.

Results arrive at least once and possibly out of order (a revision may be re-delivered
after a newer one). The store decides what each arrival means (new event, newer
revision, identical re-delivery, stale revision, or the same revision recomputed, for
example by a newer model) and remembers the current entry of every event. Its state is
the products directory itself (``<root>/events/<folder>/result.json``), so a restarted
publisher serves what it served before.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from services.publish.figures import Figures
from services.publish.products import PRODUCT_FILES
from services.publish.summary import stf_sketch, summary_fields
from symae.extract.result import ExtractionResult

log = logging.getLogger(__name__)

_SAFE = re.compile(r"[^A-Za-z0-9._-]")
HISTORY_FILE = "revisions.jsonl"  # one line per published arrival, oldest first
CHANGES_KEPT = 4096  # recent changes a live client can catch up on


class Arrival(StrEnum):
    """What an arriving result means for the event it belongs to."""

    NEW = "new"  # first result of the event
    NEWER = "newer"  # higher revision than the current one
    RECOMPUTED = "recomputed"  # same revision, different content (e.g. new model)
    DUPLICATE = "duplicate"  # identical to the current result
    STALE = "stale"  # lower revision than the current one

    @property
    def publishes(self) -> bool:
        """Whether this arrival replaces the event's products."""
        return self in (Arrival.NEW, Arrival.NEWER, Arrival.RECOMPUTED)


def folder_name(event_id: str) -> str:
    """A file-system-safe folder name for an event id, unique per id.

    Ids made only of letters, digits, ``.``, ``_`` and ``-`` are used as they are;
    others get their unsafe characters replaced and a short hash of the id appended.
    """
    safe = _SAFE.sub("_", event_id)
    if safe == event_id and event_id not in (".", ".."):
        return event_id
    return f"{safe}-{hashlib.sha256(event_id.encode()).hexdigest()[:8]}"


@dataclass(frozen=True)
class EventEntry:
    """The published state of one event, as listed by ``GET /events``."""

    event_id: str
    revision: int
    model_name: str
    model_version: str
    origin_time: str | None
    latitude: float | None
    longitude: float | None
    depth_km: float | None
    magnitude: float | None
    n_traces: int
    n_pixels: int
    updated: str  # ISO 8601 UTC of the last write of the products
    folder: str
    # explorer summary (services.publish.summary); defaults keep older callers working
    region: str = ""
    method: str = ""
    duration_s: float | None = None
    centroid_s: float | None = None
    timing_source: str = "stf"
    flags: tuple[str, ...] = field(default_factory=tuple)
    n_pixels_passed: int = 0
    seq: int = field(default=0, compare=False)  # the store's change counter at recording

    def to_json(self) -> dict[str, Any]:
        """The ``GET /events`` entry, with the product file URLs."""
        base = f"/events/{self.folder}"
        return {
            "event_id": self.event_id,
            "revision": self.revision,
            "model": {"name": self.model_name, "version": self.model_version},
            "origin": {
                "time": self.origin_time,
                "latitude": self.latitude,
                "longitude": self.longitude,
                "depth_km": self.depth_km,
                "magnitude": self.magnitude,
            },
            "n_traces": self.n_traces,
            "n_pixels": self.n_pixels,
            "updated": self.updated,
            "products": {kind: f"{base}/{name}" for kind, name in PRODUCT_FILES.items()},
        }

    def to_api(self) -> dict[str, Any]:
        """The ``GET /api/v1/events`` entry: the ``/events`` entry plus the summary."""
        out = self.to_json()
        out.update(
            region=self.region,
            method=self.method,
            duration_s=self.duration_s,
            centroid_s=self.centroid_s,
            timing_source=self.timing_source,
            flags=list(self.flags),
            n_pixels_passed=self.n_pixels_passed,
            seq=self.seq,
            page=f"/event/{self.folder}",
            api=f"/api/v1/events/{self.folder}",
        )
        return out


def _entry(result: ExtractionResult, updated: str, seq: int = 0) -> EventEntry:
    o = result.origin
    summary = summary_fields(result)
    return EventEntry(
        event_id=result.event_id,
        revision=result.revision,
        model_name=result.model.name,
        model_version=result.model.version,
        origin_time=o.time if o else None,
        latitude=o.latitude if o else None,
        longitude=o.longitude if o else None,
        depth_km=o.depth_km if o else None,
        magnitude=o.magnitude if o else None,
        n_traces=result.quality.n_traces,
        n_pixels=result.quality.n_pixels,
        updated=updated,
        folder=folder_name(result.event_id),
        region=summary["region"],
        method=summary["method"],
        duration_s=summary["duration_s"],
        centroid_s=summary["centroid_s"],
        timing_source=summary["timing_source"],
        flags=tuple(summary["flags"]),
        n_pixels_passed=summary["n_pixels_passed"],
        seq=seq,
    )


def _revision(entry: EventEntry, result: ExtractionResult, arrival: str) -> dict[str, Any]:
    """One line of an event's revision history."""
    return {
        "revision": entry.revision,
        "arrival": arrival,
        "updated": entry.updated,
        "model": {"name": entry.model_name, "version": entry.model_version},
        "n_traces": entry.n_traces,
        "n_pixels": entry.n_pixels,
        "n_pixels_passed": entry.n_pixels_passed,
        "method": entry.method,
        "duration_s": entry.duration_s,
        "centroid_s": entry.centroid_s,
        "flags": list(entry.flags),
        "stf": stf_sketch(result.stf),
    }


def result_bytes(result: ExtractionResult) -> bytes:
    """The canonical RESULT.json text of a result, as written and served."""
    return (result.model_dump_json(indent=1) + "\n").encode()


class LatestStore:
    """Latest revision per event, backed by ``<root>/events/<folder>/result.json``.

    Safe to read from HTTP threads while the consumer thread records arrivals.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.events_dir = self.root / "events"
        self.events_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._entries: dict[str, EventEntry] = {}
        self._history: dict[str, list[dict[str, Any]]] = {}
        self._seq = 0
        self._changes: deque[tuple[int, str]] = deque(maxlen=CHANGES_KEPT)
        self.figures = Figures()  # stf.png, rendered on first request
        self._load()

    def _load(self) -> None:
        for path in sorted(self.events_dir.glob(f"*/{PRODUCT_FILES['result']}")):
            try:
                result = ExtractionResult.model_validate_json(path.read_bytes())
            except (OSError, ValidationError) as exc:
                log.warning("ignoring unreadable published result %s: %s", path, exc)
                continue
            updated = datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat()
            entry = _entry(result, updated)
            self._entries[result.event_id] = entry
            self._history[result.event_id] = self._read_history(path.parent) or [
                _revision(entry, result, "loaded")
            ]
        if self._entries:
            log.info("loaded %d published events from %s", len(self._entries), self.root)

    @staticmethod
    def _read_history(folder: Path) -> list[dict[str, Any]]:
        try:
            lines = (folder / HISTORY_FILE).read_text().splitlines()
        except OSError:
            return []
        history = []
        for line in lines:
            try:
                history.append(json.loads(line))
            except ValueError:  # a line cut short by a crash
                continue
        return history

    def folder(self, event_id: str) -> Path:
        """Where the products of ``event_id`` live."""
        return self.events_dir / folder_name(event_id)

    def classify(self, result: ExtractionResult) -> Arrival:
        """What ``result`` means given the current entry of its event."""
        with self._lock:
            current = self._entries.get(result.event_id)
        if current is None:
            return Arrival.NEW
        if result.revision > current.revision:
            return Arrival.NEWER
        if result.revision < current.revision:
            return Arrival.STALE
        stored = self.folder(result.event_id) / PRODUCT_FILES["result"]
        try:
            same = stored.read_bytes() == result_bytes(result)
        except OSError:
            same = False
        return Arrival.DUPLICATE if same else Arrival.RECOMPUTED

    def record(self, result: ExtractionResult, arrival: Arrival | None = None) -> EventEntry:
        """Make ``result`` the event's current entry (after its products are written).

        Also appends the revision to the event's history (``revisions.jsonl`` beside the
        products) and wakes the live-update streams (``wait_changes``).
        """
        with self._lock:
            seq = self._seq + 1
            entry = _entry(result, datetime.now(UTC).isoformat(), seq)
            line = _revision(entry, result, (arrival or Arrival.NEW).value)
            folder = self.folder(result.event_id)
            folder.mkdir(parents=True, exist_ok=True)
            with open(folder / HISTORY_FILE, "a") as fh:
                fh.write(json.dumps(line) + "\n")
            self._seq = seq
            self._entries[result.event_id] = entry
            self._history.setdefault(result.event_id, []).append(line)
            self._changes.append((seq, result.event_id))
            self._changed.notify_all()
        return entry

    @property
    def seq(self) -> int:
        """Grows by one with every recorded result (0 for a store loaded from disk)."""
        with self._lock:
            return self._seq

    def history(self, event_id: str) -> list[dict[str, Any]]:
        """The event's published revisions, oldest first."""
        with self._lock:
            return list(self._history.get(event_id, []))

    def wait_changes(self, after: int, timeout: float) -> tuple[int, list[EventEntry] | None]:
        """Entries recorded after change ``after``, waiting up to ``timeout`` s for one.

        Returns the current change counter and the changed entries (each event once,
        at its latest state), or ``None`` when ``after`` is too old to catch up on
        (the client should reload the whole list).
        """
        with self._changed:
            if after > self._seq:  # a counter from before a restart
                return self._seq, None
            self._changed.wait_for(lambda: self._seq > after, timeout=timeout)
            seq = self._seq
            if seq <= after:
                return seq, []
            if after < seq - len(self._changes):
                return seq, None
            ids = dict.fromkeys(eid for s, eid in self._changes if s > after)
            return seq, [self._entries[eid] for eid in ids]

    def get(self, event_id: str) -> EventEntry | None:
        with self._lock:
            return self._entries.get(event_id)

    def by_folder(self, folder: str) -> EventEntry | None:
        """The entry whose products live in ``folder`` (the URL form of an event id)."""
        with self._lock:
            for entry in self._entries.values():
                if entry.folder == folder:
                    return entry
        return None

    def entries(self) -> list[EventEntry]:
        """All events, most recently updated first."""
        with self._lock:
            return sorted(self._entries.values(), key=lambda e: e.updated, reverse=True)
