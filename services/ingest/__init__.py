"""``symae serve ingest``: origins and raw records in, event bundles out.

Records are validated and preprocessed one at a time as they arrive
(``symae.data.preprocess``); per-event state decides when an event is ready and emits
a new revision of its bundle as more stations arrive. See :mod:`services.ingest.processor`.
"""
