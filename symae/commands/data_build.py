"""``symae data build``: real records (any ObsPy format) -> HDF5 data set."""

from __future__ import annotations

import argparse
import csv
import sys
from typing import Any

HELP = "preprocess waveform files + StationXML + event file into an HDF5 data set"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--waveforms",
        nargs="+",
        required=True,
        metavar="PATH",
        help="waveform files or folders (searched recursively)",
    )
    parser.add_argument(
        "--inventory",
        nargs="+",
        required=True,
        metavar="FILE",
        help="StationXML file(s) with coordinates and responses",
    )
    parser.add_argument(
        "--events",
        required=True,
        metavar="FILE",
        help="QuakeML (or CMTSOLUTION, NDK ...) with one or more events",
    )
    parser.add_argument(
        "--out", required=True, metavar="FILE.h5", help="data set to create or append to"
    )
    parser.add_argument("--snr-min", type=float, help="SNR threshold (default 2)")
    parser.add_argument(
        "--pre-filt",
        type=float,
        nargs=4,
        metavar="F",
        help="pre-filter corners in Hz (default 0.004 0.01 1 2)",
    )
    parser.add_argument(
        "--water-level", type=float, help="deconvolution water level, dB (default 60)"
    )
    parser.add_argument("--taup-model", help="TauP model (default iasp91)")
    parser.add_argument("--min-distance", type=float, help="degrees (default 30)")
    parser.add_argument("--max-distance", type=float, help="degrees (default 90)")
    parser.add_argument(
        "--rejections",
        metavar="FILE.csv",
        help="also write every rejection (source, reason, message) here",
    )


def config_from_args(args: argparse.Namespace):
    """PreprocessConfig with the defaults, overridden by the flags given."""
    from dataclasses import replace

    from symae.data.preprocess import PreprocessConfig

    config = PreprocessConfig()
    contract_changes = {
        key: value
        for key, value in (
            ("taup_model", args.taup_model),
            ("min_distance_deg", args.min_distance),
            ("max_distance_deg", args.max_distance),
        )
        if value is not None
    }
    changes: dict[str, Any] = {
        key: value
        for key, value in (
            ("snr_min", args.snr_min),
            ("pre_filt", tuple(args.pre_filt) if args.pre_filt else None),
            ("water_level", args.water_level),
        )
        if value is not None
    }
    if contract_changes:
        changes["contract"] = replace(config.contract, **contract_changes)
    return replace(config, **changes)


def run(args: argparse.Namespace) -> int:
    from symae.data.build import build_from_files
    from symae.data.dataset import DatasetError

    try:
        config = config_from_args(args)
        report = build_from_files(args.waveforms, args.inventory, args.events, args.out, config)
    except (ValueError, DatasetError) as exc:
        print(f"symae data build: {exc}", file=sys.stderr)
        return 2
    if args.rejections:
        with open(args.rejections, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["source", "reason", "message"])
            for r in report.rejections:
                writer.writerow([r.source, r.reason.value, r.message])
    print(report.summary())
    print(f"data set: {args.out}")
    if not report.events_written and not report.events_skipped:
        print("symae data build: no event in the event file", file=sys.stderr)
        return 1
    if report.traces_accepted == 0 and not any(
        why.startswith("already") for why in report.events_skipped.values()
    ):
        print("symae data build: no trace passed preprocessing", file=sys.stderr)
        return 1
    return 0
