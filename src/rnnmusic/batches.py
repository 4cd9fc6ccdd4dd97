"""Turning encoded pieces into training batches for truncated backprop through time.

Each epoch the pieces are shuffled (deterministically from the seed and the epoch), concatenated into one
stream (each piece framed by <s> ... </s>), and cut into `rows` parallel streams. Batch b holds columns
[b*seq_len, (b+1)*seq_len) of every row; targets are the inputs shifted by one step. The hidden state is
carried from batch b to b+1 within an epoch, so the network sees context far beyond `seq_len` while
gradients flow through `seq_len` steps. A batch is addressed by (epoch, index): that is the data position
a checkpoint stores, and resuming rebuilds exactly the same batches.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch


class TokenStream:
    def __init__(self, pieces: Sequence[np.ndarray], batch_size: int, seq_len: int, *, shuffle: bool = True, seed: int = 0):
        if not pieces:
            raise ValueError("no pieces to batch")
        self.pieces = list(pieces)
        self.seq_len = seq_len
        self.shuffle = shuffle
        self.seed = seed
        total = sum(len(p) for p in self.pieces)
        self.tokens = total
        self.rows = max(1, min(batch_size, (total - 1) // max(1, seq_len)))
        self.cols = (total - 1) // self.rows
        self.num_batches = max(1, math.ceil(self.cols / seq_len))

    def _stream(self, epoch: int) -> tuple[torch.Tensor, torch.Tensor]:
        if self.shuffle:
            order = np.random.default_rng([self.seed, epoch]).permutation(len(self.pieces))
        else:
            order = np.arange(len(self.pieces))
        data = torch.from_numpy(np.concatenate([self.pieces[i] for i in order]))
        n = self.rows * self.cols
        x = data[:n].view(self.rows, self.cols)
        y = data[1 : n + 1].view(self.rows, self.cols)
        return x, y

    def batches(self, epoch: int, start: int = 0):
        """Yield (index, inputs, targets) for batches start..num_batches-1 of `epoch`."""
        x, y = self._stream(epoch)
        for b in range(start, self.num_batches):
            sl = slice(b * self.seq_len, min((b + 1) * self.seq_len, self.cols))
            yield b, x[:, sl], y[:, sl]

    @property
    def predictions_per_epoch(self) -> int:
        return self.rows * self.cols
