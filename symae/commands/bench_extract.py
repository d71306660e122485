"""``symae bench extract``: extraction time of one 200-trace event, the inversion's share,
and ONNX Runtime vs PyTorch eager on the same latent optimisation, in one run.

The event is a synthetic one of ``--traces`` stations (parametric source, easy mode, seed
0; the inversion's cost depends on its Mw and on whether the mechanism is known, so both
are reported). The whole ``Extractor.extract`` is timed (inversions of the raw traces and
of the virtual gathers, baselines) with ``--steps`` descent steps, then without the
inversions, then the raw-trace inversion alone with the catalogue mechanism and with the
mechanism withheld (wall and CPU time, median of ``--repeats``). Then the descent alone is run
from the same start codes with the exported ``latent_step.onnx`` and with
``symae.model.latent.latent_step`` in eager PyTorch (``torch.func.grad``), both limited to
``--threads`` threads; the report gives both times and the largest difference between
their final codes. This module imports torch; the extraction itself does not.

``--batch K`` also times K copies of the event extracted in one ``extract_many`` call
(every ONNX call shared; the backfill rate in events per hour); ``--provider cuda`` runs
ONNX Runtime on the GPU (``onnxruntime-gpu``; the descent comparison stays on the CPU).

With ``--revisions N`` it also feeds the event as N growing revisions (evenly spaced
trace counts, the last one final) through ``symae.extract.incremental.Revisions`` and
through a from-scratch extraction each, and reports the CPU and the work
(``symae.work`` units) of one pass and of the N revisions both ways.
"""

from __future__ import annotations

import argparse

from symae.cli.options import add_latent_arguments, positive_int

HELP = "time extraction of a 200-trace event and ONNX Runtime vs PyTorch eager for the descent"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default="default", help="model directory or name[:version]")
    parser.add_argument(
        "--traces", type=positive_int, default=200, help="traces in the event (default 200)"
    )
    add_latent_arguments(parser, ("steps",))
    parser.add_argument(
        "--threads", type=positive_int, default=2, help="threads for both runtimes (default 2)"
    )
    parser.add_argument("--repeats", type=positive_int, default=5)
    parser.add_argument(
        "--provider",
        choices=("cpu", "cuda", "auto"),
        default="cpu",
        help="ONNX Runtime execution provider (default cpu)",
    )
    parser.add_argument(
        "--batch",
        type=positive_int,
        default=8,
        help="also time this many events in one extract_many call (default 8)",
    )
    parser.add_argument(
        "--revisions",
        type=positive_int,
        default=None,
        help="also time the event as this many growing revisions, incremental vs from scratch",
    )
    parser.add_argument(
        "--no-record", action="store_true", help="print only, leave docs/benchmarks.md"
    )


