"""Where symae finds things on disk: the package, the repository and the reference data.

The reference data (118 SCARDEC source time functions, one real II.BFO record with its
StationXML and QuakeML) ship inside the package in ``symae/reference_data`` (see its
README for sources and citation), so a fresh clone or an installed wheel needs nothing
else. ``SYMAE_REFERENCE_DATA`` points at another folder with the same layout.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

PACKAGE_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = PACKAGE_DIR.parent
BUNDLED_REFERENCE_DIR = PACKAGE_DIR / "reference_data"
EXAMPLE_EVENT = "gulf_of_alaska_2018"
DOCS_DIR = REPO_ROOT / "docs"
SCHEMAS_DIR = DOCS_DIR / "schemas"  # published JSON Schemas of every message and file format


def reference_data_dir() -> Path:
    """The reference data folder: ``$SYMAE_REFERENCE_DATA`` or the one in the package.

    >>> from symae.data.reference import reference_data_dir
    >>> (reference_data_dir() / "scardec").is_dir()
    True
    """
    env = os.environ.get("SYMAE_REFERENCE_DATA")
    return Path(env) if env else BUNDLED_REFERENCE_DIR


def scardec_dir() -> Path:
    """The folder of SCARDEC event folders (``FCTs_*``)."""
    return reference_data_dir() / "scardec"


def real_waveforms_dir() -> Path:
    """The folder of real teleseismic records (one folder per event)."""
    return reference_data_dir() / "real_waveforms"


def recorded_event_dir() -> Path:
    """The bundled recorded event: 60 stations of the Mw 6.3 Chile earthquake of 2010-03-04
    (raw counts, full responses, QuakeML; see its README for sources and networks)."""
    return reference_data_dir() / "chile_2010-03-04"


def external_data_dir() -> Path | None:
    """Larger optional data sets that do not ship with the package (the full recorded
    events), where ``$SYMAE_EXTERNAL_DATA`` points; None when it is unset. Whoever uses it
    says so when they are absent."""
    env = os.environ.get("SYMAE_EXTERNAL_DATA")
    return Path(env) if env else None


def example_event_dir() -> Path:
    """The II.BFO record of the 2018 Gulf of Alaska earthquake (mseed, StationXML, QuakeML)."""
    return real_waveforms_dir() / EXAMPLE_EVENT


def example_event() -> tuple[Any, Any, Any]:
    """The bundled II.BFO record of the Mw 7.9 Gulf of Alaska earthquake of 2018-01-23
    as ObsPy objects: ``(stream, inventory, event)`` (raw counts, full response, the
    event with its SCARDEC hypocentre and Global CMT solution).

    >>> import symae
    >>> stream, inventory, event = symae.example_event()
    >>> sorted(tr.id for tr in stream)
    ['II.BFO.00.BHE', 'II.BFO.00.BHN', 'II.BFO.00.BHZ']
    >>> str(event.preferred_origin().time)
    '2018-01-23T09:31:40.000000Z'
    """
    from obspy import Stream, read, read_events, read_inventory

    folder = example_event_dir()
    stream = Stream()
    for path in sorted(folder.glob("*.mseed")):
        stream += read(str(path))
    inventory = read_inventory(str(folder / "II.BFO.xml"))
    event = read_events(str(folder / "event.xml"))[0]
    return stream, inventory, event
