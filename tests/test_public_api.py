"""The library API: ``import symae``, ``symae.extract_stf`` on ObsPy objects, products,
doctests of the public docstrings, and reference data found inside the package."""

from __future__ import annotations

import doctest
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import obspy
import pytest

import symae
from symae.cli import main
from symae.data.events import Origin
from symae.extract.coherent import LatentSettings
from symae.extract.extractor import ExtractionSettings, Extractor
from symae.extract.result import ExtractionResult

REPO = Path(__file__).resolve().parents[1]
DOCTEST_MODULES = [
    "symae",
    "symae.extract.api",
    "symae.data.reference",
    "symae.data.events",
]


@pytest.mark.parametrize("name", DOCTEST_MODULES)
def test_public_docstrings_run(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no doctest"
    assert result.failed == 0


def _python(code: str, cwd: Path, **env: str) -> str:
    environ = {
        k: v
        for k, v in os.environ.items()
        if k not in ("SYMAE_REFERENCE_DATA", "SYMAE_EXTERNAL_DATA")
    }
    environ["PYTHONPATH"] = str(REPO)
    environ.update(env)
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_import_is_lazy_and_torch_free(tmp_path: Path) -> None:
    out = _python(
        "import sys, symae; heavy = [m for m in ('torch', 'obspy', 'onnxruntime', 'scipy') "
        "if m in sys.modules]; print(heavy, sorted(symae.__all__))",
        tmp_path,
    )
    assert out.startswith("[] ")
    for name in (
        "extract_stf",
        "Extractor",
        "ExtractionResult",
        "DataContract",
        "__version__",
        "example_event",
    ):
        assert name in out
    assert symae.Extractor is Extractor and symae.ExtractionResult is ExtractionResult
    with pytest.raises(AttributeError):
        symae.no_such_name  # noqa: B018


def test_python_m_symae_runs_the_cli(tmp_path: Path) -> None:
    environ = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "symae", "--help"],
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and "usage: symae" in done.stdout


def test_reference_data_is_found_inside_the_package(tmp_path: Path) -> None:
    """Nothing beside the checkout: run from elsewhere with no override set."""
    out = _python(
        "import json; from symae.data import reference as r; "
        "print(json.dumps([str(p) for p in (r.reference_data_dir(), r.scardec_dir(), "
        "r.example_event_dir())]))",
        tmp_path,
    )
    package = (REPO / "symae").resolve()
    paths = [Path(p).resolve() for p in json.loads(out)]
    for path in paths:
        assert path.is_dir() and path.is_relative_to(package), path
    assert len(list(paths[1].glob("FCTs_*"))) == 118
    assert {p.suffix for p in paths[2].iterdir()} >= {".mseed", ".xml"}
    moved = _python(
        "from symae.data import reference as r; print(r.scardec_dir())",
        tmp_path,
        SYMAE_REFERENCE_DATA=str(tmp_path),
    )
    assert Path(moved.strip()) == tmp_path / "scardec"


# ---------------------------------------------------------------- extraction
@pytest.fixture(scope="module")
def extractor() -> Extractor:
    return Extractor.load(
        "default", "cpu", ExtractionSettings(latent=LatentSettings(steps=20), allow_sparse=True)
    )


@pytest.fixture(scope="module")
def bfo_result(extractor: Extractor) -> ExtractionResult:
    stream, inventory, event = symae.example_event()
    return extractor.extract(stream, inventory, event)


def test_extract_on_the_bundled_bfo_record(bfo_result: ExtractionResult) -> None:
    r = bfo_result
    assert r.event_id == "20180123_093140_GULF_OF_ALASKA"
    assert r.origin is not None and r.origin.time.startswith("2018-01-23T09:31:40")
    assert r.quality.n_traces == 1 and r.traces[0].id.startswith("II.BFO")
    assert r.times.shape == r.values.shape == r.lower.shape == r.upper.shape
    assert np.all(np.isfinite(r.values)) and np.isclose(np.abs(r.values).max(), 1.0)
    assert ExtractionResult.model_validate(r.to_dict()).to_dict() == r.to_dict()
    json.dumps(r.to_dict())


