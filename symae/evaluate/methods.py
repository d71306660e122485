"""STF methods the benchmark can score besides SymAE's extractor: ``{name: callable}``.

Each callable takes an ``EventData`` (what the method is given: the catalogue origin and
the preprocessed traces) and returns ``(times, stf)``, times in seconds after the
predicted P on a regular grid. Plugging a method in is one line in ``available_methods``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from symae.data.dataset import EventData

Method = Callable[[EventData], tuple[np.ndarray, np.ndarray]]


def _inversion(event: EventData) -> tuple[np.ndarray, np.ndarray]:
    from symae.inversion import invert_event

    result = invert_event(event)
    return np.asarray(result.times), np.asarray(result.stf)


def _inversion_virtual(event: EventData) -> tuple[np.ndarray, np.ndarray]:
    """The inversion on the virtual gathers of the default SymVAE (``symae.extract.virtual``)."""
    from symae.extract.virtual import invert_virtual

    result = invert_virtual(event)
    return np.asarray(result.times), np.asarray(result.stf)


def _symae_physics(event: EventData) -> tuple[np.ndarray, np.ndarray]:
    """The physics SymAE's decoded coherent posterior mean (``$SYMAE_PHYSICS_MODEL`` or the
    shipped candidate)."""
    from symae.extract.physics import physics_stf

    times, stf, _, _ = physics_stf(event, n_samples=0)
    return times, stf


def _symae_physics_unbounded(event: EventData) -> tuple[np.ndarray, np.ndarray]:
    """``symae-physics`` without the Mw-scaled support bound of the read-out (ablation)."""
    from symae.extract.physics import physics_stf

    times, stf, _, _ = physics_stf(event, n_samples=0, bound_support=False)
    return times, stf


def _symae_physics_refined(event: EventData) -> tuple[np.ndarray, np.ndarray]:
    from symae.extract.physics import physics_refined_stf

    return physics_refined_stf(event)


# scored unless --methods says otherwise: the product's own methods (the extraction makes
# them too; without a model, ``--model none``, these callables do); the physics-informed
# SymAE candidates are scored on request (``--methods symae-physics ...``)
DEFAULT_METHODS = ("inversion", "inversion-virtual")


def available_methods() -> dict[str, Method]:
    """Every pluggable method by name."""
    return {
        "inversion": _inversion,
        "inversion-virtual": _inversion_virtual,
        "symae-physics": _symae_physics,
        "symae-physics-unbounded": _symae_physics_unbounded,
        "symae-physics-refined": _symae_physics_refined,
    }
