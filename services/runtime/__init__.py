"""The runtime every symae service is built on (see :mod:`services.runtime.app`).

Write a :class:`Processor` (topics in and out, ``handle(msg) -> outputs``), build its
settings with :func:`settings_from_args`, and call :func:`run_service`. The runtime
gives it: topics created at start-up, a broker wait with back-off, decoding and
dead-lettering, commits only after outputs are acknowledged, SIGTERM drain, the
Prometheus metrics of docs/architecture.md and ``/metrics``, ``/healthz``, ``/readyz``
on ``--metrics-port``, and JSON logs.
"""

from services.runtime.app import (
    DeliveryFailed,
    Incoming,
    Outgoing,
    PoisonMessage,
    Processor,
    ServiceApp,
    ServiceError,
    TransientError,
    dead_letter,
    run_service,
)
from services.runtime.metrics import Metrics
from services.runtime.settings import (
    BUNDLES,
    DLQ,
    ORIGINS,
    RAW,
    RESULTS,
    STF,
    ServiceSettings,
    SettingsError,
    add_settings_arguments,
    settings_from_args,
)

__all__ = [
    "BUNDLES",
    "DLQ",
    "ORIGINS",
    "RAW",
    "RESULTS",
    "STF",
    "DeliveryFailed",
    "Incoming",
    "Metrics",
    "Outgoing",
    "PoisonMessage",
    "Processor",
    "ServiceApp",
    "ServiceError",
    "ServiceSettings",
    "SettingsError",
    "TransientError",
    "add_settings_arguments",
    "dead_letter",
    "run_service",
    "settings_from_args",
]
