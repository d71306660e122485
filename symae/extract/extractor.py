"""``Extractor``: an event's grouped traces -> RESULT.json, on ONNX Runtime (no torch).

``Extractor.load(model)`` opens a model directory (the shipped default, a path, or a
registry ``name[:version]``); ``extract(event)`` runs the coherent-information recipe
(``symae.extract.coherent``), turns every pixel's virtual gather into an envelope STF with
a band and a quality gate and combines the pixels (``symae.extract.stf``), inverts the raw
traces and the virtual gathers for the STF through their Green's functions
(``symae.extract.methods``), adds the baselines computed on the same traces, publishes the
preferred method's STF and keeps the others as alternatives (an ``ExtractionResult``).
``extract_many`` batches several events through each ONNX call.

Every extraction's work is counted (``symae.work``) into :attr:`Extractor.work`. With a
``row_cache`` the graphs re-use the rows of earlier calls (``symae.extract.graph_cache``);
``symae.extract.incremental`` uses both for the revisions of a growing event, and the
``warm``/``preview`` arguments of ``coherent_information`` and ``assemble`` for its
cheaper previews. Without them an extraction is the method as published.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from symae.contract import DEFAULT_CONTRACT, DataContract
from symae.data.dataset import EventData, TraceGroup
from symae.data.focal import pixel_center
from symae.errors import SymaeError
from symae.extract import methods
from symae.extract.baselines import all_baselines
from symae.extract.coherent import (
    CoherentInformation,
    Continuation,
    LatentSettings,
    ModelGraphs,
    WarmStart,
    coherent_information_many,
)
from symae.extract.graph_cache import CachedGraphs, RowCache
from symae.extract.ort_options import OrtOptions
from symae.extract.physics import PhysicsModel, physics_method_stfs
from symae.extract.result import (
    PREVIEW_FLAG,
    EventQuality,
    ExtractionResult,
    ModelInfo,
    OriginInfo,
    PixelQuality,
    PixelResult,
    Stf,
    TraceScore,
)
from symae.extract.stf import CombinedStf, EnvelopeStf, combine_pixels, envelope_stf
from symae.inversion import InversionResult, InversionSettings
from symae.inversion.invert import WarmStart as InversionWarmStart
from symae.version import __version__
from symae.work import WorkMeter, metering

log = logging.getLogger(__name__)

# Minimum data for an event STF: the one source of these defaults (the streaming ingest
# service's SYMAE_MIN_TRACES / SYMAE_MIN_PIXELS readiness thresholds use them too).
MIN_TRACES = 10
MIN_PIXELS = 3


class SparseEvent(SymaeError, ValueError):
    """An event with fewer traces or pixels than the minimum, and sparse events not allowed."""


@dataclass(frozen=True)
class ExtractionSettings:
    """Latent optimisation, the envelope read-out's rules (gate on envelope std, alignment
    lag) and the inversion's settings (``inversion=None`` runs no inversion)."""

    latent: LatentSettings = field(default_factory=LatentSettings)
    gate: float = 0.25
    max_lag_s: float = 10.0
    baselines: bool = True
    inversion: InversionSettings | None = field(default_factory=InversionSettings)
    # minimum data: fewer traces or pixels is refused (SparseEvent) unless allow_sparse,
    # and then the result carries the quality flag "sparse"
    min_traces: int = MIN_TRACES
    min_pixels: int = MIN_PIXELS
    allow_sparse: bool = False

    def __post_init__(self) -> None:
        if self.min_traces < 1 or self.min_pixels < 1:
            raise ValueError(
                f"min_traces and min_pixels must be >= 1, got {self.min_traces}, {self.min_pixels}"
            )

    def is_sparse(self, n_traces: int, n_pixels: int) -> bool:
        return n_traces < self.min_traces or n_pixels < self.min_pixels

    def as_parameters(self) -> dict[str, float | int | str]:
        params: dict[str, float | int | str] = {
            **asdict(self.latent),
            "gate": self.gate,
            "max_lag_s": self.max_lag_s,
        }
        if self.inversion is not None:
            inv = self.inversion
            params.update(
                inversion_t_star_s=inv.t_star_s,
                inversion_support_factor=inv.support_factor,
                inversion_max_lag_s=inv.max_lag_s,
                inversion_smoothness=inv.smoothness,
                inversion_sparsity=inv.sparsity,
                inversion_bootstrap=inv.n_bootstrap,
            )
        return params


