"""The streaming demo runs end to end with the shipped model and exits cleanly: the
bundled recorded earthquake by default, a SCARDEC-driven synthetic event on request."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from symae.data.reference import REPO_ROOT, recorded_event_dir
from symae.extract.records import origin_from_event_file
from tests.services.conftest import PYTHON

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def test_demo_prints_a_row_per_event_and_leaves_products(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    done = subprocess.run(
        [
            PYTHON,
            "-m",
            "services.devtools.demo",
            "--scardec",
            "1",
            "--stations",
            "20",
            "--out",
            str(out),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    recorded = origin_from_event_file(recorded_event_dir() / "event.xml").event_id
    rows = {
        cells[0]: cells
        for line in done.stdout.splitlines()
        if line.startswith("| ") and not line.startswith("| event")
        for cells in [[c.strip() for c in line.strip("|").split("|")]]
    }
    assert recorded in rows and any(e.startswith("scardec_") for e in rows), done.stdout
    for event_id, cells in rows.items():
        records, stations, method = int(cells[2]), int(cells[3]), cells[6]
        assert 0 < stations <= records
        assert method in ("inversion", "inversion-virtual", "envelope")
        if event_id.startswith("scardec_"):
            assert records == 20 and -1.0 <= float(cells[9]) <= 1.0
        else:
            assert records == 60 and cells[9] == "-"  # a recorded event has no truth
        folder = out / "products" / "events" / event_id
        assert json.loads((folder / "result.json").read_text())["event_id"] == event_id
        assert {p.name for p in folder.iterdir()} >= {
            "result.json",
            "stf_scardec.txt",
            "event.xml",
            "stf.png",
        }
    assert "explorer: http://127.0.0.1:" in done.stdout and "demo finished" in done.stdout
