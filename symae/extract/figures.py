"""Figures of one extraction: PNG at publication size and interactive HTML.

``event_figures(result, info, event, out_dir)`` writes

- ``pixels.png``: every pixel's STF, stacked by azimuth and coloured by azimuth region;
- ``virtual_vs_raw.png``: event STF (virtual) against the raw mean envelope, truth if known;
- ``aligned.png``: the event's traces after the learned shifts, by pixel;
- ``optimisation.png``: J and its KL term during the latent descent;
- ``event_stf.png``: event STF with its +-1 std band against the truth when known;
- ``event.html``: plotly view of the pixels with an envelope / waveform toggle.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from symae.data.dataset import EventData  # noqa: E402
from symae.extract.coherent import CoherentInformation, fourier_advance  # noqa: E402
from symae.extract.result import ExtractionResult, Stf  # noqa: E402

WIDTH_IN = 7.0  # two-column journal figure width
DPI = 300


def azimuth_colour(azimuth_deg: float) -> tuple[float, float, float, float]:
    """Colour of an azimuth on a cyclic map, so north-east and north-west differ clearly."""
    return plt.get_cmap("twilight_shifted")((azimuth_deg % 360.0) / 360.0)


def _truth_stf(event: EventData | None, like: Stf) -> tuple[np.ndarray, np.ndarray] | None:
    """Times and peak-1 values of the true STF (on ``like``'s axis unless the event says)."""
    if event is None or event.truth_stf is None:
        return None
    truth = np.asarray(event.truth_stf, dtype=np.float64)
    t0 = float(event.truth_attrs.get("t0", like.t0))
    dt = float(event.truth_attrs.get("dt", like.dt))
    peak = truth.max() if truth.max() > 0 else 1.0
    return t0 + dt * np.arange(len(truth)), truth / peak


def _band(ax: plt.Axes, stf: Stf, colour: str, label: str) -> None:
    """The STF as a line and its +-1 std band, each with its own legend entry."""
    t = stf.times()
    ax.fill_between(
        t, stf.lower, stf.upper, color=colour, alpha=0.25, lw=0, label=f"{label} ±1 std"
    )
    ax.plot(t, stf.values, color=colour, lw=1.5, label=label)


def plot_pixels(result: ExtractionResult, path: Path) -> None:
    pixels = sorted(result.pixels, key=lambda p: p.azimuth_deg)
    fig, ax = plt.subplots(figsize=(WIDTH_IN, 0.35 * len(pixels) + 1.5))
    for i, p in enumerate(pixels):
        t = p.stf.times()
        colour = azimuth_colour(p.azimuth_deg)
        style = "-" if p.quality.passed else ":"
        ax.plot(t, i + 0.9 * np.asarray(p.stf.values), style, color=colour, lw=1.2)
        ax.text(t[-1], i + 0.2, f"{p.azimuth_deg:.0f}° / {p.n_traces}", fontsize=6, ha="right")
    ax.set_yticks(range(len(pixels)), [str(p.pixel) for p in pixels], fontsize=6)
    ax.set_xlabel("time after predicted P (s)")
    ax.set_ylabel("pixel (by azimuth)")
    ax.set_title(f"{result.event_id}: STF per focal-sphere pixel (dotted: failed gate)")
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def plot_virtual_vs_raw(result: ExtractionResult, event: EventData | None, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(WIDTH_IN, 3.0))
    _band(
        ax, result.method_stfs().get("envelope", result.stf), "tab:blue", "SymAE virtual envelope"
    )
    if "mean_envelope" in result.baselines:
        _band(ax, result.baselines["mean_envelope"], "tab:grey", "raw mean envelope")
    truth = _truth_stf(event, result.stf)
    if truth is not None:
        ax.plot(*truth, color="k", lw=1.0, ls="--", label="true STF")
    ax.set_xlabel("time after predicted P (s)")
    ax.set_ylabel("normalised amplitude")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def plot_aligned(
    info: CoherentInformation, event: EventData, result: ExtractionResult, path: Path
) -> None:
    groups = [event.groups[p] for p in sorted(event.groups)]
    traces = np.concatenate([g.traces for g in groups]).astype(np.float64)
    aligned = fourier_advance(traces, info.shifts)
    pixel_of = np.concatenate([[g.pixel] * len(g) for g in groups])
    order = np.argsort(pixel_of, kind="stable")
    t = result.stf.times()
    fig, axes = plt.subplots(1, 2, figsize=(WIDTH_IN, 4.0), sharey=True)
    for ax, data, title in (
        (axes[0], traces, "recorded"),
        (axes[1], aligned, "after learned shifts"),
    ):
        ax.imshow(
            data[order],
            aspect="auto",
            cmap="RdBu_r",
            vmin=-3,
            vmax=3,
            extent=(t[0], t[-1], len(order), 0),
            interpolation="nearest",
        )
        ax.set_title(title)
        ax.set_xlabel("time after predicted P (s)")
    axes[0].set_ylabel("trace (sorted by pixel)")
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def plot_optimisation(info: CoherentInformation, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(WIDTH_IN / 2, 2.6))
    steps = np.arange(len(info.objective))
    ax.plot(steps, info.objective, label="J (normalised)")
    kl0 = info.kl[0] if info.kl[0] > 0 else 1.0
    ax.plot(steps, info.kl / kl0, label="KL / KL0")
    ax.set_xlabel("descent step")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def plot_event_stf(result: ExtractionResult, event: EventData | None, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(WIDTH_IN / 2, 2.6))
    colours = iter(("tab:orange", "tab:green", "tab:purple", "tab:brown"))
    for name, stf in result.alternatives.items():
        ax.plot(stf.times(), stf.values, color=next(colours, "0.5"), lw=1.0, label=name)
    _band(ax, result.stf, "tab:blue", f"event STF ({result.stf.method or 'envelope'}, preferred)")
    truth = _truth_stf(event, result.stf)
    if truth is not None:
        ax.plot(*truth, color="k", lw=1.0, ls="--", label="true STF")
    ax.set_xlabel("time after predicted P (s)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def event_html(result: ExtractionResult, info: CoherentInformation, path: Path) -> None:
    """Plotly page: per-pixel STFs or virtual waveforms, switched by a toggle."""
    import plotly.graph_objects as go

    fig = go.Figure()
    t = result.stf.times()
    n_env = 0
    for p in result.pixels:
        r, g, b, _ = azimuth_colour(p.azimuth_deg)
        colour = f"rgb({int(255 * r)},{int(255 * g)},{int(255 * b)})"
        fig.add_trace(
            go.Scatter(
                x=t,
                y=p.stf.values,
                name=f"pixel {p.pixel} ({p.azimuth_deg:.0f}°)",
                line={"color": colour},
                visible=True,
            )
        )
        n_env += 1
    # the event STF's +-1 std band: upper edge, then lower edge filled up to it
    fig.add_trace(
        go.Scatter(
            x=t,
            y=result.stf.upper,
            line={"width": 0},
            showlegend=False,
            hoverinfo="skip",
            legendgroup="event",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=t,
            y=result.stf.lower,
            line={"width": 0},
            fill="tonexty",
            fillcolor="rgba(0,0,0,0.15)",
            name="event STF ±1 std",
            legendgroup="event",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=t,
            y=result.stf.values,
            name="event STF",
            line={"color": "black", "width": 3},
            legendgroup="event",
        )
    )
    n_env += 3
    n_wave = 0
    for p, gather in zip(result.pixels, info.virtual, strict=True):
        r, g, b, _ = azimuth_colour(p.azimuth_deg)
        colour = f"rgb({int(255 * r)},{int(255 * g)},{int(255 * b)})"
        for k, trace in enumerate(gather):
            fig.add_trace(
                go.Scatter(
                    x=t,
                    y=trace / (np.abs(trace).max() or 1.0),
                    visible=False,
                    name=f"pixel {p.pixel} virtual {k}",
                    line={"color": colour, "width": 1},
                    showlegend=k == 0,
                )
            )
            n_wave += 1
    env_vis = [True] * n_env + [False] * n_wave
    wave_vis = [False] * n_env + [True] * n_wave
    fig.update_layout(
        title=f"{result.event_id}: STF per pixel",
        xaxis_title="time after predicted P (s)",
        updatemenus=[
            {
                "type": "buttons",
                "direction": "right",
                "x": 0.0,
                "y": 1.12,
                "buttons": [
                    {"label": "envelopes", "method": "update", "args": [{"visible": env_vis}]},
                    {
                        "label": "virtual waveforms",
                        "method": "update",
                        "args": [{"visible": wave_vis}],
                    },
                ],
            }
        ],
    )
    fig.write_html(path, include_plotlyjs="directory")


def event_figures(
    result: ExtractionResult, info: CoherentInformation, event: EventData, out_dir: str | Path
) -> list[Path]:
    """Write every figure of one event into ``out_dir``; returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        name: out / name
        for name in (
            "pixels.png",
            "virtual_vs_raw.png",
            "aligned.png",
            "optimisation.png",
            "event_stf.png",
            "event.html",
        )
    }
    plot_pixels(result, paths["pixels.png"])
    plot_virtual_vs_raw(result, event, paths["virtual_vs_raw.png"])
    plot_aligned(info, event, result, paths["aligned.png"])
    plot_optimisation(info, paths["optimisation.png"])
    plot_event_stf(result, event, paths["event_stf.png"])
    event_html(result, info, paths["event.html"])
    return list(paths.values())
