"""symae: earthquake source time functions from symmetric variational autoencoders.

The public API (heavy modules load on first use, so ``import symae`` stays fast and
never imports torch):

- :func:`extract_stf` (``stream, inventory, event, model="default"``): ObsPy records in,
  an :class:`ExtractionResult` out (``times``, ``values``, ``to_quakeml()``,
  ``to_scardec()``, ``to_dict()``, ``plot()``);
- :class:`Extractor`: a loaded model, for many events (``Extractor.load(model)``);
- :class:`ExtractionResult`: RESULT.json as a pydantic model;
- :class:`DataContract`: what a model expects of its input traces;
- :class:`Origin`: symae's origin (``Origin.from_obspy(event)``, ``origin.to_obspy()``);
- :func:`example_event`: the bundled II.BFO record as ``(stream, inventory, event)``.

>>> import symae
>>> symae.__version__
'0.1.0'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from symae.version import __version__

__all__ = [
    "DataContract",
    "ExtractionResult",
    "Extractor",
    "Origin",
    "__version__",
    "example_event",
    "extract_stf",
]

# public name -> module defining it, imported on first access
_LAZY = {
    "DataContract": "symae.contract",
    "ExtractionResult": "symae.extract.result",
    "Extractor": "symae.extract.extractor",
    "Origin": "symae.data.events",
    "example_event": "symae.data.reference",
    "extract_stf": "symae.extract.api",
}

if TYPE_CHECKING:
    from symae.contract import DataContract
    from symae.data.events import Origin
    from symae.data.reference import example_event
    from symae.extract.api import extract_stf
    from symae.extract.extractor import Extractor
    from symae.extract.result import ExtractionResult


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'symae' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
