"""The STF methods of one extraction and the rule that picks the published one.

Every method has a stable identifier, used in RESULT.json, the streaming products and the
benchmark tables:

- ``inversion``: the Green's-function inversion (``symae.inversion``) of the raw traces;
- ``inversion-virtual``: the same inversion of SymAE's virtual gathers (one mean virtual
  trace per focal-sphere pixel, at the pixel's mean geometry), with the depth and
  mechanism the raw-trace inversion used;
- ``envelope``: the Hilbert envelope of SymAE's virtual gathers combined over pixels;
- ``symae-physics``: the physics-informed SymAE's decoded coherent posterior (its STF
  head, band from posterior samples; ``symae.extract.physics``), when the extractor has
  a physics model;
- ``symae-physics-refined``: the raw-trace inversion restarted from ``symae-physics``,
  kept where it fits the data better (``symae.extract.physics_refine.refine_from_start``);
- the stack baselines by their own names (``symae.extract.baselines``).

``PREFERENCE`` is the order in which a method is preferred when it produced an STF from
at least ``MIN_USED_TRACES`` traces. It was fixed on the validation set (hard-mode events
from parametric sources, ``symae evaluate --set validation``), never on benchmark events;
``docs/evaluation.md`` gives the figures that chose it.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass

import numpy as np

from symae.contract import DataContract
from symae.data.dataset import EventData, TraceGroup
from symae.data.events import Origin
from symae.extract.result import InversionInfo, Stf
from symae.inversion import (
    InversionError,
    InversionResult,
    InversionSettings,
    TraceGeometry,
    event_arrays,
    invert_traces,
)
from symae.inversion.invert import WarmStart
from symae.inversion.solve import half_duration_s

log = logging.getLogger(__name__)

INVERSION = "inversion"
INVERSION_VIRTUAL = "inversion-virtual"
ENVELOPE = "envelope"
SYMAE_PHYSICS = "symae-physics"
SYMAE_PHYSICS_REFINED = "symae-physics-refined"
PREFERENCE = (SYMAE_PHYSICS_REFINED, INVERSION, INVERSION_VIRTUAL, ENVELOPE)
MIN_USED_TRACES = 5  # an inversion resting on fewer traces is not preferred


@dataclass
class Inversions:
    """The inversion of the raw traces and of the virtual gathers (None when impossible)."""

    raw: InversionResult | None
    virtual: InversionResult | None
    flags: list[str]


def inversion_stf(result: InversionResult, method: str) -> Stf:
    """An inversion's STF as RESULT.json carries it (peak 1, bootstrap band)."""
    return Stf.from_band(
        result.stf,
        result.band_low,
        result.band_high,
        float(result.times[1] - result.times[0]),
        float(result.times[0]),
        method,
    )


def inversion_info(result: InversionResult) -> InversionInfo:
    """The depth, mechanism and fit the raw-trace inversion used and found."""
    return InversionInfo(
        depth_km=round(float(result.depth_km), 3),
        depth_source=result.depth_source,
        mechanism={k: round(float(v), 6) for k, v in result.mechanism.items()},
        mechanism_source=result.mechanism_source,
        t_star_s=float(result.t_star_s),
        highpass_hz=float(result.highpass_hz),
        duration_s=round(float(result.duration_s), 3),
        centroid_s=round(float(result.centroid_s), 3),
        misfit=round(float(result.misfit), 6),
        onset_shift_s=round(float(result.onset_shift_s), 3),
        window_limited=bool(result.window_limited),
        n_used=int(result.n_used),
        rejected=dict(Counter(t.reason for t in result.rejected if t.reason)),
    )


