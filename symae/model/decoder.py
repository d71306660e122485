"""The decoder: one trace from the concatenated codes [c ; n_i], in the aligned frame.

dense (p+q)->nt, dense nt->nt, one channel, conv k50 1->5, k20 5->20, k20 20->20,
k5 20->50 (all LeakyReLU), then a linear conv k5 50->1. The trainable decoder
log-variance of the Gaussian likelihood lives in the SymVAE, not here.
"""

from __future__ import annotations

import torch
from torch import nn

from symae.model.trunk import SameConv1d, init_weights


class Decoder(nn.Module):
    """Codes (..., p+q) -> traces (..., nt)."""

    def __init__(self, nt: int, code_size: int, slope: float = 0.1) -> None:
        super().__init__()
        self.nt = nt
        self.code_size = code_size
        self.dense = nn.Sequential(
            nn.Linear(code_size, nt), nn.LeakyReLU(slope), nn.Linear(nt, nt), nn.LeakyReLU(slope)
        )
        self.convs = nn.Sequential(
            SameConv1d(1, 5, 50),
            nn.LeakyReLU(slope),
            SameConv1d(5, 20, 20),
            nn.LeakyReLU(slope),
            SameConv1d(20, 20, 20),
            nn.LeakyReLU(slope),
            SameConv1d(20, 50, 5),
            nn.LeakyReLU(slope),
            SameConv1d(50, 1, 5),
        )
        init_weights(self)

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        lead = codes.shape[:-1]
        h = self.dense(codes.reshape(-1, self.code_size)).unsqueeze(1)  # (T, 1, nt)
        return self.convs(h).reshape(*lead, self.nt)
