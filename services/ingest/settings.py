"""Settings of the ingest service (environment ``SYMAE_*`` or flags)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from services.runtime.settings import ServedModelSettings
from symae.extract.extractor import MIN_PIXELS, MIN_TRACES


class IngestSettings(ServedModelSettings):
    """Readiness policy, limits and the optional local inventory of the ingest service.

    ``model`` and ``model_registry`` name the model inference serves: ingest prepares
    traces for that model's data contract.
    """

    # defaults: the extraction's minimum data (symae.extract.extractor), so a bundle
    # that is ready on count is never a sparse event
    min_traces: int = Field(MIN_TRACES, ge=1, description="traces that make an event ready")
    min_pixels: int = Field(MIN_PIXELS, ge=1, description="focal-sphere pixels that make it ready")
    ready_deadline_s: float = Field(
        120.0, gt=0, description="an event with any trace is ready this long after its first record"
    )
    revision_quiet_s: float = Field(
        0.5, ge=0, description="a revision waits until its event got no new trace for this long"
    )
    revision_interval_s: float = Field(
        1.0, ge=0, description="least time between two revisions of one event (its highest rate)"
    )
    event_close_s: float = Field(
        1800.0, gt=0, description="an event is closed (state freed) this long after its origin"
    )
    unknown_event_grace_s: float = Field(
        30.0, ge=0, description="how long a record waits for its origin before the DLQ"
    )
    close_quiet_s: float = Field(
        5.0,
        ge=0,
        description="an event due to close waits until none of its records came for this long",
    )
    clock_skew_s: float = Field(
        300.0, ge=0, description="message timestamps are trusted at most this far in the future"
    )
    max_pending_bytes: int = Field(
        256 * 1024 * 1024, gt=0, description="bytes of records waiting for their origin, in all"
    )
    max_pending_bytes_per_event: int = Field(
        32 * 1024 * 1024, gt=0, description="bytes of records waiting for one event's origin"
    )
    max_stationxml_bytes: int = Field(
        8 * 1024 * 1024, gt=0, description="largest StationXML a record may inflate to"
    )
    stationxml_cache_size: int = Field(
        4096,
        gt=0,
        description="parsed StationXML documents kept (about 16 kB each); a network with "
        "more stations than this parses documents again",
    )
    max_records_per_event: int = Field(1000, ge=1)
    max_samples_per_record: int = Field(2_000_000, ge=1)
    snr_min: float | None = Field(None, description="override the preprocessing SNR threshold")
    # Preprocessing costs up to tens of ms per record (more when a new source depth
    # fills the TauP table), so ingest polls fewer records and may take longer between
    # polls than the runtime's defaults allow before the group drops it.
    kafka_max_poll_records: int = Field(20, gt=0)
    kafka_max_poll_interval_ms: int = Field(60000, gt=0)
    inventory: Path | None = Field(
        None, description="StationXML file or folder for records that carry none"
    )
