"""Recordings in, what the voice hears out: the guarded audio reader and the per-frame features.

`read_recording` reads WAV, FLAC or OGG (libsndfile via soundfile) in blocks, mixes to mono, resamples to the
voice's rate (soxr) and peak-normalizes to -1 dBFS, refusing with one line what a voice cannot learn from:
a file that is not audio, silence, heavy clipping, a sample rate below the voice's, over `MAX_SECONDS`.
`frame_features` then gives, per frame of `hop` samples:

* f0: librosa's pYIN (probabilistic YIN; no weights to ship, deterministic, offline), the same tracker at
  training and at resynthesis, between the voice's `fmin` and `fmax`. Where no pitch sounds, f0 holds the
  nearest pitched frame's value, as it does between notes when rendering a score.
* loudness: A-weighted power (a 1024-point STFT), in dB.
* sounding: 1 where pYIN hears a pitch and the frame is within 40 dB of the recording's loudest.
* onset: an envelope that is 1 at a note's start and decays with a 0.1 s time constant; a start is a pitched
  frame after silence, a pitch change over 0.7 semitones, or a rise of 6 dB within 40 ms.
"""
from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..errors import UserError
from .network import LOUDNESS_FLOOR_DB, VoiceConfig, hz_to_midi

#: A recording longer than this is refused (cut it into parts): bounds time and memory (an hour at 16 kHz: 230 MB).
MAX_SECONDS = 3600.0
#: Peak below this (-60 dBFS) is silence.
SILENT_PEAK = 1e-3
#: More than this fraction of samples at full scale is clipping.
CLIPPED_FRACTION = 0.01
#: Fewer pitched frames than this fraction of the non-silent ones: no pitch to learn from.
MIN_PITCHED = 0.2
ONSET_TAU_S = 0.1
LOUDNESS_N_FFT = 1024
PYIN_FRAME = 1024
CHUNK_S = 30.0  # pYIN runs on chunks of this length, in parallel
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga")


@dataclass
class Features:
    """Per-frame features of one recording (or one rendered line), and the audio they came from."""
    f0_hz: np.ndarray
    loudness_db: np.ndarray
    sounding: np.ndarray
    onset: np.ndarray
    audio: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.f0_hz)


def read_recording(path: str | Path, sample_rate: int) -> np.ndarray:
    """A recording as float32 mono at `sample_rate`, peak at -1 dBFS; a UserError naming the file and the reason
    for anything a voice cannot learn from."""
    import soundfile as sf
    import soxr

    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    try:
        info = sf.info(str(path))
    except Exception as e:
        raise UserError(f"{path}: not audio that can be read ({' '.join(str(e).split())[:120]})") from None
    if info.frames <= 0 or info.samplerate <= 0:
        raise UserError(f"{path}: no audio in it")
    if info.samplerate < sample_rate:
        raise UserError(f"{path}: recorded at {info.samplerate} Hz, below the voice's {sample_rate} Hz: its sound "
                        f"above {info.samplerate // 2} Hz is missing")
    seconds = info.frames / info.samplerate
    if seconds > MAX_SECONDS:
        raise UserError(f"{path}: {seconds / 60:.0f} minutes long; at most {MAX_SECONDS / 60:.0f} per file "
                        "(cut it into parts)")
    stream = soxr.ResampleStream(info.samplerate, sample_rate, 1, dtype="float32")
    parts, clipped, total, peak = [], 0, 0, 0.0
    try:
        for block in sf.blocks(str(path), blocksize=info.samplerate * 10, dtype="float32", always_2d=True):
            clipped += int((np.abs(block) >= 0.999).any(axis=1).sum())
            total += block.shape[0]
            mono = block.mean(axis=1)
            peak = max(peak, float(np.abs(mono).max(initial=0.0)))
            parts.append(stream.resample_chunk(mono))
        parts.append(stream.resample_chunk(np.zeros(0, np.float32), last=True))
    except Exception as e:
        raise UserError(f"{path}: cannot read its audio ({' '.join(str(e).split())[:120]})") from None
    if peak < SILENT_PEAK:
        raise UserError(f"{path}: silent (peak {20 * np.log10(max(peak, 1e-12)):.0f} dBFS)")
    if total and clipped / total > CLIPPED_FRACTION:
        raise UserError(f"{path}: clipped ({100 * clipped / total:.1f}% of samples at full scale); "
                        "record it again at a lower level")
    audio = np.concatenate(parts).astype(np.float32)
    return audio * np.float32(10 ** (-1 / 20) / max(float(np.abs(audio).max()), 1e-9))


def loudness_db(audio: np.ndarray | torch.Tensor, sample_rate: int, hop: int) -> np.ndarray:
    """A-weighted loudness per frame (frame i centred on sample i * hop), in dB, floored at LOUDNESS_FLOOR_DB."""
    import librosa

    x = torch.as_tensor(np.asarray(audio, dtype=np.float32))
    n_frames = x.shape[-1] // hop
    spec = torch.stft(x, LOUDNESS_N_FFT, hop, window=torch.hann_window(LOUDNESS_N_FFT), center=True,
                      return_complex=True).abs() ** 2
    with np.errstate(divide="ignore"):  # A-weighting is -inf dB at 0 Hz: a weight of 0
        db_weights = librosa.A_weighting(librosa.fft_frequencies(sr=sample_rate, n_fft=LOUDNESS_N_FFT))
    weight = torch.as_tensor(10 ** (db_weights / 10), dtype=torch.float32)
    power = (spec * weight[:, None]).mean(0) / (LOUDNESS_N_FFT / 4) ** 2
    db = 10 * torch.log10(power + 1e-12)
    return db.clamp(min=LOUDNESS_FLOOR_DB).numpy()[:n_frames].astype(np.float32)


