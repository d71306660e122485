"""A tiny synthetic data set for the model tests: distinct sources, random paths.

Every event has its own smooth source pulse (one, two or three Gaussian bumps); every
trace convolves it with a random path (direct arrival plus a depth phase of random delay
and sign-flipped amplitude), adds a random time shift and a little noise, and is
standardised like the real preprocessing. Written through ``DatasetWriter`` so tests
read it back exactly as training does.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from symae.contract import DataContract
from symae.data.dataset import DatasetWriter, EventData, TraceGroup
from symae.data.events import Origin

CONTRACT = DataContract()
NT = CONTRACT.nt

# (centre offset in samples, width in samples, amplitude) of the bumps of each source
SOURCES: list[list[tuple[float, float, float]]] = [
    [(0.0, 2.5, 1.0)],
    [(-10.0, 3.0, 1.0), (12.0, 4.0, 0.8)],
    [(-18.0, 2.0, 0.6), (0.0, 5.0, 1.0), (20.0, 2.0, 0.7)],
]


def source_pulse(bumps: list[tuple[float, float, float]], nt: int = NT) -> np.ndarray:
    t = np.arange(nt) - nt / 2
    return sum(a * np.exp(-0.5 * ((t - c) / w) ** 2) for c, w, a in bumps)


def make_trace(stf: np.ndarray, rng: np.random.Generator, max_shift: int = 6) -> np.ndarray:
    nt = stf.size
    path = np.zeros(nt)
    path[0] = 1.0
    path[int(rng.integers(12, 40))] = -rng.uniform(0.3, 0.8)
    trace = np.real(np.fft.ifft(np.fft.fft(stf) * np.fft.fft(path)))
    trace = np.roll(trace, int(rng.integers(-max_shift, max_shift + 1)))
    trace = trace + 0.02 * rng.standard_normal(nt)
    return ((trace - trace.mean()) / (trace.std() + 1e-5)).astype(np.float32)


def write_synthetic_set(
    path: Path,
    n_events: int = 2,
    groups_per_event: int = 3,
    traces_per_group: int = 12,
    seed: int = 0,
) -> Path:
    """Write ``n_events`` events (first ``n_events`` of SOURCES) and return ``path``."""
    rng = np.random.default_rng(seed)
    with DatasetWriter(path, CONTRACT, provenance={"generator": "tests.model.synthetic_set"}) as w:
        for e in range(n_events):
            stf = source_pulse(SOURCES[e])
            groups = {}
            for g in range(groups_per_event):
                traces = np.stack([make_trace(stf, rng) for _ in range(traces_per_group)])
                ids = [f"XX.S{e}{g}{i:02d}" for i in range(traces_per_group)]
                groups[10 * e + g] = TraceGroup(f"ev{e}", 10 * e + g, traces, ids)
            origin = Origin(f"ev{e}", "2020-01-01T00:00:00Z", 0.0, 10.0 * e, 500.0, 6.5)
            w.write_event(EventData(origin, groups, truth_stf=stf.astype(np.float32)))
    return path
