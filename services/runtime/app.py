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
  per ``commit_interval_s``). A failed send stops the service without committing, so a
  restart re-reads the batch;
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
  :meth:`Processor.on_revoked` drops their state.

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
from kafka.producer.future import FutureRecordMetadata
from kafka.structs import OffsetAndMetadata
from pydantic import BaseModel, ValidationError

from services.runtime.health import HealthServer, HealthState
from services.runtime.kafka import (
    BrokerUnavailable,
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
        self._full_to_logical = {settings.topic(t): t for t in TOPICS}
        self._processed: dict[TopicPartition, int] = {}
        self._committed: dict[TopicPartition, int] = {}
        self._last_commit = 0.0
        self._cost: float | None = None  # seconds per message, measured
        self._consumer: KafkaConsumer | None = None
        self._producer: KafkaProducer | None = None
        self._server: HealthServer | None = None

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
                self.settings.metrics_port, self.health, self.metrics.exposition
            ).start()
        except OSError as exc:
            log.error("cannot serve metrics on port %d: %s", self.settings.metrics_port, exc)
            return 2
        self.metrics_port = self._server.port
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
        admin = connect_admin(settings, stop=self.stop_event, on_attempt=self.health.beat)
        try:
            wanted = list(dict.fromkeys([*self.processor.inputs, *self.processor.outputs, DLQ]))
            ensure_topics(admin, settings, wanted)
        finally:
            admin.close()
        self._producer = make_producer(settings)
        if self.processor.inputs:
            self._consumer = make_consumer(settings, self.name)
            topics = [settings.topic(t) for t in self.processor.inputs]
            self._consumer.subscribe(topics, listener=_Rebalance(self))
            log.info("subscribed to %s as group %s", topics, settings.group_id(self.name))
        self.health.set_ready(True)

    def _loop(self) -> None:
        poll_ms = self.settings.kafka_poll_timeout_ms
        while not self.stop_event.is_set():
            self.health.beat()
            outputs: list[Outgoing] = []
            if self._consumer is not None:
                batch = self._consumer.poll(timeout_ms=poll_ms, max_records=self._batch_size())
                started, handled = time.perf_counter(), 0
                for tp, records in batch.items():
                    logical = self._full_to_logical.get(tp.topic, tp.topic)
                    self.metrics.record_in(tp.topic, len(records))
                    for record in records:
                        outputs.extend(self._handle(logical, record))
                        self._processed[tp] = record.offset + 1
                        handled += 1
                if handled:
                    self._learn_cost((time.perf_counter() - started) / handled)
            else:
                self.stop_event.wait(poll_ms / 1e3)
            outputs.extend(self.processor.tick(time.time()))
            self.produce(outputs)
            self._commit(force=False)
            self._update_lag()
        log.info("draining: final flush and commit")
        self.produce(self.processor.tick(time.time()))
        self._commit(force=True)

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
        if self._consumer is not None:
            self._consumer.close(autocommit=False)
        if self._producer is not None:
            self._producer.close(timeout=10)
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
            return self.processor.handle(msg)
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
        assert self._producer is not None
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
        self._producer.flush()
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
        for tp, nxt in self._processed.items():
            if only is not None and tp not in only:
                continue
            safe = min(nxt, retained.get(tp, nxt))
            if self._committed.get(tp) != safe:
                offsets[tp] = OffsetAndMetadata(safe, "", -1)
        if offsets:
            self._consumer.commit(offsets=offsets)
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

    def _revoked(self, partitions: Sequence[TopicPartition]) -> None:
        try:
            if self._producer is not None:
                self._producer.flush()
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
            self._committed.pop(tp, None)
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

    def on_partitions_assigned(self, assigned: Sequence[TopicPartition]) -> None:
        self.app._assigned(list(assigned))


def _decode(model: type[BaseModel], raw: bytes) -> BaseModel:
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        if errors and errors[0]["type"] == "json_invalid":
            raise PoisonMessage(DeadLetterReason.UNDECODABLE, f"not JSON: {errors[0]['msg']}") from exc
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
