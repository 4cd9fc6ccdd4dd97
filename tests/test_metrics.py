"""Musical metrics and copy detection on hand-made pieces with known answers."""
import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from rnnmusic.evaluation.metrics import (
    METRIC_INFO,
    NOTE_LENGTH_BINS,
    NOTE_LENGTH_NAMES,
    distribution_distance,
    empty_beat_rate,
    groove_consistency,
    histogram_distance,
    note_length_histogram,
    piece_metrics,
    pitch_class_entropy,
    pitch_class_histogram,
    pitch_range,
    polyphony,
    polyphony_rate,
    repetition,
    scale_consistency,
)
from rnnmusic.evaluation.novelty import TrainingIndex, flag_copies, onset_events
from rnnmusic.piece import Piece, note_array

C_MAJOR = [60, 62, 64, 65, 67, 69, 71, 72]


def piece(notes, ts=(4, 4), source=""):
    return Piece(note_array([(s, d, p, 80) for s, d, p in notes]), time_signature=ts, source=source)


def scale():
    """C major scale in quarter notes: exactly two bars of 4/4, ending on the barline."""
    return piece([(i, 1.0, p) for i, p in enumerate(C_MAJOR)])


# -- metrics ---------------------------------------------------------------------------------------------
def test_c_major_scale():
    s = scale()
    assert pitch_range(s) == 12
    assert pitch_class_entropy(s) == pytest.approx(2.75, abs=1e-12)
    assert scale_consistency(s) == 1.0
    assert groove_consistency(s) == 1.0  # MusPy counts a third, empty bar here and says 0.875
    assert polyphony(s) == 1.0 and polyphony_rate(s) == 0.0
    assert empty_beat_rate(s) == 0.0
    h = pitch_class_histogram(s)
    assert h[0] == 0.25 and h[[2, 4, 5, 7, 9, 11]].tolist() == [0.125] * 6 and h.sum() == 1.0
    m = piece_metrics(s)
    assert list(m) == list(METRIC_INFO)
    assert m["bars"] == 2.0 and m["notes"] == 8.0 and m["mean_note_length"] == 1.0


def test_single_held_note_and_triad():
    held = piece([(0, 8.0, 60)])
    assert pitch_class_entropy(held) == 0.0
    assert polyphony(held) == 1.0 and polyphony_rate(held) == 0.0
    assert empty_beat_rate(held) == 0.0 and pitch_range(held) == 0
    triad = piece([(0, 4.0, 60), (0, 4.0, 64), (0, 4.0, 67)])
    assert polyphony(triad) == 3.0 and polyphony_rate(triad) == 1.0


def test_empty_beat_rate_counts_silent_beats():
    # 4/4: a quarter at beat 0, a silent stretch, a quarter at beat 8: 9 beats, 7 of them silent
    assert empty_beat_rate(piece([(0, 1.0, 60), (8, 1.0, 64)])) == 7 / 9
    # 6/8 (beat = an eighth): dotted quarters at 0 and 4.5 in 6 quarters: 12 beats, 6 silent
    assert empty_beat_rate(piece([(0, 1.5, 60), (4.5, 1.5, 62)], ts=(6, 8))) == 0.5
    # a note held across a beat fills it
    assert empty_beat_rate(piece([(0, 2.5, 60), (3, 1.0, 62)])) == 0.0


def test_chromatic_scale():
    c = piece([(i, 1.0, 60 + i) for i in range(12)])
    assert scale_consistency(c) == pytest.approx(7 / 12)
    assert pitch_class_entropy(c) == pytest.approx(math.log2(12))


def test_repetition_of_identical_bars():
    bar = [(0, 1.0, 60), (1, 1.0, 64), (2, 1.0, 67), (3, 1.0, 72)]
    p = piece([(s + 4 * b, d, q) for b in range(4) for s, d, q in bar])
    r = repetition(p)
    assert r["repeated_bars"] == 0.75
    assert r["repeated_ngrams"] == 9 / 13  # 13 4-grams; the first 4 (the rotations) are new
    assert repetition(scale()) == {"repeated_bars": 0.0, "repeated_ngrams": 0.0}


