"""bench/lead_quality/measure.py's own figures on hand-made progressions, melodies and MIDI files with known answers
(no data sets and no trained model: only the script's main reads the OpenEWLD lead sheets and runs a model)."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import load_bench
from rnnmusic.piece import Piece, note_array
from rnnmusic.progressions import chord_at, parse_progression, spans_to_text


@pytest.fixture(scope="module")
def measure():
    return load_bench("lead_quality")


II_V_I = parse_progression("Dm7 | G7 | Cmaj7 | Cmaj7 | N.C. | C C/E | A7")


def test_chord_changes_merge_repeats_and_mark_no_chord(measure):
    assert measure.chord_changes(II_V_I) == [(2, "m7"), (7, "7"), (0, "maj7"), None, (0, "maj"), (9, "7")]
    # the N.C. breaks the chain; C -> C/E is no change (slash basses ignored)
    assert measure.transitions(II_V_I) == [((2, "m7"), (7, "7")), ((7, "7"), (0, "maj7")), ((0, "maj"), (9, "7"))]


def test_root_motion_and_quality_histograms(measure):
    pairs = measure.transitions(II_V_I)
    rm = measure.root_motion_histogram(pairs)
    assert rm.shape == (12,) and rm.sum() == 3
    assert rm[5] == 2 and rm[9] == 1  # ii-V and V-I: up a fourth; C -> A7: up 9
    q = measure.quality_histogram(pairs).reshape(14, 14)
    names = list(measure.QUALITY_NAMES)
    assert q.sum() == 3
    assert q[names.index("m7"), names.index("7")] == 1 and q[names.index("7"), names.index("maj7")] == 1
    assert q[names.index("maj"), names.index("7")] == 1
    assert measure.root_motion_histogram([]).sum() == 0


def test_compare_transitions_identical_and_disjoint(measure):
    pairs = measure.transitions(II_V_I)
    same = measure.compare_transitions(pairs, pairs * 3, 7.0, 21.0)
    assert same["root_motion_overlap"] == pytest.approx(1.0) and same["quality_overlap"] == pytest.approx(1.0)
    assert same["pairs_in_data"] == 1.0
    assert same["changes_per_bar"] == same["data_changes_per_bar"] == pytest.approx(3 / 7, abs=1e-3)
    chromatic = measure.transitions(parse_progression("C | Db | D"))  # root motion 1 only, maj -> maj
    other = measure.compare_transitions(chromatic, pairs, 3.0, 7.0)
    assert other["root_motion_overlap"] == 0.0 and other["pairs_in_data"] == 0.0
    assert other["root_motion"][1] == 1.0 and sum(other["data_root_motion"]) == pytest.approx(1.0)
    assert measure.compare_transitions([], pairs, 0.0, 7.0)["pairs_in_data"] is None


def test_offbeat_counts_and_syncopation(measure):
    notes = note_array([(0, 1, 60, 80), (1.5, 1, 62, 80), (2.5, 0.5, 64, 80), (3, 1, 65, 80),
                        (4 + 1 / 3, 2 / 3, 67, 80)])
    # off the beat: 1.5 (held over 2: a syncopation), 2.5 (ends on the beat), 4 1/3 (a triplet, ends on 5)
    assert measure.offbeat_counts(notes) == (5, 3, 1)
    s = measure.syncopation([notes, note_array([(0, 4, 60, 80)])])
    assert s == {"onsets": 6, "offbeat": 0.5, "held_over": round(1 / 6, 4)}
    assert measure.syncopation([])["offbeat"] is None


def test_swing_delays_on_hand_made_onsets(measure):
    straight = note_array([(0, 0.5, 60, 80), (0.5, 0.5, 62, 80), (1, 0.25, 64, 80), (1.25, 0.25, 65, 80),
                           (1.5, 0.5, 67, 80), (2, 2, 69, 80)])
    swung = straight.copy()
    swung[[1, 4], 0] += 0.12
    d = measure.swing_delays(straight, swung, 0.62)
    assert d["notes"] == 6 and d["offbeat_eighths"] == 2 and d["on_time"] == 2 and d["others_moved"] == 0
    assert d["mean_delay"] == pytest.approx(0.12) and d["expected_delay"] == pytest.approx(0.12)
    late = swung.copy()
    late[2, 0] += 0.1  # a sixteenth that moved: not a swung eighth
    late[4, 0] += 0.05  # an off-beat eighth too late
    d = measure.swing_delays(straight, late, 0.62)
    assert d["on_time"] == 1 and d["others_moved"] == 1
    with pytest.raises(ValueError):
        measure.swing_delays(straight, swung[:-1], 0.62)


def test_swing_measured_from_midi_the_lead_sheet_writer_wrote(measure, tmp_path):
    from rnnmusic.render.leadsheet import write_lead_sheet

    eighths = [(i * 0.5, 0.5, 60 + i, 80) for i in range(8)] + [(4, 1, 72, 80), (5.5, 0.5, 71, 80), (6, 2, 72, 80)]
    melody = Piece(note_array(eighths), tempo=160)
    spans = parse_progression("Dm7 G7 | Cmaj7")
    paths = [write_lead_sheet(melody, spans, tmp_path / name, style="comp", swing_ratio=r, formats=["mid"])["mid"]
             for name, r in (("straight", 0.5), ("swung", 0.62))]
    straight, swung = (measure.melody_notes(p) for p in paths)
    assert len(straight) == 11 and np.allclose(straight[:, 2], note_array(eighths)[:, 2])  # the melody track
    d = measure.swing_delays(straight, swung, 0.62)
    assert d["offbeat_eighths"] == 5 and d["on_time"] == 5 and d["others_moved"] == 0
    assert d["mean_delay"] == pytest.approx(0.12, abs=1.5 / 480)


def test_slot_text_reads_back_to_the_same_chords(measure):
    spans = parse_progression("C . . G7 | F | Dm7 G7")
    assert measure.slot_text(spans, (4, 4), 3) == "C . . . . . G7 . | F . . . . . . . | Dm7 . . . G7 . . ."
    lead = [s for s in parse_progression("N.C. . . Bb | Bb . C7 . | F", 4.0)]
    shifted = [type(s)(s.start + 8, s.end + 8, s.chord) for s in lead]  # starting in bar 3
    text = measure.slot_text(shifted, (3, 4), 4, start=8.0)
    back = parse_progression(text, 3.0)
    for t in np.arange(0, 12, 0.5):
        assert chord_at(back, t + 1e-6) == chord_at(shifted, 8 + t + 1e-6)
    assert text.startswith("N.C.") and text.endswith(". . . . . .")  # the last bar holds F on


def test_chord_fit_pools_strong_beats(measure):
    spans = parse_progression("C | F")  # 4/4: beats 1 and 3 are strong
    notes = [(0, 1, 60, 80), (1, 1, 62, 80), (2, 2, 62, 80), (4, 2, 65, 80), (6, 2, 61, 80)]
    piece = Piece(note_array(notes), meta={"chords": spans_to_text(spans)})
    f = measure.chord_fit([piece, Piece(note_array([(0, 4, 64, 80)]), meta={"chords": spans_to_text(spans)})])
    # counted: C4 on C (hit), D4 on beat 3 (miss), F4 on F (hit), C#4 (miss), E4 on C (hit); chords of 3 tones
    assert f == {"pieces": 2, "strong_beat_notes": 5, "chord_tones": 0.6, "chance": 0.25}
    assert measure.chord_fit([Piece(note_array(notes))])["chord_tones"] is None  # no chords: nothing counted


def test_fit_row_pools_and_gives_the_margin_in_points(measure):
    a = {"pieces": 2, "hits": [8, 10], "withheld_hits": [5, 10], "chance_sum": 3.0}
    b = {"pieces": 2, "hits": [7, 10], "withheld_hits": [1, 10], "chance_sum": 2.6}
    row = measure.fit_row([a, b])
    assert row == {"pieces": 4, "strong_beat_notes": 20, "with_chords": 0.75, "withheld": 0.3, "chance": 0.28,
                   "margin_points": 45.0}
    assert measure.fit_row([{"pieces": 1, "hits": [0, 0], "withheld_hits": [0, 3], "chance_sum": 0.0}])[
        "margin_points"] is None


def test_held_out_progression_starts_at_the_bar_of_its_first_chord(measure):
    spans = parse_progression("N.C. | N.C. . . G7 | C . . . | C7 | F")
    piece = Piece(note_array([(0, 20, 60, 80)]), time_signature=(4, 4), key="C major",
                  source="/x/Someone/A_Song/A_Song.mxl", meta={"chords": spans_to_text(spans[1:])})
    [(group, row, text, key, meter, bars)] = measure.held_out_progressions([piece], 3)
    assert (group, row, key, meter, bars) == (measure.HELD_OUT_GROUP, "A Song", "C major", "4/4", 4)
    assert text.startswith("N.C. . . . . . G7 . | C ")


def test_targets_and_markdown(measure):
    result = {"name": "m", "command": "c", "seconds": 1.0, "model": "m", "model_training_data": 0.75,
              "settings": {"pieces_per_progression": 2, "seed": 0},
              "data": {"train": {"pieces": 1, "strong_beat_notes": 10, "chord_tones": 0.75, "chance": 0.3,
                                 "offbeat": 0.3, "held_over": 0.05},
                       "held_out": {"pieces": 1, "strong_beat_notes": 10, "chord_tones": 0.7, "chance": 0.3,
                                    "offbeat": 0.3, "held_over": 0.05},
                       "held_out_transitions": measure.compare_transitions([], [], 0, 0)},
              "rows": [{"row": "r", "group": "g", "key": "C major", "meter": "4/4", "bars": 4, "pieces": 2,
                        "with_chords": 0.8, "withheld": 0.5, "chance": 0.3, "margin_points": 30.0}],
              "groups": {"g": {"pieces": 2, "with_chords": 0.8, "withheld": 0.5, "chance": 0.3, "margin_points": 30.0},
                         "h": {"pieces": 2, "with_chords": 0.7, "withheld": 0.6, "chance": 0.3, "margin_points": 10.0}},
              "no_chords": {"pieces": 2, "progressions": ["C | G7"], **measure.compare_transitions(
                  measure.transitions(II_V_I), measure.transitions(II_V_I), 7, 7)},
              "swing": {"notes": 10, "offbeat_eighths": 4, "on_time": 4, "others_moved": 0, "expected_delay": 0.12,
                        "mean_delay": 0.12},
              "syncopation": {"onsets": 10, "offbeat": 0.5, "held_over": 0.1}}
    met = {t.split(":")[0] + (" margin" if "withheld" in t else ""): ok for t, _, ok in measure.targets(result)}
    assert met == {"g": True, "g margin": True, "h": False, "h margin": False, "no --chords": True,
                   "--swing 0.62": True, "onsets off the beat within 10 points of the data's 30.0% (ours)": False}
    md = measure.markdown(result)
    assert "| **g** |" in md and "| NO |" in md and "| yes |" in md and "+30.0" in md
