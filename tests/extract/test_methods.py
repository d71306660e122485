"""The extraction's STF methods: the inversions beside the envelope and the preferred rule."""

from __future__ import annotations

import pytest

from symae.extract.coherent import LatentSettings
from symae.extract.extractor import ExtractionSettings, Extractor
from symae.extract.methods import (
    ENVELOPE,
    INVERSION,
    INVERSION_VIRTUAL,
    MIN_USED_TRACES,
    PREFERENCE,
    SYMAE_PHYSICS,
    SYMAE_PHYSICS_REFINED,
)
from symae.inversion import InversionSettings


@pytest.fixture(scope="module")
def result(tiny_model, small_event):
    settings = ExtractionSettings(
        latent=LatentSettings(steps=5), inversion=InversionSettings(n_bootstrap=5)
    )
    return Extractor.load(str(tiny_model), "cpu", settings).extract(small_event.event_data)


def test_every_method_is_in_the_result_and_the_preferred_one_is_published(result) -> None:
    stfs = result.method_stfs()
    assert set(stfs) == {INVERSION, INVERSION_VIRTUAL, ENVELOPE}
    assert result.stf.method not in result.alternatives
    assert all(stf.method == name for name, stf in stfs.items())
    # the inversion used enough traces here; without a physics model its restart is
    # missing, so the rule's next choice is published
    assert result.inversion is not None and result.inversion.n_used >= MIN_USED_TRACES
    assert PREFERENCE[:2] == (SYMAE_PHYSICS_REFINED, INVERSION)
    assert result.stf.method == INVERSION


def test_the_physics_methods_join_and_the_refined_inversion_is_preferred(
    tiny_model, small_event
) -> None:
    settings = ExtractionSettings(
        latent=LatentSettings(steps=5), inversion=InversionSettings(n_bootstrap=5)
    )
    extractor = Extractor.load(str(tiny_model), "cpu", settings, physics_model="default")
    result = extractor.extract(small_event.event_data)
    stfs = result.method_stfs()
    assert set(stfs) == {
        INVERSION,
        INVERSION_VIRTUAL,
        ENVELOPE,
        SYMAE_PHYSICS,
        SYMAE_PHYSICS_REFINED,
    }
    assert result.stf.method == SYMAE_PHYSICS_REFINED
    physics = stfs[SYMAE_PHYSICS]
    assert min(physics.values) >= 0 and physics.t0 == 0.0
    assert all(lo <= hi for lo, hi in zip(physics.lower, physics.upper, strict=True))
    # the restart keeps whichever of the two solutions fits the data better
    assert stfs[SYMAE_PHYSICS_REFINED].t0 == stfs[INVERSION].t0
    preview = extractor.assemble(
        small_event.event_data,
        extractor.coherent_information([small_event.event_data])[0],
        preview=True,
    )
    assert SYMAE_PHYSICS not in preview.method_stfs()  # previews stay cheap


def test_inversion_stf_is_positive_with_a_band_and_fits_every_trace(result) -> None:
    inv = result.method_stfs()[INVERSION]
    assert min(inv.values) >= 0.0 and max(inv.values) == pytest.approx(1.0)
    assert all(lo <= hi for lo, hi in zip(inv.lower, inv.upper, strict=True))
    assert inv.t0 == 0.0  # the STF starts at the predicted P
    assert all(t.used is not None and t.misfit is not None for t in result.traces)
    assert all((t.reason is None) == t.used for t in result.traces)
    assert result.inversion.depth_source in ("catalogue", "estimated")
    assert any(p.apparent_stf is not None for p in result.pixels)


def test_without_the_inversion_the_envelope_is_published(tiny_model, small_event) -> None:
    settings = ExtractionSettings(latent=LatentSettings(steps=5), inversion=None)
    result = Extractor.load(str(tiny_model), "cpu", settings).extract(small_event.event_data)
    assert result.stf.method == ENVELOPE and result.alternatives == {} and result.inversion is None
