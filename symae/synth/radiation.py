"""Point-source radiation and free-surface reflection for the teleseismic P, pP and sP phases.

Conventions. Moment tensors are given in the Global CMT (r, theta, phi) = (up, south,
east) frame and rotated here to (north, east, down). A ray leaves the source with
take-off angle ``i`` (degrees from the downward vertical; above 90 for upgoing pP, sP)
and azimuth ``phi``; its direction is ``l = (sin i cos phi, sin i sin phi, cos i)`` and
the SV polarisation is ``e_sv = dl/di``. The far-field P displacement is
``(l . M . l) l / (4 pi rho alpha^3 r)`` and the SV displacement
``(e_sv . M . l) e_sv / (4 pi rho beta^3 r)`` (Aki & Richards, eq. 4.96).

The free-surface reflection (upgoing P or SV at the surface above the source turning
into the downgoing P of pP or sP) is solved directly from the two zero-traction
conditions for plane waves with the ray's horizontal slowness, in the same polarisation
conventions, so no sign table is needed. The water layer above oceanic sources is
neglected; the S-to-P amplitude scaling of sP is in ``symae.synth.phases``.
"""

from __future__ import annotations

import numpy as np

MT_KEYS = ("Mrr", "Mtt", "Mpp", "Mrt", "Mrp", "Mtp")


def moment_tensor_ned(mt: dict[str, float]) -> np.ndarray:
    """3x3 moment tensor in (north, east, down) from GCMT components (r, theta, phi)."""
    missing = [k for k in MT_KEYS if k not in mt]
    if missing:
        raise ValueError(f"moment tensor lacks {missing}; expected keys {MT_KEYS}")
    nn, ee, dd = mt["Mtt"], mt["Mpp"], mt["Mrr"]
    ne, nd, ed = -mt["Mtp"], mt["Mrt"], -mt["Mrp"]
    return np.array([[nn, ne, nd], [ne, ee, ed], [nd, ed, dd]], dtype=np.float64)


def scalar_moment(mt: dict[str, float]) -> float:
    """Scalar moment sqrt(sum M_ij^2 / 2), in the units of ``mt``."""
    m = moment_tensor_ned(mt)
    return float(np.sqrt(np.sum(m * m) / 2.0))


def double_couple(strike: float, dip: float, rake: float, m0: float) -> dict[str, float]:
    """GCMT components of a double couple (Aki & Richards box 4.4), angles in degrees."""
    s, d, r = np.radians([strike, dip, rake])
    mxx = -(np.sin(d) * np.cos(r) * np.sin(2 * s) + np.sin(2 * d) * np.sin(r) * np.sin(s) ** 2)
    mxy = np.sin(d) * np.cos(r) * np.cos(2 * s) + 0.5 * np.sin(2 * d) * np.sin(r) * np.sin(2 * s)
    mxz = -(np.cos(d) * np.cos(r) * np.cos(s) + np.cos(2 * d) * np.sin(r) * np.sin(s))
    myy = np.sin(d) * np.cos(r) * np.sin(2 * s) - np.sin(2 * d) * np.sin(r) * np.cos(s) ** 2
    myz = -(np.cos(d) * np.cos(r) * np.sin(s) - np.cos(2 * d) * np.sin(r) * np.cos(s))
    mzz = np.sin(2 * d) * np.sin(r)
    # x = north, y = east, z = down  ->  r = -z, theta = -x, phi = y
    return {
        "Mrr": float(m0 * mzz),
        "Mtt": float(m0 * mxx),
        "Mpp": float(m0 * myy),
        "Mrt": float(m0 * mxz),
        "Mrp": float(-m0 * myz),
        "Mtp": float(-m0 * mxy),
    }


def ray_vectors(takeoff_deg: np.ndarray, azimuth_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit ray direction ``l`` and SV polarisation ``dl/di``, each (..., 3) in NED."""
    i, phi = np.broadcast_arrays(
        np.radians(np.asarray(takeoff_deg, dtype=np.float64)),
        np.radians(np.asarray(azimuth_deg, dtype=np.float64)),
    )
    ci, si, cp, sp = np.cos(i), np.sin(i), np.cos(phi), np.sin(phi)
    ray = np.stack([si * cp, si * sp, ci], axis=-1)
    sv = np.stack([ci * cp, ci * sp, -si], axis=-1)
    return ray, sv


def p_radiation(m_ned: np.ndarray, takeoff_deg: np.ndarray, azimuth_deg: np.ndarray) -> np.ndarray:
    """l . M . l: signed P amplitude along the ray (positive = compression)."""
    ray, _ = ray_vectors(takeoff_deg, azimuth_deg)
    return np.einsum("...i,ij,...j->...", ray, m_ned, ray)


def sv_radiation(m_ned: np.ndarray, takeoff_deg: np.ndarray, azimuth_deg: np.ndarray) -> np.ndarray:
    """e_sv . M . l: signed SV amplitude along ``dl/di``."""
    ray, sv = ray_vectors(takeoff_deg, azimuth_deg)
    return np.einsum("...i,ij,...j->...", sv, m_ned, ray)


def free_surface_to_p(
    incidence_deg: np.ndarray, wave: str, alpha: float, beta: float
) -> np.ndarray:
    """Amplitude of the reflected downgoing P per unit incident upgoing ``wave`` ('P' or 'SV').

    ``incidence_deg`` is the take-off angle of the upgoing ray (90..180, from the downward
    vertical); amplitudes follow the polarisation vectors of :func:`ray_vectors`. Solves
    sigma_xz = sigma_zz = 0 at z = 0 for the reflected P and SV plane waves (x along the
    ray azimuth, z down); density cancels.
    """
    if wave not in ("P", "SV"):
        raise ValueError(f"wave must be 'P' or 'SV', got {wave!r}")
    inc = np.radians(np.atleast_1d(np.asarray(incidence_deg, dtype=np.float64)))
    if np.any(np.cos(inc) >= 0):
        raise ValueError("incident ray must be upgoing (take-off angle above 90 degrees)")
    lam, mu = alpha**2 - 2 * beta**2, beta**2
    c_in = alpha if wave == "P" else beta
    p = np.sin(inc) / c_in  # horizontal slowness
    # incident wave: slowness and polarisation; reflected P and SV, both downgoing
    if wave == "P":
        e_in = (np.sin(inc), np.cos(inc))
    else:
        e_in = (np.cos(inc), -np.sin(inc))
    s_in = (p, np.cos(inc) / c_in)
    pre = p * alpha >= 1.0  # post-critical SV to P: no propagating P
    ip = np.arcsin(np.where(pre, 0.0, p * alpha))
    is_ = np.arcsin(np.clip(p * beta, -1.0, 1.0))
    s_p, e_p = (p, np.cos(ip) / alpha), (np.sin(ip), np.cos(ip))
    s_s, e_s = (p, np.cos(is_) / beta), (np.cos(is_), -np.sin(is_))

    def traction(s: tuple, e: tuple) -> tuple[np.ndarray, np.ndarray]:
        sxz = mu * (s[0] * e[1] + s[1] * e[0])
        szz = lam * (s[0] * e[0] + s[1] * e[1]) + 2 * mu * s[1] * e[1]
        return sxz, szz

    (px, pz), (sx, sz), (ix, iz) = traction(s_p, e_p), traction(s_s, e_s), traction(s_in, e_in)
    # 2x2 system [P SV] amps = -incident traction, solved for the P amplitude (Cramer)
    det = px * sz - sx * pz
    out = np.where(pre, 0.0, (-ix * sz + sx * iz) / np.where(pre, 1.0, det))
    return out.reshape(np.shape(incidence_deg))
