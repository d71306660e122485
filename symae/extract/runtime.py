"""Run a model directory's ONNX graphs with ONNX Runtime, as numpy functions (no torch).

``OnnxModel.load(spec, provider)`` resolves a model (path, ``name[:version]``,
``default``, ``latest``), verifies its checksums, and opens one inference session per
graph with the session options of :class:`~symae.extract.ort_options.OrtOptions`
(threads, spinning, provider; from ``SYMAE_ORT_*`` unless given). Provider ``auto`` uses
CUDA when ONNX Runtime can actually open a CUDA session and the CPU otherwise; ``cuda``
insists on CUDA (clear error when it is unavailable); ``cpu`` forces the CPU. Inputs are
checked against the model's data contract (trace length, finiteness, non-empty).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import onnxruntime as ort

from symae.artifacts.store import ArtifactError, ModelInfo, load
from symae.extract.ort_options import OrtOptions

log = logging.getLogger(__name__)
PROVIDERS = {"cuda": "CUDAExecutionProvider", "cpu": "CPUExecutionProvider"}
# whether this process could open a CUDA session; probed once so that a machine without a
# usable GPU reports the failed CUDA load once, not once per graph
_cuda_usable: bool | None = None
ORT_DEFAULT_SEVERITY = 2  # ONNX Runtime's own default: warnings and above


def session_options(options: OrtOptions) -> ort.SessionOptions:
    """ONNX Runtime's ``SessionOptions`` for ``options`` (0 threads: its own choice)."""
    opts = ort.SessionOptions()
    opts.log_severity_level = 3  # errors only: a missing GPU is reported by us, once
    opts.intra_op_num_threads = options.intra_op_threads
    opts.inter_op_num_threads = options.inter_op_threads
    for key, value in options.config_entries().items():
        opts.add_session_config_entry(key, value)
    return opts


def open_session(path: Path, options: OrtOptions) -> ort.InferenceSession:
    """Open one graph with ``options`` (provider auto | cuda | cpu, threads, spinning)."""
    global _cuda_usable
    provider = options.provider
    try_cuda = provider == "cuda" or (provider == "auto" and _cuda_usable is not False)
    wanted = [PROVIDERS["cuda"], PROVIDERS["cpu"]] if try_cuda else [PROVIDERS["cpu"]]
    wanted = [p for p in wanted if p in ort.get_available_providers()]
    quiet_probe = provider == "auto" and PROVIDERS["cuda"] in wanted
    if quiet_probe:  # a CPU-only machine fails to load the CUDA libraries: we report it below
        ort.set_default_logger_severity(4)
    try:
        session = ort.InferenceSession(str(path), session_options(options), providers=wanted)
    finally:
        if quiet_probe:
            ort.set_default_logger_severity(ORT_DEFAULT_SEVERITY)
    if try_cuda:
        _cuda_usable = PROVIDERS["cuda"] in session.get_providers()
        if not _cuda_usable and provider == "auto":
            log.info("CUDA provider unavailable, running ONNX Runtime on the CPU")
    if provider == "cuda" and PROVIDERS["cuda"] not in session.get_providers():
        raise RuntimeError(
            f"provider 'cuda' requested but ONNX Runtime could not open {path.name} on CUDA "
            f"(available: {ort.get_available_providers()}, session got {session.get_providers()})"
        )
    return session


