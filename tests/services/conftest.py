"""Fixtures for the streaming tests: the embedded broker, service processes, bundles, and plain
Kafka clients to feed and read topics (the tiny model is in tests/conftest.py).

Every test that talks to Kafka uses its own topic prefix and consumer groups on the one
session broker, so tests never see each other's messages.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from services.devtools.broker import EmbeddedBroker, free_port
from services.schemas import BundleMessage, OriginMessage
from symae.contract import DataContract
from symae.data.dataset import EventData, TraceGroup
from symae.data.events import Origin
from symae.data.reference import REPO_ROOT

PYTHON = sys.executable


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``HOST:PORT`` of an embedded Tansu broker for the whole session."""
    log_path = tmp_path_factory.mktemp("broker") / "tansu.log"
    with EmbeddedBroker(log_path=log_path) as broker:
        yield broker.bootstrap_servers


def unique_prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


class ServiceProcess:
    """``symae serve <service>`` (or another ``symae`` command) as a child process."""

    def __init__(
        self,
        args: list[str],
        log_path: Path,
        env: dict[str, str] | None = None,
        metrics_port: int | None = None,
    ) -> None:
        self.metrics_port = metrics_port if metrics_port is not None else free_port()
        self.args = [*args, "--metrics-port", str(self.metrics_port)]
        self.log_path = log_path
        self.env = {**os.environ, "SYMAE_LOG_FORMAT": "text", **(env or {})}
        # one consumer group per test and service: on the shared session broker a group
        # left by an earlier test (other topics) can hold up a new member's join
        prefix = self.env.get("SYMAE_TOPIC_PREFIX")
        if prefix and args[0] == "serve":
            self.env.setdefault("SYMAE_CONSUMER_GROUP", f"{prefix}-{args[1]}")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ServiceProcess:
        log = open(self.log_path, "ab")  # noqa: SIM115 - kept open by the child
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "symae.cli", *self.args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env,
            cwd=REPO_ROOT,
        )
        log.close()
        return self

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.metrics_port}{path}"

    def wait_ready(self, timeout: float = 60.0) -> ServiceProcess:
        """Wait until ``/readyz`` answers 200; fail with the service's log otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                pytest.fail(f"{self.args[:2]} exited {self.proc.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url("/readyz"), timeout=1) as resp:
                    if resp.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        pytest.fail(f"{self.args[:2]} not ready within {timeout} s:\n{self.log()}")

    def metrics(self) -> str:
        with urllib.request.urlopen(self.url("/metrics"), timeout=5) as resp:
            return resp.read().decode()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, then wait for the drain; returns the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"{self.args[:2]} did not stop on SIGTERM:\n{self.log()}")


def metric(text: str, series: str, /, **labels: str) -> float:
    """The value of one sample of the Prometheus text exposition (0 when absent)."""
    for line in text.splitlines():
        if not line.startswith(series + "{") and not line.startswith(series + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.fixture
def services(tmp_path: Path) -> Iterator[list[ServiceProcess]]:
    """A list to put started services in; every one still running is killed at the end."""
    started: list[ServiceProcess] = []
    yield started
    for svc in started:
        if svc.proc is not None and svc.proc.poll() is None:
            svc.proc.kill()
            svc.proc.wait()


def random_bundle(
    event_id: str,
    seed: int,
    pixels: tuple[int, ...] = (10, 11, 30),
    per_pixel: int = 4,
    magnitude: float = 7.1,
) -> BundleMessage:
    """A bundle of random standardised traces (shape and metadata of a real one)."""
    rng = np.random.default_rng(seed)
    contract = DataContract()
    groups = {}
    for k, pixel in enumerate(pixels):
        traces = rng.standard_normal((per_pixel, contract.nt)).astype(np.float32)
        groups[pixel] = TraceGroup(
            event_id=event_id,
            pixel=pixel,
            traces=traces,
            station_id=[f"XX.P{pixel}S{i}..BHZ" for i in range(per_pixel)],
            fields={
                "azimuth_deg": np.full(per_pixel, 40.0 * k),
                "takeoff_deg": np.full(per_pixel, 25.0),
            },
        )
    origin = Origin(
        event_id=event_id,
        time="2021-03-04T19:28:33Z",
        latitude=-29.7,
        longitude=-177.3,
        depth_km=28.0,
        magnitude=magnitude,
    )
    event = EventData(origin=origin, groups=groups, provenance={"source": "test"})
    return BundleMessage.from_event(
        event,
        OriginMessage.from_origin(origin),
        contract,
        first_record_time=1.0e9,
        last_record_time=1.0e9 + 5,
        emitted_at=1.0e9 + 10,
    )


def register_version(
    source: Path, registry: Path, version: str, created: str, broken: bool = False
) -> Path:
    """Copy ``source`` into ``registry/<name>/<version>`` as a new version.

    ``broken`` alters a graph after the checksums are written, as a corrupted upload.
    The directory is assembled aside and renamed into place, as a registry write is.
    """
    import json

    from symae.artifacts.store import write_model_json

    meta = json.loads((source / "model.json").read_text())
    target = registry / meta["name"] / version
    staging = registry / f".staging-{version}"
    shutil.copytree(source, staging)
    write_model_json(staging, {**meta, "version": version, "created": created})
    if broken:
        graph = staging / "decoder.onnx"
        graph.write_bytes(graph.read_bytes()[:-64])
    target.parent.mkdir(parents=True, exist_ok=True)
    staging.rename(target)
    return target


def produce(bootstrap: str, topic: str, messages: list[tuple[str, bytes]]) -> None:
    """Send ``(key, value)`` pairs and wait for every acknowledgement."""
    from kafka import KafkaProducer

    producer = KafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=5, max_request_size=8 * 1024 * 1024
    )
    try:
        for key, value in messages:
            producer.send(topic, key=key.encode(), value=value)
        producer.flush()
    finally:
        producer.close()


def read_topic(bootstrap: str, topic: str, until: int, timeout: float = 60.0) -> list:
    """Every record of ``topic`` from the start, once at least ``until`` have arrived."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    records: list = []
    try:
        deadline = time.monotonic() + timeout
        parts: list[TopicPartition] = []
        while not parts and time.monotonic() < deadline:
            found = consumer.partitions_for_topic(topic)
            parts = [TopicPartition(topic, p) for p in sorted(found or ())]
            if not parts:
                time.sleep(0.2)
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        while len(records) < until and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=300).values():
                records.extend(batch)
    finally:
        consumer.close()
    return records
