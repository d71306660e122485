"""The whole extraction on a tiny exported model: shapes, batching, schema, quality."""

from __future__ import annotations

import json

import jsonschema
import numpy as np
import pytest

from symae.extract.coherent import LatentSettings, fourier_advance, kl_diagonal
from symae.extract.extractor import ExtractionSettings, Extractor
from symae.extract.result import SCHEMA_PATH, ExtractionResult
from tests.synth.helpers import synthetic_event


def test_kl_of_identical_gaussians_is_zero_and_positive_otherwise() -> None:
    mu, lv = np.array([0.5, -1.0]), np.array([0.1, -0.3])
    assert kl_diagonal(mu, lv, mu, lv) == pytest.approx(0.0)
    # KL(N(0,1) || N(1,1)) = 0.5 per dimension
    assert kl_diagonal(np.zeros(2), np.zeros(2), np.ones(2), np.zeros(2)) == pytest.approx(1.0)


def test_fourier_advance_by_whole_samples_is_a_roll() -> None:
    x = np.random.default_rng(0).standard_normal((2, 192))
    s = np.array([4 * 2 / 192, -6 * 2 / 192])  # advance 4 and -6 samples
    out = fourier_advance(x, s)
    assert np.allclose(out[0], np.roll(x[0], -4), atol=1e-9)
    assert np.allclose(out[1], np.roll(x[1], 6), atol=1e-9)


def test_extraction_runs_end_to_end_and_validates(tiny_model, small_event) -> None:
    event = small_event.event_data
    extractor = Extractor.load(str(tiny_model), "cpu")
    info = extractor.coherent_information([event])[0]
    result = extractor.assemble(event, info)

    n_groups = len(event.groups)
    assert info.virtual.shape == (n_groups, 10, 192)
    assert np.allclose(info.virtual.mean(axis=-1), 0.0, atol=1e-4)
    assert info.scores.shape == (event.n_traces,)
    assert len(info.objective) == 101
    assert info.objective[0] == pytest.approx(1.1, rel=1e-4)  # J1, J2 normalise: 1 + alpha
    assert info.group_sizes[info.reference] == max(len(g) for g in event.groups.values())

    doc = json.loads(result.model_dump_json())
    jsonschema.validate(doc, json.loads(SCHEMA_PATH.read_text()))
    assert result.event_id == event.event_id
    assert result.model.name == "tiny"
    assert result.quality.n_traces == event.n_traces == len(result.traces)
    assert {p.pixel for p in result.pixels} == set(event.groups)
    assert sum(t.selected for t in result.traces) == 10
    selected_scores = sorted(t.informativeness for t in result.traces if t.selected)
    others = [t.informativeness for t in result.traces if not t.selected]
    assert max(selected_scores) <= min(others) + 1e-6
    assert max(result.stf.values) == pytest.approx(1.0)
    assert result.method_stfs()["envelope"].t0 == extractor.contract.t0
    assert result.stf.method in ("inversion", "inversion-virtual", "envelope")
    assert set(result.baselines) == {"mean_envelope", "aligned_stack", "deconvolved_stack"}
    weights = [p.quality.weight for p in result.pixels]
    assert sum(weights) == pytest.approx(1.0, abs=1e-4)
    assert (
        all(w == 0 for p, w in zip(result.pixels, weights, strict=True) if not p.quality.passed)
        or result.quality.n_pixels_passed == 0
    )
    assert np.isfinite(result.quality.reconstruction_error)


@pytest.mark.slow
def test_batched_extraction_equals_one_event_at_a_time(tiny_model, small_event) -> None:
    other = synthetic_event(seed=12, n_stations=25).event_data
    settings = ExtractionSettings(latent=LatentSettings(steps=20), baselines=False)
    extractor = Extractor.load(str(tiny_model), "cpu", settings)
    together = extractor.extract_many([small_event.event_data, other])
    alone = [extractor.extract(e) for e in (small_event.event_data, other)]
    for a, b in zip(together, alone, strict=True):
        assert a.event_id == b.event_id
        assert np.allclose(a.stf.values, b.stf.values, atol=1e-4)
        assert np.allclose(
            [t.informativeness for t in a.traces],
            [t.informativeness for t in b.traces],
            rtol=1e-4,
            atol=1e-4,
        )


def test_bad_input_is_refused_with_the_shapes(tiny_model, small_event) -> None:
    from symae.data.dataset import EventData, TraceGroup

    extractor = Extractor.load(str(tiny_model), "cpu")
    bad = EventData(
        small_event.event_data.origin,
        {3: TraceGroup("x", 3, np.zeros((4, 100), np.float32), ["a", "b", "c", "d"])},
    )
    with pytest.raises(ValueError, match=r"expected traces of 192 samples, got shape \(4, 100\)"):
        extractor.extract(bad)
    with pytest.raises(ValueError, match="no trace groups"):
        extractor.extract(EventData(small_event.event_data.origin, {}))
    with pytest.raises(ValueError, match="n_codes must be >= 1, got 0"):
        LatentSettings(n_codes=0)


def test_result_round_trips_through_a_file(tiny_model, small_event, tmp_path) -> None:
    result = Extractor.load(
        str(tiny_model), "cpu", ExtractionSettings(latent=LatentSettings(steps=5))
    ).extract(small_event.event_data)
    path = tmp_path / "RESULT.json"
    result.write(path)
    assert ExtractionResult.read(path) == result


class _ShiftedPulseGraphs:
    """Model stand-in: every trace gets the learned shift ``s``; the decoder draws one
    pulse at the centre of the aligned frame whatever the codes."""

    p, q, nt = 2, 2, 192

    def __init__(self, s: float) -> None:
        self.s = s

    def coherent(self, traces, mask):
        g, n = mask.shape
        return np.zeros((g, self.p)), np.zeros((g, self.p)), np.full((g, n), self.s)

    def nuisance(self, traces):
        t = len(traces)
        return np.zeros((t, self.q)), np.zeros((t, self.q)), np.full(t, self.s)

    def decode(self, codes):
        out = np.zeros((len(codes), self.nt))
        out[:, self.nt // 2] = 1.0
        return out

    def reencode(self, traces):
        return np.zeros((len(traces), self.p)), np.zeros((len(traces), self.p))

    def latent_step(self, codes, ref_mu, ref_logvar, j1, j2, alpha, lr):
        return codes, 1.0 + alpha, 1.0, 1.0


def test_virtual_gathers_are_put_back_in_the_data_frame() -> None:
    from symae.extract.coherent import get_coherent_information

    advance = 6  # samples the model advances every trace by to align it
    graphs = _ShiftedPulseGraphs(s=advance * 2 / 192)
    groups = [np.zeros((4, 192), np.float32), np.zeros((3, 192), np.float32)]
    info = get_coherent_information(graphs, groups, LatentSettings(n_codes=2, steps=1))
    # the pulse sits mid-window in the aligned frame, so `advance` samples later in the data
    assert np.all(np.argmax(info.virtual, axis=-1) == 96 + advance)
    assert np.all(np.argmax(info.reconstruction, axis=-1) == 96 + advance)
