"""PyTorch SymVAE (training and export only; the serving path never imports this)."""

from symae.model.losses import LossTerms, kl_gaussians, kl_standard_normal, symvae_loss
from symae.model.symvae import SymVAE, SymVAEOutput, count_parameters

__all__ = [
    "LossTerms",
    "SymVAE",
    "SymVAEOutput",
    "count_parameters",
    "kl_gaussians",
    "kl_standard_normal",
    "symvae_loss",
]
