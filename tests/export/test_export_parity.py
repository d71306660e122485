"""ONNX export: parity with PyTorch for several sizes, and torch-free loading."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from symae.artifacts.config import ModelConfig, TrainConfig
from symae.artifacts.store import ONNX_GRAPHS, read_model_dir
from symae.contract import DataContract
from symae.export.onnx import export_graphs, export_model_dir
from symae.extract.runtime import OnnxModel
from symae.model import SymVAE
from symae.model.latent import latent_step
from symae.model.weights import save_model_dir

# exports models with the torch dynamo exporter
pytestmark = pytest.mark.slow

NT, P, Q = 192, 6, 5
TOL = 1e-4


def _random_model() -> SymVAE:
    torch.manual_seed(3)
    model = SymVAE(ModelConfig(nt=NT, p=P, q=Q))
    torch.nn.init.normal_(model.shift_net.out.weight, std=0.02)  # shifts away from zero
    return model.eval()


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[SymVAE, Path]:
    model = _random_model()
    model_dir = tmp_path_factory.mktemp("exported") / "m"
    save_model_dir(model, model_dir, "parity", TrainConfig(), DataContract())
    export_model_dir(model_dir)
    return model, model_dir


@pytest.fixture(scope="module")
def onnx_model(exported) -> OnnxModel:
    return OnnxModel.load(exported[1], provider="cpu")


def _traces(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((*shape, NT)).astype(np.float32)


def _close(a: np.ndarray, b: torch.Tensor) -> float:
    return float(np.max(np.abs(np.asarray(a) - b.detach().numpy())))


def test_model_json_lists_graphs_and_checksums(exported) -> None:
    info = read_model_dir(exported[1])
    assert set(info.meta["onnx"]) == set(ONNX_GRAPHS)
    assert {f"{g}.onnx" for g in ONNX_GRAPHS} <= set(info.meta["files"])
    assert info.meta["export"]["io"]["coherent"]["inputs"] == ["traces", "mask"]


@pytest.mark.parametrize("groups, traces", [(1, 1), (2, 5), (3, 23)])
def test_coherent_parity(exported, onnx_model, groups: int, traces: int) -> None:
    model = exported[0]
    x = _traces(groups, traces, seed=traces)
    mask = np.ones((groups, traces), np.float32)
    mask[-1, traces // 2 + 1 :] = 0.0
    got = onnx_model.coherent(x, mask)
    with torch.no_grad():
        want = model.coherent_posterior(torch.from_numpy(x), torch.from_numpy(mask))
    for a, b in zip(got, want, strict=True):
        assert a.shape == tuple(b.shape)
        assert _close(a, b) <= TOL
    assert np.any(np.abs(got[2]) > 1e-3)  # the shifts are really exercised


@pytest.mark.parametrize("n", [1, 4, 37])
def test_per_trace_graphs_parity(exported, onnx_model, n: int) -> None:
    model = exported[0]
    x = _traces(n, seed=100 + n)
    codes = np.random.default_rng(n).standard_normal((n, P + Q)).astype(np.float32)
    with torch.no_grad():
        want_n = model.nuisance_posterior(torch.from_numpy(x))
        want_d = model.decode(torch.from_numpy(codes))
        want_r = model.reencode(torch.from_numpy(x))
    for a, b in zip(onnx_model.nuisance(x), want_n, strict=True):
        assert _close(a, b) <= TOL
    assert _close(onnx_model.decode(codes), want_d) <= TOL
    for a, b in zip(onnx_model.reencode(x), want_r, strict=True):
        assert _close(a, b) <= TOL


@pytest.mark.parametrize("n", [1, 3, 10])
def test_latent_step_parity(exported, onnx_model, n: int) -> None:
    model = exported[0]
    rng = np.random.default_rng(7 + n)
    codes = rng.standard_normal((n, Q)).astype(np.float32)
    ref_mu = rng.standard_normal(P).astype(np.float32)
    ref_logvar = (0.1 * rng.standard_normal(P)).astype(np.float32)
    j1, j2, alpha, lr = 3.0, 50.0, 0.1, 0.1
    out, objective, kl, l1 = onnx_model.latent_step(codes, ref_mu, ref_logvar, j1, j2, alpha, lr)
    scalars = [torch.tensor(v) for v in (j1, j2, alpha, lr)]
    want = latent_step(
        model,
        torch.from_numpy(codes),
        torch.from_numpy(ref_mu),
        torch.from_numpy(ref_logvar),
        *scalars,
    )
    assert _close(out, want[0]) <= TOL
    assert (
        float(torch.sum(torch.abs(want[0].detach() - torch.from_numpy(codes)))) > 1e-4
    )  # it moved
    # the scalar terms are sums over N * nt values: compare relative to their size
    for got, ref in zip((objective, kl, l1), (w.detach() for w in want[1:]), strict=True):
        assert abs(got - float(ref)) <= 1e-5 * max(1.0, abs(float(ref)))
    assert objective == pytest.approx(kl / j1 + alpha * l1 / j2, rel=1e-5)


def test_dynamic_sizes_survive_model_dimensions_of_the_same_size(tmp_path: Path) -> None:
    # p = 2 and q = 3 equal the smallest example sizes: the graphs must stay dynamic
    torch.manual_seed(0)
    model = SymVAE(ModelConfig(nt=NT, p=2, q=3)).eval()
    save_model_dir(model, tmp_path / "m", "small-dims", TrainConfig(), DataContract())
    export_model_dir(tmp_path / "m")
    m = OnnxModel.load(tmp_path / "m", provider="cpu")
    rng = np.random.default_rng(0)
    for n in (1, 3, 10):
        codes = rng.standard_normal((n, 3)).astype(np.float32)
        out, *_ = m.latent_step(
            codes, np.zeros(2, np.float32), np.zeros(2, np.float32), 1.0, 1.0, 0.1, 0.1
        )
        assert out.shape == (n, 3)
        assert m.coherent(_traces(n, 2, seed=n))[0].shape == (n, 2)


def test_runtime_refuses_bad_input(onnx_model) -> None:
    with pytest.raises(ValueError, match="nt=192"):
        onnx_model.nuisance(np.zeros((3, 100), np.float32))
    with pytest.raises(ValueError, match="NaN or inf"):
        onnx_model.reencode(np.full((2, NT), np.nan, np.float32))
    with pytest.raises(ValueError, match=r"groups \[0\] have no real traces"):
        onnx_model.coherent(_traces(1, 3), np.zeros((1, 3), np.float32))
    with pytest.raises(ValueError, match="auto, cuda, cpu"):
        OnnxModel(onnx_model.info, provider="tpu")


def test_k_above_one_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="k = 1 coherent category only; this model has k = 2"):
        export_graphs(SymVAE(ModelConfig(nt=NT, p=4, q=4, k=2)), tmp_path)


TORCH_FREE = """
import json, sys
import numpy as np
from symae.extract.runtime import OnnxModel
m = OnnxModel.load(sys.argv[1], provider="cpu")
x = np.random.default_rng(0).standard_normal((2, 4, 192)).astype(np.float32)
mu, logvar, shift = m.coherent(x)
n_mu, _, _ = m.nuisance(x[0])
recon = m.decode(np.concatenate([np.repeat(mu[:1], 4, 0), n_mu], axis=1))
r_mu, _ = m.reencode(recon)
out, j, kl, l1 = m.latent_step(n_mu, mu[0], logvar[0], 1.0, 1.0, 0.1, 0.1)
print(json.dumps({"torch": "torch" in sys.modules, "provider": m.provider,
                  "shapes": [list(mu.shape), list(recon.shape), list(out.shape)]}))
"""


def test_runtime_never_imports_torch(exported) -> None:
    result = subprocess.run(
        [sys.executable, "-c", TORCH_FREE, str(exported[1])],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["torch"] is False
    assert report["provider"] == "CPUExecutionProvider"
    assert report["shapes"] == [[2, P], [4, NT], [4, Q]]


def test_auto_provider_gives_the_same_numbers(exported, onnx_model) -> None:
    auto = OnnxModel.load(exported[1], provider="auto")
    assert auto.provider in ("CUDAExecutionProvider", "CPUExecutionProvider")
    x = _traces(2, 6, seed=11)
    for a, b in zip(auto.coherent(x), onnx_model.coherent(x), strict=True):
        assert float(np.max(np.abs(a - b))) <= TOL


def test_graphs_made_for_another_contract_are_refused(exported, tmp_path: Path) -> None:
    import shutil

    from symae.artifacts.store import ArtifactError

    copy = tmp_path / "m"
    shutil.copytree(exported[1], copy)
    meta = json.loads((copy / "model.json").read_text())
    meta["contract"]["nt"] = 96  # model.json is outside the checksums
    (copy / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match="takes traces of 192 samples .* nt=96"):
        OnnxModel.load(copy, provider="cpu")
