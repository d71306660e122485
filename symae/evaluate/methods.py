"""STF methods the benchmark can score besides SymAE's extractor: ``{name: callable}``.

Each callable takes an ``EventData`` (what the method is given: the catalogue origin and
the preprocessed traces) and returns ``(times, stf)``, times in seconds after the
predicted P on a regular grid. Plugging a method in is one line in ``available_methods``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

import numpy as np

from symae.data.dataset import EventData

Method = Callable[[EventData], tuple[np.ndarray, np.ndarray]]


def _inversion(event: EventData) -> tuple[np.ndarray, np.ndarray]:
    from symae.inversion import invert_event

    result = invert_event(event)
    return np.asarray(result.times), np.asarray(result.stf)


def available_methods() -> dict[str, Method]:
    """The pluggable methods importable here (``inversion`` once ``symae.inversion`` exists)."""
    methods: dict[str, Method] = {}
    if importlib.util.find_spec("symae.inversion") is not None:
        methods["inversion"] = _inversion
        # methods["inversion-virtual"] = ...  (one line once its entry point exists)
    return methods