def _pyin_chunk(args: tuple[np.ndarray, int, int, float, float]) -> tuple[np.ndarray, np.ndarray]:
    import librosa

    audio, sr, hop, fmin, fmax = args
    f0, voiced, _ = librosa.pyin(audio, fmin=fmin, fmax=fmax, sr=sr, frame_length=PYIN_FRAME, hop_length=hop)
    return np.nan_to_num(f0, nan=0.0).astype(np.float32), voiced.astype(bool)


def track_pitch(audio: np.ndarray, cfg: VoiceConfig, workers: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(f0 in Hz, 0 where unpitched; pitched flags) per frame, by pYIN on chunks of CHUNK_S in parallel (each
    with a second of context on either side)."""
    hop, sr = cfg.hop, cfg.sample_rate
    n_frames = len(audio) // hop
    chunk, pad = int(CHUNK_S * sr) // hop * hop, sr // hop * hop
    jobs, spans = [], []
    for start in range(0, max(n_frames * hop, 1), chunk):
        lo, hi = max(0, start - pad), min(len(audio), start + chunk + pad)
        jobs.append((audio[lo:hi], sr, hop, cfg.fmin, cfg.fmax))
        spans.append(((start - lo) // hop, min(chunk, n_frames * hop - start) // hop))
    workers = min(len(jobs), workers or os.cpu_count() or 1)
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            results = list(pool.map(_pyin_chunk, jobs))
    else:
        results = [_pyin_chunk(j) for j in jobs]
    f0 = np.concatenate([r[0][s: s + n] for r, (s, n) in zip(results, spans)])
    voiced = np.concatenate([r[1][s: s + n] for r, (s, n) in zip(results, spans)])
    return f0[:n_frames], voiced[:n_frames]


def hold_pitch(f0: np.ndarray, pitched: np.ndarray) -> np.ndarray:
    """f0 with each unpitched frame given the nearest pitched frame's value (the previous one, else the next)."""
    if not pitched.any():
        return np.full_like(f0, 220.0)
    idx = np.where(pitched, np.arange(len(f0)), -1)
    idx = np.maximum.accumulate(idx)
    first = int(np.argmax(pitched))
    idx[idx < 0] = first
    return f0[idx].astype(np.float32)


def onset_envelope(onsets: np.ndarray, frame_rate: float) -> np.ndarray:
    """1 at each onset frame, decaying with ONSET_TAU_S until the next; 0 before the first."""
    env = np.zeros(len(onsets), np.float32)
    decay = float(np.exp(-1.0 / (ONSET_TAU_S * frame_rate)))
    level = 0.0
    for i, on in enumerate(onsets):
        level = 1.0 if on else level * decay
        env[i] = level
    return env


def detect_onsets(f0: np.ndarray, sounding: np.ndarray, loud: np.ndarray, frame_rate: float) -> np.ndarray:
    """Note starts: a sounding frame after silence, a pitch change over 0.7 semitones, a 6 dB rise in 40 ms;
    at most one per 60 ms."""
    pitch = hz_to_midi(np.maximum(f0, 1e-3))
    gap = max(1, int(0.06 * frame_rate))
    rise = max(1, int(0.04 * frame_rate))
    onsets = np.zeros(len(f0), bool)
    last = -gap
    for i in range(len(f0)):
        if not sounding[i]:
            continue
        new = (i == 0 or not sounding[i - 1] or abs(pitch[i] - pitch[i - 1]) > 0.7
               or loud[i] - loud[max(0, i - rise): i + 1].min() > 6.0)
        if new and i - last >= gap:
            onsets[i], last = True, i
    return onsets


def frame_features(audio: np.ndarray, cfg: VoiceConfig, source: str = "", workers: int | None = None) -> Features:
    """The features of a recording read by `read_recording` (audio trimmed to whole frames)."""
    n = len(audio) // cfg.hop
    audio = audio[: n * cfg.hop]
    loud = loudness_db(audio, cfg.sample_rate, cfg.hop)
    f0, pitched = track_pitch(audio, cfg, workers)
    sounding = pitched & (loud > loud.max() - 40.0)
    audible = loud > loud.max() - 40.0
    if sounding.sum() < MIN_PITCHED * max(1, int(audible.sum())):
        raise UserError(f"{source or 'audio'}: no steady pitch found in {100 * sounding.mean():.0f}% of it "
                        "(noise, or not one melodic instrument?)")
    f0 = hold_pitch(f0, sounding)
    onset = onset_envelope(detect_onsets(f0, sounding, loud, cfg.frame_rate), cfg.frame_rate)
    return Features(f0, loud, sounding.astype(np.float32), onset, audio)
