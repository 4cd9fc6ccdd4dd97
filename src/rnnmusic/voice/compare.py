"""A/B: the same MIDI file as a SoundFont plays it, as a learned voice plays it, as the built-in synthesizer plays
it, with their spectrograms side by side (what the studio's A/B player and `rnnmusic voice compare` show).

    files = ab_files("tune.mid", "fiddle", Path("out/tune"))
    # {"reference": "out/tune.reference.wav", "voice": "out/tune.voice.wav", "synth": "out/tune.synth.wav",
    #  "spectrograms": "out/tune.spectrograms.png"}

The reference is FluidSynth with the default (or given) SoundFont; where FluidSynth or a SoundFont is missing it
is left out, with a warning. Every file is written atomically; each is peak-normalized to -1 dBFS.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from ..render.audio import (
    PEAK,
    TAIL_S,
    find_fluidsynth,
    find_soundfont,
    notes_to_play,
    render_audio,
    synth_notes,
    write_audio,
)
from .player import load_voice, render_midi

SPECTROGRAM_SECONDS = 8.0


def ab_files(midi_path: str | Path, voice, stem: Path, *, sample_rate: int = 22050,
             soundfont: str | None = None, lines: int | None = None, perform: dict | None = None) -> dict[str, str]:
    """Write STEM.reference.wav, STEM.voice.wav, STEM.synth.wav and STEM.spectrograms.png; returns their paths."""
    from ..render.plots import plot_spectrograms

    midi_path, stem = Path(midi_path), Path(stem)
    notes = notes_to_play(midi_path)
    voice = load_voice(voice)
    signals: dict[str, np.ndarray] = {}
    if find_fluidsynth() and find_soundfont(soundfont):
        signals["reference"] = render_audio(midi_path, soundfont=Path(soundfont) if soundfont else None,
                                            sample_rate=sample_rate)[0].mean(axis=1)
    else:
        warnings.warn("no FluidSynth or SoundFont: the A/B comparison has no reference", stacklevel=2)
    kw = {"lines": lines} if lines else {}
    signals["voice"] = render_midi(midi_path, voice, sample_rate=sample_rate, perform=perform, **kw)[0][:, 0]
    synth = synth_notes(notes, sample_rate)[: int(round((max(n[1] for n in notes) + TAIL_S) * sample_rate))]
    signals["synth"] = synth * np.float32(PEAK / max(float(np.abs(synth).max(initial=0.0)), 1e-9))
    stem.parent.mkdir(parents=True, exist_ok=True)
    files = {name: str(write_audio(stem.with_name(f"{stem.name}.{name}.wav"), x[:, None], sample_rate))
             for name, x in signals.items()}
    titles = {"reference": "reference (SoundFont)", "voice": f"voice: {voice.name}", "synth": "built-in synthesizer"}
    files["spectrograms"] = str(plot_spectrograms({titles[k]: v for k, v in signals.items()}, sample_rate,
                                                  stem.with_name(f"{stem.name}.spectrograms.png"),
                                                  seconds=SPECTROGRAM_SECONDS))
    return files
