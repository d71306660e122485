"""``symae evaluate``: the SCARDEC benchmark.

Every SCARDEC optimal STF shipped in symae/reference_data goes through the synthetic generator (the
same library ``symae data synth --stf scardec`` uses) at its real hypocentre with its
Global CMT mechanism, ``--stations`` stations, SNR drawn log-uniformly in ``--snr``,
once without and once with a random unilateral directivity (``--directivity both``).
All randomness comes from ``--seed`` and the event's index, so a rerun gives the same
events. Each event is extracted with the model (default: the shipped one) and SymAE's
event STF and every baseline are scored against the truth. Writes ``scores.json``,
``report.md`` and figures to ``--out``; ``--record`` puts the headline rows in
docs/benchmarks.md.

``--mode hard`` (default) makes the events with the generator's hard mode (physics the
methods do not share, broken stations, catalogue errors in the given origin);
``--mode easy`` the former events. ``--set validation`` scores hard-mode events from
parametric sources instead (seed 11, 40 events, directivity on every other one), for
choosing settings without touching the benchmark. ``--methods`` chooses the pluggable
methods (``symae.evaluate.methods``) scored beside SymAE's envelope and the baselines;
``--model none`` scores those alone.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from symae.cli.options import (
    add_latent_arguments,
    existing_dir,
    existing_file,
    finite_float,
    positive_int,
)

HELP = "SCARDEC benchmark: real STFs through the generator, SymAE vs baselines"

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default="default", help="model directory or name[:version]")
    parser.add_argument(
        "--physics-model",
        default="default",
        metavar="NAME_OR_DIR",
        help="physics-informed SymAE of the extraction's symae-physics methods "
        "('default': shipped, a directory, or 'none')",
    )
    parser.add_argument("--out", type=Path, default=Path("benchmark/scardec"), help="output folder")
    parser.add_argument(
        "--dataset", type=existing_file, help="score the events of this HDF5 set instead"
    )
    parser.add_argument(
        "--scardec", type=existing_dir, help="SCARDEC folder (default: the bundled one)"
    )
    parser.add_argument("--limit", type=positive_int, help="first N events only")
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        help="default 2024 for the benchmark, 11 for the validation set",
    )
    parser.add_argument(
        "--set",
        dest="event_set",
        choices=("benchmark", "validation"),
        default="benchmark",
        help="benchmark: SCARDEC sources; validation: parametric sources",
    )
    parser.add_argument("--mode", choices=("easy", "hard"), default="hard", help="generator mode")
    parser.add_argument(
        "--broken-share",
        type=finite_float,
        default=None,
        metavar="F",
        help="hard mode: share of broken stations per event (default drawn in 0-0.3)",
    )
    parser.add_argument(
        "--methods",
        nargs="*",
        default=None,
        help="pluggable methods to score (default: inversion, inversion-virtual; also "
        "symae-physics, symae-physics-unbounded, symae-physics-refined)",
    )
    parser.add_argument("--stations", type=positive_int, default=100)
    parser.add_argument(
        "--snr",
        type=finite_float,
        nargs=2,
        default=(3.0, 30.0),
        metavar=("LOW", "HIGH"),
        help="easy mode's SNR range (hard mode draws from 2.5-30)",
    )
    parser.add_argument("--directivity", choices=("off", "on", "both"), default="both")
    parser.add_argument("--batch", type=positive_int, default=4, help="events per ONNX call")
    add_latent_arguments(parser, ("steps", "lr", "alpha"))
    parser.add_argument("--figures", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument(
        "--record", action="store_true", help="write the summary to docs/benchmarks.md"
    )


def _cell_args(args: argparse.Namespace, cell, k: int) -> argparse.Namespace:
    """``args`` with the overrides ``cell(k)`` of the k-th event (a designed ablation)."""
    return args if cell is None else argparse.Namespace(**{**vars(args), **cell(k)})


def synthetic_scardec_events(args: argparse.Namespace, contract, cell=None):
    """Yield (EventData) for every SCARDEC event and directivity setting asked for.

    ``cell``, if given, maps the running event index to overrides of ``args`` (e.g.
    ``{"stations": 10, "broken_share": 0.5}``) for that event alone.
    """
    import numpy as np

    from symae.data.reference import scardec_dir
    from symae.data.scardec import list_events
    from symae.evaluate.scardec_benchmark import DIRECTIVITY_SUFFIX
    from symae.synth.generator import synthesize_event
    from symae.synth.source import scardec_source

    settings = {"off": [False], "on": [True], "both": [False, True]}[args.directivity]
    scardec = list_events(args.scardec or scardec_dir(), limit=args.limit)
    seed = 2024 if args.seed is None else args.seed
    for f, flag in enumerate(settings):
        config = synth_config(args, contract, flag)
        for i, ev in enumerate(scardec):
            if cell is not None:
                config = synth_config(_cell_args(args, cell, f * len(scardec) + i), contract, flag)
            rng = np.random.default_rng([seed, i, int(flag)])
            source = scardec_source(ev, config.raw_dt, rng, flag)
            synth = synthesize_event(rng, source, config)
            data = synth.event_data
            data.origin.event_id = f"{data.origin.event_id}{DIRECTIVITY_SUFFIX if flag else ''}"
            data.truth_attrs.setdefault("t0", contract.t0)
            data.truth_attrs.setdefault("dt", contract.dt)
            yield data


VALIDATION_SEED = 11
VALIDATION_EVENTS = 40


def synth_config(args: argparse.Namespace, contract, directivity: bool):
    """The generator's configuration for ``--mode``, ``--stations``, ``--snr``, ``--broken-share``."""
    from dataclasses import replace

    from symae.data.preprocess import PreprocessConfig
    from symae.synth.config import SynthConfig

    base = SynthConfig()
    return SynthConfig(
        preprocess=PreprocessConfig(contract=contract),
        n_stations=args.stations,
        snr_range=tuple(args.snr),
        directivity=directivity,
        mode=args.mode,
        hard=replace(base.hard, broken_share=args.broken_share),
    )


