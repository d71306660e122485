"""Entry points: ``invert_event`` (an EventData) and ``invert_traces`` (any trace array).

``invert_traces`` is what runs on arbitrary (n, nt) arrays aligned with per-trace
metadata, e.g. SymAE's virtual gathers: pass the event's geometry and the new traces.
Stored traces carry the event-level polarity flip of ``assemble_event``; it is undone
(``undo_polarity``) so that each trace's sign is physical, as the radiation pattern
in the Green's functions assumes.

A ``WarmStart`` (an earlier revision's result of the same event) makes a cheaper,
approximate inversion for previews of a growing event: the depth and mechanism found
before are re-used (no search), the alternation starts from the earlier STF and runs
``rounds`` rounds. A from-scratch inversion never takes one.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from threadpoolctl import ThreadpoolController

from symae.contract import DEFAULT_CONTRACT, DataContract
from symae.data.dataset import EventData
from symae.data.events import Origin
from symae.inversion.band import highpass_of, window_taper
from symae.inversion.greens import TraceGeometry, check_moment_tensor, greens_spectra
from symae.inversion.mechanism import SourceFit, refine_depth, search_mechanism
from symae.inversion.onset import onset_lag
from symae.inversion.result import InversionResult, TraceFit
from symae.inversion.settings import InversionError, InversionSettings
from symae.inversion.solve import (
    Frame,
    common_lag,
    design,
    half_duration_s,
    solve,
    support_samples,
)
from symae.inversion.uncertainty import (
    PixelSTF,
    bootstrap,
    centroid,
    moment_duration,
    pixel_stfs,
    trace_grams,
)


@dataclass(frozen=True)
class WarmStart:
    """An earlier solution of the same event to start from (see the module docstring)."""

    stf: np.ndarray  # (J,) its STF on the same support (any positive scale)
    depth_km: float
    mechanism: dict[str, float]  # MT_KEYS components (and strike, dip, rake if searched)
    depth_source: str
    mechanism_source: str
    rounds: int = 1
    onset_shift_s: float = 0.0  # where its support began before the catalogue time

    @classmethod
    def from_result(cls, result: InversionResult, rounds: int = 1) -> WarmStart:
        return cls(
            stf=np.asarray(result.stf, dtype=np.float64),
            depth_km=float(result.depth_km),
            mechanism={k: float(v) for k, v in result.mechanism.items()},
            depth_source=result.depth_source,
            mechanism_source=result.mechanism_source,
            rounds=rounds,
            onset_shift_s=float(result.onset_shift_s),
        )

    @property
    def moment_tensor(self) -> dict[str, float]:
        return {k: v for k, v in self.mechanism.items() if k.startswith("M")}


def event_arrays(event: EventData) -> tuple[np.ndarray, TraceGeometry]:
    """All traces of ``event`` (pixels in ascending order) and their geometry."""
    if not event.groups:
        raise InversionError(f"event {event.event_id!r} has no trace groups")
    groups = [event.groups[p] for p in sorted(event.groups)]
    traces = np.concatenate([g.traces for g in groups]).astype(np.float64)

    def column(name: str, default: float | None = None) -> np.ndarray:
        cols = []
        for g in groups:
            if name in g.fields:
                cols.append(np.asarray(g.fields[name], dtype=np.float64))
            elif default is not None:
                cols.append(np.full(len(g), default))
            else:
                raise InversionError(f"group {g.pixel} lacks the per-trace field {name!r}")
        return np.concatenate(cols)

    geometry = TraceGeometry(
        station_id=[s for g in groups for s in g.station_id],
        distance_deg=column("distance_deg"),
        azimuth_deg=column("azimuth_deg"),
        takeoff_deg=column("takeoff_deg"),
        polarity=column("polarity", 1.0),
        pixel=np.concatenate([np.full(len(g), g.pixel) for g in groups]),
    )
    return traces, geometry


def check_origin(origin: Origin) -> dict[str, float] | None:
    """Raise a one-line ``InversionError`` for an unusable origin; return its moment tensor."""
    if origin.depth_km is None or not np.isfinite(float(origin.depth_km)):
        raise InversionError("origin.depth_km is missing: the Green's functions need a depth")
    if origin.magnitude is None or not np.isfinite(float(origin.magnitude)):
        raise InversionError("origin.magnitude is missing: the STF support is scaled from Mw")
    return check_moment_tensor(origin.moment_tensor)


def invert_event(
    event: EventData,
    settings: InversionSettings | None = None,
    traces_override: np.ndarray | None = None,
    contract: DataContract | None = None,
) -> InversionResult:
    """Invert all traces of ``event`` (or ``traces_override``, aligned with them) for its STF."""
    traces, geometry = event_arrays(event)
    if traces_override is not None:
        override = np.asarray(traces_override, dtype=np.float64)
        if override.shape != traces.shape:
            raise InversionError(
                f"traces_override has shape {override.shape}, the event {traces.shape}"
            )
        traces = override
    return invert_traces(traces, geometry, event.origin, settings, contract)


def invert_traces(
    traces: np.ndarray,
    geometry: TraceGeometry,
    origin: Origin,
    settings: InversionSettings | None = None,
    contract: DataContract | None = None,
    undo_polarity: bool = True,
    warm: WarmStart | None = None,
) -> InversionResult:
    """Positive STF, per-trace fit, band and apparent STFs from (n, nt) traces
    (``warm``: a preview's approximate inversion, see the module docstring).

    BLAS runs on one thread: the matrices are small, and BLAS threads spinning on shared
    cores cost several times the CPU of one (measured on 2 cores)."""
    with _blas_threads().limit(limits=1, user_api="blas"):
        return _invert(traces, geometry, origin, settings, contract, undo_polarity, warm)


@cache
def _blas_threads() -> ThreadpoolController:
    """The BLAS libraries loaded in this process, found once (at the first inversion, when
    numpy and scipy are loaded): scanning them on every call cost 0.4 ms."""
    return ThreadpoolController()


def _invert(
    traces: np.ndarray,
    geometry: TraceGeometry,
    origin: Origin,
    settings: InversionSettings | None,
    contract: DataContract | None,
    undo_polarity: bool,
    warm: WarmStart | None = None,
) -> InversionResult:
    settings = settings or InversionSettings()
    contract = contract or DEFAULT_CONTRACT
    moment_tensor = check_origin(origin)
    data = np.asarray(traces, dtype=np.float64)
    contract.check_traces(data)
    if data.ndim != 2 or data.shape[0] != len(geometry):
        raise InversionError(f"traces of shape {data.shape} for {len(geometry)} geometry rows")
    if undo_polarity:
        data = data * np.asarray(geometry.polarity, dtype=np.float64)[:, None]
    assert origin.magnitude is not None  # checked above
    mw = float(origin.magnitude)
    half = half_duration_s(mw)
    # the STF can only be seen while its P is inside the window: cap the support there
    n_want = support_samples(mw, settings, contract.dt)
    n_window = int(np.floor((contract.t0 + (contract.nt - 1) * contract.dt) / contract.dt)) + 1
    n_base = min(n_want, n_window)
    taper = window_taper(contract)

    def fit_with_onset(n_pre: int) -> SourceFit:
        """The fit with the support starting ``n_pre`` samples before the catalogue time:
        evaluating the model ``n_pre`` samples later is the same as starting m earlier."""
        frame = Frame(contract.t0 + n_pre * contract.dt, contract.dt, contract.nt, taper)
        if moment_tensor is None:
            return search_mechanism(
                data,
                geometry,
                float(origin.depth_km),
                n_base + n_pre,
                frame,
                contract,
                settings,
                half,
            )
        return refine_depth(
            data,
            geometry,
            float(origin.depth_km),
            moment_tensor,
            n_base + n_pre,
            frame,
            contract,
            settings,
            half,
        )

    # the onset (module docstring of symae.inversion.onset): a large lead of the P
    # envelopes moves the support before the fit; a lead the fitted model cannot place
    # moves it once more, with a margin
    n_pre = 0 if warm is None else int(round(warm.onset_shift_s / contract.dt))
    warmed = warm is not None and len(warm.stf) == n_base + n_pre
    if warmed:  # a preview: the earlier depth, mechanism and onset, a few rounds
        assert warm is not None
        frame = Frame(contract.t0 + n_pre * contract.dt, contract.dt, contract.nt, taper)
        greens = greens_spectra(geometry, warm.depth_km, warm.moment_tensor, contract, settings)
        start = warm.stf / max(float(warm.stf.sum() * contract.dt), 1e-30)
        sol = solve(
            data,
            greens,
            n_base + n_pre,
            frame,
            settings,
            half_s=half,
            rounds=warm.rounds,
            start=start,
        )
        fit = SourceFit(
            warm.depth_km, warm.moment_tensor, None, greens, sol, {warm.depth_km: sol.objective}
        )
    else:
        n_pre = 0
        if settings.onset_shift:
            lead = -onset_lag(data, mw, contract, settings)
            if lead >= settings.envelope_lead_s:
                n_pre = int(np.ceil(lead / contract.dt))
        fit = fit_with_onset(n_pre)
    if settings.onset_shift and not warmed:
        frame = Frame(contract.t0 + n_pre * contract.dt, contract.dt, contract.nt, taper)
        early = -common_lag(data, fit.greens, fit.solution.m, frame, settings)
        m = fit.solution.m
        piled = m.size > 0 and m[0] >= 0.5 * m.max() > 0  # truncated at the support start
        if early >= settings.min_onset_shift_s or piled:
            n_pre += int(np.ceil((max(early, 0.0) + settings.onset_margin_s) / contract.dt))
            fit = fit_with_onset(n_pre)
    frame = Frame(contract.t0 + n_pre * contract.dt, contract.dt, contract.nt, taper)
    n_support = n_base + n_pre
    sol = fit.solution
    sol.design = design(fit.greens, sol.lag, n_support, frame)
    grams = trace_grams(sol, data)
    draws = bootstrap(grams, sol.used, settings)
    pixels = pixel_stfs(
        grams,
        sol.used,
        np.asarray(geometry.pixel),
        np.asarray(geometry.azimuth_deg),
        np.asarray(geometry.takeoff_deg),
        sol.m,
        settings,
    )

    dt = contract.dt
    times = dt * (np.arange(n_support) - n_pre)
    area = float(sol.m.sum() * dt)
    if origin.magnitude_type.lower().startswith("mw"):
        factor, units = 10.0 ** (1.5 * mw + 9.1), "N m / s"
    else:
        factor, units = 1.0, "1 / s"

    def scaled(m: np.ndarray) -> np.ndarray:
        s = float(m.sum() * dt)
        return m * (factor / s) if s > 0 else m * 0.0

    stf = scaled(sol.m) if area > 0 else np.zeros(n_support)
    if len(draws):
        unit = np.array([scaled(d) for d in draws])
        lo, hi = np.percentile(unit, settings.band_percentiles, axis=0)
    else:
        lo, hi = stf.copy(), stf.copy()
    mechanism = dict(fit.moment_tensor)
    if fit.strike_dip_rake is not None:
        mechanism.update(zip(("strike", "dip", "rake"), fit.strike_dip_rake, strict=True))
    if warmed:
        assert warm is not None
        mechanism = dict(warm.mechanism)
        depth_source, mechanism_source = warm.depth_source, warm.mechanism_source
    else:
        depth_source = "catalogue" if fit.depth_km == float(origin.depth_km) else "estimated"
        mechanism_source = "catalogue" if moment_tensor is not None else "estimated"
    return InversionResult(
        event_id=origin.event_id,
        times=times,
        stf=stf,
        stf_units=units,
        band_low=lo,
        band_high=hi,
        pixel_stfs={p: PixelSTF(scaled(m), az, to, n) for p, (m, az, to, n) in pixels.items()},
        duration_s=moment_duration(stf, dt),
        centroid_s=centroid(stf, times),
        depth_km=fit.depth_km,
        depth_source=depth_source,
        mechanism=mechanism,
        mechanism_source=mechanism_source,
        t_star_s=settings.t_star_s,
        onset_shift_s=n_pre * contract.dt,
        window_limited=n_want > n_window,
        highpass_hz=highpass_of(contract)[0],
        traces=[
            TraceFit(str(s), int(p), float(f), float(c), float(a), float(t), float(w), r is None, r)
            for s, p, f, c, a, t, w, r in zip(
                geometry.station_id,
                geometry.pixel,
                sol.misfit,
                sol.cc,
                sol.scale,
                sol.lag,
                sol.weight,
                sol.reason,
                strict=True,
            )
        ],
        misfit=sol.objective,
        settings=settings.to_dict(),
        depth_objective=fit.depth_objective,
    )
