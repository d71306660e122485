"""Noise scaling to a target SNR: the closed-form first guess and the refinement."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from symae.data.rejections import Rejected, RejectReason
from symae.synth.generator import _fit_noise_level
from symae.synth.noise import SNR_TOLERANCE, noise_scale


def _ratio(signal, noise, a):
    (s1, s2), (n1, n2) = signal, noise
    return np.std(s1 + a * n1) / np.std(s2 + a * n2)


def test_noise_scale_solves_for_the_target() -> None:
    rng = np.random.default_rng(0)
    signal = (np.sin(np.linspace(0, 20, 65)) * 5, rng.normal(0, 0.01, 81))
    noise = (rng.normal(0, 1, 65), rng.normal(0, 1, 81))
    for target in (2.0, 7.5, 40.0):
        a, used = noise_scale(signal, noise, target)
        assert used == target
        assert _ratio(signal, noise, a) == pytest.approx(target, rel=1e-9)
    with pytest.raises(ValueError, match="SNR must be > 1"):
        noise_scale(signal, noise, 0.8)


def test_unreachable_target_is_lowered_not_failed() -> None:
    rng = np.random.default_rng(1)
    # a clean record with a lot of energy before P: its own ratio is about 2
    signal = (rng.normal(0, 2, 65), rng.normal(0, 1, 81))
    noise = (rng.normal(0, 1, 65), rng.normal(0, 1, 81))
    a, used = noise_scale(signal, noise, 30.0)
    assert used < 2.5
    assert _ratio(signal, noise, a) == pytest.approx(used, rel=1e-9)


def test_hopeless_record_is_rejected_as_low_snr() -> None:
    rng = np.random.default_rng(2)
    # clean ratio about 1.2 and noise louder in the signal window than before P: no level
    # of this noise lifts the record to the (lowered) target, so the station is dropped
    signal = (rng.normal(0, 1.2, 65), rng.normal(0, 1, 81))
    noise = (rng.normal(0, 1.5, 65), rng.normal(0, 1, 81))
    with pytest.raises(Rejected) as err:
        noise_scale(signal, noise, 30.0)
    assert err.value.reason is RejectReason.LOW_SNR


def test_fit_noise_level_refines_a_poor_guess() -> None:
    def measure(a: float):
        return SimpleNamespace(snr=float(np.sqrt(25.0 + a * a) / a))  # a record with S/N = 5/a

    a, out = _fit_noise_level(measure, guess=0.2, target=4.0)
    assert abs(out.snr / 4.0 - 1.0) <= SNR_TOLERANCE
    assert a == pytest.approx(5.0 / np.sqrt(15.0), rel=0.05)
