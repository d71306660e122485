"""Fixtures of the extraction tests: a tiny exported model and small synthetic events."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from symae.data.reference import REPO_ROOT
from symae.synth.config import SynthConfig
from symae.synth.generator import SyntheticEvent, synthesize_event
from symae.synth.source import parametric_source

# torch lives in the child process only: the extraction under test must not need it
_BUILD_MODEL = """
import sys
from pathlib import Path
import torch
from symae.contract import DataContract
from symae.export.onnx import export_model_dir
from symae.model import SymVAE
from symae.model.weights import save_model_dir
from symae.artifacts.config import ModelConfig, TrainConfig
torch.manual_seed(0)
save_model_dir(SymVAE(ModelConfig(p=6, q=5)).eval(), Path(sys.argv[1]), "tiny-extract",
               TrainConfig(), DataContract())
export_model_dir(sys.argv[1])
"""


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised tiny model (p = 6, q = 5) with its five ONNX graphs."""
    out = tmp_path_factory.mktemp("extract-model") / "tiny"
    subprocess.run([sys.executable, "-c", _BUILD_MODEL, str(out)], check=True, cwd=REPO_ROOT,
                   capture_output=True, timeout=300)
    return out


def synthetic_event(seed: int, n_stations: int = 40, directivity: bool = False) -> SyntheticEvent:
    """A parametric-source event through the project generator (fixed seed)."""
    rng = np.random.default_rng(seed)
    config = SynthConfig(n_stations=n_stations, directivity=directivity, mw_range=(7.0, 7.5),
                         depth_range_km=(20.0, 100.0))
    source = parametric_source(rng, f"test{seed}", config.mw_range, config.depth_range_km,
                               config.raw_dt, directivity, datetime(2020, 1, 1, tzinfo=UTC))
    return synthesize_event(rng, source, config)


@pytest.fixture(scope="session")
def small_event() -> SyntheticEvent:
    return synthetic_event(seed=11)
