"""Chord symbols: what a chord is (root and quality), how it is written, and progressions in time.

A `Chord` is a root pitch class (0 = C) and a quality from `QUALITIES` (the intervals above the root), with an
optional slash bass. Extended and altered symbols map onto the nearest of these qualities (``C9`` -> ``7``,
``Cm11`` -> ``m7``, ``C7b9`` -> ``7``): the models condition on root and quality only, which keeps the set
small and transposition-invariant (a chord's root is counted from the key's tonic, see `rnnmusic.lead`).

A progression is a list of `ChordSpan`s: (start, end) in quarter notes and the chord sounding then (None =
no chord, "N.C.").
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

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

    def transpose(self, semitones: int) -> "Chord":
        return replace(self, root=self.root + semitones, bass=None if self.bass is None else self.bass + semitones)

    def name(self, flats: bool | None = None) -> str:
        """The symbol as written on a lead sheet: ``Dm7``, ``G7``, ``Cmaj7``, ``F#m7b5``, ``C/E``."""
        names = ROOT_NAMES if flats is None else (FLAT_NAMES if flats else SHARP_NAMES)
        text = names[self.root] + SUFFIX[self.quality]
        return text if self.bass is None else f"{text}/{names[self.bass]}"

    def __str__(self) -> str:
        return self.name()


@dataclass(frozen=True)
class ChordSpan:
    start: float              # quarter notes
    end: float
    chord: Chord | None       # None = no chord (N.C.)


def chord_at(spans: list[ChordSpan], time: float) -> Chord | None:
    """The chord sounding at `time` (None before the first span, after the last, or in an N.C. span)."""
    for s in spans:
        if s.start - 1e-9 <= time < s.end - 1e-9:
            return s.chord
    return None


def transpose_spans(spans: list[ChordSpan], semitones: int) -> list[ChordSpan]:
    return [ChordSpan(s.start, s.end, None if s.chord is None else s.chord.transpose(semitones)) for s in spans]


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


def _short(text: str, limit: int = 40) -> str:
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


def parse_chord(symbol: str) -> Chord | None:
    """Read a lead-sheet chord symbol; None for no chord (``N.C.``, ``NC``).

    The root is a capital letter A-G with an optional ``#``/``♯``/``b``/``♭``; then a quality suffix, mapped
    onto the nearest of `QUALITIES` (``C9`` -> 7, ``Cm11`` -> m7, ``CΔ`` -> maj7, ``C6/9`` -> 6, ``C5`` and
    ``Cadd9`` -> maj, ``C7sus4`` -> sus4, ``C7#5`` and ``C+7`` -> 7); then an optional slash bass (``C/E``;
    the bass letter may be lower case as in ABC tunes: ``Am/c``). A ``-`` after the root always means minor
    (jazz ``C-7`` = ``Cm7``), never music21's flat: write ``Db``, not ``D-``. A ``b`` directly after the root
    letter is the root's flat (``Bb7``, ``Cb``).

    Raises ChordError (naming the symbol and the problem) for anything else.
    """
    text = symbol.strip()
    try:
        return _parse(text)
    except _Unreadable as e:
        raise ChordError(f"unknown chord symbol {_short(text)}: {e}") from None


# ---------------------------------------------------------------------------------------------------------------
# Progressions
# ---------------------------------------------------------------------------------------------------------------

_CONTINUE = object()  # a "." or "/" slot: the previous chord goes on
_TOKEN = re.compile(r"""
    (?P<soft>\n)                         # a line break: a bar line that never makes an empty bar
  | (?P<endstart>:\|:|::)                # end one repeat and start the next
  | (?P<end>:\|(?:\||\])?)               # :|  :||  :|]
  | (?P<start>(?:\||\[)?\|:)             # |:  ||:  [|:
  | (?P<bar>\|\||\|\]|\[\||\|)           # |  ||  |]  [|
  | (?P<word>[^\s|\[\]:]+)               # a chord, a slot mark or %
  | (?P<junk>\S)
""", re.X)


