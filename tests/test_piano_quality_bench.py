"""bench/piano_quality/measure.py's figures, overlaps and targets on hand-made pieces with known answers (no data
from the shared data folder: the real movements are only read by the script's main)."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from conftest import load_bench
from rnnmusic.piece import Piece, note_array


@pytest.fixture(scope="module")
def measure():
    return load_bench("piano_quality")


def melody(pitches, length=1.0) -> Piece:
    return Piece(note_array([(i * length, length, p, 80) for i, p in enumerate(pitches)]))


LEAPY = melody([60, 62, 64, 78, 76, 74, 72, 71, 72])  # 8 intervals: 2, 2, 14, 2, 2, 2, 1, 1
CHORDS = Piece(note_array([(2.0 * i, 2.0, p, 80) for i in range(4) for p in (48, 55, 64, 67 + i)]))


def test_figures_of_a_melody_with_one_leap(measure):
    f = measure.figures(LEAPY)
    assert f["notes"] == 9 and f["quarters"] == 9.0
    assert f["top_median_interval"] == 2.0
    assert f["top_leaps_over_octave"] == pytest.approx(1 / 8)
    assert f["pitch_range"] == 18 and f["polyphony"] == 1.0 and f["empty_beat_rate"] == 0.0
    assert f["sixteenth_share"] == 0.0 and f["long_share"] == 0.0 and f["collapsed"] == ""
    assert f["hist"]["polyphony"].tolist() == [36] + [0] * 9  # 9 quarters of one pitch, in sixteenth steps
    assert f["hist"]["note_length"][list(measure.metrics.NOTE_LENGTH_NAMES).index("quarter")] == 9
    assert f["hist"]["interval"][14] == 1 and f["hist"]["interval"].sum() == 8


def test_figures_of_chords_a_rest_and_an_empty_piece(measure):
    f = measure.figures(CHORDS)
    assert f["polyphony"] == 4.0 and f["hist"]["polyphony"][3] == 32  # 8 quarters of 4 pitches
    assert f["top_median_interval"] == 1.0 and f["top_leaps_over_octave"] == 0.0  # the top line 67, 68, 69, 70
    rest = measure.figures(Piece(note_array([(0, 1, 60, 80), (3, 1, 62, 80), (4, 1, 64, 80), (5, 1, 65, 80)])))
    assert rest["empty_beat_rate"] == pytest.approx(2 / 6)  # beats 1 and 2 of 0..5 are silent
    empty = measure.figures(Piece(np.zeros((0, 4))))
    assert empty["notes"] == 0 and math.isnan(empty["top_median_interval"]) and math.isnan(empty["polyphony"])
    assert empty["collapsed"].startswith("silence")
    one_note = measure.figures(melody([60] * 12))
    assert one_note["collapsed"].startswith("one repeated note")


def test_summary_overlaps_and_targets(measure):
    real = [measure.figures(p) for p in (LEAPY, CHORDS)]
    same = measure.summarise(real, real)
    assert all(v == pytest.approx(1.0) for v in same["overlap"].values())  # identical sets overlap 1.0
    assert same["pooled"]["top_leaps"] == 1 and same["pooled"]["top_intervals"] == 11  # 8 + 3
    assert same["pooled"]["top_median_interval"] == 2.0
    assert same["top_median_interval"]["median"] == 1.5 and same["collapsed"] == 0
    assert all(ok for _, _, ok in measure.targets(same, same))
    # a set with no notes at all, one collapsed: every target missed, nothing raises
    silent = measure.summarise([measure.figures(Piece(np.zeros((0, 4))))], real)
    assert silent["empty"] == 1 and silent["collapsed"] == 1 and silent["overlap"]["pitch"] == 0.0
    assert not any(ok for _, _, ok in measure.targets(silent, same))
    # a one-octave-higher copy: same shapes, disjoint register
    high = [measure.figures(p.transpose(12)) for p in (LEAPY, CHORDS)]
    moved = measure.summarise(high, real)
    assert moved["overlap"]["note_length"] == 1.0 and moved["overlap"]["polyphony"] == 1.0
    assert moved["overlap"]["pitch"] < 0.75
    judged = dict((t.split(" distribution")[0], ok) for t, _, ok in measure.targets(moved, same))
    assert judged["pitch (register)"] is False and judged["note-length"] is True


def test_markdown_and_json_of_a_tiny_run(measure, tmp_path):
    reports = {measure.HELD_OUT: [measure.figures(p) for p in (LEAPY, CHORDS)],
               "gen": [measure.figures(melody([60, 74, 60, 74]))]}
    rows = {row: measure.summarise(r, reports[measure.HELD_OUT]) for row, r in reports.items()}
    md = measure.markdown(rows, 1.0, "python bench/piano_quality/measure.py", ["a", "b"])
    assert "| top line: leaps over an octave at most 1.5x theirs" in md and "100.0% NO" in md
    json.dumps(measure._finite(rows), allow_nan=False)  # valid JSON: NaN written as null
    measure.write_pieces(tmp_path / "x.csv", {"gen": [melody([60, 74, 60, 74])]}, {"gen": reports["gen"]})
    assert (tmp_path / "x.csv").read_text().count("\n") == 2
