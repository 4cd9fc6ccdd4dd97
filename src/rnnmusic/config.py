"""Plain configuration dataclasses: printable, JSON round-trippable, overridable from flags."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from .errors import UserError

CELLS = ("lstm", "gru", "rnn")
OPTIMIZERS = ("adam", "rmsprop", "sgd")
SCHEDULES = ("constant", "cosine", "plateau")


@dataclass
class ModelConfig:
    """The network: one recurrent core, an input layer and a head chosen by the encoding's kind."""

    kind: str = "tokens"      # what the encoding produces: "tokens" (ids -> embedding, softmax head)
    vocab_size: int = 0       # filled from the fitted encoding
    cell: str = "lstm"        # lstm | gru | rnn
    layers: int = 2
    hidden: int = 256
    embed: int = 64
    dropout: float = 0.1

    def validate(self) -> None:
        if self.cell not in CELLS:
            raise UserError(f"unknown cell {self.cell!r}; choose one of {', '.join(CELLS)}")
        for name in ("layers", "hidden", "embed"):
            if getattr(self, name) < 1:
                raise UserError(f"model {name} must be at least 1, got {getattr(self, name)}")
        if not 0.0 <= self.dropout < 1.0:
            raise UserError(f"dropout must be in [0, 1), got {self.dropout}")


@dataclass
class TrainConfig:
    """Data, optimisation, checkpointing and sampling during training."""

    corpus: list[str] = field(default_factory=lambda: ["oneills"])
    encoding: str = "abc-tokens"
    keep_chords: bool = True
    max_tunes: int | None = None
    valid_fraction: float = 0.1
    split_seed: int = 0

    batch_size: int = 32
    seq_len: int = 128            # truncated-BPTT length: hidden state carries across chunks
    epochs: int = 30
    optimizer: str = "adam"       # adam | rmsprop | sgd
    lr: float = 3e-3
    weight_decay: float = 0.0
    grad_clip: float = 1.0        # max gradient norm; 0 disables clipping
    lr_schedule: str = "cosine"   # constant | cosine (with warmup) | plateau (halve on no improvement)
    warmup_steps: int = 50
    min_lr_ratio: float = 0.05
    patience: int = 5             # early stopping after this many epochs without validation improvement; 0 = off

    checkpoint_minutes: float = 10.0   # also checkpoint mid-epoch this often
    checkpoint_steps: int = 0          # also checkpoint every N steps (0 = off)
    keep_checkpoints: int = 3
    sample_every: int = 10             # write sample tunes every N epochs (0 = off)
    sample_count: int = 4
    sample_max_length: int = 600
    sample_temperature: float = 0.9

    seed: int = 1337
    deterministic: bool = False   # bit-identical results across interruptions and reruns (single thread)
    threads: int | None = None    # torch intra-op threads (None = torch default)
    max_minutes: float | None = None   # stop (resumably) after this much training time
    max_steps: int | None = None       # stop (resumably) after this global step

    def validate(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise UserError(f"unknown optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
        if self.lr_schedule not in SCHEDULES:
            raise UserError(f"unknown lr schedule {self.lr_schedule!r}; choose one of {', '.join(SCHEDULES)}")
        for name in ("batch_size", "seq_len", "epochs"):
            if getattr(self, name) < 1:
                raise UserError(f"{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if not 0.0 < self.valid_fraction < 1.0:
            raise UserError(f"valid fraction must be between 0 and 1, got {self.valid_fraction}")
        if self.lr <= 0:
            raise UserError(f"learning rate must be positive, got {self.lr}")


def to_dict(cfg: Any) -> dict[str, Any]:
    return dataclasses.asdict(cfg)


def from_dict(cls: type, d: dict[str, Any]):
    """Build a config from JSON, ignoring unknown keys (forward compatibility) and keeping defaults for missing."""
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in d.items() if k in names})
