"""Torch-free STF extraction with a ``symae-physics`` model (ONNX Runtime + numpy).

``physics_stf(event, model)`` -> ``(times, stf, lower, upper)``: every trace's Green's
function is computed in numpy (``symae.inversion.grid.event_greens``), the event's
traces are pooled as ONE group by the exported ``coherent`` graph (product of Gaussians
over all traces, after the learned shifts), and the coherent posterior is decoded by the
``stf`` graph: the STF is the decoded posterior mean, the band the 5-95 % percentiles of
STFs decoded from posterior samples. No latent descent. ``physics_extract`` also returns
the apparent STF of every pixel and each trace's informativeness
KL(Q_event || Q_trace) (Q_trace: the trace alone as a group of one; low = informative).

``physics_refined_stf(event, model)``: the raw-trace inversion (``symae.inversion``)
restarted from the SymAE STF, kept where it fits the data better
(``symae-physics-refined``, ``symae.extract.physics_refine``).
``physics_method_stfs`` gives both as RESULT.json alternatives (``Extractor``).

Times are in seconds after the predicted P (the STF starts at 0); STFs have unit area.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from symae.artifacts.store import ArtifactError, ModelInfo, load, shipped_model
from symae.data.dataset import EventData

if TYPE_CHECKING:
    from symae.extract.result import Stf
    from symae.inversion.result import InversionResult
    from symae.inversion.settings import InversionSettings

MODEL_ENV = "SYMAE_PHYSICS_MODEL"


class PhysicsModel:
    """The four graphs of a symae-physics model directory as numpy functions."""

    def __init__(self, info: ModelInfo, provider: str | None = None) -> None:
        from symae.extract.ort_options import OrtOptions
        from symae.extract.runtime import open_session

        if info.model_config.architecture != "symae-physics":
            raise ArtifactError(
                f"{info.path}: architecture {info.model_config.architecture!r}, "
                "expected 'symae-physics'"
            )
        self.info = info
        self.config = info.model_config
        options = OrtOptions.from_env(provider=provider)
        self.sessions = {g: open_session(p, options) for g, p in info.require_onnx().items()}
        self.dt = self.config.contract.dt

    @classmethod
    def load(cls, spec: str | Path | None = None, provider: str | None = None) -> PhysicsModel:
        return cls(load(resolve_physics_model(spec)), provider)

    def coherent(
        self, traces: np.ndarray, greens: np.ndarray, mask: np.ndarray
    ) -> list[np.ndarray]:
        """Groups (G, n, nt), their Green's functions and mask -> [mu, logvar, shift]."""
        feed = {"traces": _f32(traces), "greens": _f32(greens), "mask": _f32(mask)}
        return self.sessions["coherent"].run(None, feed)

    def nuisance(self, traces: np.ndarray) -> list[np.ndarray]:
        """Traces (T, nt) -> [mu, log_sigma, shift]."""
        return self.sessions["nuisance"].run(None, {"traces": _f32(traces)})

    def decode(self, codes: np.ndarray, greens: np.ndarray, t_max: np.ndarray) -> np.ndarray:
        feed = {"codes": _f32(codes), "greens": _f32(greens), "t_max": _f32(t_max)}
        return self.sessions["decoder"].run(None, feed)[0]

    def stf(self, codes: np.ndarray, t_max: np.ndarray) -> np.ndarray:
        """Codes (S, p), supports (S,) s -> positive STFs (S, J)."""
        return self.sessions["stf"].run(None, {"codes": _f32(codes), "t_max": _f32(t_max)})[0]


def _f32(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float32)


def resolve_physics_model(spec: str | Path | None) -> str | Path:
    """``spec``, else ``$SYMAE_PHYSICS_MODEL``, else (or for ``"default"``) the shipped
    symae-physics model."""
    spec = spec or os.environ.get(MODEL_ENV)
    return shipped_model("symae-physics") if spec in (None, "", "default") else spec


@dataclass
class PhysicsExtraction:
    """What the physics SymAE says about one event."""

    times: np.ndarray  # (J,) s after the predicted P
    stf: np.ndarray  # (J,) unit area: decoded posterior mean
    lower: np.ndarray  # (J,) 5 % of the posterior samples' STFs
    upper: np.ndarray  # (J,) 95 %
    samples: np.ndarray  # (S, J) unit-area STFs of the posterior samples
    pixel_stfs: dict[int, np.ndarray]  # apparent STF per pixel (unit area)
    informativeness: np.ndarray  # (T,) KL(Q_event || Q_trace), low = informative
    shifts_s: np.ndarray  # (T,) learned advance of every trace (s)
    mu: np.ndarray  # (p,) event coherent posterior
    logvar: np.ndarray  # (p,)


def _unit_area(x: np.ndarray, dt: float) -> np.ndarray:
    area = x.sum(axis=-1, keepdims=True) * dt
    return np.where(area > 0, x / np.where(area > 0, area, 1.0), 0.0)


_MODELS: dict[str, PhysicsModel] = {}


