"""ONNX export of a ``symae-physics`` model (``symae export MODEL_DIR`` dispatches here).

Four graphs (opset 18, dynamic group/trace/code counts), the per-trace Green's function
being one more input wherever the decoder or the coherent encoder needs it:

| graph | inputs | outputs |
|---|---|---|
| coherent | traces (G, n, nt), greens (G, n, nt), mask (G, n) | mu (G, p), logvar (G, p), shift (G, n) |
| nuisance | traces (T, nt) | mu (T, q), log_sigma (T, q), shift (T,) |
| decoder | codes (T, p+q), greens (T, nt), t_max (T,) | recon (T, nt) (aligned frame) |
| stf | codes (S, p), t_max (S,) | stf (S, J) positive STF on j*dt, j < J |

``t_max`` is the STF support in s (``symae.inversion.grid.support_s`` of the catalogue Mw).

Each trace's informativeness is a KL between posteriors, computed with ``coherent`` on
groups of one trace; no latent descent exists for this architecture.
"""

from __future__ import annotations

import copy
import warnings
from pathlib import Path

import torch
from torch import nn

from symae.model.physics import PhysicsSymAE

PHYSICS_IO: dict[str, tuple[list[str], list[str]]] = {
    "coherent": (["traces", "greens", "mask"], ["mu", "logvar", "shift"]),
    "nuisance": (["traces"], ["mu", "log_sigma", "shift"]),
    "decoder": (["codes", "greens", "t_max"], ["recon"]),
    "stf": (["codes", "t_max"], ["stf"]),
}


class _Graph(nn.Module):
    def __init__(self, model: PhysicsSymAE) -> None:
        super().__init__()
        self.model = model


class _Coherent(_Graph):
    def forward(self, traces, greens, mask):
        return self.model.coherent_posterior_raw(traces, greens, mask)


class _Nuisance(_Graph):
    def forward(self, traces):
        return self.model.nuisance_posterior_raw(traces)


class _Decoder(_Graph):
    def forward(self, codes, greens, t_max):
        return self.model.decode_traces(codes, greens, t_max)


class _Stf(_Graph):
    def forward(self, codes, t_max):
        return self.model.stf_head(codes, t_max)


GRAPH_MODULES = {"coherent": _Coherent, "nuisance": _Nuisance, "decoder": _Decoder, "stf": _Stf}


def _examples(model: PhysicsSymAE) -> dict[str, tuple[torch.Tensor, ...]]:
    from symae.export.common import _free_sizes

    c = model.config
    a, b = _free_sizes({c.nt, c.p, c.q, c.p + c.q, c.stf_basis, model.stf_head.n_samples}, 2)
    gen = torch.Generator().manual_seed(0)
    return {
        "coherent": (
            torch.randn(a, b, c.nt, generator=gen),
            torch.randn(a, b, c.nt, generator=gen),
            torch.ones(a, b),
        ),
        "nuisance": (torch.randn(b, c.nt, generator=gen),),
        "decoder": (
            torch.randn(b, c.p + c.q, generator=gen),
            torch.randn(b, c.nt, generator=gen),
            torch.full((b,), 30.0),
        ),
        "stf": (torch.randn(b, c.p, generator=gen), torch.full((b,), 30.0)),
    }


def _dynamic(graph: str):
    from symae.export.common import MAX_DIM

    dim = torch.export.Dim
    if graph == "coherent":
        g, n = dim("G", min=1, max=MAX_DIM), dim("n", min=1, max=MAX_DIM)
        return ({0: g, 1: n}, {0: g, 1: n}, {0: g, 1: n})
    t = dim("T", min=1, max=MAX_DIM)
    if graph == "decoder":
        return ({0: t}, {0: t}, {0: t})
    if graph == "stf":
        return ({0: t}, {0: t})
    return ({0: t},)


def export_physics_graphs(model: PhysicsSymAE, out_dir: Path) -> list[Path]:
    """Write the four graphs of a symae-physics model into ``out_dir``."""
    from symae.export.common import OPSET, _quiet_exporter_logs

    _quiet_exporter_logs()
    model = copy.deepcopy(model).cpu().eval()
    for param in model.parameters():
        param.requires_grad_(False)
    examples = _examples(model)
    paths = []
    for graph, (inputs, outputs) in PHYSICS_IO.items():
        path = Path(out_dir) / f"{graph}.onnx"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = torch.onnx.export(
                GRAPH_MODULES[graph](model),
                examples[graph],
                dynamo=True,
                input_names=inputs,
                output_names=outputs,
                dynamic_shapes=_dynamic(graph),
                opset_version=OPSET,
                verbose=False,
            )
        program.save(str(path))
        paths.append(path)
    return paths
