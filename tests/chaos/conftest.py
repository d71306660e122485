"""The chaos suite: each case against the embedded broker on 127.0.0.1 (or an in-process
server) in bounded time. ``make chaos`` (``SYMAE_CHAOS=full``) runs all of it; otherwise
(``make test``) the cases marked ``slow`` are skipped, which leaves a subset of about three
minutes on two cores. Measured figures: docs/reliability.md."""

from __future__ import annotations

import os

import pytest

from tests.services.conftest import kafka_bootstrap, services  # noqa: F401


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "chaos: failure injection (make chaos runs them all)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("SYMAE_CHAOS") == "full":
        return
    skip = pytest.mark.skip(reason="long chaos case: `make chaos` (SYMAE_CHAOS=full) runs it")
    for item in items:
        if "tests/chaos/" in str(item.fspath).replace(os.sep, "/") and "slow" in item.keywords:
            item.add_marker(skip)
