"""The bundle archive: day shards in the symae HDF5 data-set format, bounded in size.

Layout (``docs/services.md``, "Archive")::

    <root>/YYYY/MM/DD.h5     one data set (docs/data-format.md) per UTC day of archiving
    <root>/index.json        event id -> {"shard", "revision", "written"}

A shard is never modified in place: the archiver copies it, appends the event and renames
the copy over the original, so a reader (``symae retrain``) holding the file open keeps a
consistent old version and never sees a half-written file. An event archived again (a
later revision, or a re-delivery after a restart) replaces its earlier entry when it lands
in the same shard; in another shard the index points to the newest, and readers keep the
highest revision of an event id (:func:`archived_events`).

Retention: after every write, shards whose day is more than ``max_days`` before today are
deleted, then the oldest shards until the archive holds at most ``max_bytes`` (the shard
just written is always kept).

Only local folders are supported (a path or a ``file://`` URL). An object store
(``s3://``, ``gs://``, ...) would need ``fsspec`` and its backend; it is refused with a
one-line error rather than pulled in as a dependency.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from symae.contract import DataContract
from symae.data.dataset import Dataset, DatasetWriter, EventData

log = logging.getLogger(__name__)

INDEX = "index.json"


class ArchiveError(ValueError):
    """The archive location cannot be used."""


def local_root(url: str | Path) -> Path:
    """The folder of an archive URL: a plain path or ``file://``; others are refused."""
    text = str(url)
    parsed = urlparse(text)
    if parsed.scheme in ("", "file") or (len(parsed.scheme) == 1 and text[1:3] == ":\\"):
        if parsed.scheme == "file":
            if parsed.netloc not in ("", "localhost"):
                raise ArchiveError(f"archive URL {text!r}: file:// URLs must name a local path")
            return Path(unquote(parsed.path))
        return Path(text)
    raise ArchiveError(
        f"archive URL {text!r}: scheme {parsed.scheme!r} is not supported; only local folders "
        "(a path or file://). Object stores need fsspec and its backend, which symae does not "
        "install; mount the bucket (e.g. s3fs, gcsfuse) and give its path instead"
    )


def shard_path(root: Path, when: datetime) -> Path:
    return root / f"{when:%Y}" / f"{when:%m}" / f"{when:%d}.h5"


def shard_day(root: Path, path: Path) -> datetime | None:
    """The UTC day of a shard path (None when the path is not a shard)."""
    try:
        rel = path.relative_to(root).with_suffix("").parts
        return datetime(int(rel[0]), int(rel[1]), int(rel[2]), tzinfo=UTC)
    except (ValueError, IndexError):
        return None


def list_shards(root: str | Path) -> list[Path]:
    """Every shard of an archive, oldest first."""
    root = Path(root)
    found = [p for p in root.glob("[0-9]*/[0-9]*/[0-9]*.h5") if shard_day(root, p) is not None]
    return sorted(found, key=lambda p: shard_day(root, p))  # type: ignore[arg-type,return-value]


@dataclass(frozen=True)
class Written:
    """What one :meth:`ArchiveStore.write` did."""

    shard: Path | None  # None: skipped (an equal or newer revision is archived)
    deleted: list[Path]


class ArchiveStore:
    """Append events to today's shard atomically and keep the archive within its bounds."""

    def __init__(self, url: str | Path, max_bytes: int, max_days: int, clock: Any = None) -> None:
        self.root = local_root(url)
        self.root.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self.max_days = max_days
        self._clock = clock or (lambda: datetime.now(UTC))
        self.index: dict[str, dict[str, Any]] = self._read_index()

    def _read_index(self) -> dict[str, dict[str, Any]]:
        path = self.root / INDEX
        if not path.is_file():
            return {}
        try:
            return dict(json.loads(path.read_text()))
        except (json.JSONDecodeError, TypeError, ValueError):
            log.warning("%s unreadable; rebuilding the index from the shards", path)
            return self._rebuild_index()

    def _rebuild_index(self) -> dict[str, dict[str, Any]]:
        index: dict[str, dict[str, Any]] = {}
        for shard in list_shards(self.root):
            with Dataset(shard) as ds:
                for event_id in ds.event_ids():
                    rev = int(ds.event(event_id).provenance.get("revision", 0))
                    index[event_id] = {"shard": str(shard.relative_to(self.root)), "revision": rev}
        return index

    def _write_index(self) -> None:
        tmp = self.root / (INDEX + ".tmp")
        tmp.write_text(json.dumps(self.index, indent=1, sort_keys=True) + "\n")
        tmp.replace(self.root / INDEX)

    def archived_revision(self, event_id: str) -> int | None:
        entry = self.index.get(event_id)
        if entry is None or not (self.root / entry["shard"]).is_file():
            return None
        return int(entry["revision"])

    def write(self, event: EventData, contract: DataContract, revision: int) -> Written:
        """Archive ``event`` (revision ``revision``) unless an equal or newer one is."""
        done = self.archived_revision(event.event_id)
        if done is not None and done >= revision:
            return Written(None, [])
        now = self._clock()
        shard = shard_path(self.root, now)
        shard.parent.mkdir(parents=True, exist_ok=True)
        tmp = shard.with_name(f".{shard.name}.{os.getpid()}.tmp")
        if shard.exists():
            shutil.copyfile(shard, tmp)
        provenance = {"archive": {"source": "symae serve archive"}}
        with DatasetWriter(tmp, contract, provenance) as out:
            out.write_event(event, overwrite=True)
        tmp.replace(shard)
        self.index[event.event_id] = {
            "shard": str(shard.relative_to(self.root)),
            "revision": revision,
            "written": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        deleted = self.enforce_retention(keep=shard)
        self._write_index()
        return Written(shard, deleted)

    def total_bytes(self) -> int:
        return sum(p.stat().st_size for p in list_shards(self.root))

    def enforce_retention(self, keep: Path | None = None) -> list[Path]:
        """Delete shards past ``max_days``, then the oldest past ``max_bytes``."""
        shards = list_shards(self.root)
        today = self._clock().replace(hour=0, minute=0, second=0, microsecond=0)
        cutoff = today - timedelta(days=self.max_days)
        doomed = [p for p in shards if p != keep and shard_day(self.root, p) < cutoff]  # type: ignore[operator]
        left = [p for p in shards if p not in doomed]
        total = sum(p.stat().st_size for p in left)
        for p in left:
            if total <= self.max_bytes:
                break
            if p == keep:
                continue
            doomed.append(p)
            total -= p.stat().st_size
        for p in doomed:
            p.unlink(missing_ok=True)
            log.info("archive retention: deleted %s", p)
        gone = {str(p.relative_to(self.root)) for p in doomed}
        if gone:
            self.index = {k: v for k, v in self.index.items() if v["shard"] not in gone}
        return doomed


def archived_events(root: str | Path) -> dict[str, tuple[Path, int]]:
    """Event id -> (shard, revision) of the highest revision of each archived event."""
    root = local_root(root)
    best: dict[str, tuple[Path, int]] = {}
    for shard in list_shards(root):
        with Dataset(shard) as ds:
            for event_id in ds.event_ids():
                grp = ds._file(0)[f"events/{event_id}"]
                rev = int(json.loads(grp.attrs.get("provenance", "{}")).get("revision", 0))
                if event_id not in best or rev >= best[event_id][1]:
                    best[event_id] = (shard, rev)
    return best
