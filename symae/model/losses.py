"""The training loss: summed negative ELBO plus gamma times the shift norm.

loss = 0.5 * sum((x_hat - x)^2 / e^v + v) + beta_n * KL(nuisance || N(0, I))
       + beta_c * KL(coherent || N(0, I)) + gamma * ||s||_2

summed over every trace of the batch (the coherent KL once per group). With k > 1 the
coherent KL is the category-weighted KL of the k pooled Gaussians plus the KL of the
category distribution from the uniform one. The MSE is computed for logging only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from symae.artifacts.config import TrainConfig
from symae.model.symvae import SymVAEOutput


def kl_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, e^logvar) || N(0, I)) summed over the last axis."""
    return 0.5 * (torch.exp(logvar) + mu**2 - 1.0 - logvar).sum(dim=-1)


def kl_gaussians(
    mu_q: torch.Tensor, logvar_q: torch.Tensor, mu_p: torch.Tensor, logvar_p: torch.Tensor
) -> torch.Tensor:
    """KL(N(mu_q, e^logvar_q) || N(mu_p, e^logvar_p)) of diagonal Gaussians, last axis summed."""
    return 0.5 * (
        logvar_p - logvar_q + (torch.exp(logvar_q) + (mu_q - mu_p) ** 2) / torch.exp(logvar_p) - 1.0
    ).sum(dim=-1)


@dataclass
class LossTerms:
    """Summed loss terms of one batch; ``total`` is what is minimised."""

    total: torch.Tensor
    nll: torch.Tensor
    kl_nuisance: torch.Tensor
    kl_coherent: torch.Tensor
    shift_norm: torch.Tensor
    mse: torch.Tensor  # mean squared error per sample, logged only
    n_traces: int

    @property
    def neg_elbo(self) -> torch.Tensor:
        return self.nll + self.kl_nuisance + self.kl_coherent


def coherent_kl(out: SymVAEOutput) -> torch.Tensor:
    """KL of the pooled coherent posteriors from N(0, I), summed over groups."""
    kl = kl_standard_normal(out.coherent_mu, out.coherent_logvar)  # (B, k)
    if out.coherent_logits is None:
        return kl.sum()
    probs = F.softmax(out.coherent_logits, dim=-1)  # (B, k)
    k = probs.shape[-1]
    kl_cat = (probs * (torch.log(probs.clamp_min(1e-12)) + math.log(k))).sum()
    return (probs * kl).sum() + kl_cat


def symvae_loss(
    x: torch.Tensor, out: SymVAEOutput, decoder_logvar: torch.Tensor, config: TrainConfig
) -> LossTerms:
    """Loss of one batch of groups x (B, n, nt) given the forward pass ``out``."""
    sq = (out.recon - x) ** 2
    nll = 0.5 * (sq / torch.exp(decoder_logvar) + decoder_logvar).sum()
    kl_n = kl_standard_normal(out.nuisance_mu, 2.0 * out.nuisance_log_sigma).sum()
    kl_c = coherent_kl(out)
    shift_norm = torch.linalg.vector_norm(out.shift)
    total = nll + config.beta_n * kl_n + config.beta_c * kl_c + config.gamma * shift_norm
    return LossTerms(
        total=total,
        nll=nll,
        kl_nuisance=kl_n,
        kl_coherent=kl_c,
        shift_norm=shift_norm,
        mse=sq.mean(),
        n_traces=x.shape[0] * x.shape[1],
    )


def stf_shape_misfit(stf: torch.Tensor, truth: torch.Tensor, max_lag: int) -> torch.Tensor:
    """Relative squared L2 misfit of unit-area STFs at their best lag, per group.

    ``stf`` and ``truth`` (B, J) on the same grid; both are scaled to unit area (the
    physics forward model standardises every trace, so only the STF's shape is known),
    the estimate is delayed by the lag within +-``max_lag`` samples of highest
    cross-correlation (chosen without gradient, as ``symae.evaluate.metrics`` does: the
    catalogue origin time is uncertain) and |a - b|^2 / |b|^2 is returned (B,).
    """
    a = stf / (stf.sum(dim=-1, keepdim=True) + 1e-12)
    b = truth / (truth.sum(dim=-1, keepdim=True) + 1e-12)
    n = 2 * stf.shape[-1]
    fa, fb = torch.fft.rfft(a, n), torch.fft.rfft(b, n)
    corr = torch.fft.irfft(fa * fb.conj(), n)  # corr[k] = sum_j a[j + k] b[j]
    lags = torch.arange(-max_lag, max_lag + 1, device=stf.device)
    best = lags[corr.detach()[..., lags % n].argmax(dim=-1)]  # (B,)
    freq = torch.fft.rfftfreq(n, device=stf.device)
    phase = torch.exp(2j * torch.pi * freq * best[:, None].to(freq.dtype))
    shifted = torch.fft.irfft(fa * phase, n)[..., : stf.shape[-1]]  # a[j + best]
    return ((shifted - b) ** 2).sum(dim=-1) / ((b**2).sum(dim=-1) + 1e-12)
