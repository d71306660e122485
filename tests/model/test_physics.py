"""The physics-informed SymAE: STF head, forward model, invariance, export, serving, training."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import torch

from symae.artifacts.config import ModelConfig, TrainConfig, load_config
from symae.contract import DataContract
from symae.inversion.greens import TraceGeometry, greens_spectra
from symae.inversion.grid import trace_greens
from symae.inversion.settings import InversionSettings
from symae.model.physics import PhysicsSymAE, bspline_basis
from symae.model.symvae import SymVAE
from symae.model.weights import build_model, save_model_dir

CONTRACT = DataContract()
NT = CONTRACT.nt
CONFIG = ModelConfig(
    nt=NT, p=6, q=5, architecture="symae-physics", stf_basis=12, stf_support_s=40.0
)
MT = {"Mrr": 0.3, "Mtt": -0.8, "Mpp": 0.5, "Mrt": 0.4, "Mrp": -0.2, "Mtp": 0.6}


def _geometry(n: int, seed: int = 0) -> TraceGeometry:
    rng = np.random.default_rng(seed)
    return TraceGeometry(
        [f"S{i}" for i in range(n)],
        rng.uniform(35, 85, n),
        rng.uniform(0, 360, n),
        rng.uniform(15, 35, n),
        np.where(rng.random(n) < 0.5, -1.0, 1.0),
        np.zeros(n, int),
    )


def _model(seed: int = 0) -> PhysicsSymAE:
    torch.manual_seed(seed)
    model = PhysicsSymAE(CONFIG)
    torch.nn.init.normal_(model.shift_net.out.weight, std=0.02)
    torch.nn.init.normal_(model.residual.out.weight, std=0.05)
    return model.eval()


def test_architecture_field_defaults_to_symvae() -> None:
    assert ModelConfig().architecture == "symvae"
    assert isinstance(build_model(ModelConfig(nt=NT, p=4, q=4)), SymVAE)
    assert ModelConfig.from_dict({"p": 4, "q": 4}).architecture == "symvae"  # older model.json
    m, _ = load_config("physics")
    assert m.architecture == "symae-physics"
    with pytest.raises(ValueError, match="architecture"):
        ModelConfig(architecture="nope")


def test_stf_head_is_positive() -> None:
    model = _model()
    codes = 10.0 * torch.randn(64, CONFIG.p)
    t_max = torch.linspace(20.0, 40.0, 64)
    stf = model.stf_head(codes, t_max)
    assert stf.shape == (64, model.stf_head.n_samples)
    assert bool((stf >= 0).all()) and bool((stf.sum(dim=1) > 0).all())
    t = torch.arange(stf.shape[1])[None, :]
    assert bool((stf[t >= t_max[:, None]] < 1e-6).all())  # nothing after the support
    basis = bspline_basis(41, 12, 1.0, 40.0)
    assert (basis >= 0).all() and basis[0].max() == 0 and basis[-1].max() < 1e-6
    torch_basis = model.stf_head.basis(torch.tensor(40.0)).numpy()
    assert np.allclose(torch_basis, basis, atol=1e-6)


def test_zero_nuisance_decoder_is_the_physics_forward_model() -> None:
    """r = 0: decoder = taper, demean, standardise of the causal convolution G_i * m,
    and it equals the inversion's own forward model (solve.predict at zero lag)."""
    from symae.inversion.band import window_taper
    from symae.inversion.solve import Frame, predict

    model = _model()
    torch.nn.init.zeros_(model.residual.out.weight)
    torch.nn.init.zeros_(model.residual.out.bias)
    geo = _geometry(5)
    g = trace_greens(geo, 60.0, MT, CONTRACT)
    code = torch.randn(1, CONFIG.p + CONFIG.q)
    codes = code.repeat(5, 1)
    with torch.no_grad():
        out = model.decode_traces(codes, torch.from_numpy(g), torch.full((5,), 30.0)).numpy()
        m = model.stf_head(code[:, : CONFIG.p], torch.tensor([30.0]))[0].numpy().astype(np.float64)
    conv = np.stack([np.convolve(gi, m)[:NT] for gi in g.astype(np.float64)])
    y = conv * window_taper(CONTRACT)
    y -= y.mean(axis=1, keepdims=True)
    y /= y.std(axis=1, keepdims=True) + 1e-5
    assert np.max(np.abs(out - y)) < 1e-3
    settings = InversionSettings()
    gs = greens_spectra(geo, 60.0, MT, CONTRACT, settings)
    frame = Frame(CONTRACT.t0, CONTRACT.dt, NT, window_taper(CONTRACT))
    ref = predict(gs, m, np.zeros(5), frame) * geo.polarity[:, None]
    ref /= ref.std(axis=1, keepdims=True)
    # the inversion's FFT keeps the band's long causal tail (wrapped, > nt s): 1e-2 of unit std
    assert np.max(np.abs(out - ref)) < 1e-2


