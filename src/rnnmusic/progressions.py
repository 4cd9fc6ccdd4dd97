"""Chord progressions: chords in time (`ChordSpan`), read from bar-by-bar text or a file, fitted to a number of
bars, written as compact text (JSON metadata) or as a lead sheet shows them, and estimated from notes.

A progression is a list of `ChordSpan`s: (start, end) in quarter notes and the chord sounding then (None =
no chord, "N.C."). The chords themselves are `rnnmusic.chords`.
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .chords import Chord, ChordError, parse_chord, quoted, recognize


@dataclass(frozen=True)
class ChordSpan:
    """One chord of a progression and when it sounds."""

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
    """The progression moved by `semitones` (roots and slash basses; times and N.C. spans unchanged)."""
    return [ChordSpan(s.start, s.end, None if s.chord is None else s.chord.transpose(semitones)) for s in spans]


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
            slots.append(parse_chord(w, where=f" in bar {number}"))
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
        raise ChordError("empty chord progression: no chords in " + quoted(text))
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
# Chords estimated from notes
# ---------------------------------------------------------------------------------------------------------------

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


__all__ = [
    "ChordSpan", "chord_at", "estimate_chords", "fit_to_bars", "parse_progression", "progression_text",
    "read_progression", "spans_from_text", "spans_to_text", "transpose_spans",
]
