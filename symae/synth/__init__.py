"""Physics-based synthetic teleseismic P records with ground truth.

Library use (what ``symae data synth`` and the streaming replay call)::

    import numpy as np
    from symae.synth import SynthConfig, parametric_source, synthesize_event

    config = SynthConfig(n_stations=80)
    rng = np.random.default_rng(7)
    source = parametric_source(rng, "synth_0000", config.mw_range, config.depth_range_km,
                               config.raw_dt, config.directivity, origin_time)
    event = synthesize_event(rng, source, config)
    event.event_data   # EventData: model traces per pixel, truth STF and path parameters
    event.stream       # ObsPy Stream: 20 Hz ten-minute BHZ records in velocity counts
    event.inventory    # ObsPy Inventory with a broadband response
    event.event        # ObsPy Event (origin, Mw, moment tensor) for QuakeML

Same seed, same output: every random draw comes from the ``rng`` passed in.
"""

from symae.synth.config import SynthConfig
from symae.synth.generator import SyntheticEvent, synthesize_event
from symae.synth.source import Directivity, Source, parametric_source, scardec_source

__all__ = [
    "Directivity",
    "Source",
    "SynthConfig",
    "SyntheticEvent",
    "parametric_source",
    "scardec_source",
    "synthesize_event",
]