def test_coherent_code_is_invariant_to_trace_order() -> None:
    model = _model()
    x = torch.randn(2, 7, NT)
    g = torch.from_numpy(
        np.stack([trace_greens(_geometry(7, s), 100.0, MT, CONTRACT) for s in (1, 2)])
    )
    mask = torch.ones(2, 7)
    perm = torch.randperm(7)
    with torch.no_grad():
        mu, logvar, _ = model.coherent_posterior_raw(x, g, mask)
        mu2, logvar2, _ = model.coherent_posterior_raw(x[:, perm], g[:, perm], mask)
    assert torch.allclose(mu, mu2, atol=1e-5) and torch.allclose(logvar, logvar2, atol=1e-5)


def test_p_only_greens_without_mechanism() -> None:
    geo = _geometry(4)
    g = trace_greens(geo, 100.0, None, CONTRACT)
    assert np.allclose(g, g[:1])  # the same P through t* and the band for every trace
    assert np.abs(g).max() == pytest.approx(1.0)


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[PhysicsSymAE, Path]:
    from symae.export.onnx import export_model_dir

    model = _model(3)
    model_dir = tmp_path_factory.mktemp("physics") / "m"
    save_model_dir(model, model_dir, "symae-physics", TrainConfig(), CONTRACT)
    export_model_dir(model_dir)
    return model, model_dir


