"""The symae HDF5 data-set format: event -> focal-sphere pixel -> traces.

Layout (documented for users in ``docs/data-format.md``)::

    /                      attrs: format, format_version, created, code_version, provenance (JSON)
    /events/<event_id>     attrs: origin fields, provenance (JSON)
        truth/             optional (synthetic events): stf (nt,), attrs t0, dt, ...
        pixels/<pixel>     one group of traces sharing a HEALPix pixel
            traces         float32 (n, nt)
            station_id     utf-8 strings (n,)
            <field>        one (n,) array per per-trace field (TRACE_FIELDS)
            truth_<name>   optional (n,) per-trace ground truth (path parameters)

Events are appended without rewriting the file; readers open files lazily and load one
group at a time, so training never needs the whole set in memory.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from symae.contract import DataContract
from symae.data.events import Origin
from symae.errors import SymaeError
from symae.version import __version__

FORMAT_NAME = "symae-dataset"
FORMAT_VERSION = 1

# per-trace fields stored beside the traces of a pixel group: name -> dtype
TRACE_FIELDS: dict[str, Any] = {
    "station_lat": np.float64,
    "station_lon": np.float64,
    "distance_deg": np.float64,
    "azimuth_deg": np.float64,
    "takeoff_deg": np.float64,
    "p_time": np.float64,  # predicted P arrival, POSIX seconds (UTC)
    "snr": np.float32,
    "polarity": np.int8,  # +1 kept, -1 flipped by the event-level polarity correction
}


class DatasetError(SymaeError, ValueError):
    """A data-set file is missing, malformed or of an unknown format version."""


@dataclass
class TraceGroup:
    """The traces of one (event, pixel) group and their per-trace metadata."""

    event_id: str
    pixel: int
    traces: np.ndarray  # (n, nt) float32
    station_id: list[str]
    fields: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (n,)
    truth: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (n,)

    def __post_init__(self) -> None:
        self.traces = np.asarray(self.traces, dtype=np.float32)
        n = self.traces.shape[0]
        if self.traces.ndim != 2:
            raise ValueError(f"traces must be (n, nt), got shape {self.traces.shape}")
        if len(self.station_id) != n:
            raise ValueError(f"{len(self.station_id)} station ids for {n} traces")
        for name, values in {**self.fields, **self.truth}.items():
            if len(values) != n:
                raise ValueError(f"field {name!r} has {len(values)} values for {n} traces")

    def __len__(self) -> int:
        return self.traces.shape[0]


@dataclass
class EventData:
    """One event: its origin, its pixel groups and, for synthetic events, the truth."""

    origin: Origin
    groups: dict[int, TraceGroup]
    truth_stf: np.ndarray | None = None  # (nt,) on the model time axis
    truth_attrs: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def event_id(self) -> str:
        return self.origin.event_id

    @property
    def n_traces(self) -> int:
        return sum(len(g) for g in self.groups.values())


@dataclass(frozen=True)
class GroupRef:
    """Where a group lives: enough to load it later without holding its data."""

    file_index: int
    event_id: str
    pixel: int
    n_traces: int


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class DatasetWriter:
    """Append events to an HDF5 data set, creating it if needed."""

    def __init__(
        self,
        path: str | Path,
        contract: DataContract,
        provenance: dict[str, Any] | None = None,
    ) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = h5py.File(self.path, "a")
        root = self._file.attrs
        if "format" in root:
            _check_format(self._file, self.path)
            existing = DataContract.from_dict(json.loads(root["contract"]))
            if existing != contract:
                raise DatasetError(f"{self.path}: data contract {existing} differs from {contract}")
        else:
            root["format"] = FORMAT_NAME
            root["format_version"] = FORMAT_VERSION
            root["created"] = _now()
            root["code_version"] = __version__
            root["contract"] = json.dumps(contract.to_dict())
            root["provenance"] = json.dumps(provenance or {})
        self.contract = contract

    def __enter__(self) -> DatasetWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._file:
            self._file.close()

    def __contains__(self, event_id: str) -> bool:
        return f"events/{event_id}" in self._file

    def write_event(self, event: EventData, overwrite: bool = False) -> None:
        """Write one event; refuses to replace an existing one unless ``overwrite``."""
        key = f"events/{event.event_id}"
        if key in self._file:
            if not overwrite:
                raise DatasetError(f"{self.path}: event {event.event_id!r} already present")
            del self._file[key]
        grp = self._file.create_group(key)
        for name, value in event.origin.to_attrs().items():
            grp.attrs[name] = value
        grp.attrs["provenance"] = json.dumps(event.provenance)
        grp.attrs["written"] = _now()
        if event.truth_stf is not None:
            truth = grp.create_group("truth")
            truth.create_dataset("stf", data=np.asarray(event.truth_stf, dtype=np.float32))
            truth.attrs["t0"] = self.contract.t0
            truth.attrs["dt"] = self.contract.dt
            for name, value in event.truth_attrs.items():
                if value is None:  # HDF5 has no null: an absent attribute reads as absent
                    continue
                truth.attrs[name] = json.dumps(value) if isinstance(value, dict | list) else value
        pixels = grp.create_group("pixels")
        for pixel, tg in sorted(event.groups.items()):
            self.contract.check_traces(tg.traces)
            pg = pixels.create_group(str(int(pixel)))
            pg.attrs["pixel"] = int(pixel)
            pg.create_dataset("traces", data=tg.traces, compression="gzip", compression_opts=4)
            pg.create_dataset("station_id", data=np.array(tg.station_id, dtype=h5py.string_dtype()))
            for name, values in tg.fields.items():
                pg.create_dataset(name, data=np.asarray(values, dtype=TRACE_FIELDS.get(name)))
            for name, values in tg.truth.items():
                pg.create_dataset(f"truth_{name}", data=np.asarray(values))
        self._file.flush()


def _check_format(f: h5py.File, path: Path) -> None:
    if f.attrs.get("format") != FORMAT_NAME:
        raise DatasetError(f"{path}: not a symae data set (format={f.attrs.get('format')!r})")
    version = int(f.attrs.get("format_version", -1))
    if version != FORMAT_VERSION:
        raise DatasetError(f"{path}: format version {version}, this code reads {FORMAT_VERSION}")


def _read_group(f: h5py.File, event_id: str, pixel: int) -> TraceGroup:
    pg = f[f"events/{event_id}/pixels/{pixel}"]
    fields, truth = {}, {}
    for name, ds in pg.items():
        if name in ("traces", "station_id"):
            continue
        if name.startswith("truth_"):
            truth[name[len("truth_") :]] = ds[()]
        else:
            fields[name] = ds[()]
    return TraceGroup(
        event_id=event_id,
        pixel=int(pixel),
        traces=pg["traces"][()],
        station_id=[s.decode() if isinstance(s, bytes) else str(s) for s in pg["station_id"][()]],
        fields=fields,
        truth=truth,
    )


class Dataset:
    """Read one or several data-set files lazily.

    ``index(min_traces)`` lists the groups without loading traces; ``read_group`` loads
    one. Files are opened on first use and kept open; the object is safe to use from
    one thread at a time per file (a lock guards h5py).
    """

    def __init__(self, paths: str | Path | Sequence[str | Path]) -> None:
        if isinstance(paths, str | Path):
            paths = [paths]
        self.paths = [Path(p) for p in paths]
        if not self.paths:
            raise DatasetError("no data-set files given")
        for p in self.paths:
            if not p.is_file():
                raise DatasetError(f"data set not found: {p}")
        self._files: dict[int, h5py.File] = {}
        self._lock = threading.Lock()
        contracts = {json.dumps(self._file(i).attrs["contract"]) for i in range(len(self.paths))}
        if len(contracts) != 1:
            raise DatasetError(f"files disagree on the data contract: {sorted(contracts)}")
        self.contract = DataContract.from_dict(json.loads(self._file(0).attrs["contract"]))

    def _file(self, i: int) -> h5py.File:
        if i not in self._files:
            f = h5py.File(self.paths[i], "r")
            _check_format(f, self.paths[i])
            self._files[i] = f
        return self._files[i]

    def __enter__(self) -> Dataset:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for f in self._files.values():
            f.close()
        self._files.clear()

    def provenance(self, file_index: int = 0) -> dict[str, Any]:
        return json.loads(self._file(file_index).attrs.get("provenance", "{}"))

    def _locate(self, event_id: str) -> int:
        for i in range(len(self.paths)):
            if f"events/{event_id}" in self._file(i):
                return i
        raise KeyError(f"event {event_id!r} not in {[str(p) for p in self.paths]}")

    def event_ids(self) -> list[str]:
        """Event ids in file order, then sorted within each file."""
        ids: list[str] = []
        for i in range(len(self.paths)):
            ids.extend(sorted(self._file(i).get("events", {}).keys()))
        return ids

    def origin(self, event_id: str) -> Origin:
        return Origin.from_attrs(self._file(self._locate(event_id))[f"events/{event_id}"].attrs)

    def index(self, min_traces: int = 1) -> list[GroupRef]:
        """All groups with at least ``min_traces`` traces, without loading any trace."""
        refs = []
        for i in range(len(self.paths)):
            events = self._file(i).get("events", {})
            for event_id in sorted(events.keys()):
                for name, pg in events[event_id]["pixels"].items():
                    n = pg["traces"].shape[0]
                    if n >= min_traces:
                        refs.append(GroupRef(i, event_id, int(name), n))
        return refs

    def read_group(self, ref: GroupRef) -> TraceGroup:
        with self._lock:
            return _read_group(self._file(ref.file_index), ref.event_id, ref.pixel)

    def iter_groups(self, min_traces: int = 1) -> Iterator[TraceGroup]:
        """Yield groups one at a time (only one group's traces in memory)."""
        for ref in self.index(min_traces):
            yield self.read_group(ref)

    def event(self, event_id: str) -> EventData:
        """Load a whole event: origin, every pixel group and the truth when present."""
        i = self._locate(event_id)
        f = self._file(i)
        grp = f[f"events/{event_id}"]
        with self._lock:
            groups = {int(p): _read_group(f, event_id, int(p)) for p in grp["pixels"].keys()}
            truth_stf, truth_attrs = None, {}
            if "truth" in grp:
                truth_stf = grp["truth/stf"][()]
                truth_attrs = {k: _maybe_json(v) for k, v in grp["truth"].attrs.items()}
        return EventData(
            origin=Origin.from_attrs(grp.attrs),
            groups=groups,
            truth_stf=truth_stf,
            truth_attrs=truth_attrs,
            provenance=json.loads(grp.attrs.get("provenance", "{}")),
        )


def _maybe_json(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    if isinstance(value, np.generic):
        return value.item()
    return value
