"""The physics-informed SymAE (architecture ``symae-physics``, docs/physics-symae.md).

Per trace i of a group, with its known Green's function G_i on the model grid
(``symae.inversion.grid``):

    x_hat_i = shift_back( norm( G_i * m(c) ) + r(n_i) )

- ``c``: the coherent code, a product-of-Gaussians pool over the group of per-trace
  Gaussians from a conv trunk that sees the aligned trace **and** its G_i (2 channels);
- ``m(c) = B(T) softplus(W c + b)``: a positive STF, ``stf_basis`` cubic B-splines over
  [0, T] s on the model's dt, T the inversion's Mw-scaled support max(3 x 2h, 20 s)
  capped at ``stf_support_s`` (an input per group, ``support_s``; ``StfHead``);
- ``G_i * m``: causal convolution on the model grid, then the window taper, demeaning
  and standardisation of the preprocessing (``norm``): the per-trace amplitude and sign
  conventions of the data are absorbed there;
- ``r(n_i)``: a small decoder of the nuisance code alone (what the physics does not
  model), its last layer zero-initialised so training starts from the physics;
- learned Fourier shifts and the ELBO as in the SymVAE (``symae.model.losses``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from symae.artifacts.config import ModelConfig
from symae.model.encoders import NuisanceEncoder, pool_product_of_gaussians
from symae.model.shift import FourierShift, ShiftNet
from symae.model.symvae import SymVAE, SymVAEOutput
from symae.model.trunk import SameConv1d, avg_pool4, init_weights


def bspline_basis(n_samples: int, n_basis: int, dt: float, support_s: float) -> np.ndarray:
    """(n_samples, n_basis) uniform cubic B-splines, each inside [0, support_s], at j*dt
    (numpy twin of ``StfHead.basis``).

    Knot spacing h = support_s / (n_basis + 3); spline k is centred at (k + 2) h with
    support +-2h, so the STF is zero at 0 and at support_s.
    """
    t = dt * np.arange(n_samples)[:, None]
    h = support_s / (n_basis + 3)
    u = np.abs(t - (np.arange(n_basis)[None, :] + 2.0) * h) / h  # distance in knot spacings
    out = np.where(u < 1, (4 - 6 * u**2 + 3 * u**3) / 6, np.where(u < 2, (2 - u) ** 3 / 6, 0.0))
    return out.astype(np.float32)


class StfHead(nn.Module):
    """Coherent codes (..., p) and supports t_max (...,) s -> positive STFs (..., J) on j*dt.

    The ``stf_basis`` cubic B-splines span [0, t_max] (``bspline_basis``, evaluated in
    torch so the support is an input): the code holds the STF's *shape* relative to the
    support, which the caller scales with the magnitude (``support_s``), as the
    inversion bounds its support. J = stf_support_s / dt + 1 is the longest support.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        dt = config.contract.dt
        self.n_basis = config.stf_basis
        self.n_samples = int(np.floor(config.stf_support_s / dt)) + 1
        self.register_buffer(
            "t", dt * torch.arange(self.n_samples, dtype=torch.float32), persistent=False
        )
        self.register_buffer(
            "centre", torch.arange(self.n_basis, dtype=torch.float32) + 2.0, persistent=False
        )
        self.coef = nn.Linear(config.p, config.stf_basis)
        init_weights(self.coef)

    def basis(self, t_max: torch.Tensor) -> torch.Tensor:
        """(..., J, K) B-splines of the supports t_max (...,)."""
        h = (t_max / (self.n_basis + 3))[..., None, None]  # (..., 1, 1)
        u = torch.abs(self.t[:, None] / h - self.centre)  # (..., J, K) distance in knot spacings
        inner = (4 - 6 * u**2 + 3 * u**3) / 6
        outer = torch.clamp(2 - u, min=0.0) ** 3 / 6
        return torch.where(u < 1, inner, outer)

    def forward(self, code: torch.Tensor, t_max: torch.Tensor) -> torch.Tensor:
        w = F.softplus(self.coef(code))  # (..., K)
        return (self.basis(t_max) @ w.unsqueeze(-1)).squeeze(-1)  # (..., J)


