"""``symae bench synth``: synthetic-generator throughput in events per second.

Measures, in one process on one core: the one-off cost of a TauP depth row (two rows
serve every event in a 10 km depth bin), then events per second with warm tables for
parametric sources at several station counts and for SCARDEC sources, each end to end:
records, counts, preprocessing into model traces and truth (no file output).
"""

from __future__ import annotations

import argparse
import time

HELP = "generator throughput (events/s) into docs/benchmarks.md"
SECTION = "Synthetic generator (symae bench synth)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--stations",
        type=int,
        nargs="+",
        default=[50, 100, 200],
        help="station counts to time (default 50 100 200)",
    )
    parser.add_argument("--events", type=int, default=5, help="events per timed batch (default 5)")
    parser.add_argument("--repeats", type=int, default=3, help="timed batches, median reported")
    parser.add_argument("--no-record", action="store_true", help="print only, leave docs alone")


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    import numpy as np

    from symae.bench.record import record
    from symae.data.reference import scardec_dir
    from symae.data.scardec import list_events
    from symae.synth.generator import synthesize_event
    from symae.synth.paths import PhaseTable
    from symae.synth.run import PARAMETRIC_DEFAULT_EVENTS, SynthRequest, event_rng, sources

    if args.events < 1 or args.repeats < 1:
        print("symae bench synth: --events and --repeats must be >= 1")
        return 2
    # one TauP depth row, cold (a fresh table so no row is cached)
    fresh = PhaseTable()
    row_times = []
    for k in (31, 32, 33):
        start = time.perf_counter()
        fresh.row(k)
        row_times.append(time.perf_counter() - start)
    row_s = float(np.median(row_times))

    def batch(kind: str, stations: int) -> tuple[float, float]:
        """Median wall and CPU seconds of one batch of events."""
        request = SynthRequest(
            stf=kind,
            events=args.events,
            stations=stations,
            seed=0,
            out="",
            scardec_dir=scardec_dir(),
        )
        config = replace(request.config(), n_stations=stations)
        made = list(sources(request, config))
        for i, (_, src) in enumerate(made):  # warm the TauP rows these depths need
            synthesize_event(event_rng(99, i), src, replace(config, n_stations=5))

        walls, cpus = [], []
        for _ in range(args.repeats):
            wall, cpu = time.perf_counter(), time.process_time()
            for i, (_, src) in enumerate(made):
                synthesize_event(event_rng(1, i), src, config)
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
        return float(np.median(walls)), float(np.median(cpus))

    rows = []
    for stations in args.stations:
        seconds, cpu = batch("parametric", stations)
        rows.append(_row("parametric", stations, args.events, seconds, cpu))
        print(rows[-1])
    n_scardec = len(list_events(scardec_dir(), args.events))
    seconds, cpu = batch("scardec", 100)
    rows.append(_row(f"scardec (first {n_scardec})", 100, n_scardec, seconds, cpu))
    print(rows[-1])
    body = "\n".join(
        [
            "Events per second of `synthesize_event` on one core, TauP tables warm: raw 20 Hz "
            "ten-minute records in velocity counts, plus the same records through "
            "`symae.data.preprocess` into model traces with truth (no file output). "
            f"Median of {args.repeats} batches of {args.events} events. Wall-clock rates depend on "
            "what else runs on the machine; CPU-time rates (this process only) are the steadier figure.",
            "",
            "| source | stations/event | events/s (wall) | events/s (CPU) | CPU ms/station |",
            "|---|---|---|---|---|",
            *rows,
            "",
            f"One-off: a TauP depth row ({fresh.distances.size} distances x P, pP, sP) costs {row_s:.2f} s; each "
            "10 km depth bin needs two, so a data set spanning 0-700 km pays about "
            f"{71 * row_s:.0f} s once per process (rows are cached in memory). Parametric events default to "
            f"{PARAMETRIC_DEFAULT_EVENTS} per run.",
        ]
    )
    if args.no_record:
        print(body)
    else:
        record(SECTION, body, "symae bench synth")
    return 0


def _row(label: str, stations: int, events: int, wall: float, cpu: float) -> str:
    return (
        f"| {label} | {stations} | {events / wall:.2f} | {events / cpu:.2f} | "
        f"{1e3 * cpu / events / stations:.2f} |"
    )