def _event(n_traces: int, contract, seed: int = 0):
    """A synthetic event of ``n_traces`` stations (parametric source, easy mode)."""
    from datetime import UTC, datetime

    import numpy as np

    from symae.data.preprocess import PreprocessConfig
    from symae.synth.config import SynthConfig
    from symae.synth.generator import synthesize_event
    from symae.synth.source import parametric_source

    config = SynthConfig(
        preprocess=PreprocessConfig(contract=contract), n_stations=n_traces, directivity=False
    )
    rng = np.random.default_rng([seed, 0])
    source = parametric_source(
        rng,
        "bench",
        config.mw_range,
        config.depth_range_km,
        config.raw_dt,
        False,
        datetime(2020, 1, 1, tzinfo=UTC),
    )
    return synthesize_event(rng, source, config).event_data


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    import numpy as np
    import torch

    from symae.bench.record import median_time, median_times, record
    from symae.extract.coherent import LatentSettings
    from symae.extract.extractor import ExtractionSettings, Extractor
    from symae.extract.ort_options import OrtOptions
    from symae.extract.result import ModelInfo
    from symae.extract.runtime import OnnxModel
    from symae.inversion import invert_event
    from symae.model.latent import latent_step
    from symae.model.weights import load_model

    onnx = OnnxModel.load(
        args.model, options=OrtOptions(provider=args.provider, intra_op_threads=args.threads)
    )
    settings = ExtractionSettings(latent=LatentSettings(steps=args.steps), allow_sparse=True)
    model_info = ModelInfo(name=onnx.info.name, version=onnx.info.version, provider=onnx.provider)
    extractor = Extractor(onnx, model_info, onnx.info.contract, settings)
    event = _event(args.traces, onnx.info.contract)
    withheld = replace(event, origin=replace(event.origin, moment_tensor=None))
    no_inversion = Extractor(
        onnx, model_info, onnx.info.contract, replace(settings, inversion=None)
    )
    inversion = settings.inversion
    timed = {
        "whole extraction (inversions, envelope, baselines)": median_times(
            lambda: extractor.extract(event), repeats=args.repeats
        ),
        "whole extraction without the inversions": median_times(
            lambda: no_inversion.extract(event), repeats=args.repeats
        ),
        "raw-trace inversion alone, catalogue mechanism": median_times(
            lambda: invert_event(event, inversion, contract=onnx.info.contract),
            repeats=args.repeats,
        ),
        "raw-trace inversion alone, mechanism withheld (searched)": median_times(
            lambda: invert_event(withheld, inversion, contract=onnx.info.contract),
            repeats=args.repeats,
        ),
    }
    copies = [
        replace(event, origin=replace(event.origin, event_id=f"bench-{k}"))
        for k in range(args.batch)
    ]
    batched = median_times(lambda: extractor.extract_many(copies), repeats=args.repeats)
    timed[f"{args.batch} events in one extract_many call, per event"] = (
        batched[0] / args.batch,
        batched[1] / args.batch,
    )
    whole, without = (
        timed["whole extraction (inversions, envelope, baselines)"],
        timed["whole extraction without the inversions"],
    )

    # the descent alone, same start, both runtimes
    info = extractor.coherent_information([event])[0]
    ref_mu, ref_logvar = info.group_mu[info.reference], info.group_logvar[info.reference]
    traces = np.concatenate([g.traces for g in event.groups.values()])
    start = onnx.nuisance(traces)[0][info.selected]
    _, _, kl0, l10 = onnx.latent_step(start, ref_mu, ref_logvar, 1.0, 1.0, 0.1, 0.0)

    def ort_descent() -> np.ndarray:
        codes = start
        for _ in range(args.steps):
            codes = onnx.latent_step(codes, ref_mu, ref_logvar, kl0, l10, 0.1, 0.1)[0]
        return codes

    torch.set_num_threads(args.threads)
    model, _ = load_model(args.model)
    for p in model.parameters():
        p.requires_grad_(False)
    t = {
        k: torch.tensor(v, dtype=torch.float32)
        for k, v in {
            "mu": ref_mu,
            "lv": ref_logvar,
            "j1": kl0,
            "j2": l10,
            "a": 0.1,
            "lr": 0.1,
        }.items()
    }

    def torch_descent() -> np.ndarray:
        codes = torch.from_numpy(np.asarray(start, dtype=np.float32))
        for _ in range(args.steps):
            codes = latent_step(model, codes, t["mu"], t["lv"], t["j1"], t["j2"], t["a"], t["lr"])[
                0
            ]
        return codes.numpy()

    t_ort = median_time(ort_descent, repeats=args.repeats)
    t_torch = median_time(torch_descent, repeats=args.repeats)
    diff = float(np.max(np.abs(ort_descent() - torch_descent())))

    revisions = (
        _revisions(onnx, model_info, settings, event, args.revisions) if args.revisions else []
    )
    o = event.origin
    body = "\n".join(
        [
            f"Model `{onnx.info.name}:{onnx.info.version}`; synthetic event of {event.n_traces} traces "
            f"in {len(event.groups)} pixels (Mw {o.magnitude:.1f}, {o.depth_km:.0f} km); N = "
            f"{settings.latent.n_codes} codes, {args.steps} descent steps; {args.threads} ONNX "
            f"Runtime threads; median of {args.repeats} runs; CPU time is this process's, all threads.",
            "",
            "| measurement (target: whole extraction <= 1 s) | wall (s) | CPU (s) |",
            "|---|---|---|",
            *[f"| {name} | {w:.3f} | {c:.3f} |" for name, (w, c) in timed.items()],
            f"| descent only, ONNX Runtime (`latent_step.onnx`) | {t_ort:.3f} | |",
            f"| descent only, PyTorch eager (`torch.func.grad`) | {t_torch:.3f} | |",
            "",
            f"Batched backfill at this rate: {3600 * args.batch / batched[0]:.0f} events per "
            f"hour on {onnx.provider}.",
            "",
            f"The inversions' share of the whole extraction: {whole[0] - without[0]:.3f} s wall "
            f"({(whole[0] - without[0]) / whole[0]:.0%}), {whole[1] - without[1]:.3f} s CPU.",
            "",
            f"ONNX Runtime / PyTorch eager time ratio for the descent: {t_ort / t_torch:.2f}; "
            f"largest difference between their final codes: {diff:.2e}.",
            *revisions,
        ]
    )
    if args.no_record:
        print(body)
    else:
        record(
            "Extraction",
            body,
            "symae bench extract "
            + " ".join(
                f"--{k.replace('_', '-')} {v}"
                for k, v in vars(args).items()
                if k
                in (
                    "model",
                    "traces",
                    "steps",
                    "threads",
                    "repeats",
                    "revisions",
                    "provider",
                    "batch",
                )
                and v is not None
            ),
        )
    return 0


