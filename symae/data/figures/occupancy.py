"""Pixel occupancy on the focal sphere: how many traces each HEALPix pixel holds.

Left: the lower focal hemisphere (take-off angle 0, straight down, at the centre;
azimuth clockwise from north at the top) in an orthographic healpy projection. Right:
the distribution of traces per group against the training threshold.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import healpy as hp
import matplotlib.pyplot as plt
import numpy as np

from symae.data.dataset import GroupRef
from symae.data.figures.layout import DEFAULT_DPI, FIGSIZE


def pixel_counts(refs: Iterable[GroupRef], nside: int) -> np.ndarray:
    """Traces per pixel summed over groups, shape (12 nside^2,)."""
    counts = np.zeros(hp.nside2npix(nside))
    for ref in refs:
        counts[ref.pixel] += ref.n_traces
    return counts


def plot_pixel_occupancy(
    refs: list[GroupRef],
    nside: int,
    path: str | Path,
    title: str,
    dpi: int = DEFAULT_DPI,
    min_traces: int = 20,
) -> Path:
    """Write the occupancy figure of ``refs`` (groups of one or many events) as a PNG."""
    if not refs:
        raise ValueError("no groups to plot")
    logging.getLogger("healpy").setLevel(logging.WARNING)  # it logs every graticule line
    counts = pixel_counts(refs, nside)
    shown = np.where(counts > 0, counts, hp.UNSEEN)
    fig = plt.figure(figsize=FIGSIZE, dpi=dpi)
    try:
        hp.orthview(
            shown,
            rot=(0.0, 90.0, 180.0),
            half_sky=True,
            flip="astro",
            fig=fig.number,
            sub=(1, 2, 1),
            title="",
            unit="traces per pixel",
            cmap="viridis",
            min=0,
            notext=True,
            cbar=True,
        )
        hp.graticule(dpar=30, dmer=45)
        ax = fig.add_axes((0.57, 0.17, 0.4, 0.7))
        sizes = np.array([r.n_traces for r in refs])
        bins = (
            np.arange(0, sizes.max() + 5, 5) if sizes.max() > 10 else np.arange(0, sizes.max() + 2)
        )
        ax.hist(sizes, bins=list(bins), color="0.4")
        ax.axvline(min_traces, color="C3", lw=1, label=f"{min_traces} traces")
        n_big = int(np.sum(sizes >= min_traces))
        ax.set_title(f"{len(refs)} groups, {n_big} with >= {min_traces} traces", fontsize=9)
        ax.set_xlabel("traces per (event, pixel) group", fontsize=8)
        ax.set_ylabel("groups", fontsize=8)
        ax.legend(fontsize=8)
        ax.tick_params(labelsize=8)
        fig.suptitle(title, fontsize=10)
        fig.text(
            0.55,
            0.01,
            "lower focal hemisphere: take-off 0 (down) at the centre, circles "
            "every 30 deg, azimuth 0 up, 90 right",
            fontsize=6,
        )
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=dpi)
    finally:
        plt.close(fig)
    return path
