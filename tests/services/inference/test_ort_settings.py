"""The inference service's ONNX Runtime settings reach the sessions it serves."""

from __future__ import annotations

import argparse

import pytest

from services.commands import serve_inference
from services.runtime.settings import settings_from_args
from symae.extract.ort_options import OrtOptions
from symae.extract.runtime import OnnxModel
from tests.extract.test_ort_options import session_settings


def test_the_inference_service_opens_its_model_with_its_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Environment and flags, through the service's settings, to the sessions it serves."""
    monkeypatch.setenv("SYMAE_ORT_INTER_OP_THREADS", "2")
    monkeypatch.setenv("SYMAE_ORT_ALLOW_SPINNING", "true")
    parser = argparse.ArgumentParser()
    serve_inference.add_arguments(parser)
    args = parser.parse_args(["--ort-intra-op-threads", "3", "--ort-provider", "cpu"])
    settings = settings_from_args(serve_inference.InferenceSettings, args)
    assert settings.ort_options() == OrtOptions("cpu", 3, 2, True)
    from symae.artifacts.store import resolve

    extractor = serve_inference.load_extractor(settings, str(resolve("default")))
    assert isinstance(extractor.graphs, OnnxModel)
    assert session_settings(extractor.graphs) == [(3, 2, ("1", "1"))] * 5
    # without settings of its own the service runs the defaults
    monkeypatch.delenv("SYMAE_ORT_INTER_OP_THREADS")
    monkeypatch.delenv("SYMAE_ORT_ALLOW_SPINNING")
    defaults = settings_from_args(serve_inference.InferenceSettings, parser.parse_args([]))
    assert defaults.ort_options() == OrtOptions()
