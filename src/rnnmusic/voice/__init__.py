"""Learned voices: a recurrent network that learns an instrument's sound from recordings and plays music in it.

    rnnmusic voice train fiddle-*.wav --out voices/myfiddle      # learn a sound (features.py, training.py)
    rnnmusic render tune.abc --to wav --voice fiddle             # play notes with it (perform.py, player.py)
    rnnmusic voice resynth take.wav --voice fiddle --out x.wav   # a recording's pitch and loudness, its sound

The network (`network.VoiceNet`) is DDSP's decoder: pitch, loudness and note features per frame -> GRU ->
harmonic amplitudes and a noise filter -> the differentiable synthesizer of `synth` -> a learned reverb.
"""
from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:  # the parts import torch and librosa: only when used
    if name in ("train_voice", "VoiceTrainConfig"):
        from . import training

        return getattr(training, name)
    if name in ("load_voice", "Voice", "render_midi", "resynthesize", "resynthesize_file", "export_voice", "is_voice"):
        from . import player

        return getattr(player, name)
    raise AttributeError(name)


__all__ = ["train_voice", "VoiceTrainConfig", "load_voice", "Voice", "render_midi", "resynthesize", "resynthesize_file",
           "export_voice", "is_voice"]