def test_scardec_text_round_trips_through_obspy(
    bfo_result: ExtractionResult, tmp_path: Path
) -> None:
    path = tmp_path / "fctoptsource_test"
    path.write_text(bfo_result.to_scardec())
    event = obspy.read_events(str(path), format="SCARDEC")[0]
    origin = event.preferred_origin() or event.origins[0]
    assert origin.time == obspy.UTCDateTime("2018-01-23T09:31:40")
    assert abs(origin.latitude - 56.004) < 1e-3 and abs(origin.longitude + 149.166) < 1e-3
    rate = event.focal_mechanisms[0].moment_tensor.source_time_function
    assert rate is not None


def test_quakeml_round_trips_through_obspy(bfo_result: ExtractionResult, tmp_path: Path) -> None:
    catalog = bfo_result.to_quakeml()
    assert isinstance(catalog, obspy.core.event.Catalog) and len(catalog) == 1
    path = tmp_path / "event.xml"
    path.write_text(bfo_result.to_quakeml(as_text=True))
    event = obspy.read_events(str(path))[0]
    back = Origin.from_obspy(event)
    assert back.event_id == bfo_result.event_id
    assert back.time.startswith("2018-01-23T09:31:40") and back.depth_km == pytest.approx(21.0)
    extra = event.focal_mechanisms[0].moment_tensor.source_time_function.extra
    rate = np.array(extra["moment_rate"]["value"].split(), dtype=float)
    assert rate.shape == bfo_result.values.shape and rate.max() > 0


def test_plot_returns_a_figure(bfo_result: ExtractionResult) -> None:
    from matplotlib.figure import Figure

    assert isinstance(bfo_result.plot(), Figure)


def test_catalog_needs_an_event_id_among_several(extractor: Extractor) -> None:
    stream, inventory, event = symae.example_event()
    other = Origin("other", "2018-01-23T10:00:00.000000Z", 0.0, 0.0, 10.0, 6.0).to_obspy()
    catalog = obspy.core.event.Catalog(events=[event, other])
    with pytest.raises(ValueError, match="expected one event, found 2"):
        extractor.prepare(stream, inventory, catalog)
    data = extractor.prepare(
        stream, inventory, catalog, event_id=event.resource_id.id.rsplit("/", 1)[-1]
    )
    assert data.event_id == "20180123_093140_GULF_OF_ALASKA"


def test_stream_without_inventory_is_refused_clearly(extractor: Extractor) -> None:
    stream, _, _ = symae.example_event()
    with pytest.raises(TypeError, match="Inventory"):
        extractor.extract(stream)


def test_extract_stf_on_a_synthetic_event(tmp_path: Path) -> None:
    """Generator output (miniSEED + StationXML + QuakeML) read back as ObsPy objects."""
    raw = tmp_path / "raw"
    assert (
        main(
            [
                "data",
                "synth",
                "--stf",
                "parametric",
                "--events",
                "1",
                "--stations",
                "20",
                "--seed",
                "7",
                "--depth",
                "100",
                "120",
                "--mw",
                "7",
                "7.5",
                "--out",
                str(tmp_path / "direct.h5"),
                "--mseed-dir",
                str(raw),
            ]
        )
        == 0
    )
    stream = obspy.read(str(raw / "waveforms" / "*.mseed"))
    inventory = obspy.read_inventory(str(raw / "stations.xml"))
    catalog = obspy.read_events(str(raw / "events.xml"))
    settings = ExtractionSettings(latent=LatentSettings(steps=20))
    result = symae.extract_stf(stream, inventory, catalog, provider="cpu", settings=settings)
    assert result.event_id == Origin.from_obspy(catalog[0]).event_id
    assert result.quality.n_traces > 5 and result.quality.n_pixels >= 1
    back = obspy.read_events(
        str(_write(tmp_path / "stf.txt", result.to_scardec())), format="SCARDEC"
    )
    assert len(back) == 1


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path
