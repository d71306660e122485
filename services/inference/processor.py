"""The inference service's processor: bundles in, extraction results out.

Bundles are held as they arrive and extracted together after each poll (``tick``), in
batches of at most ``max_batch_events`` events sharing every ONNX call. Within what is
waiting, only the newest revision of an event is extracted (an older one is already
superseded). With a :class:`symae.extract.Extractor`, revisions go through
``symae.extract.incremental.Revisions``: a bundle marked ``final`` is extracted in full,
an earlier one as a preview within the event's work budget, or deferred when over it:
held for ``RevisionPolicy.settle_s`` and then settled (extracted in full) if no newer
revision came and it has enough new traces, or after ``settle_last_s`` anyway; the work is exported as
``symae_extraction_work_total`` (units of ``symae.work``, by stage). The model is checked for a new registry version before each batch, so a
swap always falls between events. A bundle made for another data contract than the
model's (``BundleMessage.contract``) is dead-lettered as ``contract_mismatch``. Held bundles are not committed (``retained``): a
crash re-delivers them.

A result's key is ``<event id>|<revision>|<model name>:<model version>`` and its value
the RESULT.json of that extraction; the same bundle through the same model gives the
same key and the same bytes, so a re-delivery after a crash is an identical duplicate.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

from prometheus_client import Counter

from services.inference.model_watch import ModelRef, ModelWatch
from services.runtime import BUNDLES, RESULTS, Incoming, Outgoing, PoisonMessage, Processor
from services.runtime.app import TransientError
from services.schemas import BundleMessage, DeadLetterReason
from symae.contract import DataContract
from symae.data.dataset import EventData
from symae.extract.extractor import Extractor
from symae.extract.incremental import Plan, RevisionPolicy, Revisions
from symae.extract.result import ExtractionResult, ModelInfo
from symae.work import WEIGHTS

NEWEST_MEMORY = 10_000  # events whose newest revision is remembered

if TYPE_CHECKING:
    from services.runtime import ServiceApp

log = logging.getLogger(__name__)

TRANSIENT_TRIES = 6  # tries of an event failing transiently before it counts as failed
# ONNX Runtime errors that can pass (device memory, a failing execution provider);
# InvalidArgument and the like are deterministic
_ORT_TRANSIENT = {"RuntimeException", "Fail", "EPFail", "EngineError"}


def is_transient(exc: BaseException) -> bool:
    """Whether a failure may pass on a retry (out of memory, ONNX Runtime/device errors)."""
    if isinstance(exc, MemoryError | TransientError):
        return True
    kind = type(exc)
    return kind.__module__.startswith("onnxruntime") and kind.__name__ in _ORT_TRANSIENT


class Extraction(Protocol):
    """What the processor needs of :class:`symae.extract.Extractor`."""

    model: ModelInfo
    contract: DataContract

    def coherent_information(self, events: Sequence[EventData]) -> list[Any]: ...

    def assemble(self, event: EventData, info: Any, revision: int = 0) -> ExtractionResult: ...


def result_key(event_id: str, revision: int, model_name: str, model_version: str) -> str:
    """The deterministic key of a result: event id, revision and model version."""
    return f"{event_id}|{revision}|{model_name}:{model_version}"


@dataclass(frozen=True)
class Pending:
    """One bundle waiting for extraction."""

    msg: Incoming
    bundle: BundleMessage
    event: EventData
    attempts: int = 0  # transient failures so far
    not_before: float = 0.0  # monotonic time of the next try
    settle: bool = False  # a deferred revision offered again to be settled
    last: bool = False  # offered again after settle_last_s: settled whatever its growth

    @property
    def contract(self) -> DataContract:
        return self.bundle.data_contract()


class InferenceProcessor(Processor):
    """Extract every bundle with the current model; emit one result per bundle revision."""

    inputs = {BUNDLES: BundleMessage}
    outputs = (RESULTS,)

    def __init__(
        self,
        resolve: Callable[[], ModelRef],
        load: Callable[[ModelRef], Extraction],
        max_batch_events: int = 8,
        model_check_interval_s: float = 5.0,
        expect_gpu: bool = False,
        revision_policy: RevisionPolicy | None = None,
    ) -> None:
        self._resolve = resolve
        self._load = load
        self.max_batch_events = max_batch_events
        self.model_check_interval_s = model_check_interval_s
        self.expect_gpu = expect_gpu
        self._pending: list[Pending] = []
        self.app: ServiceApp | None = None
        self.watch: ModelWatch[Extraction] | None = None
        self.revision_policy = revision_policy or RevisionPolicy()
        self._revisions: Revisions | None = None  # of the current model, when an Extractor
        self._counted: dict[str, int] = {}  # work rows already exported, by stage
        self._newest: OrderedDict[str, int] = OrderedDict()  # newest revision seen per event
        self._work: Counter | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self, app: ServiceApp) -> None:
        self.app = app
        metrics = app.metrics

        def swapped(ref: ModelRef, model: Extraction) -> None:
            self._report_model(model)
            metrics.model_reload(ok=True)

        self.watch = ModelWatch(
            self._resolve,
            self._load,
            interval_s=self.model_check_interval_s,
            on_swap=swapped,
            on_refused=lambda ref, exc: metrics.model_reload(ok=False),
        )
        self._report_model(self.watch.model)
        metrics.set_gpu_expected(self.expect_gpu)
        self._work = Counter(
            "symae_extraction_work_total",
            "Extraction work (symae.work units, proportional to CPU)",
            ["service", "stage"],
            registry=metrics.registry,
        )

    def _report_model(self, model: Extraction) -> None:
        info = model.model
        provider = info.provider
        assert self.app is not None
        self.app.metrics.set_model(info.name, info.version, provider)
        if self.expect_gpu and "CUDA" not in provider:
            log.error(
                "a GPU was expected (SYMAE_EXPECT_GPU) but model %s:%s runs on %s",
                info.name,
                info.version,
                provider or "an unknown provider",
            )

    # ------------------------------------------------------------------ messages
    def handle(self, msg: Incoming) -> Sequence[Outgoing]:
        bundle: BundleMessage = msg.value
        try:
            event = bundle.to_event_data()
        except ValueError as exc:
            raise PoisonMessage(DeadLetterReason.BAD_BUNDLE, str(exc)) from exc
        self._pending.append(Pending(msg, bundle, event))
        newest = max(self._newest.get(bundle.event_id, -1), bundle.revision)
        self._newest[bundle.event_id] = newest
        self._newest.move_to_end(bundle.event_id)
        while len(self._newest) > NEWEST_MEMORY:
            self._newest.popitem(last=False)
        self._set_in_flight()
        return []

    def tick(self, now: float) -> Sequence[Outgoing]:
        if not self._pending:
            return []
        clock = time.monotonic()
        waiting = [p for p in self._pending if p.not_before <= clock]
        self._pending = [p for p in self._pending if p.not_before > clock]
        if not waiting:
            return []
        newest: dict[str, Pending] = {}
        for p in waiting:
            held = newest.get(p.bundle.event_id)
            if held is None or (p.bundle.revision, p.bundle.final) >= (
                held.bundle.revision,
                held.bundle.final,
            ):
                newest[p.bundle.event_id] = p
        # a deferred revision offered again is settled only if it is still the newest
        newest = {
            e: p
            for e, p in newest.items()
            if not (p.settle and p.bundle.revision < self._newest.get(e, -1))
        }
        todo = [p for p in newest.values() if p.attempts < 2]
        alone = [p for p in newest.values() if p.attempts >= 2]  # failed twice in a batch
        outputs: list[Outgoing] = []
        for start in range(0, len(todo), self.max_batch_events):
            outputs.extend(self._extract(todo[start : start + self.max_batch_events]))
        for p in alone:  # one by one, so one event cannot hold the others back
            outputs.extend(self._extract([p]))
        self._set_in_flight()
        return outputs

    def retained(self) -> Mapping[tuple[str, int], int]:
        lowest: dict[tuple[str, int], int] = {}
        for p in self._pending:
            tp = (p.msg.topic, p.msg.partition)
            lowest[tp] = min(lowest.get(tp, p.msg.offset), p.msg.offset)
        return lowest

    def on_revoked(self, partitions: Sequence[tuple[str, int]]) -> None:
        gone = set(partitions)
        self._pending = [p for p in self._pending if (p.msg.topic, p.msg.partition) not in gone]
        self._set_in_flight()

    def _set_in_flight(self) -> None:
        if self.app is not None:
            self.app.metrics.set_in_flight(len(self._pending))

    # ------------------------------------------------------------------ extraction
    def _extract(self, batch: list[Pending]) -> list[Outgoing]:
        assert self.watch is not None and self.app is not None
        model = self.watch.current()  # between events: the only place a swap happens
        refused = [self._mismatch(p, model) for p in batch if p.contract != model.contract]
        if refused:
            batch = [p for p in batch if p.contract == model.contract]
            if not batch:
                return refused
            return refused + self._extract(batch)
        revisions = self._revisions_of(model)
        plans: list[Plan | None] = [None] * len(batch)
        outputs: list[Outgoing] = []
        if revisions is not None:
            plans = [revisions.plan(p.event, p.bundle.final, p.settle, p.last) for p in batch]
            deferred = [p for p, plan in zip(batch, plans, strict=True) if plan is None]
            for p in deferred:
                self._defer(p)
            for p, plan in zip(batch, plans, strict=True):
                if plan is not None and plan.kind == "reuse":
                    outputs.append(self._output(p, revisions.reuse(p.event, p.bundle.revision)))
            keep = [
                (p, plan)
                for p, plan in zip(batch, plans, strict=True)
                if plan is not None and plan.kind != "reuse"
            ]
            batch, plans = [p for p, _ in keep], [plan for _, plan in keep]
            if not batch:
                return outputs
        started = time.perf_counter()
        try:
            events = [p.event for p in batch]
            if revisions is not None:
                infos = revisions.coherent_information(events, [pl for pl in plans if pl])
            else:
                infos = model.coherent_information(events)
        except Exception as exc:
            if is_transient(exc):
                return self._later(batch, exc)
            if len(batch) == 1:
                return [self._failed(batch[0], exc)]
            log.warning("batch of %d failed (%s); extracting one by one", len(batch), exc)
            return [out for p in batch for out in self._extract([p])]
        self.app.metrics.observe_batch(len(batch))
        for p, info, plan in zip(batch, infos, plans, strict=True):
            try:
                if revisions is not None and plan is not None:
                    result = revisions.assemble(p.event, info, p.bundle.revision, plan)
                else:
                    result = model.assemble(p.event, info, p.bundle.revision)
            except Exception as exc:
                if is_transient(exc):
                    outputs.extend(self._later([p], exc))
                else:
                    outputs.append(self._failed(p, exc))
                continue
            outputs.append(self._output(p, result))
        self._export_work(model)
        elapsed = time.perf_counter() - started
        for _ in batch:
            self.app.metrics.observe_latency("extraction", elapsed / len(batch))
        log.info(
            "extracted %d event(s) in %.2f s with %s:%s",
            len(batch),
            elapsed,
            model.model.name,
            model.model.version,
            extra={"event_ids": [p.bundle.event_id for p in batch]},
        )
        return outputs

    def _revisions_of(self, model: Extraction) -> Revisions | None:
        """The revision memory of ``model`` (a new one after a model swap), for an Extractor."""
        if not isinstance(model, Extractor):
            return None
        if self._revisions is None or self._revisions.extractor is not model:
            self._revisions = Revisions(model, self.revision_policy)
        return self._revisions

    def _export_work(self, model: Extraction) -> None:
        """Add the model's work since the last export to ``symae_extraction_work_total``."""
        work = getattr(model, "work", None)
        if work is None or self._work is None or self.app is None:
            return
        for stage, rows in work.rows.items():
            key = f"{id(model)}:{stage}"
            new = rows - self._counted.get(key, 0)
            if new > 0:
                self._work.labels(self.app.name, stage).inc(WEIGHTS[stage] * new)
                self._counted[key] = rows

    def _defer(self, p: Pending) -> None:
        """A revision over its event's budget: offered again after ``settle_s`` to be
        settled if no newer one came and it has enough new traces, and once more after
        ``settle_last_s`` to be settled anyway (``symae.extract.incremental``)."""
        policy = self.revision_policy
        wait, kind = (
            (policy.settle_last_s - policy.settle_s, "last")
            if p.settle
            else (policy.settle_s, "settle")
        )
        log.info(
            "%s r%d deferred: over its work budget (%s offer in %.0f s unless superseded)",
            p.bundle.event_id,
            p.bundle.revision,
            kind,
            max(wait, 0.0),
            extra={"event_id": p.bundle.event_id},
        )
        later = time.monotonic() + max(wait, 0.0)
        self._pending.append(replace(p, settle=True, last=p.settle, not_before=later))

    def _later(self, batch: list[Pending], exc: BaseException) -> list[Outgoing]:
        """Hold a batch that failed transiently and try it again after a back-off; an
        event that keeps failing alone for ``TRANSIENT_TRIES`` tries is dead-lettered."""
        outputs = []
        for p in batch:
            tries = p.attempts + 1
            if tries >= TRANSIENT_TRIES and len(batch) == 1:
                outputs.append(self._failed(p, exc, f" (after {tries} tries)"))
                continue
            delay = min(0.5 * 2 ** (tries - 1), 30.0)
            self._pending.append(replace(p, attempts=tries, not_before=time.monotonic() + delay))
        log.warning(
            "transient extraction failure of %d event(s) (%s: %s); retrying",
            len(batch),
            type(exc).__name__,
            exc,
        )
        return outputs

    def _output(self, p: Pending, result: ExtractionResult) -> Outgoing:
        b = p.bundle
        stream = {
            "first_record_time": b.first_record_time,
            "last_record_time": b.last_record_time,
            "n_rejected_records": sum(b.rejections.values()),
        }
        result = result.model_copy(update={"provenance": {**result.provenance, "stream": stream}})
        key = result_key(b.event_id, b.revision, result.model.name, result.model.version)
        return Outgoing(RESULTS, key=key, value=result)

    def _mismatch(self, p: Pending, model: Extraction) -> Outgoing:
        assert self.app is not None
        expected, actual = model.contract.to_dict(), p.contract.to_dict()
        differ = {k: (expected[k], actual.get(k)) for k in expected if expected[k] != actual.get(k)}
        detail = (
            f"bundle made for another data contract than model {model.model.name}:"
            f"{model.model.version}: "
            + ", ".join(f"{k} expected {e!r}, got {a!r}" for k, (e, a) in differ.items())
        )
        log.warning(
            "%s: %s r%d refused: %s",
            p.msg.where,
            p.bundle.event_id,
            p.bundle.revision,
            detail,
            extra={
                "where": p.msg.where,
                "event_id": p.bundle.event_id,
                "reason": DeadLetterReason.CONTRACT_MISMATCH.value,
            },
        )
        return self.app.dead_letter(p.msg, DeadLetterReason.CONTRACT_MISMATCH, detail)

    def _failed(self, p: Pending, exc: BaseException, note: str = "") -> Outgoing:
        assert self.app is not None
        log.error(
            "%s: extraction of %s r%d failed: %s",
            p.msg.where,
            p.bundle.event_id,
            p.bundle.revision,
            exc,
            extra={"where": p.msg.where, "event_id": p.bundle.event_id},
        )
        return self.app.dead_letter(
            p.msg, DeadLetterReason.EXTRACTION_FAILED, f"{type(exc).__name__}: {exc}{note}"
        )
