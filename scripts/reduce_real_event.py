#!/usr/bin/env python
"""Rebuild the bundled reduced Chile 2010 event from the full 300-station set.

Usage:  python scripts/reduce_real_event.py [SRC] [OUT] [--n 60]

SRC  the full event folder (default ``$SYMAE_EXTERNAL_DATA/real_events/chile_2010-03-04_mw6.3``)
OUT  the reduced folder (default ``symae/reference_data/chile_2010-03-04``)

Selection (deterministic, no randomness): greedy farthest-point sampling in
(azimuth, distance). Each station is a point (azimuth, 2 x distance) in degrees, the
azimuth difference taken on the circle (so 359 and 1 deg are 2 deg apart) and the
distance weighted 2x because the distance range (30-90 deg) is a sixth of the azimuth
range. The first pick is the station with the largest azimuthal gap to its neighbours
(ties: smallest SEED id); each next pick maximises the smallest separation to the
picks so far (ties: smallest SEED id). Every waveform is trimmed to predicted iasp91
P - 250 s .. P + 250 s (P from the source folder's stations.csv), keeping raw counts,
the original sampling rate and Steim-2 miniSEED; stations.xml keeps only the picked
channels (``Inventory.select``, full responses); event.xml is copied as it is.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import shutil
import sys
from pathlib import Path

import numpy as np
from obspy import Inventory, UTCDateTime, read, read_inventory

REPO = Path(__file__).resolve().parents[1]
SRC_NAME = "real_events/chile_2010-03-04_mw6.3"


def default_src() -> Path | None:
    """``$SYMAE_EXTERNAL_DATA/real_events/chile_2010-03-04_mw6.3``, or None when unset."""
    env = os.environ.get("SYMAE_EXTERNAL_DATA")
    return Path(env) / SRC_NAME if env else None


DEFAULT_OUT = REPO / "symae" / "reference_data" / "chile_2010-03-04"
PRE, POST = 250.0, 250.0  # s around predicted P
DIST_WEIGHT = 2.0


def separation(az: np.ndarray, dist: np.ndarray, i: int) -> np.ndarray:
    """Distance of every station to station ``i`` in (circular azimuth, weighted distance)."""
    daz = np.abs((az - az[i] + 180.0) % 360.0 - 180.0)
    return np.hypot(daz, DIST_WEIGHT * (dist - dist[i]))


def farthest_point(rows: list[dict], n: int) -> list[dict]:
    """``n`` rows spread in (azimuth, distance); see the module docstring for the rule."""
    rows = sorted(rows, key=lambda r: r["id"])
    if n >= len(rows):
        return rows
    az = np.array([float(r["azimuth_deg"]) for r in rows])
    dist = np.array([float(r["distance_deg"]) for r in rows])
    order = np.argsort(az, kind="stable")
    saz = az[order]
    gaps = np.diff(np.r_[saz[-1] - 360.0, saz, saz[0] + 360.0])
    isolation = np.empty(len(rows))
    isolation[order] = gaps[:-1] + gaps[1:]
    first = int(np.argmax(isolation))  # argmax takes the first (smallest id) of ties
    chosen = [first]
    dmin = separation(az, dist, first)
    while len(chosen) < n:
        nxt = int(np.argmax(dmin))
        chosen.append(nxt)
        dmin = np.minimum(dmin, separation(az, dist, nxt))
    return [rows[i] for i in sorted(chosen)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src", nargs="?", type=Path, default=None)
    ap.add_argument("out", nargs="?", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--n", type=int, default=60, help="stations to keep (default 60)")
    args = ap.parse_args(argv)
    args.src = args.src or default_src()
    if args.src is None:
        raise SystemExit("reduce_real_event: give SRC or set SYMAE_EXTERNAL_DATA")
    with open(args.src / "stations.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    picked = farthest_point(rows, args.n)
    wdir = args.out / "waveforms"
    if wdir.exists():
        shutil.rmtree(wdir)
    wdir.mkdir(parents=True)
    inventory = read_inventory(str(args.src / "stations.xml"))
    kept = Inventory(networks=[], source=inventory.source, sender=inventory.sender)
    for row in picked:
        seed_id = row["id"]
        net, sta, loc, cha = seed_id.split(".")
        p = UTCDateTime(row["p_iasp91"])
        st = read(str(args.src / "waveforms" / f"{seed_id}.mseed"))
        st.trim(p - PRE, p + POST, nearest_sample=True)
        if len(st) != 1:
            raise SystemExit(f"{seed_id}: expected one trace after trimming, got {len(st)}")
        st[0].data = st[0].data.astype(np.int32)
        st.write(str(wdir / f"{seed_id}.mseed"), format="MSEED", encoding="STEIM2", reclen=4096)
        kept += inventory.select(network=net, station=sta, location=loc, channel=cha)
    # one Network element per code, as in the source file
    merged: dict[str, object] = {}
    for network in kept.networks:
        if network.code in merged:
            merged[network.code].stations.extend(network.stations)
        else:
            merged[network.code] = network
    kept.networks = [merged[k] for k in sorted(merged)]
    xml_path = args.out / "stations.xml"
    kept.write(str(xml_path), format="STATIONXML")
    # ObsPy stamps <Created> with the writing time; keep the source's, so rebuilds are identical
    text = xml_path.read_text()
    text = re.sub(
        r"<Created>[^<]*</Created>", f"<Created>{inventory.created}</Created>", text, count=1
    )
    xml_path.write_text(text)
    shutil.copyfile(args.src / "event.xml", args.out / "event.xml")
    with open(args.out / "stations.csv", "w", newline="") as fh:
        cols = [
            "id",
            "latitude",
            "longitude",
            "distance_deg",
            "azimuth_deg",
            "sampling_rate_hz",
            "p_iasp91",
        ]
        writer = csv.DictWriter(fh, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(picked)
    size = sum(f.stat().st_size for f in args.out.rglob("*") if f.is_file())
    rates: dict[str, int] = {}
    for row in picked:
        rates[row["sampling_rate_hz"]] = rates.get(row["sampling_rate_hz"], 0) + 1
    az = sorted(float(r["azimuth_deg"]) for r in picked)
    gap = max(np.diff(np.r_[az, az[0] + 360.0]))
    print(
        f"{len(picked)} stations, {len(kept.networks)} networks, rates {rates}, "
        f"largest azimuth gap {gap:.1f} deg, {size / 2**20:.2f} MiB in {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
