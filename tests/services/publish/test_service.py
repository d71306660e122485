"""``symae serve publish`` as a process on the embedded broker: latest revision kept
across re-deliveries and restarts, HTTP API, public STF topic, metrics."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import jsonschema
import pytest

from services.devtools.broker import free_port
from services.publish.stf_message import StfMessage
from symae.extract.result import json_schema
from tests.services.conftest import ServiceProcess, metric, produce, read_topic, unique_prefix
from tests.services.publish.test_products import make_result

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def get_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())


def test_publish_keeps_latest_revision_serves_it_and_emits_stf(
    tmp_path: Path, kafka_bootstrap: str, services: list
) -> None:
    prefix, http_port, products = unique_prefix(), free_port(), tmp_path / "products"

    def publisher(n: int) -> ServiceProcess:
        return ServiceProcess(
            [
                "serve",
                "publish",
                "--bootstrap-servers",
                kafka_bootstrap,
                "--http-port",
                str(http_port),
                "--products-dir",
                str(products),
            ],
            tmp_path / f"publish-{n}.log",
            env={"SYMAE_TOPIC_PREFIX": prefix},
        ).start()

    svc = publisher(0)
    services.append(svc)
    svc.wait_ready()
    arrivals = [  # (event, revision, model version, STF centre)
        ("ev-a", 5, "1", 10.0),
        ("ev-b", 7, "1", 15.0),
        ("ev-a", 9, "1", 25.0),  # newer
        ("ev-a", 5, "1", 10.0),  # stale re-delivery of an older revision
        ("ev-a", 9, "1", 25.0),  # identical re-delivery
    ]
    results = [make_result(e, revision=r, version=v, centre=c) for e, r, v, c in arrivals]
    produce(
        kafka_bootstrap,
        f"{prefix}.results",
        [(f"{r.event_id}|{r.revision}|tiny:1", r.model_dump_json().encode()) for r in results],
    )

    # new a5, new b7, newer a9, duplicate a9: four STF messages; the stale one sends none
    stf = read_topic(kafka_bootstrap, f"{prefix}.stf", until=4, timeout=60)
    assert [(r.key.decode(), StfMessage.model_validate_json(r.value).revision) for r in stf] == [
        ("ev-a", 5),
        ("ev-b", 7),
        ("ev-a", 9),
        ("ev-a", 9),
    ]
    assert stf[2].value == stf[3].value

    base = f"http://127.0.0.1:{http_port}"
    listing = get_json(f"{base}/events")
    assert {e["event_id"]: e["revision"] for e in listing} == {"ev-a": 9, "ev-b": 7}
    served = get_json(f"{base}/events/ev-a")
    jsonschema.validate(served, json_schema())
    assert served == json.loads(results[2].model_dump_json())

    text = svc.metrics()
    assert metric(text, "symae_records_in_total", topic=f"{prefix}.results") == 5
    assert metric(text, "symae_records_out_total", topic=f"{prefix}.stf") == 4
    assert metric(text, "symae_stage_latency_seconds_count", stage="publish") == 4
    assert svc.stop() == 0

    # a restarted publisher serves the same state from its products directory
    again = publisher(1)
    services.append(again)
    again.wait_ready()
    assert {e["event_id"]: e["revision"] for e in get_json(f"{base}/events")} == {
        "ev-a": 9,
        "ev-b": 7,
    }
    assert metric(again.metrics(), "symae_records_in_total", topic=f"{prefix}.results") == 0
    assert again.stop() == 0
