"""The chaos suite: each case against the embedded broker on 127.0.0.1 (or an in-process
server) in bounded time. ``make chaos`` runs all of it; ``make test`` runs the cases not
marked ``slow``. Measured figures: docs/reliability.md."""

from __future__ import annotations

import pytest

from tests.services.conftest import kafka_bootstrap, services, tiny_model  # noqa: F401


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "chaos: failure injection (make chaos runs them all)")
