"""The Prometheus metrics of every service (names fixed by docs/architecture.md).

Each :class:`Metrics` owns its registry, so several services can live in one process
(tests) without clashing; every series carries the ``service`` label.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

STAGES = ("preprocess", "readiness_wait", "extraction", "end_to_end", "publish")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64)


class Metrics:
    """Counters, gauges and histograms of one service, with ``service`` already bound."""

    def __init__(self, service: str, registry: CollectorRegistry | None = None) -> None:
        self.service = service
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self._records_in = Counter(
            "symae_records_in_total", "Messages consumed", ["service", "topic"], registry=r
        )
        self._records_out = Counter(
            "symae_records_out_total",
            "Messages produced and acknowledged",
            ["service", "topic"],
            registry=r,
        )
        self._rejections = Counter(
            "symae_rejections_total",
            "Messages or records refused, by reason",
            ["service", "reason"],
            registry=r,
        )
        self._latency = Histogram(
            "symae_stage_latency_seconds",
            "Time spent per stage",
            ["service", "stage"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self._in_flight = Gauge(
            "symae_events_in_flight", "Events held in memory", ["service"], registry=r
        )
        self._lag = Gauge(
            "symae_consumer_lag",
            "Messages behind the end of each assigned partition",
            ["service", "topic", "partition"],
            registry=r,
        )
        self._model_info = Gauge(
            "symae_model_info",
            "The model in use (value 1)",
            ["service", "name", "version", "provider"],
            registry=r,
        )
        self._gpu_expected = Gauge(
            "symae_gpu_expected",
            "1 when the service was told to expect a GPU",
            ["service"],
            registry=r,
        )
        self._reloads = Counter(
            "symae_model_reloads_total",
            "Model reloads by outcome",
            ["service", "outcome"],
            registry=r,
        )
        self._crc32c = Gauge(
            "symae_kafka_crc32c_accelerated",
            "1 when kafka-python checksums records with the C crc32c package, 0 in pure Python",
            ["service"],
            registry=r,
        )
        self._batch = Histogram(
            "symae_batch_events",
            "Events per inference batch",
            ["service"],
            buckets=BATCH_BUCKETS,
            registry=r,
        )

    def record_in(self, topic: str, n: int = 1) -> None:
        self._records_in.labels(self.service, topic).inc(n)

    def record_out(self, topic: str, n: int = 1) -> None:
        self._records_out.labels(self.service, topic).inc(n)

    def rejection(self, reason: str) -> None:
        self._rejections.labels(self.service, reason).inc()

    def observe_latency(self, stage: str, seconds: float) -> None:
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r}; expected one of {STAGES}")
        self._latency.labels(self.service, stage).observe(max(0.0, seconds))

    def set_in_flight(self, n: int) -> None:
        self._in_flight.labels(self.service).set(n)

    def set_lag(self, topic: str, partition: int, lag: int) -> None:
        self._lag.labels(self.service, topic, str(partition)).set(lag)

    def set_model(self, name: str, version: str, provider: str) -> None:
        """Mark the model in use (the previous one's series is removed)."""
        self._model_info.clear()
        self._model_info.labels(self.service, name, version, provider).set(1)

    def set_gpu_expected(self, expected: bool) -> None:
        self._gpu_expected.labels(self.service).set(1 if expected else 0)

    def set_crc32c_accelerated(self, accelerated: bool) -> None:
        self._crc32c.labels(self.service).set(1 if accelerated else 0)

    def model_reload(self, ok: bool) -> None:
        self._reloads.labels(self.service, "ok" if ok else "failed").inc()

    def observe_batch(self, n_events: int) -> None:
        self._batch.labels(self.service).observe(n_events)

    def exposition(self) -> bytes:
        """The text format Prometheus scrapes."""
        return generate_latest(self.registry)
