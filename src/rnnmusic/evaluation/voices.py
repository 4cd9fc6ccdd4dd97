"""A musical report for four-part chorales, from one `Piece` with no voice labels (`voice_report`).

Generated pieces are one track, so voices are found by register, beat by beat. Times are quarter notes; a beat
is 4/den quarters (a quarter in 4/4, an eighth in 6/8, as `metrics.empty_beat_rate`), from 0 up to the end of the
last note. A note sounds on a beat when it starts at most `TOL` after the beat's instant and ends more than `TOL`
after it. The pitches sounding on a beat, sorted high to low, are its voices when there are exactly four:
soprano (highest), alto, tenor, bass (lowest); a beat with 5+ pitches (a passing note over a held one) is not a
4-voice beat. Merged parts keep one note per onset and pitch, so a unison between two voices sounds as one.

Figures (all `voice_report` keys; shares are 0..1, empty pieces give zeros and a flag, never an error):

* mean_sounding: mean pitches sounding on a beat (silent beats count 0); beats_4 / beats_4plus: share of beats
  with exactly / at least four; silent_beats: share with none.
* range_s, range_a, range_t, range_b: share of the voice's pitches on 4-voice beats inside its usual range
  (`RANGES`: S 60-79, A 55-74, T 48-67, B 40-60, MIDI numbers); range_min: the lowest of the four.
* parallel_fifths, parallel_octaves: pairs of voices a perfect fifth (mod 12: 7) or octave/unison (mod 12: 0)
  apart on a 4-voice beat and by the same interval class on the next beat, also 4-voice, both voices moving in
  the same direction; transitions: consecutive 4-voice beat pairs examined; parallels_per_100: both per 100.
* top_median_interval, top_leaps_over_octave: the top line is, at every onset, the highest sounding note (a held
  note counts once, a re-struck one again); the median absolute interval between consecutive top-line notes in
  semitones, and the share of those intervals over 12 semitones.
* sixteenth_share: share of notes a sixteenth (0.25 quarters) or shorter.
* key (`keys.estimate_key`), final_roots (e.g. "V-I"), cadence (1.0 when the last two chords are V-I or IV-I
  of the key), cadence_relative (1.0 when they are V-I or IV-I of the key or of its relative, the key with the
  same signature: the estimator often takes one for the other, and a real chorale "in A minor" may close in C),
  ends_on_tonic (the last chord's root is the key's tonic). The final chord is the notes reaching the end, the
  chord before it what sounds in the last beat before it arrives (`final_chords`). Root finding (`chord_root`)
  is template matching on pitch-class weights (how long each sounds, in voices): for each of the 12 roots and
  each template (major, minor, diminished triad; dominant, minor and half-diminished seventh) the score is the
  weight inside the template minus the weight outside it minus half the number of template tones missing, plus
  `BASS_BONUS` when the root is the bass; ties go to a root that sounds, then to the bass, then to triads.
  Roots are Roman numerals of the semitones above the key's tonic (`DEGREES`: I, bII, II, bIII, III, IV, #IV,
  V, bVI, VI, bVII, VII); case does not give the chord's quality.
* phrases, phrases_closed, phrases_half, phrase_cadences, phrase_cadences_with_half: phrase ends (each fermata of
  `meta["fermatas"]`, and the final chord), how many close on V-I or IV-I onto the chord under the fermata, in
  the key the phrase has reached, and how many of the others stop on the dominant of the key or of its
  relative (half cadences) (`phrase_ends`); the shares. MIDI files written by rnnmusic keep fermatas as markers.
* collapsed (1.0/0.0): fewer than `MIN_SOUNDING_BEATS` sounding beats, or one sonority (the set of pitches on a
  beat) on more than half of them.
* flags: the figures outside `reference` ranges (default `REFERENCE`) with value and bound, e.g.
  "parallels_per_100 9.1 > 7.5", plus "empty" and "collapsed".
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..keys import MINOR, Key, estimate_key, parse_key
from ..piece import DUR, START, Piece

TOL = 1 / 48                 # quarters: onsets/ends this close to a beat's instant count as on it
SIXTEENTH = 0.25             # quarters
MIN_SOUNDING_BEATS = 8
VOICES = ("s", "a", "t", "b")
RANGES = {"s": (60, 79), "a": (55, 74), "t": (48, 67), "b": (40, 60)}  # usual ranges, MIDI, inclusive
DEGREES = ("I", "bII", "II", "bIII", "III", "IV", "#IV", "V", "bVI", "VI", "bVII", "VII")
CADENCES = frozenset({"V-I", "IV-I"})
BASS_BONUS = 0.5  # voices: what a root in the bass adds (the held-out chorales' cadences read the same through MIDI)
TEMPLATES = (  # (name, intervals above the root): triads first, so ties go to them
    ("major", (0, 4, 7)), ("minor", (0, 3, 7)), ("diminished", (0, 3, 6)),
    ("dominant7", (0, 4, 7, 10)), ("minor7", (0, 3, 7, 10)), ("half-diminished7", (0, 3, 6, 10)),
)
# Per-piece bounds (low, high; None = open) outside which a figure is flagged: about where the 5th (95th)
# percentile of the 409 real chorales lies, or beyond it (bench/chorale_quality/results/real.md: beats 4+ 81%,
# range_min 89%, parallels 10.6 per 100 (7.8 held out), sixteenths 10%); parallels: 7.5 is about three times
# Bach's pooled rate of 2.6 per 100 transitions. Issue #21's own targets hold for sets, not single pieces.
REFERENCE: dict[str, tuple[float | None, float | None]] = {
    "beats_4plus": (0.7, None),
    "range_min": (0.8, None),
    "parallels_per_100": (None, 7.5),
    "top_median_interval": (None, 3.0),
    "top_leaps_over_octave": (None, 0.03),
    "sixteenth_share": (None, 0.15),
    "cadence_relative": (1.0, None),
}


def beat_length(piece: Piece) -> float:
    """Quarters per beat: 4 / the time signature's denominator."""
    return 4.0 / piece.time_signature[1]


