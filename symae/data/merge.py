"""Joining the segments of one channel, and telling holes from conflicting overlaps.

Records often arrive in several segments (miniSEED records, files per hour). Segments
that repeat the same samples merge cleanly; a hole, or an overlap whose samples
disagree, becomes masked samples in ObsPy's merge (method 0). Preprocessing rejects
masked samples inside the span it needs: ``gap`` for a hole, ``overlap`` for a conflict.
"""

from __future__ import annotations

import numpy as np
from obspy import Stream, Trace, UTCDateTime

from symae.data.rejections import Rejected, RejectReason

Interval = tuple[float, float]  # POSIX seconds


def overlap_intervals(traces: list[Trace]) -> list[Interval]:
    """Where consecutive segments (sorted by start) overlap, as POSIX-second intervals."""
    segs = sorted(traces, key=lambda t: t.stats.starttime)
    overlaps = []
    for a, b in zip(segs, segs[1:], strict=False):
        a_end, b_start = a.stats.endtime.timestamp, b.stats.starttime.timestamp
        if b_start <= a_end + 0.5 * a.stats.delta:
            overlaps.append((b_start, min(a_end, b.stats.endtime.timestamp)))
    return overlaps


def merge_channel(traces: list[Trace]) -> tuple[Trace, list[Interval]]:
    """Merge the segments of one channel (copies); returns it and its overlap intervals.

    Duplicated samples merge cleanly; holes and conflicting overlaps become masked
    samples, which ``process`` rejects when they fall inside the needed span.
    """
    if len(traces) == 1:
        return traces[0], []
    overlaps = overlap_intervals(traces)
    rates = {t.stats.sampling_rate for t in traces}
    if len(rates) > 1:
        raise Rejected(
            RejectReason.GAP,
            f"{traces[0].id}: segments with sampling rates {sorted(rates)} cannot be joined",
        )
    copies = []
    for t in traces:  # one dtype, or ObsPy refuses to merge
        c = t.copy()
        c.data = c.data.astype(np.float64)
        copies.append(c)
    merged = Stream(copies).merge(method=0)
    return merged[0], overlaps


def as_overlap(err: Rejected, overlaps: list[Interval], trace: Trace) -> Rejected:
    """Re-label a masked-sample rejection caused by a conflicting overlap."""
    mask = np.ma.getmaskarray(trace.data)
    times = trace.stats.starttime.timestamp + np.flatnonzero(mask) * trace.stats.delta
    for lo, hi in overlaps:
        if np.any((times >= lo - trace.stats.delta) & (times <= hi + trace.stats.delta)):
            spans = ", ".join(f"{UTCDateTime(a)}..{UTCDateTime(b)}" for a, b in overlaps)
            return Rejected(
                RejectReason.OVERLAP,
                f"{trace.id}: overlapping segments with different samples ({spans})",
            )
    return err
