"""The figure of ``symae validate``: one recorded event's truth-free checks at a glance.

Three panels: the STF of every method with the Mw-scaled triangle; the inversion with a
support reaching past sP and the predicted pP and sP windows; the STFs of three random
station halves, each pair in one colour.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from symae.evaluate.metrics import reference_triangle  # noqa: E402
from symae.evaluate.real_data import RealValidation  # noqa: E402
from symae.extract.result import ExtractionResult  # noqa: E402


def validation_figure(report: RealValidation, result: ExtractionResult, path: Path) -> None:
    """Write the three-panel PNG of ``report`` to ``path``."""
    fig, axes = plt.subplots(1, 3, figsize=(11.0, 3.2), constrained_layout=True)
    ax = axes[0]
    for name, stf in result.method_stfs().items():
        ax.plot(stf.times(), stf.array(), lw=1.6 if name == result.stf.method else 0.9, label=name)
    t = np.linspace(-5.0, max(3.0 * report.mw_duration_s, 20.0), 400)
    ax.plot(t, reference_triangle(report.magnitude, t), "k:", lw=0.9, label="Mw triangle")
    ax.set(xlabel="s after the origin time", title=f"{report.event_id}: methods")
    ax.legend(fontsize=6)
    ax = axes[1]
    d = report.depth_phases
    ax.plot(d.extended_times, d.extended_stf, color="C0", label="inversion, long support")
    for delay, name in ((d.pp_delay_s, "pP"), (d.sp_delay_s, "sP")):
        ax.axvspan(delay - d.window_s, delay + d.window_s, color="0.85")
        ax.text(delay, 1.02, name, ha="center", fontsize=7)
    title = (
        f"depth phases: {d.extended_pp:.0%} / {d.extended_sp:.0%} of the peak"
        if d.applicable
        else "depth phases: not a test for this event"
    )
    ax.set(xlabel="s after the origin time", title=title, ylim=(0, 1.1))
    ax = axes[2]
    for k, ex in enumerate(report.random_halves.examples):
        ax.plot(ex["times_a"], ex["stf_a"], color=f"C{k}", lw=1.0)
        ax.plot(ex["times_b"], ex["stf_b"], color=f"C{k}", lw=1.0, ls="--")
    ax.set(
        xlabel="s after the origin time",
        title=f"random halves: median CC {report.random_halves.median_cc:.2f}",
    )
    fig.savefig(path, dpi=150)
    plt.close(fig)
