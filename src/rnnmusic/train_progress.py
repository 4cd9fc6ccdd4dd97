"""Where a training run stands (`Progress`, saved in every checkpoint's metadata), what a finished session returns
(`TrainResult`), and the per-epoch metrics table (RUN/metrics.csv, `METRIC_FIELDS`).
"""
from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .checkpoint import write_atomic

METRIC_FIELDS = [
    "epoch", "step", "train_loss", "valid_loss", "train_bpt", "valid_bpt", "lr", "tokens_per_s", "elapsed_s",
]
LN2 = math.log(2.0)  # nats per bit: losses are in nats, bits per token = loss / LN2


@dataclass
class Progress:
    """Where training stands: everything besides tensors that a checkpoint must restore."""

    epoch: int = 0            # epochs completed
    batch: int = 0            # batches completed in the current epoch (the data position)
    step: int = 0             # optimizer steps in total
    best_valid: float = math.inf
    bad_epochs: int = 0       # epochs since the last validation improvement
    lr_scale: float = 1.0     # plateau schedule state
    epoch_loss_sum: float = 0.0
    epoch_tokens: int = 0
    epoch_seconds: float = 0.0
    elapsed: float = 0.0      # training seconds over all sessions
    done: str | None = None   # why training finished ("epochs", "early stopping"); None while it can go on


@dataclass
class TrainResult:
    """What `train` / `resume` return: the run directory, where training stands, why it stopped, the metric rows."""

    run: Path
    progress: Progress
    stopped: str              # "finished: ...", "interrupted: ..."
    metrics: list[dict[str, Any]] = field(default_factory=list)


def progress_from_meta(meta: dict[str, Any]) -> Progress:
    """The `Progress` in a checkpoint's metadata (fields this version does not know are ignored)."""
    known = set(Progress.__dataclass_fields__)
    return Progress(**{k: v for k, v in meta["progress"].items() if k in known})


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """The rows of a metrics.csv ([] when there is none yet)."""
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def write_metrics(path: Path, rows: list[dict[str, Any]], fields: list[str] = METRIC_FIELDS) -> None:
    """Write the metric rows as metrics.csv (atomically), with these columns."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=fields)
    w.writeheader()
    w.writerows(rows)
    write_atomic(path, buf.getvalue().encode())


__all__ = ["LN2", "METRIC_FIELDS", "Progress", "TrainResult", "progress_from_meta", "read_metrics", "write_metrics"]