def _f32(array: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(array, dtype=np.float32)


class OnnxModel:
    """The exported graphs of one model, callable with numpy arrays."""

    def __init__(
        self, info: ModelInfo, provider: str | None = None, options: OrtOptions | None = None
    ):
        """``options`` default to ``OrtOptions.from_env()``; ``provider`` replaces theirs."""
        self.info = info
        self.config = info.model_config
        if self.config.architecture != "symvae":
            raise ArtifactError(
                f"{info.path}: a {self.config.architecture} model, not a SymVAE; "
                "load it with symae.extract.physics.PhysicsModel"
            )
        options = options if options is not None else OrtOptions.from_env()
        if provider is not None:
            options = options.with_provider(provider)
        self.options = options
        graphs = info.require_onnx()
        self.sessions = {name: open_session(path, options) for name, path in graphs.items()}
        self.provider = self.sessions["coherent"].get_providers()[0]
        self._check_graph_nt()
        log.info("model %s:%s on %s", info.name, info.version, self.provider)

    def _check_graph_nt(self) -> None:
        """Refuse graphs whose trace length is not the data contract's ``nt``."""
        for name in ("coherent", "nuisance", "reencode"):
            dims = self.sessions[name].get_inputs()[0].shape
            last = dims[-1] if dims else None
            if isinstance(last, int) and last != self.config.nt:
                raise ArtifactError(
                    f"{self.info.path}: {name}.onnx takes traces of {last} samples but the "
                    f"model's data contract says nt={self.config.nt}"
                )

    @classmethod
    def load(
        cls,
        spec: str | Path = "default",
        provider: str | None = None,
        registry: Path | None = None,
        options: OrtOptions | None = None,
    ) -> OnnxModel:
        return cls(load(spec, registry), provider, options)

    @property
    def uses_gpu(self) -> bool:
        return self.provider == PROVIDERS["cuda"]

    def _check(self, traces: np.ndarray, ndim: int) -> np.ndarray:
        traces = _f32(traces)
        nt = self.config.nt
        if traces.ndim != ndim or traces.shape[-1] != nt:
            want = "(G, n, nt)" if ndim == 3 else "(T, nt)"
            raise ValueError(f"expected traces of shape {want} with nt={nt}, got {traces.shape}")
        if 0 in traces.shape:
            raise ValueError(f"empty input of shape {traces.shape}")
        if not np.all(np.isfinite(traces)):
            raise ValueError("traces contain NaN or inf")
        return traces

    def coherent(
        self, traces: np.ndarray, mask: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Groups (G, n, nt), mask (G, n) -> pooled mu (G, p), logvar (G, p), shift (G, n)."""
        traces = self._check(traces, 3)
        mask = np.ones(traces.shape[:2], np.float32) if mask is None else _f32(mask)
        if mask.shape != traces.shape[:2]:
            raise ValueError(f"mask shape {mask.shape} != traces shape {traces.shape[:2]}")
        empty = np.flatnonzero(mask.sum(axis=1) <= 0).tolist()
        if empty:
            raise ValueError(f"groups {empty} have no real traces (mask all zero)")
        mu, logvar, shift = self.sessions["coherent"].run(None, {"traces": traces, "mask": mask})
        return mu, logvar, shift

    def nuisance(self, traces: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Traces (T, nt) -> mu (T, q), log_sigma (T, q), shift (T,)."""
        mu, log_sigma, shift = self.sessions["nuisance"].run(
            None, {"traces": self._check(traces, 2)}
        )
        return mu, log_sigma, shift

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """Codes (T, p+q) -> traces (T, nt) in the aligned frame."""
        codes = _f32(codes)
        width = self.config.p + self.config.q
        if codes.ndim != 2 or codes.shape[1] != width or codes.shape[0] == 0:
            raise ValueError(f"expected codes of shape (T, {width}), got {codes.shape}")
        return self.sessions["decoder"].run(None, {"codes": codes})[0]

    def reencode(self, traces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each trace (T, nt) alone as a group of one, no shift -> mu (T, p), logvar (T, p)."""
        mu, logvar = self.sessions["reencode"].run(None, {"traces": self._check(traces, 2)})
        return mu, logvar

    def latent_step(
        self,
        codes: np.ndarray,
        ref_mu: np.ndarray,
        ref_logvar: np.ndarray,
        j1: float,
        j2: float,
        alpha: float,
        lr: float,
    ) -> tuple[np.ndarray, float, float, float]:
        """One descent step of J on the codes (N, q): (codes_out, J, kl, l1) at the input codes."""
        codes = _f32(codes)
        if codes.ndim != 2 or codes.shape[1] != self.config.q or codes.shape[0] == 0:
            raise ValueError(f"expected codes of shape (N, {self.config.q}), got {codes.shape}")
        feed = {
            "codes": codes,
            "ref_mu": _f32(ref_mu).reshape(self.config.p),
            "ref_logvar": _f32(ref_logvar).reshape(self.config.p),
            "j1": np.asarray(j1, dtype=np.float32).reshape(()),
            "j2": np.asarray(j2, dtype=np.float32).reshape(()),
            "alpha": np.asarray(alpha, dtype=np.float32).reshape(()),
            "lr": np.asarray(lr, dtype=np.float32).reshape(()),
        }
        out, objective, kl, l1 = self.sessions["latent_step"].run(None, feed)
        return out, float(objective), float(kl), float(l1)
