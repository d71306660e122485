"""The application object every service runs: consume, handle, produce, then commit.

How to write a service::

    from services.runtime import Incoming, Outgoing, PoisonMessage, Processor, run_service
    from services.schemas import BundleMessage

    class Echo(Processor):
        inputs = {"bundles": BundleMessage}      # logical topic -> pydantic model
        outputs = ("results",)                   # logical topics this service writes

        def handle(self, msg: Incoming) -> list[Outgoing]:
            bundle: BundleMessage = msg.value    # already decoded and validated
            if bundle.n_traces == 0:
                raise PoisonMessage("empty", "bundle without traces")  # -> DLQ
            return [Outgoing("results", key=bundle.event_id, value=some_model)]

    sys.exit(run_service("echo", settings, Echo()))

Guarantees the loop gives a handler (at-least-once, no transactions):

- each message is decoded with its topic's model; bytes that are not JSON go to the
  dead-letter topic with reason ``undecodable``, JSON that violates the model with
  ``schema``; :class:`PoisonMessage` raised by the handler sends the message there with
  its reason; any other exception is logged with ``topic[partition]@offset`` and the
  message dead-lettered as ``internal_error`` (one bad message never blocks a partition);
- outputs are produced with ``acks=all`` on an idempotent producer and flushed; only when
  every output of a batch is acknowledged are the batch's offsets committed (at most once
  per ``commit_interval_s``). Only offsets whose outputs were acknowledged are ever
  committed, on every path (periodic commit, rebalance, shutdown). A send that is not
  acknowledged is retried with back-off on a new producer (a broker that restarted does
  not know the old producer id) until it is, or until the service is stopped, which
  then exits 1 without committing the batch;
- a broker that goes away is waited for: ``/readyz`` turns 503 while it is unreachable
  or while the consumer holds no partition, missing topics are created again when it
  comes back, and the service never exits on a transient broker error;
- a handler that raises :class:`TransientError` (or ``MemoryError``) is retried with
  back-off; past a few tries its partition is rewound to that message and polled again
  later, so a transient failure never sends a message to the dead-letter topic;
- a stateful processor keeps messages it still needs by returning, from
  :meth:`Processor.retained`, the lowest offset it needs per partition: commits never go
  past it, so a crash re-delivers what was held in memory and the state is rebuilt;
- :meth:`Processor.tick` is called after every poll (deadlines, periodic flushes);
- each poll asks for no more messages than the measured handling cost lets the loop
  finish in half of ``kafka_max_poll_interval_ms`` (time spent in ``tick`` is the
  processor's to bound);
- on SIGTERM/SIGINT the current batch finishes, outputs are flushed, offsets committed,
  and the consumer leaves its group; after a crash nothing more is committed;
- partitions revoked in a rebalance are committed first, then
  :meth:`Processor.on_revoked` drops their state;
- a consumer dropped from its group (a batch that outlasted
  ``kafka_max_poll_interval_ms``) gets ``CommitFailedError`` on its next commit: logged,
  never fatal; the next poll re-joins and the uncommitted messages come again (handlers
  are idempotent: keys are identities).

Keys are the deterministic identities of what a message describes (event id,
revision, model version), so a re-delivery overwrites rather than duplicates.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from kafka import ConsumerRebalanceListener, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import CommitFailedError, KafkaError
from kafka.producer.future import FutureRecordMetadata
from kafka.structs import OffsetAndMetadata
from pydantic import BaseModel, ValidationError

from services.runtime.health import HealthServer, HealthState
from services.runtime.kafka import (
    BrokerUnavailable,
    BrokerWatch,
    check_crc32c,
    connect_admin,
    ensure_topics,
    make_consumer,
    make_producer,
)
from services.runtime.logging import configure_logging, where
from services.runtime.metrics import Metrics
from services.runtime.settings import DLQ, TOPICS, ServiceSettings
from services.schemas import DeadLetter, DeadLetterReason
from symae.errors import SymaeError

log = logging.getLogger(__name__)


class ServiceError(SymaeError, RuntimeError):
    """Base of the runtime's errors."""


