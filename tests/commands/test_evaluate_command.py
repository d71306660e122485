"""``symae evaluate`` end to end on one SCARDEC event and the tiny model."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from symae.data.reference import REPO_ROOT

# runs symae evaluate on a SCARDEC event
pytestmark = pytest.mark.slow


def test_evaluate_scores_every_method_on_a_scardec_event(
    scardec_root, tiny_model, tmp_path
) -> None:
    out = tmp_path / "bench"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "symae.cli",
            "evaluate",
            "--model",
            str(tiny_model),
            "--out",
            str(out),
            "--scardec",
            str(scardec_root),
            "--limit",
            "1",
            "--stations",
            "30",
            "--directivity",
            "both",
            "--steps",
            "5",
            "--lr",
            "0.2",
            "--alpha",
            "0.3",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    data = json.loads((out / "scores.json").read_text())
    assert [e["directivity"] for e in data["events"]] == [False, True]
    assert (data["setup"]["steps"], data["setup"]["lr"], data["setup"]["alpha"]) == (5, 0.2, 0.3)
    methods = {
        "preferred",
        "inversion",
        "inversion-virtual",
        "envelope",
        "symae-physics",
        "symae-physics-refined",
        "mean_envelope",
        "aligned_stack",
        "deconvolved_stack",
        "triangle",
        "ceiling:band",
        "ceiling:envelope",
    }
    assert all(set(e["metrics"]) == methods for e in data["events"])
    for e in data["events"]:
        m = e["metrics"]
        assert all(-1.0 <= v["pearson"] <= 1.0 for v in m.values())
        assert m["triangle"]["skill"] == pytest.approx(0.0, abs=1e-9)
        assert m["preferred"] in (
            m["symae-physics-refined"],
            m["inversion"],
            m["inversion-virtual"],
            m["envelope"],
        )
    assert set(data["summary"]) >= {"all", "without directivity", "with directivity"}
    assert (
        "median Pearson CC >= 0.90" in run.stdout
        and "median skill over the Mw triangle" in run.stdout
    )
    assert "preferred - aligned_stack: paired median Pearson CC" in run.stdout
    for name in ("cc_by_method.png", "duration.png", "map.png", "map.html"):
        assert (out / "figures" / name).is_file(), name
