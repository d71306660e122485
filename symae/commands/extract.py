"""``symae extract``: one event's STFs to RESULT.json.

Two inputs, one output:

- real records: ``--waveforms PATH... --inventory FILE --event FILE`` (miniSEED/SAC,
  StationXML, QuakeML) go through the project's preprocessing and grouping first;
- a data set: ``--dataset FILE.h5 --event-id ID``.

``--figures DIR`` also writes the event's figures (PNG and HTML).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from symae.cli.options import (
    add_latent_arguments,
    add_record_options,
    existing_file,
    nonnegative_int,
    positive_int,
)
from symae.errors import UsageError

if TYPE_CHECKING:
    from symae.contract import DataContract
    from symae.data.dataset import EventData

HELP = "extract per-pixel and event source time functions of one event into RESULT.json"

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    src = parser.add_argument_group("input (records or data set)")
    src.add_argument(
        "--waveforms", nargs="+", type=existing_file, metavar="PATH", help="miniSEED/SAC files"
    )
    src.add_argument(
        "--inventory", type=existing_file, metavar="FILE", help="StationXML with responses"
    )
    src.add_argument("--event", type=existing_file, metavar="FILE", help="QuakeML with the origin")
    src.add_argument("--dataset", type=existing_file, metavar="FILE.h5", help="symae HDF5 data set")
    src.add_argument(
        "--event-id",
        metavar="ID",
        help="event to extract: required with --dataset, picks one of several in --event",
    )
    add_record_options(src)
    parser.add_argument("--out", type=Path, required=True, metavar="RESULT.json")
    parser.add_argument(
        "--model",
        default="default",
        metavar="NAME_OR_DIR",
        help="'default', a model directory or a registry name[:version]",
    )
    parser.add_argument(
        "--physics-model",
        default="default",
        metavar="NAME_OR_DIR",
        help="the physics-informed SymAE whose STF (symae-physics) and refined inversion "
        "(symae-physics-refined) join the alternatives: 'default' (shipped) or a directory",
    )
    parser.add_argument(
        "--no-physics",
        dest="physics_model",
        action="store_const",
        const=None,
        help="leave the symae-physics methods out",
    )
    parser.add_argument(
        "--provider",
        default=None,
        choices=("auto", "cpu", "cuda"),
        help="ONNX Runtime execution provider (default: SYMAE_ORT_PROVIDER, else auto)",
    )
    parser.add_argument(
        "--intra-op-threads",
        type=nonnegative_int,
        default=None,
        help="ONNX Runtime threads per graph, 0: one per core "
        "(default: SYMAE_ORT_INTRA_OP_THREADS, else 1)",
    )
    parser.add_argument(
        "--inter-op-threads",
        type=nonnegative_int,
        default=None,
        help="ONNX Runtime inter-op threads (default: SYMAE_ORT_INTER_OP_THREADS, else 1)",
    )
    parser.add_argument(
        "--allow-spinning",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="ONNX Runtime threads spin waiting for work (default: SYMAE_ORT_ALLOW_SPINNING, "
        "else off)",
    )
    add_latent_arguments(parser)
    parser.add_argument(
        "--min-traces",
        type=positive_int,
        default=None,
        help="fewest traces for an event STF (default: MIN_TRACES of symae.extract.extractor, 10)",
    )
    parser.add_argument(
        "--min-pixels",
        type=positive_int,
        default=None,
        help="fewest focal-sphere pixels for an event STF (default: MIN_PIXELS, 3)",
    )
    parser.add_argument(
        "--allow-sparse",
        action="store_true",
        help="extract an event below the minimum anyway; RESULT.json is flagged 'sparse'",
    )
    parser.add_argument("--figures", type=Path, metavar="DIR", help="also write figures here")


def _check_sources(args: argparse.Namespace) -> str:
    records = [args.waveforms, args.inventory, args.event]
    if args.dataset is not None:
        if any(v is not None for v in records):
            raise UsageError(
                "give either --waveforms/--inventory/--event or --dataset/--event-id, not both"
            )
        if args.event_id is None:
            raise UsageError("--dataset needs --event-id")
        return "dataset"
    if not all(v is not None for v in records):
        missing = [
            n
            for n, v in zip(("--waveforms", "--inventory", "--event"), records, strict=True)
            if v is None
        ]
        raise UsageError(f"missing {', '.join(missing)} (or use --dataset FILE.h5 --event-id ID)")
    return "records"


def check_units(args: argparse.Namespace) -> None:
    """``--no-response-units`` means nothing without ``--no-response``: say so."""
    if args.no_response_units != "displacement" and not args.no_response:
        raise UsageError("--no-response-units applies to records taken with --no-response")


def records_event(args: argparse.Namespace, contract: DataContract) -> EventData:
    """The event of ``--waveforms --inventory --event [--event-id]`` under ``contract``,
    with the options of ``add_record_options``."""
    from symae.extract.records import event_from_records

    return event_from_records(
        args.waveforms,
        args.inventory,
        args.event,
        contract,
        args.event_id,
        allow_no_response=args.no_response,
        pad_short=args.pad_short,
        no_response_units=args.no_response_units,
    )


def run(args: argparse.Namespace) -> int:
    """Extract; bad input raises (the CLI prints it as one line); nothing is left half-written."""
    check_units(args)
    source = _check_sources(args)
    return _run(args, source)


def _run(args: argparse.Namespace, source: str) -> int:
    from symae.extract.coherent import LatentSettings
    from symae.extract.extractor import MIN_PIXELS, MIN_TRACES, ExtractionSettings, Extractor
    from symae.extract.ort_options import OrtOptions

    settings = ExtractionSettings(
        latent=LatentSettings(n_codes=args.n_codes, steps=args.steps, lr=args.lr, alpha=args.alpha),
        min_traces=args.min_traces or MIN_TRACES,
        min_pixels=args.min_pixels or MIN_PIXELS,
        allow_sparse=args.allow_sparse,
    )
    options = OrtOptions.from_env(
        provider=args.provider,
        intra_op_threads=args.intra_op_threads,
        inter_op_threads=args.inter_op_threads,
        allow_spinning=args.allow_spinning,
    )
    extractor = Extractor.load(args.model, None, settings, options, args.physics_model)
    if source == "dataset":
        from symae.data.dataset import Dataset

        with Dataset(args.dataset) as ds:
            if ds.contract != extractor.contract:
                raise UsageError(
                    f"{args.dataset}: data contract {ds.contract} differs from the model's {extractor.contract}"
                )
            try:
                event = ds.event(args.event_id)
            except KeyError as exc:
                raise UsageError(f"{args.dataset}: {exc.args[0]}") from exc
    else:
        event = records_event(args, extractor.contract)
    info = extractor.coherent_information([event])[0]
    result = extractor.assemble(event, info)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    partial = args.out.with_name(args.out.name + ".partial")
    try:
        result.write(partial)
        partial.replace(args.out)
    finally:
        partial.unlink(missing_ok=True)
    q = result.quality
    log.info(
        "%s: %d traces in %d pixels (%d passed the gate), model %s:%s -> %s",
        result.event_id,
        q.n_traces,
        q.n_pixels,
        q.n_pixels_passed,
        result.model.name,
        result.model.version,
        args.out,
    )
    if args.figures:
        from symae.extract.figures import event_figures

        for path in event_figures(result, info, event, args.figures):
            log.info("figure %s", path)
    return 0
