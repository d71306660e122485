"""Fixtures of the command tests: the data fixtures (the real II.BFO record) reused."""

from tests.data.conftest import (  # noqa: F401 - fixtures registered for tests/commands
    _bfo_inventory,
    _bfo_stream,
    bfo_inventory,
    bfo_stream,
    gulf_origin,
)
