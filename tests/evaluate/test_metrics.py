"""Metrics on analytic STFs whose answers are known in closed form."""

from __future__ import annotations

import numpy as np
import pytest

from symae.evaluate.metrics import Series, compare, count_episodes, duration, prepare

DT = 1.0
T0 = -92.0
NT = 192


def gaussian(centre: float, sigma: float) -> np.ndarray:
    t = T0 + DT * np.arange(NT)
    return np.exp(-0.5 * ((t - centre) / sigma) ** 2)


def boxcar(start: float, length: float) -> np.ndarray:
    t = T0 + DT * np.arange(NT)
    return ((t >= start) & (t < start + length)).astype(float)


def test_identical_series_are_perfect() -> None:
    truth = Series(gaussian(10.0, 4.0), T0, DT)
    m = compare(truth, truth)
    assert m.cc == pytest.approx(1.0)
    assert m.lag_s == 0
    assert m.l2 == pytest.approx(0.0, abs=1e-12)
    assert m.duration_rel_error == pytest.approx(0.0)
    assert m.centroid_error_s == pytest.approx(0.0, abs=1e-9)


def test_boxcar_duration_is_ninety_percent_of_its_length() -> None:
    assert duration(boxcar(0.0, 40.0), DT) == pytest.approx(36.0, abs=1.0)


def test_shift_is_found_within_window_and_reported_as_centroid_error() -> None:
    truth = Series(gaussian(10.0, 4.0), T0, DT)
    late = Series(gaussian(16.0, 4.0), T0, DT)
    m = compare(late, truth)
    assert m.cc == pytest.approx(1.0, abs=1e-3)
    assert m.lag_s == -6.0
    assert m.centroid_error_s == pytest.approx(6.0, abs=0.1)


def test_shift_beyond_the_window_is_not_forgiven() -> None:
    truth = Series(gaussian(0.0, 2.0), T0, DT)
    far = Series(gaussian(40.0, 2.0), T0, DT)
    assert compare(far, truth).cc < 0.05


def test_noise_floor_is_removed_before_comparing() -> None:
    truth = Series(gaussian(10.0, 5.0), T0, DT)
    floored = Series(0.3 + gaussian(10.0, 5.0), T0, DT)
    m = compare(floored, truth)
    assert m.cc > 0.99
    assert abs(m.duration_rel_error) < 0.05


def test_twice_as_long_gives_plus_one_relative_duration_error() -> None:
    truth = Series(boxcar(0.0, 20.0), T0, DT)
    long = Series(boxcar(0.0, 40.0), T0, DT)
    assert compare(long, truth).duration_rel_error == pytest.approx(1.0, abs=0.1)


def test_episodes_are_counted() -> None:
    one = gaussian(0.0, 3.0)
    two = gaussian(0.0, 3.0) + 0.7 * gaussian(25.0, 3.0)
    three = two + 0.5 * gaussian(50.0, 3.0)
    assert [count_episodes(x, DT) for x in (one, two, three)] == [1, 2, 3]
    # two peaks closer than the 5 s separation merge into one episode
    assert count_episodes(gaussian(0.0, 1.0) + gaussian(3.0, 1.0), DT) == 1


def test_other_time_grid_is_interpolated() -> None:
    truth = Series(gaussian(10.0, 4.0), T0, DT)
    t_fine = np.arange(-50.0, 50.0, 0.5)
    fine = Series(np.exp(-0.5 * ((t_fine - 10.0) / 4.0) ** 2), -50.0, 0.5)
    assert compare(fine, truth).cc == pytest.approx(1.0, abs=1e-3)


def test_prepare_peaks_at_one_and_bad_input_is_refused() -> None:
    assert prepare(2.0 + 5.0 * gaussian(0.0, 3.0)).max() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="NaN"):
        Series(np.array([0.0, np.nan, 1.0]), 0.0, 1.0)
    with pytest.raises(ValueError, match="dt must be > 0, got 0"):
        Series(np.ones(5), 0.0, 0.0)


def test_skill_and_pearson_on_analytic_cases() -> None:
    from symae.evaluate.metrics import reference_triangle

    t = T0 + DT * np.arange(NT)
    mw = 7.0
    truth = Series(gaussian(20.0, 6.0), T0, DT)
    m = compare(truth, truth, mw=mw)
    assert (
        m.skill == pytest.approx(1.0)
        and m.pearson == pytest.approx(1.0)
        and m.cc == pytest.approx(1.0)
    )
    triangle = Series(reference_triangle(mw, t), T0, DT)
    assert compare(triangle, truth, mw=mw).skill == pytest.approx(0.0, abs=1e-12)
    shifted = Series(gaussian(27.0, 6.0), T0, DT)  # 7 s late: forgiven within 10 s
    m = compare(shifted, truth, mw=mw)
    assert m.skill == pytest.approx(1.0, abs=1e-6) and m.pearson == pytest.approx(1.0, abs=1e-6)
    assert compare(Series(gaussian(60.0, 20.0), T0, DT), truth, mw=mw).skill < 0
    assert np.isnan(compare(truth, truth).skill)  # no magnitude, no reference


def test_reference_triangle_has_the_gcmt_half_duration() -> None:
    from symae.evaluate.metrics import half_duration, reference_triangle

    assert half_duration(6.3) == pytest.approx(3.5, abs=0.2)
    assert half_duration(8.0) == pytest.approx(24.0, abs=1.5)
    t = np.arange(-10.0, 60.0, 0.1)
    tri = reference_triangle(7.0, t)
    h = half_duration(7.0)
    assert tri[t < 0].max() == 0 and tri.max() == pytest.approx(1.0, abs=1e-2)
    assert t[np.argmax(tri)] == pytest.approx(h, abs=0.1) and tri[t > 2 * h + 0.1].max() == 0
