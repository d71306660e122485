"""RESULT.json: the pydantic model of one extraction result and its JSON Schema.

Every consumer (the ``symae extract`` command, the inference service, the publisher)
reads and writes this model, and ``docs/schemas/result.schema.json`` is exported from
it (``python -m symae.extract.result`` rewrites the file; a test checks they agree).
Times are seconds relative to the predicted P arrival; STF values are normalised to
peak 1 with their band scaled by the same factor. ``stf`` is the preferred method's STF
(its ``method`` says which, chosen by ``symae.extract.methods.PREFERENCE``);
``alternatives`` holds every other method's, ``baselines`` the stacks'.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from symae.data.reference import SCHEMAS_DIR

if TYPE_CHECKING:
    from symae.extract.products import StfProduct

SCHEMA_PATH = SCHEMAS_DIR / "result.schema.json"
SCHEMA_VERSION = 2
# quality flag of a cheaper provisional result of a growing event (``symae.extract.incremental``)
PREVIEW_FLAG = "preview"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Stf(_Strict):
    """A sampled source time function with an uncertainty band."""

    method: str | None = Field(
        default=None,
        description="stable identifier of the method that made it (inversion, "
        "inversion-virtual, envelope, or a baseline's name)",
    )
    dt: float = Field(gt=0, description="sample interval, s")
    t0: float = Field(description="time of the first sample, s relative to the predicted P arrival")
    values: list[float] = Field(description="STF samples, normalised to peak 1")
    lower: list[float] = Field(
        description="lower edge of the band (-1 std, or a bootstrap quantile)"
    )
    upper: list[float] = Field(
        description="upper edge of the band (+1 std, or a bootstrap quantile)"
    )

    @model_validator(mode="after")
    def _same_length(self) -> Stf:
        n = len(self.values)
        if n == 0:
            raise ValueError("an STF needs at least one sample")
        if len(self.lower) != n or len(self.upper) != n:
            raise ValueError(
                f"values, lower and upper must have the same length, got "
                f"{n}, {len(self.lower)}, {len(self.upper)}"
            )
        return self

    @classmethod
    def from_arrays(
        cls, values: np.ndarray, std: np.ndarray, dt: float, t0: float, method: str | None = None
    ) -> Stf:
        """Normalise ``values`` to peak 1 and build the band ``values +- std`` on the same scale."""
        values = np.asarray(values, dtype=np.float64)
        std = np.asarray(std, dtype=np.float64)
        return cls.from_band(values, values - std, values + std, dt, t0, method)

    @classmethod
    def from_band(
        cls,
        values: np.ndarray,
        lower: np.ndarray,
        upper: np.ndarray,
        dt: float,
        t0: float,
        method: str | None = None,
    ) -> Stf:
        """Normalise ``values`` to peak 1, ``lower`` and ``upper`` by the same factor."""
        values = np.asarray(values, dtype=np.float64)
        peak = float(np.max(np.abs(values)))
        scale = 1.0 / peak if peak > 0 else 1.0
        return cls(
            method=method,
            dt=float(dt),
            t0=float(t0),
            values=_rounded(values * scale),
            lower=_rounded(np.asarray(lower, dtype=np.float64) * scale),
            upper=_rounded(np.asarray(upper, dtype=np.float64) * scale),
        )

    def times(self) -> np.ndarray:
        """Sample times, s relative to the predicted P arrival."""
        return self.t0 + self.dt * np.arange(len(self.values))

    def array(self) -> np.ndarray:
        return np.asarray(self.values, dtype=np.float64)


def _rounded(x: np.ndarray) -> list[float]:
    """Six significant decimals keep RESULT.json small without visible loss."""
    return [round(float(v), 6) for v in x]


class PixelQuality(_Strict):
    """Why a pixel's STF can or cannot be trusted."""

    envelope_std: float = Field(
        description="mean +-1 std half-width of the peak-normalised virtual envelopes "
        "where the mean envelope exceeds 10 % of its peak"
    )
    passed: bool = Field(description="envelope_std below the gate (reference: 0.25)")
    reconstruction_error: float = Field(
        description="median relative squared error of the pixel's traces reconstructed "
        "by the autoencoder, in the traces' own frame"
    )
    weight: float = Field(ge=0, description="weight of this pixel in the event STF")