def _bar_slots(words: list[str], number: int, first: bool, beats: int | None) -> list:
    """One written bar's slots: Chord, None (N.C.) or _CONTINUE. `first`: no bar precedes this one."""
    if beats is not None and beats % len(words):
        raise ChordError(f"bar {number} has {len(words)} chords, which do not divide its {beats} beats")
    slots = []
    for i, w in enumerate(words):
        if w in (".", "/"):
            if first and i == 0:
                raise ChordError(f"bar {number} starts with {w!r} but no chord comes before it")
            slots.append(_CONTINUE)
        elif w == "%":
            raise ChordError(f"'%' in bar {number} must stand alone in its bar (it repeats the previous bar)")
        else:
            try:
                slots.append(_parse(w))
            except _Unreadable as e:
                raise ChordError(f"unknown chord symbol {_short(w)} in bar {number}: {e}") from None
    return slots


def _written_bars(text: str, beats: int | None) -> list[list]:
    """The bars of `text` in playing order (repeats expanded, % resolved), each a list of slots."""
    bars: list[list] = []
    words: list[str] = []
    section = 0           # where the running repeat section starts (in `bars`)
    last_sep = None       # kind of the previous bar separator
    written = 0           # bars written so far (for messages)

    def close() -> None:
        nonlocal written
        written += 1
        if words == ["%"]:
            if not bars:
                raise ChordError(f"bar {written} is '%' but there is no previous bar to repeat")
            bars.append(list(bars[-1]))
        else:
            bars.append(_bar_slots(words, written, not bars, beats))
        words.clear()

    for m in _TOKEN.finditer(text):
        kind, tok = m.lastgroup, m.group()
        if kind == "junk":
            raise ChordError(f"unexpected {tok!r} after bar {written} of the chord progression")
        if kind == "word":
            words.append(tok)
            continue
        if words:
            close()
        elif kind == "bar" and last_sep == "bar":
            raise ChordError(f"empty bar {written + 1} in the chord progression (two bar lines with nothing between)")
        if kind in ("end", "endstart"):
            bars.extend([list(b) for b in bars[section:]])
            section = len(bars)
        if kind in ("start", "endstart"):
            section = len(bars)
        last_sep = kind
    if words:
        close()
    if not bars:
        raise ChordError("empty chord progression: no chords in " + _short(text))
    return bars


def parse_progression(text: str, bar_length: float = 4.0, beats: int | None = None) -> list[ChordSpan]:
    """Read a bar-by-bar progression such as ``"Dm7 G7 | Cmaj7 | %"`` into contiguous spans from time 0.

    Bars are separated by ``|`` (also ``||``, ``|]``, ``[|`` and line breaks); each bar lasts `bar_length`
    quarter notes and its chords (separated by spaces) share it evenly. A ``.`` or ``/`` is a slot in
    which the previous chord goes on (``C . . G``: C for three quarters, G for one), ``%`` as a whole bar
    repeats the previous bar, ``|: ... :|`` plays a section twice (``:|`` with no ``|:`` repeats from the
    start or from the previous repeat's end), ``N.C.`` is a span with chord None. With `beats` given, the
    number of slots in each bar must divide it. Each written chord starts a span of its own (``C | C`` gives
    two spans); ``.``/``/`` slots extend the span before them, across a bar line too.

    Raises ChordError naming the bad symbol and its bar, an empty bar (``C | | G``), or an empty progression.
    """
    if not bar_length > 0:
        raise ValueError(f"bar_length must be positive, not {bar_length}")
    spans: list[ChordSpan] = []
    for i, slots in enumerate(_written_bars(text, beats)):
        step = bar_length / len(slots)
        for j, slot in enumerate(slots):
            start, end = i * bar_length + j * step, i * bar_length + (j + 1) * step
            if j == len(slots) - 1:
                end = (i + 1) * bar_length
            if slot is _CONTINUE:
                spans[-1] = replace(spans[-1], end=end)
            else:
                spans.append(ChordSpan(float(start), float(end), slot))
    return spans


