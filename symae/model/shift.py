"""The time-shift module (the "spatial transformer" of the method doc).

A per-trace MLP (dense nt->nt, nt->nt, nt->1; last layer zero-initialised so every
shift starts at 0) predicts a continuous scalar ``s`` per trace. The shift is applied as
a Fourier phase ramp: rFFT, multiply by exp(i*pi*f*nt*s) with f in cycles per sample,
inverse real FFT. That is a circular *advance* of ``s * nt / 2`` samples: an integer
advance equals ``numpy.roll(x, -lag)`` exactly.

The transforms are written as real matrix products with fixed cosine and sine tables
(not ``torch.fft``) so the same arithmetic exports to plain ONNX MatMul nodes.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from symae.model.trunk import init_weights


def _dft_tables(nt: int) -> tuple[torch.Tensor, ...]:
    """Forward (nt, nf) cos/sin tables and inverse (nf, nt) tables of the real FFT."""
    nf = nt // 2 + 1
    t = torch.arange(nt, dtype=torch.float64)
    f = torch.arange(nf, dtype=torch.float64)
    angle = 2 * math.pi * torch.outer(t, f) / nt  # (nt, nf)
    fwd_cos, fwd_sin = torch.cos(angle), -torch.sin(angle)
    # irfft: DC and (even nt) Nyquist count once, their imaginary parts are ignored
    weight = torch.full((nf,), 2.0, dtype=torch.float64)
    weight[0] = 1.0
    if nt % 2 == 0:
        weight[-1] = 1.0
    inv_cos = (weight[:, None] * torch.cos(angle.T)) / nt
    inv_sin = -(weight[:, None] * torch.sin(angle.T)) / nt
    inv_sin[0] = 0.0
    if nt % 2 == 0:
        inv_sin[-1] = 0.0
    return tuple(a.float() for a in (fwd_cos, fwd_sin, inv_cos, inv_sin))


class FourierShift(nn.Module):
    """``forward(x (..., nt), s (...)) -> x advanced circularly by s * nt / 2 samples``."""

    fwd_cos: torch.Tensor
    fwd_sin: torch.Tensor
    inv_cos: torch.Tensor
    inv_sin: torch.Tensor
    freq: torch.Tensor

    def __init__(self, nt: int) -> None:
        super().__init__()
        self.nt = nt
        fwd_cos, fwd_sin, inv_cos, inv_sin = _dft_tables(nt)
        self.register_buffer("fwd_cos", fwd_cos, persistent=False)
        self.register_buffer("fwd_sin", fwd_sin, persistent=False)
        self.register_buffer("inv_cos", inv_cos, persistent=False)
        self.register_buffer("inv_sin", inv_sin, persistent=False)
        self.register_buffer(
            "freq", torch.arange(nt // 2 + 1, dtype=torch.float32), persistent=False
        )

    def forward(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        re = x @ self.fwd_cos  # (..., nf)
        im = x @ self.fwd_sin
        # f * nt = frequency index, so the ramp angle is pi * index * s
        theta = math.pi * s.unsqueeze(-1) * self.freq  # (..., nf)
        c, sn = torch.cos(theta), torch.sin(theta)
        re_s = re * c - im * sn
        im_s = re * sn + im * c
        return re_s @ self.inv_cos + im_s @ self.inv_sin  # (..., nt)


class ShiftNet(nn.Module):
    """Traces (..., nt) -> shifts (...): MLP nt->nt->nt->1, last layer zero-initialised."""

    def __init__(self, nt: int, slope: float = 0.1) -> None:
        super().__init__()
        self.hidden = nn.Sequential(
            nn.Linear(nt, nt), nn.LeakyReLU(slope), nn.Linear(nt, nt), nn.LeakyReLU(slope)
        )
        self.out = nn.Linear(nt, 1)
        init_weights(self)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.hidden(x)).squeeze(-1)