def beat_roll(piece: Piece) -> np.ndarray:
    """(beats, 128) bool: which MIDI pitches sound on each beat, beats from 0 to the end of the last note."""
    beat = beat_length(piece)
    n_beats = math.ceil(piece.end / beat - 1e-9) if len(piece) else 0
    roll = np.zeros((n_beats, 128), dtype=bool)
    if not len(piece):
        return roll
    start, end = piece.notes[:, START], piece.notes[:, START] + piece.notes[:, DUR]
    lo = np.ceil((start - TOL) / beat).astype(np.int64).clip(0, n_beats)
    hi = np.ceil((end - TOL) / beat).astype(np.int64).clip(0, n_beats)
    count = np.maximum(hi - lo, 0)
    rows = np.repeat(lo, count) + (np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count))
    roll[rows, np.repeat(piece.pitches, count)] = True
    return roll


def beat_voices(piece: Piece) -> list[np.ndarray]:
    """Per beat, the sounding pitches sorted high to low (soprano first, bass last when four sound)."""
    return [np.flatnonzero(row)[::-1] for row in beat_roll(piece)]


def _four(roll: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(indices of beats with exactly four pitches, their (n, 4) pitches high to low)."""
    idx = np.flatnonzero(roll.sum(1) == 4)
    if not len(idx):
        return idx, np.zeros((0, 4), dtype=np.int64)
    cols = np.nonzero(roll[idx])[1].reshape(-1, 4)  # ascending per row
    return idx, cols[:, ::-1]


def parallels(idx: np.ndarray, chords: np.ndarray) -> tuple[int, int, int]:
    """(parallel fifths, parallel octaves, transitions) over consecutive 4-voice beats `idx` with pitches
    `chords` (n, 4) high to low."""
    nxt = np.flatnonzero(np.diff(idx) == 1)
    if not len(nxt):
        return 0, 0, 0
    a, b = chords[nxt], chords[nxt + 1]
    fifths = octaves = 0
    for i in range(4):
        for j in range(i + 1, 4):
            ia, ib = (a[:, i] - a[:, j]) % 12, (b[:, i] - b[:, j]) % 12
            mi, mj = np.sign(b[:, i] - a[:, i]), np.sign(b[:, j] - a[:, j])
            moving = (mi == mj) & (mi != 0)
            fifths += int(((ia == 7) & (ib == 7) & moving).sum())
            octaves += int(((ia == 0) & (ib == 0) & moving).sum())
    return fifths, octaves, len(nxt)


def top_line(piece: Piece, chunk: int = 256) -> np.ndarray:
    """Pitches of the top line: at each onset the highest sounding note; a held note once, a re-struck one again.
    (Onsets are taken `chunk` at a time against only the notes that can sound then: memory stays small.)"""
    if not len(piece):
        return np.zeros(0, dtype=np.int64)
    start, end, pitch = piece.notes[:, START], piece.notes[:, START] + piece.notes[:, DUR], piece.pitches
    longest = float(piece.notes[:, DUR].max())
    onsets = np.unique(start)
    best = np.empty(len(onsets), dtype=np.int64)
    for c in range(0, len(onsets), chunk):
        on = onsets[c:c + chunk, None]
        lo, hi = np.searchsorted(start, on[0, 0] - longest), np.searchsorted(start, on[-1, 0], side="right")
        st, en, pi = start[None, lo:hi], end[None, lo:hi], pitch[None, lo:hi]
        sounding = ((st <= on) & (en > on + TOL)) | (st == on)  # a note always sounds at its own onset
        best[c:c + chunk] = lo + np.where(sounding, pi, -1).argmax(1)
    keep = np.ones(len(best), dtype=bool)
    keep[1:] = best[1:] != best[:-1]
    return pitch[best[keep]]


def chord_root(pcs: np.ndarray | set[int] | frozenset[int], bass: int | None = None) -> int | None:
    """The root pitch class of a chord by template matching (module docstring); None when nothing sounds.

    `pcs`: pitch classes (each weighs 1) or 12 weights (how long each pitch class sounds, in voices)."""
    if isinstance(pcs, np.ndarray) and pcs.shape == (12,):
        w = pcs.astype(np.float64)
    else:
        w = np.zeros(12)
        w[[int(p) % 12 for p in pcs]] = 1.0
    if not w.any():
        return None
    present = w > 1e-9
    best, best_key = None, None
    for rank, (_, template) in enumerate(TEMPLATES):
        for root in range(12):
            tones = np.zeros(12, dtype=bool)
            tones[[(root + t) % 12 for t in template]] = True
            on_bass = bass is not None and root == bass % 12
            score = w[tones].sum() - w[~tones].sum() - 0.5 * (tones & ~present).sum() + BASS_BONUS * on_bass
            key = (round(score, 9), present[root], on_bass, -rank)
            if best_key is None or key > best_key:
                best, best_key = root, key
    return best


def _weights(piece: Piece, t0: float, t1: float) -> np.ndarray:
    """Per pitch class, the time its notes sound within [t0, t1), divided by t1 - t0 (in voices)."""
    start, end = piece.notes[:, START], piece.notes[:, START] + piece.notes[:, DUR]
    overlap = np.clip(np.minimum(end, t1) - np.maximum(start, t0), 0.0, None)
    return np.bincount(piece.pitches % 12, weights=overlap, minlength=12) / max(t1 - t0, 1e-9)


def final_chords(piece: Piece) -> tuple[tuple[np.ndarray, int], tuple[np.ndarray, int]] | None:
    """((pitch-class weights, bass) of the chord before the last, the same of the last), or None when nothing
    sounds in the beat before the final chord.

    The final chord is the pitches of the notes reaching the end; it arrives when its lowest note starts, or
    earlier when the same pitches sounded just before (a final chord written twice). The chord before is what
    sounds from the last beat before the arrival up to it, each pitch class weighted by how long it sounds there
    (passing notes weigh little); its bass is the lowest pitch sounding just before the arrival."""
    if not len(piece):
        return None
    start, end, pitch = piece.notes[:, START], piece.notes[:, START] + piece.notes[:, DUR], piece.pitches
    finish = float(end.max())
    last = end > finish - TOL
    final = set(pitch[last].tolist())
    arrival = float(start[last][np.argmin(pitch[last])])
    for _ in range(16):
        before = (start <= arrival - TOL) & (end > arrival - TOL)
        if set(pitch[before].tolist()) != final:
            break
        arrival = float(start[before][np.argmin(pitch[before])])
    beat = beat_length(piece)
    t0 = (math.ceil((arrival - TOL) / beat) - 1) * beat
    before = (start <= arrival - TOL) & (end > arrival - TOL)
    w = _weights(piece, t0, arrival) if t0 >= 0 else np.zeros(12)
    if not w.any():
        return None
    bass = int(pitch[before].min()) if before.any() else None
    return (w, bass), (_weights(piece, arrival, finish), min(final))


def final_roots(piece: Piece) -> tuple[int, int] | None:
    """Root pitch classes of the chord before the last and of the last (`final_chords`, `chord_root`)."""
    chords = final_chords(piece)
    if chords is None:
        return None
    (w0, b0), (w1, b1) = chords
    return chord_root(w0, b0), chord_root(w1, b1)  # both sound, so neither is None


def phrase_ends(piece: Piece, key: Key) -> tuple[int, int, int]:
    """(phrases, phrases closing on a cadence, phrases stopping on the dominant): a phrase ends at each fermata
    (`meta["fermatas"]`) and at the final chord; it closes when the root of what sounds in the beat before the
    fermata's chord (`chord_root`) lies a fifth above (V-I) or a fourth above (IV-I) that chord's root, in
    whatever key the phrase has reached; otherwise, it is a half cadence when that chord's root is the dominant
    of `key` or of its relative."""
    if not len(piece):
        return 0, 0, 0
    dominants = {(key.tonic + 7) % 12, (relative_tonic(key) + 7) % 12}
    half = 0
    start, end, pitch = piece.notes[:, START], piece.notes[:, START] + piece.notes[:, DUR], piece.pitches
    beat, finish = beat_length(piece), piece.end
    spans = [(float(a), float(b)) for a, b in piece.meta.get("fermatas", ()) if 0 <= a < finish]
    if not any(b >= finish - TOL for _, b in spans):
        roots = final_roots(piece)
        spans_closed = [roots is not None and (roots[0] - roots[1]) % 12 in (5, 7)]
    else:
        spans_closed = []
    for a, b in spans:
        at, before = (start <= a + TOL) & (end > a + TOL), (start <= a - TOL) & (end > a - TOL)
        w0, w1 = _weights(piece, max(0.0, a - beat), a), _weights(piece, a, max(b, a + TOL))
        if not (at.any() and w0.any() and w1.any()):
            spans_closed.append(False)
            continue
        r0 = chord_root(w0, int(pitch[before].min()) if before.any() else None)
        r1 = chord_root(w1, int(pitch[at].min()))
        spans_closed.append(r0 is not None and r1 is not None and (r0 - r1) % 12 in (5, 7))
        half += not spans_closed[-1] and r1 in dominants
    return len(spans_closed), int(sum(spans_closed)), half


def final_cadence(piece: Piece, key: Key) -> str:
    """The last two chords' roots as degrees of `key`, e.g. "V-I" ("" when there are not two chords)."""
    roots = final_roots(piece)
    return "-".join(DEGREES[(r - key.tonic) % 12] for r in roots) if roots else ""


def relative_tonic(key: Key) -> int:
    """The tonic pitch class of the key with the same signature (C major <-> A minor)."""
    return (key.tonic + (3 if key.mode == MINOR else 9)) % 12


def _share(mask: np.ndarray) -> float:
    return float(mask.mean()) if mask.size else 0.0


def _collapsed(roll: np.ndarray) -> bool:
    sounding = roll[roll.any(1)]
    if len(sounding) < MIN_SOUNDING_BEATS:
        return True
    _, counts = np.unique(sounding, axis=0, return_counts=True)
    return counts.max() > len(sounding) / 2


def flags_for(report: Mapping[str, Any], reference: Mapping[str, tuple[float | None, float | None]]) -> list[str]:
    """Names (with value and bound) of the report's figures outside `reference`'s (low, high) ranges."""
    out = []
    for name, (low, high) in reference.items():
        value = report.get(name)
        if value is None:
            continue
        if low is not None and value < low:
            out.append(f"{name} {value:.3g} < {low:g}")
        elif high is not None and value > high:
            out.append(f"{name} {value:.3g} > {high:g}")
    return out


def voice_report(piece: Piece, *, key: Key | str | None = None,
                 reference: Mapping[str, tuple[float | None, float | None]] | None = None) -> dict[str, Any]:
    """The four-part figures of one piece (module docstring): floats, plus "key", "final_roots" (str) and
    "flags" (list of str). `key`: the key cadences are read in (default: `keys.estimate_key`); `reference`:
    flag bounds (default `REFERENCE`)."""
    roll = beat_roll(piece)
    counts = roll.sum(1)
    idx, chords = _four(roll)
    rep: dict[str, Any] = {"notes": len(piece), "beats": len(roll),
                           "mean_sounding": float(counts.mean()) if len(counts) else 0.0,
                           "beats_4": _share(counts == 4), "beats_4plus": _share(counts >= 4),
                           "silent_beats": _share(counts == 0)}
    for i, v in enumerate(VOICES):
        low, high = RANGES[v]
        rep[f"range_{v}"] = _share((chords[:, i] >= low) & (chords[:, i] <= high)) if len(chords) else 0.0
    rep["range_min"] = min(rep[f"range_{v}"] for v in VOICES)
    fifths, octaves, transitions = parallels(idx, chords)
    rep.update(parallel_fifths=fifths, parallel_octaves=octaves, transitions=transitions,
               parallels_per_100=100.0 * (fifths + octaves) / transitions if transitions else 0.0)
    steps = np.abs(np.diff(top_line(piece)))
    rep["top_median_interval"] = float(np.median(steps)) if len(steps) else 0.0
    rep["top_leaps_over_octave"] = _share(steps > 12)
    rep["sixteenth_share"] = _share(piece.notes[:, DUR] <= SIXTEENTH + 1e-6) if len(piece) else 0.0
    key = parse_key(key) if key is not None else estimate_key(piece).key
    roots = final_roots(piece)
    text = "-".join(DEGREES[(r - key.tonic) % 12] for r in roots) if roots else ""
    closing = roots is not None and (roots[0] - roots[1]) % 12 in (5, 7)  # V-I or IV-I onto the last root
    rep.update(key=key.name, final_roots=text, cadence=float(text in CADENCES),
               cadence_relative=float(closing and roots[1] in (key.tonic, relative_tonic(key))),
               ends_on_tonic=float(roots is not None and roots[1] == key.tonic),
               collapsed=float(_collapsed(roll)))
    phrases, closed, half = phrase_ends(piece, key)
    rep.update(phrases=phrases, phrases_closed=closed, phrases_half=half,
               phrase_cadences=closed / phrases if phrases else 0.0,
               phrase_cadences_with_half=(closed + half) / phrases if phrases else 0.0)
    flags = [] if len(piece) else ["empty"]
    if rep["collapsed"] and len(piece):
        flags.append("collapsed")
    rep["flags"] = flags + (flags_for(rep, REFERENCE if reference is None else reference) if len(piece) else [])
    return rep
