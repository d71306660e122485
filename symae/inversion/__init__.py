"""SCARDEC-style STF inversion of teleseismic P traces (numpy/scipy only, no torch).

``invert_event(event, settings)`` -> ``InversionResult``; ``invert_traces`` for any
(n, nt) array aligned with per-trace metadata (e.g. virtual gathers). The physics is
in ``docs`` (stf-inversion.md): per-trace Green's functions (P, pP, sP, t*, the
processing band; ``greens``, ``band``), alternating positive least squares with robust
weights and rejections (``solve``), a depth and double-couple search when the
mechanism is unknown (``mechanism``), a station bootstrap and apparent STFs per
focal-sphere pixel (``uncertainty``).
"""

from symae.inversion.band import processing_band
from symae.inversion.greens import TraceGeometry
from symae.inversion.invert import event_arrays, invert_event, invert_traces
from symae.inversion.result import InversionResult, TraceFit
from symae.inversion.settings import InversionError, InversionSettings
from symae.inversion.uncertainty import PixelSTF

__all__ = [
    "InversionError",
    "InversionResult",
    "InversionSettings",
    "PixelSTF",
    "TraceFit",
    "TraceGeometry",
    "event_arrays",
    "invert_event",
    "invert_traces",
    "processing_band",
]
