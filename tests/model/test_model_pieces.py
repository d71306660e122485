"""The network pieces: shift module, pooling symmetry, input validation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from symae.artifacts.config import ModelConfig
from symae.model import SymVAE, count_parameters
from symae.model.encoders import pool_product_of_gaussians
from symae.model.shift import FourierShift

NT = 192


@pytest.fixture(scope="module")
def model() -> SymVAE:
    torch.manual_seed(0)
    m = SymVAE(ModelConfig(nt=NT, p=6, q=5))
    # a non-zero shift head so the shifts in these tests are not all zero
    torch.nn.init.normal_(m.shift_net.out.weight, std=0.05)
    return m.eval()


def _pulse(centre: float, nt: int = NT) -> torch.Tensor:
    t = torch.arange(nt, dtype=torch.float32)
    return torch.exp(-0.5 * ((t - centre) / 3.0) ** 2)


@pytest.mark.parametrize("lag", [-17, -3, 5, 40])
def test_fourier_shift_moves_pulse_by_requested_lag(lag: int) -> None:
    shifter = FourierShift(NT)
    x = _pulse(96.0).unsqueeze(0)
    s = torch.tensor([2.0 * lag / NT])  # an advance of s * nt / 2 samples
    y = shifter(x, s)[0]
    assert int(torch.argmax(y)) == 96 - lag
    np.testing.assert_allclose(y.numpy(), np.roll(x[0].numpy(), -lag), atol=1e-5)


def test_fourier_shift_matches_torch_fft_for_fractional_shift() -> None:
    shifter = FourierShift(NT)
    x = torch.randn(3, NT, dtype=torch.float32)
    s = torch.tensor([0.013, -0.2, 0.5])
    spec = torch.fft.rfft(x.double())
    f = torch.fft.rfftfreq(NT, dtype=torch.float64)
    ramp = torch.exp(1j * torch.pi * f * NT * s.double().unsqueeze(-1))
    expected = torch.fft.irfft(spec * ramp, n=NT)
    np.testing.assert_allclose(shifter(x, s).numpy(), expected.numpy(), atol=5e-5)


def test_shifts_start_at_zero() -> None:
    m = SymVAE(ModelConfig(nt=NT, p=4, q=4))
    out = m(torch.randn(2, 5, NT))
    assert torch.count_nonzero(out.shift) == 0
    assert 150_000 < count_parameters(SymVAE(ModelConfig())) < 250_000


def test_coherent_code_invariant_to_trace_order(model: SymVAE) -> None:
    x = torch.randn(3, 11, NT)
    perm = torch.randperm(11)
    with torch.no_grad():
        mu, logvar, shift = model.coherent_posterior(x)
        mu_p, logvar_p, shift_p = model.coherent_posterior(x[:, perm])
    assert torch.max(torch.abs(mu - mu_p)) <= 1e-5
    assert torch.max(torch.abs(logvar - logvar_p)) <= 1e-5
    assert torch.max(torch.abs(shift[:, perm] - shift_p)) <= 1e-6


def test_masked_traces_do_not_count(model: SymVAE) -> None:
    x = torch.randn(2, 9, NT)
    mask = torch.ones(2, 9)
    mask[0, 6:] = 0
    padded = x.clone()
    padded[0, 6:] = torch.randn(3, NT) * 10
    with torch.no_grad():
        mu, logvar, _ = model.coherent_posterior(padded, mask)
        mu_short, logvar_short, _ = model.coherent_posterior(x[:1, :6])
    assert torch.max(torch.abs(mu[0] - mu_short[0])) <= 1e-5
    assert torch.max(torch.abs(logvar[0] - logvar_short[0])) <= 1e-5


def test_product_of_gaussians_pooling_formula() -> None:
    mu = torch.randn(1, 4, 3)
    lp = torch.randn(1, 4, 3)
    pooled_mu, pooled_logvar = pool_product_of_gaussians(mu, lp, torch.ones(1, 4))
    lam = torch.exp(lp)
    var = 1.0 / lam.sum(dim=1)
    torch.testing.assert_close(pooled_logvar, torch.log(var))
    torch.testing.assert_close(pooled_mu, var * (lam * mu).sum(dim=1))


def test_forward_reconstructs_in_original_frame(model: SymVAE) -> None:
    x = torch.randn(2, 4, NT)
    with torch.no_grad():
        out = model(x)
        back = model.shifter(out.recon_aligned, -out.shift)
    torch.testing.assert_close(out.recon, back)
    assert out.recon.shape == x.shape and out.coherent_code.shape == (2, 6)


def test_k_categories_train_forward() -> None:
    torch.manual_seed(1)
    m = SymVAE(ModelConfig(nt=NT, p=4, q=4, k=3))
    out = m(torch.randn(2, 5, NT), sample=True)
    assert out.coherent_mu.shape == (2, 3, 4) and out.coherent_logits.shape == (2, 3)
    with pytest.raises(ValueError, match="k = 3"):
        m.coherent_posterior(torch.randn(2, 5, NT))


@pytest.mark.parametrize(
    "bad, message",
    [
        (torch.randn(2, 4, 100), r"\(B, n, 192\)"),
        (torch.randn(2, 0, NT), "empty input"),
        (torch.full((1, 3, NT), float("nan")), "NaN or inf"),
        (torch.full((1, 3, NT), float("inf")), "NaN or inf"),
    ],
)
def test_bad_groups_are_refused(model: SymVAE, bad: torch.Tensor, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        model(bad)


def test_all_masked_group_is_refused(model: SymVAE) -> None:
    mask = torch.ones(2, 3)
    mask[1] = 0
    with pytest.raises(ValueError, match=r"groups \[1\] have no real traces"):
        model(torch.randn(2, 3, NT), mask)


def test_bad_single_traces_are_refused(model: SymVAE) -> None:
    with pytest.raises(ValueError, match=r"\(T, 192\)"):
        model.nuisance_posterior(torch.randn(4, 191))
    with pytest.raises(ValueError, match="no traces"):
        model.reencode(torch.randn(0, NT))
