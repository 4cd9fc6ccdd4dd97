"""Musical metrics of one `Piece`, and distances between the metric distributions of two sets of pieces.

The scalar metrics follow the definitions that MusPy (Dong et al., "MusPy: a toolkit for symbolic music
generation", ISMIR 2020) collects from MuseGAN (Dong et al. 2018), C-RNN-GAN and the Jazz Transformer, and
Yang & Lerch's (2020) "overlapped area" comparison of metric distributions (kernel density estimates).
They are written here on numpy rather than taken from MusPy, which is unmaintained since 2022, pulls in
pretty_midi, pypianoroll, miditoolkit and scipy, and gets at least one wrong: its `groove_consistency` counts one
bar past the end when
the piece ends on a barline, so a perfectly regular two-bar scale scores 0.875 instead of 1.0.

Times are quarter notes. A note sounds during [start, start + duration). Definitions, and where they differ:

* pitch_range: highest minus lowest MIDI pitch (semitones).
* pitch_class_histogram / pitch_class_entropy: note onsets counted per pitch class (every note counts, a
  chord's notes each once), normalized; Shannon entropy in bits (log2), as MusPy's `chroma_entropy`.
* scale_consistency: the largest share of notes inside one major scale over the 12 tonics. MusPy also tries
  the 12 natural minor scales, but each has exactly the pitch classes of its relative major, so the result
  is the same.
* polyphony: mean number of distinct pitches sounding over the grid steps where at least one sounds.
  polyphony_rate: share of those sounding steps with more than one pitch (MusPy divides by all steps, silent
  ones included; here silence does not dilute it: silence is what `empty_beat_rate` measures).
* empty_beat_rate: share of beats, from 0 up to the end of the last note, in which no note sounds at any
  point. A beat is 4/den quarters (a quarter in 4/4, an eighth in 6/8). A held note fills every beat it
  sounds in (MusPy's pypianoroll-style definition).
* groove_consistency: 1 - mean, over consecutive bar pairs, of the Hamming distance between the two bars'
  binary onset patterns (bar_length * grid steps) divided by the pattern length. Bars run to the last bar
  in which any note starts or sounds; no trailing empty bar is counted.
* repetition: share of bars (with onsets) equal to an earlier bar, and share of note n-grams seen earlier.

Empty pieces never raise: ranges, entropies, rates and shares are 0.0 and histograms all zeros; the one
exception is groove_consistency, which is 1.0 for any piece of fewer than two bars (nothing to disagree).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..piece import DUR, PITCH, START, Piece

EPS = 1e-9  # tolerance on times (quarters) against float rounding
MAJOR = np.array([1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1], dtype=bool)  # C major's pitch classes
REPEAT_RESOLUTION = 48  # times and durations rounded to 1/48 quarter when comparing bars
KL_EPS = 1e-6  # added to every bin before a KL divergence

# Nominal note values (quarters). Two bins hold a dotted value and the triplet value next to it, whose
# lengths differ by only 12%: dotted 16th (3/8) with triplet 8th (1/3), dotted 8th (3/4) with triplet
# quarter (2/3); their nominal value is the geometric mean of the pair. Edges are geometric midpoints
# between neighbouring nominal values; "longer" starts between the whole note and a breve (8).
_NOMINAL = [
    ("64th or less", 1 / 16),
    ("32nd", 1 / 8),
    ("16th", 1 / 4),
    ("dotted 16th / triplet 8th", math.sqrt(1 / 8)),
    ("8th", 1 / 2),
    ("dotted 8th / triplet quarter", math.sqrt(1 / 2)),
    ("quarter", 1.0),
    ("dotted quarter", 1.5),
    ("half", 2.0),
    ("dotted half", 3.0),
    ("whole", 4.0),
    ("longer", 8.0),
]
NOTE_LENGTH_NAMES: tuple[str, ...] = tuple(name for name, _ in _NOMINAL)
NOTE_LENGTH_EDGES: np.ndarray = np.array(
    [0.0] + [math.sqrt(a * b) for (_, a), (_, b) in zip(_NOMINAL[:-1], _NOMINAL[1:])] + [math.inf]
)
NOTE_LENGTH_BINS: tuple[tuple[str, float, float], ...] = tuple(
    (name, float(lo), float(hi))
    for name, lo, hi in zip(NOTE_LENGTH_NAMES, NOTE_LENGTH_EDGES[:-1], NOTE_LENGTH_EDGES[1:])
)
"""(name, low, high) in quarters: a duration d falls in the bin with low <= d < high."""

METRIC_INFO: dict[str, str] = {
    "pitch_range": "highest minus lowest pitch (semitones)",
    "pitch_class_entropy": "entropy of the pitch-class histogram of note onsets (bits, 0 to log2 12 = 3.58)",
    "scale_consistency": "largest share of notes inside one major scale (0.58 to 1)",
    "polyphony": "mean number of pitches sounding when any sounds (pitches)",
    "polyphony_rate": "share of sounding 16th steps with more than one pitch (0 to 1)",
    "empty_beat_rate": "share of beats in which nothing sounds (0 to 1)",
    "groove_consistency": "1 - mean onset-pattern difference between neighbouring bars (0 to 1)",
    "repeated_bars": "share of bars repeating an earlier bar exactly (0 to 1)",
    "repeated_ngrams": "share of 4-note n-grams (pitch, duration) seen earlier in the piece (0 to 1)",
    "notes": "number of notes",
    "bars": "length in bars, to the end of the last note",
    "mean_note_length": "mean note duration (quarters)",
}


# -- pitch -----------------------------------------------------------------------------------------------
def pitch_range(piece: Piece) -> int:
    """Highest minus lowest MIDI pitch (0 for an empty piece)."""
    if not len(piece.notes):
        return 0
    p = piece.pitches
    return int(p.max() - p.min())


def pitch_class_histogram(piece: Piece) -> np.ndarray:
    """(12,) share of notes on each pitch class C..B (sums to 1; all zeros for an empty piece)."""
    counts = np.bincount(piece.pitches % 12, minlength=12).astype(np.float64)
    total = counts.sum()
    return counts / total if total else counts


def _entropy_bits(p: np.ndarray) -> float:
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum()) if len(p) else 0.0


def pitch_class_entropy(piece: Piece) -> float:
    """Shannon entropy (bits) of the pitch-class histogram: 0 for one pitch class, log2(12) for all equal."""
    return _entropy_bits(pitch_class_histogram(piece))


def scale_consistency(piece: Piece) -> float:
    """Largest share of notes whose pitch class is in one major scale, over the 12 tonics (0.0 if empty).

    The natural minor scales need no separate pass: A minor has exactly C major's pitch classes, and so on.
    """
    h = pitch_class_histogram(piece)
    if not h.any():
        return 0.0
    # a share: the sum of shares that add up to 1 can round to 1.0000000000000002
    return min(1.0, float(max(h[np.roll(MAJOR, tonic)].sum() for tonic in range(12))))


# -- texture and time ------------------------------------------------------------------------------------
def _pianoroll(piece: Piece, grid: int) -> np.ndarray:
    """(steps, 128) bool: pitch sounds at step. A note covers steps round(start*grid) up to
    round(end*grid) (exclusive), at least one step."""
    n = piece.notes
    if not len(n):
        return np.zeros((0, 128), dtype=bool)
    a = np.rint(n[:, START] * grid).astype(np.int64)
    b = np.maximum(a + 1, np.rint((n[:, START] + n[:, DUR]) * grid).astype(np.int64))
    roll = np.zeros((int(b.max()), 128), dtype=bool)
    for lo, hi, p in zip(a, b, n[:, PITCH].astype(np.int64)):
        roll[lo:hi, p] = True
    return roll


def _sounding_counts(piece: Piece, grid: int) -> np.ndarray:
    counts = _pianoroll(piece, grid).sum(axis=1)
    return counts[counts > 0]


def polyphony(piece: Piece, grid: int = 4) -> float:
    """Mean number of distinct pitches sounding, over the steps (`grid` per quarter) where any sounds."""
    c = _sounding_counts(piece, grid)
    return float(c.mean()) if len(c) else 0.0


def polyphony_rate(piece: Piece, grid: int = 4) -> float:
    """Share of sounding steps (`grid` per quarter) where more than one pitch sounds."""
    c = _sounding_counts(piece, grid)
    return float((c > 1).mean()) if len(c) else 0.0


def beat_length(piece: Piece) -> float:
    """Quarters per beat: 4/den (a quarter in 4/4 and 3/4, an eighth in 6/8, a half in 2/2)."""
    return 4.0 / piece.time_signature[1]


def empty_beat_rate(piece: Piece) -> float:
    """Share of the beats 0 .. ceil(end/beat) in which no note sounds at any point (0.0 if empty)."""
    n = piece.notes
    if not len(n):
        return 0.0
    beat = beat_length(piece)
    total = max(1, math.ceil(piece.end / beat - EPS))
    first = np.floor(n[:, START] / beat + EPS).astype(np.int64)
    stop = np.maximum(first + 1, np.ceil((n[:, START] + n[:, DUR]) / beat - EPS).astype(np.int64))
    delta = np.zeros(total + 1, dtype=np.int64)
    np.add.at(delta, np.clip(first, 0, total), 1)
    np.add.at(delta, np.clip(stop, 0, total), -1)
    return float((np.cumsum(delta)[:total] == 0).mean())


def bar_count(piece: Piece) -> int:
    """Bars up to the last bar in which a note starts or sounds (a piece ending on a barline adds none)."""
    if not len(piece.notes):
        return 0
    return max(1, math.ceil(piece.end / piece.bar_length - EPS))


def onset_patterns(piece: Piece, grid: int = 4) -> np.ndarray:
    """(bars, bar_length*grid) bool: a note starts at that step of that bar (onsets rounded to the grid)."""
    bars = bar_count(piece)
    width = max(1, int(round(piece.bar_length * grid)))
    pat = np.zeros((bars, width), dtype=bool)
    if bars:
        step = np.rint(piece.notes[:, START] * grid).astype(np.int64)
        bar, pos = np.divmod(step, width)
        ok = bar < bars  # an onset rounded onto the final barline belongs to no counted bar
        pat[bar[ok], pos[ok]] = True
    return pat


def groove_consistency(piece: Piece, grid: int = 4) -> float:
    """1 - mean Hamming distance between neighbouring bars' onset patterns / pattern length (1.0 if < 2 bars)."""
    pat = onset_patterns(piece, grid)
    if len(pat) < 2:
        return 1.0
    return float(1.0 - (pat[1:] != pat[:-1]).mean())


