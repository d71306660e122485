"""Model loading refuses unchecked graphs, paths outside the folder and an unpinned
model.json when the deployment pins one (SYMAE_MODEL_SHA256)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from symae.artifacts.store import (
    ArtifactError,
    model_json_digest,
    read_model_dir,
    resolve,
)


@pytest.fixture
def model(tmp_path: Path) -> Path:
    out = tmp_path / "m"
    shutil.copytree(resolve("default"), out)
    return out


def _edit(model: Path, fn) -> None:
    meta = json.loads((model / "model.json").read_text())
    fn(meta)
    (model / "model.json").write_text(json.dumps(meta))


def test_a_graph_missing_from_the_file_list_is_refused(model: Path) -> None:
    _edit(model, lambda m: m["files"].pop("decoder.onnx"))
    with pytest.raises(ArtifactError, match="no checksum"):
        read_model_dir(model)


def test_graph_paths_cannot_leave_the_model_folder(model: Path, tmp_path: Path) -> None:
    (tmp_path / "x.onnx").write_bytes(b"evil")

    def escape(meta: dict) -> None:
        meta["onnx"]["decoder"] = "../../x.onnx"
        meta["files"]["../../x.onnx"] = "0" * 64

    _edit(model, escape)
    with pytest.raises(ArtifactError, match="outside the model folder"):
        read_model_dir(model)
    with pytest.raises(ArtifactError, match="outside the model folder"):
        read_model_dir(model, check=False).onnx_graphs  # noqa: B018


def test_pinned_digest(model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    digest = model_json_digest(model)
    monkeypatch.setenv("SYMAE_MODEL_SHA256", digest)
    assert read_model_dir(model).path == model
    monkeypatch.setenv("SYMAE_MODEL_SHA256", "0" * 64)
    with pytest.raises(ArtifactError, match="pins"):
        read_model_dir(model)
