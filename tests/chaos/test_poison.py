"""Chaos: 1,000 poison messages of every family, mixed with valid events, on every input
topic. No service crashes, every poison message is in the dead-letter topic with a
reason of the schema's enum, every valid event is published; and a zlib bomb does not
inflate in the ingest process (its resident memory grows by less than 50 MB)."""

from __future__ import annotations

import base64
import json
import threading
import time
import zlib
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from kafka import KafkaProducer

from services.schemas import BinaryArray, DeadLetter, DeadLetterReason, OriginMessage
from tests.services.conftest import read_topic
from tests.services.publish.test_products import make_result

from .stack import Stack, events, hwm_mb, rss_mb

pytestmark = [pytest.mark.chaos, pytest.mark.kafka]

N_POISON = 1000
BOMB = zlib.compress(b"\0" * (100 * 1024 * 1024), 9)  # ~100 kB that inflates to 100 MB
HOST = "poisonhost"  # a valid event that receives the bad records


def _record(i: int, **update) -> dict:
    base = {
        "schema_version": 1,
        "event_id": HOST,
        "seed_id": f"XX.P{i:04d}..BHZ",
        "starttime": "2024-01-01T00:00:00Z",
        "sampling_rate": 20.0,
        "samples": BinaryArray.from_numpy(np.arange(400, dtype=np.int32)).model_dump(),
    }
    base.update(update)
    return base


def poison_families(i: int) -> tuple[str, bytes]:
    """(logical topic, bytes) of the i-th poison message (families in turn)."""
    nan = BinaryArray.from_numpy(np.full(400, np.nan, np.float32)).model_dump()
    bomb = {
        "dtype": "int32",
        "shape": [1000],
        "compression": "zlib",
        "data": base64.b64encode(BOMB).decode(),
    }
    families = [
        ("waveforms.raw", b"\x00\xffnot json"),
        ("waveforms.raw", json.dumps(_record(i, sampling_rate=0)).encode()),
        ("waveforms.raw", json.dumps(_record(i, sampling_rate=1e9)).encode()),
        ("waveforms.raw", json.dumps(_record(i, samples={**bomb, "shape": [1 << 40]})).encode()),
        ("waveforms.raw", json.dumps(_record(i, samples=bomb)).encode()),
        ("waveforms.raw", json.dumps(_record(i, samples=nan)).encode()),
        (
            "waveforms.raw",
            json.dumps(_record(i, stationxml=base64.b64encode(BOMB).decode())).encode(),
        ),
        ("waveforms.raw", json.dumps(_record(i, event_id=f"nosuch{i}")).encode()),
        ("waveforms.raw", json.dumps(_record(i, seed_id="bad id")).encode()),
        (
            "origins",
            json.dumps(
                {
                    "event_id": f"o{i}",
                    "time": "2024-01-01T00:00:00Z",
                    "latitude": 91,
                    "longitude": 0,
                    "depth_km": 10,
                }
            ).encode(),
        ),
        ("origins", b'{"event_id": "x", "time": "2024-01-01T00:00:00Z", "latitude": NaN}'),
        (
            "origins",
            json.dumps(
                {
                    "event_id": f"o{i}",
                    "time": "2024-01-01T00:00:00Z",
                    "latitude": 0,
                    "longitude": 0,
                    "depth_km": 1e4,
                }
            ).encode(),
        ),
        ("bundles", b"[1, 2"),
        ("bundles", json.dumps({"schema_version": 1, "event_id": "b", "revision": 0}).encode()),
        ("results", b"{{{"),
        ("results", json.dumps({"event_id": "r", "revision": -1}).encode()),
    ]
    return families[i % len(families)]


