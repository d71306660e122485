"""Paired differences and bootstrap intervals of the ablation tables."""

from __future__ import annotations

import json

import numpy as np

from symae.evaluate.ablation import bootstrap, load_events, paired, subsets, table


def _write(path, method, values, depths):
    events = [
        {
            "event_id": f"e{i}",
            "true_depth_km": d,
            "broken_share": 0.1 * (i % 2),
            "median_snr": 5.0 + i,
            "n_stations": (10, 100)[i % 2],
            "metrics": {method: {"skill": v, "cc": v}},
        }
        for i, (v, d) in enumerate(zip(values, depths, strict=True))
    ]
    path.write_text(json.dumps({"events": events}))


def test_paired_difference_and_interval(tmp_path) -> None:
    depths = [10, 100, 400, 20, 150, 500]
    _write(tmp_path / "a.json", "a", [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], depths)
    _write(tmp_path / "c.json", "c", [0.3, 0.4, 0.5, 0.6, 0.7, 0.8], depths)
    events = load_events([tmp_path / "a.json", tmp_path / "c.json"])
    assert set(events["e0"]["metrics"]) == {"a", "c"}
    p = paired(events, sorted(events), "c", "a")
    assert (
        p["n"] == 6
        and np.isclose(p["mean"], 0.2)
        and np.isclose(p["lo"], 0.2)
        and np.isclose(p["hi"], 0.2)
        and np.isclose(p["median_lo"], 0.2)
        and p["higher"] == 1.0
    )
    found = subsets(events)
    assert set(found) >= {"all", "depth < 70 km", "depth 70-300 km", "depth > 300 km"}
    assert found["10 stations"] == ["e0", "e2", "e4"] and found["100 stations"] == [
        "e1",
        "e3",
        "e5",
    ]
    assert found[">= 30 % broken or <= 20 stations"] == ["e0", "e2", "e4"]
    assert "| c |" in table(events, ["a", "c"], "a")
    lo, hi = bootstrap(np.array([0.0, 1.0, 2.0, 3.0]))
    assert lo < 1.5 < hi
    lo, hi = bootstrap(np.array([0.0, 0.0, 0.0, 5.0, 5.0]), np.median)
    assert lo == 0.0 and hi == 5.0
