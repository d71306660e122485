"""Delivery guarantees of the runtime with fake clients: nothing whose outputs were not
acknowledged is ever committed, whichever path commits (loop, revoke callback, close)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from kafka import TopicPartition
from kafka.errors import KafkaTimeoutError

import services.runtime.app as app_mod
from services.runtime import DeliveryFailed, Incoming, Outgoing, Processor, ServiceApp
from services.runtime.settings import ServiceSettings


class Echo(Processor):
    inputs = {"bundles": None}
    outputs = ("results",)

    def handle(self, msg: Incoming) -> list[Outgoing]:
        return [Outgoing("results", key=msg.key, value=msg.raw)]


class Future:
    def __init__(self, ok: bool) -> None:
        self.ok = ok

    def get(self, timeout: float | None = None) -> object:
        if not self.ok:
            raise KafkaTimeoutError("not acknowledged")
        return object()


class Producer:
    def __init__(self, ok: bool, on_flush=None) -> None:
        self.ok, self.on_flush, self.sent = ok, on_flush, []

    def send(self, topic, key=None, value=None):
        self.sent.append((topic, key, value))
        return Future(self.ok)

    def flush(self, timeout=None):
        if self.on_flush:
            self.on_flush()

    def close(self, timeout=None):
        pass


class Consumer:
    """Commits from its revoke callback on close, as kafka-python does."""

    def __init__(self, tp: TopicPartition) -> None:
        self.tp, self.commits, self.listener = tp, [], None
        self.batches = [
            {
                tp: [
                    SimpleNamespace(
                        topic=tp.topic,
                        partition=tp.partition,
                        offset=i,
                        key=b"k",
                        value=b"v%d" % i,
                        timestamp=1000,
                    )
                    for i in range(3)
                ]
            }
        ]

    def poll(self, timeout_ms=0, max_records=None):
        return self.batches.pop(0) if self.batches else {}

    def commit(self, offsets, timeout_ms=None):
        self.commits.append({tp: om.offset for tp, om in offsets.items()})

    def assignment(self):
        return {self.tp}

    def highwater(self, tp):
        return 3

    def seek(self, tp, offset):
        pass

    def close(self, autocommit=False, timeout_ms=None):
        self.listener.on_partitions_revoked([self.tp])


def _app(monkeypatch, first: Producer, later) -> tuple[ServiceApp, Consumer]:
    settings = ServiceSettings(kafka_bootstrap_servers="127.0.0.1:1", commit_interval_s=0)
    app = ServiceApp("echo", settings, Echo())
    tp = TopicPartition(settings.topic("bundles"), 0)
    consumer = Consumer(tp)
    consumer.listener = app_mod._Rebalance(app)
    app._consumer, app._producer = consumer, first
    monkeypatch.setattr(app_mod, "make_producer", lambda s: later())
    return app, consumer


def test_unacknowledged_batch_is_never_committed_even_from_the_revoke_callback(monkeypatch):
    holder = {}
    stop = lambda: holder["app"].stop_event.set()  # noqa: E731 - stop while retrying
    app, consumer = _app(monkeypatch, Producer(ok=False), lambda: Producer(ok=False, on_flush=stop))
    holder["app"] = app
    with pytest.raises(DeliveryFailed):
        app._iteration(10)
    app._shutdown()  # closes the consumer: its revoke callback commits what it may
    assert all(c.get(consumer.tp, 0) == 0 for c in consumer.commits), consumer.commits


def test_a_failed_send_is_retried_on_a_new_producer_then_committed(monkeypatch):
    fresh = Producer(ok=True)
    app, consumer = _app(monkeypatch, Producer(ok=False), lambda: fresh)
    app._iteration(10)
    assert len(fresh.sent) == 3
    assert consumer.commits[-1] == {consumer.tp: 3}