class PixelResult(_Strict):
    pixel: int = Field(ge=0, description="HEALPix pixel (RING) of the focal-sphere tiling")
    azimuth_deg: float = Field(description="source-to-station azimuth of the pixel's traces")
    takeoff_deg: float = Field(description="P take-off angle of the pixel's traces")
    n_traces: int = Field(ge=1)
    stf: Stf = Field(description="the pixel's SymAE virtual envelope")
    apparent_stf: Stf | None = Field(
        default=None,
        description="the inversion's apparent STF of this pixel (event STF as prior); its "
        "duration against azimuth shows directivity",
    )
    quality: PixelQuality


class TraceScore(_Strict):
    id: str = Field(description="station id of the trace")
    pixel: int = Field(ge=0)
    informativeness: float = Field(
        description="B_j = KL(Q_ref || Q_j); low means the trace carries the reference's "
        "coherent information"
    )
    selected: bool = Field(
        default=False, description="one of the N traces whose nuisance codes were optimised"
    )
    misfit: float | None = Field(
        default=None, description="the inversion's relative misfit |d - fit|^2 / |d|^2"
    )
    used: bool | None = Field(default=None, description="used by the inversion")
    reason: str | None = Field(
        default=None,
        description="why the inversion rejected the trace (no_greens, negative_scale, "
        "lag_at_bound, poor_fit)",
    )


class ModelInfo(_Strict):
    name: str
    version: str
    provider: str = Field(default="", description="ONNX Runtime execution provider used")


class EventQuality(_Strict):
    n_traces: int = Field(ge=0)
    n_pixels: int = Field(ge=0)
    n_pixels_passed: int = Field(ge=0)
    reference_pixel: int = Field(
        ge=0, description="the largest group, whose coherent code is the reference"
    )
    reconstruction_error: float = Field(description="median over the event's traces")
    objective_start: float
    objective_end: float
    kl_history: list[float] = Field(
        default_factory=list, description="KL term of the latent optimisation at every step"
    )
    flags: list[str] = Field(
        default_factory=list,
        description="machine-readable warnings: sparse (fewer traces or pixels than the "
        "minimum, extracted because allowed), no_pixel_passed_gate, fewer_traces_than_codes, "
        "objective_not_decreased, response_not_removed, padded (records shorter than the "
        "window, zero-padded), window_limited (the source may outlast the P window), "
        "inversion_few_traces, inversion_failed: ..., preview (a cheaper provisional "
        "result of a growing event)",
    )


class InversionInfo(_Strict):
    """What the raw-trace inversion used and found (``symae.inversion``)."""

    depth_km: float = Field(description="depth of the Green's functions")
    depth_source: str = Field(description="catalogue | estimated")
    mechanism: dict[str, Any] = Field(
        default_factory=dict,
        description="moment tensor (unit M0, keys Mrr..Mtp) and strike/dip/rake when searched",
    )
    mechanism_source: str = Field(description="catalogue | estimated")
    t_star_s: float
    highpass_hz: float = Field(description="causal high-pass of the data band, Hz")
    duration_s: float = Field(description="5-95 % of the moment")
    centroid_s: float = Field(description="moment centroid, s after the catalogue origin time")
    misfit: float = Field(description="mean relative misfit, rejected traces counted as 1")
    onset_shift_s: float = Field(
        0.0,
        ge=0,
        description="the records arrived this much earlier than predicted (e.g. the catalogue "
        "time is a centroid time): the STF starts up to this long before the origin time",
    )
    window_limited: bool = Field(
        False,
        description="the source may outlast the P window: the Mw-scaled STF support was cut "
        "at the window's end, so the STF shows only the moment released until then and its "
        "duration and centroid are lower bounds",
    )
    n_used: int = Field(ge=0)
    rejected: dict[str, int] = Field(default_factory=dict, description="rejected traces per reason")


class OriginInfo(_Strict):
    time: str
    latitude: float
    longitude: float
    depth_km: float
    magnitude: float | None = None
    region: str = ""


