"""Synthetic sources and events for the tests: chosen mechanisms and depths, and small
parametric-source events through the project generator."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from symae.data.events import Origin
from symae.synth.config import SynthConfig
from symae.synth.generator import SyntheticEvent, synthesize_event
from symae.synth.radiation import double_couple
from symae.synth.source import Source, parametric_source, seismic_moment


def boxcar_source(
    event_id: str,
    depth_km: float,
    strike: float = 0.0,
    dip: float = 90.0,
    rake: float = 0.0,
    mw: float = 7.0,
    dt: float = 0.05,
) -> Source:
    """An 8 s smooth pulse at (10 N, 40 E) with a chosen double couple."""
    t = np.arange(0.0, 8.0 + dt, dt)
    rate = np.sin(np.pi * t / 8.0) ** 2
    rate *= seismic_moment(mw) / (rate.sum() * dt)
    origin = Origin(
        event_id=event_id,
        time="2021-06-01T12:00:00.000000Z",
        latitude=10.0,
        longitude=40.0,
        depth_km=depth_km,
        magnitude=mw,
        moment_tensor=double_couple(strike, dip, rake, seismic_moment(mw)),
    )
    return Source(origin=origin, kind="parametric", t0=0.0, dt=dt, moment_rate=rate)


def synthetic_event(seed: int, n_stations: int = 40, directivity: bool = False) -> SyntheticEvent:
    """A parametric-source event through the project generator (fixed seed)."""
    rng = np.random.default_rng(seed)
    config = SynthConfig(
        n_stations=n_stations,
        directivity=directivity,
        mw_range=(7.0, 7.5),
        depth_range_km=(20.0, 100.0),
    )
    source = parametric_source(
        rng,
        f"test{seed}",
        config.mw_range,
        config.depth_range_km,
        config.raw_dt,
        directivity,
        datetime(2020, 1, 1, tzinfo=UTC),
    )
    return synthesize_event(rng, source, config)
