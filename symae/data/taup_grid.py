"""Precomputed iasp91 P, pP and sP travel times and ray parameters, shipped with the package.

A live ``obspy.taup`` ray costs 10-40 ms, and a new source depth needs a whole row of
them (seconds), so the teleseismic window of the default model is tabulated once:
``symae/physics_tables/iasp91_phases.npz`` holds, for source depths 0-700 km and
epicentral distances 25-95 degrees (1 degree step), the earliest P, pP and sP
arrival time (s) and ray parameter (s/rad) as float32 (about 0.2 MB).

Depth nodes are 2.5 km apart down to 60 km and 5 km below, plus every first-order
discontinuity of the model (20, 35, 210, 410, 660 km): travel time is piecewise smooth
in source depth with kinks only there, so linear interpolation in depth is accurate.
Along distance the time is interpolated by cubic Hermite polynomials whose slopes are
the ray parameters (dT/dDelta = p), the ray parameter itself by cubic Hermite
polynomials with centred-difference slopes. Against exact
TauP the error is a few milliseconds in time and below 0.01 degree in P take-off
angle (``tests/data/test_taup_grid.py`` checks random points).

Rebuild (a few minutes, needs only ObsPy)::

    python -m symae.data.taup_grid --model iasp91 --jobs 2

Other models have no table; callers (``symae.synth.paths.PhaseTable``,
``symae.data.arrivals.ArrivalTable``) fall back to live TauP for them and for
(depth, distance) outside the grid.
"""

from __future__ import annotations

import argparse
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

PHASES = ("P", "pP", "sP")
TABLE_DIR = Path(__file__).resolve().parents[1] / "physics_tables"
DISTANCE_RANGE_DEG = (25.0, 95.0)
DISTANCE_STEP_DEG = 1.0
MAX_DEPTH_KM = 700.0


def table_path(model: str) -> Path:
    return TABLE_DIR / f"{model}_phases.npz"


def depth_nodes(discontinuities: list[float]) -> np.ndarray:
    """Source depths of the grid: 0-60 km every 2.5 km, then every 5 km, plus discontinuities."""
    nodes = np.concatenate(
        [
            np.arange(0.0, 60.0, 2.5),
            np.arange(60.0, MAX_DEPTH_KM + 1e-9, 5.0),
            [d for d in discontinuities if 0.0 < d <= MAX_DEPTH_KM],
        ]
    )
    return np.unique(np.round(nodes, 3))


def distance_nodes() -> np.ndarray:
    lo, hi = DISTANCE_RANGE_DEG
    return np.arange(lo, hi + 0.5 * DISTANCE_STEP_DEG, DISTANCE_STEP_DEG)


def _row(args: tuple[str, float, np.ndarray]) -> np.ndarray:
    """(n_dist, 6): times of P, pP, sP then their ray parameters at one source depth."""
    from obspy.taup import TauPyModel
    from obspy.taup.taup_time import TauPTime

    model, depth, distances = args
    tau = TauPyModel(model=model)
    calc = TauPTime(tau.model, list(PHASES), float(depth), float(distances[0]))
    calc.depth_correct(float(depth), 0.0)  # once per depth: the expensive part of a call
    calc.recalc_phases()
    row = np.full((distances.size, 6), np.nan)
    for j, dist in enumerate(distances):
        calc.calc_time(float(dist))
        for n, phase in enumerate(PHASES):
            found = [a for a in calc.arrivals if a.name == phase]
            if found:
                first = min(found, key=lambda a: a.time)
                row[j, n] = first.time
                row[j, 3 + n] = first.ray_param
    return row


