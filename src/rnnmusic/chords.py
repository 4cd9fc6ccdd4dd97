"""Chord symbols: what a chord is (root and quality), how it is written and read, and which chord a set of
pitch classes is.

A `Chord` is a root pitch class (0 = C) and a quality from `QUALITIES` (the intervals above the root), with an
optional slash bass. Extended and altered symbols map onto the nearest of these qualities (``C9`` -> ``7``,
``Cm11`` -> ``m7``, ``C7b9`` -> ``7``): the models condition on root and quality only, which keeps the set
small and transposition-invariant (a chord's root is counted from the key's tonic, see `rnnmusic.lead`).
`parse_chord` reads a symbol, `Chord.name` writes one, `recognize` names the chord of pitch-class weights.

Chords in time (progressions, `ChordSpan`) are `rnnmusic.progressions`; the key of a progression is
`rnnmusic.keys.progression_key`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace

import numpy as np

from .errors import UserError

# quality -> intervals above the root (semitones). The order is fixed: quality ids index into it.
QUALITIES: dict[str, tuple[int, ...]] = {
    "maj": (0, 4, 7),
    "min": (0, 3, 7),
    "7": (0, 4, 7, 10),
    "maj7": (0, 4, 7, 11),
    "m7": (0, 3, 7, 10),
    "dim": (0, 3, 6),
    "dim7": (0, 3, 6, 9),
    "m7b5": (0, 3, 6, 10),
    "aug": (0, 4, 8),
    "sus4": (0, 5, 7),
    "sus2": (0, 2, 7),
    "6": (0, 4, 7, 9),
    "m6": (0, 3, 7, 9),
    "mmaj7": (0, 3, 7, 11),
}
QUALITY_NAMES = tuple(QUALITIES)
# how each quality is written after the root: C, Cm, C7, Cmaj7, Cm7, Cdim, Cdim7, Cm7b5, Caug, ...
SUFFIX = {"maj": "", "min": "m", "7": "7", "maj7": "maj7", "m7": "m7", "dim": "dim", "dim7": "dim7",
          "m7b5": "m7b5", "aug": "aug", "sus4": "sus4", "sus2": "sus2", "6": "6", "m6": "m6", "mmaj7": "m(maj7)"}
SHARP_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
FLAT_NAMES = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
ROOT_NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")  # the usual lead-sheet spelling


class ChordError(UserError):
    """A chord symbol or progression that cannot be read; the message names the symbol."""


@dataclass(frozen=True)
class Chord:
    root: int                 # pitch class 0..11 (0 = C)
    quality: str = "maj"      # a key of QUALITIES
    bass: int | None = None   # slash bass pitch class (C/E -> 4), None when the root is the bass

    def __post_init__(self):
        if self.quality not in QUALITIES:
            raise ValueError(f"unknown chord quality {self.quality!r}")
        object.__setattr__(self, "root", int(self.root) % 12)
        if self.bass is not None:
            object.__setattr__(self, "bass", int(self.bass) % 12)

    def tones(self) -> tuple[int, ...]:
        """Pitch classes of the chord (root first, then upward; a slash bass is not added)."""
        return tuple((self.root + i) % 12 for i in QUALITIES[self.quality])

    def transpose(self, semitones: int) -> Chord:
        return replace(self, root=self.root + semitones, bass=None if self.bass is None else self.bass + semitones)

    def name(self, flats: bool | None = None) -> str:
        """The symbol as written on a lead sheet: ``Dm7``, ``G7``, ``Cmaj7``, ``F#m7b5``, ``C/E``."""
        names = ROOT_NAMES if flats is None else (FLAT_NAMES if flats else SHARP_NAMES)
        text = names[self.root] + SUFFIX[self.quality]
        return text if self.bass is None else f"{text}/{names[self.bass]}"

    def __str__(self) -> str:
        return self.name()


# ---------------------------------------------------------------------------------------------------------------
# Reading chord symbols
# ---------------------------------------------------------------------------------------------------------------

NO_CHORD = frozenset({"N.C.", "NC", "N.C", "n.c.", "nc", "n.c", "N.c."})
_LETTER_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_ACCIDENTAL = {"": 0, "#": 1, "♯": 1, "b": -1, "♭": -1}
_ROOT = re.compile(r"([A-G])([#♯b♭]?)(.*)", re.S)
_BASS = re.compile(r"([A-Ga-g])([#♯b♭]?)")

