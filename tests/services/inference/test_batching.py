"""The inference processor's batching rules, without Kafka: newest revision only,
held bundles never committed, a failing event dead-lettered alone."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from services.inference.model_watch import ModelRef
from services.inference.processor import InferenceProcessor, result_key
from services.runtime import Incoming, PoisonMessage, ServiceApp, ServiceSettings
from services.schemas import BinaryArray, DeadLetter
from symae.contract import DataContract
from symae.data.dataset import EventData
from symae.extract.result import ExtractionResult, ModelInfo
from tests.services.conftest import random_bundle
from tests.services.publish.test_products import make_result


class CountingModel:
    """Stands in for the extractor: records the batches, fails on chosen events."""

    def __init__(self, fail: set[str] = frozenset()) -> None:
        self.model = ModelInfo(name="m", version="7", provider="CPUExecutionProvider")
        self.contract = DataContract()
        self.batches: list[list[str]] = []
        self.fail = fail

    def coherent_information(self, events: Sequence[EventData]) -> list[str]:
        ids = [e.event_id for e in events]
        self.batches.append(ids)
        if self.fail & set(ids):
            raise ValueError(f"cannot extract {sorted(self.fail & set(ids))}")
        return ids

    def assemble(self, event: EventData, info: str, revision: int = 0) -> ExtractionResult:
        return make_result(event.event_id, revision=revision, version="7").model_copy(
            update={"model": self.model}
        )


def processor_with(model: CountingModel, max_batch: int) -> InferenceProcessor:
    proc = InferenceProcessor(
        resolve=lambda: ModelRef("m", "7", "/m/7", "x"),
        load=lambda ref: model,
        max_batch_events=max_batch,
    )
    proc.start(ServiceApp("inference", ServiceSettings(metrics_port=0), proc))
    return proc


def incoming(bundle, partition: int, offset: int) -> Incoming:
    raw = bundle.model_dump_json().encode()
    return Incoming("bundles", partition, offset, bundle.event_id, bundle, 0.0, raw)


def test_only_newest_revision_extracted_and_held_offsets_retained() -> None:
    model = CountingModel()
    proc = processor_with(model, max_batch=1)
    older = random_bundle("ev1", seed=1, per_pixel=2)
    newer = random_bundle("ev1", seed=2, per_pixel=3)
    other = random_bundle("ev2", seed=3, per_pixel=2)
    for msg in (incoming(older, 0, 10), incoming(newer, 0, 11), incoming(other, 1, 4)):
        assert proc.handle(msg) == []
    assert proc.retained() == {("bundles", 0): 10, ("bundles", 1): 4}
    outputs = proc.tick(0.0)
    assert model.batches == [["ev1"], ["ev2"]]
    assert [o.key for o in outputs] == [
        result_key("ev1", newer.revision, "m", "7"),
        result_key("ev2", other.revision, "m", "7"),
    ]
    assert outputs[0].value.provenance["stream"]["last_record_time"] == newer.last_record_time
    assert proc.retained() == {}


def test_failing_event_dead_lettered_alone() -> None:
    model = CountingModel(fail={"bad"})
    proc = processor_with(model, max_batch=4)
    for k, event_id in enumerate(("good", "bad")):
        proc.handle(incoming(random_bundle(event_id, seed=k), 0, k))
    outputs = proc.tick(0.0)
    assert model.batches == [["good", "bad"], ["good"], ["bad"]]
    assert outputs[0].key.startswith("good|")
    assert isinstance(outputs[1].value, DeadLetter)
    assert outputs[1].value.reason == "extraction_failed"
    assert "cannot extract ['bad']" in outputs[1].value.detail


def test_bundle_with_nan_traces_is_poison() -> None:
    proc = processor_with(CountingModel(), max_batch=1)
    bundle = random_bundle("nan", seed=0)
    traces = bundle.pixels[0].traces.to_numpy().copy()
    traces[0, 5] = np.nan
    pixel = bundle.pixels[0].model_copy(update={"traces": BinaryArray.from_numpy(traces)})
    bad = bundle.model_copy(update={"pixels": [pixel, *bundle.pixels[1:]]})
    with pytest.raises(PoisonMessage) as err:
        proc.handle(incoming(bad, 0, 0))
    assert err.value.reason == "bad_bundle"
    assert proc.retained() == {}


def test_bundle_of_another_contract_is_dead_lettered_and_the_rest_extracted() -> None:
    model = CountingModel()
    proc = processor_with(model, max_batch=4)
    good = random_bundle("good", seed=1)
    other = random_bundle("other", seed=2).model_copy(
        update={"contract": {**DataContract().to_dict(), "sampling_rate": 2.0}}
    )
    proc.handle(incoming(good, 0, 0))
    proc.handle(incoming(other, 0, 1))
    outputs = proc.tick(0.0)
    assert model.batches == [["good"]]
    letters = [o.value for o in outputs if isinstance(o.value, DeadLetter)]
    assert [(d.reason, d.key) for d in letters] == [("contract_mismatch", "other")]
    assert "sampling_rate expected 1.0, got 2.0" in letters[0].detail
    assert [o.key for o in outputs if not isinstance(o.value, DeadLetter)] == [
        result_key("good", good.revision, "m", "7")
    ]
    assert proc.retained() == {}


def test_previews_then_a_full_final_revision_with_the_real_extractor() -> None:
    from symae.extract.extractor import ExtractionSettings, Extractor
    from symae.extract.incremental import RevisionPolicy

    model = Extractor.load("default", "cpu", settings=ExtractionSettings(allow_sparse=True))
    proc = InferenceProcessor(
        resolve=lambda: ModelRef("default", "1", "/m/1", "x"),
        load=lambda ref: model,
        revision_policy=RevisionPolicy(budget=1.0),
    )
    app = ServiceApp("inference", ServiceSettings(metrics_port=0), proc)
    proc.start(app)
    early = random_bundle("ev1", seed=1, per_pixel=4)
    proc.handle(incoming(early, 0, 1))
    (preview,) = proc.tick(0.0)
    assert "preview" in preview.value.quality.flags and not preview.value.baselines
    final = early.model_copy(update={"final": True})
    proc.handle(incoming(final, 0, 2))
    (last,) = proc.tick(0.0)
    assert last.key == preview.key  # the same revision, now in full
    assert "preview" not in last.value.quality.flags and last.value.baselines
    exposition = app.metrics.exposition().decode()
    line = next(
        row
        for row in exposition.splitlines()
        if row.startswith("symae_extraction_work_total{") and 'stage="decode"' in row
    )
    assert float(line.split()[-1]) > 0


def test_a_deferred_newest_revision_is_settled_and_the_final_reuses_it() -> None:
    """No budget for previews: the newest revision is extracted in full once it has stayed
    the newest for settle_s; an older one offered again is dropped; the final revision
    with the same traces re-uses the settle instead of a second pass."""
    import time

    from symae.extract.extractor import ExtractionSettings, Extractor
    from symae.extract.incremental import RevisionPolicy

    model = Extractor.load("default", "cpu", settings=ExtractionSettings(allow_sparse=True))
    proc = InferenceProcessor(
        resolve=lambda: ModelRef("default", "1", "/m/1", "x"),
        load=lambda ref: model,
        revision_policy=RevisionPolicy(budget=0.0, settle_s=0.2),
    )
    proc.start(ServiceApp("inference", ServiceSettings(metrics_port=0), proc))
    bundle = random_bundle("ev1", seed=1, per_pixel=4)
    origin = bundle.origin.model_copy(update={"event_id": "ev2"})
    older = bundle.model_copy(update={"event_id": "ev2", "origin": origin})
    proc.handle(incoming(older, 0, 1))
    assert proc.tick(0.0) == []  # deferred
    proc.handle(incoming(older.model_copy(update={"revision": older.revision + 1}), 0, 2))
    proc.handle(incoming(bundle, 1, 1))
    assert proc.tick(0.0) == []  # both newest deferred, nothing settled yet
    assert proc.retained()  # and not committed
    time.sleep(0.25)
    settled = proc.tick(0.0)
    assert sorted((o.value.event_id, o.value.revision) for o in settled) == [
        ("ev1", bundle.revision),
        ("ev2", older.revision + 1),
    ]
    assert all("preview" not in o.value.quality.flags for o in settled)
    units = model.work.units
    proc.handle(incoming(bundle.model_copy(update={"final": True}), 1, 2))
    (final,) = proc.tick(0.0)
    assert model.work.units == units  # re-used, no second pass
    ev1 = next(o for o in settled if o.value.event_id == "ev1")
    assert final.key == ev1.key and final.value.stf == ev1.value.stf


def test_a_revision_with_few_new_traces_is_settled_at_the_last_offer() -> None:
    import time

    from symae.extract.extractor import ExtractionSettings, Extractor
    from symae.extract.incremental import RevisionPolicy

    model = Extractor.load("default", "cpu", settings=ExtractionSettings(allow_sparse=True))
    proc = InferenceProcessor(
        resolve=lambda: ModelRef("default", "1", "/m/1", "x"),
        load=lambda ref: model,
        revision_policy=RevisionPolicy(budget=0.0, settle_s=0.1, settle_last_s=0.4),
    )
    proc.start(ServiceApp("inference", ServiceSettings(metrics_port=0), proc))
    first = random_bundle("ev1", seed=1, per_pixel=4)  # 12 traces
    proc.handle(incoming(first, 0, 1))
    proc.tick(0.0)
    time.sleep(0.15)
    assert [o.value.revision for o in proc.tick(0.0)] == [first.revision]  # first settle
    more = random_bundle("ev1", seed=1, per_pixel=5)  # 15 traces: not twice as many
    more = more.model_copy(update={"revision": first.revision + 3})
    proc.handle(incoming(more, 0, 2))
    assert proc.tick(0.0) == []
    time.sleep(0.15)
    assert proc.tick(0.0) == []  # the settle offer declines: too few new traces
    time.sleep(0.45)
    (last,) = proc.tick(0.0)  # the last offer settles it anyway
    assert last.value.revision == more.revision and "preview" not in last.value.quality.flags