def validation_events(args: argparse.Namespace, contract, cell=None):
    """Hard-mode (``--mode``) events from parametric sources: the set for choosing settings
    (``cell`` as in ``synthetic_scardec_events``)."""
    from datetime import UTC, datetime

    import numpy as np

    from symae.synth.generator import synthesize_event
    from symae.synth.source import parametric_source, synthetic_origin_time

    seed = VALIDATION_SEED if args.seed is None else args.seed
    for i in range(args.limit or VALIDATION_EVENTS):
        flag = bool(i % 2)
        config = synth_config(_cell_args(args, cell, i), contract, flag)
        rng = np.random.default_rng([seed, i])
        source = parametric_source(
            rng,
            f"val_s{seed}_{i:04d}",
            config.mw_range,
            config.depth_range_km,
            config.raw_dt,
            flag,
            synthetic_origin_time(datetime(2020, 1, 1, tzinfo=UTC), i),
        )
        data = synthesize_event(rng, source, config).event_data
        data.truth_attrs.setdefault("t0", contract.t0)
        data.truth_attrs.setdefault("dt", contract.dt)
        yield data


def run(args: argparse.Namespace) -> int:
    import json

    from symae.cli.options import ordered_range
    from symae.contract import DataContract
    from symae.evaluate.methods import DEFAULT_METHODS, available_methods
    from symae.evaluate.scardec_benchmark import (
        depth_class_markdown,
        score_events,
        subsets,
        summarise,
        summary_markdown,
        targets_markdown,
        write_report,
    )
    from symae.extract.coherent import LatentSettings
    from symae.extract.extractor import ExtractionSettings, Extractor

    low, _ = ordered_range("--snr", args.snr)
    if low <= 0:
        raise ValueError(f"--snr: LOW must be > 0, got {low}")
    methods = available_methods()
    if args.methods is None:
        methods = {k: methods[k] for k in DEFAULT_METHODS}
    else:
        unknown = sorted(set(args.methods) - set(methods))
        if unknown:
            raise ValueError(
                f"--methods: unknown or unavailable {unknown} (available: {sorted(methods)})"
            )
        methods = {k: methods[k] for k in args.methods}
    extractor = None
    if args.model != "none":
        # the benchmark scores every event: a sparse one is extracted, flagged "sparse"
        extractor = Extractor.load(
            args.model,
            "auto",
            ExtractionSettings(
                latent=LatentSettings(steps=args.steps, lr=args.lr, alpha=args.alpha),
                allow_sparse=True,
            ),
            physics_model=None if args.physics_model == "none" else args.physics_model,
        )
    contract = extractor.contract if extractor is not None else DataContract()
    if args.dataset:
        from symae.data.dataset import Dataset

        ds = Dataset(args.dataset)
        ids = ds.event_ids()[: args.limit] if args.limit else ds.event_ids()
        source = (ds.event(i) for i in ids)
        setup = {"dataset": str(args.dataset), "events": len(ids)}
    elif args.event_set == "validation":
        source = validation_events(args, contract)
        setup = {
            "set": "validation",
            "stf": "parametric sources through symae.synth",
            "seed": VALIDATION_SEED if args.seed is None else args.seed,
            "mode": args.mode,
            "stations": args.stations,
            "broken_share": args.broken_share,
            "events": args.limit or VALIDATION_EVENTS,
        }
    else:
        source = synthetic_scardec_events(args, contract)
        setup = {
            "set": "benchmark",
            "stf": "scardec optimal STFs through symae.synth",
            "seed": 2024 if args.seed is None else args.seed,
            "mode": args.mode,
            "stations": args.stations,
            "snr_range": list(args.snr),
            "directivity": args.directivity,
            "broken_share": args.broken_share,
            "limit": args.limit,
        }
    setup["methods"] = sorted(methods)
    if extractor is not None:
        setup.update(
            {
                "model": f"{extractor.model.name}:{extractor.model.version}",
                "steps": args.steps,
                "lr": args.lr,
                "alpha": args.alpha,
            }
        )
    events = []

    def keep(stream):
        for ev in stream:
            events.append(ev)
            yield ev

    scores, results = score_events(
        extractor, keep(source), batch=args.batch, methods=methods, highpass_hz=contract.highpass_hz
    )
    summaries = {name: summarise(sub) for name, sub in subsets(scores).items()}
    report = write_report(args.out, scores, summaries, setup)
    log.info("wrote %s and %s", report, args.out / "scores.json")
    if args.figures and extractor is not None:
        from symae.evaluate.figures import benchmark_figures

        for path in benchmark_figures(scores, events, results, args.out / "figures"):
            log.info("figure %s", path)
    body = "\n\n".join(
        f"**{name}**\n\n" + summary_markdown(summary, len(sub))
        for (name, summary), sub in zip(summaries.items(), subsets(scores).values(), strict=True)
    )
    body = (
        f"Setup: `{json.dumps(setup)}`\n\nTargets (all events):\n\n"
        + targets_markdown(summaries["all"])
        + "\n"
        + depth_class_markdown(summaries)
        + "\n\n"
        + body
    )
    if args.record:
        from symae.bench.record import record

        options = [
            ("model", args.model),
            ("set", args.event_set),
            ("mode", args.mode),
            ("seed", setup["seed"]),
            ("stations", args.stations),
            ("directivity", args.directivity),
        ]
        defaults = LatentSettings()
        options += [
            (k, getattr(args, k))
            for k in ("steps", "lr", "alpha")
            if getattr(args, k) != getattr(defaults, k)
        ]
        record(
            "SCARDEC benchmark" if args.event_set == "benchmark" else "Validation set",
            body,
            "symae evaluate " + " ".join(f"--{k} {v}" for k, v in options),
        )
    else:
        print(body)
    return 0
