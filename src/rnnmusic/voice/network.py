"""The voice network: per-frame pitch, loudness and note features -> GRU -> synthesizer controls -> audio.

    inputs (B, F, 4): f0 as MIDI pitch / 127, A-weighted loudness (dB + 100) / 100, note sounding (0/1), note
    onset envelope (1 at an onset, decaying with a 0.1 s time constant)
    -> MLP (2 layers) -> GRU -> MLP over [GRU output, inputs] (2 layers) -> per frame:
       overall harmonic amplitude, a distribution over K harmonics (those at or above Nyquist removed, the rest
       renormalized), and the noise filter's band magnitudes
    -> `synth.harmonic` + `synth.filtered_noise` -> `synth.Reverb` -> audio at `sample_rate`.

DDSP's decoder (Engel et al. 2020) without its latent timbre code, sized for a CPU: 2 layers of `hidden` units
around a GRU of `hidden` units.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .synth import Reverb, exp_sigmoid, filtered_noise, harmonic, upsample

N_INPUTS = 4
#: Loudness below this (dB) is silence to the network; inputs are scaled so -100..0 dB is 0..1.
LOUDNESS_FLOOR_DB = -100.0


@dataclass
class VoiceConfig:
    sample_rate: int = 16000
    hop: int = 128  # samples per control frame: 125 frames a second at 16 kHz
    hidden: int = 256
    n_harmonics: int = 40
    n_noise_bands: int = 65
    reverb_s: float = 0.5
    fmin: float = 50.0  # the pitch tracker's range (Hz), kept so rendering tracks as training did
    fmax: float = 2000.0

    @property
    def frame_rate(self) -> float:
        return self.sample_rate / self.hop


def hz_to_midi(hz: np.ndarray | torch.Tensor):
    lib = torch if isinstance(hz, torch.Tensor) else np
    return 69.0 + 12.0 * lib.log2(lib.clip(hz, 1e-3, None) / 440.0)


def midi_to_hz(pitch):
    return 440.0 * 2.0 ** ((pitch - 69.0) / 12.0)


def network_inputs(f0_hz, loudness_db, sounding, onset) -> torch.Tensor:
    """Per-frame features (arrays or tensors of shape (F,) or (B, F)) -> the network's inputs (B, F, 4)."""
    parts = [torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x, dtype=torch.float32)
             for x in (f0_hz, loudness_db, sounding, onset)]
    f0, ld, on, onset_env = (p if p.dim() == 2 else p[None] for p in parts)
    pitch = hz_to_midi(f0) / 127.0
    loud = (ld.clamp(min=LOUDNESS_FLOOR_DB, max=0.0) - LOUDNESS_FLOOR_DB) / -LOUDNESS_FLOOR_DB
    return torch.stack([pitch, loud, on, onset_env], dim=-1)


def _mlp(n_in: int, hidden: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, hidden), nn.LayerNorm(hidden), nn.LeakyReLU(),
                         nn.Linear(hidden, hidden), nn.LayerNorm(hidden), nn.LeakyReLU())


class VoiceNet(nn.Module):
    def __init__(self, cfg: VoiceConfig):
        super().__init__()
        self.cfg = cfg
        h = cfg.hidden
        self.inputs_mlp = _mlp(N_INPUTS, h)
        self.gru = nn.GRU(h, h, batch_first=True)
        self.outputs_mlp = _mlp(h + N_INPUTS, h)
        self.head = nn.Linear(h, 1 + cfg.n_harmonics + cfg.n_noise_bands)
        self.reverb = Reverb(cfg.sample_rate, cfg.reverb_s)

    def controls(self, inputs: torch.Tensor, f0_hz: torch.Tensor, state: torch.Tensor | None = None):
        """inputs (B, F, 4), f0 (B, F) in Hz -> (harmonic amplitudes (B, F, K), noise magnitudes (B, F, bands),
        the GRU state after the last frame)."""
        cfg = self.cfg
        hidden, state = self.gru(self.inputs_mlp(inputs), state)
        raw = self.head(self.outputs_mlp(torch.cat([hidden, inputs], dim=-1)))
        amp = exp_sigmoid(raw[..., :1])
        dist = exp_sigmoid(raw[..., 1:1 + cfg.n_harmonics])
        k = torch.arange(1, cfg.n_harmonics + 1, dtype=dist.dtype, device=dist.device)
        dist = dist * (f0_hz[..., None] * k < cfg.sample_rate / 2)
        dist = dist / dist.sum(-1, keepdim=True).clamp(min=1e-7)
        noise = exp_sigmoid(raw[..., 1 + cfg.n_harmonics:] - 5.0)
        return amp * dist, noise, state

    def synthesize(self, f0_hz: torch.Tensor, amplitudes: torch.Tensor, noise: torch.Tensor,
                   phase0: torch.Tensor | None = None, generator: torch.Generator | None = None):
        """Dry audio (B, F * hop) from per-frame f0, harmonic amplitudes and noise magnitudes; and the end phase."""
        hop = self.cfg.hop
        f0_s = upsample(f0_hz[..., None], hop)[..., 0]
        tone, phase = harmonic(f0_s, upsample(amplitudes, hop), self.cfg.sample_rate, phase0)
        return tone + filtered_noise(noise, hop, generator), phase

    def forward(self, inputs: torch.Tensor, f0_hz: torch.Tensor, generator: torch.Generator | None = None):
        """inputs (B, F, 4), f0 (B, F) Hz -> audio (B, F * hop), reverberated."""
        amplitudes, noise, _ = self.controls(inputs, f0_hz)
        dry, _ = self.synthesize(f0_hz, amplitudes, noise, generator=generator)
        return self.reverb(dry)
