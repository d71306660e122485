"""Structured logs: one JSON object per line with the call site's extra fields."""

from __future__ import annotations

import json
import logging
import sys

from services.runtime.logging import JsonFormatter, where


def test_json_line_carries_service_position_and_reason() -> None:
    record = logging.LogRecord(
        "services.ingest", logging.WARNING, __file__, 1, "%s refused", ("x",), None
    )
    record.where = where("symae.waveforms.raw", 2, 41)
    record.reason = "nan"
    line = JsonFormatter("ingest").format(record)
    body = json.loads(line)
    assert "\n" not in line
    assert body["service"] == "ingest" and body["level"] == "WARNING"
    assert body["msg"] == "x refused"
    assert body["where"] == "symae.waveforms.raw[2]@41" and body["reason"] == "nan"
    assert body["ts"].endswith("+00:00")


def test_exceptions_are_kept_in_one_line() -> None:
    try:
        raise ValueError("bad value 3")
    except ValueError:
        record = logging.LogRecord("s", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    body = json.loads(JsonFormatter("svc").format(record))
    assert "ValueError: bad value 3" in body["exc"]
