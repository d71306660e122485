"""The whole pipeline as processes on the embedded broker: replay -> ingest -> inference
-> publish, with inference killed (SIGKILL) in the middle and restarted."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from collections import defaultdict
from pathlib import Path

import jsonschema
import pytest

from services.devtools.broker import free_port
from services.inference.processor import result_key
from services.publish.stf_message import StfMessage
from services.schemas import BundleMessage
from symae.data.reference import REPO_ROOT
from symae.extract.result import ExtractionResult, json_schema
from tests.services.conftest import PYTHON, ServiceProcess, metric, read_topic, unique_prefix

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

N_EVENTS = 3


def get_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())


def test_replay_with_inference_killed_gives_one_latest_result_per_event(
    tmp_path: Path, kafka_bootstrap: str, tiny_model: Path, services: list
) -> None:
    prefix = unique_prefix()
    env = {"SYMAE_TOPIC_PREFIX": prefix, "SYMAE_TOPIC_PARTITIONS": "2"}
    common = ["--bootstrap-servers", kafka_bootstrap]
    http_port = free_port()

    def inference() -> ServiceProcess:
        return ServiceProcess(
            [
                "serve",
                "inference",
                *common,
                "--model",
                str(tiny_model),
                "--ort-provider",
                "cpu",
                "--max-batch-events",
                "1",
            ],
            tmp_path / f"inference-{len(services)}.log",
            env=env,
        ).start()

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
            "5",
        ],
        tmp_path / "ingest.log",
        env=env,
    ).start()
    publish = ServiceProcess(
        [
            "serve",
            "publish",
            *common,
            "--http-port",
            str(http_port),
            "--products-dir",
            str(tmp_path / "products"),
        ],
        tmp_path / "publish.log",
        env=env,
    ).start()
    first = inference()
    services.extend([ingest, publish, first])
    for svc in services:
        svc.wait_ready()

    # paced: events 4 s apart, each one's records over about a second, so the replay is
    # still running when inference is killed
    replay = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "symae.cli",
            "replay",
            "--synthetic",
            str(N_EVENTS),
            "--seed",
            "11",
            "--stations",
            "16",
            "--speed",
            "300",
            "--interval",
            "4",
            *common,
            "--metrics-port",
            "0",
            "--manifest",
            str(tmp_path / "manifest.json"),
        ],
        env={**first.env, **env},
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )

    # kill -9 inference once it has produced something, in the middle of the replay
    read_topic(kafka_bootstrap, f"{prefix}.results", until=1, timeout=90)
    assert replay.poll() is None, "the replay ended before the kill"
    first.kill9()
    second = inference().wait_ready()
    services.append(second)

    _, err = replay.communicate(timeout=120)
    assert replay.returncode == 0, err.decode()[-3000:]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert len(manifest["events"]) == N_EVENTS

    # ingest settles: the last revision of every event is on the bundles topic
    deadline = time.monotonic() + 120
    listing: list = []
    latest: dict[str, int] = {}
    while time.monotonic() < deadline:
        bundles = [
            BundleMessage.model_validate_json(r.value)
            for r in read_topic(kafka_bootstrap, f"{prefix}.bundles", until=1, timeout=5)
        ]
        latest = {}
        for b in bundles:
            latest[b.event_id] = max(latest.get(b.event_id, 0), b.revision)
        listing = get_json(f"http://127.0.0.1:{http_port}/events")
        published = {e["event_id"]: e["revision"] for e in listing}
        if len(latest) == N_EVENTS and published == latest:
            break
        time.sleep(1.0)
    assert set(latest) == set(manifest["events"]), ingest.log()
    assert {e["event_id"]: e["revision"] for e in listing} == latest, publish.log()
    assert len(listing) == N_EVENTS

    # results: every key's messages identical (a duplicate is only a re-delivery)
    results = read_topic(kafka_bootstrap, f"{prefix}.results", until=N_EVENTS, timeout=10)
    by_key: dict[str, set[bytes]] = defaultdict(set)
    for r in results:
        by_key[r.key.decode()].add(r.value)
    assert all(len(values) == 1 for values in by_key.values()), sorted(by_key)
    version = json.loads((tiny_model / "model.json").read_text())["version"]
    for event_id, revision in latest.items():
        key = result_key(event_id, revision, "tiny", version)
        assert key in by_key
        served = get_json(f"http://127.0.0.1:{http_port}/events/{event_id}")
        jsonschema.validate(served, json_schema())
        assert served == json.loads(next(iter(by_key[key])))
        assert ExtractionResult.model_validate(served).revision == revision

    # the public topic ends with the latest revision of every event
    stf: dict[str, StfMessage] = {}
    for r in read_topic(kafka_bootstrap, f"{prefix}.stf", until=N_EVENTS, timeout=10):
        stf[r.key.decode()] = StfMessage.model_validate_json(r.value)
    assert {k: m.revision for k, m in stf.items()} == latest

    # the restarted inference did part of the work
    assert metric(second.metrics(), "symae_records_out_total", topic=f"{prefix}.results") > 0

    for svc in services:
        if svc.proc.poll() is None:
            assert svc.stop() == 0, svc.log()
