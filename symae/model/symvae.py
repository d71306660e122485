"""The SymVAE: shift module, coherent and nuisance encoders, decoder, assembled.

Forward pass (method doc): predict a shift per trace, advance the input by it, encode
the aligned traces, pool the coherent posterior per group, draw the coherent code once
per group (training) or take its mean (evaluation), draw a nuisance code per trace,
decode [c ; n_i] in the aligned frame and shift the reconstruction back by -s so it is
compared with the input in the original frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from symae.artifacts.config import ModelConfig
from symae.model.decoder import Decoder
from symae.model.encoders import CoherentEncoder, NuisanceEncoder
from symae.model.shift import FourierShift, ShiftNet


@dataclass
class SymVAEOutput:
    """Everything one forward pass produces; B groups of n traces."""

    recon: torch.Tensor  # (B, n, nt) original frame
    recon_aligned: torch.Tensor  # (B, n, nt) aligned frame
    shift: torch.Tensor  # (B, n)
    coherent_mu: torch.Tensor  # (B, k, p)
    coherent_logvar: torch.Tensor  # (B, k, p)
    coherent_logits: torch.Tensor | None  # (B, k), only for k > 1
    coherent_code: torch.Tensor  # (B, p) the code that was decoded
    nuisance_mu: torch.Tensor  # (B, n, q)
    nuisance_log_sigma: torch.Tensor  # (B, n, q)


def _gumbel(
    shape: torch.Size, like: torch.Tensor, generator: torch.Generator | None
) -> torch.Tensor:
    u = torch.rand(shape, generator=generator, device=like.device, dtype=like.dtype)
    return -torch.log(-torch.log(u.clamp(1e-10, 1.0 - 1e-7)))


class SymVAE(nn.Module):
    """Symmetric variational autoencoder for groups of traces (B, n, nt)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        self.shift_net = ShiftNet(c.nt, c.leaky_slope)
        self.shifter = FourierShift(c.nt)
        self.coherent = CoherentEncoder(c.nt, c.p, c.k, c.leaky_slope)
        self.nuisance = NuisanceEncoder(c.nt, c.q, c.leaky_slope)
        self.decoder = Decoder(c.nt, c.p + c.q, c.leaky_slope)
        self.decoder_logvar = nn.Parameter(torch.tensor(float(c.decoder_logvar_init)))

    # ---- input checks -------------------------------------------------------------
    def check_groups(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """Validate groups (B, n, nt) and their mask; return the mask (ones if None)."""
        if x.dim() != 3 or x.shape[-1] != self.config.nt:
            raise ValueError(
                f"expected groups of shape (B, n, {self.config.nt}), got {tuple(x.shape)}"
            )
        if x.shape[0] == 0 or x.shape[1] == 0:
            raise ValueError(f"empty input: {x.shape[0]} groups of {x.shape[1]} traces")
        if not bool(torch.isfinite(x).all()):
            raise ValueError("traces contain NaN or inf")
        if mask is None:
            return torch.ones(x.shape[:2], dtype=x.dtype, device=x.device)
        if tuple(mask.shape) != tuple(x.shape[:2]):
            raise ValueError(f"mask shape {tuple(mask.shape)} != traces shape {tuple(x.shape[:2])}")
        empty = torch.nonzero(mask.sum(dim=1) <= 0).flatten().tolist()
        if empty:
            raise ValueError(f"groups {empty} have no real traces (mask all zero)")
        return mask.to(x.dtype)

    def check_traces(self, x: torch.Tensor) -> None:
        """Validate single traces (T, nt)."""
        if x.dim() != 2 or x.shape[-1] != self.config.nt:
            raise ValueError(
                f"expected traces of shape (T, {self.config.nt}), got {tuple(x.shape)}"
            )
        if x.shape[0] == 0:
            raise ValueError("no traces given")
        if not bool(torch.isfinite(x).all()):
            raise ValueError("traces contain NaN or inf")

    def _single_category(self) -> None:
        if self.config.k != 1:
            raise ValueError(
                f"this operation is defined for k = 1 coherent category, the model has k = {self.config.k}"
            )

    # ---- forward ------------------------------------------------------------------
    def align(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Predict shifts for traces (..., nt) and return (aligned traces, shifts)."""
        s = self.shift_net(x)
        return self.shifter(x, s), s

    def _coherent_code(
        self,
        mu: torch.Tensor,
        logvar: torch.Tensor,
        logits: torch.Tensor | None,
        sample: bool,
        generator: torch.Generator | None,
    ) -> torch.Tensor:
        """One coherent code per group (B, p) from the pooled posterior (B, k, p)."""
        z = mu
        if sample:
            eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
            z = mu + torch.exp(0.5 * logvar) * eps
        if logits is None:
            return z[:, 0]
        tau = self.config.temperature
        if sample:
            weights = F.softmax((logits + _gumbel(logits.shape, logits, generator)) / tau, dim=-1)
        else:
            weights = F.softmax(logits / tau, dim=-1)
        return (weights.unsqueeze(-1) * z).sum(dim=1)

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor | None = None,
        sample: bool = False,
        generator: torch.Generator | None = None,
    ) -> SymVAEOutput:
        """Groups (B, n, nt) -> reconstruction and posteriors; ``sample`` draws codes."""
        mask = self.check_groups(x, mask)
        aligned, s = self.align(x)  # (B, n, nt), (B, n)
        mu_c, logvar_c, logits = self.coherent(aligned, mask)  # (B, k, p)
        code_c = self._coherent_code(mu_c, logvar_c, logits, sample, generator)  # (B, p)
        mu_n, log_sigma_n = self.nuisance(aligned)  # (B, n, q)
        code_n = mu_n
        if sample:
            eps = torch.randn(mu_n.shape, generator=generator, device=x.device, dtype=x.dtype)
            code_n = mu_n + torch.exp(log_sigma_n) * eps
        codes = torch.cat([code_c.unsqueeze(1).expand(-1, x.shape[1], -1), code_n], dim=-1)
        recon_aligned = self.decoder(codes)  # (B, n, nt)
        recon = self.shifter(recon_aligned, -s)
        return SymVAEOutput(
            recon, recon_aligned, s, mu_c, logvar_c, logits, code_c, mu_n, log_sigma_n
        )

    # ---- the pieces the serving path runs (exported to ONNX, k = 1) ----------------
    def coherent_posterior_raw(
        self, x: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Unchecked: groups (G, n, nt), mask (G, n) -> mu (G, p), logvar (G, p), shift (G, n)."""
        aligned, s = self.align(x)
        mu, logvar, _ = self.coherent(aligned, mask)
        return mu[:, 0], logvar[:, 0], s

    def coherent_posterior(
        self, x: torch.Tensor, mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Pooled coherent posterior per group after the learned shifts (k = 1)."""
        self._single_category()
        return self.coherent_posterior_raw(x, self.check_groups(x, mask))

    def nuisance_posterior_raw(
        self, x: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Unchecked: traces (T, nt) -> mu (T, q), log sigma (T, q), shift (T,)."""
        aligned, s = self.align(x)
        mu, log_sigma = self.nuisance(aligned)
        return mu, log_sigma, s

    def nuisance_posterior(
        self, x: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Nuisance posterior of every trace, encoded in its aligned frame."""
        self.check_traces(x)
        return self.nuisance_posterior_raw(x)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes (T, p+q) -> traces (T, nt) in the aligned frame."""
        return self.decoder(codes)

    def reencode_raw(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Unchecked: every trace (T, nt) alone as a group of one, no shift -> mu, logvar (T, p)."""
        mu, log_precision, _ = self.coherent.per_trace(x)
        return mu[:, 0], -log_precision[:, 0]

    def reencode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Coherent posterior of each trace on its own (used for the KL scores)."""
        self._single_category()
        self.check_traces(x)
        return self.reencode_raw(x)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