def note_length_histogram(piece: Piece) -> np.ndarray:
    """(12,) share of notes whose duration falls in each NOTE_LENGTH_BINS bin (all zeros if empty)."""
    counts, _ = np.histogram(piece.notes[:, DUR], bins=NOTE_LENGTH_EDGES)
    counts = counts.astype(np.float64)
    total = counts.sum()
    return counts / total if total else counts


def repetition(piece: Piece, n: int = 4) -> dict[str, float]:
    """How much of the piece repeats itself.

    repeated_bars: share of bars with at least one onset whose content, the set of (onset within the bar,
    duration, pitch) rounded to 1/48 quarter, equals that of an earlier bar. A note belongs to the bar it
    starts in. repeated_ngrams: share of the n-grams of the onset-ordered note sequence (chords flattened
    low to high) of (pitch, duration rounded to 1/48) that occurred earlier (overlaps allowed). 0.0 when
    there are no bars / fewer than n notes.
    """
    notes = piece.notes
    r = REPEAT_RESOLUTION
    bl = piece.bar_length
    bars: dict[int, set[tuple[int, int, int]]] = {}
    for s, d, p in notes[:, [START, DUR, PITCH]]:
        b = int(math.floor(s / bl + EPS))
        bars.setdefault(b, set()).add((int(round((s - b * bl) * r)), int(round(d * r)), int(p)))
    seen_bars: set[frozenset] = set()
    repeated = 0
    for b in sorted(bars):
        content = frozenset(bars[b])
        repeated += content in seen_bars
        seen_bars.add(content)
    seq = [(int(p), int(round(d * r))) for d, p in notes[:, [DUR, PITCH]]]
    grams = [tuple(seq[i : i + n]) for i in range(len(seq) - n + 1)]
    seen_grams: set[tuple] = set()
    repeated_grams = 0
    for g in grams:
        repeated_grams += g in seen_grams
        seen_grams.add(g)
    return {
        "repeated_bars": repeated / len(bars) if bars else 0.0,
        "repeated_ngrams": repeated_grams / len(grams) if grams else 0.0,
    }


