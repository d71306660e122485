"""Depth and double-couple search for events without a usable catalogue mechanism.

SCARDEC-style: a grid of double couples (strike, dip, rake) and depths around the
catalogue depth; at each depth the STF is solved for the best mechanism and the depth
with the lowest misfit wins. Radiation is linear in the moment tensor, so for a fixed
STF each trace's prediction is P_i M with P_i the (nt, 6) responses of the six unit
components: the best non-negative scale and the misfit of every mechanism and every
integer lag follow from the 6x6 Gram P_i'P_i and the 6-vector P_i'd_i, which scores the
whole grid in one vectorised pass. Two passes (score with the magnitude-scaled
triangle, solve, re-score with that STF, re-solve) are enough in practice.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from symae.contract import DataContract
from symae.inversion.greens import GreensSet, TraceGeometry, basis_spectra, combine, greens_spectra
from symae.inversion.settings import InversionSettings
from symae.inversion.solve import Frame, Solution, lagged_predictions, solve, triangle
from symae.synth.radiation import MT_KEYS, double_couple


@dataclass
class SourceFit:
    """The chosen depth, moment tensor and the solution there."""

    depth_km: float
    moment_tensor: dict[str, float]
    strike_dip_rake: tuple[float, float, float] | None
    greens: GreensSet
    solution: Solution
    depth_objective: dict[float, float]


def double_couple_grid(settings: InversionSettings) -> tuple[np.ndarray, np.ndarray]:
    """(K, 3) strike/dip/rake nodes and their (K, 6) unit-moment tensors (MT_KEYS order)."""
    strikes = np.arange(0.0, 360.0, settings.strike_step_deg)
    dips = np.arange(settings.dip_step_deg, 90.0 + 1e-9, settings.dip_step_deg)
    rakes = np.arange(-180.0, 180.0, settings.rake_step_deg)
    sdr = np.array([(s, d, r) for s in strikes for d in dips for r in rakes])
    mts = np.array([[double_couple(s, d, r, 1.0)[k] for k in MT_KEYS] for s, d, r in sdr])
    return sdr, mts


def score_mechanisms(
    data: np.ndarray, basis: GreensSet, m: np.ndarray, mts: np.ndarray, frame: Frame,
    settings: InversionSettings, weight: np.ndarray | None = None,
) -> np.ndarray:
    """(K,) mean relative misfit of each mechanism with STF ``m``, best lag per trace."""
    k = int(np.floor(settings.max_lag_s / frame.dt))
    valid = basis.valid
    d = data[valid]
    comps = [
        lagged_predictions(GreensSet(basis.spectra[valid, c], basis.freqs, basis.nfft, basis.dt,
                                     basis.depth_km), m, k, frame)
        for c in range(6)
    ]
    p = np.stack(comps, axis=2)  # (n, L, 6, nt)
    gram = np.einsum("nlct,nldt->nlcd", p, p)
    rhs = np.einsum("nlct,nt->nlc", p, d)
    num = np.einsum("nlc,kc->nlk", rhs, mts)
    den = np.einsum("kc,nlcd,kd->nlk", mts, gram, mts, optimize=True) + 1e-30
    explained = np.where(num > 0, num**2 / den, 0.0).max(axis=1)  # (n, K)
    misfit = 1.0 - explained / (np.sum(d * d, axis=1)[:, None] + 1e-12)
    w = np.ones(d.shape[0]) if weight is None else np.asarray(weight)[valid]
    w = w / max(w.sum(), 1e-12)
    return w @ np.clip(misfit, 0.0, 1.0)


def depth_nodes(depth_km: float, half_width_km: float, step_km: float) -> np.ndarray:
    """Depths catalogue +- half width (in steps), kept inside [1, 700] km."""
    n = int(np.floor(half_width_km / step_km + 1e-9))
    nodes = depth_km + step_km * np.arange(-n, n + 1)
    return np.unique(np.clip(nodes, 1.0, 700.0))


def search_mechanism(
    data: np.ndarray, geometry: TraceGeometry, depth_km: float, n_support: int, frame: Frame,
    contract: DataContract, settings: InversionSettings, half_s: float,
) -> SourceFit:
    """Best double couple and depth (catalogue +- ``depth_search_km``) and its STF."""
    sdr, mts = double_couple_grid(settings)
    best: SourceFit | None = None
    objective: dict[float, float] = {}
    for z in depth_nodes(depth_km, settings.depth_search_km, settings.depth_step_km):
        basis = basis_spectra(geometry, float(z), contract, settings)
        warm = best.solution if best is not None else None
        m = warm.m if warm is not None else triangle(n_support, half_s, frame.dt)
        k_best = int(np.argmin(score_mechanisms(data, basis, m, mts, frame, settings)))
        sol = solve(data, combine(basis, mts[k_best]), n_support, frame, settings, init=warm, half_s=half_s)
        k_new = int(np.argmin(score_mechanisms(data, basis, sol.m, mts, frame, settings, sol.weight)))
        if k_new != k_best:  # re-score with the solved STF, re-solve when the choice moved
            k_best = k_new
            sol = solve(data, combine(basis, mts[k_best]), n_support, frame, settings, init=sol, half_s=half_s)
        objective[float(z)] = sol.objective
        if best is None or sol.objective < best.solution.objective:
            mt = {key: float(v) for key, v in zip(MT_KEYS, mts[k_best], strict=True)}
            strike, dip, rake = (float(x) for x in sdr[k_best])
            best = SourceFit(float(z), mt, (strike, dip, rake),
                             combine(basis, mts[k_best]), sol, objective)
    assert best is not None
    best.depth_objective = objective
    return best


def refine_depth(
    data: np.ndarray, geometry: TraceGeometry, depth_km: float, moment_tensor: dict[str, float],
    n_support: int, frame: Frame, contract: DataContract, settings: InversionSettings, half_s: float,
) -> SourceFit:
    """Known mechanism: the depth within +- ``refine_depth_km`` (0: catalogue only)."""
    best: SourceFit | None = None
    objective: dict[float, float] = {}
    nodes = depth_nodes(depth_km, settings.refine_depth_km, settings.depth_step_km) \
        if settings.refine_depth_km > 0 else np.array([depth_km])
    for z in nodes:
        greens = greens_spectra(geometry, float(z), moment_tensor, contract, settings)
        sol = solve(data, greens, n_support, frame, settings,
                    init=best.solution if best else None, half_s=half_s)
        objective[float(z)] = sol.objective
        if best is None or sol.objective < best.solution.objective:
            best = SourceFit(float(z), moment_tensor, None, greens, sol, objective)
    assert best is not None
    best.depth_objective = objective
    return best