class PhysicsForward(nn.Module):
    """norm(G * m): causal convolution on the model grid, taper, demean, standardise."""

    def __init__(self, config: ModelConfig, n_stf: int) -> None:
        super().__init__()
        from symae.inversion.band import window_taper

        nt = config.nt
        self.dt = float(config.contract.dt)
        lag = torch.arange(nt)[:, None] - torch.arange(nt)[None, :]  # (k, l): k - l
        idx = torch.where((lag >= 0) & (lag < n_stf), lag, torch.full_like(lag, n_stf))
        self.register_buffer("toeplitz_index", idx, persistent=False)  # (nt, nt)
        taper = torch.from_numpy(np.asarray(window_taper(config.contract), dtype=np.float32))
        self.register_buffer("taper", taper, persistent=False)

    def forward(self, greens: torch.Tensor, stf: torch.Tensor) -> torch.Tensor:
        """greens (..., n, nt), stf (..., J) -> standardised predictions (..., n, nt)."""
        ext = torch.cat([stf, torch.zeros_like(stf[..., :1])], dim=-1)  # (..., J + 1)
        toe = ext[..., self.toeplitz_index]  # (..., nt, nt): m[k - l]
        y = torch.matmul(greens, toe.transpose(-1, -2)) * self.dt  # (..., n, nt)
        y = y * self.taper
        y = y - y.mean(dim=-1, keepdim=True)
        return y / (y.std(dim=-1, correction=0, keepdim=True) + 1e-5)


