"""``symae bench services``: CPU per message of the service stages, one process.

Three measurements, each the median over ``--repeats`` of CPU time of this process (all
its threads) divided by the messages handled, with the load average recorded:

1. **Kafka**: ``--records`` raw records of 12,000 int32 samples (about 65 kB of JSON
   each) produced to the embedded broker (a separate process, not counted) and consumed
   back with kafka-python, with the C ``crc32c`` package and with kafka-python's
   pure-Python CRC32C (its fallback when the package is missing, selected in-process).
2. **Ingest**: one raw record (decoded from its JSON, samples checked, StationXML
   looked up, ``preprocess_trace``) of the real II.BFO record copied to ``--stations``
   stations: *warm* (known stations and depth), *new depth* (a new event's depth: the
   P table is the precomputed grid, no TauP call), *new documents* (each station's
   StationXML fetched again for the new event: only its creation time differs) and
   *cold* (every station new: StationXML parsed, response evaluated). TauP calls made
   while timing are counted and reported.
3. **Publish**: one new revision through the publish step (store, products, public
   STF message) as the service runs it now, and with the figure rendered in the step
   as before (it is now rendered on its first HTTP request).

Figures go to ``docs/benchmarks.md`` (section "Service CPU per message").
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from symae.cli.options import positive_int

HELP = "CPU per message: Kafka produce/consume (C vs Python CRC32C), ingest, publish"
SECTION = "Service CPU per message"

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--records", type=positive_int, default=200, help="Kafka records per repeat"
    )
    parser.add_argument(
        "--stations", type=positive_int, default=32, help="ingest records per repeat"
    )
    parser.add_argument(
        "--revisions", type=positive_int, default=10, help="publish revisions per repeat"
    )
    parser.add_argument("--repeats", type=positive_int, default=5, help="timed repeats (median)")
    parser.add_argument("--no-record", action="store_true", help="print only")


def cpu_per_item(fn: Callable[[int], int], repeats: int) -> float:
    """Median CPU ms per item of ``fn(repeat) -> items handled`` (one warm-up call first)."""
    fn(-1)
    per = []
    for k in range(repeats):
        start = time.process_time()
        n = fn(k)
        per.append(1e3 * (time.process_time() - start) / n)
    return statistics.median(per)


@contextmanager
def pure_python_crc32c() -> Iterator[None]:
    """kafka-python's record batches checksummed by its pure-Python CRC32C meanwhile."""
    from kafka.record import _crc32c, default_records

    def pure(memview: memoryview) -> int:
        return int(_crc32c.crc(memview))

    saved = default_records.calc_crc32c
    default_records.calc_crc32c = pure
    try:
        yield
    finally:
        default_records.calc_crc32c = saved


# ----------------------------------------------------------------------------- kafka
def kafka_rows(n_records: int, repeats: int) -> list[tuple[str, float, float]]:
    """(CRC32C, produce ms per record, consume ms per record)."""
    import numpy as np
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.admin import KafkaAdminClient, NewTopic
    from obspy import Trace, UTCDateTime

    from services.devtools.broker import EmbeddedBroker
    from services.runtime.kafka import crc32c_accelerated
    from services.schemas import RawRecord

    rng = np.random.default_rng(0)
    trace = Trace(rng.integers(-(2**20), 2**20, 12000, dtype=np.int32))
    trace.stats.update(
        {"network": "XX", "station": "B000", "channel": "BHZ", "sampling_rate": 20.0}
    )
    trace.stats.starttime = UTCDateTime(2020, 1, 1)
    value = RawRecord.from_trace("bench", trace).model_dump_json().encode()
    rows = []
    with EmbeddedBroker() as broker:
        servers = broker.bootstrap_servers
        producer = KafkaProducer(
            bootstrap_servers=servers, acks="all", linger_ms=5, max_request_size=8 << 20
        )
        admin = KafkaAdminClient(bootstrap_servers=servers)
        topics: list[str] = []

        def produce(k: int) -> int:
            topic = f"bench-{len(topics)}"
            admin.create_topics([NewTopic(topic, 1, 1)])
            topics.append(topic)
            for i in range(n_records):
                producer.send(topic, key=str(i).encode(), value=value)
            producer.flush()
            return n_records

        def consume(k: int) -> int:
            consumer = KafkaConsumer(bootstrap_servers=servers, enable_auto_commit=False)
            try:
                part = TopicPartition(topics[k - repeats], 0)  # produced in repeat k
                consumer.assign([part])
                consumer.seek_to_beginning(part)
                got, deadline = 0, time.monotonic() + 120
                while got < n_records:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"only {got} of {n_records} records came back")
                    got += sum(len(b) for b in consumer.poll(timeout_ms=500).values())
                return got
            finally:
                consumer.close()

        for label, fast in (("C crc32c", True), ("pure Python", False)):
            with pure_python_crc32c() if not fast else _nothing():
                if fast and not crc32c_accelerated():
                    log.warning("the crc32c package is missing: both rows are pure Python")
                produced = cpu_per_item(produce, repeats)
                consumed = cpu_per_item(consume, repeats)
            rows.append((label, produced, consumed))
        producer.close()
        admin.close()
    return rows


