"""The whole streaming pipeline on one machine: embedded broker plus the three services
as child processes, and the readers the demo and the stream benchmark need.

``LocalStack`` starts the broker on a free loopback port, then ``symae serve ingest``,
``inference`` and ``publish`` (each its own process, metrics port and log file; with
``replicas``, several processes of one service in its consumer group, named
``inference``, ``inference-2``, ...), waits until every ``/readyz`` answers, and on exit
stops the services with SIGTERM (they drain and commit) and then the broker.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from services.devtools.broker import EmbeddedBroker, free_port, process_cpu_seconds
from services.runtime.settings import BUNDLES, RESULTS, STF, ServiceSettings
from symae.errors import SymaeError

log = logging.getLogger(__name__)

SERVICES = ("ingest", "inference", "publish")


def replica_names(service: str, n: int) -> list[str]:
    """Process names of ``n`` replicas of ``service``: the service's name, then ``-2``..."""
    if n < 1 or (service == "publish" and n > 1):
        raise ValueError(f"{service}: replicas must be >= 1 (publish: 1, its HTTP port), got {n}")
    return [service, *(f"{service}-{k}" for k in range(2, n + 1))]


class StackError(SymaeError, RuntimeError):
    """A service of the local stack failed to start or died."""


@dataclass
class ChildService:
    """One ``symae serve <service>`` process (``name``: the service, ``-<k>`` for its k-th
    replica)."""

    name: str
    service: str
    args: list[str]
    log_path: Path
    metrics_port: int
    proc: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)

    def start(self, env: dict[str, str]) -> None:
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "symae.cli",
                "serve",
                self.service,
                *self.args,
                "--metrics-port",
                str(self.metrics_port),
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
        )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.metrics_port}{path}"

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process so far (Linux ``/proc``; 0 elsewhere)."""
        return process_cpu_seconds(self.proc.pid) if self.proc is not None else 0.0

    def ready(self) -> bool:
        if self.proc is None or self.proc.poll() is not None:
            tail = self.log_path.read_text(errors="replace")[-3000:]
            raise StackError(f"{self.name} exited ({self.proc and self.proc.returncode}):\n{tail}")
        try:
            with urllib.request.urlopen(self.url("/readyz"), timeout=1) as resp:
                return resp.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def metrics(self) -> str:
        with urllib.request.urlopen(self.url("/metrics"), timeout=5) as resp:
            return resp.read().decode()

    def stop(self, timeout: float = 30.0) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                log.warning("%s did not drain within %.0f s; killing it", self.name, timeout)
                self.proc.kill()
                self.proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None


class LocalStack:
    """Broker and services for a run in ``workdir`` (logs in ``workdir/logs``)."""

    def __init__(
        self,
        workdir: Path,
        model: str,
        http_port: int | None = None,
        prefix: str = "symae",
        service_args: dict[str, list[str]] | None = None,
        env: dict[str, str] | None = None,
        replicas: dict[str, int] | None = None,
    ) -> None:
        self.workdir = Path(workdir)
        self.products_dir = self.workdir / "products"
        self.logs_dir = self.workdir / "logs"
        self.http_port = http_port or free_port()
        self.prefix = prefix
        self.broker = EmbeddedBroker(log_path=self.logs_dir / "broker.log")
        extra = service_args or {}
        base = ["--bootstrap-servers", self.broker.bootstrap_servers]
        own = {
            "ingest": [],
            "inference": ["--model", model],
            "publish": [
                "--http-port",
                str(self.http_port),
                "--products-dir",
                str(self.products_dir),
            ],
        }
        self.services = {
            name: ChildService(
                name,
                service,
                [*base, *own[service], *extra.get(service, [])],
                self.logs_dir / f"{name}.log",
                free_port(),
            )
            for service in SERVICES
            for name in replica_names(service, (replicas or {}).get(service, 1))
        }
        self.env = {
            **os.environ,
            "SYMAE_TOPIC_PREFIX": prefix,
            "SYMAE_LOG_FORMAT": "json",
            **(env or {}),
        }

    @property
    def bootstrap_servers(self) -> str:
        return self.broker.bootstrap_servers

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def settings(self) -> ServiceSettings:
        """Client settings pointing at this stack's broker and topics."""
        return ServiceSettings(
            kafka_bootstrap_servers=self.bootstrap_servers,
            topic_prefix=self.prefix,
            metrics_port=0,
        )

    def start(self, timeout: float = 120.0) -> LocalStack:
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        self.broker.start()
        for svc in self.services.values():
            svc.start(self.env)
        deadline = time.monotonic() + timeout
        waiting = set(self.services)
        while waiting:
            if time.monotonic() > deadline:
                raise StackError(f"not ready within {timeout:.0f} s: {sorted(waiting)}")
            waiting = {name for name in waiting if not self.services[name].ready()}
            time.sleep(0.2)
        log.info(
            "local stack ready: broker %s, products on %s", self.bootstrap_servers, self.http_url
        )
        return self

    def stop(self) -> None:
        for svc in reversed(list(self.services.values())):
            svc.stop()
        self.broker.stop()

    def __enter__(self) -> LocalStack:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ readers
    def events(self) -> list[dict[str, Any]]:
        """``GET /events`` of the publisher."""
        with urllib.request.urlopen(f"{self.http_url}/events", timeout=5) as resp:
            return json.loads(resp.read())

    def read(self, logical_topic: str, timeout_ms: int = 1000) -> list[Any]:
        """Every record of one topic from its beginning (kafka-python ConsumerRecords)."""
        from kafka import KafkaConsumer, TopicPartition

        settings = self.settings()
        consumer = KafkaConsumer(**settings.client_config(), enable_auto_commit=False)
        try:
            topic = settings.topic(logical_topic)
            partitions = [
                TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())
            ]
            if not partitions:
                return []
            consumer.assign(partitions)
            consumer.seek_to_beginning(*partitions)
            end = consumer.end_offsets(partitions)
            records: list[Any] = []
            deadline = time.monotonic() + timeout_ms / 1e3 + 10
            while time.monotonic() < deadline and any(
                consumer.position(tp) < end[tp] for tp in partitions
            ):
                for batch in consumer.poll(timeout_ms=timeout_ms).values():
                    records.extend(batch)
            return records
        finally:
            consumer.close()

    def produce(self, logical_topic: str, messages: list[tuple[str, bytes]]) -> None:
        """Send ``(key, value)`` pairs to one topic and wait for every acknowledgement."""
        from services.runtime.kafka import make_producer

        settings = self.settings()
        producer = make_producer(settings)
        try:
            topic = settings.topic(logical_topic)
            for key, value in messages:
                producer.send(topic, key=key.encode(), value=value)
            producer.flush()
        finally:
            producer.close(timeout=10)

    def wait_results(self, event_ids: set[str], timeout: float) -> dict[str, float]:
        """Wait for a result of every event; event id -> broker time of its first result."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            first: dict[str, float] = {}
            for record in self.read(RESULTS):
                event_id = record.key.decode().split("|", 1)[0]
                if event_id in event_ids:
                    first.setdefault(event_id, record.timestamp / 1e3)
            if set(first) == event_ids:
                return first
            time.sleep(0.5)
        raise StackError(f"results missing after {timeout:.0f} s")

    def latest_bundle_revisions(self) -> dict[str, int]:
        """Event id -> highest revision ingest has emitted so far."""
        from services.schemas import BundleMessage

        latest: dict[str, int] = {}
        for record in self.read(BUNDLES):
            bundle = BundleMessage.model_validate_json(record.value)
            latest[bundle.event_id] = max(latest.get(bundle.event_id, 0), bundle.revision)
        return latest

    def _check_alive(self) -> None:
        """Raise ``StackError`` naming the first service process that has exited."""
        for svc in self.services.values():
            if svc.proc is None or svc.proc.poll() is not None:
                raise StackError(f"{svc.name} died; see {svc.log_path}")

    def wait_settled(
        self, event_ids: set[str], timeout: float, quiet_s: float = 6.0
    ) -> dict[str, int]:
        """Wait until every event's latest bundle revision is the one published and no new
        bundle came for ``quiet_s``; returns event id -> published revision."""
        deadline = time.monotonic() + timeout
        last_change, seen = time.monotonic(), None
        while time.monotonic() < deadline:
            self._check_alive()
            latest = self.latest_bundle_revisions()
            if latest != seen:
                seen, last_change = latest, time.monotonic()
            published = {e["event_id"]: e["revision"] for e in self.events()}
            done = event_ids <= set(published) and all(
                published[e] == latest.get(e) for e in event_ids
            )
            if done and time.monotonic() - last_change >= quiet_s:
                return {e: published[e] for e in event_ids}
            time.sleep(0.5)
        missing = sorted(event_ids - {e["event_id"] for e in self.events()})
        raise StackError(f"events not settled within {timeout:.0f} s (unpublished: {missing})")

    def replicas(self, service: str) -> list[ChildService]:
        """The processes of one service."""
        return [svc for svc in self.services.values() if svc.service == service]

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds so far of every service (its replicas together) and of the broker."""
        cpu = {name: sum(s.cpu_seconds() for s in self.replicas(name)) for name in SERVICES}
        cpu["broker"] = self.broker.cpu_seconds()
        return cpu

    def final_stf_times(self) -> dict[str, float]:
        """Event id -> broker time (POSIX s) of its first public STF that is not a preview
        and was sent after ingest closed the event (its ``final`` bundle): the final
        revision's, extracted in full or re-used from a settle of the same traces."""
        from services.publish.stf_message import StfMessage
        from services.schemas import BundleMessage
        from symae.extract.result import PREVIEW_FLAG

        closed: dict[str, float] = {}
        for record in self.read(BUNDLES):
            bundle = BundleMessage.model_validate_json(record.value)
            if bundle.final:
                closed.setdefault(bundle.event_id, record.timestamp / 1e3)
        first: dict[str, float] = {}
        for record in self.read(STF):
            msg = StfMessage.model_validate_json(record.value)
            sent = record.timestamp / 1e3
            if sent >= closed.get(msg.event_id, float("inf")) and PREVIEW_FLAG not in msg.flags:
                first.setdefault(msg.event_id, sent)
        return first

    def wait_final(self, event_ids: set[str], timeout: float) -> dict[str, float]:
        """Wait for the final public STF of every event (``final_stf_times``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            done = self.final_stf_times()
            if event_ids <= set(done):
                return {e: done[e] for e in event_ids}
            time.sleep(0.5)
        raise StackError(f"final STFs missing after {timeout:.0f} s")

    def stf_times(self) -> dict[tuple[str, int], float]:
        """(event id, revision) -> broker time (POSIX s) its public STF was first sent."""
        from services.publish.stf_message import StfMessage

        first: dict[tuple[str, int], float] = {}
        for record in self.read(STF):
            msg = StfMessage.model_validate_json(record.value)
            first.setdefault((msg.event_id, msg.revision), record.timestamp / 1e3)
        return first
