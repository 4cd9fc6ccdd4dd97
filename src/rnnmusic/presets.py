"""Named presets: the classic systems as plain configuration, overridable by any flag.

    rnnmusic presets                                  # list them
    rnnmusic train --preset notes-window100 --out runs/nw --epochs 5

A preset only fills in `ModelConfig` / `TrainConfig` fields; flags given on the command line win. The
many-to-one preset is the same model as the default many-to-many training, fed windows instead of chunks.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import UserError


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    model: dict[str, Any] = field(default_factory=dict)
    train: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        settings = ", ".join(f"{k}={v}" for k, v in {**self.train, **self.model}.items())
        return f"{self.name}\n    {self.description}\n    {settings}"


PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset(
        "abc-char-lstm",
        "folk-rnn / char-rnn style: a 2-layer character-level LSTM on cleaned ABC folk tunes (many-to-many, "
        "targets = inputs shifted by one character).",
        model={"cell": "lstm", "layers": 2, "hidden": 512, "embed": 64, "dropout": 0.2},
        train={"encoding": "abc-char", "corpus": ["oneills"], "seq_len": 256, "batch_size": 32, "lr": 2e-3},
    ),
    Preset(
        "notes-window100",
        "The window-100 many-to-one setup of Classical-Piano-Composer, with rhythm kept: the note/chord vocabulary "
        "(`notes`: one token per note or chord with its duration, plus time shifts), 100 tokens predict "
        "the next (many-to-one), 3-layer LSTM of 512 units, dropout 0.3, RMSprop.",
        model={"cell": "lstm", "layers": 3, "hidden": 512, "embed": 128, "dropout": 0.3},
        train={"encoding": "notes", "corpus": ["bach-chorales"], "window": 100, "window_stride": 1,
               "batch_size": 64, "optimizer": "rmsprop", "lr": 1e-3, "lr_schedule": "constant"},
    ),
    Preset(
        "roll-mse-1024",
        "Multi-hot piano-roll frames (88 keys, sixteenth grid, no onset channel) into one "
        "LSTM layer of 1024 units, RMSprop, mean squared error against the next frame.",
        model={"cell": "lstm", "layers": 1, "hidden": 1024, "embed": 88, "dropout": 0.0, "head": "mse"},
        train={"encoding": "pianoroll", "encoding_options": {"grid": 4, "onsets": False},
               "corpus": ["bach-chorales"], "optimizer": "rmsprop", "lr": 1e-3, "lr_schedule": "constant",
               "seq_len": 128, "batch_size": 32},
    ),
    Preset(
        "lead-jazz",
        "deepjazz style, as a chord-conditioned model: the `lead` encoding (melody notes and rests "
        "with chord-change tokens; every step hears the current chord, root counted from the key's tonic, and "
        "the bar position), LSTM 2x256. Pass lead sheets with --corpus (ABC with chord symbols such as the "
        "Nottingham tunes, MusicXML with <harmony>, or MIDI with an accompaniment); generate over a "
        "progression with `rnnmusic generate RUN --chords ...`.",
        model={"cell": "lstm", "layers": 2, "hidden": 256, "embed": 128, "dropout": 0.2},
        train={"encoding": "lead", "corpus": ["lead-sheets"], "seq_len": 128, "batch_size": 32, "lr": 2e-3},
    ),
)}


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise UserError(
            f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)} (see `rnnmusic presets`)"
        ) from None


def apply_preset(name: str | None, model: dict[str, Any], train: dict[str, Any]) -> tuple[dict, dict]:
    """Preset values under the explicitly given ones (dicts of overrides, as from flags)."""
    if not name:
        return model, train
    p = get_preset(name)
    merged_opts = {**p.train.get("encoding_options", {}), **train.get("encoding_options", {})}
    train_out = {**p.train, **train}
    if merged_opts:
        train_out["encoding_options"] = merged_opts
    return {**p.model, **model}, train_out
