"""``symae bench train``: training steps per second, and forward throughput ORT vs PyTorch.

Training: full Adam steps (forward, summed negative-ELBO loss, backward, update) of the
reference-size model (nt 192, p = q = 30) on in-memory batches of the reference shape
(32 groups x 20 traces) and of the ``tiny`` config shape, on the CPU and, when torch
sees one, on the GPU. Data loading is excluded (batches are drawn before timing).

Forward: the same random-weight model is exported to ONNX once; the coherent graph
(shift + encoder + product-of-Gaussians pooling) and the decoder then run on the same
inputs under PyTorch eager (``no_grad``) and ONNX Runtime (CPU provider) in one process,
one thread each, median of repeats; throughput in traces per second.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from functools import partial

HELP = "time training steps/s (CPU, GPU when present) and forward traces/s, ONNX Runtime vs PyTorch"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats (default 5)")
    parser.add_argument(
        "--steps", type=int, default=5, help="training steps per repeat (default 5)"
    )
    parser.add_argument(
        "--no-record", action="store_true", help="print only; do not rewrite docs/benchmarks.md"
    )


def _step_rate(model_config, train_config, device, steps: int, repeats: int) -> float:
    import torch

    from symae.bench.record import median_time
    from symae.model import SymVAE, symvae_loss

    torch.manual_seed(0)
    model = SymVAE(model_config).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    shape = (train_config.batch_groups, train_config.ntau, model_config.nt)
    batches = [torch.randn(shape, device=device) for _ in range(steps)]

    def run() -> None:
        for x in batches:
            out = model(x, sample=True)
            loss = symvae_loss(x, out, model.decoder_logvar, train_config).total
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize()

    return steps / median_time(run, repeats=repeats, warmup=1)


def _forward_rates(repeats: int) -> list[tuple[str, int, float, float]]:
    """(graph, traces, torch traces/s, ort traces/s) on identical inputs.

    One thread each (a fair, contention-robust comparison on a shared machine); all
    PyTorch timings run before the ONNX Runtime sessions exist, so that ORT's spinning
    worker threads cannot slow PyTorch down.
    """
    import tempfile
    from pathlib import Path

    import numpy as np
    import torch

    from symae.artifacts.config import ModelConfig, TrainConfig
    from symae.bench.record import median_time
    from symae.contract import DataContract
    from symae.export.onnx import export_model_dir
    from symae.extract.ort_options import OrtOptions
    from symae.extract.runtime import OnnxModel
    from symae.model import SymVAE
    from symae.model.weights import save_model_dir

    torch.manual_seed(0)
    config = ModelConfig()
    model = SymVAE(config).eval()
    rng = np.random.default_rng(0)
    cases: list[tuple[str, int, str, tuple[np.ndarray, ...]]] = []  # (label, traces, graph, inputs)
    for groups, n in ((1, 20), (32, 20), (64, 50)):
        x = rng.standard_normal((groups, n, config.nt)).astype(np.float32)
        cases.append(
            (
                f"coherent ({groups} x {n})",
                groups * n,
                "coherent",
                (x, np.ones((groups, n), np.float32)),
            )
        )
    for n in (10, 640, 3200):
        codes = rng.standard_normal((n, config.p + config.q)).astype(np.float32)
        cases.append((f"decoder ({n})", n, "decoder", (codes,)))
    torch_fn: dict[str, Callable[..., object]] = {
        "coherent": model.coherent_posterior,
        "decoder": model.decode,
    }
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch_rates = []
    with torch.no_grad():
        for _, n, graph, inputs in cases:
            tensors = tuple(torch.from_numpy(a) for a in inputs)
            torch_rates.append(n / median_time(partial(torch_fn[graph], *tensors), repeats))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = Path(tmp) / "bench"
        save_model_dir(model, model_dir, "bench", TrainConfig(), DataContract())
        export_model_dir(model_dir)
        onnx = OnnxModel.load(model_dir, options=OrtOptions(provider="cpu", intra_op_threads=1))
        ort_fn: dict[str, Callable[..., object]] = {
            "coherent": onnx.coherent,
            "decoder": onnx.decode,
        }
        for (label, n, graph, inputs), rate in zip(cases, torch_rates, strict=True):
            t_ort = median_time(partial(ort_fn[graph], *inputs), repeats)
            rows.append((label, n, rate, n / t_ort))
    torch.set_num_threads(threads)
    return rows


def run(args: argparse.Namespace) -> int:
    import torch

    from symae.artifacts.config import ModelConfig, TrainConfig, load_config
    from symae.bench.record import record
    from symae.model import SymVAE, count_parameters

    devices = [torch.device("cpu")]
    if torch.cuda.is_available():
        devices.append(torch.device("cuda"))
    cases = [
        ("reference (32 groups x 20 traces, p=q=30)", ModelConfig(), TrainConfig()),
        ("tiny config (8 x 8, p=q=8)", *load_config("tiny")),
    ]
    import os

    load_before = os.getloadavg()[0]
    lines = [
        f"Model: {count_parameters(SymVAE(ModelConfig())):,} parameters (reference size); "
        f"torch {torch.__version__}, {torch.get_num_threads()} intra-op threads.",
        "",
        "| training batch | device | torch threads | steps/s | traces/s |",
        "|---|---|---|---|---|",
    ]
    default_threads = torch.get_num_threads()
    thread_counts = sorted({1, default_threads})
    reference_cpu: dict[int, float] = {}  # torch threads -> reference steps/s
    for label, mcfg, tcfg in cases:
        for device in devices:
            for threads in thread_counts if device.type == "cpu" else [default_threads]:
                torch.set_num_threads(threads)
                rate = _step_rate(mcfg, tcfg, device, args.steps, args.repeats)
                if device.type == "cpu" and mcfg == ModelConfig():
                    reference_cpu[threads] = rate
                name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
                traces = rate * tcfg.batch_groups * tcfg.ntau
                lines.append(f"| {label} | {name} | {threads} | {rate:.2f} | {traces:,.0f} |")
                print(lines[-1], flush=True)
    torch.set_num_threads(default_threads)
    hours = 20_000 / max(reference_cpu.values()) / 3600
    threads_note = ""
    if len(reference_cpu) > 1:
        most = max(reference_cpu)
        threads_note = (
            f" {most} threads ran the reference batch at {reference_cpu[most] / reference_cpu[1]:.2f} x "
            "the one-thread rate here; when other work shares the cores, one thread per process "
            "avoids oversubscription (`symae train --threads 1`; torchrun sets one thread per process)."
        )
    lines += [
        "",
        f"The reference schedule (20,000 steps) would take about {hours:.1f} h on this CPU.{threads_note}",
        "",
        "Forward throughput on identical inputs, one process, one thread each: ONNX Runtime "
        "CPU provider vs PyTorch eager (`no_grad`, timed before the ORT sessions were "
        "opened), reference-size model:",
        "",
        "| graph (inputs) | traces | PyTorch traces/s | ONNX Runtime traces/s | ORT / PyTorch |",
        "|---|---|---|---|---|",
    ]
    for graph, n, r_torch, r_ort in _forward_rates(args.repeats):
        lines.append(f"| {graph} | {n} | {r_torch:,.0f} | {r_ort:,.0f} | {r_ort / r_torch:.2f} |")
        print(lines[-1], flush=True)
    load_after = os.getloadavg()[0]
    busy = max(load_before, load_after) > 0.5 * (os.cpu_count() or 1)
    lines += [
        "",
        f"One-minute load average {load_before:.1f} at the start and {load_after:.1f} at the end "
        "of the run"
        + (": other work shared the machine, so these figures are lower bounds." if busy else "."),
    ]
    body = "\n".join(lines)
    command = f"symae bench train --repeats {args.repeats} --steps {args.steps}"
    if args.no_record:
        print(body)
    else:
        record("Training and forward throughput", body, command)
    return 0
