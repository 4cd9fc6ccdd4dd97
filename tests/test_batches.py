"""Batching: many-to-many chunks and the founding many-to-one windows, for token ids and for frames."""
import numpy as np
import pytest

from rnnmusic.batches import IGNORE, PieceBatches, WindowBatches
from rnnmusic.model import count_targets


def test_windows_cover_every_next_step_once_and_score_only_the_last():
    pieces = [np.arange(10), np.arange(100, 105), np.arange(200, 203)]  # the last is too short for a window of 3
    wb = WindowBatches(pieces, batch_size=4, window=3, seed=1)
    assert wb.skipped_pieces == 1 and wb.predictions_per_epoch == 7 + 2
    seen = []
    for _step, x, y, fresh in wb.batches(0):
        assert fresh and x.shape[1] == 3
        assert (y[:, :-1] == IGNORE).all() and count_targets(y) == len(x)
        for row in range(len(x)):
            assert y[row, -1] == x[row, -1] + 1  # consecutive ids: the target is the step after the window
            seen.append(int(y[row, -1]))
    assert sorted(seen) == [3, 4, 5, 6, 7, 8, 9, 103, 104]
    again = [(s, x.clone()) for s, x, _, _ in wb.batches(0, start=1)]
    first = [(s, x) for s, x, _, _ in wb.batches(0)][1:]
    assert all(a[0] == b[0] and (a[1] == b[1]).all() for a, b in zip(again, first))  # resume mid-epoch


def test_windows_of_frames():
    rng = np.random.default_rng(0)
    pieces = [(rng.random((12, 5)) < 0.3).astype(np.float32) for _ in range(3)]
    wb = WindowBatches(pieces, batch_size=8, window=4, stride=2, shuffle=False)
    step, x, y, _ = next(wb.batches(0))
    assert x.shape == (8, 4, 5) and y.shape == (8, 4, 5)
    assert np.array_equal(y[0, -1].numpy(), pieces[0][4]) and (y[:, :-1, 0] == IGNORE).all()
    assert count_targets(y) == 8


def test_frame_chunks_pad_targets_with_ignore():
    pieces = [np.ones((9, 4), np.float32), np.ones((5, 4), np.float32)]
    pb = PieceBatches(pieces, batch_size=2, seq_len=4, shuffle=False)
    chunks = list(pb.batches(0))
    assert [c[3] for c in chunks] == [True, False]
    total = sum(count_targets(y) for _, _, y, _ in chunks)
    assert total == 8 + 4 == pb.predictions_per_epoch


def test_window_longer_than_every_piece_is_an_error():
    with pytest.raises(ValueError, match="longer than the window"):
        WindowBatches([np.arange(5)], 2, window=10)
