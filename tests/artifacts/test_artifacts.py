"""Model directories: weights round-trip, checksum refusal, registry resolution."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import torch

from symae.artifacts.config import ModelConfig, TrainConfig
from symae.artifacts.store import (
    ArtifactError,
    list_models,
    load,
    make_version,
    read_model_dir,
    register,
    resolve,
)
from symae.contract import DataContract
from symae.model import SymVAE
from symae.model.weights import load_model, save_model_dir

CONFIG = ModelConfig(nt=192, p=4, q=3)


def _save(model_dir: Path, name: str = "tiny", created: datetime | None = None, seed: int = 0):
    torch.manual_seed(seed)
    model = SymVAE(CONFIG).eval()
    history = [{"stage": 0, "epoch": 0, "train": {"neg_elbo": 1.0}, "test": {"neg_elbo": 2.0}}]
    info = save_model_dir(
        model,
        model_dir,
        name,
        TrainConfig(),
        DataContract(),
        data={"files": ["x.h5"]},
        history=history,
        created=created,
    )
    return model, info


def test_round_trip_restores_identical_model(tmp_path: Path) -> None:
    model, info = _save(tmp_path / "m")
    loaded, loaded_info = load_model(tmp_path / "m")
    assert loaded_info.model_config == CONFIG
    assert loaded_info.meta["history"] == info.meta["history"]
    x = torch.randn(2, 5, 192)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x).recon, model(x).recon, rtol=0, atol=0)
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    for key in (
        "name",
        "version",
        "created",
        "code_version",
        "model",
        "train",
        "data",
        "history",
        "files",
    ):
        assert key in meta
    assert meta["version"].endswith("-nt192-p4-q3-k1")


def test_altered_weights_are_refused(tmp_path: Path) -> None:
    _save(tmp_path / "m")
    weights = tmp_path / "m" / "weights.safetensors"
    blob = bytearray(weights.read_bytes())
    blob[-1] ^= 0xFF
    weights.write_bytes(bytes(blob))
    with pytest.raises(ArtifactError, match="sha256 mismatch"):
        load_model(tmp_path / "m")


def test_missing_file_is_refused(tmp_path: Path) -> None:
    _save(tmp_path / "m")
    (tmp_path / "m" / "weights.safetensors").unlink()
    with pytest.raises(ArtifactError, match="listed in model.json but missing"):
        read_model_dir(tmp_path / "m")


def test_not_a_model_dir(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="not a model directory"):
        read_model_dir(tmp_path)


def test_version_string() -> None:
    created = datetime(2026, 11, 25, 17, 12, tzinfo=UTC)
    assert make_version(created, ModelConfig()) == "20261125T1712-nt192-p30-q30-k1"


def test_registry_resolves_name_version_and_latest(tmp_path: Path, monkeypatch) -> None:
    registry = tmp_path / "registry"
    monkeypatch.setenv("SYMAE_MODEL_REGISTRY", str(registry))
    _, old = _save(tmp_path / "a", "alpha", datetime(2026, 1, 1, tzinfo=UTC), seed=1)
    _, new = _save(tmp_path / "b", "alpha", datetime(2026, 2, 1, tzinfo=UTC), seed=2)
    _, beta = _save(tmp_path / "c", "beta", datetime(2026, 3, 1, tzinfo=UTC), seed=3)
    for info in (old, new, beta):
        register(info.path)
    with pytest.raises(ArtifactError, match="already exists"):
        register(new.path)
    assert resolve("alpha") == registry / "alpha" / new.version
    assert resolve(f"alpha:{old.version}") == registry / "alpha" / old.version
    assert resolve("latest") == registry / "beta" / beta.version
    assert load("alpha").version == new.version
    listed = {(m.name, m.version) for m in list_models(include_default=False)}
    assert listed == {("alpha", old.version), ("alpha", new.version), ("beta", beta.version)}
    with pytest.raises(ArtifactError, match="no model 'gamma'"):
        resolve("gamma")
    with pytest.raises(ArtifactError, match="holds no models"):
        resolve("latest", registry=tmp_path / "empty")


def test_default_resolves_to_the_shipped_model(tmp_path: Path, monkeypatch, capsys) -> None:
    import symae.artifacts.store as artifacts
    from symae.commands import models as registry_command

    shipped = tmp_path / "default_model"
    monkeypatch.setattr(artifacts, "DEFAULT_MODEL_DIR", shipped)
    monkeypatch.setenv("SYMAE_MODEL_REGISTRY", str(tmp_path / "registry"))
    with pytest.raises(ArtifactError, match="no symvae model shipped"):
        resolve("default")
    _, info = _save(tmp_path / "staging", "shipped", datetime(2026, 5, 1, tzinfo=UTC))
    target = register(info.path, registry=shipped)
    assert resolve("default") == target
    assert resolve("shipped") == target  # a name falls back to the shipped models
    with pytest.raises(ArtifactError, match="no symae-physics model shipped"):
        artifacts.shipped_model("symae-physics")  # "default" is the SymVAE, never this one
    args = type("Args", (), {"registry": None, "add": None, "verify": True})()
    assert registry_command.run(args) == 0
    listing = capsys.readouterr().out
    assert info.version in listing and "shipped" in listing and "ok" in listing
    (target / "weights.safetensors").write_bytes(b"altered")
    assert registry_command.run(args) == 1
    assert "ALTERED" in capsys.readouterr().out


def _tamper(model_dir: Path, edit) -> None:
    path = model_dir / "model.json"
    meta = json.loads(path.read_text())
    edit(meta)
    path.write_text(json.dumps(meta))


def test_model_json_stores_the_contract_once(tmp_path: Path) -> None:
    _, info = _save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    assert "nt" not in meta["model"] and "contract" not in meta["model"]
    assert DataContract.from_dict(meta["contract"]) == CONFIG.contract
    assert info.model_config.contract is not None and info.model_config.nt == meta["contract"]["nt"]


def test_config_that_disagrees_with_the_stored_contract_is_refused(tmp_path: Path) -> None:
    _save(tmp_path / "m")
    _tamper(tmp_path / "m", lambda meta: meta["model"].update(nt=96))
    with pytest.raises(ArtifactError, match=r"expected nt=192 \(contract\), got nt=96 \(model\)"):
        read_model_dir(tmp_path / "m")
    with pytest.raises(ArtifactError, match="expected nt=192"):
        load_model(tmp_path / "m")


def test_contract_that_does_not_fit_the_config_is_refused(tmp_path: Path) -> None:
    _save(tmp_path / "m")
    _tamper(tmp_path / "m", lambda meta: meta["contract"].update(nt=100))
    with pytest.raises(ArtifactError, match="multiple of 16"):
        read_model_dir(tmp_path / "m")


def test_saving_with_another_contract_is_refused(tmp_path: Path) -> None:
    model = SymVAE(CONFIG).eval()
    with pytest.raises(ArtifactError, match="expected .*nt': 192.* got .*nt': 96"):
        save_model_dir(model, tmp_path / "m", "tiny", TrainConfig(), DataContract(nt=96))
    assert not (tmp_path / "m" / "model.json").exists()


def test_model_json_without_a_contract_derives_it_from_nt(tmp_path: Path) -> None:
    _save(tmp_path / "m")

    def old_style(meta: dict) -> None:
        del meta["contract"]
        meta["model"]["nt"] = 192

    _tamper(tmp_path / "m", old_style)
    info = read_model_dir(tmp_path / "m")
    assert info.contract == DataContract() and info.model_config == CONFIG


def test_non_default_contract_round_trips(tmp_path: Path) -> None:
    contract = DataContract(nt=96, cut_start=50, sampling_rate=1.0)
    config = ModelConfig(contract, p=3, q=2)
    save_model_dir(SymVAE(config).eval(), tmp_path / "m", "short", TrainConfig())
    info = read_model_dir(tmp_path / "m")
    assert info.contract == contract and info.model_config == config
    assert info.version.endswith("-nt96-p3-q2-k1")
