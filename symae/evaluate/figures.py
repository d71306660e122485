"""Figures of the SCARDEC benchmark (PNG at publication size, plus an HTML overview).

- ``cc_by_method.png``: distribution of the CC per method (box plots), with and without
  directivity when both exist;
- ``duration.png``: estimated vs true duration per method;
- ``map.png`` / ``map.html``: events on a longitude-latitude map coloured by their
  geographic HEALPix region (nside 1, 12 regions), beside their STFs (truth dashed,
  SymAE solid) in the matching colours; the HTML toggles SymAE STFs vs raw mean envelopes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import healpy  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from symae.data.dataset import EventData  # noqa: E402
from symae.evaluate.scardec_benchmark import PREFERRED, EventScore  # noqa: E402
from symae.extract.result import ExtractionResult  # noqa: E402

WIDTH_IN = 7.0
DPI = 300
REGION_NSIDE = 1


def region_of(latitude: float, longitude: float) -> int:
    """Geographic HEALPix region (nside 1, RING) of an epicentre."""
    return int(
        healpy.ang2pix(REGION_NSIDE, np.radians(90.0 - latitude), np.radians(longitude % 360.0))
    )


def region_colour(region: int) -> tuple[float, float, float, float]:
    return plt.get_cmap("tab20")(region % 20)


def plot_cc(scores: Sequence[EventScore], path: Path) -> None:
    """Pearson CC (top) and skill over the Mw triangle (bottom) of every method, per event."""
    methods = list(scores[0].metrics)
    fig, axes = plt.subplots(2, 1, figsize=(WIDTH_IN, 5.0), sharex=True)
    for ax, metric, label, line in (
        (axes[0], "pearson", "Pearson CC with the true STF", 0.9),
        (axes[1], "skill", "skill over the Mw triangle", 0.0),
    ):
        data = [[getattr(s.metrics[m], metric) for s in scores] for m in methods]
        ax.boxplot([[v for v in d if np.isfinite(v)] for d in data], showfliers=False)
        ax.axhline(line, color="grey", ls=":", lw=1)
        ax.set_ylabel(label, fontsize=8)
    axes[1].set_ylim(-2.0, 1.0)
    axes[1].set_xticks(range(1, len(methods) + 1), methods, rotation=30, ha="right", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def plot_duration(scores: Sequence[EventScore], path: Path) -> None:
    methods = list(scores[0].metrics)
    fig, ax = plt.subplots(figsize=(WIDTH_IN / 2, 3.2))
    true = np.array([s.metrics[PREFERRED].duration_true_s for s in scores])
    for m in methods:
        ax.scatter(true, [s.metrics[m].duration_est_s for s in scores], s=6, label=m)
    lim = [0, max(true.max(), 1.0) * 1.3]
    ax.plot(lim, lim, color="k", lw=0.8)
    ax.set_xlabel("true duration 5-95 % (s)")
    ax.set_ylabel("estimated duration (s)")
    ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def _truth(event: EventData, t0: float, dt: float) -> tuple[np.ndarray, np.ndarray]:
    truth = np.asarray(event.truth_stf, dtype=np.float64)
    t0 = float(event.truth_attrs.get("t0", t0))
    dt = float(event.truth_attrs.get("dt", dt))
    return t0 + dt * np.arange(len(truth)), truth / (truth.max() or 1.0)


def plot_map(
    events: Sequence[EventData], results: Sequence[ExtractionResult], path: Path, max_stfs: int = 30
) -> None:
    fig = plt.figure(figsize=(WIDTH_IN, 4.5))
    ax_map = fig.add_axes((0.07, 0.12, 0.5, 0.8))
    ax_stf = fig.add_axes((0.63, 0.12, 0.35, 0.8))
    for i, (ev, res) in enumerate(zip(events, results, strict=True)):
        o = ev.origin
        colour = region_colour(region_of(o.latitude, o.longitude))
        ax_map.scatter(o.longitude, o.latitude, color=colour, s=14, edgecolor="k", lw=0.3)
        if i < max_stfs:
            t, truth = _truth(ev, res.stf.t0, res.stf.dt)
            ax_stf.plot(t, i + 0.9 * truth, color=colour, ls="--", lw=0.7)
            ax_stf.plot(res.stf.times(), i + 0.9 * np.asarray(res.stf.values), color=colour, lw=1.0)
    ax_map.set_xlim(-180, 180)
    ax_map.set_ylim(-90, 90)
    ax_map.set_xlabel("longitude")
    ax_map.set_ylabel("latitude")
    ax_map.set_title("events by HEALPix region (nside 1)", fontsize=8)
    ax_stf.set_xlim(-20, 150)
    ax_stf.set_yticks([])
    ax_stf.set_xlabel("time after P (s)")
    ax_stf.set_title("SymAE (solid) vs truth (dashed)", fontsize=8)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def map_html(events: Sequence[EventData], results: Sequence[ExtractionResult], path: Path) -> None:
    """Plotly page: map and STFs; a toggle switches SymAE STFs and raw mean envelopes."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, column_widths=[0.55, 0.45])
    visible_symae, visible_raw = [], []
    for i, (ev, res) in enumerate(zip(events, results, strict=True)):
        o = ev.origin
        r, g, b, _ = region_colour(region_of(o.latitude, o.longitude))
        colour = f"rgb({int(255 * r)},{int(255 * g)},{int(255 * b)})"
        fig.add_trace(
            go.Scatter(
                x=[o.longitude],
                y=[o.latitude],
                mode="markers",
                marker={"color": colour},
                name=ev.event_id,
                legendgroup=ev.event_id,
            ),
            row=1,
            col=1,
        )
        visible_symae.append(True)
        visible_raw.append(True)
        t, truth = _truth(ev, res.stf.t0, res.stf.dt)
        fig.add_trace(
            go.Scatter(
                x=t,
                y=i + 0.9 * truth,
                line={"color": colour, "dash": "dash"},
                legendgroup=ev.event_id,
                showlegend=False,
            ),
            row=1,
            col=2,
        )
        visible_symae.append(True)
        visible_raw.append(True)
        fig.add_trace(
            go.Scatter(
                x=res.stf.times(),
                y=i + 0.9 * np.asarray(res.stf.values),
                line={"color": colour},
                legendgroup=ev.event_id,
                showlegend=False,
            ),
            row=1,
            col=2,
        )
        visible_symae.append(True)
        visible_raw.append(False)
        raw = res.baselines.get("mean_envelope")
        if raw is not None:
            fig.add_trace(
                go.Scatter(
                    x=raw.times(),
                    y=i + 0.9 * np.asarray(raw.values),
                    visible=False,
                    line={"color": colour, "dash": "dot"},
                    legendgroup=ev.event_id,
                    showlegend=False,
                ),
                row=1,
                col=2,
            )
            visible_symae.append(False)
            visible_raw.append(True)
    fig.update_layout(
        title="SCARDEC benchmark: events by HEALPix region and their STFs (dashed: truth)",
        updatemenus=[
            {
                "type": "buttons",
                "direction": "right",
                "x": 0.0,
                "y": 1.1,
                "buttons": [
                    {"label": "SymAE", "method": "update", "args": [{"visible": visible_symae}]},
                    {
                        "label": "raw mean envelope",
                        "method": "update",
                        "args": [{"visible": visible_raw}],
                    },
                ],
            }
        ],
    )
    fig.write_html(path, include_plotlyjs="directory")


def benchmark_figures(
    scores: Sequence[EventScore],
    events: Sequence[EventData],
    results: Sequence[ExtractionResult],
    out_dir: Path,
) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / n for n in ("cc_by_method.png", "duration.png", "map.png", "map.html")]
    plot_cc(scores, paths[0])
    plot_duration(scores, paths[1])
    plot_map(events, results, paths[2])
    map_html(events, results, paths[3])
    return paths
