"""Noise-free test events made with the inversion's own forward model."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from symae.contract import DEFAULT_CONTRACT
from symae.data.dataset import EventData, TraceGroup
from symae.data.events import Origin
from symae.data.focal import pixels_of
from symae.inversion.band import window_taper
from symae.inversion.greens import TraceGeometry, greens_spectra
from symae.inversion.settings import InversionSettings
from symae.inversion.solve import Frame, predict
from symae.synth.paths import phase_table
from symae.synth.radiation import double_couple

MW = 7.0
DEPTH_KM = 35.0
STRIKE_DIP_RAKE = (90.0, 60.0, 90.0)


def true_stf(n: int = 60) -> np.ndarray:
    """Two overlapping sin^2 episodes (0-10 s and 8-20 s), unit area, on j * 1 s."""
    t = np.arange(n, dtype=np.float64)
    m = np.where(t <= 10, np.sin(np.pi * t / 10) ** 2, 0.0)
    m += 0.6 * np.where((t >= 8) & (t <= 20), np.sin(np.pi * (t - 8) / 12) ** 2, 0.0)
    return m / m.sum()


def stf_from_origin(result: object, n: int) -> np.ndarray:
    """``result``'s STF on the truth's grid j * 1 s, j < n (its pre-onset samples dropped)."""
    times, stf = result.times, result.stf  # type: ignore[attr-defined]
    return np.interp(np.arange(n, dtype=np.float64), times, stf, left=0.0, right=0.0)


def make_origin(**changes: object) -> Origin:
    origin = Origin(
        event_id="inv_test",
        time="2021-01-01T00:00:00.000000Z",
        latitude=0.0,
        longitude=0.0,
        depth_km=DEPTH_KM,
        magnitude=MW,
        moment_tensor=double_couple(*STRIKE_DIP_RAKE, 4.0e19),
    )
    return replace(origin, **changes)


def make_geometry(n: int, seed: int = 0) -> TraceGeometry:
    rng = np.random.default_rng(seed)
    dist = rng.uniform(31.0, 89.0, n)
    az = rng.uniform(0.0, 360.0, n)
    takeoff = phase_table(DEFAULT_CONTRACT.taup_model).lookup(DEPTH_KM, dist).takeoff_deg["P"]
    return TraceGeometry(
        station_id=[f"XX.S{i:03d}.00.BHZ" for i in range(n)],
        distance_deg=dist,
        azimuth_deg=az,
        takeoff_deg=takeoff,
        polarity=rng.choice([-1.0, 1.0], n),
        pixel=pixels_of(takeoff, az, DEFAULT_CONTRACT.nside),
    )


def make_traces(
    geometry: TraceGeometry,
    stf: np.ndarray,
    seed: int = 0,
    moment_tensor: dict[str, float] | None = None,
) -> np.ndarray:
    """Standardised, polarity-flipped traces with random scales and median-zero lags."""
    rng = np.random.default_rng(seed + 1)
    c = DEFAULT_CONTRACT
    mt = moment_tensor or make_origin().moment_tensor
    greens = greens_spectra(geometry, DEPTH_KM, mt, c, InversionSettings())
    lags = rng.uniform(-3.0, 3.0, len(geometry))
    lags -= np.median(lags)
    pred = predict(greens, stf, lags, Frame(c.t0, c.dt, c.nt, window_taper(c)))
    pred *= rng.uniform(0.5, 2.0, len(geometry))[:, None]
    pred /= pred.std(axis=1, keepdims=True)
    return pred * geometry.polarity[:, None]


def make_event(n: int = 200, seed: int = 0) -> EventData:
    """An EventData of ``n`` noise-free traces grouped by pixel, truth on [0, 60) s."""
    geometry = make_geometry(n, seed)
    traces = make_traces(geometry, true_stf(), seed)
    groups = {}
    for p in np.unique(geometry.pixel):
        idx = np.flatnonzero(geometry.pixel == p)
        groups[int(p)] = TraceGroup(
            event_id="inv_test",
            pixel=int(p),
            traces=traces[idx],
            station_id=[geometry.station_id[i] for i in idx],
            fields={
                "distance_deg": geometry.distance_deg[idx],
                "azimuth_deg": geometry.azimuth_deg[idx],
                "takeoff_deg": geometry.takeoff_deg[idx],
                "polarity": geometry.polarity[idx],
            },
        )
    return EventData(origin=make_origin(), groups=groups)


def mt_angle_deg(a: dict[str, float], b: dict[str, float]) -> float:
    """Angle between two moment tensors as vectors (Frobenius inner product), degrees."""
    keys = ("Mrr", "Mtt", "Mpp", "Mrt", "Mrp", "Mtp")
    w = np.sqrt([1.0, 1.0, 1.0, 2.0, 2.0, 2.0])
    x, y = np.array([a[k] for k in keys]) * w, np.array([b[k] for k in keys]) * w
    c = float(x @ y / (np.linalg.norm(x) * np.linalg.norm(y)))
    return float(np.degrees(np.arccos(np.clip(c, -1.0, 1.0))))


def cc_best_lag(a: np.ndarray, b: np.ndarray, max_lag: int = 10) -> float:
    """Pearson-free normalised correlation of two non-negative series at the best lag."""
    n = max(a.size, b.size) + 2 * max_lag
    x, y = np.zeros(n), np.zeros(n)
    x[max_lag : max_lag + a.size], y[max_lag : max_lag + b.size] = a, b
    best = max(float(np.dot(np.roll(x, k), y)) for k in range(-max_lag, max_lag + 1))
    return best / (np.linalg.norm(a) * np.linalg.norm(b))
