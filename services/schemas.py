"""Messages on the symae topics, as versioned pydantic v2 models.

| topic | model | key |
|---|---|---|
| ``<prefix>.origins`` | :class:`OriginMessage` | event id |
| ``<prefix>.waveforms.raw`` | :class:`RawRecord` | event id |
| ``<prefix>.bundles`` | :class:`BundleMessage` | event id |
| ``<prefix>.dlq`` | :class:`DeadLetter` | key of the refused message |

Every message is one JSON object with ``schema_version``; readers refuse versions they
do not know (a ``schema`` dead letter). Waveform samples and trace arrays never travel
as JSON number lists: a :class:`BinaryArray` holds the little-endian bytes, optionally
zlib-compressed, base64-encoded (4 bytes per float32 sample plus a third for base64).
JSON Schema files of these models live in ``docs/schemas/`` (``python -m
services.schemas`` rewrites them; a test checks they match).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
import sys
import zlib
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from symae.contract import DataContract
from symae.data.dataset import EventData, TraceGroup
from symae.data.events import Origin
from symae.data.reference import SCHEMAS_DIR

if TYPE_CHECKING:
    from obspy import Trace

log = logging.getLogger(__name__)

SCHEMA_VERSION: Literal[1] = 1
MAX_ELEMENTS = 1 << 28  # elements of one BinaryArray (1 GiB of float32): far past any record
MAGNITUDE_RANGE = (-3.0, 11.0)  # an origin magnitude outside it is dropped with a warning
MOMENT_MAX = 1e30  # N m; a moment tensor component past it drops the tensor
MAX_STATIONXML_BYTES = 8 * 1024 * 1024  # default cap on an inflated StationXML


def inflate(data: bytes, limit: int, what: str = "data") -> bytes:
    """zlib-decompress ``data``, stopping at ``limit`` + 1 bytes: a stream that inflates
    past ``limit`` is refused (ValueError) without being inflated in full."""
    d = zlib.decompressobj()
    try:
        out = d.decompress(data, limit + 1)
    except zlib.error as exc:
        raise ValueError(f"{what} is not valid zlib data: {exc}") from exc
    if len(out) > limit or d.unconsumed_tail:
        raise ValueError(f"{what} inflates past {limit} bytes")
    if not d.eof:
        raise ValueError(f"{what} is not valid zlib data: truncated stream")
    return out


DType = Literal["float32", "float64", "int32", "int16", "int8"]
SEED_ID = r"^[A-Za-z0-9]{1,2}\.[A-Za-z0-9]{1,5}\.[A-Za-z0-9-]{0,2}\.[A-Za-z0-9]{3}$"


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class BinaryArray(_Message):
    """An n-dimensional numeric array as base64 of its little-endian bytes (C order)."""

    dtype: DType
    shape: list[int] = Field(description="array shape; product = number of elements")
    compression: Literal["none", "zlib"] = "none"
    data: str = Field(description="base64 (RFC 4648, standard alphabet) of the bytes")

    @field_validator("shape")
    @classmethod
    def _shape(cls, shape: list[int]) -> list[int]:
        if any(n < 0 for n in shape):
            raise ValueError(f"negative dimension in shape {shape}")
        if (
            len(shape) > 4
            or any(n > MAX_ELEMENTS for n in shape)
            or math.prod(shape) > MAX_ELEMENTS
        ):
            raise ValueError(f"shape {shape} is past {MAX_ELEMENTS} elements or 4 dimensions")
        return shape

    @classmethod
    def from_numpy(
        cls, array: np.ndarray, dtype: DType | None = None, compress: bool = False
    ) -> BinaryArray:
        arr = np.asarray(array)
        dtype = dtype or _dtype_name(arr.dtype)
        raw = np.ascontiguousarray(arr, dtype=np.dtype(dtype).newbyteorder("<")).tobytes()
        if compress:
            raw = zlib.compress(raw, 1)
        return cls(
            dtype=dtype,
            shape=list(arr.shape),
            compression="zlib" if compress else "none",
            data=base64.b64encode(raw).decode("ascii"),
        )

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def to_numpy(self) -> np.ndarray:
        """The array in native byte order; ValueError when the bytes do not fit the shape."""
        try:
            raw = base64.b64decode(self.data, validate=True)
        except binascii.Error as exc:
            raise ValueError(f"samples are not valid base64: {exc}") from exc
        dt = np.dtype(self.dtype).newbyteorder("<")
        expected = self.size * dt.itemsize
        if self.compression == "zlib":
            # inflated no further than the declared size (+1): a bomb is stopped early
            raw = inflate(raw, expected, "samples")
        if len(raw) != expected:
            raise ValueError(
                f"{len(raw)} bytes of {self.dtype} for shape {self.shape}, expected {expected}"
            )
        return np.frombuffer(raw, dtype=dt).astype(np.dtype(self.dtype)).reshape(self.shape)


def _dtype_name(dtype: np.dtype) -> DType:
    name = np.dtype(dtype).name
    if name not in ("float32", "float64", "int32", "int16", "int8"):
        raise ValueError(f"dtype {name!r} cannot travel; use float32, float64 or int8..int32")
    return name  # type: ignore[return-value]


class TruthSTF(_Message):
    """The true STF of a synthetic event on the model time axis, kept for scoring."""

    stf: BinaryArray
    t0: float = Field(description="time of the first sample, s (the data contract's t0)")
    dt: float = Field(gt=0, le=1000)
    attrs: dict[str, Any] = Field(default_factory=dict)


class OriginMessage(_Message):
    """An earthquake was located (``<prefix>.origins``, key: event id)."""

    schema_version: Literal[1] = SCHEMA_VERSION
    event_id: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.:-]+$")
    time: datetime = Field(description="origin time, UTC")
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=360)
    depth_km: float = Field(ge=-10, le=800)
    magnitude: float | None = Field(
        None, description=f"dropped (with a warning) outside {MAGNITUDE_RANGE}"
    )
    magnitude_type: str = Field("Mw", max_length=32)
    region: str = Field("", max_length=500)
    moment_tensor: dict[str, float] | None = Field(
        None, description="N m; keys Mrr, Mtt, Mpp, Mrt, Mrp, Mtp"
    )
    truth: TruthSTF | None = None

    @field_validator("magnitude", mode="before")
    @classmethod
    def _magnitude(cls, value: Any) -> Any:
        """An out-of-range optional magnitude is dropped, not the whole origin."""
        if value is None or isinstance(value, bool) or not isinstance(value, int | float):
            return value  # None, or a type error for pydantic to report
        if not (math.isfinite(value) and MAGNITUDE_RANGE[0] <= value <= MAGNITUDE_RANGE[1]):
            log.warning("origin magnitude %r outside %s dropped", value, MAGNITUDE_RANGE)
            return None
        return value

    @field_validator("moment_tensor", mode="before")
    @classmethod
    def _tensor(cls, value: Any) -> Any:
        """A moment tensor with a non-finite or absurd component is dropped."""
        if not isinstance(value, dict):
            return value
        for v in value.values():
            if isinstance(v, int | float) and not (math.isfinite(v) and abs(v) <= MOMENT_MAX):
                log.warning("origin moment tensor with component %r dropped", v)
                return None
        return value

    @classmethod
    def from_origin(cls, origin: Origin, truth: TruthSTF | None = None) -> OriginMessage:
        return cls(
            event_id=origin.event_id,
            time=_parse_time(origin.time),
            latitude=origin.latitude,
            longitude=origin.longitude,
            depth_km=origin.depth_km,
            magnitude=origin.magnitude,
            magnitude_type=origin.magnitude_type,
            region=origin.region,
            moment_tensor=origin.moment_tensor,
            truth=truth,
        )

    def to_origin(self) -> Origin:
        return Origin(
            event_id=self.event_id,
            time=_iso(self.time),
            latitude=self.latitude,
            longitude=self.longitude,
            depth_km=self.depth_km,
            magnitude=self.magnitude,
            magnitude_type=self.magnitude_type,
            region=self.region,
            moment_tensor=self.moment_tensor,
        )


class RawRecord(_Message):
    """One station channel record for an event (``<prefix>.waveforms.raw``, key: event id).

    ``stationxml`` optionally carries the channel's StationXML (zlib-compressed, then
    base64) so ingest can remove the response without a local inventory.
    """

    schema_version: Literal[1] = SCHEMA_VERSION
    event_id: str = Field(min_length=1, max_length=200)
    seed_id: str = Field(pattern=SEED_ID, description="NET.STA.LOC.CHA")
    starttime: datetime = Field(description="time of the first sample, UTC")
    sampling_rate: float = Field(gt=0, le=1000, description="Hz")
    units: str = Field("counts", max_length=32, description="sample units before response removal")
    samples: BinaryArray
    stationxml: str | None = Field(None, description="base64 of zlib-compressed StationXML")

    @model_validator(mode="after")
    def _one_dimensional(self) -> RawRecord:
        if len(self.samples.shape) != 1:
            raise ValueError(f"samples must be one-dimensional, got shape {self.samples.shape}")
        return self

    @property
    def npts(self) -> int:
        return self.samples.size

    @classmethod
    def from_trace(
        cls, event_id: str, trace: Trace, stationxml: bytes | None = None, compress: bool = False
    ) -> RawRecord:
        data = np.asarray(trace.data)
        dtype: DType = "int32" if np.issubdtype(data.dtype, np.integer) else "float32"
        return cls(
            event_id=event_id,
            seed_id=trace.id,
            starttime=trace.stats.starttime.datetime.replace(tzinfo=UTC),
            sampling_rate=float(trace.stats.sampling_rate),
            samples=BinaryArray.from_numpy(data, dtype=dtype, compress=compress),
            stationxml=encode_stationxml(stationxml) if stationxml is not None else None,
        )

    def to_trace(self) -> Trace:
        """An ObsPy Trace of the samples (ValueError when they do not decode)."""
        from obspy import Trace, UTCDateTime

        net, sta, loc, cha = self.seed_id.split(".")
        header = {
            "network": net,
            "station": sta,
            "location": loc,
            "channel": cha,
            "starttime": UTCDateTime(self.starttime),
            "sampling_rate": self.sampling_rate,
        }
        return Trace(data=self.samples.to_numpy(), header=header)

    def stationxml_bytes(self, max_bytes: int = MAX_STATIONXML_BYTES) -> bytes | None:
        """The inflated StationXML (ValueError when it does not decode or would inflate
        past ``max_bytes``; inflation stops there)."""
        if self.stationxml is None:
            return None
        try:
            packed = base64.b64decode(self.stationxml, validate=True)
        except binascii.Error as exc:
            raise ValueError(f"stationxml of {self.seed_id} does not decode: {exc}") from exc
        return inflate(packed, max_bytes, f"stationxml of {self.seed_id}")


def encode_stationxml(xml: bytes) -> str:
    """StationXML bytes -> the ``stationxml`` field (zlib, then base64)."""
    return base64.b64encode(zlib.compress(xml, 6)).decode("ascii")


class PixelBundle(_Message):
    """The traces of one focal-sphere pixel of an event."""

    pixel: int = Field(ge=0)
    station_id: list[str]
    traces: BinaryArray = Field(description="float32 (n, nt), preprocessed model traces")
    fields: dict[str, BinaryArray] = Field(
        default_factory=dict, description="per-trace fields, each (n,): distance_deg, snr, ..."
    )

    @model_validator(mode="after")
    def _consistent(self) -> PixelBundle:
        n = len(self.station_id)
        if len(self.traces.shape) != 2 or self.traces.shape[0] != n:
            raise ValueError(f"traces shape {self.traces.shape} for {n} stations")
        for name, arr in self.fields.items():
            if arr.shape != [n]:
                raise ValueError(f"field {name!r} shape {arr.shape} for {n} stations")
        return self


class BundleMessage(_Message):
    """An event ready for extraction (``<prefix>.bundles``, key: event id).

    ``revision`` is the number of traces in the bundle, so it grows as stations arrive
    and the same set of records always gives the same revision (a re-emission after a
    restart is an identical re-delivery except for ``emitted_at``). ``first_record_time``
    and ``last_record_time`` are the broker timestamps (POSIX s) of the earliest record
    and of the last included one, for end-to-end latency. ``final`` marks the event's
    last revision (sent when ingest closes the event, possibly again with a revision
    already sent): inference extracts it in full, earlier ones as previews.
    """

    schema_version: Literal[1] = SCHEMA_VERSION
    event_id: str
    revision: int = Field(ge=1)
    origin: OriginMessage
    contract: dict[str, Any]
    pixels: list[PixelBundle]
    n_traces: int = Field(ge=1)
    first_record_time: float
    last_record_time: float
    emitted_at: float = Field(description="POSIX s when ingest emitted this revision")
    rejections: dict[str, int] = Field(
        default_factory=dict,
        description="records refused, by reason, among the records up to the last one included",
    )
    final: bool = Field(False, description="the event's last revision (ingest closed it)")
    provenance: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _counts(self) -> BundleMessage:
        total = sum(len(p.station_id) for p in self.pixels)
        if total != self.n_traces:
            raise ValueError(f"n_traces {self.n_traces} but pixels hold {total} traces")
        return self

    @property
    def n_pixels(self) -> int:
        return len(self.pixels)

    @classmethod
    def from_event(
        cls,
        event: EventData,
        origin: OriginMessage,
        contract: DataContract,
        first_record_time: float,
        last_record_time: float,
        rejections: dict[str, int] | None = None,
        emitted_at: float | None = None,
        final: bool = False,
    ) -> BundleMessage:
        pixels = [
            PixelBundle(
                pixel=int(pixel),
                station_id=list(group.station_id),
                traces=BinaryArray.from_numpy(group.traces.astype(np.float32)),
                fields={
                    name: BinaryArray.from_numpy(v) for name, v in sorted(group.fields.items())
                },
            )
            for pixel, group in sorted(event.groups.items())
        ]
        return cls(
            event_id=event.event_id,
            revision=event.n_traces,
            origin=origin,
            contract=contract.to_dict(),
            pixels=pixels,
            n_traces=event.n_traces,
            first_record_time=first_record_time,
            last_record_time=last_record_time,
            emitted_at=emitted_at if emitted_at is not None else datetime.now(UTC).timestamp(),
            rejections=dict(rejections or {}),
            final=final,
            provenance=event.provenance,
        )

    def data_contract(self) -> DataContract:
        return DataContract.from_dict(self.contract)

    def to_event_data(self) -> EventData:
        """The bundle as the extraction API's ``EventData`` (truth included when sent)."""
        contract = self.data_contract()
        groups = {}
        for p in self.pixels:
            traces = p.traces.to_numpy()
            contract.check_traces(traces)
            groups[p.pixel] = TraceGroup(
                event_id=self.event_id,
                pixel=p.pixel,
                traces=traces,
                station_id=list(p.station_id),
                fields={name: arr.to_numpy() for name, arr in p.fields.items()},
            )
        truth = self.origin.truth
        return EventData(
            origin=self.origin.to_origin(),
            groups=groups,
            truth_stf=truth.stf.to_numpy() if truth is not None else None,
            truth_attrs={**truth.attrs, "t0": truth.t0, "dt": truth.dt}
            if truth is not None
            else {},
            provenance={**self.provenance, "revision": self.revision},
        )