class DeliveryFailed(ServiceError):
    """An output was not acknowledged: the service stops without committing."""


class TransientError(ServiceError):
    """Raised by a handler for a failure that may pass (resources, a dependency):
    the message is tried again later, never dead-lettered."""


TRANSIENT = (TransientError, MemoryError)
HANDLE_TRIES = 3  # tries of a message in one poll before its partition is rewound
MIN_POLL_MS = 10  # the shortest poll a processor's next deadline makes (no busy loop)


class _RetryLater(Exception):
    """Internal: a message kept failing transiently; rewind its partition."""


class PoisonMessage(ServiceError):
    """Raised by a handler: send this message to the dead-letter topic with ``reason``."""

    def __init__(self, reason: DeadLetterReason | str, detail: str = "") -> None:
        reason = DeadLetterReason(reason)  # ValueError for a reason outside the schema
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Incoming:
    """One consumed message, decoded. ``topic`` is the logical name (``"bundles"``)."""

    topic: str
    partition: int
    offset: int
    key: str | None
    value: Any  # the topic's pydantic model, or bytes for an undecoded topic
    timestamp: float  # producer time, POSIX seconds
    raw: bytes = field(repr=False)
    full_topic: str = ""

    @property
    def where(self) -> str:
        return where(self.full_topic or self.topic, self.partition, self.offset)


@dataclass(frozen=True)
class Outgoing:
    """One message to produce: logical topic, key and a model (or raw bytes)."""

    topic: str
    key: str | None
    value: BaseModel | bytes


class Processor:
    """What a service does with its messages; override :meth:`handle` at least."""

    inputs: Mapping[str, type[BaseModel] | None] = {}
    outputs: Sequence[str] = ()

    def start(self, app: ServiceApp) -> None:
        """Called once before the first poll (the app's settings and metrics are ready)."""

    def handle(self, msg: Incoming) -> Sequence[Outgoing]:
        raise NotImplementedError

    def tick(self, now: float) -> Sequence[Outgoing]:
        """Called after every poll with ``time.time()``; may return outputs."""
        return ()

    def next_tick_at(self) -> float | None:
        """When ``tick`` next has something to do (``time.time()`` scale; None: nothing
        known): the loop polls no longer than until then."""
        return None

    def retained(self) -> Mapping[tuple[str, int], int]:
        """(logical topic, partition) -> lowest offset still held in memory."""
        return {}

    def on_assigned(self, partitions: Sequence[tuple[str, int]]) -> None:
        """Partitions (logical topic, partition) this replica now reads."""

    def on_revoked(self, partitions: Sequence[tuple[str, int]]) -> None:
        """Partitions taken away; their offsets are already committed. Drop their state."""

    def close(self) -> None:
        """Called once after the final commit."""


def dead_letter(
    service: str,
    msg: Incoming,
    reason: DeadLetterReason | str,
    detail: str,
    max_payload: int = 1 << 20,
) -> Outgoing:
    """The dead-letter output for ``msg`` (original bytes kept up to ``max_payload``)."""
    letter = DeadLetter.build(
        service=service,
        reason=reason,
        detail=detail,
        topic=msg.full_topic or msg.topic,
        partition=msg.partition,
        offset=msg.offset,
        key=msg.key,
        payload=msg.raw,
        max_payload=max_payload,
    )
    return Outgoing(DLQ, key=msg.key, value=letter)


