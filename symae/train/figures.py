"""Figures of a trained model: loss history, input vs reconstruction, learned shifts.

Numpy in, files out (PNG with matplotlib; interactive HTML with plotly, which loads
plotly.js from its CDN when opened); no torch, so the figures can also be redrawn from
a model.json history alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import plotly.graph_objects as go  # noqa: E402
from plotly.subplots import make_subplots  # noqa: E402

LOSS_TERMS = ("neg_elbo", "nll", "kl", "mse")


def _series(history: Sequence[dict[str, Any]], part: str, term: str) -> np.ndarray:
    return np.array([h[part][term] for h in history], dtype=float)


def _stage_starts(history: Sequence[dict[str, Any]]) -> list[int]:
    return [h["epoch"] for h in history if h["epoch_in_stage"] == 0 and h["epoch"] > 0]


def loss_history(history: Sequence[dict[str, Any]], out_dir: Path) -> list[Path]:
    """Train and test loss terms per epoch over all stages (PNG and HTML)."""
    if not history:
        raise ValueError("empty loss history: nothing to plot")
    out_dir.mkdir(parents=True, exist_ok=True)
    epochs = np.array([h["epoch"] for h in history]) + 1
    fig, axes = plt.subplots(1, len(LOSS_TERMS), figsize=(4 * len(LOSS_TERMS), 3.2))
    html = make_subplots(rows=1, cols=len(LOSS_TERMS), subplot_titles=LOSS_TERMS)
    for i, (ax, term) in enumerate(zip(axes, LOSS_TERMS, strict=True)):
        for part, colour in (("train", "#1f77b4"), ("test", "#ff7f0e")):
            values = _series(history, part, term)
            ax.plot(epochs, values, color=colour, label=part)
            html.add_trace(
                go.Scatter(x=epochs, y=values, name=f"{part} {term}", line={"color": colour}),
                row=1,
                col=i + 1,
            )
        for start in _stage_starts(history):
            ax.axvline(start + 0.5, color="0.6", lw=0.8, ls="--")
        ax.set_title(term + (" per trace" if term != "mse" else " per sample"))
        ax.set_xlabel("epoch")
        if term in ("neg_elbo", "mse") and np.all(_series(history, "train", term) > 0):
            ax.set_yscale("log")
    axes[0].legend()
    fig.tight_layout()
    png = out_dir / "loss_history.png"
    fig.savefig(png, dpi=110)
    plt.close(fig)
    html.update_layout(title="SymAE training loss (dashed: stage starts)", height=380)
    html_path = out_dir / "loss_history.html"
    html.write_html(html_path, include_plotlyjs="cdn")
    return [png, html_path]


def reconstruction(
    traces: np.ndarray, recon: np.ndarray, time_axis: np.ndarray, out_dir: Path, title: str = ""
) -> list[Path]:
    """Input traces (n, nt) against their reconstructions, offset one above the other."""
    out_dir.mkdir(parents=True, exist_ok=True)
    n = len(traces)
    fig, ax = plt.subplots(figsize=(7, 0.55 * n + 1.5))
    html = go.Figure()
    for i in range(n):
        ax.plot(time_axis, traces[i] / 4 + i, color="k", lw=0.8, label="input" if i == 0 else None)
        ax.plot(
            time_axis,
            recon[i] / 4 + i,
            color="tab:red",
            lw=0.8,
            label="reconstruction" if i == 0 else None,
        )
        html.add_trace(
            go.Scatter(
                x=time_axis,
                y=traces[i] / 4 + i,
                name=f"input {i}",
                line={"color": "black", "width": 1},
            )
        )
        html.add_trace(
            go.Scatter(
                x=time_axis,
                y=recon[i] / 4 + i,
                name=f"reconstruction {i}",
                line={"color": "red", "width": 1},
            )
        )
    ax.set_xlabel("time after predicted P (s)")
    ax.set_yticks([])
    ax.set_title(title or "input vs reconstruction")
    ax.legend(loc="upper right")
    fig.tight_layout()
    png = out_dir / "reconstruction.png"
    fig.savefig(png, dpi=110)
    plt.close(fig)
    html.update_layout(
        title=title or "input vs reconstruction", xaxis_title="time after predicted P (s)"
    )
    html_path = out_dir / "reconstruction.html"
    html.write_html(html_path, include_plotlyjs="cdn")
    return [png, html_path]


def shift_histogram(shift_samples: np.ndarray, out_dir: Path) -> list[Path]:
    """Histogram of learned shifts in samples (s * nt / 2, positive = advance)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.hist(np.ravel(shift_samples), bins=40, color="tab:green")
    ax.set_xlabel("learned advance (samples)")
    ax.set_ylabel("traces")
    ax.set_title(f"learned shifts, {np.size(shift_samples)} traces")
    fig.tight_layout()
    png = out_dir / "shifts.png"
    fig.savefig(png, dpi=110)
    plt.close(fig)
    return [png]
