"""The polyphonic benchmark of Boulanger-Lewandowski, Bengio and Vincent (ICML 2012): data and metric.

Data: the four datasets (JSB Chorales, Nottingham, MuseData, Piano-midi.de) in their original pickle layout:
a dict of 'train' / 'valid' / 'test', each a list of pieces, each a list of frames, each a sorted list of
MIDI pitches 21..108. The pickles are read with an unpickler that refuses every class, so only plain lists,
dicts and ints can come out of them (no code runs). Pieces become (T, 88) uint8 rolls, column i = pitch 21+i.

Metric, exactly as the paper: the negative log-likelihood in nats of each frame (summed over the 88 pitch
units), averaged over all test frames pooled across pieces (longer pieces weigh more); the first frame of
each piece is scored too, predicted from an empty context; padding is never counted. Frame accuracy is
TP / (TP + FP + FN) over all frames pooled.
"""
from __future__ import annotations

import io
import math
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import UserError

LOW = 21
KEYS = 88
SPLITS = ("train", "valid", "test")
DATASETS = {  # name -> file in the benchmark folder
    "jsb": "JSB_Chorales.pickle",
    "nottingham": "Nottingham.pickle",
    "musedata": "MuseData.pickle",
    "piano": "Piano-midi.de.pickle",
}
# Test NLL of the "Note 1-gram" baseline in Table 1 of the paper (the loader/metric check).
PAPER_NOTE_UNIGRAM = {"jsb": 11.06, "nottingham": 10.25, "musedata": 11.51, "piano": 11.05}


class _PlainUnpickler(pickle.Unpickler):
    """Only lists, dicts, strings and numbers: any class or function reference is refused."""

    def find_class(self, module: str, name: str):
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: only plain data is accepted")


@dataclass
class Polyphonic:
    name: str
    train: list[np.ndarray]
    valid: list[np.ndarray]
    test: list[np.ndarray]

    def split(self, which: str) -> list[np.ndarray]:
        return getattr(self, which)

    def frames(self, which: str) -> int:
        return sum(len(r) for r in self.split(which))


def dataset_path(dataset: str, folder: str | Path) -> tuple[str, Path]:
    """(canonical dataset name, its pickle) from a name like 'jsb' or 'Piano-midi.de' and a folder (or the file)."""
    name = dataset.lower().replace("-", "").replace("_", "")
    name = {"jsbchorales": "jsb", "pianomidi": "piano", "pianomidide": "piano", "muse": "musedata",
            "nott": "nottingham"}.get(name, name)
    if name not in DATASETS:
        raise UserError(f"unknown polyphonic dataset {dataset!r}; choose one of {', '.join(DATASETS)}")
    folder = Path(folder)
    path = folder / DATASETS[name] if folder.is_dir() else folder
    if not path.is_file():
        raise UserError(f"{path}: not found (pass the folder holding {DATASETS[name]})")
    return name, path


def load_polyphonic(dataset: str, folder: str | Path) -> Polyphonic:
    """The dataset's standard splits as lists of (T, 88) uint8 piano rolls."""
    name, path = dataset_path(dataset, folder)
    try:
        raw = _PlainUnpickler(io.BytesIO(path.read_bytes())).load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as e:
        raise UserError(f"{path}: not a benchmark pickle ({e})") from None
    if not isinstance(raw, dict) or not all(s in raw for s in SPLITS):
        raise UserError(f"{path}: expected a dict with 'train', 'valid' and 'test'")
    splits = {}
    for s in SPLITS:
        rolls = []
        for piece in raw[s]:
            roll = np.zeros((len(piece), KEYS), dtype=np.uint8)
            for t, frame in enumerate(piece):
                cols = np.asarray(frame, dtype=np.int64) - LOW
                if len(cols) and (cols.min() < 0 or cols.max() >= KEYS):
                    raise UserError(f"{path}: {s} piece {len(rolls)} has a pitch outside 21..108")
                roll[t, cols] = 1
            rolls.append(roll)
        splits[s] = rolls
    return Polyphonic(name, splits["train"], splits["valid"], splits["test"])


