"""The data band: the contract's causal high-pass applied by preprocessing to every record."""

from __future__ import annotations

import numpy as np
import pytest

from symae.contract import DataContract
from symae.data.response import highpass_response, to_displacement


def test_contract_carries_the_band_and_checks_it() -> None:
    assert DataContract().highpass_hz == 0.015
    assert DataContract.from_dict({}).highpass_hz == 0.015  # files written before it
    with pytest.raises(ValueError, match="highpass_hz"):
        DataContract(highpass_hz=-1.0)


def test_highpass_is_a_causal_fourth_order_butterworth() -> None:
    f = np.array([0.0, 0.015, 0.15, 1.5])
    h = highpass_response(f, 0.015)
    assert abs(h[0]) == 0.0
    assert abs(h[1]) == pytest.approx(2**-0.5, rel=1e-6)
    assert abs(h[2]) == pytest.approx(1.0, abs=1e-3)
    assert np.all(highpass_response(f, 0.0) == 1.0)


def ricker(t: np.ndarray, centre: float, sigma: float) -> np.ndarray:
    """Second derivative of a Gaussian: zero mean and zero slope, so detrending keeps it."""
    u = (t - centre) / sigma
    return (1.0 - u * u) * np.exp(-0.5 * u * u)


def test_preprocessing_applies_the_band_causally() -> None:
    dt = 0.05
    t = np.arange(0, 600, dt)
    x = ricker(t, 300.0, 15.0)  # most of its energy near 0.015 Hz
    plain = to_displacement(x, dt, None, None, None, taper_fraction=0.0)
    banded = to_displacement(x, dt, None, None, None, taper_fraction=0.0, highpass_hz=0.015)
    peak = np.max(np.abs(plain))
    early = t < 300.0 - 6 * 15.0
    assert np.max(np.abs(plain[early])) < 1e-3 * peak
    assert np.max(np.abs(banded[early])) < 1e-3 * peak  # nothing leaks before the motion
    assert np.linalg.norm(banded - plain) > 0.2 * np.linalg.norm(plain)  # the band acts
    same = to_displacement(x, dt, None, None, None, taper_fraction=0.0, highpass_hz=None)
    assert np.array_equal(same, plain)
