"""The four-part chorale report (`evaluation.voices`) on hand-made pieces with known answers."""
from __future__ import annotations

import time

import numpy as np
import pytest

from rnnmusic.evaluation.voices import (
    REFERENCE,
    beat_voices,
    chord_root,
    final_cadence,
    flags_for,
    parallels,
    top_line,
    voice_report,
)
from rnnmusic.keys import parse_key
from rnnmusic.piece import Piece, note_array

# chords high to low (S, A, T, B); no parallels, every voice in its range
I_C, VI_C, IV_C, II_C, V_C = (72, 67, 64, 48), (72, 69, 64, 45), (72, 69, 65, 41), (74, 69, 65, 50), (71, 67, 62, 43)
II_OPEN, V_OPEN = (74, 65, 57, 50), (71, 67, 50, 43)  # tenor and bass D-A then G-D: a parallel fifth
PLAGAL_IV = (72, 69, 65, 53)


def chorale(chords, length=2.0, ts=(4, 4)) -> Piece:
    """One chord every `length` quarters, all four voices struck together."""
    return Piece(note_array([(i * length, length, p, 80) for i, c in enumerate(chords) for p in c]),
                 time_signature=ts)


def melody(pitches, length=1.0) -> Piece:
    return Piece(note_array([(i * length, length, p, 80) for i, p in enumerate(pitches)]))


def test_clean_progression_in_c():
    rep = voice_report(chorale([I_C, VI_C, IV_C, II_C, V_C, I_C]))
    assert rep["key"] == "C major"
    assert rep["beats"] == 12 and rep["mean_sounding"] == 4.0
    assert rep["beats_4"] == rep["beats_4plus"] == 1.0 and rep["silent_beats"] == 0.0
    assert all(rep[f"range_{v}"] == 1.0 for v in "satb") and rep["range_min"] == 1.0
    assert rep["parallel_fifths"] == rep["parallel_octaves"] == 0 and rep["parallels_per_100"] == 0.0
    assert rep["transitions"] == 11
    assert rep["top_median_interval"] == 1.0  # soprano 72 72 72 74 71 72: steps 0 0 2 3 1
    assert rep["top_leaps_over_octave"] == 0.0 and rep["sixteenth_share"] == 0.0
    assert rep["final_roots"] == "V-I" and rep["cadence"] == 1.0 and rep["ends_on_tonic"] == 1.0
    assert rep["collapsed"] == 0.0
    assert rep["flags"] == []


def test_planted_parallel_fifth_is_counted_and_flagged():
    rep = voice_report(chorale([I_C, VI_C, IV_C, II_OPEN, V_OPEN, I_C]))
    assert rep["parallel_fifths"] == 1 and rep["parallel_octaves"] == 0
    assert rep["parallels_per_100"] == pytest.approx(100 / 11)
    assert any(f.startswith("parallels_per_100") for f in rep["flags"])
    assert rep["cadence"] == 1.0  # still V-I


def test_parallels_need_both_voices_moving_the_same_way():
    idx = np.arange(2)
    up = np.array([[74, 67, 62, 50], [76, 69, 64, 52]])  # all four up a step: S-A a fifth; S-T, S-B, T-B octaves
    assert parallels(idx, up) == (1, 3, 1)
    held = np.array([[74, 67, 62, 50], [74, 67, 62, 50]])
    assert parallels(idx, held) == (0, 0, 1)
    contrary = np.array([[67, 64, 60, 48], [72, 64, 60, 41]])  # S-B fifth to fifth in contrary motion
    assert parallels(idx, contrary) == (0, 0, 1)
    apart = np.array([[67, 64, 60, 48], [69, 65, 62, 50]])
    assert parallels(np.array([0, 2]), apart) == (0, 0, 0)    # beats not consecutive: no transition


