"""``symae extract`` as users run it: from a data set and from real-format files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from symae.contract import DataContract
from symae.data.dataset import DatasetWriter
from symae.data.reference import REPO_ROOT
from symae.extract.result import SCHEMA_PATH

# runs symae extract as a subprocess per test
pytestmark = pytest.mark.slow


def symae(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "symae.cli", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def dataset_file(small_event, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("extract-cmd") / "events.h5"
    with DatasetWriter(path, DataContract()) as w:
        w.write_event(small_event.event_data)
    return path


def test_extract_from_a_dataset_writes_a_valid_result(
    dataset_file, tiny_model, small_event, tmp_path
) -> None:
    out = tmp_path / "RESULT.json"
    run = symae(
        "extract",
        "--dataset",
        str(dataset_file),
        "--event-id",
        small_event.event_data.event_id,
        "--out",
        str(out),
        "--model",
        str(tiny_model),
        "--steps",
        "10",
        "--figures",
        str(tmp_path / "fig"),
    )
    assert run.returncode == 0, run.stderr
    doc = json.loads(out.read_text())
    jsonschema.validate(doc, json.loads(SCHEMA_PATH.read_text()))
    assert doc["quality"]["n_traces"] == small_event.event_data.n_traces
    assert doc["parameters"]["steps"] == 10
    # the shipped physics-informed SymAE joins by default; its restarted inversion is preferred
    assert doc["stf"]["method"] == "symae-physics-refined"
    assert {"symae-physics", "inversion", "inversion-virtual"} <= set(doc["alternatives"])
    for name in (
        "pixels.png",
        "virtual_vs_raw.png",
        "aligned.png",
        "optimisation.png",
        "event_stf.png",
        "event.html",
    ):
        assert (tmp_path / "fig" / name).stat().st_size > 1000, name


def test_extract_from_miniseed_stationxml_quakeml(small_event, tiny_model, tmp_path) -> None:
    mseed, xml, qml = tmp_path / "records.mseed", tmp_path / "stations.xml", tmp_path / "event.xml"
    small_event.stream.write(str(mseed), format="MSEED")
    small_event.inventory.write(str(xml), format="STATIONXML")
    small_event.event.write(str(qml), format="QUAKEML")
    out = tmp_path / "RESULT.json"
    run = symae(
        "extract",
        "--waveforms",
        str(mseed),
        "--inventory",
        str(xml),
        "--event",
        str(qml),
        "--out",
        str(out),
        "--model",
        str(tiny_model),
        "--steps",
        "5",
    )
    assert run.returncode == 0, run.stderr
    doc = json.loads(out.read_text())
    # the generator's records pass the same preprocessing its direct output went through
    assert doc["quality"]["n_traces"] == small_event.event_data.n_traces
    assert sorted(t["id"] for t in doc["traces"]) == sorted(
        s for g in small_event.event_data.groups.values() for s in g.station_id
    )


def test_extract_refuses_mixed_or_missing_inputs(dataset_file, tmp_path) -> None:
    run = symae("extract", "--dataset", str(dataset_file), "--out", str(tmp_path / "r.json"))
    assert run.returncode != 0 and "--dataset needs --event-id" in run.stderr
    run = symae("extract", "--inventory", str(dataset_file), "--out", str(tmp_path / "r.json"))
    assert run.returncode != 0 and "missing --waveforms, --event" in run.stderr
    run = symae(
        "extract",
        "--dataset",
        str(dataset_file),
        "--event-id",
        "nope",
        "--out",
        str(tmp_path / "r.json"),
    )
    assert run.returncode != 0 and "event 'nope' not in" in run.stderr
    run = symae(
        "extract",
        "--dataset",
        str(dataset_file),
        "--event-id",
        "x",
        "--model",
        "no-such-model",
        "--out",
        str(tmp_path / "r.json"),
    )
    assert run.returncode != 0 and "no model 'no-such-model'" in run.stderr


def test_extraction_never_imports_torch(dataset_file, tiny_model, small_event) -> None:
    code = (
        "import sys\n"
        "from symae.data.dataset import Dataset\n"
        "from symae.extract.coherent import LatentSettings\n"
        "from symae.extract.extractor import ExtractionSettings, Extractor\n"
        "import symae.commands.extract, symae.commands.evaluate, symae.evaluate.scardec_benchmark\n"
        f"ev = Dataset({str(dataset_file)!r}).event({small_event.event_data.event_id!r})\n"
        f"ex = Extractor.load({str(tiny_model)!r}, 'cpu', ExtractionSettings(LatentSettings(steps=2)),"
        " physics_model='default')\n"
        "assert 'symae-physics' in ex.extract(ev).alternatives\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr


BUNDLED_CHILE = REPO_ROOT / "symae" / "reference_data" / "chile_2010-03-04"


def chile_args(inventory: Path) -> list[str]:
    return [
        "--waveforms",
        *sorted(str(p) for p in (BUNDLED_CHILE / "waveforms").glob("*.mseed")),
        "--inventory",
        str(inventory),
        "--event",
        str(BUNDLED_CHILE / "event.xml"),
    ]


def test_extract_bundled_real_event_with_the_default_model(tmp_path) -> None:
    out = tmp_path / "RESULT.json"
    run = symae(
        "extract", *chile_args(BUNDLED_CHILE / "stations.xml"), "--out", str(out), "--steps", "5"
    )
    assert run.returncode == 0, run.stderr
    doc = json.loads(out.read_text())
    assert (
        doc["quality"]["n_traces"] >= 40 and "response_not_removed" not in doc["quality"]["flags"]
    )


def test_extract_records_without_response_only_when_asked(tiny_model, tmp_path) -> None:
    from obspy import read_inventory

    inventory = read_inventory(str(BUNDLED_CHILE / "stations.xml"))
    for channel in (c for n in inventory for s in n for c in s):
        channel.response = None
    xml = tmp_path / "stations.xml"
    inventory.write(str(xml), format="STATIONXML")
    out = tmp_path / "RESULT.json"
    common = [*chile_args(xml), "--out", str(out), "--model", str(tiny_model), "--steps", "5"]
    refused = symae("extract", *common)
    assert refused.returncode != 0 and "no response" in refused.stderr
    run = symae("extract", *common, "--no-response")
    assert run.returncode == 0, run.stderr
    doc = json.loads(out.read_text())
    assert "response_not_removed" in doc["quality"]["flags"]
    assert len(doc["provenance"]["input"]["response_not_removed"]) == doc["quality"]["n_traces"]