def test_export_parity(exported) -> None:
    from symae.extract.physics import PhysicsModel

    model, model_dir = exported
    onnx = PhysicsModel.load(model_dir, provider="cpu")
    rng = np.random.default_rng(0)
    for g_count, n in ((1, 1), (3, 9)):
        x = rng.standard_normal((g_count, n, NT)).astype(np.float32)
        gr = rng.standard_normal((g_count, n, NT)).astype(np.float32)
        mask = np.ones((g_count, n), np.float32)
        mask[-1, n // 2 :] = 0 if n > 1 else 1
        got = onnx.coherent(x, gr, mask)
        with torch.no_grad():
            want = model.coherent_posterior_raw(
                torch.from_numpy(x), torch.from_numpy(gr), torch.from_numpy(mask)
            )
        for a, b in zip(got, want, strict=True):
            assert np.max(np.abs(a - b.numpy())) <= 1e-4
    t = rng.standard_normal((5, NT)).astype(np.float32)
    codes = rng.standard_normal((5, CONFIG.p + CONFIG.q)).astype(np.float32)
    gr = rng.standard_normal((5, NT)).astype(np.float32)
    tm = np.linspace(20.0, 40.0, 5).astype(np.float32)
    with torch.no_grad():
        for a, b in zip(
            onnx.nuisance(t), model.nuisance_posterior_raw(torch.from_numpy(t)), strict=True
        ):
            assert np.max(np.abs(a - b.numpy())) <= 1e-4
        want = model.decode_traces(
            torch.from_numpy(codes), torch.from_numpy(gr), torch.from_numpy(tm)
        ).numpy()
        assert np.max(np.abs(onnx.decode(codes, gr, tm) - want)) <= 1e-4
        want = model.stf_head(torch.from_numpy(codes[:, : CONFIG.p]), torch.from_numpy(tm)).numpy()
        assert np.max(np.abs(onnx.stf(codes[:, : CONFIG.p], tm) - want)) <= 1e-4


@functools.cache
def _event():
    """A small hard-mode event from a parametric source, without a catalogue mechanism."""
    from symae.synth.config import SynthConfig
    from symae.synth.generator import synthesize_event
    from symae.synth.source import parametric_source, synthetic_origin_time

    config = SynthConfig(n_stations=30, mode="hard")
    rng = np.random.default_rng([5, 0])
    src = parametric_source(
        rng,
        "t0",
        (6.5, 7.0),
        (30.0, 200.0),
        config.raw_dt,
        True,
        synthetic_origin_time(datetime(2020, 1, 1, tzinfo=UTC), 0),
    )
    return synthesize_event(rng, src, config).event_data


def test_torch_free_extraction(exported, tmp_path) -> None:
    """physics_stf runs on ONNX Runtime + numpy, without importing torch."""
    _, model_dir = exported
    event = _event()
    from symae.data.dataset import DatasetWriter

    path = tmp_path / "ev.h5"
    with DatasetWriter(path, CONTRACT) as out:
        out.write_event(event)
    code = f"""
import sys, json
import numpy as np
from symae.data.dataset import Dataset
from symae.extract.physics import physics_extract
ds = Dataset({str(path)!r})
r = physics_extract(ds.event(ds.event_ids()[0]), {str(model_dir)!r}, n_samples=20)
assert (r.stf >= 0).all() and abs(r.stf.sum() * (r.times[1] - r.times[0]) - 1) < 1e-6
assert (r.lower <= r.upper + 1e-12).all() and r.informativeness.shape == r.shifts_s.shape
print(json.dumps({{"torch": "torch" in sys.modules, "n": len(r.stf)}}))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).parents[2]
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"torch": False, "n": 41}


def test_refined_runs_on_the_prior(exported) -> None:
    from symae.extract.physics import physics_refined_stf

    times, stf = physics_refined_stf(_event(), exported[1])
    assert (stf >= 0).all() and stf.sum() > 0 and times[0] == 0


def _tiny_schedule(**changes) -> TrainConfig:
    """One epoch of two steps on groups of 4 traces."""
    base = {"ntau": 4, "steps_per_epoch": 2, "min_traces": 3, "test_batches": 1}
    return TrainConfig(**base, stages=({"epochs": 1, "lr": 1e-3},), **changes)


def test_tiny_training_run(tmp_path) -> None:
    from symae.data.dataset import DatasetWriter
    from symae.train.run import train

    path = tmp_path / "train.h5"
    with DatasetWriter(path, CONTRACT) as out:
        out.write_event(_event())
    tcfg = _tiny_schedule(batch_groups=3)
    result = train(
        CONFIG, tcfg, [path], tmp_path / "m", name="symae-physics", device="cpu", progress=False
    )
    assert result.completed
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    assert meta["model"]["architecture"] == "symae-physics" and len(meta["history"]) == 1
    # resume refuses to run twice into one directory
    with pytest.raises(FileExistsError):
        train(CONFIG, replace(tcfg, seed=1), [path], tmp_path / "m", device="cpu", progress=False)


def test_stf_shape_misfit_is_zero_for_a_shifted_copy_and_scale_free() -> None:
    from symae.model.losses import stf_shape_misfit

    truth = torch.zeros(3, 60)
    truth[:, 10:16] = torch.tensor([1.0, 3.0, 4.0, 3.0, 2.0, 1.0])
    est = torch.zeros(3, 60, requires_grad=False)
    est[0] = 5.0 * torch.roll(truth[0], 4)  # delayed, 5x the moment: same shape
    est[1, 40:52] = 1.0  # longer, and 30 samples late: outside the lag window
    est[2, 11:15] = torch.tensor([1.0, 4.0, 4.0, 1.0])  # shorter
    est.requires_grad_(True)
    misfit = stf_shape_misfit(est, truth, max_lag=8)
    assert misfit[0].item() < 1e-10
    assert misfit[1].item() > 1.0 > misfit[2].item() > 0.05
    misfit.sum().backward()
    assert est.grad is not None and float(est.grad[1:].abs().sum()) > 0


def test_training_with_the_stf_term(tmp_path) -> None:
    """stf_weight > 0 adds the supervised STF term: logged, under torchrun too, and refused
    without truth."""
    from symae.data.dataset import DatasetWriter
    from symae.train.physics_trainer import truth_on_head_grid
    from symae.train.run import train

    event = _event()
    head = truth_on_head_grid(event, CONTRACT.dt, CONTRACT.t0, 81)
    assert head is not None and head.shape == (81,) and head.sum() > 0
    path = tmp_path / "train.h5"
    with DatasetWriter(path, CONTRACT) as out:
        out.write_event(event)
    tcfg = _tiny_schedule(batch_groups=4, stf_weight=1.0)
    train(CONFIG, tcfg, [path], tmp_path / "m", device="cpu", progress=False)
    record = json.loads((tmp_path / "m" / "model.json").read_text())["history"][0]
    assert 0 < record["train"]["stf_misfit"] < 10 and 0 < record["test"]["stf_misfit"] < 10
    train_rec = record["train"]
    extra = train_rec["loss"] - train_rec["neg_elbo"] - tcfg.gamma * train_rec["shift_norm"]
    assert extra == pytest.approx(tcfg.stf_weight * NT * train_rec["stf_misfit"], rel=1e-3)

    # two processes (torchrun, gloo): each draws half the groups, the history is summed
    config = tmp_path / "ddp.json"
    config.write_text(json.dumps({"model": CONFIG.to_dict(), "train": tcfg.to_dict()}))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
    cmd += ["-m", "symae.cli", "train", "--config", str(config), "--data", str(path)]
    cmd += ["--out", str(tmp_path / "ddp"), "--device", "cpu", "--no-progress"]
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(repo), "OMP_NUM_THREADS": "1"}
    run = subprocess.run(cmd, env=env, cwd=repo, timeout=300, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-3000:]
    meta = json.loads((tmp_path / "ddp" / "model.json").read_text())
    assert meta["training"]["processes"] == 2
    assert 0 < meta["history"][0]["train"]["stf_misfit"] < 10

    event.truth_stf = None
    bare = tmp_path / "bare.h5"
    with DatasetWriter(bare, CONTRACT) as out:
        out.write_event(event)
    with pytest.raises(ValueError, match="true STF"):
        train(CONFIG, tcfg, [bare], tmp_path / "m2", device="cpu", progress=False)


def test_symvae_loader_refuses_a_physics_model(exported) -> None:
    from symae.artifacts.store import ArtifactError
    from symae.extract.runtime import OnnxModel

    with pytest.raises(ArtifactError, match="not a SymVAE"):
        OnnxModel.load(exported[1], provider="cpu")
    meta = json.loads((exported[1] / "model.json").read_text())
    assert set(meta["onnx"]) == {"coherent", "nuisance", "decoder", "stf"}
    assert meta["export"]["io"]["decoder"]["inputs"] == ["codes", "greens", "t_max"]
