"""Plain configuration dataclasses: printable, JSON round-trippable, overridable from flags."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from .errors import UserError

TEMPERATURE = 0.9  # the one default sampling temperature: generation, the studio and training-time samples

CELLS = ("lstm", "gru", "rnn")
OPTIMIZERS = ("adam", "rmsprop", "sgd")
SCHEDULES = ("constant", "cosine", "plateau")
PRECISIONS = ("fp32", "bf16", "fp16")


@dataclass
class ModelConfig:
    """The network: one recurrent core, an input layer and a head chosen by the encoding's kind."""

    kind: str = "tokens"  # what the encoding produces: "tokens" (ids), "lead" (ids + chord conditioning) or "frames"
    vocab_size: int = 0  # filled from the fitted encoding (frames: the frame width)
    cell: str = "lstm"  # lstm | gru | rnn
    layers: int = 2
    hidden: int = 256
    embed: int = 64
    dropout: float = 0.1
    head: str = ""  # tokens: softmax; frames: sigmoid (default) | nade | mse; "" = the kind's default
    attention: int = 0  # attend over the last N hidden states (0 = off)
    nade_hidden: int = 64  # hidden units of the NADE head

    @property
    def step_unit(self) -> str:
        """What one scored step is: a "token" or a "frame" (the unit of losses and speeds)."""
        return "frame" if self.kind == "frames" else "token"

    def validate(self) -> None:
        if self.cell not in CELLS:
            raise UserError(f"unknown cell {self.cell!r}; choose one of {', '.join(CELLS)}")
        if self.attention < 0:
            raise UserError(f"attention window must be >= 0, got {self.attention}")
        for name in ("layers", "hidden", "embed", "nade_hidden"):
            if getattr(self, name) < 1:
                raise UserError(f"model {name} must be at least 1, got {getattr(self, name)}")
        if not 0.0 <= self.dropout < 1.0:
            raise UserError(f"dropout must be in [0, 1), got {self.dropout}")


@dataclass
class TrainConfig:
    """Data, optimisation, checkpointing and sampling during training."""

    preset: str | None = None  # the named preset this run started from (for the record)
    init_from: str | None = None  # fine-tuned: the shipped model or run it started from (rnnmusic.finetune)
    corpus: list[str] = field(default_factory=lambda: ["oneills"])
    encoding: str = "abc-tokens"
    encoding_options: dict[str, Any] = field(default_factory=dict)  # e.g. {"grid": 4, "onsets": True}
    keep_chords: bool = True
    max_tunes: int | None = None  # at most this many tunes / pieces
    tracks: str | None = None  # MIDI: which tracks to merge ("piano", "0,2", "program:40"); default all but drums
    normalize_key: bool = False  # MIDI-side encodings: transpose every piece to C major / A minor first
    augment_keys: int = 0  # MIDI-side encodings: add a copy of each training piece shifted by up to +/-N semitones
    window: int = 0  # many-to-one: this many steps predict the next (0 = many-to-many chunks)
    window_stride: int = 1  # many-to-one: a window starts every this many steps
    valid_fraction: float = 0.1
    split_seed: int = 0

    batch_size: int = 32
    seq_len: int = 128  # truncated-BPTT length: hidden state carries across chunks
    epochs: int = 30
    optimizer: str = "adam"  # adam | rmsprop | sgd
    lr: float = 3e-3
    weight_decay: float = 0.0
    grad_clip: float = 1.0  # max gradient norm; 0 disables clipping
    lr_schedule: str = "cosine"  # constant | cosine (with warmup) | plateau (halve on no improvement)
    lr_patience: int = 2  # plateau: halve after this many epochs without improvement (and every as many more)
    warmup_steps: int = 50
    min_lr_ratio: float = 0.05
    patience: int = 5  # early stopping after this many epochs without validation improvement; 0 = off

    checkpoint_minutes: float = 10.0  # also checkpoint mid-epoch this often
    checkpoint_steps: int = 0  # also checkpoint every N steps (0 = off)
    keep_checkpoints: int = 3
    sample_every: int = 10  # write sample tunes every N epochs (0 = off)
    sample_count: int = 4
    sample_max_length: int = 600
    sample_temperature: float = TEMPERATURE

    seed: int = 1337
    deterministic: bool = False  # bit-identical results across interruptions and reruns (single thread)
    threads: int | None = None  # torch intra-op threads (None = torch default)
    device: str = "auto"  # auto (a CUDA GPU when torch sees one, else the CPU) | cpu | cuda | cuda:N
    precision: str = "fp32"  # fp32 | bf16 | fp16: autocast of the forward pass (rnnmusic.device)
    max_minutes: float | None = None  # stop (resumably) after this much training time
    max_steps: int | None = None  # stop (resumably) after this global step

    def validate(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise UserError(f"unknown optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
        if self.lr_schedule not in SCHEDULES:
            raise UserError(f"unknown lr schedule {self.lr_schedule!r}; choose one of {', '.join(SCHEDULES)}")
        if self.window < 0 or self.window_stride < 1 or self.augment_keys < 0:
            raise UserError("window must be >= 0, window stride >= 1 and augment-keys >= 0")
        if self.lr_patience < 1:
            raise UserError(f"lr-patience must be at least 1, got {self.lr_patience}")
        if self.augment_keys > 12:
            raise UserError(f"augment-keys is a range in semitones (at most 12), got {self.augment_keys}")
        for name in ("batch_size", "seq_len", "epochs"):
            if getattr(self, name) < 1:
                raise UserError(f"{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if not 0.0 < self.valid_fraction < 1.0:
            raise UserError(f"valid fraction must be between 0 and 1, got {self.valid_fraction}")
        if self.lr <= 0:
            raise UserError(f"learning rate must be positive, got {self.lr}")
        if self.precision not in PRECISIONS:
            raise UserError(f"unknown precision {self.precision!r}; choose one of {', '.join(PRECISIONS)}")


def to_dict(cfg: Any) -> dict[str, Any]:
    return dataclasses.asdict(cfg)


def from_dict(cls: type, d: dict[str, Any]):
    """Build a config from JSON, ignoring unknown keys (forward compatibility) and keeping defaults for missing."""
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in d.items() if k in names})


def split_sources(values: list[str] | str | None) -> list[str]:
    """Corpus sources as given on a command line: names may be comma-separated ("essen,oneills"); paths are
    taken whole."""
    from pathlib import Path

    out: list[str] = []
    for v in [values] if isinstance(values, str) else values or []:
        v = str(v)
        out += [s for s in v.split(",") if s] if "," in v and not Path(v).exists() else [v]
    return out