@contextmanager
def _nothing() -> Iterator[None]:
    yield


# ---------------------------------------------------------------------------- ingest
def ingest_rows(n_stations: int, repeats: int) -> tuple[list[tuple[str, float]], int]:
    """(case, CPU ms per record) and the TauP calls made while timing."""
    import numpy as np
    import obspy
    import obspy.taup.tau

    from services.devtools.replay import stationxml_of
    from services.ingest.records import Inventories, decode_record
    from services.schemas import RawRecord
    from symae.data.arrivals import arrival_table
    from symae.data.events import Origin
    from symae.data.preprocess import PreprocessConfig, preprocess_trace
    from symae.data.reference import example_event_dir
    from symae.data.response import FILTERS

    folder = example_event_dir()
    z = obspy.read(str(folder / "*BHZ*.mseed"))[0]
    base = obspy.read_inventory(str(folder / "II.BFO.xml")).select(channel="BHZ")
    p = obspy.UTCDateTime("2018-01-23T09:43:14")
    raw = z.slice(p - 300, p + 300)
    stations = []
    for i, dlon in enumerate(np.linspace(-3, 3, n_stations)):
        inv = base.copy()
        sta = inv[0][0]
        sta.code = f"B{i:03d}"
        for item in (sta, *sta):
            item.longitude = float(item.longitude) + float(dlon)
        tr = raw.copy()
        tr.stats.station = sta.code
        stations.append((tr, inv))

    def messages(fetched: int) -> list[bytes]:
        """The stations' records as ingest receives them; documents created at ``fetched``."""
        out = []
        for tr, inv in stations:
            inv.created = obspy.UTCDateTime(2020, 1, 1) + fetched
            xml = stationxml_of(inv, tr.id)
            out.append(RawRecord.from_trace("ev", tr, stationxml=xml).model_dump_json().encode())
        return out

    config = PreprocessConfig()
    state: dict[str, Any] = {"inventories": Inventories()}
    taup_calls = [0]
    travel_times = obspy.taup.tau.TauPyModel.get_travel_times

    def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        taup_calls[0] += 1
        return travel_times(self, *args, **kwargs)

    def ingest(batch: list[bytes], depth_km: float) -> int:
        origin = Origin("ev", "2018-01-23T09:31:40.9Z", 56.046, -149.073, depth_km, 7.9)
        for value in batch:
            record = RawRecord.model_validate_json(value)
            trace = decode_record(record, 2_000_000)
            inventory = state["inventories"].for_record(record)
            preprocess_trace(trace, inventory, origin, config)
        return len(batch)

    same = messages(0)
    refetched = {k: messages(k + 10) for k in range(-1, repeats)}

    def cold(k: int) -> int:
        state["inventories"] = Inventories()
        FILTERS.clear()
        arrival_table.cache_clear()
        return ingest(refetched[k], 14.1)

    cases: list[tuple[str, Callable[[int], int]]] = [
        ("warm (known stations, known depth)", lambda k: ingest(same, 14.1)),
        ("new depth (known stations)", lambda k: ingest(same, 30.0 + 7.0 * k)),
        (
            "new documents (StationXML fetched again) and new depth",
            lambda k: ingest(refetched[k], 200.0 + k),
        ),
        ("cold (every station new: parse, evalresp)", cold),
    ]
    rows = []
    obspy.taup.tau.TauPyModel.get_travel_times = counted
    try:
        for label, fn in cases[:3]:
            rows.append((label, cpu_per_item(fn, repeats)))
        calls = taup_calls[0]
        rows.append((cases[3][0], cpu_per_item(cases[3][1], repeats)))
    finally:
        obspy.taup.tau.TauPyModel.get_travel_times = travel_times
    return rows, calls


