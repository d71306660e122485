"""``symae serve inference`` as a process against the embedded broker over TCP."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from services.inference.processor import result_key
from symae.extract.result import ExtractionResult
from tests.services.conftest import (
    ServiceProcess,
    metric,
    produce,
    random_bundle,
    read_topic,
    register_version,
    unique_prefix,
)

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def start_inference(
    tmp_path: Path, bootstrap: str, prefix: str, model: str, *extra: str
) -> ServiceProcess:
    return ServiceProcess(
        [
            "serve",
            "inference",
            "--bootstrap-servers",
            bootstrap,
            "--model",
            model,
            "--ort-provider",
            "cpu",
            *extra,
        ],
        tmp_path / f"inference-{time.monotonic_ns()}.log",
        env={"SYMAE_TOPIC_PREFIX": prefix, "SYMAE_TOPIC_PARTITIONS": "2"},
    ).start()


def test_n_bundles_in_n_results_out_with_deterministic_keys(
    tmp_path: Path, kafka_bootstrap: str, tiny_model: Path, services: list
) -> None:
    prefix = unique_prefix()
    svc = start_inference(tmp_path, kafka_bootstrap, prefix, str(tiny_model))
    services.append(svc)
    bundles = [random_bundle(f"ev{i}", seed=i, per_pixel=3 + i) for i in range(4)]
    produce(
        kafka_bootstrap,
        f"{prefix}.bundles",
        [(b.event_id, b.model_dump_json().encode()) for b in bundles],
    )
    svc.wait_ready()
    records = read_topic(kafka_bootstrap, f"{prefix}.results", until=len(bundles), timeout=90)

    model = json.loads((tiny_model / "model.json").read_text())
    expected = {result_key(b.event_id, b.revision, "tiny", model["version"]) for b in bundles}
    assert {r.key.decode() for r in records} == expected
    assert len(records) == len(bundles)
    for record in records:
        result = ExtractionResult.model_validate_json(record.value)
        assert (result.model.name, result.model.version) == ("tiny", model["version"])
        assert result.model.provider == "CPUExecutionProvider"
        assert record.key.decode() == result_key(
            result.event_id, result.revision, "tiny", model["version"]
        )
        bundle = next(b for b in bundles if b.event_id == result.event_id)
        assert result.revision == bundle.revision == bundle.n_traces
        assert result.quality.n_traces == bundle.n_traces
        assert result.provenance["stream"]["last_record_time"] == bundle.last_record_time

    text = svc.metrics()
    assert metric(text, "symae_records_out_total", topic=f"{prefix}.results") == len(bundles)
    assert metric(text, "symae_records_in_total", topic=f"{prefix}.bundles") == len(bundles)
    assert (
        metric(
            text,
            "symae_model_info",
            name="tiny",
            version=model["version"],
            provider="CPUExecutionProvider",
        )
        == 1
    )
    assert metric(text, "symae_gpu_expected", service="inference") == 0
    assert metric(text, "symae_batch_events_count", service="inference") >= 1
    assert svc.stop() == 0


def test_new_version_taken_up_broken_version_refused(
    tmp_path: Path, kafka_bootstrap: str, tiny_model: Path, services: list
) -> None:
    prefix, registry = unique_prefix(), tmp_path / "registry"
    register_version(tiny_model, registry, "1", created="2030-01-01T00:00:00Z")
    svc = start_inference(
        tmp_path,
        kafka_bootstrap,
        prefix,
        "tiny",
        "--model-registry",
        str(registry),
        "--model-check-interval-s",
        "0.2",
    )
    services.append(svc)
    svc.wait_ready()
    bundles = f"{prefix}.bundles"

    def extract_one(event_id: str, seen: int) -> ExtractionResult:
        bundle = random_bundle(event_id, seed=seen)
        produce(kafka_bootstrap, bundles, [(event_id, bundle.model_dump_json().encode())])
        records = read_topic(kafka_bootstrap, f"{prefix}.results", until=seen + 1, timeout=60)
        mine = [r for r in records if r.key.decode().startswith(f"{event_id}|")]
        assert len(mine) == 1, svc.log()
        return ExtractionResult.model_validate_json(mine[0].value)

    assert extract_one("a", 0).model.version == "1"

    register_version(tiny_model, registry, "2", created="2030-01-02T00:00:00Z", broken=True)
    time.sleep(0.5)  # past a registry check
    assert extract_one("b", 1).model.version == "1"
    text = svc.metrics()
    assert metric(text, "symae_model_reloads_total", outcome="failed") == 1
    assert metric(text, "symae_model_info", name="tiny", version="1") == 1
    assert "refused model tiny:2" in svc.log()

    register_version(tiny_model, registry, "3", created="2030-01-03T00:00:00Z")
    time.sleep(0.5)
    assert extract_one("c", 2).model.version == "3"
    text = svc.metrics()
    assert metric(text, "symae_model_reloads_total", outcome="ok") == 1
    assert metric(text, "symae_model_reloads_total", outcome="failed") == 1
    assert metric(text, "symae_model_info", name="tiny", version="3") == 1
    assert metric(text, "symae_model_info", name="tiny", version="1") == 0
    assert svc.stop() == 0
