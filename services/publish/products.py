"""Product files written for every published event: SCARDEC-style text, QuakeML, PNG.

All writers take an :class:`StfProduct`, the small view of one extraction result that
publishing needs (origin, event STF on its time axis, per-pixel STFs). The result JSON
itself is written as received; see ``docs/streaming-products.md``.

Moment-rate normalisation: the extracted STF is a peak-normalised envelope with no
physical unit. For the SCARDEC-style text and the QuakeML ``extra`` it is clipped at
zero and scaled so that its time integral equals the scalar moment M0 of the origin's
magnitude (``M0 = 10 ** (1.5 * Mw + 9.1)`` N m, Hanks & Kanamori). Without a magnitude
the curve is scaled to unit area and M0 is written as 1.
"""

from __future__ import annotations

import io
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from symae.extract.result import ExtractionResult

QUAKEML_NAMESPACE = "https://symae.org/xmlns/stf/1.0"
_NOT_URI = re.compile(r"[^\w.-]")
PRODUCT_FILES = {
    "result": "result.json",
    "scardec": "stf_scardec.txt",
    "quakeml": "event.xml",
    "figure": "stf.png",
}


@dataclass(frozen=True)
class StfProduct:
    """What the product writers need from one extraction result."""

    event_id: str
    revision: int
    model_name: str
    model_version: str
    origin_time: str  # ISO 8601 UTC
    latitude: float
    longitude: float
    depth_km: float
    magnitude: float | None
    time: np.ndarray  # (nt,) seconds relative to the predicted P arrival
    stf: np.ndarray  # (nt,) event STF, peak-normalised envelope
    lower: np.ndarray  # (nt,) STF minus one standard deviation
    upper: np.ndarray  # (nt,) STF plus one standard deviation
    pixel_stfs: dict[int, np.ndarray] = field(default_factory=dict)  # pixel -> (nt,)

    def __post_init__(self) -> None:
        if self.time.shape != self.stf.shape or self.time.ndim != 1:
            raise ValueError(
                f"event {self.event_id!r}: time axis {self.time.shape} and STF "
                f"{self.stf.shape} must be equal 1-D shapes"
            )


def product_from_result(result: ExtractionResult) -> StfProduct:
    """The publishing view of an extraction result; it must carry its origin."""
    if result.origin is None:
        raise ValueError(f"result for event {result.event_id!r} has no origin to publish")
    o = result.origin
    return StfProduct(
        event_id=result.event_id,
        revision=result.revision,
        model_name=result.model.name,
        model_version=result.model.version,
        origin_time=o.time,
        latitude=o.latitude,
        longitude=o.longitude,
        depth_km=o.depth_km,
        magnitude=o.magnitude,
        time=result.stf.times(),
        stf=result.stf.array(),
        lower=np.asarray(result.stf.lower),
        upper=np.asarray(result.stf.upper),
        pixel_stfs={p.pixel: p.stf.array() for p in result.pixels},
    )


def scalar_moment(magnitude: float | None) -> float | None:
    """Scalar moment in N m of a moment magnitude (Hanks & Kanamori), None if unknown."""
    if magnitude is None or not math.isfinite(magnitude):
        return None
    return 10.0 ** (1.5 * magnitude + 9.1)


def moment_rate(product: StfProduct) -> tuple[np.ndarray, float]:
    """The STF as a moment rate (N m / s) and the M0 it integrates to.

    Negative values are clipped to zero; the curve is scaled so that its integral over
    the time axis equals M0 of the magnitude, or 1 when the magnitude is unknown.
    """
    rate = np.clip(np.asarray(product.stf, dtype=np.float64), 0.0, None)
    dt = float(np.mean(np.diff(product.time))) if product.time.size > 1 else 1.0
    area = float(rate.sum() * dt)
    m0 = scalar_moment(product.magnitude) or 1.0
    if area <= 0.0:
        return np.zeros_like(rate), m0
    return rate * (m0 / area), m0


def _origin_fields(origin_time: str) -> str:
    from obspy import UTCDateTime

    t = UTCDateTime(origin_time)
    seconds = t.second + t.microsecond / 1e6
    return f"{t.year:04d} {t.month:02d} {t.day:02d} {t.hour:02d} {t.minute:02d} {seconds:.1f}"


def scardec_text(product: StfProduct) -> str:
    """The STF in the layout of SCARDEC ``fctoptsource`` files.

    Line 1: ``YYYY MM DD HH MM SS.S lat lon``; line 2: ``depth_km M0 Mw`` followed by
    strike, dip, rake of the two nodal planes, unknown to the extraction and written as
    zeros (SCARDEC readers, ObsPy's among them, require finite values there); then one ``time moment_rate`` pair a line (seconds relative to the
    predicted P arrival; N m / s).
    """
    rate, m0 = moment_rate(product)
    mw = product.magnitude if product.magnitude is not None else float("nan")
    lines = [
        f"{_origin_fields(product.origin_time)} {product.latitude:.3f} {product.longitude:.3f}",
        f"{product.depth_km:g} {m0:.3E} {mw:.3f} "
        + " 0" * 6,
    ]
    lines += [f"{t:14.6f} {r:16.6E}" for t, r in zip(product.time, rate, strict=True)]
    return "\n".join(lines) + "\n"