# --------------------------------------------------------------------------- publish
def bench_result(event_id: str, revision: int, n_pixels: int = 16) -> Any:
    """A complete result of ``n_pixels`` pixels with 192-sample STFs (a Gaussian pulse)."""
    import numpy as np

    from symae.extract.result import (
        EventQuality,
        ExtractionResult,
        ModelInfo,
        OriginInfo,
        PixelQuality,
        PixelResult,
        Stf,
        TraceScore,
    )

    t = -92.0 + np.arange(192.0)
    pulse = np.exp(-(((t - 10.0 - revision) / 4.0) ** 2))
    stf = Stf.from_arrays(pulse, 0.1 * pulse, dt=1.0, t0=float(t[0]))
    quality = PixelQuality(envelope_std=0.1, passed=True, reconstruction_error=0.2, weight=0.5)
    return ExtractionResult(
        event_id=event_id,
        revision=revision,
        origin=OriginInfo(
            time="2018-01-23T09:31:40.5Z",
            latitude=56.0,
            longitude=-149.2,
            depth_km=21.0,
            magnitude=7.9,
        ),
        model=ModelInfo(name="bench", version="1", provider="CPUExecutionProvider"),
        stf=stf,
        pixels=[
            PixelResult(
                pixel=p,
                azimuth_deg=20.0 * p,
                takeoff_deg=25.0,
                n_traces=3,
                stf=stf,
                quality=quality,
            )
            for p in range(n_pixels)
        ],
        traces=[
            TraceScore(id=f"XX.S{i}..BHZ", pixel=i % n_pixels, informativeness=0.1)
            for i in range(3 * n_pixels)
        ],
        quality=EventQuality(
            n_traces=3 * n_pixels,
            n_pixels=n_pixels,
            n_pixels_passed=n_pixels,
            reference_pixel=0,
            reconstruction_error=0.2,
            objective_start=1.0,
            objective_end=0.5,
        ),
    )


def publish_rows(n_revisions: int, repeats: int) -> list[tuple[str, float]]:
    """(case, CPU ms per revision): the publish step now, and with the figure in it."""
    from services.publish.processor import PublishProcessor
    from services.runtime import Incoming, ServiceApp, ServiceSettings

    rows = []
    with tempfile.TemporaryDirectory(prefix="symae-bench-publish-") as tmp:
        processor = PublishProcessor(Path(tmp), http_port=0)
        processor.app = ServiceApp("publish", ServiceSettings(), processor)  # metrics only
        counter = [0]

        def step(with_figure: bool) -> Callable[[int], int]:
            def run(k: int) -> int:
                for _ in range(n_revisions):
                    counter[0] += 1
                    result = bench_result("bench-event", counter[0])
                    raw = result.model_dump_json().encode()
                    msg = Incoming(
                        "results", 0, counter[0], result.event_id, result, time.time(), raw
                    )
                    processor.handle(msg)
                    if with_figure:
                        processor.store.figures.png(processor.store.folder(result.event_id))
                return n_revisions

            return run

        rows.append(
            ("publish step now (figure on its first request)", cpu_per_item(step(False), repeats))
        )
        rows.append(
            ("with the figure rendered in the step (before)", cpu_per_item(step(True), repeats))
        )
    return rows


def run(args: argparse.Namespace) -> int:
    from symae.bench.record import load_description, record

    logging.getLogger("kafka").setLevel(logging.ERROR)
    logging.getLogger("services.publish").setLevel(logging.WARNING)  # a line per revision
    load_before = load_description()
    kafka = kafka_rows(args.records, args.repeats)
    ingest, taup_calls = ingest_rows(args.stations, args.repeats)
    publish = publish_rows(args.revisions, args.repeats)
    lines = [
        f"CPU time of this process (all its threads) per message, median of {args.repeats} "
        f"repeats; the embedded broker runs in its own process and is not counted. "
        f"Load before: {load_before}; after: {load_description()}.",
        "",
        f"Kafka, {args.records} raw records of 12,000 int32 samples (65 kB JSON) per repeat:",
        "",
        "| CRC32C | produce, CPU ms per record | consume, CPU ms per record |",
        "|---|---|---|",
        *(f"| {label} | {p:.2f} | {c:.2f} |" for label, p, c in kafka),
        "",
        f"Ingest, one raw 20 Hz ten-minute II.BFO record with its StationXML, {args.stations} "
        "stations per repeat (JSON decode, checks, StationXML look-up, `preprocess_trace`); "
        f"TauP calls while timing the first three cases: {taup_calls}:",
        "",
        "| case | CPU ms per record |",
        "|---|---|",
        *(f"| {label} | {ms:.2f} |" for label, ms in ingest),
        "",
        f"Publish, {args.revisions} new revisions of one 16-pixel event per repeat:",
        "",
        "| case | CPU ms per revision |",
        "|---|---|",
        *(f"| {label} | {ms:.1f} |" for label, ms in publish),
    ]
    body = "\n".join(lines)
    command = (
        f"symae bench services --records {args.records} --stations {args.stations} "
        f"--revisions {args.revisions} --repeats {args.repeats}"
    )
    if args.no_record:
        print(body)
    else:
        record(SECTION, body, command)
    return 0
