"""Fixtures shared by the whole suite."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from symae.data.reference import REPO_ROOT, example_event_dir, scardec_dir
from symae.synth.generator import SyntheticEvent
from tests.synth.helpers import synthetic_event

HAS_TORCH = importlib.util.find_spec("torch") is not None

# Builds a tiny randomly-initialised model (p = 6, q = 5, nt = 192) and exports its five
# ONNX graphs. torch lives in the child process only: the extraction and services under
# test must not need it.
_BUILD_MODEL = """
import sys
from pathlib import Path
import torch
from symae.artifacts.config import ModelConfig, TrainConfig
from symae.contract import DataContract
from symae.export.onnx import export_model_dir
from symae.model import SymVAE
from symae.model.weights import save_model_dir
torch.manual_seed(0)
model = SymVAE(ModelConfig(nt=192, p=6, q=5)).eval()
save_model_dir(model, Path(sys.argv[1]), "tiny", TrainConfig(), DataContract())
export_model_dir(sys.argv[1])
"""


# Without torch (Pythons whose CPU torch wheel is not on disk, see ``make test-versions``)
# the trainer, model and export tests are not collected; the tiny-model fixture skips.
collect_ignore_glob = [] if HAS_TORCH else ["model/*", "train/*", "export/*", "artifacts/*"]


@pytest.fixture(scope="session")
def scardec_root() -> Path:
    path = scardec_dir()
    if not path.is_dir():
        pytest.fail(
            f"SCARDEC reference data missing at {path} (set SYMAE_REFERENCE_DATA or reinstall)"
        )
    return path


@pytest.fixture(scope="session")
def bfo_dir() -> Path:
    path = example_event_dir()
    if not path.is_dir():
        pytest.fail(f"real II.BFO record missing at {path} (set SYMAE_REFERENCE_DATA or reinstall)")
    return path


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny randomly-initialised model directory (name ``tiny``) with its ONNX graphs,
    built once per session in a child process."""
    if not HAS_TORCH:
        pytest.skip("building the tiny model needs torch (train extra)")
    out = tmp_path_factory.mktemp("model") / "tiny"
    subprocess.run(
        [sys.executable, "-c", _BUILD_MODEL, str(out)],
        check=True,
        cwd=REPO_ROOT,
        capture_output=True,
        timeout=300,
    )
    return out


@pytest.fixture(scope="session")
def small_event() -> SyntheticEvent:
    return synthetic_event(seed=11)
