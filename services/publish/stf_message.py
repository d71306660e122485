"""The public STF topic ``<prefix>.stf``: one stable, versioned message per event update.

Downstream consumers read this topic rather than ``<prefix>.results`` (whose RESULT.json
may grow with the extraction). Key: the event id, so a compacted topic keeps the latest
STF of every event. The message is built only from the result, so the same result always
gives the same bytes (a re-sent message is an identical duplicate).
JSON Schema: ``docs/schemas/stf.schema.json`` (``python -m services.publish.stf_message``
rewrites it; a test checks it matches).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.publish.products import scalar_moment
from symae.data.reference import SCHEMAS_DIR
from symae.extract.result import ExtractionResult, OriginInfo, Stf

SCHEMA_VERSION: Literal[2] = 2
SCHEMA_PATH = SCHEMAS_DIR / "stf.schema.json"


class ModelRef(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    version: str


class StfMessage(BaseModel):
    """The latest source time function of one event (``<prefix>.stf``, key: event id)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[2] = SCHEMA_VERSION
    event_id: str
    revision: int = Field(ge=0, description="grows as more stations arrive")
    origin: OriginInfo | None
    model: ModelRef
    stf: Stf = Field(
        description="the preferred method's event STF (stf.method names it), normalised to "
        "peak 1 with its band; times in s relative to the predicted P arrival"
    )
    alternatives: list[str] = Field(
        default_factory=list, description="the other methods whose STFs the full result holds"
    )
    scalar_moment_nm: float | None = Field(
        description="M0 of the origin's magnitude (10**(1.5 Mw + 9.1) N m): multiply the "
        "unit-area STF by it for a moment rate"
    )
    n_traces: int = Field(ge=0)
    n_pixels: int = Field(ge=0)
    n_pixels_passed: int = Field(ge=0)
    flags: list[str] = Field(default_factory=list, description="quality warnings")
    result_url: str = Field(description="path of the full result on the publisher's HTTP API")

    @classmethod
    def from_result(cls, result: ExtractionResult, result_url: str) -> StfMessage:
        q = result.quality
        return cls(
            event_id=result.event_id,
            revision=result.revision,
            origin=result.origin,
            model=ModelRef(name=result.model.name, version=result.model.version),
            stf=result.stf,
            alternatives=sorted(result.alternatives),
            scalar_moment_nm=scalar_moment(result.origin.magnitude if result.origin else None),
            n_traces=q.n_traces,
            n_pixels=q.n_pixels,
            n_pixels_passed=q.n_pixels_passed,
            flags=list(q.flags),
            result_url=result_url,
        )


def schema_text() -> str:
    """The JSON Schema of :class:`StfMessage`, as written to ``docs/schemas``."""
    return json.dumps(StfMessage.model_json_schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else SCHEMA_PATH
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(schema_text())
    print(target)
