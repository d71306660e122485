"""``symae serve ingest`` as a process on the embedded broker, fed by the replay code.

What each event's final bundle must hold is worked out independently: every record is
run through ``symae.data.preprocess`` here, and the accepted SEED ids are the oracle.
"""

from __future__ import annotations

import base64
import io
import json
import time
from pathlib import Path

import numpy as np
import pytest
from kafka import KafkaConsumer, TopicPartition
from obspy import read_inventory

from services.devtools.replay import ReplayEvent, publish, synthetic_events
from services.runtime import ServiceSettings
from services.schemas import BinaryArray, BundleMessage, DeadLetter
from symae.data.preprocess import preprocess_trace
from symae.data.rejections import Rejected
from tests.services.conftest import ServiceProcess, produce, unique_prefix

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

N_EVENTS = 3
STATIONS = 8


@pytest.fixture(scope="module")
def events() -> list[ReplayEvent]:
    return list(synthetic_events(N_EVENTS, seed=11, n_stations=STATIONS))


def accepted_ids(event: ReplayEvent) -> tuple[list[str], dict[str, str]]:
    """SEED ids preprocessing accepts, and the reason of each one it refuses."""
    origin = event.origin.to_origin()
    ok, refused = [], {}
    for record in event.records:
        inventory = read_inventory(io.BytesIO(record.stationxml_bytes()))
        try:
            preprocess_trace(record.to_trace(), inventory, origin)
            ok.append(record.seed_id)
        except Rejected as exc:
            refused[record.seed_id] = exc.reason.value
    return sorted(ok), refused


def ingest(bootstrap: str, prefix: str, tmp_path: Path, *extra: str) -> ServiceProcess:
    args = [
        "serve",
        "ingest",
        "--bootstrap-servers",
        bootstrap,
        "--topic-prefix",
        prefix,
        "--topic-partitions",
        "2",
        "--consumer-group",
        f"{prefix}-ingest",
        "--commit-interval-s",
        "0.2",
        "--revision-interval-s",
        "0.5",
        *extra,
    ]
    return ServiceProcess(args, tmp_path / "ingest.log").start()


def settings(bootstrap: str, prefix: str) -> ServiceSettings:
    return ServiceSettings(
        kafka_bootstrap_servers=bootstrap, topic_prefix=prefix, topic_partitions=2
    )


