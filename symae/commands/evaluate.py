"""``symae evaluate``: the SCARDEC benchmark.

Every SCARDEC optimal STF of the shared data goes through the synthetic generator (the
same library ``symae data synth --stf scardec`` uses) at its real hypocentre with its
Global CMT mechanism, ``--stations`` stations, SNR drawn log-uniformly in ``--snr``,
once without and once with a random unilateral directivity (``--directivity both``).
All randomness comes from ``--seed`` and the event's index, so a rerun gives the same
events. Each event is extracted with the model (default: the shipped one) and SymAE's
event STF and every baseline are scored against the truth. Writes ``scores.json``,
``report.md`` and figures to ``--out``; ``--record`` puts the headline rows in
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from symae.commands.options import (
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
    parser.add_argument("--out", type=Path, default=Path("benchmark/scardec"), help="output folder")
    parser.add_argument("--dataset", type=existing_file, help="score the events of this HDF5 set instead")
    parser.add_argument("--scardec", type=existing_dir, help="SCARDEC folder (default: shared data)")
    parser.add_argument("--limit", type=positive_int, help="first N SCARDEC events only")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--stations", type=positive_int, default=100)
    parser.add_argument("--snr", type=finite_float, nargs=2, default=(3.0, 30.0), metavar=("LOW", "HIGH"))
    parser.add_argument("--directivity", choices=("off", "on", "both"), default="both")
    parser.add_argument("--batch", type=positive_int, default=4, help="events per ONNX call")
    add_latent_arguments(parser, ("steps", "lr", "alpha"))
    parser.add_argument("--figures", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--record", action="store_true", help="write the summary to docs/benchmarks.md")


def synthetic_scardec_events(args: argparse.Namespace, contract):
    """Yield (EventData) for every SCARDEC event and directivity setting asked for."""
    import numpy as np

    from symae.data.preprocess import PreprocessConfig
    from symae.data.reference import scardec_dir
    from symae.data.scardec import list_events
    from symae.evaluate.scardec_benchmark import DIRECTIVITY_SUFFIX
    from symae.synth.config import SynthConfig
    from symae.synth.generator import synthesize_event
    from symae.synth.source import scardec_source

    settings = {"off": [False], "on": [True], "both": [False, True]}[args.directivity]
    scardec = list_events(args.scardec or scardec_dir(), limit=args.limit)
    for flag in settings:
        config = SynthConfig(
            preprocess=PreprocessConfig(contract=contract),
            n_stations=args.stations,
            snr_range=tuple(args.snr),
            directivity=flag,
        )
        for i, ev in enumerate(scardec):
            rng = np.random.default_rng([args.seed, i, int(flag)])
            source = scardec_source(ev, config.raw_dt, rng, flag)
            synth = synthesize_event(rng, source, config)
            data = synth.event_data
            data.origin.event_id = f"{data.origin.event_id}{DIRECTIVITY_SUFFIX if flag else ''}"
            data.truth_attrs.setdefault("t0", contract.t0)
            data.truth_attrs.setdefault("dt", contract.dt)
            yield data


def run(args: argparse.Namespace) -> int:
    import json

    from symae.commands.options import ordered_range
    from symae.evaluate.scardec_benchmark import (
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
    # the benchmark scores every event: a sparse one is extracted, flagged "sparse"
    extractor = Extractor.load(args.model, "auto", ExtractionSettings(
        latent=LatentSettings(steps=args.steps, lr=args.lr, alpha=args.alpha), allow_sparse=True))
    if args.dataset:
        from symae.data.dataset import Dataset

        ds = Dataset(args.dataset)
        ids = ds.event_ids()[: args.limit] if args.limit else ds.event_ids()
        source = (ds.event(i) for i in ids)
        setup = {"dataset": str(args.dataset), "events": len(ids)}
    else:
        source = synthetic_scardec_events(args, extractor.contract)
        setup = {
            "stf": "scardec optimal STFs through symae.synth", "seed": args.seed,
            "stations": args.stations, "snr_range": list(args.snr), "directivity": args.directivity,
            "limit": args.limit,
        }
    setup.update({"model": f"{extractor.model.name}:{extractor.model.version}", "steps": args.steps,
                  "lr": args.lr, "alpha": args.alpha})
    events = []

    def keep(stream):
        for ev in stream:
            events.append(ev)
            yield ev

    scores, results = score_events(extractor, keep(source), batch=args.batch)
    summaries = {name: summarise(sub) for name, sub in subsets(scores).items()}
    report = write_report(args.out, scores, summaries, setup)
    log.info("wrote %s and %s", report, args.out / "scores.json")
    if args.figures:
        from symae.evaluate.figures import benchmark_figures

        for path in benchmark_figures(scores, events, results, args.out / "figures"):
            log.info("figure %s", path)
    body = "\n\n".join(
        f"**{name}**\n\n" + summary_markdown(summary, len(sub))
        for (name, summary), sub in zip(summaries.items(), subsets(scores).values(), strict=True)
    )
    body = (
        f"Setup: `{json.dumps(setup)}`\n\nTargets (all events):\n\n"
        + targets_markdown(summaries["all"]) + "\n\n" + body
    )
    if args.record:
        from symae.bench.record import record

        options = [("model", args.model), ("seed", args.seed), ("stations", args.stations),
                   ("directivity", args.directivity)]
        defaults = LatentSettings()
        options += [(k, getattr(args, k)) for k in ("steps", "lr", "alpha") if getattr(args, k) != getattr(defaults, k)]
        record("SCARDEC benchmark", body, "symae evaluate " + " ".join(f"--{k} {v}" for k, v in options))
    else:
        print(body)
    return 0