class ServiceApp:
    """One service: frozen settings, a processor, Kafka clients, metrics and probes."""

    def __init__(
        self,
        name: str,
        settings: ServiceSettings,
        processor: Processor,
        metrics: Metrics | None = None,
    ) -> None:
        self.name = name
        self.settings = settings
        self.processor = processor
        self.metrics = metrics or Metrics(name)
        self.health = HealthState(stale_after=max(30.0, settings.kafka_max_poll_interval_ms / 1e3))
        self.stop_event = threading.Event()
        self.metrics_port: int | None = None
        self.crc32c_accelerated: bool | None = None  # checked when the service starts
        self._full_to_logical = {settings.topic(t): t for t in TOPICS}
        self._processed: dict[TopicPartition, int] = {}  # next offset handled (maybe unacked)
        self._acked: dict[TopicPartition, int] = {}  # next offset whose outputs are acked
        self._committed: dict[TopicPartition, int] = {}
        self._last_commit = 0.0
        self._cost: float | None = None  # seconds per message, measured
        self._consumer: KafkaConsumer | None = None
        self._producer: KafkaProducer | None = None
        self._server: HealthServer | None = None
        self._watch: BrokerWatch | None = None
        self._topics_generation = 0
        self._retry_at: dict[TopicPartition, float] = {}
        self._retry_backoff: dict[TopicPartition, float] = {}

    # ------------------------------------------------------------------ lifecycle
    def stop(self) -> None:
        """Ask the loop to finish its batch, commit and return (signal-safe)."""
        self.stop_event.set()

    def install_signal_handlers(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda signum, _frame: self._on_signal(signum))

    def _on_signal(self, signum: int) -> None:
        log.info("%s received; draining", signal.Signals(signum).name)
        self.stop()

    def run(self) -> int:
        """Serve until stopped: 0 on a clean stop, 1 when delivery failed, 2 when the
        service could not start (metrics port taken, broker unreachable past the timeout)."""
        if self.settings.kafka_bootstrap_servers is None:
            log.error(
                "no Kafka bootstrap servers: set SYMAE_KAFKA_BOOTSTRAP_SERVERS or "
                "--bootstrap-servers (for development, `symae broker` runs one on loopback)"
            )
            return 2
        try:
            self._server = HealthServer(
                self.settings.metrics_port,
                self.health,
                self.metrics.exposition,
                host=self.settings.metrics_host,
                timeout_s=self.settings.http_timeout_s,
                max_connections=self.settings.http_max_connections,
            ).start()
        except OSError as exc:
            log.error("cannot serve metrics on port %d: %s", self.settings.metrics_port, exc)
            return 2
        self.metrics_port = self._server.port
        self.crc32c_accelerated = check_crc32c()
        self.metrics.set_crc32c_accelerated(self.crc32c_accelerated)
        try:
            self._connect()
            if self.stop_event.is_set():
                return 0
            self.processor.start(self)
            self._loop()
            return 0
        except DeliveryFailed as exc:
            log.error("%s; stopping without committing the batch", exc)
            return 1
        except BrokerUnavailable as exc:
            if self.stop_event.is_set():
                return 0
            log.error("%s", exc)
            return 2
        finally:
            self._shutdown()

    def _connect(self) -> None:
        settings = self.settings
        self.health.set_ready(False, "connecting to Kafka")
        self._ensure_topics(startup=True)
        self._producer = make_producer(settings)
        if self.processor.inputs:
            self._consumer = make_consumer(settings, self.name)
            topics = [settings.topic(t) for t in self.processor.inputs]
            self._consumer.subscribe(topics, listener=_Rebalance(self))
            log.info("subscribed to %s as group %s", topics, settings.group_id(self.name))
        self._watch = BrokerWatch(
            settings, on_down=lambda: self.health.set_ready(False, "Kafka broker unreachable")
        ).start()
        self._update_ready()

    def _ensure_topics(self, startup: bool = False) -> bool:
        """Create missing topics. At start-up: wait for the broker (back-off, start-up
        timeout); later (a broker that came back, maybe empty): one try, False on failure."""
        settings = self.settings
        try:
            admin = connect_admin(
                settings,
                stop=self.stop_event,
                on_attempt=self.health.beat,
                **({} if startup else {"max_attempts": 1}),
            )
        except BrokerUnavailable:
            if startup:
                raise
            return False
        try:
            wanted = list(dict.fromkeys([*self.processor.inputs, *self.processor.outputs, DLQ]))
            ensure_topics(admin, settings, wanted)
            return True
        except KafkaError as exc:
            if startup:
                raise BrokerUnavailable(f"could not create topics: {exc}") from exc
            log.warning("could not re-create topics: %s", exc)
            return False
        finally:
            admin.close()

    def _update_ready(self) -> None:
        """Ready: the broker answers and, for a consumer, partitions are assigned."""
        watch = self._watch
        if watch is not None and not watch.up:
            self.health.set_ready(False, "Kafka broker unreachable")
            return
        if self._consumer is not None and not self._consumer.assignment():
            self.health.set_ready(False, "no partition assigned (joining the consumer group)")
            return
        self.health.set_ready(True)

    def _after_broker_return(self) -> None:
        """A broker that came back may have lost its topics: create them again."""
        watch = self._watch
        if watch is None or not watch.up or watch.generation == self._topics_generation:
            return
        if self._ensure_topics():
            self._topics_generation = watch.generation

    def _loop(self) -> None:
        poll_ms = self.settings.kafka_poll_timeout_ms
        backoff = 0.5
        while not self.stop_event.is_set():
            self.health.beat()
            try:
                self._iteration(poll_ms)
                backoff = 0.5
            except DeliveryFailed:
                raise
            except KafkaError as exc:  # transient by nature: wait and go on
                log.warning(
                    "Kafka error (%s: %s); retrying in %.1f s", type(exc).__name__, exc, backoff
                )
                self.health.set_ready(False, f"Kafka error: {type(exc).__name__}")
                self.stop_event.wait(backoff)
                backoff = min(backoff * 2, self.settings.kafka_connect_backoff_max_s)
        log.info("draining: final flush and commit")
        self.produce(self.processor.tick(time.time()))
        self._commit(force=True)

    def _iteration(self, poll_ms: int) -> None:
        self._after_broker_return()
        outputs: list[Outgoing] = []
        handled_to: dict[TopicPartition, int] = {}
        due = self.processor.next_tick_at()
        if due is not None:  # a deadline sooner than the poll timeout: wake up for it
            poll_ms = int(min(poll_ms, max(MIN_POLL_MS, 1e3 * (due - time.time()))))
        if self._consumer is not None:
            batch = self._consumer.poll(timeout_ms=poll_ms, max_records=self._batch_size())
            started, handled = time.perf_counter(), 0
            for tp, records in batch.items():
                logical = self._full_to_logical.get(tp.topic, tp.topic)
                self.metrics.record_in(tp.topic, len(records))
                for record in records:
                    try:
                        outputs.extend(self._handle(logical, record))
                    except _RetryLater:
                        self._consumer.seek(tp, record.offset)
                        break
                    handled_to[tp] = record.offset + 1
                    handled += 1
            self._processed.update(handled_to)
            if handled:
                self._learn_cost((time.perf_counter() - started) / handled)
        else:
            self.stop_event.wait(poll_ms / 1e3)
        outputs.extend(self.processor.tick(time.time()))
        self.produce(outputs)
        # every output of the batch is acknowledged: its offsets may now be committed
        self._acked.update(handled_to)
        self._commit(force=False)
        self._update_lag()
        self._update_ready()

    def _learn_cost(self, seconds_per_message: float) -> None:
        """Running mean of the handling time per message (weights recent batches)."""
        self._cost = (
            seconds_per_message
            if self._cost is None
            else (0.7 * self._cost + 0.3 * seconds_per_message)
        )

    def _batch_size(self) -> int:
        """Messages per poll: at most ``kafka_max_poll_records``, and few enough to be
        handled in half of ``kafka_max_poll_interval_ms`` at the measured cost, so a slow
        service is never dropped from its consumer group for polling too rarely."""
        limit = self.settings.kafka_max_poll_records
        if not self._cost:
            return min(limit, 10)  # until the cost is known
        budget = 0.5 * self.settings.kafka_max_poll_interval_ms / 1e3
        return max(1, min(limit, int(budget / self._cost)))

    def _shutdown(self) -> None:
        self.health.set_ready(False, "stopping")
        if self._watch is not None:
            self._watch.stop()
        if self._consumer is not None:
            try:
                # the revoke callback commits acknowledged offsets only
                self._consumer.close(autocommit=False, timeout_ms=5000)
            except Exception as exc:  # noqa: BLE001 - closing after a failure
                log.warning("consumer close: %s", exc)
        if self._producer is not None:
            try:
                self._producer.close(timeout=10)
            except Exception as exc:  # noqa: BLE001
                log.warning("producer close: %s", exc)
        self.processor.close()
        if self._server is not None:
            self._server.stop()

    # ------------------------------------------------------------------ messages
    def _handle(self, logical: str, record: Any) -> Sequence[Outgoing]:
        raw: bytes = record.value if record.value is not None else b""
        key = record.key.decode("utf-8", "replace") if record.key is not None else None
        msg = Incoming(
            topic=logical,
            partition=record.partition,
            offset=record.offset,
            key=key,
            value=raw,
            timestamp=record.timestamp / 1e3 if record.timestamp else time.time(),
            raw=raw,
            full_topic=record.topic,
        )
        model = self.processor.inputs.get(logical)
        try:
            if model is not None:
                msg = replace(msg, value=_decode(model, raw))
            return self._handle_transient(msg)
        except _RetryLater:
            raise
        except PoisonMessage as exc:
            log.warning(
                "%s rejected: %s",
                msg.where,
                exc,
                extra={"where": msg.where, "reason": exc.reason, "key": key},
            )
            return [self.dead_letter(msg, exc.reason, exc.detail)]
        except Exception as exc:  # noqa: BLE001 - one bad message must not stop a partition
            log.exception("%s: handler failed", msg.where, extra={"where": msg.where, "key": key})
            return [
                self.dead_letter(
                    msg, DeadLetterReason.INTERNAL_ERROR, f"{type(exc).__name__}: {exc}"
                )
            ]

    def _handle_transient(self, msg: Incoming) -> Sequence[Outgoing]:
        """``processor.handle``, tried again with back-off on a transient failure."""
        tp = TopicPartition(msg.full_topic or self.settings.topic(msg.topic), msg.partition)
        wait = self._retry_at.get(tp)
        if wait is not None and time.monotonic() < wait:
            raise _RetryLater()
        delay = 0.05
        for attempt in range(1, HANDLE_TRIES + 1):
            try:
                out = self.processor.handle(msg)
            except TRANSIENT as exc:
                log.warning(
                    "%s: transient failure (attempt %d): %s: %s",
                    msg.where,
                    attempt,
                    type(exc).__name__,
                    exc,
                    extra={"where": msg.where},
                )
                self.metrics.rejection("transient")
                if attempt == HANDLE_TRIES:
                    backoff = min(2 * self._retry_backoff.get(tp, 0.5), 30.0)
                    self._retry_backoff[tp] = backoff
                    self._retry_at[tp] = time.monotonic() + backoff
                    raise _RetryLater() from exc
                self.health.beat()
                self.stop_event.wait(delay)
                delay *= 4
                continue
            self._retry_at.pop(tp, None)
            self._retry_backoff.pop(tp, None)
            return out
        raise AssertionError("unreachable")

    def caught_up(self, topic: str, partition: int) -> bool:
        """Whether every message of a logical input partition known to the consumer was
        handled (the stream has no backlog there)."""
        if self._consumer is None:
            return True
        tp = TopicPartition(self.settings.topic(topic), partition)
        high = self._consumer.highwater(tp)
        if high is None:
            return False
        return self._processed.get(tp, 0) >= high

    def at_end(self, topic: str, partition: int, offset: int) -> bool:
        """Whether ``offset`` is the last message known on a logical input partition (no
        backlog behind it: the stream is live there)."""
        if self._consumer is None:
            return True
        tp = TopicPartition(self.settings.topic(topic), partition)
        high = self._consumer.highwater(tp)
        return high is not None and offset + 1 >= high

    def partitions(self, topic: str) -> set[int]:
        """Partition numbers of a logical input topic, as the broker reports them."""
        if self._consumer is None:
            return set()
        return set(self._consumer.partitions_for_topic(self.settings.topic(topic)) or ())

    def dead_letter(self, msg: Incoming, reason: DeadLetterReason | str, detail: str) -> Outgoing:
        """The dead-letter output for ``msg``, for processors that reject outside ``handle``."""
        return dead_letter(self.name, msg, reason, detail, self.settings.dlq_payload_max_bytes)

    def produce(self, outputs: Sequence[Outgoing]) -> None:
        """Send ``outputs``, wait until every one is acknowledged, count them."""
        if not outputs:
            return
        backoff = 0.5
        attempt = 0
        while True:
            attempt += 1
            try:
                self._produce_once(outputs)
                if attempt > 1:
                    log.info("outputs acknowledged after %d attempts", attempt)
                return
            except DeliveryFailed as exc:
                if self.stop_event.is_set():
                    raise
                self.health.set_ready(False, "outputs not acknowledged; retrying")
                log.warning(
                    "%s; new producer and retry in %.1f s (attempt %d)", exc, backoff, attempt
                )
                self._renew_producer()
                self.health.beat()
                if self.stop_event.wait(backoff):
                    raise
                backoff = min(backoff * 2, self.settings.kafka_connect_backoff_max_s)

    def _renew_producer(self) -> None:
        """Drop the producer (its id may be unknown to a restarted broker); make another."""
        old, self._producer = self._producer, None
        if old is not None:
            try:
                old.close(timeout=0)
            except Exception as exc:  # noqa: BLE001
                log.debug("closing the old producer: %s", exc)
        try:
            self._producer = make_producer(self.settings)
        except Exception as exc:  # noqa: BLE001 - broker away: try again next time
            log.warning("cannot create a producer yet: %s", exc)

    def _produce_once(self, outputs: Sequence[Outgoing]) -> None:
        if self._producer is None:
            self._renew_producer()
            if self._producer is None:
                raise DeliveryFailed("no producer (broker unreachable)")
        pending: list[tuple[Outgoing, str, FutureRecordMetadata]] = []
        for out in outputs:
            topic = self.settings.topic(out.topic)
            value = out.value if isinstance(out.value, bytes) else out.value.model_dump_json()
            data = value if isinstance(value, bytes) else value.encode()
            key = out.key.encode() if out.key is not None else None
            try:
                future = self._producer.send(topic, key=key, value=data)
            except Exception as exc:
                raise DeliveryFailed(f"could not send to {topic} (key {out.key!r}): {exc}") from exc
            pending.append((out, topic, future))
        try:
            self._producer.flush(timeout=self.settings.kafka_delivery_timeout_ms / 1e3 + 5)
        except Exception as exc:
            raise DeliveryFailed(f"flush failed: {exc}") from exc
        for out, topic, future in pending:
            try:
                future.get(timeout=0)
            except Exception as exc:
                raise DeliveryFailed(
                    f"output to {topic} (key {out.key!r}) not acknowledged: {exc}"
                ) from exc
            self.metrics.record_out(topic)
            if isinstance(out.value, DeadLetter):
                self.metrics.rejection(out.value.reason.value)

    # ------------------------------------------------------------------ offsets
    def _commit(self, force: bool, only: Sequence[TopicPartition] | None = None) -> None:
        if self._consumer is None:
            return
        now = time.monotonic()
        if not force and now - self._last_commit < self.settings.commit_interval_s:
            return
        retained = {
            TopicPartition(self.settings.topic(t), p): off
            for (t, p), off in self.processor.retained().items()
        }
        offsets = {}
        for tp, nxt in self._acked.items():
            if only is not None and tp not in only:
                continue
            safe = min(nxt, retained.get(tp, nxt))
            if self._committed.get(tp) != safe:
                offsets[tp] = OffsetAndMetadata(safe, "", -1)
        if offsets:
            try:
                self._consumer.commit(offsets=offsets, timeout_ms=5000)
            except CommitFailedError as exc:
                # dropped from the group (e.g. a batch took longer than the poll interval):
                # the next poll re-joins; what was not committed is delivered again
                log.warning(
                    "commit refused, this consumer was dropped from group %s (%s); "
                    "re-joining, uncommitted messages will be delivered again "
                    "(kafka_max_poll_interval_ms=%d)",
                    self.settings.group_id(self.name),
                    exc,
                    self.settings.kafka_max_poll_interval_ms,
                )
                self._last_commit = now
                return
            except KafkaError as exc:
                # not committed: tried again later; a crash meanwhile re-delivers them
                log.warning("commit failed (%s: %s); will retry", type(exc).__name__, exc)
                self._last_commit = now
                return
            for tp, om in offsets.items():
                self._committed[tp] = om.offset
            log.debug(
                "committed %s", {where(t.topic, t.partition, o.offset) for t, o in offsets.items()}
            )
        self._last_commit = now

    def _update_lag(self) -> None:
        """Messages between what was handled and the end of each assigned partition."""
        if self._consumer is None:
            return
        for tp in self._consumer.assignment():
            high = self._consumer.highwater(tp)
            if high is not None and tp in self._processed:
                self.metrics.set_lag(tp.topic, tp.partition, max(0, high - self._processed[tp]))

    def _revoked(self, partitions: Sequence[TopicPartition], lost: bool = False) -> None:
        try:
            # only acknowledged offsets (``_acked``) are committed: a batch whose outputs
            # were not acknowledged is never committed, whoever calls this
            if not lost:
                self._commit(force=True, only=list(partitions))
        except Exception as exc:  # e.g. called from the client's IO thread after a poll timeout
            log.warning(
                "could not commit before losing %s (%s); their uncommitted messages will be "
                "delivered again",
                sorted(f"{tp.topic}[{tp.partition}]" for tp in partitions),
                exc,
            )
        for tp in partitions:
            self._processed.pop(tp, None)
            self._acked.pop(tp, None)
            self._committed.pop(tp, None)
            self._retry_at.pop(tp, None)
        self.processor.on_revoked(
            [(self._full_to_logical.get(tp.topic, tp.topic), tp.partition) for tp in partitions]
        )

    def _assigned(self, partitions: Sequence[TopicPartition]) -> None:
        log.info("assigned %s", sorted(f"{tp.topic}[{tp.partition}]" for tp in partitions))
        self.processor.on_assigned(
            [(self._full_to_logical.get(tp.topic, tp.topic), tp.partition) for tp in partitions]
        )


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]  # kafka-python is untyped
    def __init__(self, app: ServiceApp) -> None:
        self.app = app

    def on_partitions_revoked(self, revoked: Sequence[TopicPartition]) -> None:
        self.app._revoked(list(revoked))

    def on_partitions_lost(self, lost: Sequence[TopicPartition]) -> None:
        self.app._revoked(list(lost), lost=True)

    def on_partitions_assigned(self, assigned: Sequence[TopicPartition]) -> None:
        self.app._assigned(list(assigned))


def _decode(model: type[BaseModel], raw: bytes) -> BaseModel:
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        if errors and errors[0]["type"] == "json_invalid":
            raise PoisonMessage(
                DeadLetterReason.UNDECODABLE, f"not JSON: {errors[0]['msg']}"
            ) from exc
        first: dict[str, Any] = dict(errors[0]) if errors else {}
        loc = ".".join(str(p) for p in first.get("loc", ()))
        raise PoisonMessage(
            DeadLetterReason.SCHEMA,
            f"{model.__name__}: {len(errors)} error(s), first at {loc or '<root>'}: "
            f"{first.get('msg', exc)}",
        ) from exc


def run_service(name: str, settings: ServiceSettings, processor: Processor) -> int:
    """Configure logging and signals, then run ``processor`` as service ``name``."""
    configure_logging(name, settings.log_level, settings.log_format)
    app = ServiceApp(name, settings, processor)
    app.install_signal_handlers()
    return app.run()
