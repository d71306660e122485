"""Knobs of the synthetic generator, one frozen dataclass saved as provenance."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from symae.data.preprocess import PreprocessConfig
from symae.synth.hard import HardMode

MODES = ("easy", "hard")


@dataclass(frozen=True)
class SynthConfig:
    """What the generator draws from, and how the raw records look.

    The model-side processing (window, taper, cut, standardise, SNR definition) is that
    of ``preprocess``: direct HDF5 output goes through exactly the code real records do.

    ``mode``: "easy" (1-D depth phases, t*, receiver side, independent time errors) or
    "hard" (adds what ``symae.synth.hard`` describes, with the knobs of ``hard``; the SNR
    is then drawn from ``hard.snr_range``).
    """

    preprocess: PreprocessConfig = field(default_factory=PreprocessConfig)
    n_stations: int = 100
    raw_sampling_rate: float = 20.0  # Hz, like a BH channel
    record_length_s: float = 600.0
    record_lead_s: float = 240.0  # record starts this long before the predicted P
    snr_range: tuple[float, float] = (3.0, 30.0)  # log-uniform, preprocessing's definition
    t_star_range: tuple[float, float] = (0.3, 1.5)  # s
    time_error_s: float = 2.0  # std of the arrival-time error, clipped at 2.5 std
    directivity: bool = True
    max_mach: float = 0.5  # largest v_rupture / alpha
    mw_range: tuple[float, float] = (6.0, 8.0)  # parametric sources
    depth_range_km: tuple[float, float] = (10.0, 650.0)  # parametric sources
    network_seed: int = 0  # the station network is fixed by this seed, not the event seed
    network_size: int = 3000
    rho_source: float = 3300.0  # kg/m^3, for physical amplitudes only
    surface_alpha_km_s: float = 5.8  # free-surface reflection of pP, sP (iasp91 top layer)
    surface_beta_km_s: float = 3.36
    mode: str = "easy"
    hard: HardMode = field(default_factory=HardMode)

    def __post_init__(self) -> None:
        lo, hi = self.snr_range
        if not 1.0 < lo <= hi:
            raise ValueError(f"snr_range must satisfy 1 < low <= high, got {self.snr_range}")
        if not 0 < self.t_star_range[0] <= self.t_star_range[1]:
            raise ValueError(
                f"t_star_range must be positive and increasing, got {self.t_star_range}"
            )
        if not 0 <= self.depth_range_km[0] <= self.depth_range_km[1] <= 700:
            raise ValueError(f"depth_range_km must lie in [0, 700] km, got {self.depth_range_km}")
        if not self.mw_range[0] <= self.mw_range[1]:
            raise ValueError(f"mw_range must be increasing, got {self.mw_range}")
        if self.n_stations < 1:
            raise ValueError(f"n_stations must be >= 1, got {self.n_stations}")
        c, p = self.preprocess.contract, self.preprocess
        need_before = -c.window_start + p.min_margin_s
        need_after = c.window_end + p.min_margin_s
        if (
            self.record_lead_s < need_before
            or self.record_length_s - self.record_lead_s < need_after
        ):
            raise ValueError(
                f"records of {self.record_length_s} s starting {self.record_lead_s} s before P do "
                f"not cover {need_before} s before and {need_after} s after P"
            )
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if not 0 <= self.max_mach < 1:
            raise ValueError(f"max_mach must be in [0, 1), got {self.max_mach}")

    @property
    def raw_dt(self) -> float:
        return 1.0 / self.raw_sampling_rate

    @property
    def raw_npts(self) -> int:
        return int(round(self.record_length_s * self.raw_sampling_rate))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