def build(model: str = "iasp91", jobs: int = 1, out: Path | None = None) -> Path:
    """Compute the grid with live TauP and write it to ``out`` (default: the package table)."""
    import obspy
    from obspy.taup import TauPyModel

    v_mod = TauPyModel(model=model).model.s_mod.v_mod
    depths = depth_nodes([float(d) for d in v_mod.get_discontinuity_depths()])
    distances = distance_nodes()
    tasks = [(model, float(z), distances) for z in depths]
    if jobs > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(jobs) as pool:
            rows = list(pool.map(_row, tasks, chunksize=4))
    else:
        rows = [_row(t) for t in tasks]
    grid = np.stack(rows)  # (nz, nd, 6)
    times, rays = grid[..., :3], grid[..., 3:]
    # at the surface pP and sP coincide with P (zero-length upgoing leg)
    for n in (1, 2):
        missing = np.isnan(times[0, :, n])
        times[0, missing, n] = times[0, missing, 0]
        rays[0, missing, n] = rays[0, missing, 0]
    path = out or table_path(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        path,
        model=np.array(model),
        obspy_version=np.array(obspy.__version__),
        depths_km=depths.astype(np.float32),
        distances_deg=distances.astype(np.float32),
        times_s=times.astype(np.float32),
        ray_params_s_per_rad=rays.astype(np.float32),
        phases=np.array(PHASES),
    )
    return path


@dataclass(frozen=True)
class PhaseGrid:
    """The tabulated times (nz, nd, 3) and ray parameters (nz, nd, 3) of P, pP, sP."""

    model: str
    depths: np.ndarray
    distances: np.ndarray
    times: np.ndarray
    ray_params: np.ndarray

    def covers(self, depth_km: float, distance_deg: np.ndarray) -> bool:
        d = np.asarray(distance_deg, dtype=np.float64)
        return bool(
            self.depths[0] <= depth_km <= self.depths[-1]
            and np.all(np.isfinite(d))
            and np.all(d >= self.distances[0])
            and np.all(d <= self.distances[-1])
        )

    def interpolate(
        self, depth_km: float, distance_deg: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(n, 3) times (s) and (n, 3) ray parameters (s/rad) at one depth, many distances.

        NaN where a phase does not exist at a neighbouring node. The caller checks
        ``covers`` first.
        """
        d = np.atleast_1d(np.asarray(distance_deg, dtype=np.float64))
        z = self.depths
        k = int(np.clip(np.searchsorted(z, depth_km, side="right") - 1, 0, z.size - 2))
        w = float(np.clip((depth_km - z[k]) / (z[k + 1] - z[k]), 0.0, 1.0))
        t_row = (1.0 - w) * self.times[k].astype(np.float64) + w * self.times[k + 1]
        p_row = (1.0 - w) * self.ray_params[k].astype(np.float64) + w * self.ray_params[k + 1]
        x = self.distances
        step = float(x[1] - x[0])
        j = np.clip(np.floor((d - x[0]) / step).astype(int), 0, x.size - 2)
        u = ((d - x[0]) / step - j)[:, None]
        t0, t1 = t_row[j], t_row[j + 1]
        s0 = p_row[j] * (np.pi / 180.0) * step  # dT/du, u the fraction of a cell
        s1 = p_row[j + 1] * (np.pi / 180.0) * step
        h00, h10 = 2 * u**3 - 3 * u**2 + 1, u**3 - 2 * u**2 + u
        h01, h11 = -2 * u**3 + 3 * u**2, u**3 - u**2
        times = h00 * t0 + h10 * s0 + h01 * t1 + h11 * s1
        dp = np.gradient(p_row, axis=0)  # per cell
        rays = h00 * p_row[j] + h10 * dp[j] + h01 * p_row[j + 1] + h11 * dp[j + 1]
        return times, rays


_lock = threading.Lock()
_grids: dict[str, PhaseGrid | None] = {}


def phase_grid(model: str) -> PhaseGrid | None:
    """The shipped grid of ``model`` (loaded on first use), None when there is none."""
    with _lock:
        if model in _grids:
            return _grids[model]
        path = table_path(model)
        grid = None
        if path.is_file():
            with np.load(path) as f:
                grid = PhaseGrid(
                    model=str(f["model"]),
                    depths=f["depths_km"].astype(np.float64),
                    distances=f["distances_deg"].astype(np.float64),
                    times=f["times_s"],
                    ray_params=f["ray_params_s_per_rad"],
                )
        _grids[model] = grid
        return grid


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Tabulate P, pP, sP with ObsPy TauP (package data)."
    )
    parser.add_argument("--model", default="iasp91")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    path = build(args.model, args.jobs, args.out)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
