"""Earthquake sources for the generator: where, which mechanism, and the moment-rate function.

Two families:

* ``scardec_source``: a real SCARDEC optimal STF (resampled to the generator's fine
  grid), located at the PDE hypocentre of its CMTSOLUTION (the STF's time zero) with the
  Global CMT moment tensor.
* ``parametric_source``: a random double couple with an STF made of smoothed episodes
  (Hann pulses of 5-10 s). Their number and the total duration scale with Mw as the
  SymAE papers report: 1-2 episodes below Mw 6, 2-3 for Mw 6-7, 4-10 above Mw 7 (more
  for larger events); the total duration follows the Global CMT half-duration scaling
  ``2 x 1.05e-8 M0^(1/3)`` (M0 in dyne cm) within a factor 0.7-1.4.

Optional unilateral directivity (rupture azimuth and Mach number v_r / alpha) makes the
apparent STF azimuth-dependent; the generator stretches it per station.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

from symae.data.events import Origin
from symae.data.scardec import ScardecEvent
from symae.synth.radiation import double_couple


@dataclass(frozen=True)
class Directivity:
    """Unilateral rupture: horizontal direction (degrees from north) and v_r / alpha."""

    azimuth_deg: float
    mach: float

    def stretch(self, azimuth_deg: np.ndarray, takeoff_deg: np.ndarray) -> np.ndarray:
        """Apparent-duration factor per ray: 1 - mach cos(angle between ray and rupture)."""
        cos_angle = np.cos(np.radians(np.asarray(azimuth_deg) - self.azimuth_deg)) * np.sin(
            np.radians(takeoff_deg)
        )
        return 1.0 - self.mach * cos_angle


@dataclass(frozen=True)
class Source:
    """One earthquake as the generator needs it.

    ``moment_rate`` (N m / s) is sampled every ``dt`` seconds from ``t0`` seconds after
    the origin time; ``m0`` is its integral.
    """

    origin: Origin
    kind: str  # "parametric" or "scardec"
    t0: float
    dt: float
    moment_rate: np.ndarray
    directivity: Directivity | None = None
    details: dict[str, object] = field(default_factory=dict)

    @property
    def m0(self) -> float:
        return float(np.sum(self.moment_rate) * self.dt)

    @property
    def mw(self) -> float:
        return moment_magnitude(self.m0)

    def rate_at(self, t: np.ndarray) -> np.ndarray:
        """Moment rate at times ``t`` (s after the origin), zero outside the function."""
        grid = self.t0 + self.dt * np.arange(self.moment_rate.size)
        return np.interp(t, grid, self.moment_rate, left=0.0, right=0.0)

    def stretched(self, k: float) -> tuple[float, np.ndarray]:
        """Start time and samples (every ``dt``) of s(t / k) / k: same moment, k x longer."""
        n = int(np.ceil(self.moment_rate.size * k)) + 1
        t_start = self.t0 * k
        t = t_start + self.dt * np.arange(n)
        return t_start, self.rate_at(t / k) / k

    def averaged(self, time_axis: np.ndarray) -> np.ndarray:
        """Moment rate averaged over each sample interval of ``time_axis`` (N m / s).

        Interval averages keep the moment (sum x dt = M0) and never alias a short peak.
        """
        dt_out = float(time_axis[1] - time_axis[0])
        grid = self.t0 + self.dt * np.arange(self.moment_rate.size + 1)
        cumulative = np.concatenate([[0.0], np.cumsum(self.moment_rate) * self.dt])
        upper = np.interp(time_axis + dt_out / 2, grid, cumulative)
        lower = np.interp(time_axis - dt_out / 2, grid, cumulative)
        return (upper - lower) / dt_out


def moment_magnitude(m0: float) -> float:
    """Mw from M0 in N m (Hanks & Kanamori)."""
    return float(2.0 / 3.0 * (np.log10(m0) - 9.1))


def seismic_moment(mw: float) -> float:
    """M0 in N m from Mw."""
    return float(10 ** (1.5 * mw + 9.1))


def episode_count(rng: np.random.Generator, mw: float) -> int:
    """Number of rupture episodes for a magnitude (the papers' 2-3 at Mw 6-7, 4-10 above)."""
    if mw < 6.0:
        return int(rng.integers(1, 3))
    if mw < 7.0:
        return int(rng.integers(2, 4))
    upper = int(np.clip(round(4 + 3 * (mw - 7.0)), 5, 10))  # Mw 7: 4-5, Mw 8: 4-7, Mw 9: 4-10
    return int(rng.integers(4, upper + 1))


def total_duration(rng: np.random.Generator, mw: float) -> float:
    """Total STF duration in seconds (GCMT half-duration scaling, random factor 0.7-1.4)."""
    m0_dyne_cm = seismic_moment(mw) * 1e7
    return float(2.0 * 1.05e-8 * m0_dyne_cm ** (1.0 / 3.0) * rng.uniform(0.7, 1.4))


def episodes_stf(
    rng: np.random.Generator, mw: float, dt: float
) -> tuple[np.ndarray, list[dict[str, float]]]:
    """Moment rate (integral = M0(mw)) from t = 0 and the episodes that make it up."""
    n = episode_count(rng, mw)
    widths = rng.uniform(5.0, 10.0, n)
    span = max(total_duration(rng, mw), float(widths.max()))
    onsets = np.sort(np.concatenate([[0.0], rng.uniform(0.0, 1.0, n - 1)])) * (span - widths).clip(
        0.0
    )
    weights = rng.uniform(0.3, 1.0, n)
    length = float(np.max(onsets + widths))
    t = np.arange(0.0, length + dt, dt)
    rate = np.zeros_like(t)
    episodes = []
    for onset, width, weight in zip(onsets, widths, weights, strict=True):
        inside = (t >= onset) & (t <= onset + width)
        rate[inside] += weight * np.sin(np.pi * (t[inside] - onset) / width) ** 2
        episodes.append(
            {"onset_s": float(onset), "duration_s": float(width), "weight": float(weight)}
        )
    rate *= seismic_moment(mw) / (np.sum(rate) * dt)
    return rate, episodes


def random_double_couple(rng: np.random.Generator) -> tuple[float, float, float]:
    """Strike, dip, rake (degrees) of an isotropically oriented double couple."""
    strike = rng.uniform(0.0, 360.0)
    dip = float(np.degrees(np.arccos(rng.uniform(0.0, 1.0))))
    rake = rng.uniform(-180.0, 180.0)
    return float(strike), dip, float(rake)


def draw_directivity(rng: np.random.Generator, max_mach: float = 0.5) -> Directivity:
    """A unilateral rupture in a random horizontal direction, v_r / alpha in [0, max_mach]."""
    return Directivity(azimuth_deg=float(rng.uniform(0, 360)), mach=float(rng.uniform(0, max_mach)))


def parametric_source(
    rng: np.random.Generator,
    event_id: str,
    mw_range: tuple[float, float],
    depth_range_km: tuple[float, float],
    dt: float,
    directivity: bool,
    origin_time: datetime,
) -> Source:
    """A random earthquake: location uniform on the sphere, double couple, episodic STF."""
    mw = float(rng.uniform(*mw_range))
    rate, episodes = episodes_stf(rng, mw, dt)
    strike, dip, rake = random_double_couple(rng)
    lat = float(np.degrees(np.arcsin(rng.uniform(-1.0, 1.0))))
    lon = float(rng.uniform(-180.0, 180.0))
    depth = float(rng.uniform(*depth_range_km))
    m0 = float(np.sum(rate) * dt)
    origin = Origin(
        event_id=event_id,
        time=origin_time.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        latitude=lat,
        longitude=lon,
        depth_km=depth,
        magnitude=round(moment_magnitude(m0), 3),
        region="synthetic",
        moment_tensor=double_couple(strike, dip, rake, m0),
    )
    return Source(
        origin=origin,
        kind="parametric",
        t0=0.0,
        dt=dt,
        moment_rate=rate,
        directivity=draw_directivity(rng) if directivity else None,
        details={"episodes": episodes, "strike": strike, "dip": dip, "rake": rake},
    )


def scardec_source(
    event: ScardecEvent, dt: float, rng: np.random.Generator, directivity: bool
) -> Source:
    """The SCARDEC event's optimal STF (linearly resampled to ``dt``) at its hypocentre."""
    t = np.arange(event.stf.t[0], event.stf.t[-1] + 0.5 * dt, dt)
    rate = np.interp(t, event.stf.t, event.stf.moment_rate, left=0.0, right=0.0)
    return Source(
        origin=event.origin(),
        kind="scardec",
        t0=float(t[0]),
        dt=dt,
        moment_rate=rate,
        directivity=draw_directivity(rng) if directivity else None,
        details={"folder": event.folder.name, "header_m0": event.stf.m0},
    )


def synthetic_origin_time(base: datetime, index: int) -> datetime:
    """Origin time of the ``index``-th synthetic event: one a day from ``base``."""
    if base.tzinfo is None:
        base = base.replace(tzinfo=UTC)
    return base + timedelta(days=index, seconds=37 * index % 3600)
