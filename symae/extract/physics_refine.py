"""``symae-physics-refined``: the raw-trace inversion restarted from the SymAE STF.

The inversion's alternation (``symae.inversion``) is non-convex: started from the Mw
triangle it can settle in a poor local optimum (a split or a too-long STF). The
physics-informed SymAE's STF is a second, data-driven start. The restart re-uses the
first inversion's depth, mechanism and onset (``WarmStart``, no second search) and runs
the full number of rounds; of the two solutions the one with the lower data misfit is
kept. Chosen on the validation set over a prior pull toward the SymAE STF in every
m-step (weights 0, 0.3, 1: docs/evaluation.md, "Ablation").
"""

from __future__ import annotations

import numpy as np

from symae.data.dataset import EventData
from symae.inversion.invert import event_arrays
from symae.inversion.result import InversionResult
from symae.inversion.settings import InversionSettings


def refine_from_start(
    event: EventData,
    start_times: np.ndarray,
    start_stf: np.ndarray,
    raw: InversionResult | None = None,
    settings: InversionSettings | None = None,
) -> InversionResult:
    """The inversion restarted from a SymAE STF, kept where it fits the data better.

    ``raw`` is the event's own inversion (``invert_event``; computed when not given). Its
    depth, mechanism and onset are re-used (``WarmStart``: no second search); the
    alternation starts from ``start_stf`` (``start_times`` s after P, any positive scale)
    on the same support and runs the full ``n_rounds``. Two starts of one non-convex
    problem: the one whose solution has the lower data misfit is returned.
    """
    from symae.inversion.invert import WarmStart, invert_event, invert_traces

    settings = settings or InversionSettings()
    raw = raw if raw is not None else invert_event(event, settings)
    start = np.clip(np.interp(raw.times, start_times, start_stf, left=0.0, right=0.0), 0, None)
    if start.sum() <= 0:
        return raw
    warm = WarmStart(
        stf=start,
        depth_km=raw.depth_km,
        mechanism=raw.mechanism,
        depth_source=raw.depth_source,
        mechanism_source=raw.mechanism_source,
        rounds=settings.n_rounds,
        onset_shift_s=raw.onset_shift_s,
    )
    traces, geometry = event_arrays(event)
    restarted = invert_traces(traces, geometry, event.origin, settings, warm=warm)
    return restarted if restarted.misfit < raw.misfit else raw
