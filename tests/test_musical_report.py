"""The per-piece musical report (`evaluation.musical_report`): figures with known answers, corpus bands, flags,
and the generator's table naming a piece that is unlike its training corpus."""
from __future__ import annotations

import numpy as np

from rnnmusic.encodings import get_encoding
from rnnmusic.evaluation.musical_report import corpus_ranges, outside, piece_figures
from rnnmusic.evaluation.piece_check import check_piece, piece_table
from rnnmusic.piece import Piece


def scale_tune(shift: int = 0) -> Piece:
    """C major up and down in quarter notes over a held C3: steps of 1-2 semitones, no leaps."""
    up = [60, 62, 64, 65, 67, 69, 71, 72, 71, 69, 67, 65, 64, 62, 60, 62]
    notes = [(i, 1, p + shift, 80) for i, p in enumerate(up)] + [(0, 16, 48 + shift, 80)]
    return Piece(np.array(notes, dtype=float))


def leaping_tune() -> Piece:
    """C4 D6 D4 E6 ...: a leap of two octaves every note (median 26 semitones)."""
    return Piece(np.array([(i, 1, (60, 86, 62, 88)[i % 4], 80) for i in range(16)], dtype=float))


def test_figures_of_a_scale_and_of_leaps():
    f = piece_figures(scale_tune())
    assert f["top_median_interval"] in (1.0, 2.0) and f["top_leaps_over_octave"] == 0.0
    assert f["scale_consistency"] == 1.0 and f["empty_beat_rate"] == 0.0
    assert f["pitch_range"] == 24.0 and f["polyphony"] == 2.0
    g = piece_figures(leaping_tune())
    assert g["top_median_interval"] == 26.0 and g["top_leaps_over_octave"] == 1.0
    assert piece_figures(Piece(np.zeros((0, 4)))) == {}


def test_bands_and_flags():
    bands = corpus_ranges([scale_tune(s) for s in range(-3, 4)])
    low, median, high = bands["top_median_interval"]
    assert low <= median <= high <= 2.0
    assert outside(piece_figures(scale_tune(5)), bands) == []
    flags = outside(piece_figures(leaping_tune()), bands)
    assert any(f.startswith("top_median_interval 26 >") for f in flags)
    assert any(f.startswith("top_leaps_over_octave 1 >") for f in flags)
    assert outside(piece_figures(leaping_tune()), None) == []


def test_fitted_encoding_keeps_the_bands_and_the_table_names_the_piece():
    enc = get_encoding("events").fit([scale_tune(s) for s in range(-3, 4)])
    bands = enc.fit_stats["piece_figures"]
    assert set(bands) >= {"top_median_interval", "pitch_class_entropy", "empty_beat_rate"}
    odd = check_piece(leaping_tune(), 0.0, bands)
    fine = check_piece(scale_tune(1), 0.0, bands)
    assert odd.valid and odd.outside and not fine.outside
    table = piece_table(["odd", "fine"], [odd, fine])
    assert "unlike the corpus: " in table.splitlines()[1] and table.splitlines()[2].endswith("ok")
    assert odd.to_dict()["figures"]["top_median_interval"] == 26.0
