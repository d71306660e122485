"""The retraining loop on the embedded stack: replay -> ingest -> archive -> symae retrain
(gate accepts, the registry gains a version inference follows) and a destroyed candidate
refused with its reason printed."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from symae.data.archive import archived_events, list_shards
from symae.data.reference import REPO_ROOT

from .conftest import PYTHON, ServiceProcess, register_version, unique_prefix

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

# a test-sized schedule: a few steps, so the loop runs in bounded time on two cores
SCHEDULE = {
    "train": {
        "ntau": 4,
        "batch_groups": 4,
        "steps_per_epoch": 6,
        "lr_decay": 0.99,
        "stages": [{"epochs": 2, "lr": 0.003}],
        "min_traces": 2,
        "test_fraction": 0.2,
        "test_batches": 1,
        "seed": 0,
    }
}


def _retrain(tmp_path: Path, archive: Path, registry: Path, tag: str, *extra: str):
    schedule = tmp_path / "schedule.json"
    schedule.write_text(json.dumps(SCHEDULE))
    return subprocess.run(
        [
            PYTHON,
            "-m",
            "symae.cli",
            "retrain",
            "--archive",
            f"file://{archive}",
            "--base-model",
            "tiny",
            "--registry",
            str(registry),
            "--schedule",
            str(schedule),
            "--gate-events",
            "2",
            "--synthetic-events",
            "2",
            "--threads",
            "2",
            "--device",
            "cpu",
            "--workdir",
            str(tmp_path / f"work-{tag}"),
            *extra,
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_archived_events_retrain_through_the_gate(
    tmp_path: Path, kafka_bootstrap: str, tiny_model: Path, services: list
) -> None:
    from services.inference.model_watch import registry_resolver

    registry = tmp_path / "registry"
    base = register_version(tiny_model, registry, "v0", "2020-01-01T00:00:00Z")
    archive = tmp_path / "archive"
    prefix = unique_prefix()
    env = {
        "SYMAE_TOPIC_PREFIX": prefix,
        "SYMAE_TOPIC_PARTITIONS": "1",
        "SYMAE_MODEL": "tiny",
        "SYMAE_MODEL_REGISTRY": str(registry),
    }
    common = ["--bootstrap-servers", kafka_bootstrap]
    ingest = ServiceProcess(
        [
            "serve",
            "ingest",
            *common,
            "--min-traces",
            "6",
            "--min-pixels",
            "2",
            "--revision-interval-s",
            "0.5",
            "--ready-deadline-s",
            "3",
        ],
        tmp_path / "ingest.log",
        env=env,
    ).start()
    archiver = ServiceProcess(
        [
            "serve",
            "archive",
            *common,
            "--archive-url",
            f"file://{archive}",
            "--archive-quiet-s",
            "4",
        ],
        tmp_path / "archive.log",
        env=env,
    ).start()
    services.extend([ingest, archiver])
    for svc in services:
        svc.wait_ready()
    subprocess.run(
        [
            PYTHON,
            "-m",
            "symae.cli",
            "replay",
            "--synthetic",
            "3",
            "--seed",
            "5",
            "--stations",
            "16",
            *common,
            "--metrics-port",
            "0",
        ],
        env={**ingest.env, **env},
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
        timeout=180,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(archived_events(archive)) < 3:
        time.sleep(1)
    assert len(archived_events(archive)) == 3, archiver.log()
    assert len(list_shards(archive)) == 1
    assert archiver.stop() == 0

    started = time.monotonic()
    good = _retrain(tmp_path, archive, registry, "good")
    assert good.returncode == 0, good.stdout + good.stderr[-3000:]
    assert "gate: accepted" in good.stdout
    versions = sorted(p.name for p in (registry / "tiny").iterdir())
    assert len(versions) == 2 and "v0" in versions
    new = next(v for v in versions if v != "v0")
    meta = json.loads((registry / "tiny" / new / "model.json").read_text())
    gate = meta["gate"]
    assert gate["decision"] == "accepted" and gate["base"]["version"] == "v0"
    assert sorted(
        gate["data"]["archive_train_events"] + gate["data"]["archive_validation_events"]
    ) == sorted(archived_events(archive))
    assert gate["data"]["gate_set"]["mode"] == "hard"
    # what inference's hot swap follows: the model's name resolves to the new version
    assert registry_resolver("tiny", registry)().version == new

    bad = _retrain(tmp_path, archive, registry, "bad", "--lr-scale", "20000")
    assert bad.returncode == 3, bad.stdout + bad.stderr[-3000:]
    assert "gate: refused" in bad.stdout and "refused: " in bad.stdout
    assert sorted(p.name for p in (registry / "tiny").iterdir()) == versions
    # a destroyed candidate is refused by its scores, or, when its weights went to NaN and
    # no model directory could be written, by that failure (recorded in gate.json)
    cand = tmp_path / "work-bad" / "candidate"
    meta_path = cand / "model.json"
    refused = (
        json.loads(meta_path.read_text())["gate"]
        if meta_path.is_file()
        else json.loads((cand / "gate.json").read_text())
    )
    assert refused["decision"] == "refused" and refused["reasons"]
    assert time.monotonic() - started < 600
    assert base.is_dir()