# suffix patterns (after normalisation, see `_normalise_suffix`) -> quality; the first full match wins
_NUM = r"(?:7|9|11|13)"
_ALT = r"(?:[b#](?:5|9|11|13)|alt|add(?:2|4|9|11|13))*"
_MAJ = r"(?:M|maj|Maj|ma|major)"
_MIN = r"(?:m|min|mi|-)"
_QUALITY_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p), q) for p, q in (
    (rf"{_MAJ}?(?:add(?:2|4|9|11))?|2|5", "maj"),                    # C, CM, Cmaj, Cadd9, C2, C5
    (rf"{_MAJ}{_NUM}{_ALT}", "maj7"),                                # Cmaj7, CM9, Cmaj7#11
    (r"6(?:/?9|add9)?", "6"),                                         # C6, C69, C6/9
    (rf"{_MIN}(?:add(?:2|4|9|11))?", "min"),                         # Cm, Cmin, C-, Cmadd9
    (rf"{_MIN}6(?:/?9|add9)?", "m6"),                                # Cm6, C-6, Cm69
    (rf"{_MIN}{_MAJ}{_NUM}{_ALT}", "mmaj7"),                        # CmM7, Cmmaj7, C-maj7
    (rf"{_MIN}{_NUM}(?:{_ALT})b5{_ALT}", "m7b5"),                    # Cm7b5, C-7b5, Cm9b5
    (rf"{_MIN}{_NUM}{_ALT}", "m7"),                                  # Cm7, Cm9, Cm11, C-9
    (r"dim|o", "dim"),                                                # Cdim, Co (and C°)
    (r"dim7|o7", "dim7"),                                             # Cdim7, Co7 (and C°7)
    (r"ø(?:7|9|11)?", "m7b5"),                                        # Cø, Cø7
    (r"aug|\+|\+5|#5|aug5", "aug"),                                   # Caug, C+, C#5
    (rf"(?:aug|\+){_NUM}{_ALT}|{_NUM}(?:\+|aug){_ALT}", "7"),        # Caug7, C+7, C7+
    (r"sus4?", "sus4"),
    (r"sus2", "sus2"),
    (rf"{_NUM}sus4?{_ALT}", "sus4"),                                 # C7sus, C9sus4, C13sus
    (rf"{_NUM}sus2{_ALT}", "sus2"),
    (rf"(?:dom)?{_NUM}{_ALT}", "7"),                                 # C7, C9, C13, C7b9, C7alt, C7#5, C9b5
))


class _Unreadable(Exception):
    """Internal: why a symbol cannot be read (wrapped into a ChordError that names the symbol)."""


