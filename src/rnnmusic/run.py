"""The run directory: a saved model that describes itself, and how to load it again.

    RUN/
      config.json            model and training configuration (JSON)
      encoding.json          encoding name, options and vocabulary (JSON)
      corpus-report.json     what the corpus loader read, kept and dropped
      checkpoints/
        step-00001234.safetensors   the latest few training checkpoints (weights, optimizer, RNG, data position)
      best.safetensors       weights with the lowest validation loss (and the state they came from)
      metrics.csv            one row per epoch: losses, bits per token, tokens/s, elapsed time
      loss.png               the loss curves
      samples/epoch-010.abc  tunes generated during training (+ .json validity report)
"""
from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .checkpoint import load_checkpoint, split_prefix, write_atomic
from .config import ModelConfig, TrainConfig, from_dict, to_dict
from .encodings import Encoding, encoding_from_dict
from .errors import CheckpointError, UserError
from .model import MusicRNN

STEP_RE = re.compile(r"^step-(\d+)\.safetensors$")


@dataclass
class RunDir:
    root: Path

    def __post_init__(self):
        self.root = Path(self.root)

    config_path = property(lambda self: self.root / "config.json")
    encoding_path = property(lambda self: self.root / "encoding.json")
    report_path = property(lambda self: self.root / "corpus-report.json")
    checkpoint_dir = property(lambda self: self.root / "checkpoints")
    best_path = property(lambda self: self.root / "best.safetensors")
    metrics_path = property(lambda self: self.root / "metrics.csv")
    plot_path = property(lambda self: self.root / "loss.png")
    samples_dir = property(lambda self: self.root / "samples")

    def step_path(self, step: int) -> Path:
        return self.checkpoint_dir / f"step-{step:08d}.safetensors"

    def step_checkpoints(self) -> list[Path]:
        """Training checkpoints, newest first."""
        if not self.checkpoint_dir.is_dir():
            return []
        found = [(int(m.group(1)), p) for p in self.checkpoint_dir.iterdir() if (m := STEP_RE.match(p.name))]
        return [p for _, p in sorted(found, reverse=True)]

    def exists(self) -> bool:
        return self.config_path.is_file() and self.encoding_path.is_file()

    # -- JSON parts ----------------------------------------------------------------------------------
    def write_json(self, path: Path, obj: Any) -> None:
        write_atomic(path, (json.dumps(obj, indent=2, sort_keys=False) + "\n").encode())

    def read_json(self, path: Path) -> Any:
        try:
            return json.loads(path.read_text())
        except FileNotFoundError:
            raise UserError(f"{path}: missing: {self.root} is not a complete rnnmusic run directory") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise CheckpointError(f"{path}: corrupted JSON ({e})") from None

    def save_config(self, model_cfg: ModelConfig, train_cfg: TrainConfig) -> None:
        self.write_json(self.config_path, {"model": to_dict(model_cfg), "train": to_dict(train_cfg)})

    def load_config(self) -> tuple[ModelConfig, TrainConfig]:
        d = self.read_json(self.config_path)
        try:
            return from_dict(ModelConfig, d["model"]), from_dict(TrainConfig, d["train"])
        except (KeyError, TypeError) as e:
            raise CheckpointError(f"{self.config_path}: not an rnnmusic config ({e})") from None

    def save_encoding(self, enc: Encoding) -> None:
        self.write_json(self.encoding_path, enc.to_dict())

    def load_encoding(self) -> Encoding:
        d = self.read_json(self.encoding_path)
        if not isinstance(d, dict) or "name" not in d or ("vocab" not in d and d.get("kind") != "frames"):
            raise CheckpointError(f"{self.encoding_path}: not an rnnmusic encoding file")
        return encoding_from_dict(d)

    def remove_temp_files(self) -> int:
        """Delete the temporary files of writes cut short by a kill (`write_atomic`'s .NAME.*.tmp); the files
        they were to replace are intact. Returns how many were removed."""
        removed = 0
        for folder in (self.root, self.checkpoint_dir):
            for tmp in folder.glob(".*.tmp") if folder.is_dir() else ():
                try:
                    tmp.unlink()
                    removed += 1
                except OSError:
                    pass
        return removed

    # -- checkpoints ---------------------------------------------------------------------------------
    def latest_checkpoint(self) -> tuple[Path, dict[str, torch.Tensor], dict[str, Any]] | None:
        """The newest training checkpoint that verifies; corrupted ones are skipped with a warning."""
        for path in self.step_checkpoints():
            try:
                tensors, meta = load_checkpoint(path)
            except CheckpointError as e:
                warnings.warn(f"{e}; falling back to the previous checkpoint", stacklevel=2)
                continue
            return path, tensors, meta
        return None


def open_run(path: str | Path) -> RunDir:
    """The run directory at `path`, or the shipped model named `path` (`rnnmusic.models`)."""
    from .models import resolve_model

    run = RunDir(resolve_model(path))
    if not run.root.exists():
        raise UserError(f"{run.root}: no such run directory")
    if not run.exists():
        from .models import is_voice

        if is_voice(run.root):
            raise UserError(f"{path} is a voice: it plays music, it does not write it (render or generate with "
                            f"--voice {path})")
        raise UserError(f"{run.root}: not an rnnmusic run directory (config.json or encoding.json missing)")
    return run


class LoadedModel(tuple):
    """What `load_model` returns: (network, encoding, meta), which unpacks as those three, plus where it came from:
    `source` (the name or path asked for), `run` (its directory) and `normalize_key` (trained on pieces moved to
    C major / A minor)."""

    def __new__(cls, network: MusicRNN, encoding: Encoding, meta: dict[str, Any], *, source: str | Path,
                run: Path, normalize_key: bool = False):
        self = super().__new__(cls, (network, encoding, meta))
        self.source, self.run, self.normalize_key = source, run, normalize_key
        return self

    @property
    def network(self) -> MusicRNN:
        return self[0]

    @property
    def encoding(self) -> Encoding:
        return self[1]

    @property
    def meta(self) -> dict[str, Any]:
        return self[2]


def load_model(path: str | Path, which: str = "best") -> LoadedModel:
    """Load a trained or shipped model for generation: weights from best.safetensors (or the latest checkpoint).

    `path` is a run directory or a shipped model's name (`rnnmusic models`). `which` is "best" (falls back to
    latest when there is no best yet) or "latest". Returns the network in eval mode, its fitted encoding and the
    checkpoint metadata, as a `LoadedModel`.
    """
    run = open_run(path)
    model_cfg, train_cfg = run.load_config()
    enc = run.load_encoding()
    if which == "best" and run.best_path.exists():
        tensors, meta = load_checkpoint(run.best_path)
    else:
        found = run.latest_checkpoint()
        if found is None:
            raise CheckpointError(f"{run.root}: no usable checkpoint yet (train it first)")
        _, tensors, meta = found
    model = MusicRNN(model_cfg)
    weights = split_prefix(tensors, "model")
    try:
        model.load_state_dict(weights, strict=True)
    except RuntimeError as e:
        raise CheckpointError(f"{run.root}: weights do not match config.json ({str(e).splitlines()[0]})") from None
    model.eval()
    return LoadedModel(model, enc, meta, source=path, run=run.root, normalize_key=bool(train_cfg.normalize_key))
