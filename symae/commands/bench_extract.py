"""``symae bench extract``: extraction time of one 200-trace event, and ONNX Runtime vs
PyTorch eager on the same latent optimisation, in one run.

The event is 200 standardised traces in 10 pixels of 20 (white noise: the time of every
graph call depends on array sizes, not on content). The whole ``Extractor.extract`` is
timed (baselines included) with ``--steps`` descent steps. Then the descent alone is run
from the same start codes with the exported ``latent_step.onnx`` and with
``symae.model.latent.latent_step`` in eager PyTorch (``torch.func.grad``), both limited to
``--threads`` threads; the report gives both times and the largest difference between
their final codes. This module imports torch; the extraction itself does not.
"""

from __future__ import annotations

import argparse

from symae.commands.options import add_latent_arguments, positive_int

HELP = "time extraction of a 200-trace event and ONNX Runtime vs PyTorch eager for the descent"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default="default", help="model directory or name[:version]")
    parser.add_argument("--traces", type=positive_int, default=200, help="traces in the event (default 200)")
    parser.add_argument("--pixels", type=positive_int, default=10, help="pixels they are split into (default 10)")
    add_latent_arguments(parser, ("steps",))
    parser.add_argument("--threads", type=positive_int, default=2, help="threads for both runtimes (default 2)")
    parser.add_argument("--repeats", type=positive_int, default=5)
    parser.add_argument("--no-record", action="store_true", help="print only, leave docs/benchmarks.md")


def _event(n_traces: int, n_pixels: int, nt: int, seed: int = 0):
    import numpy as np

    from symae.data.dataset import EventData, TraceGroup
    from symae.data.events import Origin

    rng = np.random.default_rng(seed)
    sizes = np.full(n_pixels, n_traces // n_pixels)
    sizes[: n_traces % n_pixels] += 1
    groups = {}
    for pixel, n in enumerate(sizes):
        x = rng.standard_normal((int(n), nt)).astype(np.float32)
        x = (x - x.mean(-1, keepdims=True)) / x.std(-1, keepdims=True)
        groups[pixel] = TraceGroup("bench", pixel, x, [f"XX.S{pixel}_{i}..BHZ" for i in range(n)])
    return EventData(Origin("bench", "2020-01-01T00:00:00Z", 0.0, 0.0, 10.0, 7.0), groups)


def run(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from symae.bench.record import median_time, record
    from symae.extract.coherent import LatentSettings
    from symae.extract.extractor import ExtractionSettings, Extractor
    from symae.extract.result import ModelInfo
    from symae.extract.runtime import OnnxModel
    from symae.model.latent import latent_step
    from symae.model.weights import load_model

    if args.pixels > args.traces:
        raise ValueError(f"--pixels ({args.pixels}) must not exceed --traces ({args.traces})")
    onnx = OnnxModel.load(args.model, "cpu", threads=args.threads)
    settings = ExtractionSettings(latent=LatentSettings(steps=args.steps))
    extractor = Extractor(onnx, ModelInfo(name=onnx.info.name, version=onnx.info.version,
                                          provider=onnx.provider), onnx.info.contract, settings)
    event = _event(args.traces, args.pixels, onnx.config.nt)
    t_extract = median_time(lambda: extractor.extract(event), repeats=args.repeats)
    t_no_baselines = median_time(
        lambda: Extractor(onnx, extractor.model, onnx.info.contract,
                          ExtractionSettings(latent=settings.latent, baselines=False)).extract(event),
        repeats=args.repeats,
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
    t = {k: torch.tensor(v, dtype=torch.float32) for k, v in
         {"mu": ref_mu, "lv": ref_logvar, "j1": kl0, "j2": l10, "a": 0.1, "lr": 0.1}.items()}

    def torch_descent() -> np.ndarray:
        codes = torch.from_numpy(np.asarray(start, dtype=np.float32))
        for _ in range(args.steps):
            codes = latent_step(model, codes, t["mu"], t["lv"], t["j1"], t["j2"], t["a"], t["lr"])[0]
        return codes.numpy()

    t_ort = median_time(ort_descent, repeats=args.repeats)
    t_torch = median_time(torch_descent, repeats=args.repeats)
    diff = float(np.max(np.abs(ort_descent() - torch_descent())))

    body = "\n".join([
        f"Model `{onnx.info.name}:{onnx.info.version}`; event of {event.n_traces} traces in "
        f"{len(event.groups)} pixels; N = {settings.latent.n_codes} codes, {args.steps} descent "
        f"steps; {args.threads} threads; median of {args.repeats} runs.",
        "",
        "| measurement | time (s) |",
        "|---|---|",
        f"| whole extraction, ONNX Runtime CPU, with baselines (target <= 2 s) | {t_extract:.3f} |",
        f"| whole extraction, without baselines | {t_no_baselines:.3f} |",
        f"| descent only, ONNX Runtime (`latent_step.onnx`) | {t_ort:.3f} |",
        f"| descent only, PyTorch eager (`torch.func.grad`) | {t_torch:.3f} |",
        "",
        f"ONNX Runtime / PyTorch eager time ratio for the descent: {t_ort / t_torch:.2f}; "
        f"largest difference between their final codes: {diff:.2e}.",
    ])
    if args.no_record:
        print(body)
    else:
        record("Extraction", body, "symae bench extract " + " ".join(
            f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items()
            if k in ("model", "steps", "threads", "repeats")))
    return 0
