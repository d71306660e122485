"""The data contract every part of symae agrees on.

One frozen dataclass holds what a trace *is* for the model: sampling rate, window
around the predicted P arrival, number of samples, component and focal-sphere
tiling. Preprocessing produces traces that satisfy it, the model is built for it,
and serving validates every input against it (expected vs actual messages).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np


@dataclass(frozen=True)
class DataContract:
    """Shape and meaning of one model input trace.

    The window runs from ``window_start`` to ``window_end`` seconds around the predicted
    P arrival (``window_length`` samples at ``sampling_rate``); the model sees ``nt``
    samples starting at index ``cut_start`` of that window, as the reference cuts
    samples 9..200 (1-based) of its 200-sample window.

    ``highpass_hz``: the data band. Every trace, real or synthetic, passes through a
    causal 4th-order Butterworth high-pass at this corner (analog prototype, applied in
    preprocessing's frequency-domain step with the response removal,
    ``symae.data.response.highpass_response``); 0 switches it off. Causal, so no energy
    leaks before P, but every pulse gains a negative lobe after it: a method that models
    the forward problem must model this band exactly.
    """

    sampling_rate: float = 1.0  # Hz
    window_start: float = -100.0  # s relative to predicted P
    window_end: float = 100.0  # s relative to predicted P
    cut_start: int = 8  # index of the first model sample in the window
    nt: int = 192  # samples the model sees
    component: str = "Z"
    phase: str = "P"
    taup_model: str = "iasp91"
    nside: int = 4  # HEALPix resolution of the focal-sphere tiling (RING scheme)
    min_distance_deg: float = 30.0
    max_distance_deg: float = 90.0
    highpass_hz: float = 0.015  # causal 4-pole Butterworth high-pass of every trace (Hz)

    def __post_init__(self) -> None:
        if self.sampling_rate <= 0:
            raise ValueError(f"sampling_rate must be > 0, got {self.sampling_rate}")
        if not 0 <= self.highpass_hz < 0.5 * self.sampling_rate:
            raise ValueError(
                f"highpass_hz must be in [0, {0.5 * self.sampling_rate}) Hz, got {self.highpass_hz}"
            )
        if self.cut_start < 0 or self.cut_start + self.nt > self.window_length:
            raise ValueError(
                f"cut [{self.cut_start}, {self.cut_start + self.nt}) does not fit a window "
                f"of {self.window_length} samples"
            )

    @property
    def dt(self) -> float:
        """Sample interval in seconds."""
        return 1.0 / self.sampling_rate

    @property
    def window_length(self) -> int:
        """Samples in the full window, both ends included."""
        return int(round((self.window_end - self.window_start) * self.sampling_rate)) + 1

    @property
    def t0(self) -> float:
        """Time of the first model sample, seconds relative to the predicted P arrival."""
        return self.window_start + self.cut_start * self.dt

    def time_axis(self) -> np.ndarray:
        """Model time axis, seconds relative to the predicted P arrival, shape (nt,)."""
        return self.t0 + self.dt * np.arange(self.nt)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DataContract:
        """Build from a dict, ignoring keys this version does not know."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def check_traces(self, traces: np.ndarray) -> None:
        """Raise ValueError unless ``traces`` is a finite (..., nt) array."""
        if traces.ndim < 1 or traces.shape[-1] != self.nt:
            raise ValueError(f"expected traces of {self.nt} samples, got shape {traces.shape}")
        if not np.all(np.isfinite(traces)):
            raise ValueError("traces contain NaN or inf")


DEFAULT_CONTRACT = DataContract()
