"""ONNX Runtime session options: from the environment and flags to every session."""

from __future__ import annotations

import pytest

from symae.extract.ort_options import SPINNING_ENTRIES, OrtOptions, OrtOptionsError
from symae.extract.runtime import OnnxModel


def session_settings(model: OnnxModel) -> list[tuple[int, int, tuple[str, ...]]]:
    """(intra-op threads, inter-op threads, spinning entries) of every open session."""
    out = []
    for session in model.sessions.values():
        opts = session.get_session_options()
        entries = tuple(opts.get_session_config_entry(key) for key in SPINNING_ENTRIES)
        out.append((opts.intra_op_num_threads, opts.inter_op_num_threads, entries))
    return out


def test_defaults_are_one_thread_without_spinning_on_every_session() -> None:
    model = OnnxModel.load("default", options=OrtOptions.from_env({}))
    assert len(model.sessions) == 5
    assert session_settings(model) == [(1, 1, ("0", "0"))] * 5


def test_environment_values_reach_the_sessions() -> None:
    env = {
        "SYMAE_ORT_PROVIDER": "cpu",
        "SYMAE_ORT_INTRA_OP_THREADS": "2",
        "SYMAE_ORT_INTER_OP_THREADS": "3",
        "SYMAE_ORT_ALLOW_SPINNING": "true",
    }
    options = OrtOptions.from_env(env)
    assert options == OrtOptions("cpu", 2, 3, True)
    model = OnnxModel.load("default", options=options)
    assert session_settings(model) == [(2, 3, ("1", "1"))] * 5
    assert model.provider == "CPUExecutionProvider"


def test_given_values_win_over_the_environment_and_bad_values_name_their_variable() -> None:
    env = {"SYMAE_ORT_INTRA_OP_THREADS": "4", "SYMAE_ORT_ALLOW_SPINNING": "1"}
    options = OrtOptions.from_env(env, intra_op_threads=2, allow_spinning=None)
    assert (options.intra_op_threads, options.allow_spinning) == (2, True)
    with pytest.raises(OrtOptionsError, match="SYMAE_ORT_INTRA_OP_THREADS='many'"):
        OrtOptions.from_env({"SYMAE_ORT_INTRA_OP_THREADS": "many"})
    with pytest.raises(OrtOptionsError, match="SYMAE_ORT_ALLOW_SPINNING"):
        OrtOptions.from_env({"SYMAE_ORT_ALLOW_SPINNING": "sometimes"})
    with pytest.raises(OrtOptionsError, match="auto, cuda, cpu"):
        OrtOptions.from_env({"SYMAE_ORT_PROVIDER": "tpu"})
    with pytest.raises(OrtOptionsError, match=">= 0"):
        OrtOptions(intra_op_threads=-1)


def test_symae_extract_flags_and_environment_reach_the_extractor(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    from symae.cli import main
    from symae.errors import UsageError
    from symae.extract.extractor import Extractor

    seen: list[OrtOptions] = []

    def load(model, provider="auto", settings=None, options=None, physics_model=None):  # noqa: ANN001, ANN202
        seen.append(options if provider is None else options.with_provider(provider))
        raise UsageError("stop here: the options are what this test looks at")

    monkeypatch.setattr(Extractor, "load", staticmethod(load))
    monkeypatch.setenv("SYMAE_ORT_INTER_OP_THREADS", "2")
    dataset = tmp_path / "d.h5"
    dataset.write_bytes(b"")
    code = main(
        [
            "extract",
            "--dataset",
            str(dataset),
            "--event-id",
            "e",
            "--out",
            str(tmp_path / "r.json"),
            "--intra-op-threads",
            "4",
            "--provider",
            "cpu",
        ]
    )
    assert code == 2
    assert seen == [OrtOptions("cpu", 4, 2, False)]
