"""RESULT.json: the pydantic model of one extraction result and its JSON Schema.

Every consumer (the ``symae extract`` command, the inference service, the publisher)
reads and writes this model, and ``docs/schemas/result.schema.json`` is exported from
it (``python -m symae.extract.result`` rewrites the file; a test checks they agree).
Times are seconds relative to the predicted P arrival; STF values are normalised to
peak 1 with their +-1 std band scaled by the same factor.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from symae.data.reference import REPO_ROOT

SCHEMA_PATH = REPO_ROOT / "docs" / "schemas" / "result.schema.json"
SCHEMA_VERSION = 1


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Stf(_Strict):
    """A sampled source time function with a +-1 std band."""

    dt: float = Field(gt=0, description="sample interval, s")
    t0: float = Field(description="time of the first sample, s relative to the predicted P arrival")
    values: list[float] = Field(description="STF samples, normalised to peak 1")
    lower: list[float] = Field(description="values minus one standard deviation")
    upper: list[float] = Field(description="values plus one standard deviation")

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
        cls, values: np.ndarray, std: np.ndarray, dt: float, t0: float
    ) -> Stf:
        """Normalise ``values`` to peak 1 and build the band ``values +- std`` on the same scale."""
        values = np.asarray(values, dtype=np.float64)
        std = np.asarray(std, dtype=np.float64)
        peak = float(np.max(np.abs(values)))
        scale = 1.0 / peak if peak > 0 else 1.0
        v, s = values * scale, std * scale
        return cls(
            dt=float(dt),
            t0=float(t0),
            values=_rounded(v),
            lower=_rounded(v - s),
            upper=_rounded(v + s),
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
    stf: Stf
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


class ModelInfo(_Strict):
    name: str
    version: str
    provider: str = Field(default="", description="ONNX Runtime execution provider used")


class EventQuality(_Strict):
    n_traces: int = Field(ge=0)
    n_pixels: int = Field(ge=0)
    n_pixels_passed: int = Field(ge=0)
    reference_pixel: int = Field(ge=0, description="the largest group, whose coherent code is the reference")
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
        "objective_not_decreased",
    )


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
    stf: Stf = Field(description="event STF combining the pixels")
    pixels: list[PixelResult]
    baselines: dict[str, Stf] = Field(default_factory=dict)
    traces: list[TraceScore]
    quality: EventQuality
    parameters: dict[str, float | int | str] = Field(
        default_factory=dict, description="extraction settings (N, steps, lr, alpha, gate)"
    )
    provenance: dict[str, Any] = Field(default_factory=dict)

    def write(self, path: str | Path) -> None:
        Path(path).write_text(self.model_dump_json(indent=1) + "\n")

    @classmethod
    def read(cls, path: str | Path) -> ExtractionResult:
        return cls.model_validate_json(Path(path).read_text())


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
