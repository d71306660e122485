"""Chaos: event lifetime follows stream progress, not a producer's clock.

- an ingest outage of twice the close time loses nothing: the backlog is read at the
  times it was written, every record ends in the event's last bundle or the DLQ;
- producer timestamps 2 h in the past or a year in the future lose nothing either, and
  the future ones do not pin the committed offsets (the group catches up to the end).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from .stack import Stack, events
from .test_kill_services import accounted

pytestmark = [pytest.mark.chaos, pytest.mark.kafka]

CLOSE_S = 10


def _send(stack: Stack, evs, timestamp_ms: int | None) -> None:
    producer = KafkaProducer(
        bootstrap_servers=stack.bootstrap, acks="all", max_request_size=8 << 20
    )
    for e in evs:
        key = e.origin.event_id.encode()
        producer.send(
            f"{stack.prefix}.origins",
            key=key,
            value=e.origin.model_dump_json().encode(),
            timestamp_ms=timestamp_ms,
        ).get(timeout=30)
        for r in e.records:
            producer.send(
                f"{stack.prefix}.waveforms.raw",
                key=key,
                value=r.model_dump_json().encode(),
                timestamp_ms=timestamp_ms,
            )
    producer.flush()
    producer.close()


def _settled(stack: Stack, evs, timeout: float) -> dict[str, tuple[int, int, int]]:
    deadline = time.monotonic() + timeout
    while True:
        table = accounted(stack, evs)
        if all(sent == rev + refused for sent, rev, refused in table.values()):
            return table
        assert time.monotonic() < deadline, (table, stack.logs())
        time.sleep(2)


def _lag(stack: Stack) -> int:
    """Messages of the input topics past the ingest group's committed offsets."""
    consumer = KafkaConsumer(
        bootstrap_servers=stack.bootstrap,
        group_id=f"{stack.prefix}-ingest",
        enable_auto_commit=False,
    )
    try:
        lag = 0
        for topic in (f"{stack.prefix}.origins", f"{stack.prefix}.waveforms.raw"):
            parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
            ends = consumer.end_offsets(parts)
            for tp in parts:
                lag += ends[tp] - (consumer.committed(tp) or 0)
        return lag
    finally:
        consumer.close()


def _wait_no_lag(stack: Stack, timeout: float) -> float:
    started = time.monotonic()
    while (lag := _lag(stack)) > 0:
        assert time.monotonic() - started < timeout, (lag, stack.logs())
        time.sleep(1)
    return time.monotonic() - started


@pytest.mark.slow
def test_ingest_outage_twice_the_close_time_loses_nothing(
    tmp_path: Path, kafka_bootstrap: str, tiny_model: Path
) -> None:
    stack = Stack(
        tmp_path, kafka_bootstrap, tiny_model, ingest_flags=["--event-close-s", str(CLOSE_S)]
    )
    evs = events(4, "outage")
    try:
        stack.start("ingest")
        stack.procs["ingest"].kill9()  # the outage starts
        _send(stack, evs, None)
        time.sleep(2 * CLOSE_S)
        stack.restart("ingest")
        table = _settled(stack, evs, timeout=120)
        caught = _wait_no_lag(stack, timeout=60)
        print(
            f"\ningest outage {2 * CLOSE_S} s (close time {CLOSE_S} s): {len(table)} events, "
            f"records sent/in last bundle/refused {table}; 0 lost; lag 0 after {caught:.0f} s"
        )
        assert stack.stop()["ingest"] == 0
    finally:
        stack.kill()


def test_past_and_future_producer_timestamps(
    tmp_path: Path, kafka_bootstrap: str, tiny_model: Path
) -> None:
    stack = Stack(
        tmp_path,
        kafka_bootstrap,
        tiny_model,
        ingest_flags=["--event-close-s", str(CLOSE_S), "--clock-skew-s", "5"],
    )
    past, future = events(2, "past"), events(2, "future")
    now_ms = int(time.time() * 1000)
    try:
        stack.start("ingest")
        _send(stack, past, now_ms - 2 * 3600 * 1000)
        _send(stack, future, now_ms + 365 * 86400 * 1000)
        table = _settled(stack, past + future, timeout=120)
        caught = _wait_no_lag(stack, timeout=CLOSE_S + 5 + 60)
        print(
            f"\nproducer timestamps -2 h and +1 year: records sent/in last bundle/refused "
            f"{table}; 0 lost; committed offsets at the end {caught:.0f} s after settling"
        )
        assert stack.stop()["ingest"] == 0
    finally:
        stack.kill()
