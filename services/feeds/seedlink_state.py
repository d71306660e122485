"""The SeedLink feed's state file: where to resume each station and what is already sent.

One JSON object (``docs/feeds.md``, "State file"), written atomically (a temporary file
in the same folder, flushed and fsynced, then renamed over the old one), so a crash
leaves either the previous or the new state, never half of one::

    {
      "format": "symae-seedlink-state",
      "version": 1,
      "server": "rtserve.iris.washington.edu:18000",
      "stations": {"IU.ANMO": 1234567, ...},
      "events": {
        "<event id>": {
          "origin": { ...the OriginMessage as published... },
          "published": ["IU.ANMO.00.BHZ", ...],
          "dropped": ["II.BFO.00.BHZ", ...]
        }
      }
    }

``stations``: per ``NET.STA`` the SeedLink sequence number after which the feed asks for
data again (``DATA <seq+1>``); every packet after it may still be needed, every packet up
to it is not. ``events``: each announced event whose origin went out, with the channels
whose record went out (``published``) or was given up without data (``dropped``). A
restart publishes no origin and no record listed here again and re-reads from the
stations' sequence numbers whatever it still needs.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from symae.errors import SymaeError

FORMAT = "symae-seedlink-state"
VERSION = 1


class StateFileError(SymaeError, ValueError):
    """The state file exists but is not a state file this version reads."""


@dataclass
class EventProgress:
    """One announced event: its origin (as published) and the channels already done."""

    origin: dict[str, Any]
    published: set[str] = field(default_factory=set)
    dropped: set[str] = field(default_factory=set)

    def done(self, seed_id: str) -> bool:
        return seed_id in self.published or seed_id in self.dropped


@dataclass
class FeedState:
    """What survives a restart (module docstring); ``save`` writes it atomically."""

    server: str
    stations: dict[str, int] = field(default_factory=dict)  # "NET.STA" -> resume sequence
    events: dict[str, EventProgress] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path, server: str) -> FeedState:
        """The state at ``path``, or an empty one when there is no file yet.

        A file written for another SeedLink server keeps its events (nothing is sent
        twice) but not its sequence numbers, which mean nothing to another server.
        """
        if not path.exists():
            return cls(server=server)
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise StateFileError(f"state file {path}: not readable JSON: {exc}") from exc
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise StateFileError(f"state file {path}: not a {FORMAT} file")
        if doc.get("version") != VERSION:
            raise StateFileError(
                f"state file {path}: version {doc.get('version')!r}, this feed reads {VERSION}"
            )
        try:
            stations = {str(k): int(v) for k, v in doc.get("stations", {}).items()}
            events = {
                str(eid): EventProgress(
                    origin=dict(ev["origin"]),
                    published=set(map(str, ev.get("published", []))),
                    dropped=set(map(str, ev.get("dropped", []))),
                )
                for eid, ev in doc.get("events", {}).items()
            }
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise StateFileError(f"state file {path}: malformed entry: {exc}") from exc
        if doc.get("server") != server:
            stations = {}
        return cls(server=server, stations=stations, events=events)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "server": self.server,
            "stations": dict(sorted(self.stations.items())),
            "events": {
                eid: {
                    "origin": ev.origin,
                    "published": sorted(ev.published),
                    "dropped": sorted(ev.dropped),
                }
                for eid, ev in sorted(self.events.items())
            },
        }

    def save(self, path: Path) -> None:
        """Write the state atomically (temporary file, fsync, rename)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        data = json.dumps(self.to_dict(), indent=1).encode()
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        try:  # the rename itself survives a power cut only once the folder is synced
            dir_fd = os.open(path.parent, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