def test_groove_with_changing_rhythm():
    quarters = [(i, 1.0, 60) for i in range(4)]
    eighths = [(i * 0.5, 0.5, 62) for i in range(8)]
    # bars: quarters, quarters, eighths, eighths: one pair of 16-step patterns differs in 4 steps
    p = piece(quarters + [(s + 4, d, q) for s, d, q in quarters]
              + [(s + 8, d, q) for s, d, q in eighths] + [(s + 12, d, q) for s, d, q in eighths])
    assert groove_consistency(p) == pytest.approx(1 - 4 / 48)
    # alternating quarters / eighths: every pair differs in 4 of 16 steps
    alt = piece([(s + 4 * b, d, q) for b in range(4) for s, d, q in (quarters if b % 2 == 0 else eighths)])
    assert groove_consistency(alt) == pytest.approx(0.75)


def test_note_length_histogram():
    h = note_length_histogram(scale())
    assert h[NOTE_LENGTH_NAMES.index("quarter")] == 1.0 and h.sum() == 1.0
    lengths = {"16th": 0.25, "dotted 16th / triplet 8th": 1 / 3, "8th": 0.5, "dotted 8th / triplet quarter": 2 / 3,
               "dotted quarter": 1.5, "half": 2.0, "whole": 4.0, "longer": 8.0, "64th or less": 1 / 16, "32nd": 0.125}
    for name, d in lengths.items():
        assert note_length_histogram(piece([(0, d, 60)]))[NOTE_LENGTH_NAMES.index(name)] == 1.0, name
    assert len(NOTE_LENGTH_BINS) == len(NOTE_LENGTH_NAMES) == 12
    assert all(lo < hi for _, lo, hi in NOTE_LENGTH_BINS)


def test_empty_piece_does_not_crash():
    e = piece([])
    m = piece_metrics(e)
    assert list(m) == list(METRIC_INFO) and all(math.isfinite(v) for v in m.values())
    assert m["pitch_range"] == 0 and m["pitch_class_entropy"] == 0 and m["groove_consistency"] == 1.0
    assert not pitch_class_histogram(e).any() and not note_length_histogram(e).any()
    assert TrainingIndex([scale()]).longest_copy(e).events == 0


def test_distribution_distance():
    same = distribution_distance([1, 2, 3, 4], [1, 2, 3, 4])
    assert same["overlap"] == pytest.approx(1.0) and same["kl"] == pytest.approx(0.0, abs=1e-9)
    apart = distribution_distance([0, 1, 2], [10, 11, 12])
    assert apart["overlap"] < 1e-6 and apart["kl"] > 10
    near = distribution_distance([0, 1, 2, 3], [1, 2, 3, 4])
    assert 0.5 < near["overlap"] < 0.9 and 0 < near["kl"] < 2  # smoothed: a shift by 1 is not disjoint
    assert apart["generated_mean"] == 1.0 and apart["reference_mean"] == 11.0
    assert apart["reference_std"] == pytest.approx(np.std([10, 11, 12]))
    const = distribution_distance([3, 3], [3, 3, 3])
    assert const["overlap"] == 1.0 and const["kl"] == 0.0
    half = histogram_distance(np.array([1, 1, 0, 0]), np.array([0, 2, 2, 0]))
    assert half["overlap"] == pytest.approx(0.5)
    assert histogram_distance(pitch_class_histogram(scale()), pitch_class_histogram(scale()))["overlap"] == 1.0


# -- properties ------------------------------------------------------------------------------------------
notes_st = st.lists(st.tuples(st.integers(0, 31), st.integers(1, 8), st.integers(40, 80)), min_size=1, max_size=24)


def from_ints(notes):
    return piece([(s / 4, d / 4, p) for s, d, p in notes])


@settings(max_examples=60, deadline=None)
@given(notes_st, st.integers(-12, 12))
@example([(0, 1, 41), (0, 1, 41), (0, 1, 48), (0, 1, 48), (0, 1, 48), (0, 1, 61), (0, 1, 61), (0, 1, 63), (0, 1, 66),
          (0, 1, 72)], 0)  # found by hypothesis: the shares summed to 1.0000000000000002
