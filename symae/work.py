"""Counting the extraction's work in units proportional to CPU, not with a clock.

The unit is a *trace-row*: one trace (or one latent code) through one step of the
extraction. Every step's CPU is linear in its rows (the ONNX graphs run row by row over
a batch, the inversion's (scale, lag) fits and design matrices are per trace), so rows
weighted by a step's CPU per row are proportional to the CPU of an extraction whatever
its size. ``WEIGHTS`` are the CPU per row of each step relative to one decoder row,
measured step by step on a 1,000-trace synthetic event (2 ONNX Runtime threads, 2
shared x86-64 cores). A counter of weighted rows is deterministic (the same input gives
the same count) and moves with CPU time; what it leaves out (result assembly, hashing,
Python loops) is a few tens of percent, and ``symae bench extract --revisions N``
prints the CPU per unit of one pass and of N revisions side by side to check it.

Steps (``Stage``): ``coherent`` (padded rows of the group encoder), ``nuisance``,
``decode``, ``reencode`` (rows through those graphs), ``descent`` (codes x steps of the
latent optimisation), ``inversion`` (traces x rounds of the Green's-function inversion's
(scale, lag) fits with their design matrices, and traces x depths of its mechanism
scoring), ``greens`` (traces x depths of Green's spectra), ``bootstrap`` (used traces x
draws of the band), ``baselines`` (traces x alignment passes of the stack baselines).

A :class:`WorkMeter` is made active with :func:`metering`; code anywhere below calls
:func:`count` (a no-op when no meter is active), so the library needs no meter argument
threaded through every call. This module imports nothing of symae (it sits beside
``contract`` and ``errors`` at the bottom of the import graph).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Literal

Stage = Literal[
    "coherent",
    "nuisance",
    "decode",
    "reencode",
    "descent",
    "inversion",
    "greens",
    "bootstrap",
    "baselines",
]

# CPU per row relative to one decoder row (see the module docstring for how measured)
WEIGHTS: dict[str, float] = {
    "coherent": 0.4,
    "nuisance": 0.5,
    "decode": 1.0,
    "reencode": 0.4,
    "descent": 7.5,
    "inversion": 1.2,
    "greens": 0.35,
    "bootstrap": 0.01,
    "baselines": 0.05,
}


class WorkMeter:
    """Rows per stage, and their weighted total (:attr:`units`)."""

    def __init__(self) -> None:
        self.rows: Counter[str] = Counter()

    def add(self, stage: Stage, rows: int) -> None:
        if rows > 0:
            self.rows[stage] += int(rows)

    @property
    def units(self) -> float:
        """Work in decoder-row equivalents (proportional to CPU)."""
        return sum(WEIGHTS[s] * n for s, n in self.rows.items())

    def merge(self, other: WorkMeter) -> None:
        self.rows.update(other.rows)


_ACTIVE: ContextVar[tuple[WorkMeter, ...]] = ContextVar("symae_work_meters", default=())


@contextmanager
def metering(meter: WorkMeter | None = None) -> Iterator[WorkMeter]:
    """Count the work done inside the block into ``meter`` (a new one when None); meters
    nest: an outer meter also sees what an inner one counts."""
    meter = meter if meter is not None else WorkMeter()
    token = _ACTIVE.set((*_ACTIVE.get(), meter))
    try:
        yield meter
    finally:
        _ACTIVE.reset(token)


def count(stage: Stage, rows: int) -> None:
    """Add ``rows`` of ``stage`` to every active meter (nothing when none is active)."""
    for meter in _ACTIVE.get():
        meter.add(stage, rows)
