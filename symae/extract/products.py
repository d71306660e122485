"""Products of one extraction result: SCARDEC-style text, QuakeML, PNG figure.

The library's writers, used by ``ExtractionResult.to_scardec``/``to_quakeml``/``plot`` on its ``product()``
and by the publish service (``services.publish.products`` writes them to files). All
take an :class:`StfProduct`, the small view of one extraction result that publishing
needs (origin, event STF on its time axis, per-pixel STFs).

Moment-rate normalisation: the extracted STF is a peak-normalised envelope with no
physical unit. For the SCARDEC-style text and the QuakeML ``extra`` it is clipped at
zero and scaled so that its time integral equals the scalar moment M0 of the origin's
magnitude (``M0 = 10 ** (1.5 * Mw + 9.1)`` N m, Hanks & Kanamori). Without a magnitude
the curve is scaled to unit area and M0 is written as 1.

The QuakeML event comes from the one event builder, ``symae.data.events.event_of``
(resource ids ``smi:local/symae/<kind>/<event_id>/r<revision>``).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from symae.data.events import Origin, scalar_moment

QUAKEML_NAMESPACE = "https://symae.org/xmlns/stf/1.0"


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
    stf: np.ndarray  # (nt,) the preferred method's event STF, peak 1
    lower: np.ndarray  # (nt,) lower edge of its band
    upper: np.ndarray  # (nt,) upper edge of its band
    # pixel -> (times, values): the apparent STF of the published method where the pixel
    # has one, else the pixel's envelope, each on its own time axis
    pixel_stfs: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    method: str = "envelope"  # the method that made ``stf`` (RESULT.json stf.method)

    def __post_init__(self) -> None:
        if self.time.shape != self.stf.shape or self.time.ndim != 1:
            raise ValueError(
                f"event {self.event_id!r}: time axis {self.time.shape} and STF "
                f"{self.stf.shape} must be equal 1-D shapes"
            )


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
        f"{product.depth_km:g} {m0:.3E} {mw:.3f} " + " 0" * 6,
    ]
    lines += [f"{t:14.6f} {r:16.6E}" for t, r in zip(product.time, rate, strict=True)]
    return "\n".join(lines) + "\n"


def origin_of_product(product: StfProduct) -> Origin:
    """The product's origin as a symae ``Origin``."""
    return Origin(
        event_id=product.event_id,
        time=product.origin_time,
        latitude=product.latitude,
        longitude=product.longitude,
        depth_km=product.depth_km,
        magnitude=product.magnitude,
        magnitude_type="Mw",
    )


def quakeml_event(product: StfProduct) -> Any:
    """An ObsPy ``Event``: origin, magnitude and the sampled moment rate in ``extra``.

    The STF hangs under focalMechanism/momentTensor/sourceTimeFunction, as ObsPy's
    SCARDEC reader puts it, with ``moment_rate`` (space-separated N m / s), ``dt`` and
    ``offset`` (time of the first sample, s) in the symae namespace, plus the model and
    the method that produced it.
    """
    from obspy.core.event import CreationInfo, SourceTimeFunction

    from symae.data.events import event_of

    rate, m0 = moment_rate(product)
    event = event_of(origin_of_product(product), revision=product.revision, m0=m0)
    dt = float(np.mean(np.diff(product.time))) if product.time.size > 1 else 1.0

    def tag(value: object) -> dict[str, object]:
        return {"value": value, "namespace": QUAKEML_NAMESPACE}

    stf = SourceTimeFunction(type="unknown")
    stf.extra = {
        "moment_rate": tag(" ".join(f"{r:.6E}" for r in rate)),
        "dt": tag(f"{dt:g}"),
        "offset": tag(f"{float(product.time[0]):g}"),
        "model": tag(f"{product.model_name}:{product.model_version}"),
        "method": tag(product.method),
        "revision": tag(str(product.revision)),
    }
    event.focal_mechanisms[0].moment_tensor.source_time_function = stf
    event.creation_info = CreationInfo(agency_id="symae", version=product.model_version)
    return event


def quakeml_bytes(product: StfProduct) -> bytes:
    """The QuakeML document of :func:`quakeml_event` (one event in a catalog)."""
    from obspy.core.event import Catalog

    buf = io.BytesIO()
    Catalog(events=[quakeml_event(product)]).write(
        buf, format="QUAKEML", nsmap={"symae": QUAKEML_NAMESPACE}
    )
    return buf.getvalue()


def figure(product: StfProduct) -> Any:
    """A matplotlib ``Figure`` of the event STF (with its band) over the per-pixel STFs."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 3.4), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    for times, curve in product.pixel_stfs.values():
        ax.plot(times, curve, color="0.75", lw=0.6)
    ax.fill_between(
        product.time, product.lower, product.upper, color="tab:blue", alpha=0.25, lw=0, label="band"
    )
    ax.plot(
        product.time, product.stf, color="tab:blue", lw=1.5, label=f"event STF ({product.method})"
    )
    mag = f"Mw {product.magnitude:.1f} " if product.magnitude is not None else ""
    ax.set_title(
        f"{product.event_id}  {mag}revision {product.revision}\n"
        f"model {product.model_name}:{product.model_version}",
        fontsize=9,
    )
    ax.set_xlabel("time after predicted P (s)")
    ax.set_ylabel("moment rate (peak 1)")
    fig.tight_layout()
    return fig


def figure_png(product: StfProduct) -> bytes:
    """A PNG of :func:`figure`."""
    buf = io.BytesIO()
    figure(product).savefig(buf, format="png")
    return buf.getvalue()
