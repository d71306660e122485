"""What one inversion returns: the STF, its band, apparent STFs and every trace's fate."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from symae.inversion.uncertainty import PixelSTF


@dataclass(frozen=True)
class TraceFit:
    """How one trace was fitted; ``reason`` is None for a used trace."""

    station_id: str
    pixel: int
    misfit: float  # ||d - a p||^2 / ||d||^2
    cc: float  # correlation of trace and its fit
    scale: float  # a_i >= 0 (standardised-trace units per solver unit)
    lag_s: float  # data later than the model by this much
    weight: float  # final robust (Huber) weight, 0 when rejected
    used: bool
    reason: str | None  # no_greens | negative_scale | lag_at_bound | poor_fit


@dataclass
class InversionResult:
    """The event STF on ``times`` (s after the origin = after the predicted P)."""

    event_id: str
    times: np.ndarray
    stf: np.ndarray
    stf_units: str  # "N m / s" (scaled to M0 from Mw) or "1 / s" (unit area)
    band_low: np.ndarray
    band_high: np.ndarray
    pixel_stfs: dict[int, PixelSTF]
    duration_s: float  # 5-95 % of the moment
    centroid_s: float
    depth_km: float
    depth_source: str  # "catalogue" | "estimated"
    mechanism: dict[str, Any]  # moment tensor (unit M0, MT_KEYS) and strike/dip/rake if searched
    mechanism_source: str  # "catalogue" | "estimated"
    t_star_s: float
    highpass_hz: float
    traces: list[TraceFit]
    misfit: float  # mean relative misfit, rejected traces counted as 1
    onset_shift_s: float = 0.0  # support moved this much before the catalogue origin time
    # the Mw-scaled support reached past the window's end and was cut there: a source this
    # long is seen only in part (its duration and centroid are lower bounds)
    window_limited: bool = False
    settings: dict[str, Any] = field(default_factory=dict)
    depth_objective: dict[float, float] = field(default_factory=dict)

    @property
    def rejected(self) -> list[TraceFit]:
        return [t for t in self.traces if not t.used]

    @property
    def n_used(self) -> int:
        return sum(t.used for t in self.traces)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (lists and plain floats)."""
        return {
            "event_id": self.event_id,
            "times": self.times.tolist(),
            "stf": self.stf.tolist(),
            "stf_units": self.stf_units,
            "band_low": self.band_low.tolist(),
            "band_high": self.band_high.tolist(),
            "pixel_stfs": {
                str(p): {
                    "stf": v.stf.tolist(),
                    "azimuth_deg": v.azimuth_deg,
                    "takeoff_deg": v.takeoff_deg,
                    "n_traces": v.n_traces,
                }
                for p, v in self.pixel_stfs.items()
            },
            "duration_s": self.duration_s,
            "centroid_s": self.centroid_s,
            "depth_km": self.depth_km,
            "depth_source": self.depth_source,
            "mechanism": self.mechanism,
            "mechanism_source": self.mechanism_source,
            "t_star_s": self.t_star_s,
            "highpass_hz": self.highpass_hz,
            "misfit": self.misfit,
            "onset_shift_s": self.onset_shift_s,
            "window_limited": self.window_limited,
            "n_used": self.n_used,
            "traces": [t.__dict__ for t in self.traces],
            "rejected": {t.station_id: t.reason for t in self.rejected},
            "depth_objective": {str(k): v for k, v in self.depth_objective.items()},
            "settings": self.settings,
        }