def pixel_direction(group: TraceGroup, nside: int) -> tuple[float, float]:
    """Azimuth and take-off angle (deg) of a pixel: its traces' circular/plain means,
    or the HEALPix pixel centre when the traces carry no geometry."""
    az = group.fields.get("azimuth_deg")
    to = group.fields.get("takeoff_deg")
    if az is not None and to is not None and len(az):
        rad = np.radians(np.asarray(az, dtype=np.float64))
        azimuth = float(np.degrees(np.arctan2(np.sin(rad).mean(), np.cos(rad).mean())) % 360.0)
        return azimuth, float(np.mean(to))
    takeoff, azimuth = pixel_center(int(group.pixel), nside)
    return azimuth, takeoff


class Extractor:
    """Runs the extraction for one loaded model; cheap to call repeatedly."""

    def __init__(
        self,
        graphs: ModelGraphs,
        model: ModelInfo,
        contract: DataContract = DEFAULT_CONTRACT,
        settings: ExtractionSettings | None = None,
    ) -> None:
        self.graphs = graphs
        self.model = model
        self.contract = contract
        self.settings = settings or ExtractionSettings()
        self.work = WorkMeter()  # everything this extractor computed (symae.work)
        self.row_cache: RowCache | None = None  # rows re-used between calls when set
        # a symae-physics model (symae.extract.physics): its STF and the inversion
        # restarted from it join the alternatives of every full (not preview) result
        self.physics: PhysicsModel | None = None

    @classmethod
    def load(
        cls,
        model: str = "default",
        provider: str | None = "auto",
        settings: ExtractionSettings | None = None,
        options: OrtOptions | None = None,
        physics_model: str | None = None,
    ) -> Extractor:
        """Open ``model`` ("default", a model directory or a registry ``name[:version]``);
        ONNX Runtime ``options`` default to ``OrtOptions.from_env()``, ``provider``
        (unless None) replaces theirs. ``physics_model`` ("default": the shipped
        symae-physics model, or a directory) adds the ``symae-physics`` methods."""
        from symae.extract.runtime import OnnxModel

        onnx = OnnxModel.load(model, provider, options=options)
        info = ModelInfo(name=onnx.info.name, version=onnx.info.version, provider=onnx.provider)
        extractor = cls(onnx, info, onnx.info.contract, settings)
        if physics_model is not None:
            extractor.physics = PhysicsModel.load(physics_model, provider)
        return extractor

    # ---- checks -------------------------------------------------------------------
    def _groups_of(self, event: EventData) -> list[TraceGroup]:
        if not event.groups:
            raise ValueError(f"event {event.event_id!r} has no trace groups")
        groups = [event.groups[p] for p in sorted(event.groups)]
        for g in groups:
            if g.traces.ndim != 2 or g.traces.shape[1] != self.contract.nt:
                raise ValueError(
                    f"event {event.event_id!r} pixel {g.pixel}: expected traces of "
                    f"{self.contract.nt} samples, got shape {g.traces.shape}"
                )
            if len(g) == 0:
                raise ValueError(f"event {event.event_id!r} pixel {g.pixel} has no traces")
            if not np.all(np.isfinite(g.traces)):
                raise ValueError(f"event {event.event_id!r} pixel {g.pixel}: NaN or inf in traces")
        return groups

    def check_coverage(self, event: EventData) -> None:
        """Refuse an event with too few traces or pixels (``SparseEvent``) unless allowed."""
        s = self.settings
        n_traces = sum(len(g) for g in event.groups.values())
        n_pixels = len(event.groups)
        if s.allow_sparse or not s.is_sparse(n_traces, n_pixels):
            return
        raise SparseEvent(
            f"event {event.event_id!r} has {n_traces} trace(s) in {n_pixels} pixel(s), "
            f"below the minimum of {s.min_traces} traces in {s.min_pixels} pixels for an event "
            "STF (allow it with --allow-sparse, or ExtractionSettings(allow_sparse=True))"
        )

    # ---- extraction ---------------------------------------------------------------
    def coherent_information(
        self,
        events: Sequence[EventData],
        warm: Sequence[WarmStart | Continuation | None] | None = None,
    ) -> list[CoherentInformation]:
        """The raw coherent information of each event (virtual gathers, scores, history);
        ``warm``: per event, a preview's descent start or a descent to carry on
        (``symae.extract.coherent``)."""
        grouped = [[g.traces for g in self._groups_of(e)] for e in events]
        for e in events:
            self.check_coverage(e)
        graphs = CachedGraphs(self.graphs, self.row_cache)
        with metering(self.work):
            return coherent_information_many(graphs, grouped, self.settings.latent, warm)

    def prepare(
        self, stream: Any, inventory: Any, event: Any, event_id: str | None = None
    ) -> EventData:
        """Preprocess and group ObsPy records under this model's data contract.

        ``stream``: an ObsPy ``Stream`` of raw records; ``inventory``: an ObsPy
        ``Inventory`` with their responses; ``event``: an ObsPy ``Event``, a ``Catalog``
        (``event_id`` picks one of several) or a symae ``Origin``.
        """
        from symae.data.events import Origin
        from symae.extract.records import event_from_obspy, origin_from_obspy

        origin = event if isinstance(event, Origin) else origin_from_obspy(event, event_id)
        return event_from_obspy(stream, inventory, origin, self.contract)

    def extract(
        self,
        event: Any,
        inventory: Any = None,
        origin: Any = None,
        *,
        event_id: str | None = None,
        revision: int = 0,
    ) -> ExtractionResult:
        """Extract one event: an ``EventData`` (grouped traces), or ObsPy records
        ``extract(stream, inventory, event)`` as :meth:`prepare` takes them."""
        if not isinstance(event, EventData):
            if inventory is None or origin is None:
                raise TypeError(
                    f"extract() takes an EventData, or an ObsPy Stream with its Inventory and "
                    f"Event: extract(stream, inventory, event); got {type(event).__name__}"
                    + ("" if inventory is not None else " without an inventory")
                    + ("" if origin is not None else " without an event")
                )
            event = self.prepare(event, inventory, origin, event_id)
        return self.extract_many([event], revision)[0]

    def extract_many(
        self, events: Sequence[EventData], revision: int = 0
    ) -> list[ExtractionResult]:
        """Extract several events, sharing each ONNX call between them."""
        infos = self.coherent_information(events)
        return [self.assemble(e, info, revision) for e, info in zip(events, infos, strict=True)]

    def assemble(
        self,
        event: EventData,
        info: CoherentInformation,
        revision: int = 0,
        *,
        preview: bool = False,
        warm: InversionWarmStart | None = None,
        inversion: bool = True,
    ) -> ExtractionResult:
        """RESULT.json of one event from its coherent information.

        ``preview``: a cheaper provisional result of a growing event (no baselines, flag
        ``preview``), its raw-trace inversion started from ``warm`` or, with
        ``inversion=False``, left out (flag ``preview_without_inversion``)."""
        return self.assemble_with_inversion(
            event, info, revision, preview=preview, warm=warm, inversion=inversion
        )[0]

    def assemble_with_inversion(
        self,
        event: EventData,
        info: CoherentInformation,
        revision: int = 0,
        *,
        preview: bool = False,
        warm: InversionWarmStart | None = None,
        inversion: bool = True,
        raw_inversion: InversionResult | None = None,
    ) -> tuple[ExtractionResult, InversionResult | None]:
        """:meth:`assemble`, and the raw-trace inversion it used (None: none ran);
        ``raw_inversion``: that inversion of these very traces made before (by a preview
        that ran it in full), re-used instead of run again."""
        with metering(self.work):
            return self._assemble(event, info, revision, preview, warm, inversion, raw_inversion)

    def _assemble(
        self,
        event: EventData,
        info: CoherentInformation,
        revision: int,
        preview: bool,
        warm: InversionWarmStart | None,
        inversion: bool,
        raw_inversion: InversionResult | None,
    ) -> tuple[ExtractionResult, InversionResult | None]:
        groups = self._groups_of(event)
        slices = info.group_slices()
        rel_err = _relative_error(np.concatenate([g.traces for g in groups]), info.reconstruction)
        pixel_stfs = [envelope_stf(v) for v in info.virtual]
        combined, weights = self._combine(groups, pixel_stfs, info)
        pixels = self._pixel_results(groups, slices, pixel_stfs, weights, rel_err)
        c = self.contract
        stfs = {
            methods.ENVELOPE: Stf.from_arrays(
                combined.mean, combined.std, c.dt, c.t0, methods.ENVELOPE
            )
        }
        inversions = (
            self._inversions(event, groups, info, warm, raw_inversion)
            if inversion
            else methods.Inversions(None, None, ["preview_without_inversion"])
        )
        stfs.update(self._inversion_stfs(inversions))
        if self.physics is not None and not preview:
            stfs.update(
                physics_method_stfs(event, self.physics, inversions.raw, self.settings.inversion)
            )
        _add_apparent_stfs(pixels, inversions)
        chosen = methods.preferred(stfs, inversions)
        quality = self._event_quality(event, groups, pixels, rel_err, info)
        quality.flags.extend(inversions.flags)
        if preview:
            quality.flags.append(PREVIEW_FLAG)
        result = ExtractionResult(
            event_id=event.event_id,
            revision=revision,
            origin=_origin_info(event),
            model=self.model,
            stf=stfs.pop(chosen),
            alternatives=stfs,
            pixels=pixels,
            baselines={} if preview else self._baselines(groups),
            inversion=methods.inversion_info(inversions.raw)
            if inversions.raw is not None
            else None,
            traces=_trace_scores(groups, slices, info, inversions),
            quality=quality,
            parameters=self.settings.as_parameters(),
            provenance=_provenance(event),
        )
        return result, inversions.raw

    # ---- the steps of ``assemble`` --------------------------------------------------
    def _combine(
        self, groups: list[TraceGroup], pixel_stfs: list[EnvelopeStf], info: CoherentInformation
    ) -> tuple[CombinedStf, np.ndarray]:
        """The event STF combined from the pixel STFs, and each pixel's weight in it."""
        c, s = self.contract, self.settings
        env_std = np.array([p.envelope_std for p in pixel_stfs])
        n_traces = np.array([len(g) for g in groups])
        combined = combine_pixels(
            np.array([p.mean for p in pixel_stfs]),
            np.array([p.std for p in pixel_stfs]),
            n_traces,
            env_std,
            reference=info.reference,
            max_lag=int(round(s.max_lag_s / c.dt)),
            gate=s.gate,
        )
        weights = n_traces * np.clip(1.0 - env_std / s.gate, 0.05, 1.0) * combined.used
        return combined, weights / weights.sum()

    def _pixel_results(
        self,
        groups: list[TraceGroup],
        slices: list[slice],
        pixel_stfs: list[EnvelopeStf],
        weights: np.ndarray,
        rel_err: np.ndarray,
    ) -> list[PixelResult]:
        """Each pixel's STF, direction and quality."""
        c, s = self.contract, self.settings
        pixels = []
        for g, sl, ps, w in zip(groups, slices, pixel_stfs, weights, strict=True):
            azimuth, takeoff = pixel_direction(g, c.nside)
            pixels.append(
                PixelResult(
                    pixel=int(g.pixel),
                    azimuth_deg=round(azimuth, 3),
                    takeoff_deg=round(takeoff, 3),
                    n_traces=len(g),
                    stf=Stf.from_arrays(ps.mean, ps.std, c.dt, c.t0),
                    quality=PixelQuality(
                        envelope_std=round(ps.envelope_std, 6),
                        passed=bool(ps.envelope_std < s.gate),
                        reconstruction_error=round(float(np.median(rel_err[sl])), 6),
                        weight=round(float(w), 6),
                    ),
                )
            )
        return pixels

    def _inversions(
        self,
        event: EventData,
        groups: list[TraceGroup],
        info: CoherentInformation,
        warm: InversionWarmStart | None = None,
        raw: InversionResult | None = None,
    ) -> methods.Inversions:
        """The inversions of the raw traces (``raw``: made before) and of the virtual
        gathers (none when off)."""
        if self.settings.inversion is None:
            return methods.Inversions(None, None, [])
        return methods.run_inversions(
            event, groups, info.virtual, self.contract, self.settings.inversion, warm, raw
        )

    @staticmethod
    def _inversion_stfs(inversions: methods.Inversions) -> dict[str, Stf]:
        out = {}
        if inversions.raw is not None:
            out[methods.INVERSION] = methods.inversion_stf(inversions.raw, methods.INVERSION)
        if inversions.virtual is not None:
            out[methods.INVERSION_VIRTUAL] = methods.inversion_stf(
                inversions.virtual, methods.INVERSION_VIRTUAL
            )
        return out

    def _baselines(self, groups: list[TraceGroup]) -> dict[str, Stf]:
        """The baseline STFs on the same traces (none when the settings turn them off)."""
        if not self.settings.baselines:
            return {}
        c = self.contract
        raw = np.concatenate([g.traces for g in groups])
        return {
            name: Stf.from_arrays(b.mean, b.std, c.dt, c.t0, name)
            for name, b in all_baselines(raw, c.dt).items()
        }

    def _flags(
        self,
        event: EventData,
        pixels: list[PixelResult],
        rel_err: np.ndarray,
        info: CoherentInformation,
    ) -> list[str]:
        """Machine-readable warnings of the event."""
        s = self.settings
        flags = []
        if not any(p.quality.passed for p in pixels):
            flags.append("no_pixel_passed_gate")
        if s.is_sparse(len(rel_err), len(pixels)):
            flags.append("sparse")
        if len(rel_err) < s.latent.n_codes:
            flags.append("fewer_traces_than_codes")
        if len(info.objective) > 1 and info.objective[-1] >= info.objective[0]:
            flags.append("objective_not_decreased")
        if event.provenance.get("response_not_removed"):
            flags.append("response_not_removed")  # some records taken in the units at hand
        if event.provenance.get("padded"):
            flags.append("padded")  # some records shorter than the window, zero-padded
        return flags

    def _event_quality(
        self,
        event: EventData,
        groups: list[TraceGroup],
        pixels: list[PixelResult],
        rel_err: np.ndarray,
        info: CoherentInformation,
    ) -> EventQuality:
        return EventQuality(
            n_traces=len(rel_err),
            n_pixels=len(pixels),
            n_pixels_passed=int(sum(p.quality.passed for p in pixels)),
            reference_pixel=int(groups[info.reference].pixel),
            reconstruction_error=round(float(np.median(rel_err)), 6),
            objective_start=round(float(info.objective[0]), 6),
            objective_end=round(float(info.objective[-1]), 6),
            kl_history=[round(float(v), 6) for v in info.kl],
            flags=self._flags(event, pixels, rel_err, info),
        )