def _progression_text(path: Path) -> str:
    """The progression in a text file: its lines (comments and blank lines dropped) as bars."""
    try:
        raw = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ChordError(f"cannot read chord file {path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except OSError as e:
        raise ChordError(f"cannot read chord file {path}: {e.strerror or e}") from None
    lines = [ln.strip() for ln in raw.splitlines()]
    return "\n".join(ln for ln in lines if ln and not ln.startswith("#"))


def read_progression(source: str, bar_length: float = 4.0) -> list[ChordSpan]:
    """A progression from a file named `source` (UTF-8; one or more bars a line, line breaks are bar lines,
    blank lines and ``#`` comments ignored), or else `source` itself read as progression text.

    Raises ChordError naming the file (unreadable, not UTF-8, or a bad progression inside).
    """
    try:
        is_file = os.path.isfile(source)
    except (ValueError, OSError):  # e.g. a NUL character in text that is no path
        is_file = False
    if not is_file:
        return parse_progression(source, bar_length)
    path = Path(source)
    try:
        return parse_progression(_progression_text(path), bar_length)
    except ChordError as e:
        if str(path) in str(e):
            raise
        raise ChordError(f"{path}: {e}") from None


def fit_to_bars(spans: list[ChordSpan], bars: int, bar_length: float) -> list[ChordSpan]:
    """Repeat `spans` (a progression starting at its first span's start) in whole copies until it fills
    exactly `bars` bars of `bar_length` quarters from time 0; the last copy is cut at the end."""
    if bars < 0 or not bar_length > 0:
        raise ValueError(f"need bars >= 0 and bar_length > 0, not {bars} and {bar_length}")
    if not spans:
        raise ChordError("cannot fit an empty chord progression to bars")
    origin = spans[0].start
    period = spans[-1].end - origin
    if not period > 0:
        raise ChordError("cannot fit a chord progression of zero length to bars")
    total = bars * bar_length
    out: list[ChordSpan] = []
    copy = 0
    while copy * period < total - 1e-9:
        shift = copy * period - origin
        for s in spans:
            start, end = s.start + shift, min(s.end + shift, total)
            if start >= total - 1e-9:
                break
            if end > start:
                out.append(ChordSpan(start, end, s.chord))
        copy += 1
    return out


# ---------------------------------------------------------------------------------------------------------------
# Compact text form (for JSON metadata)
# ---------------------------------------------------------------------------------------------------------------

def _time_text(t: float) -> str:
    """A time written exactly: ``4`` for whole numbers, else the float's repr (which reads back exactly)."""
    t = float(t)
    return str(int(t)) if t.is_integer() else repr(t)


def spans_to_text(spans: list[ChordSpan]) -> str:
    """``"0:4:Dm7;4:8:G7;8:12:N.C."``: start:end:symbol per span, read back exactly by `spans_from_text`."""
    return ";".join(f"{_time_text(s.start)}:{_time_text(s.end)}:{'N.C.' if s.chord is None else s.chord.name()}"
                    for s in spans)


def progression_text(spans: list[ChordSpan], bar_length: float = 4.0) -> str:
    """The chords as a lead sheet shows them, bar by bar: ``"Dm7 G7 | Cmaj7 | % | N.C."``, the chords that
    start in each bar (``%``: none starts there). Read back by `parse_progression` when every bar is split
    evenly, as progressions written that way are."""
    if not spans:
        return ""
    bars = max(1, math.ceil(round(spans[-1].end / bar_length, 6)))
    cells: list[list[str]] = [[] for _ in range(bars)]
    for s in spans:
        bar = min(bars - 1, int(round(s.start / bar_length, 6)))
        cells[bar].append("N.C." if s.chord is None else s.chord.name())
    return " | ".join(" ".join(c) if c else "%" for c in cells)


def spans_from_text(text: str) -> list[ChordSpan]:
    """The spans written by `spans_to_text` ("" -> []). Raises ValueError for anything else."""
    if not text.strip():
        return []
    spans = []
    for part in text.split(";"):
        fields = part.split(":")
        if len(fields) != 3:
            raise ValueError(f"bad chord span {part!r}: expected start:end:symbol")
        try:
            start, end = float(fields[0]), float(fields[1])
            chord = parse_chord(fields[2])
        except (ValueError, ChordError) as e:
            raise ValueError(f"bad chord span {part!r}: {e}") from None
        if not (math.isfinite(start) and math.isfinite(end) and start <= end):
            raise ValueError(f"bad chord span {part!r}: times must be finite with start <= end")
        spans.append(ChordSpan(start, end, chord))
    return spans


# ---------------------------------------------------------------------------------------------------------------
# Recognising chords from notes
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
        scores = scores + BASS_BONUS * (_ROOTS == int(bass) % 12)
    return _TEMPLATE_CHORDS[int(np.argmax(scores))]


_SEGMENT = {"bar": 1.0, "half": 0.5}


def estimate_chords(notes, end: float, bar_length: float, per: str = "bar") -> list[ChordSpan]:
    """Chords estimated from an accompaniment: the toolkit's "chords from the accompaniment" method.

    `notes` is an (N, 4) array of (start, duration, pitch, velocity) in quarter notes. Time 0..`end` is cut
    into segments (per="bar": `bar_length`; "half": half a bar; "beat": one quarter note; the last one is cut
    at `end`). In each segment the notes give a pitch-class profile, each note weighted by how long it sounds
    inside the segment (velocity is ignored), and the bass is the pitch class of the lowest note sounding
    there; the chord is the best-matching template (`recognize`: cosine similarity with binary chord
    templates over 12 roots x QUALITIES, a bonus for the root in the bass), i.e. pitch-class-profile template
    matching after Fujishima (1999). A segment with no sounding note has no chord (None). Consecutive
    segments with the same chord are merged into one span.
    """
    if per == "beat":
        step = 1.0
    elif per in _SEGMENT:
        step = bar_length * _SEGMENT[per]
    else:
        raise ValueError(f"per must be 'bar', 'half' or 'beat', not {per!r}")
    if not step > 0:
        raise ValueError(f"bar_length must be positive, not {bar_length}")
    arr = np.asarray(notes, dtype=float).reshape(-1, 4)
    starts, ends, pitches = arr[:, 0], arr[:, 0] + arr[:, 1], arr[:, 2]
    pcs = np.rint(pitches).astype(int) % 12
    spans: list[ChordSpan] = []
    n = int(math.ceil(end / step - 1e-9)) if end > 0 else 0
    for i in range(n):
        a, b = i * step, min((i + 1) * step, end)
        overlap = np.clip(np.minimum(ends, b) - np.maximum(starts, a), 0.0, None)
        sounding = overlap > 1e-9
        chord = None
        if sounding.any():
            hist = np.bincount(pcs[sounding], weights=overlap[sounding], minlength=12)
            bass = int(pcs[sounding][np.argmin(pitches[sounding])])
            chord = recognize(hist, bass)
        if spans and spans[-1].chord == chord:
            spans[-1] = replace(spans[-1], end=b)
        else:
            spans.append(ChordSpan(a, b, chord))
    return spans


# ---------------------------------------------------------------------------------------------------------------
# Key of a progression
# ---------------------------------------------------------------------------------------------------------------

# Krumhansl & Kessler (1982) probe-tone profiles, tonic first
KK_MAJOR = (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88)
KK_MINOR = (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)
FINAL_CHORD_BONUS = 0.2   # added to the correlation of the key whose tonic triad is in the final chord


def progression_key(spans: list[ChordSpan]) -> tuple[int, str]:
    """(tonic pitch class, "major" or "minor") of a progression.

    Each chord adds its span's duration to each of its tones (twice to its root); the resulting 12-bin
    histogram is correlated (Pearson) with the Krumhansl-Kessler major and minor profiles rotated to each of
    the 12 tonics. The key whose tonic triad lies within the final chord gets FINAL_CHORD_BONUS (a
    progression usually ends on its tonic); when the final chord is a dominant seventh (a turnaround), the
    bonus goes to the keys a fifth below it instead. Best of 24 wins; ties go to major, then to the lower tonic.
    Raises ChordError when the progression has no chords.
    """
    hist = np.zeros(12)
    for s in spans:
        if s.chord is not None:
            dur = max(s.end - s.start, 0.0)
            hist[list(s.chord.tones())] += dur
            hist[s.chord.root] += dur
    chords = [s.chord for s in spans if s.chord is not None]
    if not chords or not hist.any():
        raise ChordError("cannot estimate the key of a chord progression with no chords")
    final = set(chords[-1].tones())
    # a progression ending on a dominant seventh (a turnaround: ... Dm7 G7) points at the key a fifth below
    resolves_to = (chords[-1].root + 5) % 12 if chords[-1].quality == "7" else None
    best, best_score = (0, "major"), -math.inf
    for mode, profile, third in (("major", KK_MAJOR, 4), ("minor", KK_MINOR, 3)):
        for tonic in range(12):
            score = float(np.corrcoef(hist, np.roll(profile, tonic))[0, 1]) if hist.std() > 0 else 0.0
            if resolves_to is not None:
                score += FINAL_CHORD_BONUS if tonic == resolves_to else 0.0
            elif {tonic, (tonic + third) % 12, (tonic + 7) % 12} <= final:
                score += FINAL_CHORD_BONUS
            if score > best_score + 1e-12:
                best, best_score = (tonic, mode), score
    return best
