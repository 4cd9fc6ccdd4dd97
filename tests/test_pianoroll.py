"""The piano-roll encoding on real chorales: exact where on the grid, within one grid step otherwise."""
import json

import music21
import numpy as np
import pytest

from rnnmusic.encodings import encoding_from_dict, get_encoding
from rnnmusic.encodings.pianoroll import KEYS, PianoRoll, quantized
from rnnmusic.errors import UserError
from rnnmusic.piece import DUR, PITCH, START, Piece, piece_from_music21


@pytest.fixture(scope="module")
def chorales():
    paths = [p for p in music21.corpus.getComposer("bach") if "bwv" in str(p)][:6]
    return [piece_from_music21(music21.converter.parse(p), source=str(p)) for p in paths]


def _triples(piece):
    return sorted(map(tuple, piece.notes[:, :3].round(6).tolist()))


@pytest.mark.parametrize("grid", [4, 12])
def test_chorales_round_trip_exactly_after_quantization(chorales, grid):
    enc = PianoRoll(grid=grid).fit(chorales)
    for piece in chorales:
        frames = enc.encode(piece)
        assert frames.shape[1] == 2 * KEYS and not frames[0].any()  # the start frame
        back = enc.decode(frames[1:])
        q = quantized(piece, grid)
        # notes that overlap in the same key merge in any roll; chorales have none after quantization here
        assert _triples(back) == _triples(q)
        assert np.abs(back.notes[:, START] - np.sort(piece.notes[:, START])[: len(back)]).max() <= 1 / grid


def test_arbitrary_timing_is_within_one_grid_step():
    rng = np.random.default_rng(0)
    starts = np.sort(rng.uniform(0, 40, 60))
    notes = [(s, rng.uniform(0.05, 3), 40 + 2 * i, 90) for i, s in enumerate(starts[:30])]  # distinct keys
    piece = Piece(notes)
    enc = PianoRoll(grid=4)
    back = enc.decode(enc.frames(piece))
    assert len(back) == len(piece)
    a, b = piece.notes[np.argsort(piece.notes[:, PITCH])], back.notes[np.argsort(back.notes[:, PITCH])]
    assert (a[:, PITCH] == b[:, PITCH]).all()
    assert np.abs(a[:, START] - b[:, START]).max() <= 0.125 + 1e-9          # half a step
    assert np.abs(a[:, START] + a[:, DUR] - b[:, START] - b[:, DUR]).max() <= 0.25 + 1e-9


def test_onset_channel_tells_repeated_from_held_notes():
    repeated = Piece([(0, 1, 60, 80), (1, 1, 60, 80)])
    held = Piece([(0, 2, 60, 80)])
    with_onsets, without = PianoRoll(grid=2), PianoRoll(grid=2, onsets=False)
    assert not np.array_equal(with_onsets.frames(repeated), with_onsets.frames(held))
    assert len(with_onsets.decode(with_onsets.frames(repeated))) == 2
    assert np.array_equal(without.frames(repeated), without.frames(held))  # the benchmark rolls' ambiguity
    assert len(without.decode(without.frames(repeated))) == 1


def test_out_of_range_notes_are_dropped_and_counted():
    piece = Piece([(0, 1, 10, 80), (0, 1, 60, 80), (1, 1, 120, 80)])
    enc = PianoRoll().fit([piece])
    assert enc.fit_stats["notes_outside_piano"] == 2
    assert _triples(enc.decode(enc.frames(piece))) == [(0.0, 1.0, 60.0)]


def test_decode_tolerates_any_frames_and_json_round_trip(chorales):
    enc = get_encoding("pianoroll", grid="eighth").fit(chorales[:2])
    assert enc.grid == 2
    noise = np.random.default_rng(1).random((50, enc.width))
    piece = enc.decode(noise)
    assert len(piece) > 0 and piece.notes[:, DUR].min() > 0
    again = encoding_from_dict(json.loads(json.dumps(enc.to_dict())))
    assert np.array_equal(again.encode(chorales[0]), enc.encode(chorales[0]))
    assert again.piece_defaults == enc.piece_defaults and again.piece_defaults["tempo"] > 0
    with pytest.raises(UserError, match="no option"):
        get_encoding("pianoroll", colour="red")


def test_decode_of_empty_odd_shaped_and_nan_frames():
    """No frames, frames of another width, a single frame and NaN all decode (they used to raise)."""
    enc = PianoRoll(grid=4)
    assert len(enc.decode(np.zeros((0, enc.width)))) == 0
    assert len(enc.decode(np.zeros((0,)))) == 0 and len(enc.decode([])) == 0
    assert len(enc.decode(np.full((3, enc.width), np.nan))) == 0
    narrow = np.zeros((2, 40))
    narrow[:, 39] = 1  # key 39 = pitch 60, held for two frames
    assert _triples(enc.decode(narrow)) == [(0.0, 0.5, 60.0)]
    wide = np.zeros((1, enc.width + 7))
    wide[0, 0] = wide[0, -1] = 1  # the extra columns are ignored
    assert _triples(enc.decode(wide)) == [(0.0, 0.25, 21.0)]
    assert _triples(enc.decode(np.eye(1, enc.width)[0])) == [(0.0, 0.25, 21.0)]  # one frame, 1-D
