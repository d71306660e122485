"""Settings of the SCARDEC-style STF inversion and its one-line input errors.

Every knob is a field of the frozen ``InversionSettings`` with a documented default, so
a result can say exactly how it was made (``InversionResult.to_dict`` stores them).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from symae.errors import SymaeError


class InversionError(SymaeError, ValueError):
    """An input the inversion cannot use; the message is one line naming the field."""


@dataclass(frozen=True)
class InversionSettings:
    """How ``invert_event`` fits a positive STF to P waveforms.

    Every weight and bound was chosen on the validation set only: hard-mode events from
    *parametric* sources (``symae evaluate --set validation``, seed 11, 40 events, 100
    stations, half of them without a mechanism); the SCARDEC benchmark events were never
    used to pick anything. There (median skill over the Mw triangle / Pearson CC /
    |duration error|): ``sparsity`` 0.01, 0.02, 0.03, 0.05, 0.08, 0.12 with
    ``support_factor`` 2 gave skill 0.46, 0.51, 0.55, 0.50, 0.42, 0.31 and duration
    errors 33, 18, 8, 8, 10, 14 %; ``support_factor`` 1.6, 2, 2.5 (sparsity 0.03) gave
    0.54, 0.55, 0.53; ``min_support_s`` 6, 10, 15 gave 0.55, 0.55, 0.53; the former 3x
    support with sparsity 0.01 gave 0.38 and 57 % on the events with a mechanism.
    ``smoothness`` 0.003-0.3 changed the median CC by < 0.002 (easy-mode events).

    Support: the STF lives on [0, T_max] s after the origin with
    T_max = max(``support_factor`` x 2h, ``min_support_s``), h the GCMT half-duration
    1.05e-8 M0^(1/3) s (M0 in dyne-cm from Mw). A bounded support and m >= 0 are what
    bring back the low frequencies the high-pass removed.

    Onset: catalogue origin times are often centroid times (GCMT), a half-duration or
    more after the rupture began, and hypocentral times carry errors of seconds. Before
    the fit, P envelopes leading the prediction by ``envelope_lead_s`` or more start the
    support that much before the catalogue time (``symae.inversion.onset``); after it,
    if the usable traces still arrive ``min_onset_shift_s`` or more before the fitted
    model (their median lag), or the STF piles up on its first sample, the support
    starts that lag plus ``onset_margin_s`` earlier and the fit is repeated once. The
    STF's ``t0`` is then negative and ``onset_shift_s`` in the result says by how much.
    Without it, Chile 2010-03-04 (GCMT centroid time, records 3.5 s early) collapsed to
    a one-sample STF, and with 300 stations the mechanism search went astray. On the
    validation set: median skill 0.547 without, 0.566 with (Pearson 0.981 both;
    ``envelope_lead_s`` 2 or 3 s, ``onset_margin_s`` 3 or 5 s the same); envelopes of
    the Mw-scaled triangle instead of the impulse gave 0.528-0.545; a support that
    always began early 0.487 (4 s) and -0.16 (6 s or 2h).

    Path: a single nominal ``t_star_s`` for every trace (teleseismic P, 0.5-1.5 s in
    the literature; the generator draws 0.3-1.5 s), no receiver-side terms.
    """

    t_star_s: float = 1.0  # nominal t* of teleseismic P (s), the same for every trace
    support_factor: float = 2.0  # T_max as a multiple of the Mw-scaled duration 2h
    min_support_s: float = 10.0  # but never shorter than this (s)
    onset_shift: bool = True  # let the STF start before a late catalogue origin time
    envelope_lead_s: float = 2.0  # P envelopes this much early: start the support so early
    min_onset_shift_s: float = 1.0  # data this much earlier than the model: move the onset
    onset_margin_s: float = 3.0  # and start the support this much earlier still
    max_lag_s: float = 6.0  # per-trace residual time shift bound (s)
    n_rounds: int = 4  # alternations m-step / (scale, lag)-step
    smoothness: float = 0.03  # weight of ||D2 m||^2, relative to the mean data Gram diagonal
    sparsity: float = 0.03  # L1 weight on m, relative to max of the normal-equation rhs
    huber_k: float = 1.5  # Huber threshold in units of the median relative residual
    min_fit_cc: float = 0.3  # a trace fitting worse than this correlation is `poor_fit`
    n_bootstrap: int = 30  # station bootstrap draws for the band (0: no band)
    bootstrap_seed: int = 0
    band_percentiles: tuple[float, float] = (5.0, 95.0)
    pixel_prior_weight: float = 1.0  # pull of a pixel STF toward the event STF
    min_pixel_traces: int = 3  # pixels with fewer used traces get no apparent STF
    depth_search_km: float = 15.0  # mechanism unknown: depths catalogue +- this
    refine_depth_km: float = 0.0  # mechanism known: search catalogue +- this (0: off)
    depth_step_km: float = 5.0
    strike_step_deg: float = 30.0  # double-couple grid of the mechanism search
    dip_step_deg: float = 15.0
    rake_step_deg: float = 30.0
    nfft: int = 1024  # FFT length of the Green's functions (samples, >> window + support)

    def __post_init__(self) -> None:
        positive = (
            "t_star_s",
            "support_factor",
            "min_support_s",
            "max_lag_s",
            "huber_k",
            "depth_step_km",
            "strike_step_deg",
            "dip_step_deg",
            "rake_step_deg",
        )
        for name in positive:
            if not getattr(self, name) > 0:
                raise InversionError(f"settings.{name} must be > 0, got {getattr(self, name)}")
        if self.n_rounds < 1:
            raise InversionError(f"settings.n_rounds must be >= 1, got {self.n_rounds}")
        for name in (
            "smoothness",
            "pixel_prior_weight",
            "sparsity",
            "min_onset_shift_s",
            "envelope_lead_s",
            "onset_margin_s",
        ):
            if getattr(self, name) < 0:
                raise InversionError(f"settings.{name} must be >= 0, got {getattr(self, name)}")
        if not 0 <= self.band_percentiles[0] < self.band_percentiles[1] <= 100:
            raise InversionError(f"settings.band_percentiles invalid: {self.band_percentiles}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