class PairTrunk(nn.Module):
    """(trace, Green's function) pairs (..., 2, nt) -> features (..., width)."""

    def __init__(self, nt: int, width: int, slope: float = 0.1) -> None:
        super().__init__()
        self.nt = nt
        self.convs = nn.ModuleList(
            [
                SameConv1d(2, 8, 50),
                SameConv1d(8, 10, 20),
                SameConv1d(10, 20, 20),
                SameConv1d(20, 50, 5),
            ]
        )
        self.dense = nn.Linear((nt // 16) * 50, width)
        self.act = nn.LeakyReLU(slope)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lead = x.shape[:-2]
        h = x.reshape(-1, 2, self.nt)  # (T, 2, nt)
        h = self.act(self.convs[0](h))
        h = avg_pool4(self.act(self.convs[1](h)))  # (T, 10, nt/4)
        h = self.act(self.convs[2](h))
        h = avg_pool4(self.act(self.convs[3](h)))  # (T, 50, nt/16)
        h = self.act(self.dense(h.flatten(1)))
        return h.reshape(*lead, -1)


class PhysicsCoherentEncoder(nn.Module):
    """Per-trace Gaussians from (aligned trace, G_i), pooled as a product of Gaussians."""

    def __init__(self, nt: int, p: int, slope: float = 0.1) -> None:
        super().__init__()
        self.trunk = PairTrunk(nt, p, slope)
        self.mu = nn.Linear(p, p)
        self.log_precision = nn.Linear(p, p)
        init_weights(self.mu)
        init_weights(self.log_precision)

    def per_trace(self, x: torch.Tensor, greens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.trunk(torch.stack([x, greens], dim=-2))  # (..., p)
        return self.mu(h), self.log_precision(h)

    def forward(self, x: torch.Tensor, greens: torch.Tensor, mask: torch.Tensor):
        """(B, n, nt) x2, mask (B, n) -> pooled mu, logvar (B, p)."""
        mu, lp = self.per_trace(x, greens)
        return pool_product_of_gaussians(mu, lp, mask)


class Residual(nn.Module):
    """r(n): nuisance codes (..., q) -> (..., nt); last layer zero-initialised."""

    def __init__(self, nt: int, q: int, hidden: int = 64, slope: float = 0.1) -> None:
        super().__init__()
        self.hidden = nn.Sequential(nn.Linear(q, hidden), nn.LeakyReLU(slope))
        self.out = nn.Linear(hidden, nt)
        init_weights(self)
        nn.init.zeros_(self.out.weight)

    def forward(self, n: torch.Tensor) -> torch.Tensor:
        return self.out(self.hidden(n))


@dataclass
class PhysicsOutput(SymVAEOutput):
    """SymVAEOutput plus the STF of each group and the physics term of each trace."""

    stf: torch.Tensor | None = None  # (B, J) the decoded code's STF
    physics: torch.Tensor | None = None  # (B, n, nt) norm(G * m), aligned frame


class PhysicsSymAE(nn.Module):
    """Groups of traces (B, n, nt) with their Green's functions (B, n, nt)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        if config.architecture != "symae-physics":
            raise ValueError(
                f"PhysicsSymAE needs architecture 'symae-physics', got {config.architecture!r}"
            )
        self.config = c = config
        self.shift_net = ShiftNet(c.nt, c.leaky_slope)
        self.shifter = FourierShift(c.nt)
        self.coherent = PhysicsCoherentEncoder(c.nt, c.p, c.leaky_slope)
        self.nuisance = NuisanceEncoder(c.nt, c.q, c.leaky_slope)
        self.stf_head = StfHead(c)
        self.physics = PhysicsForward(c, self.stf_head.n_samples)
        self.residual = Residual(c.nt, c.q, slope=c.leaky_slope)
        self.decoder_logvar = nn.Parameter(torch.tensor(float(c.decoder_logvar_init)))

    check_groups = SymVAE.check_groups
    check_traces = SymVAE.check_traces

    def _check_greens(self, x: torch.Tensor, greens: torch.Tensor) -> None:
        if tuple(greens.shape) != tuple(x.shape):
            raise ValueError(f"greens shape {tuple(greens.shape)} != traces shape {tuple(x.shape)}")
        if not bool(torch.isfinite(greens).all()):
            raise ValueError("greens contain NaN or inf")

    def align(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s = self.shift_net(x)
        return self.shifter(x, s), s

    def decode(
        self, c: torch.Tensor, n: torch.Tensor, greens: torch.Tensor, t_max: torch.Tensor
    ) -> tuple[torch.Tensor, ...]:
        """Codes c (B, p), n (B, n, q), greens (B, n, nt), supports (B,) -> (recon, physics, stf)."""
        stf = self.stf_head(c, t_max)  # (B, J)
        phys = self.physics(greens, stf)  # (B, n, nt)
        return phys + self.residual(n), phys, stf

    def forward(
        self,
        x: torch.Tensor,
        greens: torch.Tensor,
        t_max: torch.Tensor,
        mask: torch.Tensor | None = None,
        sample: bool = False,
        generator: torch.Generator | None = None,
    ) -> PhysicsOutput:
        mask = self.check_groups(x, mask)
        self._check_greens(x, greens)
        aligned, s = self.align(x)  # (B, n, nt), (B, n)
        mu_c, logvar_c = self.coherent(aligned, greens, mask)  # (B, p)
        mu_n, log_sigma_n = self.nuisance(aligned)  # (B, n, q)
        code_c, code_n = mu_c, mu_n
        if sample:
            eps = torch.randn(mu_c.shape, generator=generator, device=x.device, dtype=x.dtype)
            code_c = mu_c + torch.exp(0.5 * logvar_c) * eps
            eps = torch.randn(mu_n.shape, generator=generator, device=x.device, dtype=x.dtype)
            code_n = mu_n + torch.exp(log_sigma_n) * eps
        recon_aligned, phys, stf = self.decode(code_c, code_n, greens, t_max)
        recon = self.shifter(recon_aligned, -s)
        return PhysicsOutput(
            recon,
            recon_aligned,
            s,
            mu_c.unsqueeze(1),
            logvar_c.unsqueeze(1),
            None,
            code_c,
            mu_n,
            log_sigma_n,
            stf,
            phys,
        )

    # ---- the pieces the serving path runs (exported to ONNX) -------------------------
    def coherent_posterior_raw(self, x: torch.Tensor, greens: torch.Tensor, mask: torch.Tensor):
        """Groups (G, n, nt), greens (G, n, nt), mask (G, n) -> mu, logvar (G, p), shift (G, n)."""
        aligned, s = self.align(x)
        mu, logvar = self.coherent(aligned, greens, mask)
        return mu, logvar, s

    def nuisance_posterior_raw(self, x: torch.Tensor):
        """Traces (T, nt) -> mu (T, q), log sigma (T, q), shift (T,)."""
        aligned, s = self.align(x)
        mu, log_sigma = self.nuisance(aligned)
        return mu, log_sigma, s

    def decode_traces(
        self, codes: torch.Tensor, greens: torch.Tensor, t_max: torch.Tensor
    ) -> torch.Tensor:
        """Codes (T, p+q), greens (T, nt), supports (T,) -> traces (T, nt) in the aligned frame."""
        c, n = codes[:, : self.config.p], codes[:, self.config.p :]
        stf = self.stf_head(c, t_max)  # (T, J)
        phys = self.physics(greens.unsqueeze(1), stf).squeeze(1)  # (T, nt)
        return phys + self.residual(n)
