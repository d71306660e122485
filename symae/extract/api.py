"""``symae.extract_stf``: ObsPy records in, an event's source time function out.

The library entry point in the ecosystem's shape: ObsPy ``Stream`` + ``Inventory`` +
``Event`` (or ``Catalog``) go through the project's preprocessing and focal-sphere
grouping, then through :class:`symae.Extractor` on ONNX Runtime (no torch).
"""

from __future__ import annotations

from typing import Any

from symae.extract.result import ExtractionResult


def extract_stf(
    stream: Any,
    inventory: Any,
    event: Any,
    model: str = "default",
    *,
    event_id: str | None = None,
    provider: str = "auto",
    settings: Any = None,
    allow_sparse: bool = False,
    allow_no_response: bool = False,
    pad_short: bool = False,
    no_response_units: str = "displacement",
    revision: int = 0,
    physics_model: str | None = "default",
) -> ExtractionResult:
    """Extract the source time function of one earthquake from its teleseismic records.

    ``stream``: ObsPy ``Stream`` of raw records (counts); ``inventory``: ObsPy
    ``Inventory`` with their responses; ``event``: ObsPy ``Event``, or a ``Catalog``
    with ``event_id`` naming one of several (ids as ``symae.data.events`` derives them,
    the last part of the resource id). ``model``: ``"default"`` (the shipped model), a
    model directory or a registry ``name[:version]``; ``provider``: ONNX Runtime
    ``"auto"``, ``"cpu"`` or ``"cuda"``; ``settings``: an
    ``symae.extract.extractor.ExtractionSettings``; ``allow_sparse``: extract an event
    below the minimum of traces and pixels (refused otherwise), flagged ``sparse``;
    ``allow_no_response``: use records without a response in the units at hand, flagged
    ``response_not_removed`` (``no_response_units``: ``"displacement"`` or
    ``"velocity"``, then integrated); ``pad_short``: zero-pad records shorter than the window
    that cover P -30 .. +50 s, flagged ``padded``; ``physics_model``: the
    physics-informed SymAE (``"default"``: the shipped one, a directory, or None for none)
    whose STF and refined inversion join the alternatives.

    Returns an :class:`ExtractionResult`: ``times``/``values``/``lower``/``upper``
    (the preferred method's event STF, s after the predicted P arrival, peak 1, with its
    band; ``stf.method`` names the method, ``alternatives`` holds the others),
    ``pixels``, ``quality``, and ``to_quakeml()``, ``to_scardec()``, ``to_dict()``,
    ``plot()``. Raises ``ValueError`` when no record survives preprocessing.

    On the bundled II.BFO record: one station is below the minimum for an event STF, so
    the call must allow it and the result says how thin it is:

    >>> import symae
    >>> stream, inventory, event = symae.example_event()
    >>> result = symae.extract_stf(stream, inventory, event, provider="cpu", allow_sparse=True)
    >>> result.event_id, result.quality.n_traces
    ('20180123_093140_GULF_OF_ALASKA', 1)
    >>> "sparse" in result.quality.flags
    True

    One trace is too few for the inversion to be preferred, so the published STF falls
    back to SymAE's envelope; the inversions stay beside it:

    >>> result.stf.method, sorted(result.alternatives)
    ('envelope', ['inversion', 'inversion-virtual', 'symae-physics', 'symae-physics-refined'])
    >>> result.times.shape == result.values.shape, float(result.values.max())
    (True, 1.0)
    >>> print(result.to_scardec().splitlines()[0])
    2018 01 23 09 31 40.0 56.004 -149.166
    >>> catalog = result.to_quakeml()
    >>> str(catalog[0].resource_id)
    'smi:local/symae/event/20180123_093140_GULF_OF_ALASKA'
    >>> sorted(result.to_dict())[:4]
    ['alternatives', 'baselines', 'event_id', 'inversion']
    """
    from dataclasses import replace

    from symae.data.events import Origin
    from symae.extract.extractor import ExtractionSettings, Extractor
    from symae.extract.records import event_from_obspy, origin_from_obspy

    if allow_sparse:
        settings = replace(settings or ExtractionSettings(), allow_sparse=True)
    extractor = Extractor.load(model, provider, settings, physics_model=physics_model)
    origin = event if isinstance(event, Origin) else origin_from_obspy(event, event_id)
    data = event_from_obspy(
        stream,
        inventory,
        origin,
        extractor.contract,
        allow_no_response,
        pad_short,
        no_response_units,
    )
    return extractor.extract(data, revision=revision)
