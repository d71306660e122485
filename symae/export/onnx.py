"""ONNX export of the graphs the serving path runs (``symae export MODEL_DIR``).

Five graphs, all with dynamic trace/group/code counts (``docs/model-format.md`` has the
input/output table): ``coherent``, ``nuisance``, ``decoder``, ``reencode`` and
``latent_step``. The first four are plain modules exported with
``torch.onnx.export(..., dynamo=True)``. The latent step contains a gradient: it is traced
with ``make_fx`` over ``torch.func.grad`` (symbolic shapes, so N stays dynamic) and the
traced graph is exported. Convolution gradients are decomposed into transposed
convolutions on the way, since ONNX has no convolution-backward operator.
Only k = 1 models export; k > 1 is refused with a clear error.
"""

from __future__ import annotations

import copy
import logging
import warnings
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.fx.experimental.proxy_tensor import make_fx

from symae.artifacts.store import ONNX_GRAPHS, read_model_dir, write_model_json
from symae.export.common import MAX_DIM, OPSET, _free_sizes, _quiet_exporter_logs
from symae.model.latent import latent_step
from symae.model.symvae import SymVAE
from symae.model.weights import load_model

log = logging.getLogger(__name__)

IO_NAMES: dict[str, tuple[list[str], list[str]]] = {
    "coherent": (["traces", "mask"], ["mu", "logvar", "shift"]),
    "nuisance": (["traces"], ["mu", "log_sigma", "shift"]),
    "decoder": (["codes"], ["recon"]),
    "reencode": (["traces"], ["mu", "logvar"]),
    "latent_step": (
        ["codes", "ref_mu", "ref_logvar", "j1", "j2", "alpha", "lr"],
        ["codes_out", "objective", "kl", "l1"],
    ),
}


class _Coherent(nn.Module):
    def __init__(self, model: SymVAE) -> None:
        super().__init__()
        self.model = model

    def forward(self, traces: torch.Tensor, mask: torch.Tensor):
        return self.model.coherent_posterior_raw(traces, mask)


class _Nuisance(nn.Module):
    def __init__(self, model: SymVAE) -> None:
        super().__init__()
        self.model = model

    def forward(self, traces: torch.Tensor):
        return self.model.nuisance_posterior_raw(traces)


class _Decoder(nn.Module):
    def __init__(self, model: SymVAE) -> None:
        super().__init__()
        self.model = model

    def forward(self, codes: torch.Tensor):
        return self.model.decode(codes)


class _Reencode(nn.Module):
    def __init__(self, model: SymVAE) -> None:
        super().__init__()
        self.model = model

    def forward(self, traces: torch.Tensor):
        return self.model.reencode_raw(traces)


def _conv1d_input_backward(
    grad_out,
    inp,
    weight,
    bias_sizes,
    stride,
    padding,
    dilation,
    transposed,
    output_padding,
    groups,
    output_mask,
):
    """Gradient of an unpadded, stride-1 conv1d w.r.t. its input, as a transposed conv."""
    if (
        output_mask[1]
        or output_mask[2]
        or list(stride) != [1]
        or list(padding) != [0]
        or groups != 1
    ):
        raise NotImplementedError("only input gradients of plain stride-1 conv1d are exported")
    return F.conv_transpose1d(grad_out, weight), None, None


def trace_latent_step(model: SymVAE, example: tuple[torch.Tensor, ...]) -> torch.fx.GraphModule:
    """The latent step as an FX graph with a symbolic number of codes."""
    table = dict(torch._decomp.core_aten_decompositions())
    table[torch.ops.aten.convolution_backward.default] = _conv1d_input_backward
    return make_fx(
        partial(latent_step, model),
        decomposition_table=table,
        tracing_mode="symbolic",
        _allow_non_fake_inputs=True,
    )(*example)


def example_inputs(model: SymVAE) -> dict[str, tuple[torch.Tensor, ...]]:
    """Example inputs per graph, sized so that no dynamic dimension is specialised."""
    c = model.config
    a, b = _free_sizes({c.nt, c.p, c.q, c.p + c.q}, 2)
    gen = torch.Generator().manual_seed(0)
    scalar = torch.tensor
    return {
        "coherent": (torch.randn(a, b, c.nt, generator=gen), torch.ones(a, b)),
        "nuisance": (torch.randn(b, c.nt, generator=gen),),
        "decoder": (torch.randn(b, c.p + c.q, generator=gen),),
        "reencode": (torch.randn(b, c.nt, generator=gen),),
        "latent_step": (
            torch.randn(b, c.q, generator=gen),
            torch.randn(c.p, generator=gen),
            0.1 * torch.randn(c.p, generator=gen),
            scalar(1.0),
            scalar(1.0),
            scalar(0.1),
            scalar(0.1),
        ),
    }


def _dynamic_shapes(graph: str) -> tuple[Any, ...]:
    dim = torch.export.Dim
    if graph == "coherent":
        g, n = dim("G", min=1, max=MAX_DIM), dim("n", min=1, max=MAX_DIM)
        return ({0: g, 1: n}, {0: g, 1: n})
    if graph == "latent_step":
        return ({0: dim("N", min=1, max=MAX_DIM)}, None, None, None, None, None, None)
    return ({0: dim("T", min=1, max=MAX_DIM)},)


def export_graphs(model: SymVAE, out_dir: Path) -> list[Path]:
    """Write the five ONNX graphs of ``model`` into ``out_dir``; return their paths."""
    _quiet_exporter_logs()
    if model.config.k != 1:
        raise ValueError(
            f"ONNX export supports k = 1 coherent category only; this model has k = {model.config.k}"
        )
    model = copy.deepcopy(model).cpu().eval()
    for param in model.parameters():
        param.requires_grad_(False)
    examples = example_inputs(model)
    modules: dict[str, nn.Module] = {
        "coherent": _Coherent(model),
        "nuisance": _Nuisance(model),
        "decoder": _Decoder(model),
        "reencode": _Reencode(model),
        "latent_step": trace_latent_step(model, examples["latent_step"]),
    }
    paths = []
    for graph in ONNX_GRAPHS:
        inputs, outputs = IO_NAMES[graph]
        path = Path(out_dir) / f"{graph}.onnx"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = torch.onnx.export(
                modules[graph],
                examples[graph],
                dynamo=True,
                input_names=inputs,
                output_names=outputs,
                dynamic_shapes=_dynamic_shapes(graph),
                opset_version=OPSET,
                verbose=False,
            )
        assert program is not None, "torch.onnx.export(dynamo=True) returns a program"
        program.save(str(path))
        log.info("wrote %s", path)
        paths.append(path)
    return paths


def export_model_dir(model_dir: str | Path) -> list[Path]:
    """Export a trained model directory's graphs beside its weights and update model.json."""
    model_dir = Path(model_dir)
    model, info = load_model(model_dir)
    io = IO_NAMES
    if info.model_config.architecture == "symae-physics":
        from symae.export.physics_onnx import PHYSICS_IO, export_physics_graphs

        paths, io = export_physics_graphs(model, model_dir), PHYSICS_IO
    else:
        paths = export_graphs(model, model_dir)
    meta = dict(read_model_dir(model_dir, check=False).meta)
    meta["export"] = {
        "exported": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "opset": OPSET,
        "torch": torch.__version__,
        "io": {g: {"inputs": i, "outputs": o} for g, (i, o) in io.items()},
    }
    write_model_json(model_dir, meta)
    return paths
