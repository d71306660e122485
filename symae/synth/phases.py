"""Signed amplitudes of the teleseismic P, pP and sP phases at each station.

Combines the radiation pattern at each phase's take-off angle, the free-surface
reflection above the source (``symae.synth.radiation``) and, for sP, the change from an
S to a P ray tube. Amplitudes are per unit scalar moment and share every factor that is
the same for the three phases (spreading beyond the source region, receiver side).
"""

from __future__ import annotations

import numpy as np

from symae.synth.paths import PhaseArrivals
from symae.synth.radiation import (
    free_surface_to_p,
    moment_tensor_ned,
    p_radiation,
    scalar_moment,
    sv_radiation,
)


def phase_amplitudes(
    moment_tensor: dict[str, float],
    arrivals: PhaseArrivals,
    azimuth_deg: np.ndarray,
    surface_alpha_km_s: float = 5.8,
    surface_beta_km_s: float = 3.36,
) -> dict[str, np.ndarray]:
    """Signed vertical amplitudes of P, pP and sP per station, relative to M0 = 1.

    pP is P radiated upward times the free-surface P-to-P coefficient. sP is SV radiated
    upward times the SV-to-P coefficient, scaled from S to P by conserving energy flux
    along the ray tube (source velocities at the source, surface ones at the bounce);
    geometric spreading beyond the source region is the same for all three phases.
    """
    m = moment_tensor_ned(moment_tensor) / scalar_moment(moment_tensor)
    p_km = arrivals.ray_param_s_per_km
    alpha_h, beta_h = arrivals.alpha_km_s, arrivals.beta_km_s
    a, b = surface_alpha_km_s, surface_beta_km_s
    # incidence at the surface, written as the take-off angle of an upgoing ray
    sin_p, sin_s = np.clip(p_km * a, 0, 1), np.clip(p_km * b, 0, 1)
    inc_p = 180.0 - np.degrees(np.arcsin(sin_p))
    inc_s = 180.0 - np.degrees(np.arcsin(sin_s))
    amp_p = p_radiation(m, arrivals.takeoff_deg["P"], azimuth_deg)
    takeoff_pp = np.nan_to_num(arrivals.takeoff_deg["pP"], nan=180.0)
    amp_pp = p_radiation(m, takeoff_pp, azimuth_deg) * free_surface_to_p(inc_p, "P", a, b)
    takeoff_sp = np.nan_to_num(arrivals.takeoff_deg["sP"], nan=180.0)
    # energy flux along the ray tube: S radiates (alpha/beta)^5 more energy per unit R^2
    # into a solid angle (beta/alpha)^2 cos i / cos j as large, and the conversion at
    # the surface carries the flux ratio alpha cos i_s / (beta cos j_s)
    cos_i_h = np.cos(np.radians(arrivals.takeoff_deg["P"]))
    cos_j_h = np.abs(np.cos(np.radians(takeoff_sp)))
    tube = (alpha_h / beta_h) ** 1.5 * np.sqrt(cos_i_h / cos_j_h)
    flux = np.sqrt(a * np.sqrt(1 - sin_p**2) / (b * np.sqrt(1 - sin_s**2)))
    amp_sp = sv_radiation(m, takeoff_sp, azimuth_deg) * free_surface_to_p(inc_s, "SV", a, b)
    amp_sp = amp_sp * tube * flux
    amp_pp[~np.isfinite(arrivals.time["pP"])] = 0.0
    amp_sp[~np.isfinite(arrivals.time["sP"])] = 0.0
    return {"P": amp_p, "pP": amp_pp, "sP": np.nan_to_num(amp_sp)}
