"""`notes`: one token per note or chord, as in Classical-Piano-Composer, with rhythm added.

Classical-Piano-Composer (Skúli) reads a MIDI file with music21 and writes one token
per note (``"E4"``) or chord (the chord's pitch set, ``"4.7.11"``), ignoring rhythm: every token is played
as an eighth note at a fixed distance from the last. This encoding keeps that vocabulary, one token for
what is struck together, and adds the two things needed to play a piece back as written: how long the
notes last and when the next ones start.

===================  ===================================================================================
token                meaning
===================  ===================================================================================
``C4.E4.G4:1``       the pitches C4, E4, G4 start now and last 1 quarter note
``F#3:1/2``          one note (a chord of one), an eighth long
``A4:3/2``           a dotted quarter
``>1/2``             move the time cursor on by an eighth (the gap from this onset to the next one)
===================  ===================================================================================

How a piece becomes tokens:

* Onsets and ends are quantized to a grid (option `grid`: steps per quarter note, default 4 = sixteenths,
  12 = sixteenths and eighth-note triplets, 24 also sixteenth triplets): a note from ``t`` to ``t + d``
  occupies steps ``round(t * grid)`` .. ``round((t + d) * grid)``, at least one step long.
* At each distinct onset the notes starting there are grouped by their (quantized) duration, and each
  group is one token ``<pitch set>:<duration>``: pitch names (sharps, scientific octave: MIDI 60 = ``C4``,
  MIDI 0 = ``C-1``) low to high joined by ``.``, then the duration in quarter notes as a reduced fraction
  (``1``, ``1/2``, ``3/2``, ``1/3``). Groups at one onset come longest first (so a held bass note precedes
  the moving voices above it). Two notes of the same pitch at the same onset are one note (the longer).
* Between two onsets comes the gap as a shift token ``>gap`` (quarters, reduced fraction). A gap longer
  than option `max_shift` (default 4 quarters) is written as several shift tokens, ``max_shift`` each and
  the remainder last, so the shift tokens stay few (``max_shift * grid`` at most).

Why this shape: a chord token ("what sounds together, and for how long") is the Classical-Piano-Composer
unit a listener hears, the vocabulary stays bounded (chords x durations, plus at most `max_shift * grid`
shifts, instead of (chord, duration, gap) triples: 50 Bach chorales give about 1,700 distinct tokens, half
of them seen once, so transposing the corpus to one key or `min_count` helps),
and because time only moves with explicit shift tokens, rests (a gap longer than what is sounding) and
overlapping voices (a held note under moving ones: a long token, then shifts and short tokens) come out
right with no extra machinery. Compared with the `events` encoding (NoteOn/NoteOff/TimeShift), a chord is
one step for the model instead of 3 tokens per note (about 220 tokens per chorale against 900).

Limits (lossy, by design):

* durations are capped at option `max_duration` (default 8 quarters); longer notes are cut to it;
* a chord of more than option `max_chord` pitches (default 8) is written as several tokens at the same
  onset, lowest pitches first, ``max_chord`` pitches each (nothing is lost, the vocabulary stays bounded);
* velocity is not encoded: decoded notes have velocity 80;
* leading silence is not encoded: tokens start at the first onset, and a decoded piece starts at time 0
  (a model's output that begins with shift tokens does not begin with silence).

So for a piece already on the grid (starting at 0, durations at most `max_duration`) the round trip
``detokenize(tokenize(piece))`` gives exactly the same notes (start, duration, pitch); for any other piece
pitches are equal, onsets are within half a grid step of the original (counted from the first onset) and
durations within one step.

`detokenize` accepts any token sequence: shift tokens first or several in a row, unknown or unparsable
tokens (skipped), chords with the same pitch twice, pitches outside the MIDI range (the token is skipped).
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from fractions import Fraction
from functools import lru_cache
from typing import Any

import numpy as np

from ..piece import HIGHEST, LOWEST, PITCH, Piece
from .base import Encoding, grid_steps, snap

__all__ = ["Notes", "pitch_name", "parse_pitch", "parse_token"]

NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_PITCH_CLASS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_PITCH_RE = re.compile(r"([A-G])([#b]?)(-?\d{1,2})")
PITCH_NAMES = tuple(f"{NAMES[p % 12]}{p // 12 - 1}" for p in range(LOWEST, HIGHEST + 1))
SHIFT = ">"
DEFAULT_VELOCITY = 80


def pitch_name(midi: int) -> str:
    """``60 -> 'C4'``, ``61 -> 'C#4'``, ``0 -> 'C-1'``."""
    return PITCH_NAMES[int(midi)]


def parse_pitch(name: str) -> int | None:
    """``'C#4' -> 61``; flats are read too (``'Bb3'``); None for anything else or outside 0..127."""
    m = _PITCH_RE.fullmatch(name)
    if not m:
        return None
    letter, acc, octave = m.groups()
    midi = (int(octave) + 1) * 12 + _PITCH_CLASS[letter] + {"#": 1, "b": -1, "": 0}[acc]
    return midi if LOWEST <= midi <= HIGHEST else None


def _fraction(text: str) -> Fraction | None:
    try:
        f = Fraction(text)
    except (ValueError, ZeroDivisionError):
        return None
    return f


def _fraction_str(f: Fraction) -> str:
    return str(f.numerator) if f.denominator == 1 else f"{f.numerator}/{f.denominator}"


@lru_cache(maxsize=65536)
def parse_token(token: str) -> tuple[str, Any] | None:
    """``('shift', Fraction)``, ``('notes', (pitches tuple, Fraction duration))`` or None (not a token)."""
    if not isinstance(token, str) or len(token) > 400:
        return None
    if token.startswith(SHIFT):
        f = _fraction(token[1:])
        return ("shift", f) if f is not None and f > 0 and f <= 1024 else None
    head, sep, dur = token.rpartition(":")
    if not sep or not head:
        return None
    d = _fraction(dur)
    if d is None or d <= 0 or d > 1024:
        return None
    pitches = []
    for name in head.split("."):
        p = parse_pitch(name)
        if p is None:
            return None
        pitches.append(p)
    return "notes", (tuple(sorted(set(pitches))), d)


class Notes(Encoding):
    name = "notes"
    kind = "tokens"
    piece_format = "midi"
    defaults = {"grid": 4, "max_duration": 8, "max_shift": 4, "max_chord": 8}

    def __init__(self, *args: Any, **options: Any):
        super().__init__(*args, **options)
        grid = grid_steps(self.options["grid"])
        max_chord = int(self.options["max_chord"])
        if max_chord < 1:
            raise ValueError(f"max_chord must be at least 1, got {max_chord}")
        if float(self.options["max_duration"]) * grid < 1 or float(self.options["max_shift"]) * grid < 1:
            raise ValueError("max_duration and max_shift must be at least one grid step")
        self.options["grid"] = grid
        self.options["max_chord"] = max_chord
        self._max_dur_steps = int(round(float(self.options["max_duration"]) * grid))
        self._max_shift_steps = int(round(float(self.options["max_shift"]) * grid))
        self._dur_str: dict[int, str] = {}
        self._shift_tokens: dict[int, list[str]] = {}

    @property
    def grid(self) -> int:
        return self.options["grid"]

    def penalized(self, token: str) -> bool:
        """The repetition penalty applies to note/chord tokens, never to time shifts."""
        return not token.startswith(SHIFT) and super().penalized(token)

    # -- piece -> tokens -----------------------------------------------------------------------------
    def _steps_str(self, steps: int) -> str:
        s = self._dur_str.get(steps)
        if s is None:
            s = self._dur_str[steps] = _fraction_str(Fraction(steps, self.grid))
        return s

    def _shift(self, steps: int) -> list[str]:
        toks = self._shift_tokens.get(steps)
        if toks is None:
            full, rest = divmod(steps, self._max_shift_steps)
            toks = [SHIFT + self._steps_str(self._max_shift_steps)] * full
            if rest:
                toks.append(SHIFT + self._steps_str(rest))
            self._shift_tokens[steps] = toks
        return toks

    def quantize(self, piece: Piece) -> np.ndarray:
        """(N, 3) int64 array of onset step, duration in steps (capped), pitch: one row per distinct
        (onset, pitch), sorted by onset, then duration descending, then pitch; onsets start at 0."""
        n = piece.notes
        if not len(n):
            return np.zeros((0, 3), dtype=np.int64)
        g = self.grid
        on, off = snap(n, g)
        dur = np.minimum(off - on, self._max_dur_steps)
        pitch = n[:, PITCH].astype(np.int64)
        q = np.stack([on - on.min(), dur, pitch], axis=1)
        # same pitch at the same onset: keep the longest
        q = q[np.lexsort((-q[:, 1], q[:, 2], q[:, 0]))]
        keep = np.ones(len(q), dtype=bool)
        keep[1:] = (q[1:, 0] != q[:-1, 0]) | (q[1:, 2] != q[:-1, 2])
        q = q[keep]
        return q[np.lexsort((q[:, 2], -q[:, 1], q[:, 0]))]

    def tokenize(self, piece: Piece) -> list[str]:
        q = self.quantize(piece)
        if not len(q):
            return []
        tokens: list[str] = []
        max_chord = self.options["max_chord"]
        # boundaries of runs of equal (onset, duration): each run is one chord token (or a few)
        change = np.flatnonzero((q[1:, 0] != q[:-1, 0]) | (q[1:, 1] != q[:-1, 1])) + 1
        starts = np.concatenate([[0], change])
        ends = np.concatenate([change, [len(q)]])
        onsets, durs, pitches = q[:, 0].tolist(), q[:, 1].tolist(), q[:, 2].tolist()
        prev = 0
        for a, b in zip(starts.tolist(), ends.tolist()):
            t = onsets[a]
            if t != prev:
                tokens.extend(self._shift(t - prev))
                prev = t
            d = self._steps_str(durs[a])
            group = pitches[a:b]  # ascending pitch within a run
            for k in range(0, len(group), max_chord):
                tokens.append(".".join(PITCH_NAMES[p] for p in group[k:k + max_chord]) + ":" + d)
        return tokens

    # -- tokens -> piece -----------------------------------------------------------------------------
    def detokenize(self, tokens: Sequence[str]) -> Piece:
        t = Fraction(0)
        notes: dict[tuple[Fraction, int], Fraction] = {}
        for tok in tokens:
            parsed = parse_token(tok) if isinstance(tok, str) else None
            if parsed is None:
                continue
            kind, value = parsed
            if kind == "shift":
                t += value
            else:
                pitches, d = value
                for p in pitches:
                    key = (t, p)
                    if notes.get(key, 0) < d:
                        notes[key] = d
        d = self.piece_defaults
        if notes:
            first = min(k[0] for k in notes)
            arr = np.array([(float(s - first), float(du), p, DEFAULT_VELOCITY) for (s, p), du in notes.items()],
                           dtype=np.float64)
        else:
            arr = np.zeros((0, 4))
        return Piece(arr, tempo=float(d.get("tempo", 120.0)), time_signature=tuple(d.get("time_signature", (4, 4))),
                     program=int(d.get("program", 0)), source="generated")

    def fit(self, pieces) -> Notes:
        pieces = list(pieces)
        super().fit(pieces)
        counts = getattr(self, "token_counts", {})
        shift = sum(n for tok, n in counts.items() if tok.startswith(SHIFT))
        self.fit_stats |= {
            "shift_tokens": sum(1 for tok in counts if tok.startswith(SHIFT)),
            "chord_tokens": sum(1 for tok in counts if not tok.startswith(SHIFT)),
            "shift_fraction": round(shift / max(1, sum(counts.values())), 4),
        }
        return self
