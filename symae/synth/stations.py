"""A synthetic global seismic network with the uneven coverage of real ones.

Real teleseismic coverage is clustered: dense regional networks on a few continents,
sparse islands elsewhere. ``StationNetwork.build`` draws cluster centres uniformly on
the sphere, gives each cluster a lognormal number of stations spread over a few to
fifteen degrees, and adds a sparse uniform background. Each event then records on a
random subset of the stations inside the teleseismic distance window, so its azimuthal
coverage inherits the clustering. The network is fixed by its seed: the same station
code always means the same place, across events and across runs.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

LETTERS = string.ascii_uppercase


@dataclass(frozen=True)
class StationNetwork:
    """Station codes and coordinates, arrays of the same length."""

    network: np.ndarray  # two-letter network codes
    station: np.ndarray  # station codes
    latitude: np.ndarray
    longitude: np.ndarray

    def __len__(self) -> int:
        return int(self.latitude.size)

    @classmethod
    def build(
        cls, seed: int, n_clusters: int = 40, n_stations: int = 3000, background: float = 0.1
    ) -> StationNetwork:
        """Clustered stations; ``background`` is the fraction spread uniformly."""
        if n_clusters < 1 or n_clusters > len(LETTERS) ** 2:
            raise ValueError(f"n_clusters must be in [1, {len(LETTERS) ** 2}], got {n_clusters}")
        if n_stations < n_clusters:
            raise ValueError(
                f"need at least one station per cluster, got {n_stations} for {n_clusters}"
            )
        rng = np.random.default_rng(seed)
        n_background = int(round(background * n_stations))
        weights = rng.lognormal(0.0, 1.0, n_clusters)
        sizes = np.maximum(1, np.floor(weights / weights.sum() * (n_stations - n_background)))
        sizes = sizes.astype(int)
        centre_lat, centre_lon = _uniform_sphere(rng, n_clusters)
        lat, lon, net, sta = [], [], [], []
        for c in range(n_clusters):
            radius = rng.uniform(2.0, 15.0)
            dist = np.abs(rng.normal(0.0, radius, sizes[c]))
            bearing = rng.uniform(0.0, 360.0, sizes[c])
            la, lo = destination(centre_lat[c], centre_lon[c], dist, bearing)
            lat.append(la)
            lon.append(lo)
            code = LETTERS[c // len(LETTERS)] + LETTERS[c % len(LETTERS)]
            net += [code] * sizes[c]
            sta += [f"S{k:03d}" for k in range(sizes[c])]
        la, lo = _uniform_sphere(rng, n_background)
        lat.append(la)
        lon.append(lo)
        net += ["ZZ"] * n_background
        sta += [f"B{k:04d}" for k in range(n_background)]
        return cls(
            network=np.array(net),
            station=np.array(sta),
            latitude=np.concatenate(lat),
            longitude=np.concatenate(lon),
        )

    def select(
        self,
        rng: np.random.Generator,
        latitude: float,
        longitude: float,
        count: int,
        distance_range_deg: tuple[float, float] = (30.0, 90.0),
    ) -> np.ndarray:
        """Indices of ``count`` random stations inside the distance window (all if fewer)."""
        if count < 1:
            raise ValueError(f"station count must be >= 1, got {count}")
        dist = great_circle_deg(latitude, longitude, self.latitude, self.longitude)
        lo, hi = distance_range_deg
        eligible = np.flatnonzero((dist >= lo) & (dist <= hi))
        if eligible.size <= count:
            return eligible
        return np.sort(rng.choice(eligible, size=count, replace=False))


def _uniform_sphere(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    lat = np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, n)))
    lon = rng.uniform(-180.0, 180.0, n)
    return lat, lon


def great_circle_deg(lat1: float, lon1: float, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """Spherical great-circle distance in degrees (haversine)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi, dlam = p2 - p1, np.radians(np.asarray(lon2) - lon1)
    h = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlam / 2) ** 2
    return np.degrees(2 * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0))))


def destination(
    lat: float, lon: float, distance_deg: np.ndarray, bearing_deg: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Point reached from (lat, lon) along ``bearing_deg`` after ``distance_deg`` on a sphere."""
    p1, l1 = np.radians(lat), np.radians(lon)
    d, b = np.radians(distance_deg), np.radians(bearing_deg)
    p2 = np.arcsin(np.sin(p1) * np.cos(d) + np.cos(p1) * np.sin(d) * np.cos(b))
    l2 = l1 + np.arctan2(np.sin(b) * np.sin(d) * np.cos(p1), np.cos(d) - np.sin(p1) * np.sin(p2))
    return np.degrees(p2), (np.degrees(l2) + 180.0) % 360.0 - 180.0


@lru_cache(maxsize=4)
def station_network(seed: int = 0, n_stations: int = 3000) -> StationNetwork:
    """The process-wide network for a seed and size."""
    return StationNetwork.build(seed, n_stations=n_stations)