class ExtractionResult(_Strict):
    """One event's extracted source time functions (RESULT.json)."""

    schema_version: int = SCHEMA_VERSION
    event_id: str
    revision: int = Field(default=0, ge=0, description="grows as more stations arrive")
    origin: OriginInfo | None = None
    model: ModelInfo
    stf: Stf = Field(description="the preferred method's event STF (its ``method`` names it)")
    alternatives: dict[str, Stf] = Field(
        default_factory=dict, description="every other method's event STF, by method name"
    )
    pixels: list[PixelResult]
    baselines: dict[str, Stf] = Field(default_factory=dict)
    inversion: InversionInfo | None = Field(
        default=None, description="the raw-trace inversion's depth, mechanism and fit"
    )
    traces: list[TraceScore]
    quality: EventQuality
    parameters: dict[str, float | int | str] = Field(
        default_factory=dict, description="extraction settings (N, steps, lr, alpha, gate)"
    )
    provenance: dict[str, Any] = Field(default_factory=dict)

    def method_stfs(self) -> dict[str, Stf]:
        """Every method's event STF by name: the preferred one first, then the alternatives."""
        return {self.stf.method or "envelope": self.stf, **self.alternatives}

    def write(self, path: str | Path) -> None:
        Path(path).write_text(self.model_dump_json(indent=1) + "\n")

    # ---- the event STF as arrays ----------------------------------------------------
    @property
    def times(self) -> np.ndarray:
        """Sample times of the event STF, s relative to the predicted P arrival."""
        return self.stf.times()

    @property
    def values(self) -> np.ndarray:
        """The event STF, peak-normalised (see ``lower``/``upper`` for its +-1 std band)."""
        return self.stf.array()

    @property
    def lower(self) -> np.ndarray:
        return np.asarray(self.stf.lower, dtype=np.float64)

    @property
    def upper(self) -> np.ndarray:
        return np.asarray(self.stf.upper, dtype=np.float64)

    # ---- products -------------------------------------------------------------------
    def product(self) -> StfProduct:
        """The publishing view of this result (``symae.extract.products``); needs the origin."""
        from symae.extract.products import StfProduct

        if self.origin is None:
            raise ValueError(f"result for event {self.event_id!r} has no origin to publish")
        o = self.origin
        return StfProduct(
            event_id=self.event_id,
            revision=self.revision,
            model_name=self.model.name,
            model_version=self.model.version,
            origin_time=o.time,
            latitude=o.latitude,
            longitude=o.longitude,
            depth_km=o.depth_km,
            magnitude=o.magnitude,
            time=self.stf.times(),
            stf=self.stf.array(),
            lower=np.asarray(self.stf.lower),
            upper=np.asarray(self.stf.upper),
            pixel_stfs={p.pixel: _pixel_curve(p, self.stf.method) for p in self.pixels},
            method=self.stf.method or "envelope",
        )

    def to_dict(self) -> dict[str, Any]:
        """The RESULT.json content as plain JSON types."""
        return self.model_dump(mode="json")

    def to_scardec(self) -> str:
        """The event STF as SCARDEC ``fctoptsource`` text (moment rate in N m/s, scaled
        to the M0 of the origin's Mw; ``obspy.read_events(path, format="SCARDEC")``
        reads it). Needs the origin."""
        from symae.extract.products import scardec_text

        return scardec_text(self.product())

    def to_quakeml(self, as_text: bool = False) -> Any:
        """The event as an ObsPy ``Catalog`` of one ``Event`` (origin, Mw, and the sampled
        moment rate under focalMechanism/momentTensor/sourceTimeFunction ``extra``), or,
        with ``as_text=True``, that catalog's QuakeML document as a string. Needs the origin."""
        from symae.extract.products import quakeml_bytes, quakeml_event

        product = self.product()
        if as_text:
            return quakeml_bytes(product).decode()
        from obspy.core.event import Catalog

        return Catalog(events=[quakeml_event(product)])

    def plot(self) -> Any:
        """A matplotlib ``Figure`` of the event STF with its band over the pixel STFs."""
        from symae.extract.products import figure

        return figure(self.product())

    @classmethod
    def read(cls, path: str | Path) -> ExtractionResult:
        return cls.model_validate_json(Path(path).read_text())


def _pixel_curve(pixel: PixelResult, method: str | None) -> tuple[np.ndarray, np.ndarray]:
    """A pixel's STF drawn beside the event's: its apparent STF when the published
    method is the inversion and the pixel has one, else its envelope."""
    stf = pixel.apparent_stf if method == "inversion" and pixel.apparent_stf else pixel.stf
    return stf.times(), stf.array()


def json_schema() -> dict[str, Any]:
    """The JSON Schema of RESULT.json, as published in ``docs/schemas``."""
    schema = ExtractionResult.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def write_schema(path: Path = SCHEMA_PATH) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(json_schema(), indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    write_schema()
    print(f"wrote {SCHEMA_PATH}")
