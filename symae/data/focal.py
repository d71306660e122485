"""Focal-sphere pixels: where a ray leaves the source, as a HEALPix pixel.

The focal sphere is tiled with HEALPix (RING scheme, ``nside`` 4 gives 192 pixels).
A ray's colatitude is its P take-off angle (0 = straight down) and its longitude the
source-to-station azimuth (clockwise from north), so rays that sample the same part of
the radiation pattern share a pixel.
"""

from __future__ import annotations

import healpy
import numpy as np


def _check(takeoff: np.ndarray, nside: int) -> None:
    if not healpy.isnsideok(nside, nest=True):
        raise ValueError(f"nside must be a power of 2, got {nside}")
    bad = (takeoff < 0) | (takeoff > 180) | ~np.isfinite(takeoff)
    if np.any(bad):
        raise ValueError(f"take-off angle must be in [0, 180] degrees, got {takeoff[bad][0]}")


def pixel_of(takeoff_deg: float, azimuth_deg: float, nside: int = 4) -> int:
    """HEALPix RING pixel of one ray (take-off angle and azimuth in degrees)."""
    return int(pixels_of(np.array([takeoff_deg]), np.array([azimuth_deg]), nside)[0])


def pixels_of(takeoff_deg: np.ndarray, azimuth_deg: np.ndarray, nside: int = 4) -> np.ndarray:
    """HEALPix RING pixels of many rays, shape of the inputs, int64."""
    takeoff = np.asarray(takeoff_deg, dtype=float)
    _check(takeoff, nside)
    phi = np.radians(np.mod(np.asarray(azimuth_deg, dtype=float), 360.0))
    return np.asarray(healpy.ang2pix(nside, np.radians(takeoff), phi), dtype=np.int64)


def pixel_center(pixel: int, nside: int = 4) -> tuple[float, float]:
    """(take-off angle, azimuth) of a pixel centre, degrees."""
    if not 0 <= pixel < healpy.nside2npix(nside):
        raise ValueError(f"pixel must be in [0, {healpy.nside2npix(nside)}), got {pixel}")
    theta, phi = healpy.pix2ang(nside, int(pixel))
    return float(np.degrees(theta)), float(np.degrees(phi))
