"""Travel paths from source to station: depth-phase delays, attenuation, receiver side.

``PhaseTable`` answers P, pP and sP travel times, ray parameters and take-off angles for
any (depth, distance). For iasp91 (0-700 km, 25-95 degrees) times and ray parameters
come from the precomputed grid shipped with the package (``symae.data.taup_grid``:
milliseconds of error, no TauP call at all). Otherwise (other models, deeper sources)
they come from a grid of exact ``obspy.taup`` results, computed lazily one depth row at
a time and interpolated bilinearly (1 degree in distance, 10 km in depth; a few
hundredths of a second of error in the depth-phase delays, see ``tests/synth``). Take-off angles are not interpolated
across depth, because velocity jumps at crustal discontinuities: they follow from the
interpolated ray parameter and the model's velocity at the exact source depth (below
the source for P, above it for the upgoing pP and sP legs), as TauP computes them. A row costs
about half a second to several seconds once; every later event at a depth in the same
10 km bin costs microseconds.

The frequency-domain pieces (``attenuation_spectrum``, ``receiver_spectrum``) use
numpy's FFT sign convention, so a delay ``tau`` is ``exp(-2 pi i f tau)``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from symae.data.arrivals import taup_model
from symae.data.taup_grid import phase_grid

PHASES = ("P", "pP", "sP")
EARTH_RADIUS_KM = 6371.0


@dataclass(frozen=True)
class PhaseArrivals:
    """Per-station arrivals of P, pP and sP (arrays of the stations' shape).

    Times are seconds after the origin; NaN where TauP has no such arrival.
    """

    time: dict[str, np.ndarray]
    takeoff_deg: dict[str, np.ndarray]
    ray_param_s_per_km: np.ndarray  # P ray parameter at the surface
    alpha_km_s: float  # P velocity just below the source
    beta_km_s: float  # S velocity just above the source


class PhaseTable:
    """P, pP and sP from TauP on a lazily filled (depth, distance) grid."""

    def __init__(
        self,
        model: str = "iasp91",
        depth_step_km: float = 10.0,
        distance_range_deg: tuple[float, float] = (25.0, 95.0),
        distance_step_deg: float = 1.0,
        use_grid: bool = True,
    ) -> None:
        if depth_step_km <= 0 or distance_step_deg <= 0:
            raise ValueError(
                f"grid steps must be > 0, got depth {depth_step_km}, distance {distance_step_deg}"
            )
        self.model_name = model
        self.depth_step = depth_step_km
        self.distances = np.arange(
            distance_range_deg[0],
            distance_range_deg[1] + 0.5 * distance_step_deg,
            distance_step_deg,
        )
        self._model = taup_model(model)
        self._grid = phase_grid(model) if use_grid else None  # the shipped table, if any
        self._rows: dict[int, np.ndarray] = {}
        self._lock = threading.Lock()

    def node_depth(self, k: int) -> float:
        """Depth of row ``k``; row 0 sits at 1 km so that pP and sP exist there."""
        return max(k * self.depth_step, 1.0)

    def _compute_row(self, k: int) -> np.ndarray:
        # columns: t_P, t_pP, t_sP, then their ray parameters (s/rad)
        row = np.full((self.distances.size, 6), np.nan)
        for j, dist in enumerate(self.distances):
            arrivals = self._model.get_travel_times(
                source_depth_in_km=self.node_depth(k),
                distance_in_degree=float(dist),
                phase_list=list(PHASES),
            )
            for n, phase in enumerate(PHASES):
                first = [a for a in arrivals if a.name == phase]
                if first:
                    a = min(first, key=lambda a: a.time)
                    row[j, n] = a.time
                    row[j, 3 + n] = a.ray_param
        return row

    def _exact(self, depth_km: float, distance_deg: float) -> np.ndarray:
        """(6,) times then ray parameters of P, pP, sP straight from TauP (NaN: none)."""
        out = np.full(6, np.nan)
        arrivals = self._model.get_travel_times(
            source_depth_in_km=depth_km, distance_in_degree=distance_deg, phase_list=list(PHASES)
        )
        for n, phase in enumerate(PHASES):
            found = [a for a in arrivals if a.name == phase]
            if found:
                a = min(found, key=lambda a: a.time)
                out[n], out[3 + n] = a.time, a.ray_param
        return out

    def row(self, k: int) -> np.ndarray:
        """Row ``k`` of the grid (computed on first use): per distance, times and ray parameters."""
        with self._lock:
            row = self._rows.get(k)
        if row is None:
            row = self._compute_row(k)
            with self._lock:
                self._rows[k] = row
        return row

    def lookup(self, depth_km: float, distance_deg: np.ndarray) -> PhaseArrivals:
        """Arrivals at ``distance_deg`` (array) from a source at ``depth_km``."""
        dist = np.atleast_1d(np.asarray(distance_deg, dtype=np.float64))
        lo_d, hi_d = self.distances[0], self.distances[-1]
        if np.any((dist < lo_d) | (dist > hi_d)):
            raise ValueError(f"distance outside the table's [{lo_d}, {hi_d}] degrees: {dist}")
        if not 0.0 <= depth_km <= 800.0:
            raise ValueError(f"source depth must be in [0, 800] km, got {depth_km}")
        if self._grid is not None and self._grid.covers(depth_km, dist):
            times, rays = self._grid.interpolate(depth_km, dist)
            cols = np.concatenate([times, rays], axis=1)
            # next to where a depth phase stops existing (deep sources, short distances)
            # a grid node lacks it: ask TauP for those few points
            for i in np.flatnonzero(~np.all(np.isfinite(cols), axis=1)):
                cols[i] = self._exact(depth_km, float(dist[i]))
        else:
            k = int(np.clip(np.floor(depth_km / self.depth_step), 0, None))
            z0, z1 = self.node_depth(k), self.node_depth(k + 1)
            w = float(np.clip((depth_km - z0) / (z1 - z0), 0.0, 1.0))
            row = (1.0 - w) * self.row(k) + w * self.row(k + 1)
            cols = np.stack([np.interp(dist, self.distances, row[:, c]) for c in range(6)], axis=-1)
        v_mod = self._model.model.s_mod.v_mod
        alpha_below = float(v_mod.evaluate_below(depth_km, "p")[0])
        # a source at the surface has no layer above it: the velocities just below it
        above = v_mod.evaluate_above if depth_km > 0 else v_mod.evaluate_below
        alpha_above = float(above(depth_km, "p")[0])
        beta_above = float(above(depth_km, "s")[0])
        radius = EARTH_RADIUS_KM - depth_km

        def angle(ray_param: np.ndarray, velocity: float) -> np.ndarray:
            return np.degrees(np.arcsin(np.clip(ray_param * velocity / radius, -1.0, 1.0)))

        return PhaseArrivals(
            time={p: cols[:, n] for n, p in enumerate(PHASES)},
            takeoff_deg={
                "P": angle(cols[:, 3], alpha_below),
                "pP": 180.0 - angle(cols[:, 4], alpha_above),
                "sP": 180.0 - angle(cols[:, 5], beta_above),
            },
            ray_param_s_per_km=cols[:, 3] / EARTH_RADIUS_KM,
            alpha_km_s=alpha_below,
            beta_km_s=beta_above,
        )


@lru_cache(maxsize=4)
def phase_table(model: str = "iasp91") -> PhaseTable:
    """The process-wide table of a TauP model (shared by generator, benchmark and replay)."""
    return PhaseTable(model)


def attenuation_spectrum(freqs: np.ndarray, t_star: float, f_ref: float = 1.0) -> np.ndarray:
    """Causal constant-Q operator: exp(-pi f t*) with the matching dispersion.

    The phase delays frequency ``f`` by ``t*/pi * ln(f_ref / f)`` seconds relative to
    ``f_ref`` (Futterman/Kjartansson), so travel times stay those of TauP at ``f_ref``.
    """
    f = np.asarray(freqs, dtype=np.float64)
    out = np.ones(f.shape, dtype=np.complex128)
    pos = f > 0
    delay = t_star / np.pi * np.log(f_ref / f[pos])
    out[pos] = np.exp(-np.pi * f[pos] * t_star) * np.exp(-2j * np.pi * f[pos] * delay)
    return out


@dataclass(frozen=True)
class ReceiverSide:
    """Receiver-side reverberation (discrete echoes) and scattering coda of one station."""

    echo_delays: np.ndarray  # s after the incoming wave
    echo_amplitudes: np.ndarray  # signed, relative to the incoming wave
    coda_amplitude: float  # coda rms at its onset relative to the height of a 5 s pulse
    coda_decay_s: float
    coda_seed: int

    @classmethod
    def draw(cls, rng: np.random.Generator) -> ReceiverSide:
        """A crustal-layer-like echo train (1-4 echoes, 1-8 s apart) and a scattering coda."""
        n = int(rng.integers(1, 5))
        two_way = rng.uniform(1.0, 8.0)
        reflectivity = rng.uniform(0.2, 0.6) * rng.choice([-1.0, 1.0])
        delays = two_way * np.arange(1, n + 1)
        amplitudes = reflectivity ** np.arange(1, n + 1)
        return cls(
            echo_delays=delays,
            echo_amplitudes=amplitudes,
            coda_amplitude=float(rng.uniform(0.05, 0.3)),
            coda_decay_s=float(rng.uniform(10.0, 40.0)),
            coda_seed=int(rng.integers(2**31)),
        )

    def spectrum(self, freqs: np.ndarray, dt: float, nfft: int) -> np.ndarray:
        """Fourier transform of delta + echoes + coda on an ``nfft``-sample grid of step ``dt``."""
        f = np.asarray(freqs)
        out = np.ones(f.shape, dtype=np.complex128)
        for tau, amp in zip(self.echo_delays, self.echo_amplitudes, strict=True):
            out += amp * np.exp(-2j * np.pi * f * tau)
        t = np.arange(min(nfft, int(8 * self.coda_decay_s / dt))) * dt  # to exp(-8)
        coda_rng = np.random.default_rng(self.coda_seed)
        onset = 0.5  # s, the coda starts just after the direct wave
        envelope = np.where(t >= onset, np.exp(-(t - onset) / self.coda_decay_s), 0.0)
        # discrete convolution sums about (pulse width / dt) coda samples, so scale by
        # sqrt(dt / 5 s): a 5 s pulse then gets a coda of rms coda_amplitude x its height
        coda = coda_rng.standard_normal(t.size) * envelope * self.coda_amplitude * np.sqrt(dt / 5.0)
        out += np.fft.rfft(coda, nfft)[: f.size]
        return out
