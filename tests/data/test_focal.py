"""Focal-sphere pixels against healpy and against hand-known HEALPix RING cells."""

from __future__ import annotations

import healpy
import numpy as np
import pytest

from symae.data.focal import pixel_center, pixel_of, pixels_of


def test_matches_healpy_on_a_grid():
    rng = np.random.default_rng(3)
    takeoff = rng.uniform(0, 180, 500)
    azimuth = rng.uniform(-180, 540, 500)
    expected = healpy.ang2pix(4, np.radians(takeoff), np.radians(np.mod(azimuth, 360)))
    assert np.array_equal(pixels_of(takeoff, azimuth, 4), expected)


@pytest.mark.parametrize(
    "takeoff, azimuth, pixel",
    [
        (1.0, 45.0, 0),  # RING numbering starts with the 4 cells round the north pole
        (1.0, 135.0, 1),
        (1.0, 315.0, 3),
        (1.0, -45.0, 3),  # azimuths wrap
        (179.0, 45.0, 188),  # and ends with the 4 round the south pole
        (179.0, 315.0, 191),
    ],
)
def test_known_cells(takeoff, azimuth, pixel):
    assert pixel_of(takeoff, azimuth, 4) == pixel


def test_centres_round_trip():
    for p in range(192):
        assert pixel_of(*pixel_center(p, 4), 4) == p


@pytest.mark.parametrize("takeoff", [-1.0, 181.0, float("nan")])
def test_bad_takeoff_is_refused(takeoff):
    with pytest.raises(ValueError, match="take-off angle"):
        pixel_of(takeoff, 10.0)


def test_bad_nside_is_refused():
    with pytest.raises(ValueError, match="power of 2"):
        pixel_of(20.0, 10.0, nside=3)