def bernoulli_nll(probs: np.ndarray, rolls: list[np.ndarray]) -> float:
    """Mean over all frames of -log p(frame) under independent per-pitch probabilities `probs`
    ((88,) shared by every frame, or one (T, 88) array per piece)."""
    total, frames = 0.0, 0
    for i, roll in enumerate(rolls):
        p = probs if probs.ndim == 1 else probs[i]
        p = np.clip(p, 1e-12, 1 - 1e-12)
        v = roll.astype(np.float64)
        total -= float((v * np.log(p) + (1 - v) * np.log1p(-p)).sum())
        frames += len(roll)
    return total / frames


def note_unigram(train: list[np.ndarray]) -> np.ndarray:
    """The paper's "Note 1-gram" baseline: each pitch on with its training frequency, add-one smoothed."""
    on = sum(r.sum(0).astype(np.float64) for r in train)
    frames = sum(len(r) for r in train)
    return (on + 1.0) / (frames + 2.0)


def frame_accuracy(predicted: list[np.ndarray], rolls: list[np.ndarray]) -> float:
    """TP / (TP + FP + FN) pooled over all frames (predicted: 0/1 rolls of the same shapes)."""
    tp = fp = fn = 0
    for p, r in zip(predicted, rolls):
        p, r = p.astype(bool), r.astype(bool)
        tp += int((p & r).sum())
        fp += int((p & ~r).sum())
        fn += int((~p & r).sum())
    return tp / (tp + fp + fn) if tp + fp + fn else 1.0


def model_nll(model, rolls: list[np.ndarray], batch_size: int = 16) -> tuple[float, float]:
    """(mean NLL per frame in nats, frame accuracy at p > 0.5) of a frame model (input and output width 88)
    on whole pieces: each piece starts from a zero state and an all-zero start frame, so its first frame is
    scored from an empty context; padding frames are masked out. Sigmoid and NADE heads give exact
    likelihoods, the mse head its outputs read as probabilities (`MseHead.nll`); accuracy uses each head's most likely frame (`_greedy`)."""
    import torch

    from ..batches import PieceBatches
    from ..model import count_targets

    if model.cfg.vocab_size != KEYS:
        raise UserError(f"the model's frames are {model.cfg.vocab_size} wide; the benchmark needs 88 "
                        "(pianoroll without onsets)")
    model.eval()
    framed = [np.concatenate([np.zeros((1, KEYS), np.float32), r.astype(np.float32)]) for r in rolls]
    # one chunk per batch (seq_len = the longest piece): the whole piece in one pass, from a zero state
    data = PieceBatches(framed, batch_size, max(len(f) for f in framed), shuffle=False)
    total, frames = 0.0, 0
    preds: dict[int, np.ndarray] = {}
    with torch.no_grad():
        for (_, x, y, _), group in zip(data.batches(0), data.groups):
            out, _ = model(x)
            total += float(model.nll(out, y, reduction="sum"))
            frames += count_targets(y)
            guess = _greedy(model, out)
            for row, i in enumerate(group):
                preds[i] = guess[row, :len(rolls[i])]
    return total / frames, frame_accuracy([preds[i] for i in range(len(rolls))], rolls)


def _greedy(model, out) -> np.ndarray:
    """Most likely on/off per pitch: each head's sampler with every uniform at 0.5 switches a pitch on exactly
    when its probability is above 0.5 (NADE decides low to high, given the pitches already decided)."""
    import torch

    flat = out.reshape(-1, out.size(-1))
    frames = model.head.sample(flat, torch.full((flat.size(0), KEYS), 0.5), 1.0)
    return frames.reshape(out.shape[0], out.shape[1], KEYS).numpy()


def nats_to_bits(x: float) -> float:
    return x / math.log(2)


def run_benchmark(dataset: str, folder: str | Path, out: str | Path, train_cfg=None, model_cfg=None,
                  command: str = "") -> dict:
    """Train a frame model on the dataset's train split with early stopping on its valid split (or resume
    the run in `out`), then score the best weights on valid and test. Writes out/benchmark.json (with
    `command`, the command line that made it, when given)."""
    import json
    import time

    import torch

    from ..checkpoint import write_atomic
    from ..config import ModelConfig, TrainConfig
    from ..dataset import polyphonic_source
    from ..run import RunDir, load_model
    from ..trainer import resume, train

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
        "train_seconds": round(result.progress.elapsed, 1), "epochs": result.progress.epoch, "threads": torch.get_num_threads(),
        "command": command,
    }
    write_atomic(out / "benchmark.json", (json.dumps(row, indent=2) + "\n").encode())
    return row
