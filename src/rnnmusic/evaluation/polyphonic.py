"""The metric of the polyphonic benchmark of Boulanger-Lewandowski, Bengio and Vincent (ICML 2012).

Exactly as the paper: the negative log-likelihood in nats of each frame (summed over the 88 pitch units),
averaged over all test frames pooled across pieces (longer pieces weigh more); the first frame of each piece
is scored too, predicted from an empty context; padding is never counted. Frame accuracy is TP / (TP + FP + FN)
over all frames pooled. The data (the four datasets as piano rolls) is `rnnmusic.polyphonic_data`; the run that
trains a model and scores it, `rnnmusic.benchmark`.
"""
from __future__ import annotations

import numpy as np

from ..errors import UserError
from ..polyphonic_data import KEYS

# Test NLL of the "Note 1-gram" baseline in Table 1 of the paper (the loader/metric check).
PAPER_NOTE_UNIGRAM = {"jsb": 11.06, "nottingham": 10.25, "musedata": 11.51, "piano": 11.05}


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
    likelihoods, the mse head its outputs read as probabilities (`MseHead.nll`); accuracy uses each head's most
    likely frame (`_greedy`)."""
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


__all__ = ["PAPER_NOTE_UNIGRAM", "bernoulli_nll", "frame_accuracy", "model_nll", "note_unigram"]