def virtual_geometry(
    groups: list[TraceGroup], virtual: np.ndarray
) -> tuple[np.ndarray, TraceGeometry]:
    """One trace per pixel, the mean of its (N, nt) virtual gather, at the pixel's mean
    geometry (median distance, circular-mean azimuth, mean take-off angle, majority polarity)."""
    rows, ids, dist, az, takeoff, pol, pixel = [], [], [], [], [], [], []
    for g, gather in zip(groups, virtual, strict=True):
        rows.append(np.asarray(gather, dtype=np.float64).mean(axis=0))
        ids.append(f"virtual.{g.pixel}")
        dist.append(float(np.median(g.fields["distance_deg"])))
        rad = np.radians(np.asarray(g.fields["azimuth_deg"], dtype=np.float64))
        az.append(float(np.degrees(np.arctan2(np.sin(rad).mean(), np.cos(rad).mean())) % 360.0))
        takeoff.append(float(np.mean(g.fields["takeoff_deg"])))
        pol.append(1.0 if np.sum(g.fields.get("polarity", np.ones(len(g)))) >= 0 else -1.0)
        pixel.append(int(g.pixel))
    geometry = TraceGeometry(
        ids, np.array(dist), np.array(az), np.array(takeoff), np.array(pol), np.array(pixel)
    )
    return np.array(rows), geometry


def run_inversions(
    event: EventData,
    groups: list[TraceGroup],
    virtual: np.ndarray | None,
    contract: DataContract,
    settings: InversionSettings,
    warm: WarmStart | None = None,
    raw: InversionResult | None = None,
) -> Inversions:
    """Invert the raw traces (from ``warm``, an earlier revision's, in a preview; ``raw``:
    their inversion made before, re-used), then the virtual gathers with the depth and
    mechanism the raw inversion used; a method that cannot run leaves a flag instead of an
    STF (a streamed origin whose magnitude was dropped as out of range still gets the
    envelope; files and ObsPy input are checked up front by ``symae.extract.records``)."""
    flags: list[str] = []
    try:
        if raw is None:
            traces, geometry = event_arrays(event)
            raw = invert_traces(traces, geometry, event.origin, settings, contract, warm=warm)
    except InversionError as err:
        log.warning("%s: inversion not possible: %s", event.event_id, err)
        return Inversions(None, None, [f"inversion_failed: {err}"])
    if raw.n_used < MIN_USED_TRACES:
        flags.append("inversion_few_traces")
    if raw.window_limited:
        flags.append("window_limited")
        end = float(raw.times[-1])
        log.warning(
            "%s: a Mw %.1f source lasts about %.0f s (Mw scaling) but the P window ends %.0f s "
            "after P: the STF shows the moment released until then only; its duration and "
            "centroid are lower bounds",
            event.event_id,
            float(event.origin.magnitude or 0.0),
            2.0 * half_duration_s(float(event.origin.magnitude or 0.0)),
            end,
        )
    inverted = None
    if virtual is not None and len(virtual):
        o = event.origin
        solved = Origin(
            event_id=o.event_id,
            time=o.time,
            latitude=o.latitude,
            longitude=o.longitude,
            depth_km=raw.depth_km,
            magnitude=o.magnitude,
            magnitude_type=o.magnitude_type,
            region=o.region,
            moment_tensor=_moment_tensor(raw),
        )
        try:
            rows, vgeometry = virtual_geometry(groups, virtual)
            inverted = invert_traces(rows, vgeometry, solved, settings, contract)
        except InversionError as err:
            flags.append(f"inversion_virtual_failed: {err}")
    return Inversions(raw, inverted, flags)


def _moment_tensor(result: InversionResult) -> dict[str, float]:
    """The moment-tensor components the inversion used (its mechanism minus strike/dip/rake)."""
    return {k: float(v) for k, v in result.mechanism.items() if k.startswith("M")}


def preferred(stfs: dict[str, Stf], inversions: Inversions) -> str:
    """The first method of ``PREFERENCE`` that produced a usable STF."""
    raw_usable = inversions.raw is not None and inversions.raw.n_used >= MIN_USED_TRACES
    usable = {
        SYMAE_PHYSICS_REFINED: raw_usable,  # the raw inversion, restarted
        INVERSION: raw_usable,
        INVERSION_VIRTUAL: inversions.virtual is not None and inversions.virtual.n_used >= 1,
        ENVELOPE: True,
    }
    for method in PREFERENCE:
        if method in stfs and usable.get(method, False):
            return method
    return ENVELOPE
