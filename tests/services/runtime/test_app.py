"""The service runtime against the real embedded broker: DLQ, commits, start-up, probes."""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence

import pytest
from kafka import KafkaConsumer, TopicPartition

from services.devtools.broker import EmbeddedBroker, free_port, port_open
from services.runtime import (
    Incoming,
    Outgoing,
    PoisonMessage,
    Processor,
    ServiceApp,
    ServiceSettings,
)
from services.schemas import DeadLetter, OriginMessage
from tests.services.conftest import produce, read_topic, unique_prefix

pytestmark = pytest.mark.kafka


def origin(event_id: str, region: str = "") -> bytes:
    return (
        OriginMessage(
            event_id=event_id,
            time="2020-01-01T00:00:00Z",
            latitude=1.0,
            longitude=2.0,
            depth_km=10.0,
            region=region,
        )
        .model_dump_json()
        .encode()
    )


class Relay(Processor):
    """origins -> bundles topic, unchanged; region "poison" is refused; "hold" is kept."""

    inputs = {"origins": OriginMessage}
    outputs = ("bundles",)

    def __init__(self) -> None:
        self.held: dict[tuple[str, int], int] = {}

    def handle(self, msg: Incoming) -> Sequence[Outgoing]:
        value: OriginMessage = msg.value
        if value.region == "poison":
            raise PoisonMessage("unpublishable", f"region {value.region!r}")
        if value.region == "hold":
            self.held.setdefault((msg.topic, msg.partition), msg.offset)
        return [Outgoing("bundles", key=msg.key, value=msg.raw)]

    def retained(self) -> dict[tuple[str, int], int]:
        return self.held


def settings(bootstrap: str, prefix: str, **extra: object) -> ServiceSettings:
    return ServiceSettings(
        kafka_bootstrap_servers=bootstrap,
        topic_prefix=prefix,
        topic_partitions=1,
        metrics_port=0,
        commit_interval_s=0,
        kafka_poll_timeout_ms=100,
        **extra,
    )


class Running:
    """A ServiceApp on a thread."""

    def __init__(self, app: ServiceApp) -> None:
        self.app = app
        self.code: int | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        self.code = self.app.run()

    def __enter__(self) -> Running:
        """Start, and wait until ready (topics exist: producing earlier would let the broker
        auto-create them with its own partition count)."""
        self.thread.start()
        host, port = (self.app.settings.kafka_bootstrap_servers or "").rsplit(":", 1)
        if port_open(host, int(port)):
            wait_for(lambda: self.get("/readyz")[0] == 200, what="/readyz")
        return self

    def __exit__(self, *exc: object) -> None:
        self.app.stop()
        self.thread.join(timeout=30)

    def get(self, path: str) -> tuple[int, str]:
        deadline = time.monotonic() + 10
        while self.app.metrics_port is None and time.monotonic() < deadline:
            time.sleep(0.05)
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.app.metrics_port}{path}", timeout=5
            ) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode()