class TopicReader:
    """Reads a topic from the start, keeping everything seen so far."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        self.topic = topic
        self.records: list = []
        self.parts: list[TopicPartition] = []

    def poll(self) -> list:
        if not self.parts:
            found = self.consumer.partitions_for_topic(self.topic)
            if not found:
                return self.records
            self.parts = [TopicPartition(self.topic, p) for p in sorted(found)]
            self.consumer.assign(self.parts)
            self.consumer.seek_to_beginning(*self.parts)
        for batch in self.consumer.poll(timeout_ms=200).values():
            self.records.extend(batch)
        return self.records

    def until(self, done, timeout: float, what: str, svc: ServiceProcess) -> list:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if done(self.poll()):
                return self.records
        pytest.fail(f"timed out waiting for {what}; ingest log:\n{svc.log()}")

    def close(self) -> None:
        self.consumer.close()


def latest(records: list) -> dict[str, BundleMessage]:
    best: dict[str, BundleMessage] = {}
    for r in records:
        b = BundleMessage.model_validate_json(r.value)
        assert r.key.decode() == b.event_id
        if b.event_id not in best or b.revision > best[b.event_id].revision:
            best[b.event_id] = b
    return best


def complete(expected: dict[str, list[str]]):
    def done(records: list) -> bool:
        got = latest(records)
        return all(e in got and got[e].revision == len(ids) for e, ids in expected.items())

    return done


def station_ids(bundle: BundleMessage) -> list[str]:
    return sorted(s for p in bundle.pixels for s in p.station_id)


def metric(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_events_flow_and_malformed_records_reach_the_dlq(
    kafka_bootstrap: str, events: list[ReplayEvent], tmp_path: Path, services: list
) -> None:
    prefix = unique_prefix()
    svc = ingest(
        kafka_bootstrap,
        prefix,
        tmp_path,
        "--min-traces",
        "6",
        "--min-pixels",
        "2",
        "--ready-deadline-s",
        "3",
        "--unknown-event-grace-s",
        "1",
        "--max-samples-per-record",
        "20000",
        "--max-records-per-event",
        str(len(events[0].records) + 2),
    )
    services.append(svc)
    svc.wait_ready()
    raw_topic = f"{prefix}.waveforms.raw"
    good = events[0].records[0]

    publish(settings(kafka_bootstrap, prefix), events[:1])
    nan_samples = good.samples.to_numpy().astype(np.float32)
    nan_samples[100] = np.nan
    bad = {
        "undecodable": b"\x00\x01 definitely not json",
        "schema": json.dumps({"schema_version": 1, "event_id": events[0].origin.event_id}).encode(),
        "nan": good.model_copy(
            update={"seed_id": "SY.NANS.00.BHZ", "samples": BinaryArray.from_numpy(nan_samples)}
        )
        .model_dump_json()
        .encode(),
        "oversize": good.model_copy(
            update={
                "seed_id": "SY.HUGE.00.BHZ",
                "samples": BinaryArray.from_numpy(np.zeros(30000, np.int32)),
            }
        )
        .model_dump_json()
        .encode(),
        "unknown_event": good.model_copy(update={"event_id": "nobody-knows"})
        .model_dump_json()
        .encode(),
        # one record over the limit: after the event's own records, the nan and oversize ones
        "too_many_records": good.model_copy(update={"seed_id": "SY.MORE.00.BHZ"})
        .model_dump_json()
        .encode(),
    }
    key = events[0].origin.event_id
    produce(kafka_bootstrap, raw_topic, [(key, value) for value in bad.values()])
    produce(kafka_bootstrap, raw_topic, [(key, good.model_dump_json().encode())])  # duplicate
    publish(settings(kafka_bootstrap, prefix), events[1:])

    expected, refused = {}, {}
    for event in events:
        ids, why = accepted_ids(event)
        expected[event.origin.event_id] = ids
        refused.update(why)
    bundles = TopicReader(kafka_bootstrap, f"{prefix}.bundles")
    dlq = TopicReader(kafka_bootstrap, f"{prefix}.dlq")
    try:
        records = bundles.until(complete(expected), 60, "final bundles", svc)
        letters = dlq.until(lambda rs: len(rs) >= len(bad) + len(refused), 30, "dead letters", svc)
    finally:
        bundles.close()
        dlq.close()

    final = latest(records)
    assert sorted(final) == sorted(expected)
    for event_id, ids in expected.items():
        assert station_ids(final[event_id]) == ids
        assert final[event_id].origin.truth is not None  # truth travels for scoring
    by_payload = {}
    for r in letters:
        letter = DeadLetter.model_validate_json(r.value)
        assert letter.service == "ingest" and letter.where.startswith(raw_topic + "[")
        by_payload[base64.b64decode(letter.payload)] = letter.reason
    for reason, payload in bad.items():
        assert by_payload.get(payload) == reason, f"{reason}: got {by_payload.get(payload)}"

    text = svc.metrics()
    n_raw = sum(len(e.records) for e in events) + len(bad) + 1
    assert metric(text, "symae_records_in_total", topic=raw_topic) == n_raw
    assert metric(text, "symae_records_in_total", topic=f"{prefix}.origins") == N_EVENTS
    assert metric(text, "symae_records_out_total", topic=f"{prefix}.bundles") == len(records)
    for reason in bad:
        assert metric(text, "symae_rejections_total", reason=reason) == 1, reason
    assert metric(text, "symae_rejections_total", reason="duplicate") == 1
    assert metric(text, "symae_stage_latency_seconds_count", stage="preprocess") == (
        sum(len(e.records) for e in events)
    )
    assert metric(text, "symae_stage_latency_seconds_count", stage="readiness_wait") == N_EVENTS
    assert metric(text, "symae_events_in_flight", service="ingest") == N_EVENTS  # open until closed
    lags = [line for line in text.splitlines() if line.startswith("symae_consumer_lag{")]
    assert lags and all(line.endswith(" 0.0") for line in lags), lags
    assert svc.stop() == 0


def test_kill9_mid_replay_loses_no_event(
    kafka_bootstrap: str, events: list[ReplayEvent], tmp_path: Path, services: list
) -> None:
    prefix = unique_prefix()
    # only the deadline makes an event ready, so bundles hold whatever was rebuilt
    options = ("--min-traces", "1000", "--ready-deadline-s", "3")
    svc = ingest(kafka_bootstrap, prefix, tmp_path, *options)
    services.append(svc)
    svc.wait_ready()
    first, half = events[0], len(events[0].records) // 2
    publish(settings(kafka_bootstrap, prefix), [ReplayEvent(first.origin, first.records[:half])])
    raw_topic = f"{prefix}.waveforms.raw"
    deadline = time.monotonic() + 30
    while metric(svc.metrics(), "symae_records_in_total", topic=raw_topic) < half:
        assert time.monotonic() < deadline, svc.log()
        time.sleep(0.1)
    svc.kill9()  # with the first half of event 0 in memory only

    rest = [ReplayEvent(first.origin, first.records[half:]), *events[1:]]
    publish(settings(kafka_bootstrap, prefix), rest)
    again = ingest(kafka_bootstrap, prefix, tmp_path, *options)
    services.append(again)
    again.wait_ready()

    expected = {e.origin.event_id: accepted_ids(e)[0] for e in events}
    reader = TopicReader(kafka_bootstrap, f"{prefix}.bundles")
    try:
        records = reader.until(complete(expected), 60, "final bundles after restart", again)
    finally:
        reader.close()
    final = latest(records)
    for event_id, ids in expected.items():
        assert station_ids(final[event_id]) == ids, event_id
    # a revision seen twice is the same bundle (a re-delivery), never a different one
    seen: dict[tuple[str, int], BundleMessage] = {}
    for r in records:
        b = BundleMessage.model_validate_json(r.value)
        k = (b.event_id, b.revision)
        if k in seen:
            assert b.model_copy(update={"emitted_at": 0}) == seen[k].model_copy(
                update={"emitted_at": 0}
            )
        seen[k] = b
    assert again.stop() == 0
