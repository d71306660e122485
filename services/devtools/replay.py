"""``symae replay``: publish origins and raw records to Kafka, as a live feed would.

Three sources of events:

- ``--synthetic N --seed S``: N events of the synthetic generator (``symae.synth``),
  random sources; the true STF travels in the origin message for scoring;
- ``--scardec N``: the first N events of the SCARDEC benchmark (real STFs at their real
  hypocentres, synthetic records), truth included;
- ``--from-dir DIR`` (repeatable): real files in one of two layouts: a folder of one
  event (waveforms: miniSEED, SAC, anything ObsPy reads; StationXML; one QuakeML event),
  or the folder ``symae data synth --mseed-dir`` writes (``waveforms/<event_id>.mseed``,
  ``stations.xml``, ``events.xml``), one event per waveform file.

Each event's origin is published and acknowledged before its records, so ingest
always sees the origin first within a partition (both are keyed by event id). Without
``--speed`` everything goes out as fast as the broker takes it; with ``--speed F``
records are paced at F times real time: a record is published when it would be
complete (its end time) relative to the origin time, and events start
``--interval`` seconds apart.
"""

from __future__ import annotations

import heapq
import io
import json
import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from services.runtime.settings import (
    ORIGINS,
    RAW,
    ServiceSettings,
)
from symae.errors import SymaeError

if TYPE_CHECKING:
    from obspy import Inventory, Stream
    from obspy.core.event import Event

    from services.schemas import OriginMessage, RawRecord, TruthSTF
    from symae.data.dataset import EventData

log = logging.getLogger(__name__)


WAVEFORM_SUFFIXES = {".mseed", ".miniseed", ".ms", ".sac", ".seed", ".msd"}


@dataclass
class ReplayEvent:
    """One event ready to publish: its origin and its records (with their end times)."""

    origin: OriginMessage
    records: list[RawRecord]
    # seconds after the origin time at which each record is complete
    ready_after_s: list[float] = field(default_factory=list)


@dataclass
class ReplaySummary:
    """What a replay published, per event (used by tests, the demo and benchmarks)."""

    events: dict[str, int] = field(default_factory=dict)  # event id -> records sent
    origins: int = 0
    records: int = 0
    bytes: int = 0
    seconds: float = 0.0
    failed: int = 0  # messages the broker did not acknowledge (not counted above)

    def to_dict(self) -> dict[str, Any]:
        return {
            "origins": self.origins,
            "records": self.records,
            "failed": self.failed,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
            "events": self.events,
        }


# ----------------------------------------------------------------------- building events
def stationxml_of(inventory: Inventory, seed_id: str) -> bytes:
    """The StationXML of one channel (what a record carries so ingest needs no inventory)."""
    net, sta, loc, cha = seed_id.split(".")
    selected = inventory.select(network=net, station=sta, location=loc, channel=cha)
    if not selected.networks:
        raise ValueError(f"channel {seed_id} is not in the inventory")
    buf = io.BytesIO()
    selected.write(buf, format="STATIONXML")
    return buf.getvalue()


def event_from_stream(
    origin: OriginMessage, stream: Stream, inventory: Inventory | None, compress: bool = False
) -> ReplayEvent:
    """Records of ``stream`` (one per trace), each carrying its channel's StationXML."""
    from services.schemas import RawRecord

    origin_time = origin.time.timestamp()
    records, ready = [], []
    xml_cache: dict[str, bytes | None] = {}
    for trace in sorted(stream, key=lambda t: (t.stats.endtime, t.id)):
        if inventory is not None and trace.id not in xml_cache:
            try:
                xml_cache[trace.id] = stationxml_of(inventory, trace.id)
            except ValueError:
                log.warning("%s: no StationXML for %s; sent without", origin.event_id, trace.id)
                xml_cache[trace.id] = None
        records.append(
            RawRecord.from_trace(
                origin.event_id, trace, stationxml=xml_cache.get(trace.id), compress=compress
            )
        )
        ready.append(max(0.0, trace.stats.endtime.timestamp - origin_time))
    return ReplayEvent(origin=origin, records=records, ready_after_s=ready)


