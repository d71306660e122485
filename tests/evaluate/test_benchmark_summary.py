"""Benchmark summaries: quartiles per method, subsets, targets text, report files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from symae.evaluate.metrics import Series, compare
from symae.evaluate.scardec_benchmark import (
    DIRECTIVITY_SUFFIX,
    SYMAE,
    TRUTH_ENVELOPE,
    EventScore,
    paired_cc_difference,
    readout_ceiling,
    subsets,
    summarise,
    targets_markdown,
    write_report,
)

T = np.arange(192) - 92.0


def pulse(centre: float, width: float) -> np.ndarray:
    return np.exp(-0.5 * ((T - centre) / width) ** 2)


def score(i: int, directivity: bool, symae_width: float, baseline_width: float) -> EventScore:
    truth = Series(pulse(10.0, 4.0), -92.0, 1.0)
    s = EventScore(f"e{i}", 0.0, 0.0, 10.0, 7.5, 100, 20, directivity)
    s.metrics[SYMAE] = compare(Series(pulse(10.0, symae_width), -92.0, 1.0), truth)
    s.metrics["mean_envelope"] = compare(Series(pulse(10.0, baseline_width), -92.0, 1.0), truth)
    return s


@pytest.fixture
def scores() -> list[EventScore]:
    return [score(i, i % 2 == 1, 4.0 + 0.1 * i, 8.0 + i) for i in range(6)]


def test_summary_holds_median_and_quartiles_per_method(scores) -> None:
    summary = summarise(scores)
    assert set(summary) == {SYMAE, "mean_envelope"}
    cc = np.array([s.metrics[SYMAE].cc for s in scores])
    assert summary[SYMAE]["cc"]["median"] == pytest.approx(np.median(cc))
    assert summary[SYMAE]["cc"]["q1"] <= summary[SYMAE]["cc"]["median"] <= summary[SYMAE]["cc"]["q3"]
    assert summary["mean_envelope"]["cc_wins_vs_symae"]["median"] == 0.0


def test_targets_text_says_met_or_missed(scores) -> None:
    text = targets_markdown(summarise(scores))
    assert "median CC >= 0.90: SymAE" in text and "met" in text
    assert "best baseline mean_envelope" in text
    bad = [score(i, False, 12.0, 4.0) for i in range(3)]
    text = targets_markdown(summarise(bad))
    assert "missed by" in text and "missed (" in text


def test_paired_difference_counts_each_source_once_and_brackets_the_median() -> None:
    # ten sources, each with and without directivity: SymAE exact, the baseline too wide
    scores = [score(i, d, 4.0, 6.0 + i) for i in range(10) for d in (False, True)]
    for s in scores[1::2]:
        s.event_id += DIRECTIVITY_SUFFIX
    paired = paired_cc_difference(scores, "mean_envelope")
    diff = [s.metrics[SYMAE].cc - s.metrics["mean_envelope"].cc for s in scores]
    assert paired["sources"] == 10
    assert paired["median"] == pytest.approx(np.median(diff))
    assert 0.0 < paired["ci_low"] <= paired["median"] <= paired["ci_high"]
    assert paired["share_symae_higher"] == 1.0
    text = targets_markdown(summarise(scores))
    assert "paired, SymAE - mean_envelope: median CC difference +" in text
    assert "over 10 sources" in text and "SymAE higher on 100% of events" in text


def test_readout_ceiling_of_a_short_pulse_is_imperfect() -> None:
    # the Hilbert envelope of a 4 s Gaussian pulse: 1/t tails widen it several times over
    ceiling = readout_ceiling(Series(pulse(10.0, 4.0), -92.0, 1.0))
    assert 0.8 < ceiling.cc < 0.95
    assert ceiling.duration_rel_error > 1.0
    wide = readout_ceiling(Series(pulse(10.0, 10.0), -92.0, 1.0))
    assert wide.cc > ceiling.cc and wide.duration_rel_error < ceiling.duration_rel_error


def test_ceiling_is_reported_and_never_taken_for_a_baseline(scores) -> None:
    for s in scores:
        s.metrics[TRUTH_ENVELOPE] = compare(Series(pulse(10.0, 4.0), -92.0, 1.0),
                                            Series(pulse(10.0, 4.0), -92.0, 1.0))
    text = targets_markdown(summarise(scores))
    assert "best baseline mean_envelope" in text
    assert "read-out ceiling (truth_envelope" in text and "median CC 1.000" in text


def test_subsets_split_by_directivity_and_report_is_written(scores, tmp_path) -> None:
    parts = subsets(scores)
    assert [len(v) for v in parts.values()] == [6, 3, 3]
    summaries = {name: summarise(sub) for name, sub in parts.items()}
    report = write_report(tmp_path, scores, summaries, {"seed": 1})
    assert "## with directivity" in report.read_text()
    data = json.loads((tmp_path / "scores.json").read_text())
    assert len(data["events"]) == 6 and data["setup"] == {"seed": 1}
    with pytest.raises(ValueError, match="no event scores"):
        summarise([])
