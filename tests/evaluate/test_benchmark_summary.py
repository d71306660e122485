"""Benchmark summaries: quartiles per method, subsets, targets text, report files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from symae.evaluate.metrics import Series, compare
from symae.evaluate.scardec_benchmark import (
    CEILING_ENVELOPE,
    DIRECTIVITY_SUFFIX,
    PREFERRED,
    EventScore,
    paired_difference,
    readout_ceiling,
    subsets,
    summarise,
    targets_markdown,
    write_report,
)

T = np.arange(192) - 92.0


def pulse(centre: float, width: float) -> np.ndarray:
    return np.exp(-0.5 * ((T - centre) / width) ** 2)


def score(i: int, directivity: bool, preferred_width: float, baseline_width: float) -> EventScore:
    truth = Series(pulse(10.0, 4.0), -92.0, 1.0)
    s = EventScore(f"e{i}", 0.0, 0.0, 10.0, 7.5, 100, 20, directivity)
    s.metrics[PREFERRED] = compare(Series(pulse(10.0, preferred_width), -92.0, 1.0), truth, mw=7.5)
    s.metrics["mean_envelope"] = compare(
        Series(pulse(10.0, baseline_width), -92.0, 1.0), truth, mw=7.5
    )
    return s


@pytest.fixture
def scores() -> list[EventScore]:
    return [score(i, i % 2 == 1, 4.0 + 0.1 * i, 8.0 + i) for i in range(6)]


def test_summary_holds_median_and_quartiles_per_method(scores) -> None:
    summary = summarise(scores)
    assert set(summary) == {PREFERRED, "mean_envelope"}
    cc = np.array([s.metrics[PREFERRED].cc for s in scores])
    assert summary[PREFERRED]["cc"]["median"] == pytest.approx(np.median(cc))
    assert (
        summary[PREFERRED]["cc"]["q1"]
        <= summary[PREFERRED]["cc"]["median"]
        <= summary[PREFERRED]["cc"]["q3"]
    )
    assert set(summary[PREFERRED]["pearson_vs_stacks"]) == {"mean_envelope"}


def test_targets_text_says_met_or_missed(scores) -> None:
    text = targets_markdown(summarise(scores))
    assert "median Pearson CC >= 0.90: 0.99" in text and ", met" in text
    assert "median skill over the Mw triangle >= 0.5" in text
    assert "preferred - mean_envelope: paired median Pearson CC +" in text
    bad = [score(i, False, 12.0, 4.0) for i in range(3)]
    text = targets_markdown(summarise(bad))
    assert "missed by" in text


def test_paired_difference_counts_each_source_once_and_brackets_the_median() -> None:
    # ten sources, each with and without directivity: the preferred STF exact, the baseline too wide
    scores = [score(i, d, 4.0, 6.0 + i) for i in range(10) for d in (False, True)]
    for s in scores[1::2]:
        s.event_id += DIRECTIVITY_SUFFIX
    paired = paired_difference(scores, PREFERRED, "mean_envelope", "pearson")
    diff = [s.metrics[PREFERRED].pearson - s.metrics["mean_envelope"].pearson for s in scores]
    assert paired["sources"] == 10
    assert paired["median"] == pytest.approx(np.median(diff))
    assert 0.0 < paired["ci_low"] <= paired["median"] <= paired["ci_high"]
    assert paired["share_higher"] == 1.0
    text = targets_markdown(summarise(scores))
    assert "higher on 100%" in text


def test_readout_ceiling_of_a_short_pulse_is_imperfect() -> None:
    # through the data band the ceiling loses more: the high-pass's negative lobe
    band = readout_ceiling(Series(pulse(10.0, 10.0), -92.0, 1.0), highpass_hz=0.015)
    assert band.cc < readout_ceiling(Series(pulse(10.0, 10.0), -92.0, 1.0)).cc
    # the Hilbert envelope of a 4 s Gaussian pulse: 1/t tails widen it several times over
    ceiling = readout_ceiling(Series(pulse(10.0, 4.0), -92.0, 1.0))
    assert 0.8 < ceiling.cc < 0.95
    assert ceiling.duration_rel_error > 1.0
    wide = readout_ceiling(Series(pulse(10.0, 10.0), -92.0, 1.0))
    assert wide.cc > ceiling.cc and wide.duration_rel_error < ceiling.duration_rel_error


def test_ceiling_is_reported_and_never_taken_for_a_baseline(scores) -> None:
    for s in scores:
        s.metrics[CEILING_ENVELOPE] = compare(
            Series(pulse(10.0, 4.0), -92.0, 1.0), Series(pulse(10.0, 4.0), -92.0, 1.0)
        )
    text = targets_markdown(summarise(scores))
    assert "preferred - mean_envelope" in text and "preferred - ceiling" not in text
    assert "ceiling ceiling:envelope" in text and "median Pearson CC 1.000" in text


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


def test_pluggable_methods_reference_and_ceilings_are_scored() -> None:
    from symae.data.dataset import EventData
    from symae.data.events import Origin
    from symae.evaluate.scardec_benchmark import (
        CEILING_BAND,
        CEILING_ENVELOPE,
        TRIANGLE,
        ordered_methods,
        score_result,
    )

    truth = pulse(20.0, 5.0)
    event = EventData(
        origin=Origin("x", "2021-01-01T00:00:00Z", 0.0, 0.0, 100.0, magnitude=7.0),
        groups={},
        truth_stf=truth,
        truth_attrs={"t0": -92.0, "dt": 1.0, "mw": 7.0},
    )
    methods = {"inversion": lambda ev: (T, truth), "flat": lambda ev: (T, np.ones_like(T))}
    s = score_result(event, None, methods)
    assert s.metrics["inversion"].skill == pytest.approx(1.0)
    assert s.metrics[TRIANGLE].skill == pytest.approx(0.0, abs=1e-12)
    assert s.metrics[CEILING_BAND].skill < 1.0 and s.metrics[CEILING_ENVELOPE].skill < 1.0
    assert s.true_depth_km == 100.0 and s.broken_share == 0.0
    summary = summarise([s])
    order = ordered_methods(summary)
    assert order[:2] == ["inversion", "flat"] and order[2] == TRIANGLE
    assert set(order[3:]) == {CEILING_BAND, CEILING_ENVELOPE}


def test_paired_skill_against_the_strongest_stack_baseline_and_tables() -> None:
    from symae.evaluate.scardec_benchmark import paired_difference, strongest_baseline

    truth = Series(pulse(10.0, 4.0), -92.0, 1.0)
    scores = []
    for i in range(8):
        s = EventScore(
            f"e{i}",
            0.0,
            0.0,
            10.0 + 100 * (i % 4),
            7.0,
            10,
            2,
            False,
            true_depth_km=10.0 + 100 * (i % 4),
            true_mw=6.2 + 0.3 * i,
            broken_share=(0.0, 0.1, 0.2, 0.25)[i % 4],
        )
        for name, width in (("inversion", 4.0), ("aligned_stack", 6.0), ("mean_envelope", 9.0)):
            s.metrics[name] = compare(
                Series(pulse(10.0, width + 0.05 * i), -92.0, 1.0), truth, mw=7.0
            )
        scores.append(s)
    assert strongest_baseline(scores) == "aligned_stack"
    summary = summarise(scores)
    vs = summary["inversion"]["vs_baseline"]
    assert vs["baseline"] == "aligned_stack" and vs["share_higher"] == 1.0 and vs["ci_low"] > 0
    assert paired_difference(scores, "inversion", "aligned_stack")["median"] == pytest.approx(
        vs["median"]
    )
    parts = subsets(scores)
    assert len(parts["depth < 70 km"]) == 2 and len(parts["depth 70-300 km"]) == 4
    assert len(parts["depth > 300 km"]) == 2
    assert len(parts["no broken stations"]) == 2 and len(parts["broken 10-30 %"]) == 4
    assert "Mw < 6.5" in parts and "Mw >= 7.5" in parts


def test_evaluate_validation_set_runs_without_a_model(tmp_path) -> None:
    from symae.cli import main

    out = tmp_path / "val"
    rc = main(
        [
            "evaluate",
            "--model",
            "none",
            "--set",
            "validation",
            "--limit",
            "1",
            "--stations",
            "6",
            "--out",
            str(out),
            "--no-figures",
        ]
    )
    assert rc == 0
    data = json.loads((out / "scores.json").read_text())
    assert data["setup"]["set"] == "validation" and data["setup"]["mode"] == "hard"
    event = data["events"][0]
    assert event["event_id"].startswith("val_s11_0000") and "triangle" in event["metrics"]
    assert event["metrics"]["triangle"]["skill"] == pytest.approx(0.0, abs=1e-12)