def wait_for(predicate, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def committed(bootstrap: str, group: str, topic: str) -> int | None:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    try:
        return consumer.committed(TopicPartition(topic, 0))
    finally:
        consumer.close()


def metric(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_poison_messages_go_to_the_dlq_and_good_ones_flow(kafka_bootstrap: str) -> None:
    prefix = unique_prefix()
    app = ServiceApp("relay", settings(kafka_bootstrap, prefix), Relay())
    sent = [
        ("e1", origin("e1")),
        ("e2", b"\xff\xfe not json"),
        ("e3", b'{"event_id": 3}'),
        ("e4", origin("e4", "poison")),
        ("e5", origin("e5")),
    ]
    with Running(app) as running:
        assert app.partitions("origins") == {0}  # created by the app, one partition
        produce(kafka_bootstrap, f"{prefix}.origins", sent)
        good = read_topic(kafka_bootstrap, f"{prefix}.bundles", until=2)
        dead = read_topic(kafka_bootstrap, f"{prefix}.dlq", until=3)
        wait_for(
            lambda: (
                metric(running.get("/metrics")[1], "symae_records_out_total", topic=f"{prefix}.dlq")
                == 3
            ),
            what="dlq counter",
        )
        text = running.get("/metrics")[1]
    assert [r.key for r in good] == [b"e1", b"e5"]
    assert [r.value for r in good] == [sent[0][1], sent[4][1]]
    letters = {r.key.decode(): DeadLetter.model_validate_json(r.value) for r in dead}
    assert {k: v.reason for k, v in letters.items()} == {
        "e2": "undecodable",
        "e3": "schema",
        "e4": "unpublishable",
    }
    assert letters["e2"].where == f"{prefix}.origins[0]@1"
    assert letters["e2"].payload_bytes() == sent[1][1]
    assert "event_id" in letters["e3"].detail
    assert metric(text, "symae_records_in_total", service="relay", topic=f"{prefix}.origins") == 5
    assert metric(text, "symae_records_out_total", topic=f"{prefix}.bundles") == 2
    for reason in ("undecodable", "schema", "unpublishable"):
        assert metric(text, "symae_rejections_total", service="relay", reason=reason) == 1


def test_commits_stop_at_retained_offsets_and_restart_redelivers(kafka_bootstrap: str) -> None:
    prefix = unique_prefix()
    topic = f"{prefix}.origins"
    first = Relay()
    with Running(ServiceApp("relay", settings(kafka_bootstrap, prefix), first)):
        produce(
            kafka_bootstrap,
            topic,
            [("a", origin("a")), ("b", origin("b", "hold")), ("c", origin("c"))],
        )
        read_topic(kafka_bootstrap, f"{prefix}.bundles", until=3)
    # the graceful stop committed, but not past the held message at offset 1
    assert committed(kafka_bootstrap, "symae-relay", topic) == 1
    second = Relay()
    with Running(ServiceApp("relay", settings(kafka_bootstrap, prefix), second)):
        out = read_topic(kafka_bootstrap, f"{prefix}.bundles", until=5)
    # b and c re-delivered (at-least-once), a not
    assert [r.key for r in out] == [b"a", b"b", b"c", b"b", b"c"]
    assert second.held == {("origins", 0): 1}


def test_stop_drains_and_commits_everything(kafka_bootstrap: str) -> None:
    prefix = unique_prefix()
    running = Running(ServiceApp("relay", settings(kafka_bootstrap, prefix), Relay()))
    with running:
        produce(
            kafka_bootstrap, f"{prefix}.origins", [(f"k{i}", origin(f"k{i}")) for i in range(20)]
        )
        read_topic(kafka_bootstrap, f"{prefix}.bundles", until=20)
    assert running.code == 0
    assert committed(kafka_bootstrap, "symae-relay", f"{prefix}.origins") == 20


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def capture() -> Iterator[_Capture]:
    handler = _Capture()
    logger = logging.getLogger("services.runtime.kafka")
    logger.addHandler(handler)
    old = logger.level
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(old)


def test_broker_absent_at_start_then_appears(capture: _Capture) -> None:
    port = free_port()
    bootstrap = f"127.0.0.1:{port}"
    prefix = unique_prefix()
    app = ServiceApp("relay", settings(bootstrap, prefix, kafka_connect_backoff_max_s=1.0), Relay())
    with Running(app) as running:
        wait_for(
            lambda: sum("not reachable" in m for m in capture.messages) >= 2,
            what="two logged connection attempts",
        )
        assert f"Kafka broker at {bootstrap} not reachable" in capture.messages[0]
        assert "retrying in" in capture.messages[0]
        status, body = running.get("/readyz")
        assert status == 503 and "connecting" in json.loads(body)["reason"]
        assert running.get("/healthz")[0] == 200
        with EmbeddedBroker(port=port):
            wait_for(lambda: running.get("/readyz")[0] == 200, what="ready after the broker came")
            produce(bootstrap, f"{prefix}.origins", [("late", origin("late"))])
            out = read_topic(bootstrap, f"{prefix}.bundles", until=1)
            assert [r.key for r in out] == [b"late"]
            assert any("reachable after" in m for m in capture.messages)
            running.app.stop()
            running.thread.join(timeout=30)
    assert running.code == 0
