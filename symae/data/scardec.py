"""Readers for the SCARDEC source-time-function database and Global CMT solutions.

A SCARDEC event folder ``FCTs_<YYYYMMDD>_<HHMMSS>_<REGION>/`` holds the optimal STF
(``fctoptsource_*``), the average STF (``fctmoysource_*``) and the matching Global CMT
solution (``CMTSOLUTION``). The STF files start with two header lines::

    YYYY MM DD HH MM SS.S lat lon                       (NEIC origin)
    depth_km M0_Nm Mw strike1 dip1 rake1 strike2 dip2 rake2

followed by one ``time_s moment_rate_Nm_per_s`` pair per line, time relative to the
origin. CMTSOLUTION moment-tensor components are in dyne cm and converted to N m here.

numpy only: this module is on the serving path (the SCARDEC benchmark reads it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from symae.data.events import Origin
from symae.errors import SymaeError

DYNE_CM_TO_NM = 1e-7
MT_KEYS = ("Mrr", "Mtt", "Mpp", "Mrt", "Mrp", "Mtp")
FOLDER_PATTERN = re.compile(r"^FCTs_(\d{8})_(\d{6})_(.+)$")


class ScardecError(SymaeError, ValueError):
    """A SCARDEC or CMTSOLUTION file is missing or malformed."""


@dataclass(frozen=True)
class ScardecSTF:
    """One SCARDEC moment-rate function and its header."""

    time: datetime  # NEIC origin time, UTC
    latitude: float
    longitude: float
    depth_km: float
    m0: float  # N m
    mw: float
    planes: tuple[tuple[float, float, float], tuple[float, float, float]]  # (strike, dip, rake) x2
    t: np.ndarray  # s relative to the origin time
    moment_rate: np.ndarray  # N m / s

    @property
    def integral(self) -> float:
        """Moment released by the STF (trapezoid rule), N m."""
        return float(np.trapezoid(self.moment_rate, self.t))


@dataclass(frozen=True)
class CmtSolution:
    """A Global CMT solution: PDE hypocentre line plus centroid and moment tensor."""

    event_name: str
    hypocenter_time: datetime
    hypocenter_latitude: float
    hypocenter_longitude: float
    hypocenter_depth_km: float
    time_shift: float  # s, centroid time minus hypocentre time
    half_duration: float  # s
    latitude: float  # centroid
    longitude: float
    depth_km: float
    moment_tensor: dict[str, float]  # N m, keys MT_KEYS (GCMT r, theta, phi convention)

    @property
    def m0(self) -> float:
        """Scalar moment, N m (Silver & Jordan: sqrt(sum M_ij^2 / 2))."""
        m = self.moment_tensor
        return float(
            np.sqrt(
                (m["Mrr"] ** 2 + m["Mtt"] ** 2 + m["Mpp"] ** 2) / 2
                + m["Mrt"] ** 2
                + m["Mrp"] ** 2
                + m["Mtp"] ** 2
            )
        )


@dataclass(frozen=True)
class ScardecEvent:
    """One SCARDEC folder: its optimal STF and its CMT solution."""

    folder: Path
    stf: ScardecSTF
    cmt: CmtSolution

    @property
    def event_id(self) -> str:
        """``scardec_YYYYMMDD_HHMMSS``, unique within the database."""
        m = FOLDER_PATTERN.match(self.folder.name)
        assert m is not None  # list_events only accepts matching folders
        return f"scardec_{m.group(1)}_{m.group(2)}"

    @property
    def region(self) -> str:
        m = FOLDER_PATTERN.match(self.folder.name)
        assert m is not None
        return re.sub(r"_+", " ", m.group(3)).strip()

    def origin(self) -> Origin:
        """Origin at the PDE hypocentre (the STF's time zero) with the CMT moment tensor."""
        return Origin(
            event_id=self.event_id,
            time=self.stf.time.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            latitude=self.cmt.hypocenter_latitude,
            longitude=self.cmt.hypocenter_longitude,
            depth_km=self.cmt.hypocenter_depth_km,
            magnitude=self.stf.mw,
            magnitude_type="Mw",
            region=self.region,
            moment_tensor=dict(self.cmt.moment_tensor),
        )


def _floats(line: str, n: int, path: Path, what: str) -> list[float]:
    parts = line.split()
    if len(parts) < n:
        raise ScardecError(f"{path}: {what} line needs {n} numbers, got {line.strip()!r}")
    try:
        return [float(p) for p in parts[:n]]
    except ValueError as exc:
        raise ScardecError(f"{path}: bad number in {what} line {line.strip()!r}") from exc


def read_stf(path: str | Path) -> ScardecSTF:
    """Read a SCARDEC ``fctoptsource_*`` or ``fctmoysource_*`` file."""
    path = Path(path)
    lines = path.read_text().splitlines()
    if len(lines) < 4:
        raise ScardecError(f"{path}: {len(lines)} lines, expected two header lines and samples")
    y, mo, d, h, mi, s, lat, lon = _floats(lines[0], 8, path, "origin")
    depth, m0, mw, *planes = _floats(lines[1], 9, path, "source")
    time = datetime(int(y), int(mo), int(d), int(h), int(mi), tzinfo=UTC) + timedelta(seconds=s)
    try:
        samples = np.loadtxt(lines[2:], dtype=np.float64, ndmin=2)
    except ValueError as exc:
        raise ScardecError(f"{path}: unreadable samples: {exc}") from exc
    if samples.shape[1] != 2:
        raise ScardecError(f"{path}: samples have {samples.shape[1]} columns, expected 2")
    t, rate = samples[:, 0], samples[:, 1]
    if np.any(np.diff(t) <= 0):
        raise ScardecError(f"{path}: sample times are not increasing")
    return ScardecSTF(
        time=time,
        latitude=lat,
        longitude=lon,
        depth_km=depth,
        m0=m0,
        mw=mw,
        planes=(tuple(planes[:3]), tuple(planes[3:])),  # type: ignore[arg-type]
        t=t,
        moment_rate=rate,
    )


def read_cmtsolution(path: str | Path) -> CmtSolution:
    """Read a Global CMT ``CMTSOLUTION`` file (moment tensor converted to N m)."""
    path = Path(path)
    lines = path.read_text().splitlines()
    if not lines:
        raise ScardecError(f"{path}: empty CMTSOLUTION")
    head = lines[0].split()
    if len(head) < 10:
        raise ScardecError(f"{path}: hypocentre line too short: {lines[0]!r}")
    try:
        y, mo, d, h, mi = (int(v) for v in head[1:6])
        sec, lat, lon, depth = (float(v) for v in head[6:10])
    except ValueError as exc:
        raise ScardecError(f"{path}: bad hypocentre line {lines[0]!r}") from exc
    values: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            key, value = line.split(":", 1)
            values[key.strip()] = value.strip()
    needed = (
        "event name",
        "time shift",
        "half duration",
        "latitude",
        "longitude",
        "depth",
        *MT_KEYS,
    )
    missing = [k for k in needed if k not in values]
    if missing:
        raise ScardecError(f"{path}: missing fields {missing}")
    try:
        mt = {k: float(values[k]) * DYNE_CM_TO_NM for k in MT_KEYS}
        return CmtSolution(
            event_name=values["event name"],
            hypocenter_time=datetime(y, mo, d, h, mi, tzinfo=UTC) + timedelta(seconds=sec),
            hypocenter_latitude=lat,
            hypocenter_longitude=lon,
            hypocenter_depth_km=depth,
            time_shift=float(values["time shift"]),
            half_duration=float(values["half duration"]),
            latitude=float(values["latitude"]),
            longitude=float(values["longitude"]),
            depth_km=float(values["depth"]),
            moment_tensor=mt,
        )
    except ValueError as exc:
        raise ScardecError(f"{path}: bad number: {exc}") from exc


def read_event(folder: str | Path) -> ScardecEvent:
    """Read one ``FCTs_*`` folder (optimal STF and CMTSOLUTION)."""
    folder = Path(folder)
    if not FOLDER_PATTERN.match(folder.name):
        raise ScardecError(f"{folder}: not a SCARDEC folder name (FCTs_YYYYMMDD_HHMMSS_REGION)")
    stf_files = sorted(folder.glob("fctoptsource_*"))
    if len(stf_files) != 1:
        raise ScardecError(f"{folder}: expected one fctoptsource_* file, found {len(stf_files)}")
    cmt = folder / "CMTSOLUTION"
    if not cmt.is_file():
        raise ScardecError(f"{folder}: no CMTSOLUTION")
    return ScardecEvent(folder=folder, stf=read_stf(stf_files[0]), cmt=read_cmtsolution(cmt))


def list_events(root: str | Path, limit: int | None = None) -> list[ScardecEvent]:
    """All SCARDEC events under ``root`` in origin-time order; the first ``limit`` if given."""
    root = Path(root)
    if not root.is_dir():
        raise ScardecError(f"SCARDEC folder not found: {root}")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and FOLDER_PATTERN.match(p.name))
    if not folders:
        raise ScardecError(f"{root}: no FCTs_* folders")
    if limit is not None and limit < 1:
        raise ScardecError(f"limit must be >= 1, got {limit}")
    events = sorted((read_event(f) for f in folders), key=lambda e: e.stf.time)
    return events[:limit] if limit is not None else events