def truth_of(event_data: EventData) -> TruthSTF:
    """The generator's true STF as the origin message carries it."""
    from services.schemas import BinaryArray, TruthSTF
    from symae.contract import DataContract

    contract = DataContract()
    return TruthSTF(
        stf=BinaryArray.from_numpy(np.asarray(event_data.truth_stf, dtype=np.float32)),
        t0=contract.t0,
        dt=contract.dt,
        attrs=json.loads(json.dumps(event_data.truth_attrs, default=_plain)),
    )


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def generated_events(
    stf: str, n: int, seed: int, n_stations: int, scardec_root: Path | None = None
) -> Iterator[ReplayEvent]:
    """Events of the synthetic generator, exactly as ``symae data synth`` makes them.

    ``stf`` is ``"parametric"`` (random sources) or ``"scardec"`` (the first ``n``
    SCARDEC events in origin-time order); event ``i`` depends only on (``seed``, ``i``).
    """
    from services.schemas import OriginMessage
    from symae.synth.generator import synthesize_event
    from symae.synth.run import SynthRequest, sources

    request = SynthRequest(
        stf=stf, events=n, stations=n_stations, seed=seed, out="-", scardec_dir=scardec_root
    )
    config = request.config()
    for rng, source in sources(request, config):
        event = synthesize_event(rng, source, config)
        origin = OriginMessage.from_origin(source.origin, truth=truth_of(event.event_data))
        yield event_from_stream(origin, event.stream, event.inventory)


def synthetic_events(n: int, seed: int, n_stations: int = 30) -> Iterator[ReplayEvent]:
    """``n`` synthetic events with random sources (ids ``synth_s<seed>_<i>``)."""
    return generated_events("parametric", n, seed, n_stations)


def scardec_events(n: int, seed: int, n_stations: int = 30) -> Iterator[ReplayEvent]:
    """The first ``n`` SCARDEC benchmark events (real STFs, synthetic records)."""
    from symae.data.reference import scardec_dir

    return generated_events("scardec", n, seed, n_stations, scardec_root=scardec_dir())


def origin_from_quakeml(event: Event) -> OriginMessage:
    """The origin message of an ObsPy event, through ``symae``'s one conversion
    (``Origin.from_obspy``: hypocentre, magnitude, moment tensor, event id)."""
    from services.schemas import OriginMessage
    from symae.data.events import Origin

    return OriginMessage.from_origin(Origin.from_obspy(event))


class ReplayLayoutError(SymaeError, ValueError):
    """A ``--from-dir`` folder in neither layout replay reads."""


