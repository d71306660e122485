"""PreprocessConfig: validation with expected-vs-actual messages, and its provenance round trip."""

from __future__ import annotations

import json

import pytest

from symae.contract import DataContract
from symae.data.preprocess import PreprocessConfig


def test_round_trips_through_json():
    config = PreprocessConfig(
        contract=DataContract(taup_model="prem", max_distance_deg=80.0),
        pre_filt=(0.01, 0.02, 1.0, 2.0),
        water_level=None,
        snr_min=3.5,
    )
    again = PreprocessConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"noise_window": (-150.0, -10.0)}, "noise_window"),
        ({"signal_window": (10.0, 5.0)}, "signal_window"),
        ({"pre_filt": (0.01, 0.005, 1.0, 2.0)}, "pre_filt corners must increase"),
        ({"min_margin_s": 50.0, "max_margin_s": 10.0}, "min_margin_s <= max_margin_s"),
        ({"antialias": 0.6}, "antialias must be in"),
    ],
)
def test_bad_values_are_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        PreprocessConfig(**changes)
