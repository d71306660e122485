"""Fixtures of the data tests: the real II.BFO record of the 2018 Gulf of Alaska event."""

from __future__ import annotations

from pathlib import Path

import obspy
import pytest

from symae.data.events import Origin

EVENT_DIR = "FCTs_20180123_093140_GULF_OF_ALASKA"


@pytest.fixture(scope="session")
def gulf_origin(scardec_root: Path) -> Origin:
    """Origin of the Mw 7.9 Gulf of Alaska event from its SCARDEC file header."""
    fct = next((scardec_root / EVENT_DIR).glob("fctoptsource_*"))
    line1, line2 = fct.read_text().splitlines()[:2]
    y, mo, d, h, mi, s, lat, lon = line1.split()
    return Origin(
        event_id="gulf_of_alaska_2018",
        time=f"{y}-{mo}-{d}T{h}:{mi}:{float(s):06.3f}Z",
        latitude=float(lat),
        longitude=float(lon),
        depth_km=float(line2.split()[0]),
        magnitude=float(line2.split()[2]),
    )


@pytest.fixture(scope="session")
def _bfo_stream(bfo_dir: Path) -> obspy.Stream:
    return obspy.read(str(bfo_dir / "*.mseed"))


@pytest.fixture(scope="session")
def _bfo_inventory(bfo_dir: Path) -> obspy.Inventory:
    return obspy.read_inventory(str(bfo_dir / "II.BFO.xml"))


@pytest.fixture
def bfo_stream(_bfo_stream: obspy.Stream) -> obspy.Stream:
    """The three components (a fresh copy per test)."""
    return _bfo_stream.copy()


@pytest.fixture
def bfo_z(_bfo_stream: obspy.Stream) -> obspy.Trace:
    """The vertical component (a fresh copy per test)."""
    return _bfo_stream.select(component="Z")[0].copy()


@pytest.fixture
def bfo_inventory(_bfo_inventory: obspy.Inventory) -> obspy.Inventory:
    """The station's StationXML (a fresh copy per test, safe to edit)."""
    return _bfo_inventory.copy()
