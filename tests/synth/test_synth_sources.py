"""Source families of the generator: episodic STFs, directivity, SCARDEC resampling."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from symae.data.scardec import list_events
from symae.synth.source import (
    Directivity,
    episode_count,
    episodes_stf,
    scardec_source,
    seismic_moment,
)


@pytest.mark.parametrize(
    ("mw", "low", "high"), [(5.5, 1, 2), (6.5, 2, 3), (7.2, 4, 5), (8.0, 4, 7), (8.9, 4, 10)]
)
def test_episode_count_scales_with_magnitude(mw: float, low: int, high: int) -> None:
    rng = np.random.default_rng(0)
    counts = {episode_count(rng, mw) for _ in range(300)}
    assert min(counts) == low and max(counts) == high


def test_episodic_stf_has_the_moment_and_grows_with_magnitude() -> None:
    rng = np.random.default_rng(1)
    durations = {}
    for mw in (6.2, 8.2):
        lengths = []
        for _ in range(20):
            rate, episodes = episodes_stf(rng, mw, 0.05)
            assert np.sum(rate) * 0.05 == pytest.approx(seismic_moment(mw), rel=1e-9)
            assert np.all(rate >= 0)
            assert all(5.0 <= e["duration_s"] <= 10.0 for e in episodes)
            lengths.append(rate.size * 0.05)
        durations[mw] = np.median(lengths)
    assert durations[8.2] > 2 * durations[6.2]


def test_directivity_stretches_behind_and_compresses_ahead() -> None:
    d = Directivity(azimuth_deg=90.0, mach=0.5)
    k = d.stretch(np.array([90.0, 270.0, 0.0]), np.array([30.0, 30.0, 30.0]))
    assert (
        k[0] == pytest.approx(0.75) and k[1] == pytest.approx(1.25) and k[2] == pytest.approx(1.0)
    )


def test_scardec_source_keeps_the_stf(scardec_root: Path) -> None:
    event = list_events(scardec_root, limit=1)[0]
    source = scardec_source(event, 0.05, np.random.default_rng(0), directivity=False)
    assert source.directivity is None
    assert source.m0 == pytest.approx(event.stf.integral, rel=0.01)
    t0, stretched = source.stretched(1.2)
    assert np.sum(stretched) * source.dt == pytest.approx(source.m0, rel=0.01)
    averaged = source.averaged(np.arange(-92.0, 100.0))
    assert np.sum(averaged) == pytest.approx(source.m0, rel=0.01)
    assert source.origin.moment_tensor == event.cmt.moment_tensor