def piece_metrics(piece: Piece) -> dict[str, float]:
    """Every scalar metric of one piece, keyed (and ordered) as METRIC_INFO."""
    rep = repetition(piece)
    out = {
        "pitch_range": float(pitch_range(piece)),
        "pitch_class_entropy": pitch_class_entropy(piece),
        "scale_consistency": scale_consistency(piece),
        "polyphony": polyphony(piece),
        "polyphony_rate": polyphony_rate(piece),
        "empty_beat_rate": empty_beat_rate(piece),
        "groove_consistency": groove_consistency(piece),
        "repeated_bars": float(rep["repeated_bars"]),
        "repeated_ngrams": float(rep["repeated_ngrams"]),
        "notes": float(len(piece.notes)),
        "bars": float(bar_count(piece)),
        "mean_note_length": float(piece.notes[:, DUR].mean()) if len(piece.notes) else 0.0,
    }
    return out


# -- comparing sets --------------------------------------------------------------------------------------
def histogram_distance(p: np.ndarray, q: np.ndarray) -> dict[str, float]:
    """Overlap and KL divergence of two histograms over the same bins; p generated, q reference.

    overlap: sum over bins of min(p, q) after normalizing each to sum 1 (1 = identical, 0 = disjoint; 0 if
    either is all zeros). kl: KL(q || p) in bits, the reference against the generated distribution, after
    adding KL_EPS to every bin of both and renormalizing (finite even where p is 0).
    """
    p = np.asarray(p, dtype=np.float64).ravel()
    q = np.asarray(q, dtype=np.float64).ravel()
    if p.shape != q.shape:
        raise ValueError(f"histograms of different sizes: {p.shape} and {q.shape}")
    pn = p / p.sum() if p.sum() > 0 else np.zeros_like(p)
    qn = q / q.sum() if q.sum() > 0 else np.zeros_like(q)
    overlap = float(np.minimum(pn, qn).sum())
    ps = (pn + KL_EPS) / (pn + KL_EPS).sum()
    qs = (qn + KL_EPS) / (qn + KL_EPS).sum()
    kl = float((qs * np.log2(qs / ps)).sum())
    return {"overlap": min(1.0, overlap), "kl": max(0.0, kl)}


