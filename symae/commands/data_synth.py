"""``symae data synth``: synthetic teleseismic events -> HDF5 (and optionally raw files)."""

from __future__ import annotations

import argparse
import logging
import sys

from symae.cli.options import finite_float, nonnegative_float, positive_int

HELP = "synthesise teleseismic P records with ground truth into an HDF5 data set"

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from symae.data.reference import scardec_dir

    parser.add_argument(
        "--stf",
        choices=("parametric", "scardec"),
        default="parametric",
        help="source time functions: random episodes or real SCARDEC ones",
    )
    parser.add_argument(
        "--events",
        type=positive_int,
        default=None,
        help="number of events (scardec: the first N in date order; default all "
        "118; parametric: default 10)",
    )
    parser.add_argument(
        "--stations", type=positive_int, default=100, help="stations per event (default 100)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed; same seed, same output")
    parser.add_argument(
        "--out", required=True, metavar="FILE.h5", help="data set to create or append to"
    )
    parser.add_argument(
        "--mseed-dir",
        metavar="DIR",
        help="also write miniSEED (velocity counts), stations.xml and events.xml here",
    )
    parser.add_argument(
        "--scardec-dir",
        default=str(scardec_dir()),
        help="folder of SCARDEC FCTs_* event folders (default: %(default)s)",
    )
    parser.add_argument(
        "--snr",
        type=finite_float,
        nargs=2,
        default=(3.0, 30.0),
        metavar=("MIN", "MAX"),
        help="SNR range, log-uniform, as preprocessing measures it (default 3 30)",
    )
    parser.add_argument(
        "--no-directivity", action="store_true", help="no azimuth-dependent stretch of the STF"
    )
    parser.add_argument(
        "--depth",
        type=finite_float,
        nargs=2,
        default=(10.0, 650.0),
        metavar=("MIN", "MAX"),
        help="parametric source depth range, km (default 10 650)",
    )
    parser.add_argument(
        "--mw",
        type=finite_float,
        nargs=2,
        default=(6.0, 8.0),
        metavar=("MIN", "MAX"),
        help="parametric magnitude range (default 6 8)",
    )
    parser.add_argument(
        "--time-error",
        type=nonnegative_float,
        default=2.0,
        metavar="S",
        help="std of the arrival-time errors, s (default 2)",
    )
    parser.add_argument(
        "--mode",
        choices=("easy", "hard"),
        default="easy",
        help="hard: 3-D anomalies, water reverberation, near-source coda, broken "
        "stations, SNR from 2.5 and catalogue errors in the given origin "
        "(docs/synthetic-data.md)",
    )
    parser.add_argument(
        "--broken-share",
        type=float,
        default=None,
        metavar="F",
        help="hard mode: share of broken stations per event (default: drawn in 0-0.3)",
    )


def run(args: argparse.Namespace) -> int:
    from symae.synth.run import SynthRequest, synthesize_dataset

    try:
        request = SynthRequest(
            stf=args.stf,
            events=args.events,
            stations=args.stations,
            seed=args.seed,
            out=args.out,
            mseed_dir=args.mseed_dir,
            scardec_dir=args.scardec_dir,
            snr_range=tuple(args.snr),
            directivity=not args.no_directivity,
            depth_range_km=tuple(args.depth),
            mw_range=tuple(args.mw),
            time_error_s=args.time_error,
            mode=args.mode,
            broken_share=args.broken_share,
        )
        summary = synthesize_dataset(request)
    except ValueError as exc:
        print(f"symae data synth: {exc}", file=sys.stderr)
        return 2
    print(summary)
    return 0
