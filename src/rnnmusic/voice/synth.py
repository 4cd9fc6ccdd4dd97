"""The voice's synthesizer, differentiable end to end (DDSP: Engel et al., ICLR 2020).

Three parts, each a plain function of tensors, so a network can learn to drive them from a spectral loss:

* `harmonic`: a bank of sine oscillators at 1, 2, ... K times f0, each with its own amplitude per sample; a
  harmonic at or above the Nyquist frequency is silenced, so nothing aliases.
* `filtered_noise`: white noise shaped, frame by frame, by a magnitude response given in `n_bands` linear bands
  from 0 Hz to Nyquist (a windowed linear-phase FIR per frame, overlap-added): bow and breath noise.
* `Reverb`: a learned impulse response (the room the instrument was recorded in) convolved with the dry sound,
  which is kept as well.

Controls arrive per frame (`hop` samples apart, frame i centred on sample i * hop) and `upsample` turns them into
per-sample curves by linear interpolation.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = ["upsample", "harmonic", "filtered_noise", "Reverb", "exp_sigmoid"]


def exp_sigmoid(x: torch.Tensor, exponent: float = 10.0, max_value: float = 2.0) -> torch.Tensor:
    """DDSP's positive output scaling: max_value * sigmoid(x) ** log(exponent), plus a floor of 1e-7."""
    return max_value * torch.sigmoid(x) ** math.log(exponent) + 1e-7


def upsample(frames: torch.Tensor, hop: int) -> torch.Tensor:
    """(B, F, C) controls per frame -> (B, F * hop, C) per sample, linear between frame centres (frame i at
    sample i * hop), the last frame held."""
    b, f, c = frames.shape
    x = frames.transpose(1, 2)
    y = F.interpolate(x, size=(f - 1) * hop + 1, mode="linear", align_corners=True) if f > 1 else x
    y = torch.cat([y, y[..., -1:].expand(b, c, hop - 1)], dim=-1)
    return y.transpose(1, 2)


def harmonic(f0: torch.Tensor, amplitudes: torch.Tensor, sample_rate: int,
             phase0: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Sum of harmonics: f0 (B, T) in Hz per sample, amplitudes (B, T, K) of harmonics 1..K per sample.

    Sample n of harmonic k is amplitudes[n, k-1] * sin(2 pi k phase[n]), phase[n] = phase0 + sum_{m<n} f0[m] / sr
    (cycles; accumulated in float64, so hours of audio keep their pitch). Harmonics at or above sr / 2 at a sample
    are zero there. Returns the audio (B, T) and the phase after the last sample (B,), to continue from.
    """
    cycles = f0.detach().double() / sample_rate
    start = torch.zeros_like(cycles[:, :1]) if phase0 is None else phase0.double()[:, None]
    total = torch.cumsum(cycles, dim=1)
    phase = (start + total - cycles) % 1.0
    end = (start[:, 0] + total[:, -1]) % 1.0
    k = torch.arange(1, amplitudes.shape[-1] + 1, dtype=amplitudes.dtype, device=amplitudes.device)
    audible = (f0[..., None] * k < sample_rate / 2).to(amplitudes.dtype)
    angles = (2 * math.pi) * phase.to(amplitudes.dtype)[..., None] * k
    return (amplitudes * audible * torch.sin(angles)).sum(-1), end


def filtered_noise(magnitudes: torch.Tensor, hop: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Noise through a time-varying filter: magnitudes (B, F, n_bands) >= 0 per frame -> audio (B, F * hop).

    Each frame's response becomes a zero-phase impulse response (inverse real FFT), centred and Hann-windowed, and
    filters `hop` samples of uniform noise in [-1, 1]; the filtered frames are overlap-added and the filter's delay
    removed."""
    b, f, bands = magnitudes.shape
    ir_len = 2 * (bands - 1)
    ir = torch.fft.irfft(torch.complex(magnitudes, torch.zeros_like(magnitudes)), n=ir_len)
    ir = torch.roll(ir, ir_len // 2, dims=-1) * torch.hann_window(ir_len, dtype=ir.dtype, device=ir.device)
    noise = torch.rand(b, f, hop, generator=generator, dtype=magnitudes.dtype, device=magnitudes.device) * 2 - 1
    n_fft = 1 << (hop + ir_len - 1).bit_length()
    y = torch.fft.irfft(torch.fft.rfft(noise, n_fft) * torch.fft.rfft(ir, n_fft), n_fft)
    out = F.fold(y.transpose(1, 2), output_size=(1, (f - 1) * hop + n_fft), kernel_size=(1, n_fft),
                 stride=(1, hop))[:, 0, 0]
    return out[:, ir_len // 2: ir_len // 2 + f * hop]


class Reverb(torch.nn.Module):
    """The dry sound plus its convolution with a learned impulse response of `seconds` (first tap fixed at 0)."""

    def __init__(self, sample_rate: int, seconds: float):
        super().__init__()
        n = max(2, int(sample_rate * seconds))
        decay = torch.exp(-torch.arange(n, dtype=torch.float32) / (0.1 * sample_rate))
        g = torch.Generator().manual_seed(0)
        self.ir = torch.nn.Parameter(1e-3 * decay * (torch.rand(n, generator=g) * 2 - 1))

    def forward(self, dry: torch.Tensor) -> torch.Tensor:
        """dry (B, T) -> (B, T): the tail past T is cut (a caller wanting it pads the input)."""
        t = dry.shape[-1]
        ir = torch.cat([self.ir.new_zeros(1), self.ir[1:]])
        n_fft = 1 << (t + ir.shape[0] - 1).bit_length()
        wet = torch.fft.irfft(torch.fft.rfft(dry, n_fft) * torch.fft.rfft(ir, n_fft), n_fft)[..., :t]
        return dry + wet
