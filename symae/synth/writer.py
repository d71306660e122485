"""Real-looking files for synthetic events: miniSEED, StationXML and QuakeML.

Layout under the output folder, ready for ``symae data build``::

    waveforms/<event_id>.mseed   velocity counts, STEIM2, one record per station
    stations.xml                 every station used, with its broadband response
    events.xml                   QuakeML catalogue (resource id ends with the event id)

``symae data build --waveforms DIR/waveforms --inventory DIR/stations.xml --events
DIR/events.xml --out FILE.h5`` then runs the real-data path on the same events.
"""

from __future__ import annotations

from pathlib import Path

from obspy.core.event import Catalog
from obspy.core.inventory import Inventory, Network

from symae.synth.generator import SyntheticEvent


class RecordWriter:
    """Write one event's miniSEED as it is made; StationXML and QuakeML on ``close``."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        (self.directory / "waveforms").mkdir(parents=True, exist_ok=True)
        self._networks: dict[str, Network] = {}
        self._stations: dict[tuple[str, str], object] = {}
        self._catalog = Catalog()

    @property
    def waveform_dir(self) -> Path:
        return self.directory / "waveforms"

    @property
    def inventory_path(self) -> Path:
        return self.directory / "stations.xml"

    @property
    def events_path(self) -> Path:
        return self.directory / "events.xml"

    def add(self, event: SyntheticEvent) -> Path:
        """Write the event's records; remember its stations and origin. Returns the file."""
        path = self.waveform_dir / f"{event.event_data.event_id}.mseed"
        event.stream.write(str(path), format="MSEED", encoding="STEIM2")
        for net in event.inventory:
            target = self._networks.setdefault(
                net.code, Network(code=net.code, stations=[], start_date=net.start_date)
            )
            for sta in net:
                if (net.code, sta.code) not in self._stations:
                    self._stations[(net.code, sta.code)] = sta
                    target.stations.append(sta)
        self._catalog.append(event.event)
        return path

    def close(self) -> None:
        """Write stations.xml and events.xml for everything added."""
        inventory = Inventory(
            networks=[self._networks[k] for k in sorted(self._networks)], source="symae synthetic"
        )
        inventory.write(str(self.inventory_path), format="STATIONXML")
        self._catalog.write(str(self.events_path), format="QUAKEML")

    def __enter__(self) -> RecordWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