def _trace_scores(
    groups: list[TraceGroup],
    slices: list[slice],
    info: CoherentInformation,
    inversions: methods.Inversions,
) -> list[TraceScore]:
    """Every trace's informativeness, whether its nuisance code was optimised, and how the
    raw-trace inversion fitted it."""
    selected = set(info.selected.tolist())
    fits = {(t.station_id, t.pixel): t for t in inversions.raw.traces} if inversions.raw else {}
    traces = []
    for g, sl in zip(groups, slices, strict=True):
        for k, j in enumerate(range(sl.start, sl.stop)):
            fit = fits.get((g.station_id[k], int(g.pixel)))
            traces.append(
                TraceScore(
                    id=g.station_id[k],
                    pixel=int(g.pixel),
                    informativeness=round(float(info.scores[j]), 6),
                    selected=j in selected,
                    misfit=None if fit is None else round(float(fit.misfit), 6),
                    used=None if fit is None else fit.used,
                    reason=None if fit is None else fit.reason,
                )
            )
    return traces


def _add_apparent_stfs(pixels: list[PixelResult], inversions: methods.Inversions) -> None:
    """Each pixel's apparent STF from the raw-trace inversion, where it has one."""
    if inversions.raw is None:
        return
    times = inversions.raw.times
    dt = float(times[1] - times[0])
    for p in pixels:
        apparent = inversions.raw.pixel_stfs.get(p.pixel)
        if apparent is not None and np.any(apparent.stf > 0):
            p.apparent_stf = Stf.from_band(
                apparent.stf, apparent.stf, apparent.stf, dt, float(times[0]), methods.INVERSION
            )


def _origin_info(event: EventData) -> OriginInfo:
    o = event.origin
    return OriginInfo(
        time=o.time,
        latitude=o.latitude,
        longitude=o.longitude,
        depth_km=o.depth_km,
        magnitude=o.magnitude,
        region=o.region,
    )


def _relative_error(traces: np.ndarray, recon: np.ndarray) -> np.ndarray:
    """|x - x_hat|^2 / |x|^2 per trace."""
    x = np.asarray(traces, dtype=np.float64)
    num = np.sum((x - recon) ** 2, axis=-1)
    den = np.sum(x**2, axis=-1)
    return num / np.where(den > 0, den, 1.0)


def _provenance(event: EventData) -> dict[str, Any]:
    return {"code_version": __version__, "input": event.provenance}
