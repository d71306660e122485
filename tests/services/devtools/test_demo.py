"""The streaming demo runs end to end with the shipped model and exits cleanly."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from symae.data.reference import REPO_ROOT
from tests.services.conftest import PYTHON

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def test_demo_prints_a_row_per_event_and_leaves_products(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    done = subprocess.run(
        [PYTHON, "-m", "services.devtools.demo", "--events", "2", "--stations", "20", "--out", str(out)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    rows = [line for line in done.stdout.splitlines() if line.startswith("| scardec_")]
    assert len(rows) == 2, done.stdout
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        event_id, records, stations, cc = cells[0], int(cells[2]), int(cells[3]), float(cells[7])
        assert records == 20 and 0 < stations <= records
        assert -1.0 <= cc <= 1.0
        folder = out / "products" / "events" / event_id
        assert json.loads((folder / "result.json").read_text())["event_id"] == event_id
        assert {p.name for p in folder.iterdir()} >= {
            "result.json", "stf_scardec.txt", "event.xml", "stf.png",
        }
    assert "demo finished" in done.stdout