def _revisions(onnx, model_info, settings, event, n: int) -> list[str]:
    """Lines of the report: one pass, then N revisions incremental and from scratch."""
    import time

    import numpy as np

    from symae.extract.extractor import Extractor
    from symae.extract.incremental import Revisions, first_traces

    def fresh() -> Extractor:
        return Extractor(onnx, model_info, onnx.info.contract, settings)

    sizes = [int(k) for k in np.linspace(event.n_traces / n, event.n_traces, n)]
    steps = [first_traces(event, k) for k in sizes]
    one = fresh()
    start = time.process_time()
    reference = one.extract(event, revision=event.n_traces)
    one_cpu = time.process_time() - start

    scratch = fresh()
    start = time.process_time()
    for k, e in zip(sizes, steps, strict=True):
        scratch.extract(e, revision=k)
    scratch_cpu = time.process_time() - start

    growing = fresh()
    revisions = Revisions(growing)
    start = time.process_time()
    results = [
        revisions.extract(e, k, final=i == n - 1)
        for i, (k, e) in enumerate(zip(sizes, steps, strict=True))
    ]
    growing_cpu = time.process_time() - start
    final = results[-1]
    assert final is not None
    diff = float(np.max(np.abs(np.subtract(final.stf.values, reference.stf.values))))
    previews = sum(r is not None for r in results[:-1])
    u1, us, ug = one.work.units, scratch.work.units, growing.work.units
    return [
        "",
        f"{n} growing revisions of the event ({sizes[0]} to {sizes[-1]} traces, the last "
        f"final): {previews} previews, {n - 1 - previews} deferred over the work budget.",
        "",
        "| measurement | CPU (s) | work (units) | CPU per unit (us) | x one pass (CPU / work) |",
        "|---|---|---|---|---|",
        f"| one pass over the final traces | {one_cpu:.3f} | {u1:.0f} | {1e6 * one_cpu / u1:.1f} "
        "| 1 / 1 |",
        f"| {n} revisions, each from scratch | {scratch_cpu:.3f} | {us:.0f} "
        f"| {1e6 * scratch_cpu / us:.1f} | {scratch_cpu / one_cpu:.2f} / {us / u1:.2f} |",
        f"| {n} revisions, incremental | {growing_cpu:.3f} | {ug:.0f} "
        f"| {1e6 * growing_cpu / ug:.1f} | {growing_cpu / one_cpu:.2f} / {ug / u1:.2f} |",
        "",
        f"Largest difference between the final revision's STF and the one pass's: {diff:.1e}.",
        "Work per stage of one pass (rows): "
        + ", ".join(f"{k} {v}" for k, v in sorted(one.work.rows.items()))
        + ".",
    ]
