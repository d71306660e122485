"""Hard mode of the generator: forward physics that no simple inversion shares.

The easy mode builds every trace from the same Green's-function recipe an inversion
would use (1-D depth phases, t*, independent time shifts), so an inversion scored on it
measures little more than the inverse crime. Hard mode adds, per event:

* **3-D path anomalies, correlated between stations**: travel-time and log-amplitude
  fields smooth in azimuth and distance, each a few low-order terms
  ``c_ml cos(m az + phi_ml) P_l(x)`` (m, l = 0..2, x the distance scaled to [-1, 1],
  weights falling with m + l), scaled so that their extreme over the distance window
  reaches a drawn 50-100 % of +-``anomaly_time_s`` and x/÷ ``anomaly_amplitude``.
* **Water-layer reverberation** (pwP-like) for a drawn share of the events shallower
  than ``oceanic_max_depth_km``: the depth phases (pP, sP) ring in a water column of
  1-6 km: ``W(f) = 1 + g sum_n (-r)^(n-1) exp(-2 pi i f n tau_w)`` with tau_w the
  water's two-way vertical time at the ray's angle, g the pwP/pP ratio (0.6-1.2) and r
  the sea-floor reflectivity seen from above (0.4).
* **Near-source scattered coda shared by neighbouring stations**: random decaying codas
  at azimuth nodes every 30 degrees, a station's coda the normalised linear blend of its
  two nodes; it follows every phase (it is scattered near the source).
* **Broken stations**: a share (``broken_share``, drawn in 0-0.3 per event when None)
  with reversed polarity, a clock error of 10-20 s (either sign, the header lies), 1-5
  glitches (spikes of 3-30 x the record's peak) or clipping (at 20-60 % of the peak).
  The noise level is fitted on the intact record, then the record is broken and
  preprocessed again; preprocessing may refuse it like a real one.
* **Catalogue errors in what the method is given** (``EventData.origin``): origin time
  +-1.5 s, depth +-12 km, Mw +-0.15 (uniform), the moment tensor rotated by ~15 degrees
  (normal, std 5, about a random axis) for half the events and withheld (None) for the
  rest. Preprocessing predicts P and take-off angles from this catalogue origin.

The truth (``truth_stf``) stays the true source; ``truth_attrs`` records the true origin,
the catalogue errors and every drawn event-level knob; per trace, ``truth_broken``
(``BROKEN_CODES``), ``truth_clock_error_s``, ``truth_anomaly_time_s`` and
``truth_anomaly_amplitude``.

All hard-mode draws come from a child generator seeded from the event's ``rng`` right
after the stations are drawn, so the easy-mode draws keep their order.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from obspy import UTCDateTime
from scipy.special import eval_legendre

from symae.data.events import Origin
from symae.synth.radiation import moment_tensor_ned

BROKEN_CODES = {0: "intact", 1: "reversed_polarity", 2: "clock_error", 3: "glitches", 4: "clipped"}
WATER_P_KM_S = 1.5
CODA_NODE_SPACING_DEG = 30.0


@dataclass(frozen=True)
class HardMode:
    """Knobs of the hard mode (module docstring); an ablation varies them."""

    anomaly_time_s: float = 2.0
    anomaly_amplitude: float = 1.4
    anomaly_order: int = 2
    oceanic_share: float = 0.5
    oceanic_max_depth_km: float = 40.0
    water_depth_km: tuple[float, float] = (1.0, 6.0)
    pwp_ratio: tuple[float, float] = (0.6, 1.2)
    seafloor_reflectivity: float = 0.4
    source_coda_amplitude: tuple[float, float] = (0.1, 0.4)
    source_coda_decay_s: tuple[float, float] = (10.0, 40.0)
    broken_share: float | None = None  # None: drawn uniformly in broken_share_range per event
    broken_share_range: tuple[float, float] = (0.0, 0.3)
    clock_error_s: tuple[float, float] = (10.0, 20.0)
    snr_range: tuple[float, float] = (2.5, 30.0)
    origin_time_error_s: float = 1.5
    depth_error_km: float = 12.0
    mw_error: float = 0.15
    mechanism_error_deg: float = 15.0
    mechanism_known_share: float = 0.5

    def __post_init__(self) -> None:
        if self.broken_share is not None and not 0 <= self.broken_share <= 1:
            raise ValueError(f"broken_share must be in [0, 1], got {self.broken_share}")
        if not 1.0 < self.snr_range[0] <= self.snr_range[1]:
            raise ValueError(f"snr_range must satisfy 1 < low <= high, got {self.snr_range}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Anomaly:
    """A smooth field over (azimuth, distance): sum of c cos(m az + phi) P_l(x), peak 1."""

    terms: tuple[tuple[int, int, float, float], ...]  # (m, l, weight, phase)
    norm: float

    @classmethod
    def draw(
        cls, rng: np.random.Generator, order: int, distance_range: tuple[float, float]
    ) -> Anomaly:
        terms = tuple(
            (m, ell, float(rng.normal() / (1.0 + m + ell)), float(rng.uniform(0, 2 * np.pi)))
            for m in range(order + 1)
            for ell in range(order + 1)
        )
        raw = cls(terms, 1.0)
        az, dist = np.meshgrid(np.arange(0.0, 360.0, 5.0), np.linspace(*distance_range, 25))
        values = raw._raw(az.ravel(), dist.ravel(), distance_range)
        return cls(terms, float(np.max(np.abs(values))) or 1.0)

    def _raw(
        self, azimuth_deg: np.ndarray, distance_deg: np.ndarray, distance_range: tuple[float, float]
    ) -> np.ndarray:
        lo, hi = distance_range
        x = np.clip(2.0 * (np.asarray(distance_deg) - lo) / (hi - lo) - 1.0, -1.0, 1.0)
        az = np.radians(azimuth_deg)
        out = np.zeros(np.shape(x))
        for m, ell, w, phi in self.terms:
            if m == 0 and ell == 0:
                continue  # a constant shift is the origin time's business
            out = out + w * np.cos(m * az + phi) * eval_legendre(ell, x)
        return out

    def __call__(
        self, azimuth_deg: np.ndarray, distance_deg: np.ndarray, distance_range: tuple[float, float]
    ) -> np.ndarray:
        return self._raw(azimuth_deg, distance_deg, distance_range) / self.norm


def _coda(rng: np.random.Generator, amplitude: float, decay_s: float, dt: float) -> np.ndarray:
    """A decaying random coda in the receiver-side convention (rms ``amplitude`` x a 5 s pulse)."""
    t = np.arange(int(8 * decay_s / dt)) * dt
    envelope = np.where(t >= 0.5, np.exp(-(t - 0.5) / decay_s), 0.0)
    return rng.standard_normal(t.size) * envelope * amplitude * np.sqrt(dt / 5.0)


@dataclass
class HardEvent:
    """Everything hard mode drew for one event."""

    knobs: HardMode
    time_anomaly: Anomaly
    amplitude_anomaly: Anomaly
    time_scale_s: float
    log_amplitude_scale: float
    oceanic: bool
    water_depth_km: float
    pwp_ratio: float
    coda_amplitude: float
    coda_decay_s: float
    coda_nodes: np.ndarray  # (n_nodes, samples) on the raw grid
    broken: np.ndarray  # (n_stations,) codes of BROKEN_CODES
    broken_share: float
    catalogue: Origin
    catalogue_errors: dict[str, Any] = field(default_factory=dict)
    rng: np.random.Generator | None = None  # continues for the per-station breakage draws
    time_shift: np.ndarray | None = None  # per station, s (set by the generator)
    amplitude: np.ndarray | None = None  # per station, factor

    def path_anomaly(
        self, azimuth_deg: np.ndarray, distance_deg: np.ndarray, distance_range
    ) -> tuple[np.ndarray, np.ndarray]:
        """Travel-time anomaly (s) and amplitude factor per station."""
        t = self.time_scale_s * self.time_anomaly(azimuth_deg, distance_deg, distance_range)
        a = np.exp(
            self.log_amplitude_scale
            * self.amplitude_anomaly(azimuth_deg, distance_deg, distance_range)
        )
        return t, a

    def water_spectrum(self, freqs: np.ndarray, ray_param_s_per_km: float) -> np.ndarray:
        """Multiplier of the depth phases: 1 without water, the pwP-like train with it."""
        if not self.oceanic:
            return np.ones(np.shape(freqs), dtype=np.complex128)
        cos_i = np.sqrt(max(1.0 - (ray_param_s_per_km * WATER_P_KM_S) ** 2, 0.0))
        tau = 2.0 * self.water_depth_km * cos_i / WATER_P_KM_S
        r = self.knobs.seafloor_reflectivity
        out = np.ones(np.shape(freqs), dtype=np.complex128)
        for n in range(1, 5):
            out += self.pwp_ratio * (-r) ** (n - 1) * np.exp(-2j * np.pi * freqs * n * tau)
        return out

    def coda_spectrum(self, azimuth_deg: float, nfft: int) -> np.ndarray:
        """rfft of the near-source coda seen at ``azimuth_deg`` (blend of its two nodes)."""
        n = len(self.coda_nodes)
        pos = (azimuth_deg % 360.0) / CODA_NODE_SPACING_DEG
        k = int(np.floor(pos)) % n
        w = pos - np.floor(pos)
        coda = ((1 - w) * self.coda_nodes[k] + w * self.coda_nodes[(k + 1) % n]) / np.hypot(
            1 - w, w
        )
        return np.fft.rfft(coda[:nfft], nfft)

    def attrs(self) -> dict[str, Any]:
        return {
            "mode": "hard",
            "catalogue_errors": self.catalogue_errors,
            "oceanic": self.oceanic,
            "water_depth_km": self.water_depth_km if self.oceanic else 0.0,
            "pwp_ratio": self.pwp_ratio if self.oceanic else 0.0,
            "anomaly_time_s": self.time_scale_s,
            "anomaly_log_amplitude": self.log_amplitude_scale,
            "source_coda": {"amplitude": self.coda_amplitude, "decay_s": self.coda_decay_s},
            "broken_share": self.broken_share,
            "n_broken": int(np.count_nonzero(self.broken)),
            "broken_codes": {str(k): v for k, v in BROKEN_CODES.items()},
            "hard_mode": self.knobs.to_dict(),
        }


def rotate_moment_tensor(
    mt: dict[str, float], axis: np.ndarray, angle_deg: float
) -> dict[str, float]:
    """``mt`` (GCMT keys) rotated by ``angle_deg`` about ``axis`` (north, east, down)."""
    m = moment_tensor_ned(mt)
    a = np.asarray(axis, dtype=np.float64)
    a = a / np.linalg.norm(a)
    th = np.radians(angle_deg)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    rot = np.eye(3) + np.sin(th) * k + (1 - np.cos(th)) * (k @ k)
    r = rot @ m @ rot.T
    return {
        "Mrr": float(r[2, 2]),
        "Mtt": float(r[0, 0]),
        "Mpp": float(r[1, 1]),
        "Mrt": float(r[0, 2]),
        "Mrp": float(-r[1, 2]),
        "Mtp": float(-r[0, 1]),
    }


def catalogue_origin(
    rng: np.random.Generator, true: Origin, knobs: HardMode
) -> tuple[Origin, dict[str, Any]]:
    """The origin a method is given: the true one with catalogue errors (module docstring)."""
    dt0 = float(rng.uniform(-knobs.origin_time_error_s, knobs.origin_time_error_s))
    dz = float(rng.uniform(-knobs.depth_error_km, knobs.depth_error_km))
    dmw = float(rng.uniform(-knobs.mw_error, knobs.mw_error))
    known = bool(rng.random() < knobs.mechanism_known_share)
    axis = rng.normal(size=3)
    angle = float(abs(rng.normal(knobs.mechanism_error_deg, knobs.mechanism_error_deg / 3.0)))
    depth = float(np.clip(true.depth_km + dz, 0.0, 700.0))
    mt = None
    if known and true.moment_tensor:
        mt = rotate_moment_tensor(true.moment_tensor, axis, angle)
    time = (UTCDateTime(true.time) + dt0).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    given = Origin(
        event_id=true.event_id,
        time=time,
        latitude=true.latitude,
        longitude=true.longitude,
        depth_km=depth,
        magnitude=None if true.magnitude is None else round(true.magnitude + dmw, 3),
        magnitude_type=true.magnitude_type,
        region=true.region,
        moment_tensor=mt,
    )
    errors = {
        "origin_time_s": dt0,
        "depth_km": depth - true.depth_km,
        "mw": dmw,
        "mechanism": "rotated" if mt is not None else "withheld",
        "mechanism_rotation_deg": angle if mt is not None else None,
        "true_origin": {
            "time": true.time,
            "depth_km": true.depth_km,
            "magnitude": true.magnitude,
            "moment_tensor": true.moment_tensor,
        },
    }
    return given, errors


def draw_hard_event(
    rng: np.random.Generator,
    origin: Origin,
    n_stations: int,
    knobs: HardMode,
    distance_range: tuple[float, float],
    dt: float,
) -> HardEvent:
    """Every event-level hard-mode draw, from ``rng`` (a child of the event's generator)."""
    time_anomaly = Anomaly.draw(rng, knobs.anomaly_order, distance_range)
    amplitude_anomaly = Anomaly.draw(rng, knobs.anomaly_order, distance_range)
    time_scale = knobs.anomaly_time_s * float(rng.uniform(0.5, 1.0))
    log_amp_scale = np.log(knobs.anomaly_amplitude) * float(rng.uniform(0.5, 1.0))
    oceanic = bool(
        origin.depth_km < knobs.oceanic_max_depth_km and rng.random() < knobs.oceanic_share
    )
    water = float(rng.uniform(*knobs.water_depth_km))
    pwp = float(rng.uniform(*knobs.pwp_ratio))
    coda_amp = float(rng.uniform(*knobs.source_coda_amplitude))
    coda_decay = float(rng.uniform(*knobs.source_coda_decay_s))
    n_nodes = int(round(360.0 / CODA_NODE_SPACING_DEG))
    nodes = np.stack([_coda(rng, coda_amp, coda_decay, dt) for _ in range(n_nodes)])
    share = (
        knobs.broken_share
        if knobs.broken_share is not None
        else float(rng.uniform(*knobs.broken_share_range))
    )
    broken = np.zeros(n_stations, dtype=np.int64)
    n_broken = int(round(share * n_stations))
    if n_broken:
        idx = rng.choice(n_stations, n_broken, replace=False)
        broken[idx] = rng.integers(1, len(BROKEN_CODES), n_broken)
    catalogue, errors = catalogue_origin(rng, origin, knobs)
    return HardEvent(
        knobs=knobs,
        time_anomaly=time_anomaly,
        amplitude_anomaly=amplitude_anomaly,
        time_scale_s=time_scale,
        log_amplitude_scale=float(log_amp_scale),
        oceanic=oceanic,
        water_depth_km=water,
        pwp_ratio=pwp,
        coda_amplitude=coda_amp,
        coda_decay_s=coda_decay,
        coda_nodes=nodes,
        broken=broken,
        broken_share=float(share),
        catalogue=catalogue,
        catalogue_errors=errors,
        rng=rng,
    )


def break_record(
    rng: np.random.Generator,
    code: int,
    displacement: np.ndarray,
    p_index: int,
    dt: float,
    knobs: HardMode,
) -> tuple[np.ndarray, float]:
    """The record broken as ``code`` says; returns it and the clock error (s) to put in its header."""
    x = np.array(displacement, dtype=np.float64)
    clock = 0.0
    if code == 1:
        x = -x
    elif code == 2:
        clock = float(rng.uniform(*knobs.clock_error_s) * rng.choice([-1.0, 1.0]))
    elif code == 3:
        lo, hi = max(0, p_index - int(100 / dt)), min(x.size, p_index + int(100 / dt))
        peak = float(np.max(np.abs(x[lo:hi])))
        for k in rng.integers(lo, hi, int(rng.integers(1, 6))):
            x[k] += peak * rng.uniform(3.0, 30.0) * rng.choice([-1.0, 1.0])
    elif code == 4:
        level = float(np.max(np.abs(x))) * rng.uniform(0.2, 0.6)
        x = np.clip(x, -level, level)
    return x, clock