def folder_layout(folder: Path) -> str:
    """``"synth"`` (``symae data synth --mseed-dir``), ``"event"`` (one event's files), or raise."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ReplayLayoutError(f"{folder}: no such folder")
    synth = [folder / "waveforms", folder / "stations.xml", folder / "events.xml"]
    if synth[0].is_dir() and synth[1].is_file() and synth[2].is_file():
        if not any(p.suffix.lower() in WAVEFORM_SUFFIXES for p in synth[0].iterdir()):
            raise ReplayLayoutError(f"{synth[0]}: no waveform file")
        return "synth"
    files = [p for p in folder.iterdir() if p.is_file()]
    has_waveforms = any(p.suffix.lower() in WAVEFORM_SUFFIXES for p in files)
    has_xml = any(p.suffix.lower() == ".xml" for p in files)
    if has_waveforms and has_xml:
        return "event"
    raise ReplayLayoutError(
        f"{folder}: neither one event's files (waveforms {'/'.join(sorted(WAVEFORM_SUFFIXES))} "
        "with StationXML and QuakeML) nor a 'symae data synth --mseed-dir' folder "
        "(waveforms/, stations.xml, events.xml)"
    )


def directory_events(folder: Path) -> Iterator[ReplayEvent]:
    """Every event of a ``--from-dir`` folder, in either layout (:func:`folder_layout`)."""
    if folder_layout(folder) == "event":
        yield directory_event(folder)
        return
    from obspy import read, read_events, read_inventory

    inventory = read_inventory(str(folder / "stations.xml"), format="STATIONXML")
    catalog = read_events(str(folder / "events.xml"), format="QUAKEML")
    origins = {}
    for event in catalog:
        origin = origin_from_quakeml(event)
        origins[origin.event_id] = origin
    for path in sorted((folder / "waveforms").iterdir()):
        if path.suffix.lower() not in WAVEFORM_SUFFIXES:
            continue
        found = origins.get(path.stem)
        if found is None:
            raise ReplayLayoutError(f"{path}: no event {path.stem!r} in {folder / 'events.xml'}")
        yield event_from_stream(found, read(str(path)), inventory)


def directory_event(folder: Path) -> ReplayEvent:
    """One event from a folder: waveforms + StationXML + one QuakeML file.

    Files are looked for in the folder and its subfolders (``waveforms/``, as in the
    bundled ``symae/reference_data/chile_2010-03-04``).
    """
    from obspy import Inventory, Stream, read, read_events, read_inventory

    stream, inventory, events = Stream(), Inventory(networks=[], source="symae replay"), []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path.suffix.lower() in WAVEFORM_SUFFIXES:
            stream += read(str(path))
        elif path.suffix.lower() == ".xml":
            head = path.read_text(errors="replace")[:2000]
            if "<FDSNStationXML" in head:
                inventory.extend(read_inventory(str(path), format="STATIONXML").networks)
            elif "quakeml" in head.lower():
                events.extend(read_events(str(path), format="QUAKEML"))
    if len(events) != 1:
        raise ValueError(f"{folder}: expected one QuakeML event, found {len(events)}")
    if not stream:
        raise ValueError(f"{folder}: no waveform files ({', '.join(sorted(WAVEFORM_SUFFIXES))})")
    origin = origin_from_quakeml(events[0])
    return event_from_stream(origin, stream, inventory if inventory.networks else None)


# ----------------------------------------------------------------------- publishing
def _acked(
    summary: ReplaySummary, event_id: str, size: int, metrics: Any, topic: str, _meta: Any
) -> None:
    summary.records += 1
    summary.events[event_id] = summary.events.get(event_id, 0) + 1
    summary.bytes += size
    if metrics is not None:
        metrics.record_out(topic)


def _not_acked(summary: ReplaySummary, event_id: str, exc: BaseException) -> None:
    summary.failed += 1
    log.error("record of %s not acknowledged: %s", event_id, exc)


def schedule(
    events: Iterable[ReplayEvent], speed: float | None, interval_s: float
) -> Iterator[tuple[float, ReplayEvent, int]]:
    """(due seconds after start, event, record index or -1 for the origin) in due order.

    Without ``speed`` everything is due at once (events in order, origin first).
    """
    if speed is None:
        for event in events:
            yield 0.0, event, -1
            for i in range(len(event.records)):
                yield 0.0, event, i
        return
    heap: list[tuple[float, int, int, int]] = []
    table: list[ReplayEvent] = []
    for k, event in enumerate(events):
        table.append(event)
        start = k * interval_s
        heapq.heappush(heap, (start, k, -1, -1))
        for i, ready in enumerate(event.ready_after_s):
            heapq.heappush(heap, (start + ready / speed, k, i, i))
    while heap:
        due, k, _, i = heapq.heappop(heap)
        yield due, table[k], i


def publish(
    settings: ServiceSettings,
    events: Iterable[ReplayEvent],
    speed: float | None = None,
    interval_s: float = 0.0,
    metrics: Any | None = None,
) -> ReplaySummary:
    """Publish ``events`` (origins acknowledged before their records); returns a summary.

    Every send's acknowledgement is checked: the summary (and the manifest written from
    it) counts acknowledged messages only, and ``failed`` the others (an event whose
    origin was not acknowledged sends no records)."""
    from services.runtime.kafka import connect_admin, ensure_topics, make_producer

    admin = connect_admin(settings)
    try:
        ensure_topics(admin, settings, [ORIGINS, RAW])
    finally:
        admin.close()
    producer = make_producer(settings)
    summary = ReplaySummary()
    skipped: set[str] = set()  # events whose origin was not acknowledged
    started = time.monotonic()
    origins_topic, raw_topic = settings.topic(ORIGINS), settings.topic(RAW)
    try:
        for due, event, index in schedule(events, speed, interval_s):
            wait = started + due - time.monotonic()
            if wait > 0:
                producer.flush()
                time.sleep(wait)
            key = event.origin.event_id.encode()
            event_id = event.origin.event_id
            if index < 0:
                data = event.origin.model_dump_json().encode()
                try:
                    producer.send(origins_topic, key=key, value=data).get(timeout=60)
                except Exception as exc:  # noqa: BLE001 - counted and reported
                    log.error("origin of %s not acknowledged: %s", event_id, exc)
                    summary.failed += 1
                    skipped.add(event_id)
                    continue
                summary.origins += 1
                summary.events.setdefault(event_id, 0)
                summary.bytes += len(data)
                if metrics is not None:
                    metrics.record_out(origins_topic)
            elif event_id in skipped:
                summary.failed += 1
            else:
                data = event.records[index].model_dump_json().encode()
                try:
                    future = producer.send(raw_topic, key=key, value=data)
                except Exception as exc:  # noqa: BLE001
                    log.error("record of %s not sent: %s", event_id, exc)
                    summary.failed += 1
                    continue
                future.add_callback(_acked, summary, event_id, len(data), metrics, raw_topic)
                future.add_errback(_not_acked, summary, event_id)
        producer.flush()
    finally:
        producer.close(timeout=10)
    summary.seconds = time.monotonic() - started
    return summary
