"""Truth-free validation of a recorded earthquake: what can be checked without its STF.

No independent source time function exists for most recorded events, so this module
measures what physics and statistics can say about one extraction
(``symae validate``; results in ``docs/real-data.md``):

- **duration against magnitude scaling**: the STF's 5-95 % moment duration against the
  GCMT half-duration scaling 2h, h = 1.05e-8 M0^(1/3) s (M0 in dyne-cm), and against
  the catalogue half-duration when the user gives one;
- **depth phases**: the largest STF value within a window around the predicted pP-P and
  sP-P delays (iasp91, at the depth the inversion used, median over the used stations),
  relative to the STF's peak. The product's support is Mw-scaled and usually ends before
  the depth phases, so the same inversion is also run with a support reaching past sP:
  only then does a small value mean that the Green's functions, not the support, keep
  the depth phases out;
- **split-half stability**: STFs inverted from disjoint random halves of the stations
  (each half estimates its own mechanism when none is given), Pearson CC at best lag
  between the halves; and the same for azimuthal halves (stations on either side of a
  line through the epicentre, six orientations), which a directive rupture would split;
- **agreement between methods**: Pearson CC at best lag between the STFs of every
  method and baseline the extraction made (inversion, SymAE-based, stacks).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from itertools import combinations
from typing import Any

import numpy as np

from symae.contract import DEFAULT_CONTRACT, DataContract
from symae.data.dataset import EventData
from symae.evaluate.metrics import Series, compare, half_duration
from symae.extract.result import ExtractionResult
from symae.inversion import InversionSettings, event_arrays, invert_traces
from symae.inversion.greens import TraceGeometry
from symae.inversion.result import InversionResult
from symae.synth.paths import phase_table

MIN_HALF_TRACES = 10  # a half with fewer used stations is not scored
AZIMUTH_LINES_DEG = (0.0, 30.0, 60.0, 90.0, 120.0, 150.0)


@dataclass
class DepthPhases:
    """STF values around the predicted depth-phase delays, relative to the STF peak."""

    depth_km: float
    pp_delay_s: float
    sp_delay_s: float
    window_s: float  # half-width of each window
    product_support_s: float  # where the product STF's support ends (s after P)
    product_pp: float
    product_sp: float
    extended_support_s: float
    extended_pp: float
    extended_sp: float
    applicable: bool  # both windows lie after the STF's main pulse and inside the record
    note: str
    extended_times: list[float] = field(default_factory=list)
    extended_stf: list[float] = field(default_factory=list)


@dataclass
class Halves:
    """Pearson CC between the STFs of paired station halves."""

    kind: str  # "random" | "azimuthal"
    ccs: list[float]
    sizes: list[tuple[int, int]]
    median_cc: float
    examples: list[dict[str, list[float]]] = field(default_factory=list)


@dataclass
class RealValidation:
    """Everything ``validate_event`` measured on one recorded event."""

    event_id: str
    magnitude: float
    depth_km: float
    n_traces: int
    n_used: int
    method: str
    duration_s: float
    mw_duration_s: float
    duration_ratio: float
    catalogue_duration_s: float | None
    catalogue_ratio: float | None
    onset_shift_s: float
    flags: list[str]
    depth_phases: DepthPhases
    random_halves: Halves
    azimuthal_halves: Halves
    agreement: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def moment_duration(values: np.ndarray, dt: float) -> float:
    """5-95 % of the cumulative moment (s)."""
    x = np.clip(np.asarray(values, dtype=np.float64), 0.0, None)
    if x.sum() <= 0:
        return 0.0
    cum = np.cumsum(x) / x.sum()
    t = dt * np.arange(x.size)
    return float(np.interp(0.95, cum, t) - np.interp(0.05, cum, t))


def similarity(a: Series, b: Series, max_lag_s: float = 5.0) -> float:
    """Pearson CC at the best lag within +-``max_lag_s`` between two sampled STFs."""
    return float(compare(a, b, max_lag_s=max_lag_s).pearson)


def _series(times: np.ndarray, values: np.ndarray) -> Series:
    t = np.asarray(times, dtype=np.float64)
    return Series(np.asarray(values, dtype=np.float64), float(t[0]), float(t[1] - t[0]))


def _subset(geometry: TraceGeometry, idx: np.ndarray) -> TraceGeometry:
    return TraceGeometry(
        station_id=[geometry.station_id[i] for i in idx],
        distance_deg=np.asarray(geometry.distance_deg)[idx],
        azimuth_deg=np.asarray(geometry.azimuth_deg)[idx],
        takeoff_deg=np.asarray(geometry.takeoff_deg)[idx],
        polarity=np.asarray(geometry.polarity)[idx],
        pixel=np.asarray(geometry.pixel)[idx],
    )


def _window_peak(times: np.ndarray, stf: np.ndarray, centre: float, half: float) -> float:
    peak = float(np.max(stf))
    inside = np.abs(np.asarray(times) - centre) <= half
    if peak <= 0 or not inside.any():
        return 0.0
    return float(np.max(stf[inside]) / peak)


def depth_phases(
    event: EventData, raw: InversionResult, settings: InversionSettings, contract: DataContract
) -> DepthPhases:
    """Depth-phase windows on the product STF and on an inversion whose support reaches
    past sP (module docstring)."""
    traces, geometry = event_arrays(event)
    used = np.array([t.used for t in raw.traces])
    dist = np.asarray(geometry.distance_deg)[used if used.any() else slice(None)]
    arrivals = phase_table().lookup(raw.depth_km, dist)
    pp = float(np.nanmedian(arrivals.time["pP"] - arrivals.time["P"]))
    sp = float(np.nanmedian(arrivals.time["sP"] - arrivals.time["P"]))
    mw = float(event.origin.magnitude or 0.0)
    window = max(2.0, 0.5 * half_duration(mw))
    origin = replace(event.origin, depth_km=raw.depth_km, moment_tensor=_tensor(raw))
    support = sp + 2.0 * window + 5.0
    extended = invert_traces(
        traces,
        geometry,
        origin,
        replace(settings, support_factor=1.0, min_support_s=support, n_bootstrap=0),
        contract,
    )
    last = contract.t0 + (contract.nt - 1) * contract.dt  # the window's last sample after P
    if sp + window > last:
        note = f"pP and sP arrive {pp:.0f} and {sp:.0f} s after P, past the window's end ({last:.0f} s)"
    elif pp - window < raw.duration_s:
        note = (
            f"pP arrives {pp:.1f} s after P, within the STF's own duration "
            f"({raw.duration_s:.0f} s): the depth phases cannot be told from the source here"
        )
    else:
        note = "both windows after the STF's main pulse and inside the record"
    applicable = sp + window <= last and pp - window >= raw.duration_s
    return DepthPhases(
        depth_km=float(raw.depth_km),
        pp_delay_s=pp,
        sp_delay_s=sp,
        window_s=window,
        product_support_s=float(raw.times[-1]),
        product_pp=_window_peak(raw.times, raw.stf, pp, window),
        product_sp=_window_peak(raw.times, raw.stf, sp, window),
        extended_support_s=float(extended.times[-1]),
        extended_pp=_window_peak(extended.times, extended.stf, pp, window),
        extended_sp=_window_peak(extended.times, extended.stf, sp, window),
        applicable=applicable,
        note=note,
        extended_times=[float(t) for t in extended.times],
        extended_stf=[float(v) for v in extended.stf / max(float(extended.stf.max()), 1e-30)],
    )


def _tensor(raw: InversionResult) -> dict[str, float]:
    return {k: float(v) for k, v in raw.mechanism.items() if k.startswith("M")}


def _halves_cc(
    traces: np.ndarray,
    geometry: TraceGeometry,
    event: EventData,
    pairs: list[tuple[np.ndarray, np.ndarray]],
    settings: InversionSettings,
    contract: DataContract,
    kind: str,
) -> Halves:
    ccs: list[float] = []
    sizes: list[tuple[int, int]] = []
    examples: list[dict[str, list[float]]] = []
    for a, b in pairs:
        ra = invert_traces(traces[a], _subset(geometry, a), event.origin, settings, contract)
        rb = invert_traces(traces[b], _subset(geometry, b), event.origin, settings, contract)
        if min(ra.n_used, rb.n_used) < MIN_HALF_TRACES:
            continue
        ccs.append(similarity(_series(ra.times, ra.stf), _series(rb.times, rb.stf)))
        sizes.append((int(ra.n_used), int(rb.n_used)))
        if len(examples) < 3:
            examples.append(
                {
                    "times_a": [float(t) for t in ra.times],
                    "stf_a": [float(v) for v in ra.stf / ra.stf.max()],
                    "times_b": [float(t) for t in rb.times],
                    "stf_b": [float(v) for v in rb.stf / rb.stf.max()],
                }
            )
    median = float(np.median(ccs)) if ccs else float("nan")
    return Halves(kind, [float(c) for c in ccs], sizes, median, examples)


def random_halves(
    event: EventData,
    n_splits: int,
    seed: int,
    settings: InversionSettings,
    contract: DataContract = DEFAULT_CONTRACT,
) -> Halves:
    """``n_splits`` disjoint random halves of the stations (seeded)."""
    traces, geometry = event_arrays(event)
    rng = np.random.default_rng(seed)
    n = len(geometry)
    pairs = []
    for _ in range(n_splits):
        order = rng.permutation(n)
        pairs.append((np.sort(order[: n // 2]), np.sort(order[n // 2 :])))
    return _halves_cc(traces, geometry, event, pairs, settings, contract, "random")


def azimuthal_halves(
    event: EventData, settings: InversionSettings, contract: DataContract = DEFAULT_CONTRACT
) -> Halves:
    """Stations either side of lines through the epicentre at ``AZIMUTH_LINES_DEG``;
    a line leaving fewer than ``MIN_HALF_TRACES`` stations on one side is skipped."""
    traces, geometry = event_arrays(event)
    az = np.asarray(geometry.azimuth_deg) % 360.0
    pairs = []
    for line in AZIMUTH_LINES_DEG:
        side = ((az - line) % 360.0) < 180.0
        a, b = np.flatnonzero(side), np.flatnonzero(~side)
        if min(a.size, b.size) >= MIN_HALF_TRACES:
            pairs.append((a, b))
    return _halves_cc(traces, geometry, event, pairs, settings, contract, "azimuthal")


def method_agreement(result: ExtractionResult) -> dict[str, float]:
    """Pearson CC at best lag between every two STFs the extraction made."""
    stfs = {**result.method_stfs(), **result.baselines}
    series = {name: Series(s.array(), s.t0, s.dt) for name, s in stfs.items()}
    return {
        f"{a} ~ {b}": similarity(series[a], series[b], max_lag_s=10.0)
        for a, b in combinations(sorted(series), 2)
    }


def validate_event(
    event: EventData,
    result: ExtractionResult,
    raw: InversionResult,
    n_splits: int = 20,
    seed: int = 0,
    catalogue_half_duration_s: float | None = None,
    settings: InversionSettings | None = None,
    contract: DataContract = DEFAULT_CONTRACT,
) -> RealValidation:
    """All truth-free checks of one extraction (module docstring); ``raw`` is the
    inversion on the raw traces that ``result`` reports."""
    settings = settings or InversionSettings()
    quick = replace(settings, n_bootstrap=0)
    mw = float(event.origin.magnitude or 0.0)
    duration = moment_duration(result.stf.array(), result.stf.dt)
    scaled = 2.0 * half_duration(mw)
    catalogue = None if catalogue_half_duration_s is None else 2.0 * catalogue_half_duration_s
    return RealValidation(
        event_id=event.event_id,
        magnitude=mw,
        depth_km=float(event.origin.depth_km or 0.0),
        n_traces=event.n_traces,
        n_used=int(raw.n_used),
        method=result.stf.method or "envelope",
        duration_s=duration,
        mw_duration_s=scaled,
        duration_ratio=duration / scaled,
        catalogue_duration_s=catalogue,
        catalogue_ratio=None if catalogue is None else duration / catalogue,
        onset_shift_s=float(raw.onset_shift_s),
        flags=list(result.quality.flags),
        depth_phases=depth_phases(event, raw, quick, contract),
        random_halves=random_halves(event, n_splits, seed, quick, contract),
        azimuthal_halves=azimuthal_halves(event, quick, contract),
        agreement=method_agreement(result),
    )
