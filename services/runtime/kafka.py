"""Kafka clients built from :class:`ServiceSettings`, and start-up chores.

- :func:`connect_admin` waits for the broker with exponential back-off, logging each
  failed attempt clearly, and returns an admin client once it answers.
- :func:`ensure_topics` creates missing topics (partitions and replication from the
  settings; bundles, results and the public STF topic compacted), idempotently.
- :func:`make_producer`: ``acks="all"``, idempotent, so an acknowledged send is durable
  and a retried send is not duplicated.
- :func:`make_consumer`: manual offset commits, earliest reset, the range assignor (the
  same partition of every input topic goes to the same consumer, so an event's origin
  and its records, both keyed by event id, meet in one process).
- :func:`crc32c_accelerated`: whether kafka-python checksums record batches with the C
  ``crc32c`` package (a declared dependency). Without it every produced and consumed
  batch is checksummed in pure Python, about 10 ms per 65 kB record on each side; the
  runtime logs one warning and sets ``symae_kafka_crc32c_accelerated`` to 0.

No transactions: they are not needed for at-least-once delivery and the embedded broker
does not filter aborted records.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable

from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.coordinator.assignors.range import RangePartitionAssignor
from kafka.errors import KafkaError, TopicAlreadyExistsError

from services.runtime.settings import COMPACTED, ServiceSettings
from symae.errors import SymaeError

log = logging.getLogger(__name__)


def crc32c_accelerated() -> bool:
    """Whether kafka-python's record batches (format v2) use the C CRC32C.

    kafka-python picks its checksum once, at import: the C ``crc32c`` package when it
    imports, its pure-Python table otherwise. This looks at the function the record
    batch code actually calls (bound as a default argument of ``calc_crc32c``).
    """
    from kafka.record import _crc32c, default_records

    defaults: tuple[object, ...] = getattr(default_records.calc_crc32c, "__defaults__", None) or ()
    return bool(defaults) and defaults[0] is not _crc32c.crc


def check_crc32c() -> bool:
    """:func:`crc32c_accelerated`, with one warning log line when it is not."""
    accelerated = crc32c_accelerated()
    if not accelerated:
        log.warning(
            "kafka-python checks CRC32C in pure Python (the crc32c package is missing): "
            "about 10 ms of CPU per 65 kB record produced or consumed; pip install crc32c"
        )
    return accelerated


class BrokerUnavailable(SymaeError, RuntimeError):
    """The broker stayed unreachable for longer than the start-up timeout."""


def connect_admin(
    settings: ServiceSettings,
    stop: threading.Event | None = None,
    initial_backoff: float = 0.5,
    on_attempt: Callable[[], None] | None = None,
    max_attempts: int | None = None,
) -> KafkaAdminClient:
    """An admin client, retrying with exponential back-off until the broker answers.

    Gives up with :class:`BrokerUnavailable` after ``kafka_startup_timeout_s`` (never when
    unset) or when ``stop`` is set. ``on_attempt`` is called before every attempt (the
    service's liveness beat: waiting for the broker is not being stuck).
    """
    servers = ",".join(settings.client_config()["bootstrap_servers"])
    started = time.monotonic()
    backoff = initial_backoff
    attempt = 0
    while True:
        attempt += 1
        if on_attempt is not None:
            on_attempt()
        try:
            admin = KafkaAdminClient(
                **settings.client_config(), request_timeout_ms=10000, bootstrap_timeout_ms=3000
            )
            if attempt > 1:
                log.info("Kafka broker at %s reachable after %d attempts", servers, attempt)
            return admin
        except (KafkaError, OSError) as exc:
            waited = time.monotonic() - started
            timeout = settings.kafka_startup_timeout_s
            if max_attempts is not None and attempt >= max_attempts:
                raise BrokerUnavailable(f"Kafka broker at {servers} unreachable: {exc}") from exc
            if timeout is not None and waited >= timeout:
                raise BrokerUnavailable(
                    f"Kafka broker at {servers} unreachable for {waited:.0f} s "
                    f"(timeout {timeout} s): {exc}"
                ) from exc
            log.warning(
                "Kafka broker at %s not reachable (attempt %d, %s); retrying in %.1f s",
                servers,
                attempt,
                type(exc).__name__,
                backoff,
                extra={"bootstrap_servers": servers, "attempt": attempt, "retry_in_s": backoff},
            )
            if stop is not None and stop.wait(backoff):
                raise BrokerUnavailable("stopped while waiting for the broker") from exc
            if stop is None:
                time.sleep(backoff)
            backoff = min(backoff * 2, settings.kafka_connect_backoff_max_s)


def ensure_topics(
    admin: KafkaAdminClient, settings: ServiceSettings, names: Iterable[str]
) -> list[str]:
    """Create the logical topics ``names`` that do not exist yet; returns those created."""
    existing = set(admin.list_topics())
    created = []
    for name in names:
        full = settings.topic(name)
        if full in existing:
            continue
        configs = {"cleanup.policy": "compact"} if name in COMPACTED else {}
        topic = NewTopic(
            full,
            settings.topic_partitions,
            settings.topic_replication_factor,
            topic_configs=configs,
        )
        try:
            admin.create_topics([topic])
            created.append(full)
            log.info(
                "created topic %s (%d partitions)",
                full,
                settings.topic_partitions,
                extra={"topic": full},
            )
        except TopicAlreadyExistsError:
            pass  # another replica created it in between
    return created


def make_producer(settings: ServiceSettings) -> KafkaProducer:
    """A durable producer: every send acknowledged by all in-sync replicas, idempotent.

    Sends give up after ``kafka_delivery_timeout_ms`` (the runtime then builds a new
    producer, with a new producer id, and sends again), and a send never blocks longer
    than that waiting for metadata.
    """
    delivery = settings.kafka_delivery_timeout_ms
    request = max(1000, min(10000, delivery // 2))
    return KafkaProducer(
        **settings.client_config(),
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_request_size=settings.kafka_max_request_size,
        compression_type=None,
        request_timeout_ms=request,
        delivery_timeout_ms=delivery,
        max_block_ms=delivery,
        reconnect_backoff_max_ms=2000,
    )


def bootstrap_addresses(settings: ServiceSettings) -> list[tuple[str, int]]:
    """(host, port) of every bootstrap server."""
    out = []
    for server in settings.client_config()["bootstrap_servers"]:
        host, _, port = server.strip().rpartition(":")
        out.append((host.strip("[]") or "127.0.0.1", int(port or 9092)))
    return out


def broker_reachable(addresses: Iterable[tuple[str, int]], timeout: float = 1.0) -> bool:
    """Whether any bootstrap server accepts a TCP connection (a cheap liveness check)."""
    for host, port in addresses:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                return True
        except OSError:
            continue
    return False


class BrokerWatch:
    """A daemon thread that checks every ``interval`` s whether the broker answers TCP.

    ``up`` is what readiness reports; ``generation`` grows each time the broker comes
    back after being away (the runtime then re-creates missing topics: a broker that
    lost its storage comes back empty).
    """

    def __init__(
        self,
        settings: ServiceSettings,
        interval: float = 1.0,
        on_down: Callable[[], None] | None = None,
    ) -> None:
        self.on_down = on_down
        self.addresses = bootstrap_addresses(settings)
        self.interval = interval
        self.up = True
        self.generation = 0
        self.down_since: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="broker-watch", daemon=True)

    def start(self) -> BrokerWatch:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            up = broker_reachable(self.addresses, timeout=min(1.0, self.interval))
            if up and not self.up:
                self.generation += 1
                log.warning(
                    "Kafka broker reachable again after %.0f s",
                    time.monotonic() - (self.down_since or time.monotonic()),
                )
                self.down_since = None
            elif not up and self.up:
                self.down_since = time.monotonic()
                log.warning("Kafka broker at %s not reachable", self.addresses)
                if self.on_down is not None:
                    self.on_down()
            self.up = up
            self._stop.wait(self.interval)


def make_consumer(settings: ServiceSettings, service: str) -> KafkaConsumer:
    """A group consumer that never commits on its own (the service commits)."""
    return KafkaConsumer(
        **settings.client_config(),
        reconnect_backoff_max_ms=2000,
        group_id=settings.group_id(service),
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=settings.kafka_session_timeout_ms,
        heartbeat_interval_ms=settings.kafka_heartbeat_interval_ms,
        max_poll_interval_ms=settings.kafka_max_poll_interval_ms,
        max_poll_records=settings.kafka_max_poll_records,
        fetch_max_bytes=max(settings.kafka_max_request_size, 52428800),
        max_partition_fetch_bytes=settings.kafka_max_request_size,
        partition_assignment_strategy=[RangePartitionAssignor],
    )
