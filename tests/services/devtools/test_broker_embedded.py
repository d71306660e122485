"""The embedded Tansu broker: as a context manager and as ``symae broker --port N``."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from services.devtools.broker import LOOPBACK, BrokerError, EmbeddedBroker, free_port, port_open
from symae.data.reference import REPO_ROOT

pytestmark = pytest.mark.kafka


def test_context_manager_serves_kafka_and_releases_the_port() -> None:
    with EmbeddedBroker() as broker:
        assert broker.running
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap_servers, acks="all")
        producer.send("t.embedded", key=b"k", value=b"hello").get(timeout=30)
        producer.close()
        consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap_servers)
        tp = TopicPartition("t.embedded", 0)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        values = [r.value for batch in consumer.poll(timeout_ms=5000).values() for r in batch]
        consumer.close()
        assert values == [b"hello"]
        port = broker.port
    assert not broker.running
    assert not port_open(LOOPBACK, port)


def test_busy_port_is_refused_with_its_number() -> None:
    with EmbeddedBroker() as first:
        with pytest.raises(BrokerError, match=f"port {first.port} .* already in use"):
            EmbeddedBroker(port=first.port).start()


def test_command_runs_until_sigterm() -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "symae.cli", "broker", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=REPO_ROOT,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline().decode() for _ in range(2)]  # a log line, then ready
        assert f"broker ready: --bootstrap-servers 127.0.0.1:{port}" in lines[-1], lines
        assert port_open(LOOPBACK, port)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
        deadline = time.monotonic() + 5
        while port_open(LOOPBACK, port) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not port_open(LOOPBACK, port)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
