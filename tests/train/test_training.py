"""Training: the `symae train` contract, learning, exact resume, DDP with gloo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from symae.artifacts.config import ModelConfig, Stage, TrainConfig, load_config
from symae.artifacts.store import ONNX_GRAPHS, read_model_dir
from symae.data.dataset import Dataset
from symae.model.weights import load_model
from symae.train.run import train

from .synthetic_set import write_synthetic_set

# each test trains or resumes a model in a subprocess
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SYMAE = [sys.executable, "-m", "symae.cli"]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def data_file(tmp_path_factory) -> Path:
    return write_synthetic_set(tmp_path_factory.mktemp("data") / "synthetic.h5")


@pytest.fixture(scope="module")
def trained(tmp_path_factory, data_file: Path) -> Path:
    """The command-line contract: `symae train --config tiny`, then `symae export`."""
    out = tmp_path_factory.mktemp("trained") / "model"
    cmd = [
        *SYMAE,
        "train",
        "--config",
        "tiny",
        "--data",
        str(data_file),
        "--out",
        str(out),
        "--no-progress",
    ]
    subprocess.run(cmd, check=True, env=_env(), cwd=REPO, timeout=300)
    subprocess.run([*SYMAE, "export", str(out)], check=True, env=_env(), cwd=REPO, timeout=300)
    return out


def test_train_and_export_write_a_complete_artifact(trained: Path) -> None:
    info = read_model_dir(trained)
    meta = info.meta
    assert meta["model"] == load_config("tiny")[0].to_dict(with_contract=False)
    assert info.model_config == load_config("tiny")[0]
    assert meta["data"]["events"] == 2 and meta["data"]["groups"] == 6
    assert len(meta["history"]) == load_config("tiny")[1].total_epochs
    assert set(meta["onnx"]) == set(ONNX_GRAPHS)
    for rel in (
        "weights.safetensors",
        "figures/loss_history.png",
        "figures/loss_history.html",
        "figures/reconstruction.png",
        "figures/shifts.png",
    ):
        assert rel in meta["files"] and (trained / rel).stat().st_size > 0


def test_loss_falls(trained: Path) -> None:
    history = read_model_dir(trained).meta["history"]
    for part in ("train", "test"):
        first, last = history[0][part], history[-1][part]
        assert last["neg_elbo"] < 0.8 * first["neg_elbo"], (part, first, last)
        assert last["mse"] < 0.6 * first["mse"], (part, first, last)


def test_coherent_codes_separate_events(trained: Path, data_file: Path) -> None:
    model, _ = load_model(trained)
    codes: dict[str, list[np.ndarray]] = {}
    with Dataset(data_file) as ds, torch.no_grad():
        for ref in ds.index():
            x = torch.from_numpy(ds.read_group(ref).traces).unsqueeze(0)
            codes.setdefault(ref.event_id, []).append(model.coherent_posterior(x)[0][0].numpy())
    same = [
        np.linalg.norm(a - b) for c in codes.values() for i, a in enumerate(c) for b in c[i + 1 :]
    ]
    a, b = codes.values()
    different = [np.linalg.norm(x - y) for x in a for y in b]
    assert min(different) > max(same), (min(different), max(same))


def _small_config(**changes) -> tuple[ModelConfig, TrainConfig]:
    tcfg = TrainConfig(
        ntau=4,
        batch_groups=4,
        steps_per_epoch=3,
        stages=(Stage(2, 1e-3), Stage(2, 1e-4)),
        min_traces=4,
        test_fraction=0.2,
        test_batches=1,
    )
    return ModelConfig(p=4, q=4), replace(tcfg, **changes)


def test_resume_continues_exactly(tmp_path: Path, data_file: Path) -> None:
    mcfg, tcfg = _small_config()
    straight = train(mcfg, tcfg, [data_file], tmp_path / "straight", device="cpu", progress=False)
    first = train(
        mcfg, tcfg, [data_file], tmp_path / "resumed", device="cpu", progress=False, max_epochs=1
    )
    assert not first.completed and not (tmp_path / "resumed" / "model.json").exists()
    second = train(
        mcfg,
        tcfg,
        [data_file],
        tmp_path / "resumed",
        device="cpu",
        progress=False,
        resume=True,
        max_epochs=2,
    )  # crosses the stage boundary
    assert not second.completed
    done = train(
        mcfg, tcfg, [data_file], tmp_path / "resumed", device="cpu", progress=False, resume=True
    )
    assert straight.completed and done.completed
    a = load_file(str(tmp_path / "straight" / "weights.safetensors"))
    b = load_file(str(tmp_path / "resumed" / "weights.safetensors"))
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    strip = [{k: v for k, v in h.items() if k != "seconds"} for h in straight.info.meta["history"]]
    assert strip == [
        {k: v for k, v in h.items() if k != "seconds"} for h in done.info.meta["history"]
    ]
    assert straight.info.version == read_model_dir(tmp_path / "straight").version


def test_resume_refuses_other_config_and_fresh_run_refuses_existing_dir(
    tmp_path: Path, data_file: Path
) -> None:
    mcfg, tcfg = _small_config()
    train(mcfg, tcfg, [data_file], tmp_path / "m", device="cpu", progress=False, max_epochs=1)
    with pytest.raises(ValueError, match="different config"):
        train(mcfg, replace(tcfg, seed=5), [data_file], tmp_path / "m", device="cpu", resume=True)
    with pytest.raises(FileExistsError, match="--resume"):
        train(mcfg, tcfg, [data_file], tmp_path / "m", device="cpu")
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        train(mcfg, tcfg, [data_file], tmp_path / "other", device="cpu", resume=True)


def test_data_of_another_trace_length_is_refused(tmp_path: Path, data_file: Path) -> None:
    _, tcfg = _small_config()
    with pytest.raises(ValueError, match="nt=192, the model config expects nt=96"):
        train(ModelConfig(nt=96, p=4, q=4), tcfg, [data_file], tmp_path / "m", device="cpu")


def test_ddp_on_cpu_with_gloo_and_two_processes(tmp_path: Path, data_file: Path) -> None:
    mcfg, tcfg = _small_config(stages=(Stage(1, 1e-3), Stage(1, 1e-4)))
    config = tmp_path / "ddp.json"
    config.write_text(json.dumps({"model": mcfg.to_dict(), "train": tcfg.to_dict()}))
    out = tmp_path / "ddp_model"
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node",
        "2",
        "-m",
        "symae.cli",
        "train",
        "--config",
        str(config),
        "--data",
        str(data_file),
        "--out",
        str(out),
        "--device",
        "cpu",
        "--no-progress",
    ]
    result = subprocess.run(cmd, env=_env(), cwd=REPO, timeout=300, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    meta = read_model_dir(out).meta
    assert meta["training"]["processes"] == 2
    assert len(meta["history"]) == 2
    assert all(np.isfinite(h["train"]["neg_elbo"]) for h in meta["history"])


def test_k_categories_train(tmp_path: Path, data_file: Path) -> None:
    mcfg, tcfg = _small_config(stages=(Stage(1, 1e-3),))
    result = train(
        replace(mcfg, k=3), tcfg, [data_file], tmp_path / "k3", device="cpu", progress=False
    )
    assert result.completed and result.info.meta["model"]["k"] == 3
    record = result.info.meta["history"][0]
    assert np.isfinite(record["train"]["loss"]) and record["train"]["kl_coherent"] > 0


def test_cli_resume_uses_the_checkpoint_config(tmp_path: Path, data_file: Path) -> None:
    mcfg, tcfg = _small_config(stages=(Stage(1, 1e-3), Stage(1, 1e-4)))
    config = tmp_path / "two.json"
    config.write_text(json.dumps({"model": mcfg.to_dict(), "train": tcfg.to_dict()}))
    out = tmp_path / "m"
    base = [
        *SYMAE,
        "train",
        "--data",
        str(data_file),
        "--out",
        str(out),
        "--device",
        "cpu",
        "--no-progress",
    ]
    first = subprocess.run(
        [*base, "--config", str(config), "--max-epochs", "1"],
        env=_env(),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert first.returncode == 0, first.stderr[-2000:]
    assert "continue with --resume" in first.stdout
    second = subprocess.run(
        [*base, "--resume"], env=_env(), cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert second.returncode == 0, second.stderr[-2000:]
    assert len(read_model_dir(out).meta["history"]) == 2
