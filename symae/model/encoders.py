"""Coherent and nuisance encoders.

The coherent encoder maps every trace to a Gaussian (mean and *log-precision*) and pools
the traces of a group as a product of Gaussians: lambda_i = exp(l_i),
var_c = 1 / sum(lambda_i), mu_c = var_c * sum(lambda_i * mu_i). The pooling is a sum
over traces, hence invariant to their order; it is written with ``logsumexp`` and
``softmax`` (the same quantities, computed stably) and honours a mask of real traces.
With ``k > 1`` categories every trace gives k Gaussians and k category logits; each
category is pooled separately and the logits are averaged over the real traces.

The nuisance encoder maps every trace to its own Gaussian (mean and log sigma).
"""

from __future__ import annotations

import torch
from torch import nn

from symae.model.trunk import ConvTrunk, init_weights

# log-precision given to padded (mask = 0) traces: exp of it is exactly 0 in float32
_MASKED_LOG_PRECISION = -1.0e4


def pool_product_of_gaussians(
    mu: torch.Tensor, log_precision: torch.Tensor, mask: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pool per-trace Gaussians over the trace axis 1.

    mu, log_precision: (B, n, ...); mask: (B, n), 1 for a real trace, 0 for padding.
    Returns the pooled mean and log-variance, (B, ...).
    """
    m = mask.reshape(*mask.shape, *([1] * (mu.dim() - 2)))  # (B, n, 1...)
    lp = torch.where(m > 0, log_precision, torch.full_like(log_precision, _MASKED_LOG_PRECISION))
    logvar = -torch.logsumexp(lp, dim=1)  # log(1 / sum lambda_i)
    weights = torch.softmax(lp, dim=1)  # lambda_i / sum lambda_j
    return (weights * mu).sum(dim=1), logvar


class CoherentEncoder(nn.Module):
    """Per-trace Gaussians (mean, log-precision) and, for k > 1, category logits."""

    def __init__(self, nt: int, p: int, k: int = 1, slope: float = 0.1) -> None:
        super().__init__()
        self.p, self.k = p, k
        self.trunk = ConvTrunk(nt, p, slope)
        self.mu = nn.Linear(p, p * k)
        self.log_precision = nn.Linear(p, p * k)
        self.logits = nn.Linear(p, k) if k > 1 else None
        init_weights(self.mu)
        init_weights(self.log_precision)
        if self.logits is not None:
            init_weights(self.logits)

    def per_trace(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Traces (..., nt) -> mu, log-precision (..., k, p) and logits (..., k) or None."""
        h = self.trunk(x)  # (..., p)
        lead = h.shape[:-1]
        mu = self.mu(h).reshape(*lead, self.k, self.p)
        lp = self.log_precision(h).reshape(*lead, self.k, self.p)
        return mu, lp, (self.logits(h) if self.logits is not None else None)

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Groups (B, n, nt), mask (B, n) -> pooled mu, logvar (B, k, p), logits (B, k) or None."""
        mu, lp, logits = self.per_trace(x)
        mu_c, logvar_c = pool_product_of_gaussians(mu, lp, mask)
        if logits is None:
            return mu_c, logvar_c, None
        weights = mask / mask.sum(dim=1, keepdim=True)  # (B, n)
        return mu_c, logvar_c, (weights.unsqueeze(-1) * logits).sum(dim=1)


class NuisanceEncoder(nn.Module):
    """Traces (..., nt) -> mu (..., q), log sigma (..., q)."""

    def __init__(self, nt: int, q: int, slope: float = 0.1) -> None:
        super().__init__()
        self.trunk = ConvTrunk(nt, q, slope)
        self.mu = nn.Linear(q, q)
        self.log_sigma = nn.Linear(q, q)
        init_weights(self.mu)
        init_weights(self.log_sigma)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.trunk(x)
        return self.mu(h), self.log_sigma(h)
