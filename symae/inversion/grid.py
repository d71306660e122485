"""Per-trace Green's functions as time series on the model grid (numpy, no torch).

The physics-informed SymAE (``symae.model.physics``) takes, beside every trace, the
impulse response of that trace's path sampled on the model time axis:

    G_i[k] = g_i(t0 + k dt),   k = 0 .. nt-1   (t in s after the predicted P)

with ``g_i`` the inversion's Green's function (``symae.inversion.greens``: TauP P, pP,
sP delays for the catalogue depth, radiation and free-surface amplitudes of the
catalogue moment tensor, the nominal t* operator and the processing band). The
forward model of a trace is then the causal convolution ``sum_j m_j G_i[k - j] dt`` of
the STF ``m`` sampled on ``j dt``, j >= 0 (the STF starts at the predicted P), followed
by the window taper and standardisation, exactly what ``symae.inversion.solve.predict``
computes for a zero lag.

Sign: stored traces carry the event-level polarity flip of ``assemble_event``, so a
Green's function of a known mechanism is multiplied by the trace's ``polarity`` to
describe the stored trace.

Events without a moment tensor (half of the hard-mode events, and the first minutes of
a real one) get the **depth-phase-free P-only approximation**: ``g_i = Q * B`` (a
positive direct P through t* and the band, no pP/sP, no radiation sign), which describes
the polarity-aligned stored traces up to the depth phases; the model's nuisance term
and the refined inversion (``symae.extract.physics``) carry what it leaves out. This
costs nothing at serving time, where the inversion's mechanism search takes seconds.
``mechanism="estimated"`` uses the inversion's double-couple and depth search instead.
"""

from __future__ import annotations

import numpy as np

from symae.contract import DEFAULT_CONTRACT, DataContract
from symae.data.dataset import EventData
from symae.inversion.greens import (
    TraceGeometry,
    check_moment_tensor,
    greens_spectra,
    p_only_greens,
    spectra_on_grid,
)
from symae.inversion.settings import InversionSettings
from symae.inversion.solve import half_duration_s

MECHANISM_MODES = ("catalogue", "estimated")


def support_s(
    magnitude: np.ndarray | float, limit_s: float, factor: float = 3.0, minimum_s: float = 20.0
) -> np.ndarray:
    """The inversion's STF support max(factor x 2h, minimum) s from Mw, capped at ``limit_s``."""
    mw = np.asarray(magnitude, dtype=np.float64)
    return np.minimum(np.maximum(factor * 2.0 * half_duration_s(mw), minimum_s), limit_s).astype(
        np.float32
    )


def trace_greens(
    geometry: TraceGeometry,
    depth_km: float,
    moment_tensor: dict[str, float] | None,
    contract: DataContract | None = None,
    settings: InversionSettings | None = None,
) -> np.ndarray:
    """(n, nt) float32 Green's functions of the traces on the model grid (module docstring).

    Traces without a Green's function (distance outside the TauP table) get zeros.
    """
    contract = contract or DEFAULT_CONTRACT
    settings = settings or InversionSettings()
    n = len(geometry)
    mt = check_moment_tensor(moment_tensor)
    if mt is None:
        out = p_only_greens(n, contract, settings)
    else:
        gs = greens_spectra(geometry, float(depth_km), mt, contract, settings)
        out = spectra_on_grid(gs.spectra, gs.nfft, contract)
        out *= np.asarray(geometry.polarity, dtype=np.float64)[:, None]
    peak = np.abs(out).max(axis=1, keepdims=True)
    out = np.where(peak > 0, out / np.where(peak > 0, peak, 1.0), 0.0)
    return out.astype(np.float32)


def estimated_mechanism(
    event: EventData, settings: InversionSettings | None = None
) -> tuple[float, dict[str, float]]:
    """Depth and moment tensor of the inversion's search (for events without a mechanism)."""
    from symae.inversion import invert_event

    result = invert_event(event, settings or InversionSettings(n_bootstrap=0))
    mt = {
        k: float(v)
        for k, v in result.mechanism.items()
        if k in ("Mrr", "Mtt", "Mpp", "Mrt", "Mrp", "Mtp")
    }
    return result.depth_km, mt


def event_greens(
    event: EventData,
    contract: DataContract | None = None,
    settings: InversionSettings | None = None,
    mechanism: str = "catalogue",
) -> dict[int, np.ndarray]:
    """Green's functions of every group of ``event``: ``{pixel: (n, nt) float32}``.

    ``mechanism="catalogue"``: the origin's moment tensor, else the P-only approximation;
    ``"estimated"``: the inversion's estimate when the origin has none.
    """
    from symae.inversion.invert import event_arrays

    if mechanism not in MECHANISM_MODES:
        raise ValueError(f"mechanism must be one of {MECHANISM_MODES}, got {mechanism!r}")
    _, geometry = event_arrays(event)
    depth, mt = float(event.origin.depth_km), event.origin.moment_tensor
    if mt is None and mechanism == "estimated":
        depth, mt = estimated_mechanism(event, settings)
    greens = trace_greens(geometry, depth, mt, contract, settings)
    out, start = {}, 0
    for p in sorted(event.groups):
        n = len(event.groups[p])
        out[p] = greens[start : start + n]
        start += n
    return out