def _model(model: str | Path | PhysicsModel | None) -> PhysicsModel:
    if isinstance(model, PhysicsModel):
        return model
    key = str(resolve_physics_model(model))
    if key not in _MODELS:
        _MODELS[key] = PhysicsModel.load(key)
    return _MODELS[key]


def physics_extract(
    event: EventData,
    model: str | Path | PhysicsModel | None = None,
    n_samples: int = 200,
    seed: int = 0,
    mechanism: str = "catalogue",
    bound_support: bool = True,
) -> PhysicsExtraction:
    """Event STF, band, pixel STFs and trace informativeness (module docstring).

    ``bound_support``: the STF basis spans the inversion's Mw-scaled support (what the
    model was trained with); False spans the model's longest support (ablation).
    """
    from symae.extract.coherent import kl_diagonal
    from symae.inversion.grid import event_greens, support_s

    m = _model(model)
    contract = m.config.contract
    if not event.groups:
        raise ValueError(f"event {event.event_id!r} has no trace groups")
    pixels = sorted(event.groups)
    greens_by_pixel = event_greens(event, contract, mechanism=mechanism)
    traces = np.concatenate([event.groups[p].traces for p in pixels]).astype(np.float32)
    contract.check_traces(traces)
    greens = np.concatenate([greens_by_pixel[p] for p in pixels])
    n = len(traces)
    # the event as one group
    mu, logvar, shift = m.coherent(traces[None], greens[None], np.ones((1, n)))
    # every pixel as a group (padded), and every trace alone
    sizes = [len(event.groups[p]) for p in pixels]
    nmax = max(sizes)
    pt = np.zeros((len(pixels), nmax, traces.shape[1]), np.float32)
    pg, pm = np.zeros_like(pt), np.zeros((len(pixels), nmax), np.float32)
    start = 0
    for i, k in enumerate(sizes):
        pt[i, :k], pg[i, :k], pm[i, :k] = traces[start : start + k], greens[start : start + k], 1.0
        start += k
    p_mu, _, _ = m.coherent(pt, pg, pm)
    t_mu, t_logvar, _ = m.coherent(traces[:, None], greens[:, None], np.ones((n, 1)))
    info = kl_diagonal(mu, logvar, t_mu, t_logvar)

    rng = np.random.default_rng(seed)
    eps = rng.standard_normal((n_samples, mu.shape[1])).astype(np.float32)
    codes = np.concatenate([mu, mu + np.exp(0.5 * logvar) * eps])
    limit = m.config.stf_support_s
    mw = event.origin.magnitude
    t_max = (
        float(support_s(mw, limit))
        if bound_support and mw is not None and np.isfinite(mw)
        else limit
    )
    decoded = _unit_area(m.stf(codes, np.full(len(codes), t_max)).astype(np.float64), m.dt)
    stf, samples = decoded[0], decoded[1:]
    lower, upper = np.percentile(samples, (5.0, 95.0), axis=0) if n_samples > 0 else (stf, stf)
    pix = _unit_area(m.stf(p_mu, np.full(len(p_mu), t_max)).astype(np.float64), m.dt)
    times = m.dt * np.arange(stf.size)
    return PhysicsExtraction(
        times,
        stf,
        lower,
        upper,
        samples,
        {p: pix[i] for i, p in enumerate(pixels)},
        info,
        shift[0] * traces.shape[1] / 2 * m.dt,
        mu[0],
        logvar[0],
    )


def physics_stf(
    event: EventData,
    model: str | Path | PhysicsModel | None = None,
    n_samples: int = 200,
    bound_support: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(times, stf, lower, upper)`` of the event from a symae-physics model."""
    r = physics_extract(event, model, n_samples, bound_support=bound_support)
    return r.times, r.stf, r.lower, r.upper


def physics_refined_stf(
    event: EventData, model: str | Path | PhysicsModel | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(times, stf)`` of the inversion restarted from the SymAE STF (``symae-physics-refined``)."""
    from symae.extract.physics_refine import refine_from_start

    r = physics_extract(event, model, n_samples=0)
    refined = refine_from_start(event, r.times, r.stf)
    return refined.times, refined.stf


def physics_method_stfs(
    event: EventData,
    model: PhysicsModel,
    raw: InversionResult | None,
    settings: InversionSettings | None = None,
) -> dict[str, Stf]:
    """The ``symae-physics`` STF of ``event`` (band: 5-95 % of the posterior samples) and,
    with the event's raw-trace inversion ``raw``, ``symae-physics-refined``."""
    from symae.extract.methods import SYMAE_PHYSICS, SYMAE_PHYSICS_REFINED, inversion_stf
    from symae.extract.physics_refine import refine_from_start
    from symae.extract.result import Stf

    r = physics_extract(event, model)
    out = {SYMAE_PHYSICS: Stf.from_band(r.stf, r.lower, r.upper, model.dt, 0.0, SYMAE_PHYSICS)}
    if raw is not None:
        refined = refine_from_start(event, r.times, r.stf, raw, settings)
        out[SYMAE_PHYSICS_REFINED] = inversion_stf(refined, SYMAE_PHYSICS_REFINED)
    return out