def test_melody_with_leaps_over_an_octave():
    rep = voice_report(melody([60, 72, 60, 74, 62, 64]))  # steps 12 12 14 12 2
    assert rep["top_median_interval"] == 12.0
    assert rep["top_leaps_over_octave"] == pytest.approx(1 / 5)
    assert rep["mean_sounding"] == 1.0 and rep["beats_4plus"] == 0.0 and rep["transitions"] == 0
    names = {f.split()[0] for f in rep["flags"]}
    assert {"top_leaps_over_octave", "top_median_interval", "beats_4plus"} <= names


def test_top_line_holds_a_note_once_and_counts_a_restrike():
    held = Piece(note_array([(0, 4, 72, 80), (0, 1, 60, 80), (1, 1, 62, 80), (2, 2, 64, 80)]))
    assert top_line(held).tolist() == [72]
    struck = Piece(note_array([(0, 1, 72, 80), (1, 1, 72, 80), (2, 1, 74, 80), (2, 1, 60, 80)]))
    assert top_line(struck).tolist() == [72, 72, 74]


def test_beat_voices_sorted_high_to_low():
    p = Piece(note_array([(0, 2, 48, 80), (0, 2, 72, 80), (0, 1, 64, 80), (1, 1, 67, 80), (0.5, 0.25, 70, 80)]))
    assert [v.tolist() for v in beat_voices(p)] == [[72, 64, 48], [72, 67, 48]]  # the sixteenth is off the beat


def test_sixteenths_share():
    p = melody([60, 62, 64, 65], length=0.25)
    assert voice_report(p)["sixteenth_share"] == 1.0
    assert voice_report(melody([60, 62]))["sixteenth_share"] == 0.0


def test_ending_on_ii_is_no_cadence():
    c = parse_key("C")
    assert final_cadence(chorale([I_C, VI_C, IV_C, II_C, V_C, I_C]), c) == "V-I"
    assert final_cadence(chorale([I_C, VI_C, IV_C, I_C, V_C, II_C]), c) == "V-II"
    rep = voice_report(chorale([I_C, VI_C, IV_C, I_C, V_C, II_C]), key="C")
    assert rep["cadence"] == 0.0 and rep["ends_on_tonic"] == 0.0
    assert any(f.startswith("cadence") for f in rep["flags"])


def test_a_close_in_the_relative_key():
    e_major, a_minor = (71, 68, 64, 52), (72, 69, 64, 45)
    rep = voice_report(chorale([I_C, VI_C, IV_C, II_C, e_major, a_minor]), key="C")
    assert rep["final_roots"] == "III-VI" and rep["cadence"] == 0.0 and rep["cadence_relative"] == 1.0
    rep = voice_report(chorale([I_C, VI_C, IV_C, I_C, V_C, II_C]), key="C")
    assert rep["cadence_relative"] == 0.0  # V-ii is no cadence in either key


def test_plagal_cadence_and_a_final_chord_written_twice():
    assert final_cadence(chorale([I_C, V_C, I_C, PLAGAL_IV, I_C]), parse_key("C")) == "IV-I"
    assert final_cadence(chorale([I_C, IV_C, V_C, I_C, I_C], length=1.0), parse_key("C")) == "V-I"  # I struck twice


def test_cadence_reads_through_passing_notes():
    # V on the last beat with an eighth-note passing tone in the soprano (B-A) over G-B-D, then I
    notes = [(0, 1, p, 80) for p in IV_C] + [(1, 1, p, 80) for p in V_C[1:]] + [(1, 0.5, 71, 80), (1.5, 0.5, 69, 80)]
    notes += [(2, 2, p, 80) for p in (67, 64, 60, 48)]
    assert final_cadence(Piece(note_array(notes)), parse_key("C")) == "V-I"


