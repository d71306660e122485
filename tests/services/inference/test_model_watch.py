"""The hot-swap rule of the inference service, on plain callables (no registry)."""

from __future__ import annotations

import pytest

from services.inference.model_watch import ModelRef, ModelWatch


class Registry:
    """A registry whose newest version and broken versions the test sets."""

    def __init__(self) -> None:
        self.newest = ModelRef("m", "1", "/r/m/1", "a")
        self.broken: set[str] = set()
        self.loads: list[str] = []
        self.unreadable = False

    def resolve(self) -> ModelRef:
        if self.unreadable:
            raise OSError("registry unmounted")
        return self.newest

    def load(self, ref: ModelRef) -> str:
        self.loads.append(ref.version)
        if ref.version in self.broken:
            raise ValueError(f"checksum mismatch in {ref.path}")
        return f"model-{ref.version}-{ref.fingerprint}"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_new_version_taken_up_only_when_the_check_is_due() -> None:
    reg, clock, swaps = Registry(), Clock(), []
    watch = ModelWatch(
        reg.resolve,
        reg.load,
        interval_s=10,
        clock=clock,
        on_swap=lambda ref, model: swaps.append(ref.version),
    )
    assert watch.current() == "model-1-a"
    reg.newest = ModelRef("m", "2", "/r/m/2", "b")
    clock.now = 9.0
    assert watch.current() == "model-1-a"
    clock.now = 10.0
    assert watch.current() == "model-2-b"
    assert swaps == ["2"] and watch.ref.version == "2"


def test_broken_version_refused_once_old_model_kept_until_fixed() -> None:
    reg, clock, refused = Registry(), Clock(), []
    watch = ModelWatch(
        reg.resolve,
        reg.load,
        interval_s=1,
        clock=clock,
        on_refused=lambda ref, exc: refused.append((ref.version, str(exc))),
    )
    reg.newest = ModelRef("m", "2", "/r/m/2", "b")
    reg.broken.add("2")
    for step in range(1, 4):
        clock.now = float(step)
        assert watch.current() == "model-1-a"
    assert refused == [("2", "checksum mismatch in /r/m/2")]
    assert reg.loads == ["1", "2"]  # not retried while unchanged
    # the same version re-published with a new model.json is tried again
    reg.broken.clear()
    reg.newest = ModelRef("m", "2", "/r/m/2", "c")
    clock.now = 5.0
    assert watch.current() == "model-2-c"


def test_registry_error_keeps_serving() -> None:
    reg, clock = Registry(), Clock()
    watch = ModelWatch(reg.resolve, reg.load, interval_s=1, clock=clock)
    reg.unreadable = True
    clock.now = 2.0
    assert watch.current() == "model-1-a"


def test_first_model_must_load() -> None:
    reg = Registry()
    reg.broken.add("1")
    with pytest.raises(ValueError, match="checksum mismatch"):
        ModelWatch(reg.resolve, reg.load)
