"""Ablation driver: score chosen methods on hard-mode validation or benchmark events.

Like ``symae evaluate --model none --methods ...`` but also records each event's median
trace SNR and station count (for the SNR-band breakdown of symae.evaluate.ablation), and
prints the paired table when several score files are given.

    python scripts/ablation.py score --methods symae-physics symae-physics-refined \
        --set validation --out runs/physics/val_cd.json [--stations 30] [--broken-share 0.5]
    python scripts/ablation.py table runs/physics/val_ab/scores.json runs/physics/val_cd.json \
        --baseline inversion --methods inversion inversion-virtual symae-physics symae-physics-refined

``cache --design factorial`` writes every benchmark (or validation) event once under one
cell of a stations x broken-share design, assigned by the event's index i:
``FACTORIAL_STATIONS[i % 3]`` stations and ``FACTORIAL_BROKEN[(i // 3) % 4]`` broken
stations, so each of the 12 cells holds about 1/12 of the events and every event is run
once (the breakdowns by station count and broken share are then over disjoint events).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np

FACTORIAL_STATIONS = (10, 30, 100)
FACTORIAL_BROKEN = (0.0, 0.1, 0.3, 0.5)


def generator_args(args: argparse.Namespace) -> argparse.Namespace:
    """The arguments of ``symae evaluate``'s event generators for this script's options."""
    return argparse.Namespace(
        seed=None,
        limit=args.limit,
        stations=args.stations,
        snr=(3.0, 30.0),
        mode="hard",
        broken_share=args.broken_share,
        directivity="both",
        scardec=None,
    )


def score(args: argparse.Namespace) -> None:
    from symae.commands.evaluate import synthetic_scardec_events, validation_events
    from symae.contract import DataContract
    from symae.evaluate.methods import available_methods
    from symae.evaluate.scardec_benchmark import score_result

    methods = {k: v for k, v in available_methods().items() if k in args.methods}
    ns = generator_args(args)
    contract = DataContract()
    source = (
        validation_events(ns, contract)
        if args.set == "validation"
        else synthetic_scardec_events(ns, contract)
    )
    if args.dataset:  # the same events, written once by `cache`
        from symae.data.dataset import Dataset

        ds = Dataset(args.dataset)
        ids = ds.event_ids()[: args.limit]
        source = (ds.event(i) for k, i in enumerate(ids) if k % args.shard[1] == args.shard[0])
    out = []
    for event in source:
        start = time.perf_counter()
        s = score_result(event, None, methods, highpass_hz=contract.highpass_hz)
        d = s.to_dict()
        snr = np.concatenate([np.asarray(g.fields["snr"]) for g in event.groups.values()])
        d["median_snr"] = float(np.median(snr))
        d["n_stations"] = int(event.truth_attrs.get("n_stations_design", args.stations))
        out.append(d)
        logging.info(
            "%s: %s (%.1f s)",
            event.event_id,
            {k: round(v.skill, 3) for k, v in s.metrics.items() if k in methods},
            time.perf_counter() - start,
        )
        Path(args.out).write_text(
            json.dumps(
                {"setup": {k: v for k, v in vars(args).items() if k != "func"}, "events": out},
                indent=1,
            )
            + "\n"
        )


def cache(args: argparse.Namespace) -> None:
    """Write the validation (or benchmark) events once, to score several methods on them."""
    from symae.commands.evaluate import synthetic_scardec_events, validation_events
    from symae.contract import DataContract
    from symae.data.dataset import DatasetWriter

    ns = generator_args(args)
    contract = DataContract()
    if args.design == "factorial":
        source = factorial_events(args, ns, contract)
    else:
        source = (
            validation_events(ns, contract)
            if args.set == "validation"
            else synthetic_scardec_events(ns, contract)
        )
    with DatasetWriter(
        args.out, contract, {"generator": "scripts/ablation.py cache", **vars(ns)}
    ) as out:
        for event in source:
            out.write_event(event)


def factorial_cell(i: int) -> dict[str, float]:
    """The stations x broken-share cell of the i-th event."""
    return {"stations": FACTORIAL_STATIONS[i % 3], "broken_share": FACTORIAL_BROKEN[(i // 3) % 4]}


def factorial_events(args: argparse.Namespace, ns: argparse.Namespace, contract):
    """Every event of the set once, under the stations x broken-share cell of its index."""
    from symae.commands.evaluate import synthetic_scardec_events, validation_events

    make = validation_events if args.set == "validation" else synthetic_scardec_events
    for i, event in enumerate(make(ns, contract, cell=factorial_cell)):
        event.truth_attrs["n_stations_design"] = factorial_cell(i)["stations"]
        yield event


def table(args: argparse.Namespace) -> None:
    from symae.evaluate.ablation import load_events
    from symae.evaluate.ablation import table as make_table

    print(make_table(load_events(args.files), args.methods, args.baseline))


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("score")
    p.add_argument("--methods", nargs="+", required=True)
    p.add_argument("--set", choices=("validation", "benchmark"), default="validation")
    p.add_argument("--stations", type=int, default=100)
    p.add_argument("--broken-share", type=float, default=None)
    p.add_argument("--limit", type=int, default=None)
    p.add_argument(
        "--dataset", default=None, help="score the events of this HDF5 file (from `cache`)"
    )
    p.add_argument(
        "--shard",
        type=int,
        nargs=2,
        default=(0, 1),
        metavar=("I", "N"),
        help="score only the events k of --dataset with k %% N == I (parallel runs)",
    )
    p.add_argument("--out", required=True)
    p.set_defaults(func=score)
    c = sub.add_parser("cache")
    c.add_argument("--set", choices=("validation", "benchmark"), default="validation")
    c.add_argument("--stations", type=int, default=100)
    c.add_argument("--broken-share", type=float, default=None)
    c.add_argument("--limit", type=int, default=None)
    c.add_argument("--design", choices=("fixed", "factorial"), default="fixed")
    c.add_argument("--out", required=True)
    c.set_defaults(func=cache)
    t = sub.add_parser("table")
    t.add_argument("files", nargs="+")
    t.add_argument("--methods", nargs="+", required=True)
    t.add_argument("--baseline", default="inversion")
    t.set_defaults(func=table)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
