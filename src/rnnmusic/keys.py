"""Keys: estimation (Krumhansl-Schmuckler correlation), normalization to C major / A minor, augmentation.

Estimation (`key_of_histogram`) correlates a duration-weighted pitch-class histogram with the 24 rotated key
profiles and picks the key with the highest Pearson correlation, exactly as music21's `Stream.analyze('key')`
does. A piece's histogram counts its notes (`estimate_key`), a chord progression's its chord tones
(`progression_key`): one estimator for both. Note that music21's default profile for `analyze('key')` is
**Aarden-Essen** (the 'key' identifier belongs to `music21.analysis.discrete.AardenEssen`), not the
Krumhansl-Kessler weights its docstring names; the weight tables are read from music21 itself so the two
always agree. `profile="krumhansl"` selects Krumhansl-Kessler.

Key names use the spelling whose key signature has the fewest accidentals; at six (F#/Gb major, D#/Eb
minor) the music21 choices F# major and Eb minor are used: C Db D Eb E F F# G Ab A Bb B major and
C C# D Eb E F F# G G# A Bb B minor.

Every transposition goes through `Piece.transpose`, so `.shift` accumulates; the key a piece had before all
shifts is `key_before_shift(piece)` (its `.key` moved down by `.shift`).
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

from .chords import ChordError
from .errors import UserError
from .piece import DUR, HIGHEST, LOWEST, Piece
from .progressions import ChordSpan

MAJOR, MINOR = "major", "minor"
PIANO_LOW, PIANO_HIGH = 21, 108
_NAMES = {MAJOR: ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"),
          MINOR: ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B")}
_LETTERS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_ACCIDENTALS = {"": 0, "#": 1, "♯": 1, "b": -1, "-": -1, "♭": -1}
_KEY_RE = re.compile(r"^([A-Ga-g])([#♯b♭-]?)\s*(m|M|min|minor|maj|major)?$", re.IGNORECASE)


@dataclass(frozen=True)
class Key:
    tonic: int          # pitch class 0..11 (0 = C)
    mode: str = MAJOR   # "major" | "minor"

    def __post_init__(self):
        if self.mode not in (MAJOR, MINOR):
            raise ValueError(f"mode must be 'major' or 'minor', not {self.mode!r}")
        object.__setattr__(self, "tonic", int(self.tonic) % 12)

    @property
    def name(self) -> str:
        return f"{_NAMES[self.mode][self.tonic]} {self.mode}"

    def transposed(self, semitones: int) -> Key:
        return Key(self.tonic + semitones, self.mode)

    def __str__(self) -> str:
        return self.name


def parse_key(text: str | Key) -> Key:
    """'G', 'G major', 'Gm', 'g minor', 'F#m', 'Bb', 'Bb major', 'C# minor', music21's 'A-' / 'e-'.

    Sharps are '#'; flats 'b' or '-'. With no mode word an upper-case letter means major and a lower-case
    one minor (music21's convention: 'g' is G minor); a mode word ('m', 'min', 'minor', 'maj', 'major';
    'M' alone means major) always wins. Anything else raises UserError.
    """
    if isinstance(text, Key):
        return text
    m = _KEY_RE.match(str(text).strip())
    if not m:
        raise UserError(f"unknown key {text!r}; use e.g. G, Em, Bb major, F# minor")
    letter, accidental, word = m.groups()
    if word is None:
        mode = MAJOR if letter.isupper() else MINOR
    else:
        mode = MINOR if word == "m" or word.lower() in ("min", "minor") else MAJOR
    return Key(_LETTERS[letter.upper()] + _ACCIDENTALS[accidental], mode)


def _piece_key(piece: Piece) -> Key | None:
    try:
        return parse_key(piece.key.replace(" ", "")) if piece.key else None
    except UserError:
        return None


def key_before_shift(piece: Piece) -> Key | None:
    """The key a piece had before all the transpositions its `.shift` records (None when `.key` is unset)."""
    k = _piece_key(piece)
    return k.transposed(-piece.shift) if k else None


# -- estimation -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class KeyEstimate:
    key: Key
    correlation: float                              # Pearson r of the histogram with key's profile
    alternatives: tuple[tuple[Key, float], ...]     # the other 23 keys, best first

    def __str__(self) -> str:
        return f"{self.key.name} (r={self.correlation:.3f})"


@cache
def _profiles(profile: str) -> np.ndarray:
    """(24, 12) rotated, mean-centred profiles: rows 0..11 major on tonic C..B, rows 12..23 minor."""
    from music21.analysis import discrete

    cls = {"aarden": discrete.AardenEssen, "krumhansl": discrete.KrumhanslSchmuckler}.get(profile)
    if cls is None:
        raise ValueError(f"unknown key profile {profile!r}; use 'aarden' (music21's default) or 'krumhansl'")
    rows = []
    for mode in (MAJOR, MINOR):
        w = np.asarray(cls().getWeights(mode), dtype=np.float64)
        rows += [np.roll(w, t) for t in range(12)]  # row[j] = w[(j - t) % 12]
    p = np.stack(rows)
    return p - p.mean(axis=1, keepdims=True)


def pitch_class_histogram(piece: Piece) -> np.ndarray:
    """Total duration (quarters) per pitch class; note counts when every note has zero duration."""
    pcs = piece.pitches % 12
    h = np.bincount(pcs, weights=np.maximum(piece.notes[:, DUR], 0.0), minlength=12)
    return h if h.sum() > 0 else np.bincount(pcs, minlength=12).astype(np.float64)


def key_of_histogram(h, *, profile: str = "aarden") -> KeyEstimate:
    """The key estimator (Krumhansl-Schmuckler with music21's weights): the 24 keys ranked by the Pearson
    correlation of the 12 pitch-class weights `h` with each key's rotated profile. A flat (or all-zero)
    histogram gives C major with correlation 0; ties go to major before minor, then the lower tonic."""
    h = np.asarray(h, dtype=np.float64)
    p = _profiles(profile)
    hc = h - h.mean()
    denom = np.sqrt((p ** 2).sum(axis=1) * (hc ** 2).sum())
    r = np.divide(p @ hc, denom, out=np.zeros(24), where=denom > 0)
    order = np.argsort(-r, kind="stable")
    ranked = [(Key(i % 12, MAJOR if i < 12 else MINOR), float(r[i])) for i in order]
    return KeyEstimate(ranked[0][0], ranked[0][1], tuple(ranked[1:]))


def estimate_key(piece: Piece, *, profile: str = "aarden") -> KeyEstimate:
    """The key of a piece: `key_of_histogram` of its duration-weighted `pitch_class_histogram` (an empty piece:
    C major, correlation 0)."""
    return key_of_histogram(pitch_class_histogram(piece) if len(piece) else np.zeros(12), profile=profile)


def chord_tone_histogram(spans: Sequence[ChordSpan]) -> np.ndarray:
    """Total duration (quarters) per pitch class of a progression's chord tones: each chord adds its span's
    length to each of its tones (a slash bass outside the chord and N.C. spans add nothing)."""
    h = np.zeros(12)
    for s in spans:
        if s.chord is not None:
            h[list(s.chord.tones())] += max(s.end - s.start, 0.0)
    return h


def progression_key(spans: Sequence[ChordSpan], *, profile: str = "aarden") -> tuple[int, str]:
    """(tonic pitch class, "major" or "minor") of a chord progression: the same estimator as `estimate_key`
    (`key_of_histogram`) fed the chords' tones weighted by duration (`chord_tone_histogram`) instead of notes.
    Raises ChordError when the progression has no chords."""
    h = chord_tone_histogram(spans)
    if not h.any():
        raise ChordError("cannot estimate the key of a chord progression with no chords")
    key = key_of_histogram(h, profile=profile).key
    return key.tonic, key.mode


# -- transposition ---------------------------------------------------------------------------------------
def _nearest(d: int) -> int:
    """d mod 12 as the shift in -6..+5 (a tritone goes down)."""
    d %= 12
    return d - 12 if d >= 6 else d


def normalizing_shift(key: Key | str) -> int:
    """Semitones in -6..+5 taking a major key to C major or a minor key to A minor (a tritone: -6)."""
    key = parse_key(key)
    return _nearest((0 if key.mode == MAJOR else 9) - key.tonic)


def _fits(piece: Piece, s: int, lo: int, hi: int) -> bool:
    return not len(piece) or (piece.pitches.min() + s >= lo and piece.pitches.max() + s <= hi)


def _shift_to(piece: Piece, d: int, new_key: Key, lo: int, hi: int) -> Piece:
    """Transpose by d (in -6..+5), or by the other octave's d -/+ 12 when d leaves lo..hi; ValueError if
    neither fits. The result's `.key` is new_key's name."""
    for s in (d, d - 12 if d > 0 else d + 12):
        if _fits(piece, s, lo, hi):
            out = piece.transpose(s)
            out.key = new_key.name
            return out
    raise ValueError(f"cannot move {piece.source or 'piece'} to {new_key.name}: "
                     f"shifting by {d:+d} or its octave leaves pitches {lo}..{hi}")


def _current_key(piece: Piece) -> Key:
    return _piece_key(piece) or estimate_key(piece).key


def normalize_key(piece: Piece, *, lo: int = LOWEST, hi: int = HIGHEST) -> Piece:
    """The piece moved to C major (major keys) or A minor (minor keys).

    The key is `piece.key` when it parses, else estimated. The shift is `normalizing_shift(key)`, or that
    shift -/+ 12 when the first would leave pitches lo..hi (default MIDI 0..127). Raises ValueError (with
    the reason; callers skip the piece) when neither fits. The result has `.key` "C major"/"A minor" and
    `.shift` increased by the shift applied, so `key_before_shift(result)` is the original key.
    """
    key = _current_key(piece)
    return _shift_to(piece, normalizing_shift(key), Key(0 if key.mode == MAJOR else 9, key.mode), lo, hi)


def transpose_to(piece: Piece, target: Key | str, *, lo: int = LOWEST, hi: int = HIGHEST) -> Piece:
    """The piece moved so its tonic is target's tonic (shift in -6..+5, else the other octave; ValueError
    when neither stays within lo..hi). The mode is kept: a minor piece sent to "G" becomes G minor, and the
    result's `.key` says so. The piece's key is `piece.key` when it parses, else estimated."""
    key, target = _current_key(piece), parse_key(target)
    return _shift_to(piece, _nearest(target.tonic - key.tonic), Key(target.tonic, key.mode), lo, hi)


def augment(pieces: list[Piece], semitones: int, seed: int, copies: int = 1, *,
            lo: int = PIANO_LOW, hi: int = PIANO_HIGH) -> list[Piece]:
    """Transposed copies for data augmentation (only the new copies are returned, in piece order).

    For piece i, up to `copies` copies with distinct random nonzero shifts in [-semitones, +semitones],
    drawn uniformly among the shifts that keep every note within lo..hi (the piano, 21..108); the draw
    depends only on (seed, i). A piece with fewer valid shifts than `copies` gets one copy per valid shift,
    one with none gets no copy. A copy's `.key` is the original's key moved along, when the original had one.
    """
    out: list[Piece] = []
    for i, piece in enumerate(pieces):
        low, high = (int(piece.pitches.min()), int(piece.pitches.max())) if len(piece) else (lo, lo)
        key = _piece_key(piece)
        for s in augment_shifts(low, high, semitones, seed, i, copies, lo=lo, hi=hi):
            copy = piece.transpose(s)
            copy.key = key.transposed(s).name if key else None
            out.append(copy)
    return out


def augment_shifts(low: int, high: int, semitones: int, seed: int, index: int, copies: int = 1, *,
                   lo: int = PIANO_LOW, hi: int = PIANO_HIGH) -> list[int]:
    """The shifts `augment` applies to item `index` whose pitches span low..high: up to `copies` distinct
    nonzero shifts in [-semitones, +semitones] keeping low..high within lo..hi, drawn from (seed, index)."""
    if semitones < 1 or copies < 1:
        return []
    valid = [s for s in range(-semitones, semitones + 1) if s and low + s >= lo and high + s <= hi]
    rng = np.random.default_rng([seed % 2 ** 63, index])
    return [int(s) for s in rng.permutation(valid)[:copies]] if valid else []


def augment_rolls(rolls: list[np.ndarray], semitones: int, seed: int, copies: int = 1) -> list[np.ndarray]:
    """`augment` for piano rolls (T, K), one column per semitone: transposed copies (the columns shifted),
    drawn by the same rule, so no note leaves the roll."""
    out = []
    for i, roll in enumerate(rolls):
        cols = np.flatnonzero(roll.any(0))
        if not len(cols):
            continue
        width = roll.shape[1]
        for s in augment_shifts(int(cols[0]), int(cols[-1]), semitones, seed, i, copies, lo=0, hi=width - 1):
            copy = np.zeros_like(roll)
            copy[:, max(s, 0):width + min(s, 0)] = roll[:, max(-s, 0):width - max(s, 0)]
            out.append(copy)
    return out
