"""Publish dropped from its consumer group (handling past ``max.poll.interval``) keeps
running, re-joins and publishes everything: nothing lost, re-deliveries idempotent."""

from __future__ import annotations

import logging
import threading
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

import pytest

from services.publish.processor import PublishProcessor
from services.publish.stf_message import StfMessage
from services.runtime import Incoming, Outgoing, ServiceApp, ServiceSettings
from tests.services.conftest import produce, read_topic, unique_prefix
from tests.services.publish.test_products import make_result

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

POLL_INTERVAL_MS = 1500


class SlowPublisher(PublishProcessor):
    """Pauses past the poll interval on the first message of the listed events, once."""

    def __init__(self, products: Path, slow: set[str]) -> None:
        super().__init__(products, http_port=0)
        self.slow = set(slow)

    def handle(self, msg: Incoming) -> Sequence[Outgoing]:
        if msg.key in self.slow:
            self.slow.discard(msg.key)
            time.sleep(2.5 * POLL_INTERVAL_MS / 1e3)  # the group drops this member
        return super().handle(msg)


class _Count(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_publish_survives_being_dropped_from_its_group(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    prefix = unique_prefix()
    settings = ServiceSettings(
        kafka_bootstrap_servers=kafka_bootstrap,
        topic_prefix=prefix,
        topic_partitions=1,
        metrics_port=0,
        commit_interval_s=0,
        kafka_poll_timeout_ms=100,
        kafka_session_timeout_ms=3000,
        kafka_heartbeat_interval_ms=500,
        kafka_max_poll_interval_ms=POLL_INTERVAL_MS,
        consumer_group=f"{prefix}-publish",
    )
    events = [f"ev-{i}" for i in range(6)]
    processor = SlowPublisher(tmp_path / "products", slow={"ev-1", "ev-4"})
    app = ServiceApp("publish", settings, processor)
    logs = _Count()
    logging.getLogger("services.runtime.app").addHandler(logs)
    outcome: list[int] = []
    thread = threading.Thread(target=lambda: outcome.append(app.run()), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not app.health.ready()[0] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert app.health.ready()[0], app.health.ready()
        results = [make_result(e, revision=1) for e in events]
        produce(
            kafka_bootstrap,
            f"{prefix}.results",
            [(r.event_id, r.model_dump_json().encode()) for r in results],
        )
        # every event published at least once (re-deliveries allowed and identical)
        deadline = time.monotonic() + 90
        seen: dict[str, list[bytes]] = {}
        while time.monotonic() < deadline and set(seen) != set(events):
            records = read_topic(kafka_bootstrap, f"{prefix}.stf", until=len(events), timeout=5)
            seen = {}
            for r in records:
                seen.setdefault(r.key.decode(), []).append(r.value)
        assert set(seen) == set(events), f"published {sorted(seen)}; log: {logs.messages}"
        assert not processor.slow  # both pauses happened
        assert thread.is_alive() and not outcome, f"the service exited: {outcome}"
        for values in seen.values():  # a re-delivery sends the same message again
            assert len(set(values)) == 1
            assert StfMessage.model_validate_json(values[0]).revision == 1
        for event in events:
            assert processor.store.get(event) is not None
        # the STF messages went out without a figure rendered; the figure URL answers
        assert processor.store.figures.rendered == 0 and processor.server is not None
        url = f"http://127.0.0.1:{processor.server.port}/events/ev-3/stf.png"
        with urllib.request.urlopen(url, timeout=30) as resp:
            assert resp.read()[:4] == b"\x89PNG"
        assert processor.store.figures.rendered == 1
    finally:
        app.stop()
        thread.join(timeout=30)
        logging.getLogger("services.runtime.app").removeHandler(logs)
    assert outcome == [0]
    assert any("dropped from group" in m for m in logs.messages), logs.messages
