"""``symae bench preprocess``: real-record preprocessing throughput.

Unit of work: one raw 20 Hz ten-minute vertical record (the real II.BFO record of the
2018 Gulf of Alaska event, cut 5 minutes either side of the predicted P) through
``preprocess_trace`` to a 192-sample model trace. Stations are copies of II.BFO spread
over 6 degrees of longitude, each with its own response object, so that:

- *cold* (a build: every record a new station) pays for every response evaluation and
  every TauP distance node the stations touch (both caches emptied before each repeat);
- *warm* (a streaming service seeing known stations again) finds both cached.

Per-core figures divide records by CPU seconds of this single-threaded process.
"""

from __future__ import annotations

import argparse
import os
import time

HELP = "time real-record preprocessing (raw 20 Hz ten-minute records per second per core)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--records", type=int, default=64, help="records per repeat (default 64)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats (default 5)")
    parser.add_argument(
        "--no-record", action="store_true", help="print only; do not rewrite docs/benchmarks.md"
    )


def _records(n: int):
    """n (trace, inventory) pairs: ten-minute II.BFO BHZ records from n distinct stations."""
    import numpy as np
    import obspy

    from symae.data.reference import example_event_dir

    folder = example_event_dir()
    z = obspy.read(str(folder / "*BHZ*.mseed"))[0]
    base_inv = obspy.read_inventory(str(folder / "II.BFO.xml")).select(channel="BHZ")
    p = obspy.UTCDateTime("2018-01-23T09:43:14")
    raw = z.slice(p - 300, p + 300)
    pairs = []
    for i, dlon in enumerate(np.linspace(-3, 3, n)):
        inv = base_inv.copy()
        sta = inv[0][0]
        sta.code = f"B{i:03d}"
        sta.longitude = float(sta.longitude) + float(dlon)
        for cha in sta:
            cha.longitude = float(cha.longitude) + float(dlon)
        tr = raw.copy()
        tr.stats.station = sta.code
        pairs.append((tr, inv))
    return pairs


def _measure(fn, repeats: int) -> tuple[float, float]:
    """Median wall and CPU seconds of fn() over repeats (after one warm-up call)."""
    import statistics

    fn()
    walls, cpus = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus)


def run(args: argparse.Namespace) -> int:
    import obspy

    from symae.bench.record import record
    from symae.data.arrivals import arrival_table
    from symae.data.events import Origin
    from symae.data.preprocess import PreprocessConfig, preprocess_trace
    from symae.data.response import FILTERS

    if args.records < 1 or args.repeats < 1:
        raise SystemExit(
            f"--records and --repeats must be >= 1, got {args.records}, {args.repeats}"
        )
    pairs = _records(args.records)
    origin = Origin("gulf_of_alaska_2018", "2018-01-23T09:31:40.9Z", 56.046, -149.073, 14.1, 7.9)
    config = PreprocessConfig()

    def process_all() -> None:
        for tr, inv in pairs:
            preprocess_trace(tr, inv, origin, config)

    def cold() -> None:
        FILTERS.clear()
        arrival_table.cache_clear()
        process_all()

    load = os.getloadavg()[0]
    rows = []
    for name, fn in (
        ("cold (build: new stations)", cold),
        ("warm (service: known stations)", process_all),
    ):
        wall, cpu = _measure(fn, args.repeats)
        rows.append((name, wall, cpu))
        print(
            f"{name}: {args.records / wall:.1f} records/s wall, {args.records / cpu:.1f} per CPU-s"
        )

    body = (
        f"Raw 20 Hz ten-minute vertical records (II.BFO, 12,000 samples, {args.records} stations "
        f"over 6 degrees of longitude) through `preprocess_trace` to 192-sample displacement "
        f"traces; median of {args.repeats} repeats, one process, ObsPy {obspy.__version__}.\n\n"
        "| case | CPU ms per record | records/s per core (CPU time) | records/s (wall clock) |\n"
        "|---|---|---|---|\n"
    )
    for name, wall, cpu in rows:
        body += (
            f"| {name} | {1e3 * cpu / args.records:.2f} | {args.records / cpu:.0f} | "
            f"{args.records / wall:.0f} |\n"
        )
    body += (
        "\nCold empties the response-filter and TauP caches before each repeat (every station "
        "new, as in a build); warm keeps them (a service seeing the same stations again). "
        "Response evaluation (evalresp) is about two thirds of the cold cost. "
        f"Load average at the start: {load:.1f}; wall-clock rates drop when other work shares "
        "the cores, the CPU-time rate is the per-core figure.\n"
    )
    if not args.no_record:
        extra = f" --records {args.records} --repeats {args.repeats}"
        record("Preprocessing", body, "symae bench preprocess" + extra)
    return 0