class DeadLetterReason(StrEnum):
    """Every reason a message goes to ``<prefix>.dlq`` (the ``reason`` of a DeadLetter).

    The preprocessing reasons are the values of
    :class:`symae.data.rejections.RejectReason` (a test checks they are all here).
    """

    # any service: the runtime's decoding and the catch-all
    UNDECODABLE = "undecodable"  # bytes that are not JSON, samples or StationXML that do not decode
    SCHEMA = "schema"  # JSON that violates the topic's message model (or an unknown schema_version)
    INTERNAL_ERROR = "internal_error"  # the handler raised something unexpected
    # ingest: limits and the event lifecycle
    OVERSIZE = "oversize"  # record with more samples than max_samples_per_record
    TOO_MANY_RECORDS = "too_many_records"  # event past max_records_per_event
    UNKNOWN_EVENT = "unknown_event"  # no origin within unknown_event_grace_s
    LATE = "late"  # record for an event already closed
    OVER_CAPACITY = "over_capacity"  # records waiting for their origin past the byte caps
    # ingest: preprocessing (symae.data.rejections.RejectReason)
    GAP = "gap"
    OVERLAP = "overlap"
    NO_RESPONSE = "no_response"
    BAD_UNITS = "bad_units"
    NAN = "nan"
    FLAT = "flat"
    TOO_SHORT = "too_short"
    DISTANCE = "distance"
    LOW_SNR = "low_snr"
    UNKNOWN_STATION = "unknown_station"
    WRONG_COMPONENT = "wrong_component"
    NO_ARRIVAL = "no_arrival"
    UNREADABLE = "unreadable"
    DUPLICATE_CHANNEL = "duplicate_channel"
    # inference
    BAD_BUNDLE = "bad_bundle"  # traces that do not fit the contract the bundle carries
    CONTRACT_MISMATCH = (
        "contract_mismatch"  # bundle made for another data contract than the model's
    )
    EXTRACTION_FAILED = "extraction_failed"  # the extraction raised
    # publish
    UNPUBLISHABLE = "unpublishable"  # result that makes no product


