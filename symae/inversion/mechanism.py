"""Depth and double-couple search for events without a usable catalogue mechanism.

SCARDEC-style: a grid of double couples (strike, dip, rake) and depths around the
catalogue depth. Radiation is linear in the moment tensor, so for a fixed STF each
trace's prediction is P_i M with P_i the (nt, 6) responses of the six unit components:
the best non-negative scale and the misfit of every mechanism and every integer lag
follow from the 6x6 Gram P_i'P_i and the 6-vector P_i'd_i (``trace_moments``), and the
whole grid is scored in two matrix products per depth (``score_moments``). So the STF
is solved only a few times (not once per depth and node): once at the catalogue depth
for the triangle-scored best node, then for the best (depth, double couple) over all
depths scored with that STF and refined locally, and once more if re-scoring with the
new STF moves the choice (``search_mechanism``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from symae.contract import DataContract
from symae.inversion.greens import GreensSet, TraceGeometry, basis_spectra, combine, greens_spectra
from symae.inversion.settings import InversionSettings
from symae.inversion.solve import Frame, Solution, solve, triangle
from symae.synth.radiation import MT_KEYS
from symae.work import count


@dataclass
class SourceFit:
    """The chosen depth, moment tensor and the solution there."""

    depth_km: float
    moment_tensor: dict[str, float]
    strike_dip_rake: tuple[float, float, float] | None
    greens: GreensSet
    solution: Solution
    depth_objective: dict[float, float]


def dc_tensors(sdr: np.ndarray) -> np.ndarray:
    """(K, 6) unit-moment double couples (MT_KEYS order) of (K, 3) strike/dip/rake nodes.

    The same components as ``symae.synth.radiation.double_couple``, vectorised.
    """
    s, d, r = np.radians(np.asarray(sdr, dtype=np.float64)).T
    mxx = -(np.sin(d) * np.cos(r) * np.sin(2 * s) + np.sin(2 * d) * np.sin(r) * np.sin(s) ** 2)
    mxy = np.sin(d) * np.cos(r) * np.cos(2 * s) + 0.5 * np.sin(2 * d) * np.sin(r) * np.sin(2 * s)
    mxz = -(np.cos(d) * np.cos(r) * np.cos(s) + np.cos(2 * d) * np.sin(r) * np.sin(s))
    myy = np.sin(d) * np.cos(r) * np.sin(2 * s) - np.sin(2 * d) * np.sin(r) * np.cos(s) ** 2
    myz = -(np.cos(d) * np.cos(r) * np.sin(s) - np.cos(2 * d) * np.sin(r) * np.cos(s))
    mzz = np.sin(2 * d) * np.sin(r)
    return np.stack([mzz, mxx, myy, mxz, -myz, -mxy], axis=1)


def double_couple_grid(settings: InversionSettings) -> tuple[np.ndarray, np.ndarray]:
    """(K, 3) strike/dip/rake nodes and their (K, 6) unit-moment tensors (MT_KEYS order)."""
    strikes = np.arange(0.0, 360.0, settings.strike_step_deg)
    dips = np.arange(settings.dip_step_deg, 90.0 + 1e-9, settings.dip_step_deg)
    rakes = np.arange(-180.0, 180.0, settings.rake_step_deg)
    sdr = np.stack(np.meshgrid(strikes, dips, rakes, indexing="ij"), axis=-1).reshape(-1, 3)
    return sdr, dc_tensors(sdr)


_PAIRS = [(c, d) for c in range(6) for d in range(c, 6)]  # upper triangle of a 6x6 Gram


@dataclass
class TraceMoments:
    """Per-trace, per-lag 6x6 Gram (packed upper triangle) and 6-vector of one depth.

    For a fixed STF the prediction of trace i at lag l for moment tensor M is P_il M,
    so ||d_i - a P_il M||^2 minimised over a >= 0 needs only P_il'P_il and P_il'd_i.
    """

    gram: np.ndarray  # (n, L, 21)
    rhs: np.ndarray  # (n, L, 6)
    energy: np.ndarray  # (n,) ||d_i||^2


def trace_moments(
    data: np.ndarray,
    basis: GreensSet,
    m: np.ndarray,
    frame: Frame,
    settings: InversionSettings,
    lag: np.ndarray | None = None,
    half_window: int = 2,
) -> TraceMoments:
    """Gram pieces of the usable traces of ``basis`` for STF ``m``.

    Lags are every integer sample within +-max_lag, or, given per-trace ``lag`` (s, all
    traces), only +-``half_window`` samples around it (inside +-max_lag).
    """
    k = int(np.floor(settings.max_lag_s / frame.dt))
    valid = basis.valid
    d = data[valid]
    n_valid = int(valid.sum())
    count("inversion", n_valid)
    mf = np.fft.rfft(m, basis.nfft) * basis.dt
    phase = np.exp(2j * np.pi * basis.freqs * (frame.t0 - k * frame.dt))  # earliest sample
    full = np.fft.irfft(basis.spectra[valid] * (mf * phase), basis.nfft)  # (n, 6, nfft)
    if lag is None:
        offsets = np.broadcast_to(np.arange(-k, k + 1), (n_valid, 2 * k + 1))
    else:
        centre = np.rint(np.asarray(lag, dtype=np.float64)[valid] / frame.dt).astype(int)
        offsets = np.clip(centre[:, None] + np.arange(-half_window, half_window + 1), -k, k)
    idx = (k - offsets)[:, :, None, None] + np.arange(frame.nt)  # sample t0 + t dt - L dt
    rows = np.arange(n_valid)[:, None, None, None]
    p = full[rows, np.arange(6)[None, None, :, None], idx]  # (n, L, 6, nt)
    p = p * frame.taper
    p -= p.mean(axis=-1, keepdims=True)
    full_gram = np.matmul(p, p.transpose(0, 1, 3, 2))  # (n, L, 6, 6)
    r, c = zip(*_PAIRS, strict=True)
    gram = full_gram[:, :, r, c]
    rhs = np.matmul(p, d[:, None, :, None])[..., 0]
    return TraceMoments(gram, rhs, np.sum(d * d, axis=1))


def trace_misfits(moments: TraceMoments, mts: np.ndarray) -> np.ndarray:
    """(n, K) relative misfit of each trace for each mechanism, best lag and scale a >= 0."""
    n, n_lag, _ = moments.rhs.shape
    mts = np.asarray(mts, dtype=np.float64)
    quad = np.stack(
        [mts[:, c] * mts[:, d] * (1.0 if c == d else 2.0) for c, d in _PAIRS]
    )  # (21, K)
    num = moments.rhs.reshape(n * n_lag, 6) @ mts.T
    den = moments.gram.reshape(n * n_lag, 21) @ quad + 1e-30
    explained = np.where(num > 0, num * num / den, 0.0).reshape(n, n_lag, -1).max(axis=1)
    return np.clip(1.0 - explained / (moments.energy[:, None] + 1e-12), 0.0, 1.0)


def score_moments(moments: TraceMoments, mts: np.ndarray) -> np.ndarray:
    """(K,) mean relative misfit of each mechanism over the traces."""
    if moments.rhs.shape[0] == 0:
        return np.ones(np.asarray(mts).shape[0])
    return trace_misfits(moments, mts).mean(axis=0)


def score_mechanisms(
    data: np.ndarray,
    basis: GreensSet,
    m: np.ndarray,
    mts: np.ndarray,
    frame: Frame,
    settings: InversionSettings,
    weight: np.ndarray | None = None,
) -> np.ndarray:
    """(K,) mean relative misfit of each mechanism with STF ``m``, best lag per trace."""
    moments = trace_moments(data, basis, m, frame, settings)
    if weight is None:
        return score_moments(moments, mts)
    w = np.asarray(weight, dtype=np.float64)[basis.valid]
    w = w / max(w.sum(), 1e-12)
    return w @ trace_misfits(moments, mts)


def depth_nodes(depth_km: float, half_width_km: float, step_km: float) -> np.ndarray:
    """Depths catalogue +- half width (in steps), kept inside [1, 700] km."""
    n = int(np.floor(half_width_km / step_km + 1e-9))
    nodes = depth_km + step_km * np.arange(-n, n + 1)
    return np.unique(np.clip(nodes, 1.0, 700.0))


def refine_double_couple(
    moments: TraceMoments, sdr0: np.ndarray, steps: np.ndarray, levels: int = 2
) -> tuple[np.ndarray, float]:
    """Best strike/dip/rake near ``sdr0``: local 5x5x5 grids, each level 3x finer."""
    best = np.asarray(sdr0, dtype=np.float64)
    score = float(score_moments(moments, dc_tensors(best[None]))[0])
    offsets = np.arange(-2, 3, dtype=np.float64)
    step = np.asarray(steps, dtype=np.float64)
    for _ in range(levels):
        step = step / 3.0
        grid = np.stack(
            np.meshgrid(*(best[i] + offsets * step[i] for i in range(3)), indexing="ij"), axis=-1
        ).reshape(-1, 3)
        grid[:, 1] = np.clip(grid[:, 1], 1.0, 90.0)
        scores = score_moments(moments, dc_tensors(grid))
        i = int(np.argmin(scores))
        if scores[i] < score:
            best, score = grid[i], float(scores[i])
    best = best.copy()
    best[0] %= 360.0
    best[2] = (best[2] + 180.0) % 360.0 - 180.0
    return best, score


def search_mechanism(
    data: np.ndarray,
    geometry: TraceGeometry,
    depth_km: float,
    n_support: int,
    frame: Frame,
    contract: DataContract,
    settings: InversionSettings,
    half_s: float,
) -> SourceFit:
    """Best double couple and depth (catalogue +- ``depth_search_km``) and its STF.

    1. At the catalogue depth, score the double-couple grid with the Mw-scaled triangle
       and solve the STF (two rounds) for the best node.
    2. With that STF fixed, score the whole grid at every depth node in one batched
       product per depth (``score_moments``), refine the best node locally, solve.
    3. Repeat 2 once with the solved STF at the chosen depth and its neighbours; solve
       again only if the choice moved.

    After the first solve, each trace is scored only at lags within 2 samples of its
    solved lag. ``depth_objective`` holds, per depth, the mean relative misfit of its
    best double couple with the latest STF (the quantity the depth is chosen by).
    """
    sdr, mts = double_couple_grid(settings)
    steps = np.array([settings.strike_step_deg, settings.dip_step_deg, settings.rake_step_deg])
    nodes = [
        float(z) for z in depth_nodes(depth_km, settings.depth_search_km, settings.depth_step_km)
    ]
    bases: dict[float, GreensSet] = {}

    def basis(z: float) -> GreensSet:
        if z not in bases:
            bases[z] = basis_spectra(geometry, z, contract, settings)
        return bases[z]

    z0 = min(nodes, key=lambda z: abs(z - depth_km))
    tri = triangle(n_support, half_s, frame.dt)
    k0 = int(np.argmin(score_moments(trace_moments(data, basis(z0), tri, frame, settings), mts)))
    sol = solve(
        data,
        combine(basis(z0), mts[k0]),
        n_support,
        frame,
        settings,
        half_s=half_s,
        rounds=min(2, settings.n_rounds),
    )
    chosen: tuple[float, np.ndarray] | None = None
    objective: dict[float, float] = {}
    for _ in range(2):
        best_z, best_sdr, best_score = nodes[0], sdr[0], np.inf
        # the second round re-scores only the chosen depth and its neighbours
        near = (
            nodes
            if chosen is None
            else [z for z in nodes if abs(z - chosen[0]) <= settings.depth_step_km + 1e-6]
        )
        for z in near:
            moments = trace_moments(data, basis(z), sol.m, frame, settings, lag=sol.lag)
            scores = score_moments(moments, mts)
            k = int(np.argmin(scores))
            objective[z] = float(scores[k])
            if scores[k] < best_score:
                best_z, best_sdr, best_score, best_moments = z, sdr[k], float(scores[k]), moments
        best_sdr, best_score = refine_double_couple(best_moments, best_sdr, steps)
        objective[best_z] = best_score
        if chosen is not None and chosen[0] == best_z and np.allclose(chosen[1], best_sdr):
            break
        chosen = (best_z, best_sdr)
        sol = solve(
            data,
            combine(basis(best_z), dc_tensors(best_sdr[None])[0]),
            n_support,
            frame,
            settings,
            init=sol,
            half_s=half_s,
        )
    assert chosen is not None
    z, best_sdr = chosen
    mt_vec = dc_tensors(best_sdr[None])[0]
    mt = {key: float(v) for key, v in zip(MT_KEYS, mt_vec, strict=True)}
    strike, dip, rake = (float(x) for x in best_sdr)
    return SourceFit(z, mt, (strike, dip, rake), combine(basis(z), mt_vec), sol, objective)


def refine_depth(
    data: np.ndarray,
    geometry: TraceGeometry,
    depth_km: float,
    moment_tensor: dict[str, float],
    n_support: int,
    frame: Frame,
    contract: DataContract,
    settings: InversionSettings,
    half_s: float,
) -> SourceFit:
    """Known mechanism: the depth within +- ``refine_depth_km`` (0: catalogue only)."""
    best: SourceFit | None = None
    objective: dict[float, float] = {}
    nodes = (
        depth_nodes(depth_km, settings.refine_depth_km, settings.depth_step_km)
        if settings.refine_depth_km > 0
        else np.array([depth_km])
    )
    for z in nodes:
        greens = greens_spectra(geometry, float(z), moment_tensor, contract, settings)
        sol = solve(
            data,
            greens,
            n_support,
            frame,
            settings,
            init=best.solution if best else None,
            half_s=half_s,
        )
        objective[float(z)] = sol.objective
        if best is None or sol.objective < best.solution.objective:
            best = SourceFit(float(z), moment_tensor, None, greens, sol, objective)
    assert best is not None
    best.depth_objective = objective
    return best
