"""RESULT.json model: the published schema matches it, and bad results are refused."""

from __future__ import annotations

import json

import jsonschema
import numpy as np
import pytest
from pydantic import ValidationError

from symae.extract.result import SCHEMA_PATH, ExtractionResult, Stf, json_schema


def test_published_schema_equals_the_model_schema() -> None:
    assert json.loads(SCHEMA_PATH.read_text()) == json.loads(json.dumps(json_schema())), (
        "docs/schemas/result.schema.json is stale: run python -m symae.extract.result"
    )


def test_stf_from_arrays_normalises_to_peak_one_with_band() -> None:
    stf = Stf.from_arrays(
        np.array([0.0, 2.0, 4.0, 1.0]), np.array([0.0, 1.0, 2.0, 0.0]), 1.0, -92.0
    )
    assert max(stf.values) == 1.0
    assert stf.lower == [0.0, 0.25, 0.5, 0.25]
    assert stf.upper == [0.0, 0.75, 1.5, 0.25]
    assert stf.times()[0] == -92.0


def test_mismatched_band_is_refused() -> None:
    with pytest.raises(ValidationError, match="same length, got 2, 1, 2"):
        Stf(dt=1.0, t0=0.0, values=[0.0, 1.0], lower=[0.0], upper=[0.0, 1.0])


def test_a_minimal_result_validates_against_the_published_schema() -> None:
    stf = Stf.from_arrays(np.hanning(16), 0.1 * np.ones(16), 1.0, -5.0).model_dump()
    doc = {
        "event_id": "ev1",
        "model": {"name": "m", "version": "1"},
        "stf": stf,
        "pixels": [
            {
                "pixel": 3,
                "azimuth_deg": 40.0,
                "takeoff_deg": 25.0,
                "n_traces": 20,
                "stf": stf,
                "quality": {
                    "envelope_std": 0.1,
                    "passed": True,
                    "reconstruction_error": 0.2,
                    "weight": 1.0,
                },
            }
        ],
        "baselines": {"mean_envelope": stf},
        "traces": [{"id": "II.BFO.00.BHZ", "pixel": 3, "informativeness": 1.5}],
        "quality": {
            "n_traces": 20,
            "n_pixels": 1,
            "n_pixels_passed": 1,
            "reference_pixel": 3,
            "reconstruction_error": 0.2,
            "objective_start": 2.0,
            "objective_end": 1.1,
        },
    }
    jsonschema.validate(doc, json.loads(SCHEMA_PATH.read_text()))
    result = ExtractionResult.model_validate(doc)
    assert result.revision == 0
    doc["pixels"][0]["n_traces"] = 0
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, json.loads(SCHEMA_PATH.read_text()))
