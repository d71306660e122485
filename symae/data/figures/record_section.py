"""Record section of one event: model traces sorted by azimuth, under its true STF."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from symae.contract import DataContract
from symae.data.dataset import EventData
from symae.data.figures.layout import DEFAULT_DPI, FIGSIZE


def _sorted_traces(event: EventData, max_traces: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(traces, azimuths, pixels) of the event sorted by azimuth, evenly thinned to ``max_traces``."""
    traces = np.concatenate([g.traces for g in event.groups.values()])
    azimuth = np.concatenate([g.fields["azimuth_deg"] for g in event.groups.values()])
    pixels = np.concatenate([np.full(len(g), g.pixel) for g in event.groups.values()])
    order = np.argsort(azimuth, kind="stable")
    if order.size > max_traces:
        order = order[np.linspace(0, order.size - 1, max_traces).round().astype(int)]
    return traces[order], azimuth[order], pixels[order]


def plot_record_section(
    event: EventData,
    contract: DataContract,
    path: str | Path,
    dpi: int = DEFAULT_DPI,
    max_traces: int = 40,
) -> Path:
    """Write the event's record section (and its true STF when known) as a PNG."""
    if max_traces < 1:
        raise ValueError(f"max_traces must be >= 1, got {max_traces}")
    if event.n_traces == 0:
        raise ValueError(f"event {event.event_id!r} has no traces")
    traces, azimuth, pixels = _sorted_traces(event, max_traces)
    t = contract.time_axis()
    fig = Figure(figsize=FIGSIZE, dpi=dpi, layout="constrained")
    has_truth = event.truth_stf is not None
    gs = fig.add_gridspec(2 if has_truth else 1, 1, height_ratios=[1, 3] if has_truth else [1])
    ax = fig.add_subplot(gs[-1])
    if has_truth:
        top = fig.add_subplot(gs[0], sharex=ax)
        stf = np.asarray(event.truth_stf, dtype=float)
        top.fill_between(t, 0, stf / 1e18, color="0.3", lw=0)
        top.set_ylabel("true STF\n(1e18 N m/s)", fontsize=8)
        top.tick_params(labelbottom=False, labelsize=8)
        top.set_title(_title(event), fontsize=9)
    else:
        ax.set_title(_title(event), fontsize=9)
    gain = 0.45
    for k, (trace, pix) in enumerate(zip(traces, pixels, strict=True)):
        y = k + gain * trace / max(np.max(np.abs(trace)), 1e-12)
        ax.plot(t, y, lw=0.5, color=f"C{int(pix) % 10}")
    step = max(1, len(azimuth) // 10)
    ax.set_yticks(np.arange(0, len(azimuth), step))
    ax.set_yticklabels([f"{a:.0f}" for a in azimuth[::step]], fontsize=7)
    ax.set_ylabel("azimuth (deg), one trace a row", fontsize=8)
    ax.set_xlabel("time after predicted P (s)", fontsize=8)
    ax.set_xlim(t[0], t[-1])
    ax.set_ylim(-1, len(azimuth))
    ax.tick_params(labelsize=8)
    ax.axvline(0.0, color="k", lw=0.6, ls="--")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    return path


def _title(event: EventData) -> str:
    o = event.origin
    mag = f"Mw {o.magnitude:.1f}, " if o.magnitude is not None else ""
    return (
        f"{o.event_id}: {mag}{o.depth_km:.0f} km, {event.n_traces} traces in "
        f"{len(event.groups)} pixels (colour = pixel)"
    )
