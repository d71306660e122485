"""The objective of the STF extraction's latent optimisation (method doc, step 4).

For N trainable nuisance codes and a frozen network,
  x_hat_i = decoder([ref_mu ; code_i]) with its time mean removed,
  J = sum_i KL(Q_ref || Q(x_hat_i)) / j1 + alpha * ||standardise_t(x_hat)||_1 / j2,
where Q(x_hat_i) is the coherent posterior of x_hat_i encoded alone (no shift) and
standardise_t removes the time mean and divides by the time std (+1e-5). One step is
plain gradient descent: codes - lr * dJ/dcodes. ``kl`` and ``l1`` are the unnormalised
terms at the input codes, so a first call with j1 = j2 = 1 gives J1 and J2.
"""

from __future__ import annotations

import torch

from symae.model.losses import kl_gaussians
from symae.model.symvae import SymVAE


def decode_demeaned(model: SymVAE, ref_mu: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
    """Virtual traces (N, nt): decode [ref_mu ; code_i] and remove each trace's time mean."""
    full = torch.cat([ref_mu.unsqueeze(0).expand(codes.shape[0], -1), codes], dim=-1)
    x = model.decode(full)
    return x - x.mean(dim=-1, keepdim=True)


def latent_objective(
    model: SymVAE,
    codes: torch.Tensor,
    ref_mu: torch.Tensor,
    ref_logvar: torch.Tensor,
    j1: torch.Tensor,
    j2: torch.Tensor,
    alpha: torch.Tensor,
) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """J at ``codes`` and, as auxiliary output, (J, kl, l1)."""
    x = decode_demeaned(model, ref_mu, codes)  # (N, nt)
    mu, logvar = model.reencode_raw(x)  # (N, p)
    kl = kl_gaussians(ref_mu.unsqueeze(0), ref_logvar.unsqueeze(0), mu, logvar).sum()
    z = x / (x.std(dim=-1, correction=0, keepdim=True) + 1e-5)  # x is demeaned already
    l1 = z.abs().sum()
    objective = kl / j1 + alpha * l1 / j2
    return objective, (objective, kl, l1)


def latent_step(
    model: SymVAE,
    codes: torch.Tensor,
    ref_mu: torch.Tensor,
    ref_logvar: torch.Tensor,
    j1: torch.Tensor,
    j2: torch.Tensor,
    alpha: torch.Tensor,
    lr: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """One gradient-descent step: (codes - lr * grad J, J, kl, l1), all at the input codes."""

    def objective(c: torch.Tensor):
        return latent_objective(model, c, ref_mu, ref_logvar, j1, j2, alpha)

    grad, (value, kl, l1) = torch.func.grad(objective, has_aux=True)(codes)
    return codes - lr * grad, value, kl, l1