def distribution_distance(
    generated: Sequence[float], reference: Sequence[float], points: int = 512
) -> dict[str, float]:
    """Compare one metric's values over generated pieces with its values over reference pieces.

    As Yang & Lerch (2020) do, each set is smoothed into a density by a Gaussian kernel density estimate
    (Scott's bandwidth; a constant set gets 5% of the joint range), so a handful of generated pieces can be
    compared without empty-bin artefacts. overlap: the area under the smaller of the two densities, in [0, 1]
    (1 = the same distribution); kl: KL(reference || generated) in bits, on a grid of `points` values
    spanning both sets (densities floored at 1e-12). Two constant, equal sets give overlap 1.0 and kl 0.0.
    Non-finite values are dropped; an empty set gives NaN overlap and kl (and NaN mean/std for that set).
    """
    g = np.asarray(generated, dtype=np.float64).ravel()
    r = np.asarray(reference, dtype=np.float64).ravel()
    g, r = g[np.isfinite(g)], r[np.isfinite(r)]
    out = {
        "overlap": math.nan,
        "kl": math.nan,
        "generated_mean": float(g.mean()) if len(g) else math.nan,
        "generated_std": float(g.std()) if len(g) else math.nan,
        "reference_mean": float(r.mean()) if len(r) else math.nan,
        "reference_std": float(r.std()) if len(r) else math.nan,
    }
    if not len(g) or not len(r):
        return out
    lo, hi = min(g.min(), r.min()), max(g.max(), r.max())
    span = hi - lo
    if span <= EPS * max(1.0, abs(lo)):
        return out | {"overlap": 1.0, "kl": 0.0}
    bw = [_bandwidth(x, span) for x in (g, r)]
    grid = np.linspace(lo - 4 * max(bw), hi + 4 * max(bw), points)
    step = grid[1] - grid[0]
    pg, pr = (p / (p.sum() * step) for p in (_kde(g, grid, bw[0]), _kde(r, grid, bw[1])))
    overlap = float(np.minimum(pg, pr).sum() * step)
    pg, pr = np.maximum(pg, 1e-12), np.maximum(pr, 1e-12)
    kl = float((pr * np.log2(pr / pg)).sum() * step)
    return out | {"overlap": min(1.0, overlap), "kl": max(0.0, kl)}


def _bandwidth(x: np.ndarray, span: float) -> float:
    sd = float(x.std())
    return 1.06 * sd * len(x) ** -0.2 if sd > EPS * span else 0.05 * span


def _kde(x: np.ndarray, grid: np.ndarray, bw: float) -> np.ndarray:
    z = (grid[:, None] - x[None, :]) / bw
    return np.exp(-0.5 * z * z).sum(1) / (len(x) * bw * math.sqrt(2 * math.pi))