def quoted(text: str, limit: int = 40) -> str:
    """`text` quoted for a one-line message (repr escapes newlines), shortened when long."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _pitch_class(letter: str, accidental: str) -> int:
    return (_LETTER_PC[letter.upper()] + _ACCIDENTAL[accidental]) % 12


def _normalise_suffix(suffix: str) -> str:
    """Unify spellings of a quality suffix: unicode accidentals, parentheses, commas, spaces, triangle/caret."""
    s = suffix.replace("♯", "#").replace("♭", "b").replace("−", "-").replace("°", "o")
    s = re.sub(r"[()\[\],\s]", "", s)
    s = re.sub(r"[Δ^](?![0-9])", "maj7", s)          # a bare triangle is a major seventh: CΔ, C-Δ
    return s.replace("Δ", "maj").replace("^", "maj")  # CΔ9 = Cmaj9


def _quality(suffix: str) -> str:
    """The QUALITIES key a written suffix maps onto (raises _Unreadable when none)."""
    s = _normalise_suffix(suffix)
    for pattern, quality in _QUALITY_RULES:
        if pattern.fullmatch(s):
            return quality
    raise _Unreadable(f"cannot read the chord quality {suffix!r}")


def _split_bass(rest: str) -> tuple[str, int | None]:
    """Split ``m7/C`` into (``m7``, 0). A slash followed by something that is no note stays in the suffix (6/9)."""
    head, slash, tail = rest.rpartition("/")
    if not slash:
        return rest, None
    m = _BASS.fullmatch(tail.strip())
    if m is None:
        if re.fullmatch(r"\s*[0-9].*", tail):  # C6/9: the slash belongs to the quality
            return rest, None
        raise _Unreadable(f"the bass {tail!r} after '/' is not a note A-G")
    return head, _pitch_class(m.group(1), m.group(2))


def _parse(symbol: str) -> Chord | None:
    """Read a stripped symbol; raises _Unreadable with the reason."""
    if not symbol:
        raise _Unreadable("it is empty")
    if symbol in NO_CHORD:
        return None
    m = _ROOT.fullmatch(symbol)
    if m is None:
        raise _Unreadable("a chord starts with a root letter A-G")
    letter, accidental, rest = m.groups()
    suffix, bass = _split_bass(rest)
    return Chord(_pitch_class(letter, accidental), _quality(suffix), bass)


def parse_chord(symbol: str, where: str = "") -> Chord | None:
    """Read a lead-sheet chord symbol; None for no chord (``N.C.``, ``NC``).

    The root is a capital letter A-G with an optional ``#``/``♯``/``b``/``♭``; then a quality suffix, mapped
    onto the nearest of `QUALITIES` (``C9`` -> 7, ``Cm11`` -> m7, ``CΔ`` -> maj7, ``C6/9`` -> 6, ``C5`` and
    ``Cadd9`` -> maj, ``C7sus4`` -> sus4, ``C7#5`` and ``C+7`` -> 7); then an optional slash bass (``C/E``;
    the bass letter may be lower case as in ABC tunes: ``Am/c``). A ``-`` after the root always means minor
    (jazz ``C-7`` = ``Cm7``), never music21's flat: write ``Db``, not ``D-``. A ``b`` directly after the root
    letter is the root's flat (``Bb7``, ``Cb``).

    Raises ChordError (naming the symbol, then `where` it stands, e.g. " in bar 3", and the problem) for anything
    else.
    """
    text = symbol.strip()
    try:
        return _parse(text)
    except _Unreadable as e:
        raise ChordError(f"unknown chord symbol {quoted(text)}{where}: {e}") from None


# ---------------------------------------------------------------------------------------------------------------
# Recognising a chord from pitch-class weights
# ---------------------------------------------------------------------------------------------------------------

BASS_BONUS = 0.1          # added to a candidate whose root is the bass
QUALITY_PENALTY = 1e-3    # times the quality's index in QUALITIES: ties go to the simpler quality


def _templates() -> tuple[np.ndarray, list[Chord]]:
    """Unit-length binary templates (rows) for every root x quality, and the chords they stand for."""
    rows, chords = [], []
    for quality in QUALITY_NAMES:
        for root in range(12):
            chord = Chord(root, quality)
            row = np.zeros(12)
            row[list(chord.tones())] = 1.0
            rows.append(row / np.linalg.norm(row))
            chords.append(chord)
    return np.array(rows), chords


_TEMPLATES, _TEMPLATE_CHORDS = _templates()
_PENALTIES = np.array([QUALITY_PENALTY * QUALITY_NAMES.index(c.quality) for c in _TEMPLATE_CHORDS])
_ROOTS = np.array([c.root for c in _TEMPLATE_CHORDS])


def recognize(weights, bass: int | None = None) -> Chord | None:
    """The chord (root and quality, no slash bass) best matching 12 pitch-class weights; None if all are 0.

    Score per candidate = cosine similarity of `weights` with its binary template, + BASS_BONUS when its root
    is the `bass` pitch class, - QUALITY_PENALTY x its index in QUALITIES (so exact ties go to maj, min, 7,
    ... in that order, then to the lower root). A chord's exact pitch set comes back as that chord when its
    root is in the bass, including sets that are several chords at once (C6 = Am7, Cdim7, Caug, Csus4 = Fsus2).
    """
    w = np.asarray(weights, dtype=float)
    if w.shape != (12,) or not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("weights must be 12 finite non-negative pitch-class weights")
    norm = np.linalg.norm(w)
    if norm == 0:
        return None
    scores = _TEMPLATES @ (w / norm) - _PENALTIES
    if bass is not None:
        scores = scores + BASS_BONUS * (int(bass) % 12 == _ROOTS)
    return _TEMPLATE_CHORDS[int(np.argmax(scores))]


__all__ = [
    "BASS_BONUS", "FLAT_NAMES", "NO_CHORD", "QUALITIES", "QUALITY_NAMES", "QUALITY_PENALTY", "ROOT_NAMES",
    "SHARP_NAMES", "SUFFIX", "Chord", "ChordError", "parse_chord", "quoted", "recognize",
]
