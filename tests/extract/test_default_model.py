"""The shipped default model: it loads by name and its STFs follow the true source.

The events are parametric sources drawn here with fixed seeds (never SCARDEC events).
"Better than chance": each event's extracted STF must correlate better with its own
true STF than, on average, with the true STFs of the other events.
"""

from __future__ import annotations

import numpy as np
import pytest

from symae.evaluate.metrics import Series, compare
from symae.extract.coherent import LatentSettings
from symae.extract.extractor import ExtractionSettings, Extractor
from tests.synth.helpers import synthetic_event


def test_default_model_is_shipped_and_loads() -> None:
    extractor = Extractor.load("default", "cpu")
    assert extractor.model.name
    assert extractor.contract.nt == 192


@pytest.mark.slow
def test_default_model_tracks_the_true_source_better_than_chance() -> None:
    events = [synthetic_event(seed, n_stations=60).event_data for seed in (201, 202, 203, 204)]
    extractor = Extractor.load(
        "default", "cpu", ExtractionSettings(latent=LatentSettings(), baselines=False)
    )
    results = extractor.extract_many(events)
    c = extractor.contract
    truths = [Series(e.truth_stf, c.t0, c.dt) for e in events]  # the truth's own time axis
    envelopes = [r.method_stfs()["envelope"] for r in results]  # the model's own read-out
    cc = np.array(
        [[compare(Series(s.array(), s.t0, s.dt), t).cc for t in truths] for s in envelopes]
    )
    own = np.diag(cc)
    others = (cc.sum(axis=1) - own) / (len(events) - 1)
    assert own.mean() > others.mean(), f"own-truth CC {own} vs other-truth CC {others}"