@pytest.mark.parametrize(("pcs", "bass", "root"), [
    ({0, 4, 7}, 0, 0), ({4, 7, 0}, 4, 0), ({7, 11, 2, 5}, 7, 7), ({9, 0, 4}, 9, 9), ({0, 4}, 0, 0),
    ({2, 5, 9, 0}, 5, 2), ({11, 2, 5}, 2, 11), ({3, 7, 10}, None, 3),
])
def test_chord_root(pcs, bass, root):
    assert chord_root(pcs, bass) == root


def test_chord_root_weights_passing_notes_lightly():
    w = np.zeros(12)
    w[[7, 11, 2]] = 1.0
    w[9] = 0.5  # a passing A for half the beat
    assert chord_root(w, 7) == 7
    v = np.zeros(12)  # F# and A# the whole beat; D#, E, B half of it each; no C#: V of B minor, by its bass F#
    v[[6, 10]], v[[3, 4, 11]] = 1.0, 0.5
    assert chord_root(v, 42) == 6
    assert chord_root(set(), None) is None


def test_empty_piece_and_flags():
    rep = voice_report(Piece(np.zeros((0, 4))))
    assert rep["flags"] == ["empty"] and rep["beats"] == 0 and rep["final_roots"] == ""
    assert flags_for({"parallels_per_100": 9.0, "range_min": 0.5}, REFERENCE) == [
        "range_min 0.5 < 0.8", "parallels_per_100 9 > 7.5"]
    assert voice_report(chorale([I_C, VI_C, IV_C, II_OPEN, V_OPEN, I_C]), reference={})["flags"] == []


def test_collapsed_piece():
    rep = voice_report(chorale([I_C] * 6))
    assert rep["collapsed"] == 1.0 and "collapsed" in rep["flags"]
    assert voice_report(chorale([I_C, V_C]))["collapsed"] == 1.0  # four beats: too short to judge


def test_a_chorale_takes_milliseconds():
    rng = np.random.default_rng(0)
    chords = [(I_C, VI_C, IV_C, II_C, V_C)[i] for i in rng.integers(0, 5, 80)]
    p = chorale(chords, length=1.0)
    voice_report(p)
    t = time.perf_counter()
    for _ in range(5):
        voice_report(p)
    assert (time.perf_counter() - t) / 5 < 0.05


@pytest.mark.slow
def test_bench_scores_real_chorales_and_a_folder_of_midi(tmp_path):
    """bench/chorale_quality/measure.py end to end: music21's chorales (parsed once, then cached) and two
    hand-made chorales written as MIDI."""
    import json

    from conftest import load_bench

    measure = load_bench("chorale_quality")
    folder = tmp_path / "generated"
    folder.mkdir()
    chorale([I_C, VI_C, IV_C, II_C, V_C, I_C]).write_midi(folder / "clean.mid")
    chorale([I_C, VI_C, IV_C, II_OPEN, V_OPEN, I_C]).write_midi(folder / "fifths.mid")
    measure.main(["--generated", str(folder), "--name", "two", "--out", str(tmp_path / "out")])
    result = json.loads((tmp_path / "out" / "two.json").read_text())
    real, two = result["rows"]["real, held out"], result["rows"]["two"]
    assert real["pieces"] > 30 and two["pieces"] == 2
    pooled = two["pooled"]
    assert (pooled["parallel_fifths"], pooled["parallel_octaves"], pooled["transitions"]) == (1, 0, 22)
    assert pooled["parallels_per_100"] == pytest.approx(100 / 22)
    assert two["pooled"]["phrases"] == 2 and two["copying"] == 0  # no fermatas: the final chord ends each phrase
    assert two["cadence"]["mean"] == 1.0
    # the real chorales meet the bars by this measure (what generated chorales are held to)
    assert real["beats_4plus"]["mean"] >= 0.85 and real["cadence_relative"]["mean"] >= 0.8
    assert real["top_median_interval"]["median"] <= 3 and real["collapsed"] == 0
    assert (tmp_path / "out" / "two.md").exists() and (tmp_path / "out" / "two-pieces.csv").exists()
