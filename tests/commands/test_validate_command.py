"""``symae validate`` on the bundled recorded Chile 2010 event, and its building blocks."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from symae.data.reference import REPO_ROOT, recorded_event_dir
from symae.evaluate.metrics import Series
from symae.evaluate.real_data import moment_duration, similarity

pytestmark = pytest.mark.slow


def test_validate_the_bundled_chile_event(tmp_path):
    folder = recorded_event_dir()
    out = tmp_path / "chile"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "symae.cli",
            "validate",
            "--waveforms",
            *sorted(str(p) for p in (folder / "waveforms").iterdir()),
            "--inventory",
            str(folder / "stations.xml"),
            "--event",
            str(folder / "event.xml"),
            "--splits",
            "4",
            "--out",
            str(out),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "random halves: median CC" in proc.stdout
    report = json.loads((out / "validation.json").read_text())
    assert (out / "validation.png").stat().st_size > 10_000 and (out / "RESULT.json").is_file()
    # the acceptance of the real-earthquakes work, on the 60-station subset
    assert 0 < report["duration_ratio"] <= 3.0
    assert report["onset_shift_s"] > 0  # the GCMT time is a centroid time: records are early
    phases = report["depth_phases"]
    assert phases["extended_support_s"] > phases["sp_delay_s"]  # the check could see them
    assert phases["extended_pp"] <= 0.2 and phases["extended_sp"] <= 0.2
    assert len(report["random_halves"]["ccs"]) == 4
    assert report["random_halves"]["median_cc"] >= 0.9
    assert report["azimuthal_halves"]["ccs"]  # 60 stations: some lines leave 10 a side
    assert "inversion ~ inversion-virtual" in report["agreement"]


def test_moment_duration_and_similarity():
    box = np.zeros(100)
    box[10:30] = 1.0
    assert moment_duration(box, 0.5) == pytest.approx(0.9 * 20 * 0.5, abs=0.5)
    a = Series(box, 0.0, 1.0)
    shifted = Series(box, 3.0, 1.0)
    assert similarity(a, shifted) == pytest.approx(1.0)  # best lag within 5 s
    assert similarity(a, Series(box, 8.0, 1.0)) < 0.9  # beyond it
