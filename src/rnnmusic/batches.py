"""Turning encoded pieces into training batches for truncated backprop through time.

Pieces are grouped by length into batches of `batch_size` (one piece per row, padded at the end), so
little compute goes to padding. Each batch is cut along time into chunks of `seq_len`: the recurrent
state is carried from one chunk to the next within a batch (truncated BPTT: gradients flow `seq_len`
steps, context reaches back to the start of the piece) and starts from zero with every piece, exactly as
in generation. Targets are the inputs shifted by one step; padded targets are `IGNORE` and never scored.

The grouping is fixed; each epoch shuffles the order of the batches (deterministically from the seed and
the epoch). A training step is addressed by (epoch, index): that is the data position a checkpoint stores,
and resuming rebuilds exactly the same chunks.

Pieces are token ids (1-D int arrays), token ids with conditioning (2-D int arrays, T x C: the `lead`
encoding; the model scores column 0) or frames (2-D float arrays, T x D); a padded target frame starts
with `IGNORE`. `WindowBatches` is many-to-one training (Classical-Piano-Composer): every window of `window` steps
predicts the step after it, the state starts from zero in every window, and only that last prediction is
scored. Same model, same loss, the data presented the other way.
"""
from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np
import torch

IGNORE = -100  # target value that the loss skips (torch's cross_entropy ignore_index default)


class PieceBatches:
    def __init__(self, pieces: Sequence[np.ndarray], batch_size: int, seq_len: int, *, shuffle: bool = True,
                 seed: int = 0):
        pieces = [p for p in pieces if len(p) >= 2]
        if not pieces:
            raise ValueError("no pieces to batch (each needs at least two tokens)")
        self.pieces = pieces
        self.seq_len = seq_len
        self.shuffle = shuffle
        self.seed = seed
        by_length = sorted(range(len(pieces)), key=lambda i: (len(pieces[i]), i))
        self.groups = [by_length[i : i + batch_size] for i in range(0, len(by_length), batch_size)]
        self.chunks = [math.ceil((max(len(pieces[i]) for i in g) - 1) / seq_len) for g in self.groups]
        self.num_batches = sum(self.chunks)          # training steps per epoch
        self.tokens = sum(len(p) for p in pieces)
        self.predictions_per_epoch = sum(len(p) - 1 for p in pieces)

    def _order(self, epoch: int) -> np.ndarray:
        if not self.shuffle:
            return np.arange(len(self.groups))
        return np.random.default_rng([self.seed, epoch]).permutation(len(self.groups))

    def _padded(self, group: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        width = max(len(self.pieces[i]) for i in group) - 1
        x, y = _empty(self.pieces[group[0]], len(group), width)
        for row, i in enumerate(group):
            p = self.pieces[i]
            x[row, : len(p) - 1] = p[:-1]
            y[row, : len(p) - 1] = p[1:]
        return torch.from_numpy(x), torch.from_numpy(y)

    def batches(self, epoch: int, start: int = 0) -> Iterator[tuple[int, torch.Tensor, torch.Tensor, bool]]:
        """Yield (step index, inputs, targets, starts_new_pieces) for steps start.. of `epoch`."""
        step = 0
        for g in self._order(epoch):
            n = self.chunks[g]
            if step + n <= start:
                step += n
                continue
            x, y = self._padded(self.groups[g])
            for c in range(n):
                if step >= start:
                    sl = slice(c * self.seq_len, (c + 1) * self.seq_len)
                    yield step, x[:, sl], y[:, sl], c == 0
                step += 1


def _empty(example: np.ndarray, rows: int, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Zero inputs and all-IGNORE targets shaped for pieces like `example` (ids or frames)."""
    shape = (rows, steps) + example.shape[1:]
    dtype = np.int64 if np.issubdtype(example.dtype, np.integer) else np.float32
    return np.zeros(shape, dtype=dtype), np.full(shape, IGNORE, dtype=dtype)


class WindowBatches:
    """Many-to-one: `window` steps in, the next step out; windows start every `stride` steps of every piece."""

    def __init__(self, pieces: Sequence[np.ndarray], batch_size: int, window: int, *, stride: int = 1,
                 shuffle: bool = True, seed: int = 0):
        self.pieces = [p for p in pieces if len(p) > window]
        if not self.pieces:
            raise ValueError(f"no piece is longer than the window of {window} steps")
        self.window, self.batch_size, self.shuffle, self.seed = window, batch_size, shuffle, seed
        self.items = np.array([(i, end) for i, p in enumerate(self.pieces)
                               for end in range(window, len(p), stride)], dtype=np.int64)
        self.num_batches = math.ceil(len(self.items) / batch_size)
        self.tokens = sum(len(p) for p in self.pieces)
        self.predictions_per_epoch = len(self.items)
        self.skipped_pieces = len(pieces) - len(self.pieces)

    def batches(self, epoch: int, start: int = 0) -> Iterator[tuple[int, torch.Tensor, torch.Tensor, bool]]:
        order = (np.random.default_rng([self.seed, epoch]).permutation(len(self.items)) if self.shuffle
                 else np.arange(len(self.items)))
        for step in range(start, self.num_batches):
            chosen = self.items[order[step * self.batch_size : (step + 1) * self.batch_size]]
            x, y = _empty(self.pieces[0], len(chosen), self.window)
            for row, (i, end) in enumerate(chosen):
                x[row] = self.pieces[i][end - self.window : end]
                y[row, -1] = self.pieces[i][end]
            yield step, torch.from_numpy(x), torch.from_numpy(y), True
