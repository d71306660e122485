"""Per-event summary figures for the explorer and the versioned API (``/api/v1``).

The table of the events page needs, per event, a duration and a centroid time of the
preferred STF, the region and the quality flags, without reading every RESULT.json on
each request. They are computed once, when a result is recorded, from the result's own
fields: an ``inversion`` block (RESULT.json schema 2) gives them directly; otherwise
they are measured on the preferred STF (``stf``).

Optional fields of newer schemas are read with ``getattr`` so this module works with
either schema version.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from symae.extract.result import ExtractionResult, Stf

LEVEL = 0.1  # fraction of the peak that bounds the measured duration


def duration_centroid(stf: Stf, level: float = LEVEL) -> tuple[float | None, float | None]:
    """Duration (s) and centroid time (s after the predicted P) of an STF.

    The duration spans the first to the last sample above ``level`` times the peak of
    the positive part; the centroid is the first moment of the positive part within
    that span. ``(None, None)`` for an STF without a positive sample.
    """
    v = np.clip(np.asarray(stf.values, dtype=np.float64), 0.0, None)
    peak = float(v.max()) if v.size else 0.0
    if peak <= 0:
        return None, None
    above = np.flatnonzero(v >= level * peak)
    first, last = int(above[0]), int(above[-1])
    t = stf.t0 + stf.dt * np.arange(v.size)
    window = v[first : last + 1]
    centroid = float(np.sum(t[first : last + 1] * window) / np.sum(window))
    return round(float((last - first) * stf.dt), 3), round(centroid, 3)


def _field(obj: Any, name: str) -> Any:
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


def summary_fields(result: ExtractionResult) -> dict[str, Any]:
    """Region, preferred method, duration, centroid (with their source) and flags."""
    duration, centroid = duration_centroid(result.stf)
    source = "stf"
    inversion = getattr(result, "inversion", None)
    inv_duration, inv_centroid = _field(inversion, "duration_s"), _field(inversion, "centroid_s")
    if inv_duration is not None:
        duration, source = float(inv_duration), "inversion"
    if inv_centroid is not None:
        centroid = float(inv_centroid)
    return {
        "region": result.origin.region if result.origin else "",
        "method": _field(result.stf, "method") or "",
        "duration_s": duration,
        "centroid_s": centroid,
        "timing_source": source,
        "flags": list(result.quality.flags),
        "n_pixels_passed": result.quality.n_pixels_passed,
    }


def stf_sketch(stf: Stf) -> dict[str, Any]:
    """The STF without its band: what a revision history keeps per revision."""
    return {"dt": stf.dt, "t0": stf.t0, "values": list(stf.values)}
