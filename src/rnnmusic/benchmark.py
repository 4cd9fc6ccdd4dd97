"""The polyphonic benchmark run (Boulanger-Lewandowski, Bengio and Vincent, ICML 2012): train a frame model on a
dataset's train split with early stopping on its valid split, then score it on valid and test (`rnnmusic benchmark
polyphonic`). The data is `rnnmusic.polyphonic_data`, the metric `rnnmusic.evaluation.polyphonic`.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from .checkpoint import write_atomic
from .config import ModelConfig, TrainConfig
from .evaluation.polyphonic import PAPER_NOTE_UNIGRAM, bernoulli_nll, model_nll, note_unigram
from .polyphonic_data import dataset_path, load_polyphonic, polyphonic_source
from .run import RunDir, load_model
from .trainer import resume, train


def run_benchmark(dataset: str, folder: str | Path, out: str | Path, train_cfg: TrainConfig | None = None,
                  model_cfg: ModelConfig | None = None, command: str = "") -> dict:
    """Train a frame model on the dataset's train split with early stopping on its valid split (or resume
    the run in `out`), then score the best weights on valid and test. Writes out/benchmark.json (with
    `command`, the command line that made it, when given)."""
    name, path = dataset_path(dataset, folder)
    out = Path(out)
    t0 = time.monotonic()
    if RunDir(out).exists():
        result = resume(out)
    else:
        cfg = train_cfg or TrainConfig()
        cfg.corpus = [polyphonic_source(name, str(path.parent.resolve()))]
        cfg.encoding, cfg.encoding_options = "pianoroll", {"grid": 1, "onsets": False}
        result = train(out, cfg, model_cfg or ModelConfig(head="nade"))
    model, _, meta = load_model(out)
    data = load_polyphonic(name, path.parent)
    valid_nll, valid_acc = model_nll(model, data.valid)
    test_nll, test_acc = model_nll(model, data.test)
    row = {
        "dataset": name, "test_nll": round(test_nll, 4), "test_frame_accuracy": round(test_acc, 4),
        "valid_nll": round(valid_nll, 4), "valid_frame_accuracy": round(valid_acc, 4),
        "note_unigram_test_nll": round(bernoulli_nll(note_unigram(data.train), data.test), 4),
        "paper_note_unigram": PAPER_NOTE_UNIGRAM[name],
        "model": meta.get("model"), "parameters": meta.get("parameters"),
        "best_epoch": meta["progress"]["epoch"], "stopped": result.stopped,
        "session_seconds": round(time.monotonic() - t0, 1), "run": str(out),
        "train_seconds": round(result.progress.elapsed, 1), "epochs": result.progress.epoch,
        "threads": torch.get_num_threads(),
        "command": command,
    }
    write_atomic(out / "benchmark.json", (json.dumps(row, indent=2) + "\n").encode())
    return row


__all__ = ["run_benchmark"]
