"""``symae validate``: truth-free checks of one recorded event's STF.

Extracts the event as ``symae extract`` does, then measures what can be checked without
an independent STF (``symae.evaluate.real_data``): duration against magnitude scaling,
depth-phase leakage, split-half and azimuthal-half stability, agreement between
methods. Writes ``validation.json``, ``RESULT.json`` and ``validation.png`` into
``--out`` and prints a summary.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from symae.cli.options import add_record_options, existing_file, positive_float, positive_int

if TYPE_CHECKING:
    from symae.evaluate.real_data import RealValidation

HELP = "truth-free validation of a recorded event: scaling, depth phases, split halves"

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--waveforms", nargs="+", type=existing_file, required=True, metavar="PATH")
    parser.add_argument("--inventory", type=existing_file, required=True, metavar="FILE")
    parser.add_argument("--event", type=existing_file, required=True, metavar="FILE")
    parser.add_argument("--event-id", metavar="ID", help="picks one of several in --event")
    add_record_options(parser)
    parser.add_argument(
        "--model", default="default", help="'default', a directory or name[:version]"
    )
    parser.add_argument("--splits", type=positive_int, default=20, help="random halves (20)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random halves")
    parser.add_argument(
        "--half-duration",
        type=positive_float,
        metavar="S",
        help="the catalogue half-duration (s), e.g. GCMT's, to compare the duration with",
    )
    parser.add_argument("--out", type=Path, required=True, metavar="DIR")


def run(args: argparse.Namespace) -> int:
    from symae.commands.extract import check_units, records_event
    from symae.evaluate.real_data import validate_event
    from symae.evaluate.real_data_figures import validation_figure
    from symae.extract.extractor import Extractor
    from symae.inversion import invert_event

    check_units(args)
    extractor = Extractor.load(args.model)
    event = records_event(args, extractor.contract)
    result = extractor.extract(event)
    raw = invert_event(event, extractor.settings.inversion, contract=extractor.contract)
    report = validate_event(
        event,
        result,
        raw,
        args.splits,
        args.seed,
        args.half_duration,
        extractor.settings.inversion,
        extractor.contract,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    result.write(args.out / "RESULT.json")
    (args.out / "validation.json").write_text(json.dumps(report.to_dict(), indent=1) + "\n")
    validation_figure(report, result, args.out / "validation.png")
    print(summary(report))
    print(f"wrote {args.out / 'validation.json'}, RESULT.json and validation.png")
    return 0


def summary(report: RealValidation) -> str:
    """The measured figures, one per line."""
    d = report.depth_phases
    lines = [
        f"{report.event_id}: Mw {report.magnitude:.1f}, {report.depth_km:.1f} km, "
        f"{report.n_used}/{report.n_traces} traces used, method {report.method}, "
        f"onset moved {report.onset_shift_s:.0f} s, flags {report.flags or 'none'}",
        f"duration (5-95 % moment) {report.duration_s:.1f} s = {report.duration_ratio:.2f} x "
        f"the Mw-scaled {report.mw_duration_s:.1f} s"
        + (
            f", {report.catalogue_ratio:.2f} x the catalogue {report.catalogue_duration_s:.1f} s"
            if report.catalogue_ratio is not None
            else ""
        ),
        f"depth phases at {d.depth_km:.1f} km: pP-P {d.pp_delay_s:.1f} s, sP-P {d.sp_delay_s:.1f} s "
        f"(+-{d.window_s:.1f} s): product STF (support to {d.product_support_s:.0f} s) "
        f"{d.product_pp:.1%} / {d.product_sp:.1%} of its peak; support to "
        f"{d.extended_support_s:.0f} s: {d.extended_pp:.1%} / {d.extended_sp:.1%}"
        + ("" if d.applicable else f" (not a test here: {d.note})"),
        f"random halves: median CC {report.random_halves.median_cc:.3f} over "
        f"{len(report.random_halves.ccs)} splits",
        f"azimuthal halves: median CC {report.azimuthal_halves.median_cc:.3f} over "
        f"{len(report.azimuthal_halves.ccs)} lines",
        "methods: " + ", ".join(f"{k} {v:.2f}" for k, v in report.agreement.items()),
    ]
    return "\n".join(lines)
