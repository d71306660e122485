"""``inversion-virtual``: the STF inversion run on a SymVAE's virtual gathers (no torch).

The virtual gathers come from ``symae.extract.coherent.get_coherent_information`` (the
seed's latent descent on the default SymVAE, data frame, N virtual traces per pixel).
Each virtual trace of pixel b is given the geometry (distance, azimuth, take-off,
polarity) of the pixel's recorded trace whose take-off angle is closest to the pixel's
median, and ``invert_traces`` inverts them exactly as it would inverts records.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from symae.data.dataset import EventData
from symae.inversion import (
    InversionResult,
    InversionSettings,
    TraceGeometry,
    event_arrays,
    invert_traces,
)

_GRAPHS: dict[str, object] = {}


def _graphs(model: str):
    if model not in _GRAPHS:
        from symae.extract.runtime import OnnxModel

        _GRAPHS[model] = OnnxModel.load(model)
    return _GRAPHS[model]


def virtual_gathers(event: EventData, model: str = "default") -> tuple[np.ndarray, TraceGeometry]:
    """(G*N, nt) virtual traces of every pixel and the geometry given to them."""
    from symae.extract.coherent import LatentSettings, get_coherent_information

    graphs = _graphs(model)
    pixels = sorted(event.groups)
    info = get_coherent_information(
        graphs, [event.groups[p].traces for p in pixels], LatentSettings()
    )
    _, geometry = event_arrays(event)
    rows, station, dist, az, take, pol, pix = [], [], [], [], [], [], []
    for b, p in enumerate(pixels):
        idx = np.flatnonzero(np.asarray(geometry.pixel) == p)
        take_b = np.asarray(geometry.takeoff_deg)[idx]
        j = idx[int(np.argmin(np.abs(take_b - np.median(take_b))))]
        for k, trace in enumerate(info.virtual[b]):
            rows.append(trace)
            station.append(f"{p}:v{k}")
            dist.append(geometry.distance_deg[j])
            az.append(geometry.azimuth_deg[j])
            take.append(geometry.takeoff_deg[j])
            pol.append(geometry.polarity[j])
            pix.append(p)
    geo = TraceGeometry(
        station, np.array(dist), np.array(az), np.array(take), np.array(pol), np.array(pix)
    )
    return np.asarray(rows, dtype=np.float64), geo


def invert_virtual(
    event: EventData, model: str = "default", settings: InversionSettings | None = None
) -> InversionResult:
    """The inversion of the event's virtual gathers."""
    traces, geometry = virtual_gathers(event, model)
    std = traces.std(axis=1, keepdims=True)
    traces = (traces - traces.mean(axis=1, keepdims=True)) / np.where(std > 0, std, 1.0)
    return invert_traces(
        traces, geometry, event.origin, settings or replace(InversionSettings(), n_bootstrap=0)
    )