class DeadLetter(_Message):
    """A message a service refused (``<prefix>.dlq``), with a machine-readable reason."""

    schema_version: Literal[1] = SCHEMA_VERSION
    service: str
    reason: DeadLetterReason = Field(description="why the message was refused")
    detail: str = ""
    topic: str
    partition: int
    offset: int
    where: str = Field(description="topic[partition]@offset")
    key: str | None = None
    at: float = Field(description="POSIX s when the message was refused")
    payload: str = Field(description="base64 of the original bytes (maybe truncated)")
    payload_size: int = Field(ge=0)
    payload_truncated: bool = False

    @classmethod
    def build(
        cls,
        service: str,
        reason: DeadLetterReason | str,
        detail: str,
        topic: str,
        partition: int,
        offset: int,
        key: str | None,
        payload: bytes,
        max_payload: int = 1 << 20,
    ) -> DeadLetter:
        kept = payload[:max_payload]
        return cls(
            service=service,
            reason=DeadLetterReason(reason),
            detail=detail[:2000],
            topic=topic,
            partition=partition,
            offset=offset,
            where=f"{topic}[{partition}]@{offset}",
            key=key,
            at=datetime.now(UTC).timestamp(),
            payload=base64.b64encode(kept).decode("ascii"),
            payload_size=len(payload),
            payload_truncated=len(kept) < len(payload),
        )

    def payload_bytes(self) -> bytes:
        return base64.b64decode(self.payload)


def _parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _iso(value: datetime) -> str:
    utc = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if utc.microsecond else "%Y-%m-%dT%H:%M:%SZ")


# file stem in docs/schemas/ -> model
SCHEMAS: dict[str, type[BaseModel]] = {
    "origin": OriginMessage,
    "raw_record": RawRecord,
    "bundle": BundleMessage,
    "dead_letter": DeadLetter,
}


def schema_text(model: type[BaseModel]) -> str:
    """The JSON Schema of ``model`` as written to ``docs/schemas/``."""
    return json.dumps(model.model_json_schema(), indent=2, sort_keys=True) + "\n"


def export_schemas(directory: Path = SCHEMAS_DIR) -> list[Path]:
    """Write ``<name>.schema.json`` for every message model; returns the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, model in SCHEMAS.items():
        path = directory / f"{name}.schema.json"
        path.write_text(schema_text(model))
        paths.append(path)
    return paths


if __name__ == "__main__":
    for written in export_schemas(Path(sys.argv[1]) if len(sys.argv) > 1 else SCHEMAS_DIR):
        print(written)