def test_metrics_bounded_and_transposition_invariant(notes, k):
    p = from_ints(notes)
    t = p.transpose(k)
    assert 0.0 <= pitch_class_entropy(p) <= math.log2(12) + 1e-12
    assert 7 / 12 - 1e-12 <= scale_consistency(p) <= 1.0
    assert 0.0 <= groove_consistency(p) <= 1.0 and 0.0 <= empty_beat_rate(p) < 1.0
    assert pitch_class_entropy(t) == pytest.approx(pitch_class_entropy(p))
    assert scale_consistency(t) == pytest.approx(scale_consistency(p))
    for f in (polyphony, polyphony_rate, groove_consistency, empty_beat_rate, pitch_range):
        assert f(t) == f(p), f.__name__
    assert repetition(t) == repetition(p)


@settings(max_examples=40, deadline=None)
@given(notes_st, st.integers(1, 12))
def test_whole_piece_copy_found(notes, k):
    p = from_ints(notes)
    n = len(onset_events(p)[0])
    c = TrainingIndex([scale().transpose(30), p]).longest_copy(p)  # the decoy's pitches are out of reach
    assert (c.events, c.source_index, c.start, c.transposed) == (n, 1, p.notes[0, 0], False)
    t = TrainingIndex([p], transpositions=True).longest_copy(p.transpose(k))
    assert t.events == n and t.transposed


# -- novelty ---------------------------------------------------------------------------------------------
IOIS = [0.5, 1.0, 1.5]


def random_events(rng, n, t0=0.0, low=48, high=84):
    """n onset events from t0 with intervals in IOIS; a third of them chords. Returns (notes, next time)."""
    notes, t = [], t0
    for _ in range(n):
        ioi = float(rng.choice(IOIS))
        root = int(rng.integers(low, high))
        for q in {root} | ({root + int(rng.integers(3, 8))} if rng.random() < 0.33 else set()):
            notes.append((t, ioi, q))
        t += ioi
    return notes, t


@pytest.fixture(scope="module")
def training():
    rng = np.random.default_rng(7)
    return [piece(random_events(rng, 80)[0], source=f"train{i}") for i in range(6)]


def planted(training, shift=0, first=30, count=12):
    """A random piece with events first..first+count-1 of training piece 3 (transposed by `shift`) inside.

    The gap before the run (0.75) and the pitch after it (120) occur nowhere in training, so the copied run
    is exactly `count` events long. Returns (piece, run start, run length in quarters, source start)."""
    rng = np.random.default_rng(99)
    src = training[3]
    times = onset_events(src)[1]
    prefix, _ = random_events(rng, 20)
    t0 = max(s for s, _, _ in prefix) + 0.75
    a, b = times[first], times[first + count]
    run = [(s - a + t0, d, p + shift) for s, d, p in src.notes[:, :3] if a <= s < b]
    suffix, _ = random_events(rng, 20, t0 + b - a)
    suffix = [(s, d, 120 if s == t0 + b - a else p) for s, d, p in suffix]
    return piece(prefix + run + suffix, source="gen"), t0, b - a, a


def test_planted_copy_found(training):
    gen, t0, length, a = planted(training)
    c = TrainingIndex(training).longest_copy(gen)
    assert (c.events, c.source, c.source_index, c.transposed) == (12, "train3", 3, False)
    assert c.start == t0 and c.source_start == a and c.bars == pytest.approx(length / 4)
    both = TrainingIndex(training, transpositions=True).longest_copy(gen)
    assert (both.events, both.source, both.transposed, both.start) == (12, "train3", False, t0)
    flagged = flag_copies([gen], TrainingIndex(training), max_bars=length / 4 - 0.5)
    assert flagged[0].copied and not flag_copies([gen], TrainingIndex(training), max_bars=length / 4)[0].copied


def test_transposed_copy_needs_transpositions(training):
    gen, t0, length, a = planted(training, shift=-5)
    assert TrainingIndex(training).longest_copy(gen).events < 4
    c = TrainingIndex.build(training, transpositions=True).longest_copy(gen)
    assert (c.events, c.source, c.transposed, c.start, c.source_start) == (12, "train3", True, t0, a)
    assert c.bars == pytest.approx(length / 4)


def test_random_piece_copies_little(training):
    gen = piece(random_events(np.random.default_rng(12345), 100)[0])
    c = TrainingIndex(training).longest_copy(gen)
    assert c.events < 4
    assert not flag_copies([gen], TrainingIndex(training))[0].copied
