"""Ablation driver: score chosen methods on hard-mode validation or benchmark events.

Like ``symae evaluate --model none --methods ...`` but also records each event's median
trace SNR and station count (for the SNR-band breakdown of symae.evaluate.ablation), and
prints the paired table when several score files are given.

    python scripts/ablation.py score --methods symae-physics symae-physics-refined \
        --set validation --out runs/physics/val_cd.json [--stations 30] [--broken-share 0.5]
    python scripts/ablation.py table runs/physics/val_ab/scores.json runs/physics/val_cd.json \
        --baseline inversion --methods inversion inversion-virtual symae-physics symae-physics-refined
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np


def _refined(weight: float):
    def method(event):
        from symae.extract.physics import physics_refined_stf

        return physics_refined_stf(event, prior_weight=weight)

    return method


def score(args: argparse.Namespace) -> None:
    from symae.commands.evaluate import synthetic_scardec_events, validation_events
    from symae.contract import DataContract
    from symae.evaluate.methods import available_methods
    from symae.evaluate.scardec_benchmark import score_result

    methods = {k: v for k, v in available_methods().items() if k in args.methods}
    for w in args.refined_weights:  # the refined variant at other prior weights (choosing it)
        methods[f"symae-physics-refined-w{w:g}"] = _refined(w)
    ns = argparse.Namespace(
        seed=None,
        limit=args.limit,
        stations=args.stations,
        snr=(3.0, 30.0),
        mode="hard",
        broken_share=args.broken_share,
        directivity="both",
        scardec=None,
    )
    contract = DataContract()
    source = (
        validation_events(ns, contract)
        if args.set == "validation"
        else synthetic_scardec_events(ns, contract)
    )
    if args.dataset:  # the same events, written once by `cache`
        from symae.data.dataset import Dataset

        ds = Dataset(args.dataset)
        source = (ds.event(i) for i in ds.event_ids()[: args.limit])
    out = []
    for event in source:
        start = time.perf_counter()
        s = score_result(event, None, methods, highpass_hz=contract.highpass_hz)
        d = s.to_dict()
        snr = np.concatenate([np.asarray(g.fields["snr"]) for g in event.groups.values()])
        d["median_snr"] = float(np.median(snr))
        d["n_stations"] = args.stations
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

    ns = argparse.Namespace(
        seed=None,
        limit=args.limit,
        stations=args.stations,
        snr=(3.0, 30.0),
        mode="hard",
        broken_share=args.broken_share,
        directivity="both",
        scardec=None,
    )
    contract = DataContract()
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
    p.add_argument("--refined-weights", type=float, nargs="*", default=[])
    p.add_argument(
        "--dataset", default=None, help="score the events of this HDF5 file (from `cache`)"
    )
    p.add_argument("--out", required=True)
    p.set_defaults(func=score)
    c = sub.add_parser("cache")
    c.add_argument("--set", choices=("validation", "benchmark"), default="validation")
    c.add_argument("--stations", type=int, default=100)
    c.add_argument("--broken-share", type=float, default=None)
    c.add_argument("--limit", type=int, default=None)
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