@pytest.mark.slow
def test_poison_flood_mixed_with_valid_events(
    tmp_path: Path, kafka_bootstrap: str, tiny_model: Path
) -> None:
    stack = Stack(
        tmp_path, kafka_bootstrap, tiny_model, ingest_flags=["--unknown-event-grace-s", "2"]
    )
    valid = events(6, "valid")
    # an absurd magnitude is an optional field: dropped, the event still published
    valid[0] = type(valid[0])(
        origin=OriginMessage.model_validate({**valid[0].origin.model_dump(), "magnitude": 1e6}),
        records=valid[0].records,
        ready_after_s=valid[0].ready_after_s,
    )
    host = events(1, HOST)[0]
    host.origin = host.origin.model_copy(update={"event_id": HOST})
    try:
        stack.start()
        stack.replay([type(host)(origin=host.origin, records=[])])
        producer = KafkaProducer(
            bootstrap_servers=kafka_bootstrap, acks="all", max_request_size=8 << 20
        )
        sent: set[tuple[str, int, int]] = set()
        # a result of magnitude 1e6 reaches publish directly: it must publish, not overflow
        big = make_result("bigmag").model_dump(mode="json")
        big["origin"]["magnitude"] = 1e6
        producer.send(f"{stack.prefix}.results", key=b"bigmag", value=json.dumps(big).encode()).get(
            timeout=30
        )
        replayer = threading.Thread(target=stack.replay, args=(valid,), daemon=True)
        replayer.start()
        started = time.monotonic()
        for i in range(N_POISON):
            topic, value = poison_families(i)
            meta = producer.send(f"{stack.prefix}.{topic}", key=f"p{i}".encode(), value=value).get(
                timeout=30
            )
            sent.add((meta.topic, meta.partition, meta.offset))
        producer.close()
        replayer.join(timeout=120)
        ids = {e.origin.event_id for e in valid} | {"bigmag"}
        took = stack.wait_published(ids, timeout=180)
        deadline = time.monotonic() + 120
        while True:
            letters = [
                DeadLetter.model_validate_json(r.value)
                for r in read_topic(
                    kafka_bootstrap, f"{stack.prefix}.dlq", until=N_POISON, timeout=10
                )
            ]
            where = {(d.topic, d.partition, d.offset) for d in letters}
            if sent <= where or time.monotonic() > deadline:
                break
            time.sleep(2)
        missing = sent - where
        assert not missing, (len(missing), sorted(missing)[:10], stack.logs())
        assert all(d.reason in DeadLetterReason for d in letters)
        assert all(stack.alive().values()), stack.logs()
        reasons = Counter(
            d.reason.value for d in letters if (d.topic, d.partition, d.offset) in sent
        )
        print(
            f"\npoison: {len(sent)} sent, {len(sent) - len(missing)} in the DLQ "
            f"({dict(sorted(reasons.items()))}); valid events published: "
            f"{len(ids & set(stack.published()))}/{len(ids)} in {time.monotonic() - started:.0f} s"
            f" ({took:.0f} s after the last message); crashes: 0"
        )
        codes = stack.stop()
        assert set(codes.values()) == {0}, (codes, stack.logs())
    finally:
        stack.kill()


def test_zlib_bomb_does_not_inflate_in_ingest(
    tmp_path: Path, kafka_bootstrap: str, tiny_model: Path
) -> None:
    stack = Stack(tmp_path, kafka_bootstrap, tiny_model)
    try:
        stack.start("ingest")
        ingest = stack.procs["ingest"]
        host = events(1, HOST)[0]
        stack.replay(
            [type(host)(origin=host.origin.model_copy(update={"event_id": HOST}), records=[])]
        )
        time.sleep(2)
        pid = ingest.proc.pid
        before, peak_before = rss_mb(pid), hwm_mb(pid)
        producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
        bomb = {
            "dtype": "int32",
            "shape": [1000],
            "compression": "zlib",
            "data": base64.b64encode(BOMB).decode(),
        }
        n = 20
        for i in range(n):
            for value in (
                _record(i, samples=bomb),
                _record(1000 + i, stationxml=base64.b64encode(BOMB).decode()),
            ):
                producer.send(
                    f"{stack.prefix}.waveforms.raw",
                    key=HOST.encode(),
                    value=json.dumps(value).encode(),
                )
        producer.flush()
        producer.close()
        letters = read_topic(kafka_bootstrap, f"{stack.prefix}.dlq", until=2 * n, timeout=60)
        assert len(letters) >= 2 * n
        assert {DeadLetter.model_validate_json(r.value).reason for r in letters} == {
            DeadLetterReason.UNDECODABLE
        }
        grew = hwm_mb(pid) - max(peak_before, before)
        print(
            f"\nzlib bombs: {2 * n} x {len(BOMB) // 1024} kB (each 100 MB inflated); ingest RSS "
            f"{before:.0f} MB -> peak {hwm_mb(pid):.0f} MB (grew {max(grew, 0):.1f} MB)"
        )
        assert grew < 50
        assert stack.stop()["ingest"] == 0
    finally:
        stack.kill()