def quakeml_bytes(product: StfProduct) -> bytes:
    """A QuakeML event: origin, magnitude and the sampled moment rate in ``extra``.

    The STF hangs under focalMechanism/momentTensor/sourceTimeFunction, as ObsPy's
    SCARDEC reader puts it, with ``moment_rate`` (space-separated N m / s), ``dt`` and
    ``offset`` (time of the first sample, s) in the symae namespace, plus the model that
    produced it.
    """
    from obspy import UTCDateTime
    from obspy.core.event import (
        Catalog,
        CreationInfo,
        Event,
        FocalMechanism,
        Magnitude,
        MomentTensor,
        Origin,
        ResourceIdentifier,
        SourceTimeFunction,
    )

    rate, m0 = moment_rate(product)
    # QuakeML resource ids allow letters, digits and a few marks only
    safe_id = _NOT_URI.sub("_", product.event_id)
    prefix = f"smi:symae/{safe_id}/r{product.revision}"
    origin = Origin(
        resource_id=ResourceIdentifier(f"{prefix}/origin"),
        time=UTCDateTime(product.origin_time),
        latitude=product.latitude,
        longitude=product.longitude,
        depth=product.depth_km * 1e3,
    )
    event = Event(resource_id=ResourceIdentifier(f"{prefix}/event"), event_type="earthquake")
    event.origins.append(origin)
    event.preferred_origin_id = origin.resource_id
    if product.magnitude is not None:
        mag = Magnitude(
            resource_id=ResourceIdentifier(f"{prefix}/magnitude"),
            mag=product.magnitude,
            magnitude_type="Mw",
            origin_id=origin.resource_id,
        )
        event.magnitudes.append(mag)
        event.preferred_magnitude_id = mag.resource_id

    dt = float(np.mean(np.diff(product.time))) if product.time.size > 1 else 1.0

    def tag(value: object) -> dict[str, object]:
        return {"value": value, "namespace": QUAKEML_NAMESPACE}

    stf = SourceTimeFunction(type="unknown")
    stf.extra = {
        "moment_rate": tag(" ".join(f"{r:.6E}" for r in rate)),
        "dt": tag(f"{dt:g}"),
        "offset": tag(f"{float(product.time[0]):g}"),
        "model": tag(f"{product.model_name}:{product.model_version}"),
        "revision": tag(str(product.revision)),
    }
    tensor = MomentTensor(
        resource_id=ResourceIdentifier(f"{prefix}/moment_tensor"),
        derived_origin_id=origin.resource_id,
        scalar_moment=m0,
        source_time_function=stf,
    )
    event.focal_mechanisms.append(
        FocalMechanism(resource_id=ResourceIdentifier(f"{prefix}/focal_mechanism"),
                       moment_tensor=tensor)
    )
    event.creation_info = CreationInfo(agency_id="symae", version=product.model_version)
    buf = io.BytesIO()
    Catalog(events=[event]).write(buf, format="QUAKEML", nsmap={"symae": QUAKEML_NAMESPACE})
    return buf.getvalue()


def figure_png(product: StfProduct) -> bytes:
    """A PNG of the event STF (with its band) over the per-pixel STFs."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 3.4), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    for curve in product.pixel_stfs.values():
        ax.plot(product.time, curve, color="0.75", lw=0.6)
    ax.fill_between(product.time, product.lower, product.upper, color="tab:blue",
                    alpha=0.25, lw=0, label="+-1 std")
    ax.plot(product.time, product.stf, color="tab:blue", lw=1.5, label="event STF")
    mag = f"Mw {product.magnitude:.1f} " if product.magnitude is not None else ""
    ax.set_title(f"{product.event_id}  {mag}revision {product.revision}\n"
                 f"model {product.model_name}:{product.model_version}", fontsize=9)
    ax.set_xlabel("time after predicted P (s)")
    ax.set_ylabel("moment rate (peak 1)")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file, so readers never see half."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_products(product: StfProduct, result_json: bytes, folder: Path) -> dict[str, Path]:
    """Write every product file of one event into ``folder``; result JSON last.

    The result JSON marks a complete set: a reader that finds it finds the rest.
    """
    folder.mkdir(parents=True, exist_ok=True)
    paths = {kind: folder / name for kind, name in PRODUCT_FILES.items()}
    write_atomic(paths["scardec"], scardec_text(product).encode())
    write_atomic(paths["quakeml"], quakeml_bytes(product))
    write_atomic(paths["figure"], figure_png(product))
    write_atomic(paths["result"], result_json)
    return paths
