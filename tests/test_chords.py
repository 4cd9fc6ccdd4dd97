"""Chord symbols: parsing, progressions, text form, recognition from notes and the key of a progression."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rnnmusic.chords import QUALITIES, QUALITY_NAMES, Chord, ChordError, parse_chord, recognize
from rnnmusic.errors import UserError
from rnnmusic.keys import progression_key
from rnnmusic.progressions import (
    ChordSpan,
    chord_at,
    estimate_chords,
    fit_to_bars,
    parse_progression,
    progression_text,
    read_progression,
    spans_from_text,
    spans_to_text,
)

PARSE_TABLE = [
    # symbol, root, quality, bass
    ("C", 0, "maj", None), ("CM", 0, "maj", None), ("Cmaj", 0, "maj", None), ("Cmajor", 0, "maj", None),
    ("Dm", 2, "min", None), ("Dmin", 2, "min", None), ("Dmi", 2, "min", None), ("D-", 2, "min", None),
    ("G7", 7, "7", None), ("Gdom7", 7, "7", None),
    ("Cmaj7", 0, "maj7", None), ("CM7", 0, "maj7", None), ("Cma7", 0, "maj7", None), ("CMaj7", 0, "maj7", None),
    ("CΔ", 0, "maj7", None), ("CΔ7", 0, "maj7", None), ("C^7", 0, "maj7", None),
    ("Dm7", 2, "m7", None), ("Dmin7", 2, "m7", None), ("Dmi7", 2, "m7", None), ("D-7", 2, "m7", None),
    ("Bdim", 11, "dim", None), ("Bo", 11, "dim", None), ("B°", 11, "dim", None),
    ("Bdim7", 11, "dim7", None), ("Bo7", 11, "dim7", None), ("B°7", 11, "dim7", None),
    ("Bm7b5", 11, "m7b5", None), ("Bø", 11, "m7b5", None), ("Bø7", 11, "m7b5", None), ("B-7b5", 11, "m7b5", None),
    ("Bmin7b5", 11, "m7b5", None), ("Bmi7b5", 11, "m7b5", None),
    ("Caug", 0, "aug", None), ("C+", 0, "aug", None), ("C(#5)", 0, "aug", None),
    ("Csus", 0, "sus4", None), ("Csus4", 0, "sus4", None), ("Csus2", 0, "sus2", None),
    ("F6", 5, "6", None), ("Fm6", 5, "m6", None), ("F-6", 5, "m6", None), ("Fmin6", 5, "m6", None),
    ("Cm(maj7)", 0, "mmaj7", None), ("CmMaj7", 0, "mmaj7", None), ("CmM7", 0, "mmaj7", None),
    ("C-maj7", 0, "mmaj7", None), ("C-Δ7", 0, "mmaj7", None), ("Cmmaj7", 0, "mmaj7", None),
    ("G9", 7, "7", None), ("G11", 7, "7", None), ("G13", 7, "7", None), ("G7b9", 7, "7", None),
    ("G7#9", 7, "7", None), ("G7#11", 7, "7", None), ("G7b13", 7, "7", None), ("G7alt", 7, "7", None),
    ("G7b5", 7, "7", None), ("G9b5", 7, "7", None), ("G13b9", 7, "7", None), ("G7(b9,#11)", 7, "7", None),
    ("G7sus", 7, "sus4", None), ("G7sus4", 7, "sus4", None), ("G9sus4", 7, "sus4", None), ("G13sus", 7, "sus4", None),
    ("G7#5", 7, "7", None), ("Gaug7", 7, "7", None), ("G+7", 7, "7", None),
    ("Cmaj9", 0, "maj7", None), ("Cmaj13", 0, "maj7", None), ("CM9", 0, "maj7", None),
    ("Cmaj7#11", 0, "maj7", None), ("CΔ9", 0, "maj7", None),
    ("C6/9", 0, "6", None), ("C69", 0, "6", None),
    ("Dm9", 2, "m7", None), ("Dm11", 2, "m7", None), ("Dm13", 2, "m7", None), ("D-9", 2, "m7", None),
    ("Dmin9", 2, "m7", None),
    ("Cadd9", 0, "maj", None), ("Cadd2", 0, "maj", None), ("C2", 0, "maj", None), ("C5", 0, "maj", None),
    ("Cm(add9)", 0, "min", None), ("Cmadd9", 0, "min", None),
    ("C#", 1, "maj", None), ("C♯m", 1, "min", None), ("Db7", 1, "7", None), ("D♭maj7", 1, "maj7", None),
    ("Bb", 10, "maj", None), ("Ebm7", 3, "m7", None), ("Cb", 11, "maj", None), ("E#", 5, "maj", None),
    ("C/E", 0, "maj", 4), ("Dm7/C", 2, "m7", 0), ("G7/B", 7, "7", 11), ("Am/c", 9, "min", 0),
    ("C/Bb", 0, "maj", 10), ("F/g", 5, "maj", 7), ("C6/9/E", 0, "6", 4), ("  Am7  ", 9, "m7", None),
]


@pytest.mark.parametrize("symbol,root,quality,bass", PARSE_TABLE)
def test_parse_chord_table(symbol, root, quality, bass):
    assert parse_chord(symbol) == Chord(root, quality, bass)


@pytest.mark.parametrize("symbol", ["N.C.", "NC", "N.C", "n.c.", " N.C. "])
def test_no_chord(symbol):
    assert parse_chord(symbol) is None


@pytest.mark.parametrize("symbol,why", [("H7", "root letter"), ("Cxyz", "quality"), ("", "empty"),
                                        ("7", "root letter"), ("cm7", "root letter"), ("C/H", "bass"),
                                        ("Cm7\nG7", "quality")])
def test_bad_symbols_raise_one_line_chord_error(symbol, why):
    with pytest.raises(ChordError) as info:
        parse_chord(symbol)
    message = str(info.value)
    assert repr(symbol.strip()) in message
    assert why in message
    assert "\n" not in message
    assert isinstance(info.value, UserError)


chords = st.builds(Chord, st.integers(0, 11), st.sampled_from(QUALITY_NAMES), st.none() | st.integers(0, 11))


@given(chords)
def test_name_round_trips(chord):
    assert parse_chord(chord.name()) == chord
    assert parse_chord(chord.name(flats=False)) == chord
    assert parse_chord(chord.name(flats=True)) == chord


@given(chords, st.integers(-30, 30))
def test_transpose(chord, n):
    moved = chord.transpose(n)
    assert moved.quality == chord.quality
    assert moved.tones() == tuple((t + n) % 12 for t in chord.tones())
    assert moved.transpose(-n) == chord
    assert (moved.bass is None) == (chord.bass is None)


def test_transpose_examples():
    assert parse_chord("Dm7").transpose(5) == parse_chord("Gm7")
    assert parse_chord("C/E").transpose(-1) == parse_chord("B/D#")


def triples(spans):
    return [(s.start, s.end, None if s.chord is None else s.chord.name()) for s in spans]


def test_progression_two_chords_a_bar():
    spans = parse_progression("Dm7 G7 | Cmaj7 | A7 | Dm7 G7")
    assert triples(spans) == [(0, 2, "Dm7"), (2, 4, "G7"), (4, 8, "Cmaj7"), (8, 12, "A7"), (12, 14, "Dm7"),
                              (14, 16, "G7")]
    assert chord_at(spans, 9.0) == Chord(9, "7")
    assert chord_at(spans, 16.0) is None


def test_progression_bar_length_and_bar_lines():
    assert triples(parse_progression("|C||G|]F [|Am|", bar_length=3.0)) == [
        (0, 3, "C"), (3, 6, "G"), (6, 9, "F"), (9, 12, "Am")]
    assert triples(parse_progression("C | G\nF\n\nAm")) == [(0, 4, "C"), (4, 8, "G"), (8, 12, "F"), (12, 16, "Am")]


def test_progression_slots_and_percent():
    assert triples(parse_progression("C . . G | % | C / / / | . . F G")) == [
        (0, 3, "C"), (3, 4, "G"), (4, 7, "C"), (7, 8, "G"), (8, 14, "C"), (14, 15, "F"), (15, 16, "G")]


def test_progression_uneven_share_and_beats():
    spans = parse_progression("C G A | D")
    assert [s.end - s.start for s in spans[:3]] == pytest.approx([4 / 3] * 3)
    assert spans[2].end == 4.0 and spans[3].start == 4.0
    assert triples(parse_progression("C . G . | D", beats=4)) == [(0, 2, "C"), (2, 4, "G"), (4, 8, "D")]
    with pytest.raises(ChordError, match="bar 1"):
        parse_progression("C G A | D", beats=4)


def test_progression_repeats():
    assert triples(parse_progression("|: C | G :| Am")) == [
        (0, 4, "C"), (4, 8, "G"), (8, 12, "C"), (12, 16, "G"), (16, 20, "Am")]
    assert triples(parse_progression("F |: C :|: D :|")) == [
        (0, 4, "F"), (4, 8, "C"), (8, 12, "C"), (12, 16, "D"), (16, 20, "D")]
    assert triples(parse_progression("C | G :|")) == [(0, 4, "C"), (4, 8, "G"), (8, 12, "C"), (12, 16, "G")]


def test_progression_no_chord():
    assert triples(parse_progression("N.C. | C G | NC")) == [(0, 4, None), (4, 6, "C"), (6, 8, "G"), (8, 12, None)]


@pytest.mark.parametrize("text,needles", [
    ("C | Hm7 | G", ["'Hm7'", "bar 2"]),
    ("C G | D Cxyz", ["'Cxyz'", "bar 2"]),
    ("C | | G", ["empty bar 2"]),
    ("", ["empty"]),
    ("  |  ", ["empty"]),
    ("% | C", ["bar 1", "%"]),
    (". C", ["bar 1", "'.'"]),
    ("C % | G", ["bar 1", "%"]),
    ("C | G ; D", ["';'"]),
])
def test_progression_errors(text, needles):
    with pytest.raises(ChordError) as info:
        parse_progression(text)
    message = str(info.value)
    assert "\n" not in message
    for needle in needles:
        assert needle in message


def test_double_bar_is_no_empty_bar():
    assert triples(parse_progression("C || G")) == [(0, 4, "C"), (4, 8, "G")]


def test_read_progression_file_and_text(tmp_path):
    path = tmp_path / "tune.chords"
    path.write_text("# a comment\nDm7 G7 |\n\n| Cmaj7 | %\n", encoding="utf-8")
    assert triples(read_progression(str(path))) == [(0, 2, "Dm7"), (2, 4, "G7"), (4, 8, "Cmaj7"), (8, 12, "Cmaj7")]
    assert triples(read_progression("Dm7 | G7", bar_length=3)) == [(0, 3, "Dm7"), (3, 6, "G7")]


def test_read_progression_bad_files(tmp_path):
    bad = tmp_path / "latin1.chords"
    bad.write_bytes("C | G \xe9".encode("latin-1"))
    with pytest.raises(ChordError) as info:
        read_progression(str(bad))
    assert str(bad) in str(info.value) and "UTF-8" in str(info.value) and "\n" not in str(info.value)

    wrong = tmp_path / "wrong.chords"
    wrong.write_text("C\nHm7\n", encoding="utf-8")
    with pytest.raises(ChordError) as info:
        read_progression(str(wrong))
    assert str(wrong) in str(info.value) and "'Hm7'" in str(info.value)

    with pytest.raises(ChordError):
        read_progression(str(tmp_path))  # a directory is not a file: read as text, and that is no progression


def test_fit_to_bars():
    spans = parse_progression("C | G | F")
    assert triples(fit_to_bars(spans, 5, 4.0)) == [(0, 4, "C"), (4, 8, "G"), (8, 12, "F"), (12, 16, "C"),
                                                   (16, 20, "G")]
    assert triples(fit_to_bars(spans, 2, 4.0)) == [(0, 4, "C"), (4, 8, "G")]
    cut = fit_to_bars(parse_progression("C G"), 1, 3.0)  # a 4-quarter progression cut into one 3/4 bar
    assert triples(cut) == [(0, 2, "C"), (2, 3, "G")]
    assert fit_to_bars(spans, 0, 4.0) == []
    with pytest.raises(ChordError):
        fit_to_bars([], 4, 4.0)


def test_spans_text_round_trip():
    spans = parse_progression("Dm7 G7 | N.C. | C G A | F#m7b5/A Bbm(maj7) | C6/E")
    text = spans_to_text(spans)
    assert text.startswith("0:2:Dm7;2:4:G7;4:8:N.C.;8:")
    assert spans_from_text(text) == spans
    odd = [ChordSpan(0.1, 1 / 3, Chord(1, "sus2", 6)), ChordSpan(1 / 3, 2.5, None)]
    assert spans_from_text(spans_to_text(odd)) == odd
    assert spans_to_text([]) == "" and spans_from_text("") == []


@given(st.lists(st.tuples(st.floats(0, 1e6), st.floats(0, 100), chords | st.none()), max_size=8))
def test_spans_text_round_trip_property(items):
    spans = [ChordSpan(start, start + length, chord) for start, length, chord in items]
    assert spans_from_text(spans_to_text(spans)) == spans


@pytest.mark.parametrize("garbage", ["nonsense", "0:4", "0:4:Hm7", "a:4:C", "0:4:C;", "4:0:C", "nan:1:C",
                                     "0:4:C:D"])
def test_spans_from_text_garbage(garbage):
    with pytest.raises(ValueError):
        spans_from_text(garbage)


def test_recognize_every_chord_with_root_in_bass():
    for root in range(12):
        for quality in QUALITIES:
            chord = Chord(root, quality)
            weights = np.zeros(12)
            weights[list(chord.tones())] = 1.0
            assert recognize(weights, bass=root) == chord, chord


def test_recognize_details():
    assert recognize(np.zeros(12)) is None
    c6 = np.zeros(12)
    c6[[0, 4, 7, 9]] = 1
    assert recognize(c6, bass=9) == Chord(9, "m7")  # the bass decides between C6 and Am7
    assert recognize(c6) == Chord(9, "m7")          # without a bass the tie goes to the earlier quality (m7 < 6)
    assert recognize(c6, bass=0) == Chord(0, "6")
    fifth = np.zeros(12)
    fifth[[2, 9]] = 1
    assert recognize(fifth, bass=2) == Chord(2, "maj")  # an open fifth: the simplest quality wins
    weighted = np.zeros(12)
    weighted[[7, 11, 2]] = 4.0
    weighted[5] = 0.5                                  # a passing seventh, short
    assert recognize(weighted, bass=7) == Chord(7, "maj")
    weighted[5] = 4.0
    assert recognize(weighted, bass=7) == Chord(7, "7")
    with pytest.raises(ValueError):
        recognize(np.ones(11))


def accompaniment():
    """Bar 1: a C major triad held (bass C3); bar 2: G7 arpeggiated in quarter notes (bass G2)."""
    notes = [(0, 4, 48, 80), (0, 4, 64, 80), (0, 4, 67, 80), (0, 4, 72, 80)]
    notes += [(4, 1, 43, 80), (5, 1, 59, 80), (6, 1, 62, 80), (7, 1, 65, 80)]
    return np.array(notes, dtype=float)


def test_estimate_chords_per_bar():
    assert triples(estimate_chords(accompaniment(), 8.0, 4.0)) == [(0, 4, "C"), (4, 8, "G7")]


def test_estimate_chords_per_half_and_beat_and_silence():
    notes = accompaniment()
    half = estimate_chords(notes, 8.0, 4.0, per="half")
    assert [s.chord for s in half][0] == Chord(0, "maj") and half[0].end == 4.0  # equal halves merged
    beat = estimate_chords(notes, 10.0, 4.0, per="beat")
    assert triples(beat)[0] == (0, 4, "C")
    assert beat[-1].start == 8.0 and beat[-1].end == 10.0 and beat[-1].chord is None  # nothing sounds there
    assert [s.end for s in beat] == sorted(s.end for s in beat)
    assert all(a.end == b.start for a, b in zip(beat, beat[1:]))
    assert estimate_chords(np.zeros((0, 4)), 4.0, 4.0) == [ChordSpan(0.0, 4.0, None)]
    with pytest.raises(ValueError):
        estimate_chords(notes, 8.0, 4.0, per="bars")


def test_estimate_chords_weights_by_overlap():
    # a long A minor chord (bass A2) with a short passing G: still A minor
    notes = np.array([(0, 4, 45, 80), (0, 4, 60, 80), (0, 4, 64, 80), (0, 4, 69, 80), (3.5, 0.5, 67, 80)])
    assert triples(estimate_chords(notes, 4.0, 4.0)) == [(0, 4, "Am")]


@pytest.mark.parametrize("text,key", [
    ("Dm7 G7 | Cmaj7", (0, "major")),
    ("Dm7b5 G7 | Cm", (0, "minor")),
    ("C | F | G7 | C", (0, "major")),
    ("Am | Dm | E7 | Am", (9, "minor")),
    ("Bb | Eb | F7 | Bb", (10, "major")),
])
def test_progression_key(text, key):
    assert progression_key(parse_progression(text)) == key


@given(st.integers(0, 11))
def test_progression_key_transposes(n):
    spans = [ChordSpan(s.start, s.end, s.chord.transpose(n)) for s in parse_progression("Dm7b5 G7 | Cm")]
    assert progression_key(spans) == (n, "minor")


def test_progression_key_needs_chords():
    with pytest.raises(ChordError):
        progression_key(parse_progression("N.C. | N.C."))


@pytest.mark.parametrize("text,meter_quarters", [
    ("Dm7 G7 | Cmaj7 | A7 | Dm7 G7", 4.0), ("C | F G7 | N.C. | Am", 4.0), ("Em | B7 | Em Am D | G", 3.0),
    ("F#m7b5 B7 | Em", 4.0)])
def test_progression_text_reads_back(text, meter_quarters):
    spans = parse_progression(text, meter_quarters)
    shown = progression_text(spans, meter_quarters)
    assert parse_progression(shown, meter_quarters) == spans
    assert shown == text


def test_progression_text_marks_bars_where_no_chord_starts():
    spans = [ChordSpan(0.0, 8.0, Chord(0, "maj")), ChordSpan(8.0, 12.0, Chord(7, "7"))]
    assert progression_text(spans, 4.0) == "C | % | G7"
    assert progression_text([], 4.0) == ""
