"""Transient extraction failures (out of memory, ONNX Runtime errors) are retried with
back-off and held (not committed); only deterministic failures reach the DLQ."""

from __future__ import annotations

import time

from services.inference.processor import TRANSIENT_TRIES, is_transient
from services.runtime.app import TransientError
from services.schemas import DeadLetter
from tests.services.conftest import random_bundle
from tests.services.inference.test_batching import CountingModel, incoming, processor_with


class Flaky(CountingModel):
    def __init__(self, failures: int, exc: type[BaseException] = MemoryError) -> None:
        super().__init__()
        self.failures, self.exc = failures, exc

    def coherent_information(self, events):
        if self.failures > 0:
            self.failures -= 1
            self.batches.append([e.event_id for e in events])
            raise self.exc("device out of memory")
        return super().coherent_information(events)


def _drain(proc, seconds: float = 60.0) -> list:
    outputs, deadline = [], time.monotonic() + seconds
    while proc._pending and time.monotonic() < deadline:
        for p in proc._pending:  # skip the back-off in the test
            object.__setattr__(p, "not_before", 0.0)
        outputs.extend(proc.tick(0.0))
    return outputs


def test_out_of_memory_is_retried_not_dead_lettered() -> None:
    model = Flaky(failures=2)
    proc = processor_with(model, max_batch=4)
    proc.handle(incoming(random_bundle("ev", seed=1), 0, 5))
    assert proc.tick(0.0) == []
    assert proc.retained() == {("bundles", 0): 5}  # held, so never committed meanwhile
    outputs = _drain(proc)
    assert [o.key.split("|")[0] for o in outputs] == ["ev"]
    assert not any(isinstance(o.value, DeadLetter) for o in outputs)


def test_an_event_that_always_fails_transiently_is_dead_lettered_in_the_end() -> None:
    proc = processor_with(Flaky(failures=10**6, exc=TransientError), max_batch=1)
    proc.handle(incoming(random_bundle("ev", seed=1), 0, 5))
    outputs = _drain(proc)
    letters = [o.value for o in outputs if isinstance(o.value, DeadLetter)]
    assert [d.reason for d in letters] == ["extraction_failed"]
    assert f"after {TRANSIENT_TRIES} tries" in letters[0].detail


def test_classification() -> None:
    assert is_transient(MemoryError()) and is_transient(TransientError())
    assert not is_transient(ValueError()) and not is_transient(KeyError())
