"""Turning encoded pieces into training batches for truncated backprop through time.

Pieces are grouped by length into batches of `batch_size` (one piece per row, padded at the end), so
little compute goes to padding. Each batch is cut along time into chunks of `seq_len`: the recurrent
state is carried from one chunk to the next within a batch (truncated BPTT: gradients flow `seq_len`
steps, context reaches back to the start of the piece) and starts from zero with every piece, exactly as
in generation. Targets are the inputs shifted by one step; padded targets are `IGNORE` and never scored.

The grouping is fixed; each epoch shuffles the order of the batches (deterministically from the seed and
the epoch). A training step is addressed by (epoch, index): that is the data position a checkpoint stores,
and resuming rebuilds exactly the same chunks.
"""
from __future__ import annotations

import math
from typing import Iterator, Sequence

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
        x = np.zeros((len(group), width), dtype=np.int64)
        y = np.full((len(group), width), IGNORE, dtype=np.int64)
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
