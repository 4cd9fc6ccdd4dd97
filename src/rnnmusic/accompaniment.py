"""Accompaniment of a chord progression: piano comping, walking bass, block chords, as `Track`s of notes.

    tracks = accompaniment(spans, "comp", (4, 4))            # piano comping + walking bass

`accompaniment` turns a chord progression (`rnnmusic.progressions.ChordSpan`s, quarter-note times) into
`Track`s of notes, by one of `ACCOMPANIMENTS` (see each pattern's function for what it plays). Deterministic:
the same progression always gives the same notes. `rnnmusic.render.leadsheet` plays and writes them with the
melody.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .chords import QUALITIES, Chord
from .errors import UserError
from .piece import PITCH, START, bar_quarters
from .progressions import ChordSpan

#: Accompaniment styles, the default first.
ACCOMPANIMENTS = ("comp", "block", "bass", "none")

PIANO, ACOUSTIC_BASS = 0, 32                 # General MIDI programs
VOICING_LOW, VOICING_HIGH = 52, 72           # close-position piano voicings lie in E3..C5
VOICING_CENTER = 62                          # where the first voicing is placed (around D4)
BASS_LOW, BASS_HIGH = 28, 55                 # acoustic bass range E1..G3
BASS_HOME = 40                               # the walking line is pulled gently towards E2
BLOCK_VELOCITY, COMP_VELOCITY, BASS_VELOCITY = 62, 66, 80
COMP_LENGTH = 0.6                            # a comping stab lasts 0.6 beat
EPS = 1e-6                                   # time tolerance (quarter notes)


@dataclass
class Track:
    """One accompaniment instrument: its name, General MIDI program and notes ((N, 4): start, duration, pitch,
    velocity, in quarter notes, as `Piece.notes`)."""
    name: str
    program: int
    notes: np.ndarray


# -- time helpers ------------------------------------------------------------------------------------------
def _beat_length(time_signature: tuple[int, int]) -> float:
    """The counted beat in quarter notes: the denominator's note (a quarter in 4/4, an eighth in 6/8)."""
    return 4.0 / time_signature[1]


def _is_compound(time_signature: tuple[int, int]) -> bool:
    num, den = time_signature
    return den >= 8 and num % 3 == 0 and num > 3


def _bar_segments(start: float, end: float, bar: float) -> list[tuple[float, float]]:
    """[start, end) cut at every bar line inside it."""
    cuts = [start]
    line = (np.floor(start / bar + EPS) + 1) * bar
    while line < end - EPS:
        cuts.append(float(line))
        line += bar
    cuts.append(end)
    return list(zip(cuts[:-1], cuts[1:]))


def _notes(rows: list[tuple[float, float, int, int]]) -> np.ndarray:
    """Rows as a sorted (N, 4) float array (start, then pitch)."""
    a = np.asarray(rows, dtype=np.float64).reshape(-1, 4)
    return a[np.lexsort((a[:, PITCH], a[:, START]))] if len(a) else a


def _chord_spans(spans: Sequence[ChordSpan]) -> list[ChordSpan]:
    """The spans that sound a chord and last a while, in time order."""
    return sorted((s for s in spans if s.chord is not None and s.end > s.start + EPS), key=lambda s: s.start)


def _span_index(spans: list[ChordSpan], time: float) -> int | None:
    for i, s in enumerate(spans):
        if s.start - EPS <= time < s.end - EPS:
            return i
    return None


# -- voicing -------------------------------------------------------------------------------------------
def _voicing_distance(a: Sequence[int], b: Sequence[int]) -> float:
    """How far two voicings are apart: each note's distance to the nearest note of the other, summed both ways
    (works for voicings of different sizes)."""
    return float(sum(min(abs(x - y) for y in b) for x in a) + sum(min(abs(x - y) for y in a) for x in b))


def voice_chord(chord: Chord, previous: Sequence[int] | None = None, *,
                low: int = VOICING_LOW, high: int = VOICING_HIGH) -> list[int]:
    """The chord in close position (every inversion, stacked within an octave) inside [low, high].

    Smooth voice leading: of all inversions and octave placements that fit, the one nearest `previous` (the
    voicing before) is chosen; the first chord is centred near `VOICING_CENTER`. Ascending MIDI pitches."""
    tones = chord.tones()
    candidates = []
    for i in range(len(tones)):
        pcs = tones[i:] + tones[:i]
        stack = [pcs[0]]
        for pc in pcs[1:]:
            stack.append(stack[-1] + (pc - stack[-1]) % 12)
        for octave in range(0, 11):
            voicing = [p + 12 * octave for p in stack]
            if voicing[0] >= low and voicing[-1] <= high:
                candidates.append(voicing)
    if not candidates:  # a range narrower than the chord: root position, starting near the middle
        base = (low + high) // 2 - 6
        base += (tones[0] - base) % 12
        return [base + i for i in QUALITIES[chord.quality]]
    if previous:
        return min(candidates, key=lambda v: (_voicing_distance(v, previous), v[0]))
    return min(candidates, key=lambda v: (abs(sum(v) / len(v) - VOICING_CENTER), v[0]))


def _root_below(chord: Chord, voicing: Sequence[int]) -> int:
    """The chord's bass note (root, or the slash bass) in the octave below the voicing, not lower than MIDI 36."""
    pc = chord.root if chord.bass is None else chord.bass
    pitch = voicing[0] - 1 - (voicing[0] - 1 - pc) % 12
    while pitch < 36:
        pitch += 12
    return pitch


# -- the patterns --------------------------------------------------------------------------------------
def block_track(spans: Sequence[ChordSpan], time_signature: tuple[int, int] = (4, 4)) -> Track:
    """Block chords (piano): each chord held for its whole span, re-struck at every bar line inside it.

    The chord is voiced in close position in E3..C5 with smooth voice leading (`voice_chord`), with its root
    (or slash bass) added an octave below the voicing."""
    bar = bar_quarters(time_signature)
    rows, previous = [], None
    for span in _chord_spans(spans):
        voicing = voice_chord(span.chord, previous)
        previous = voicing
        pitches = [_root_below(span.chord, voicing), *voicing]
        for a, b in _bar_segments(span.start, span.end, bar):
            rows += [(a, b - a, p, BLOCK_VELOCITY) for p in pitches]
    return Track("Piano", PIANO, _notes(rows))


def _comp_hits(time_signature: tuple[int, int]) -> list[float]:
    """Where in a bar the comping piano strikes (quarter-note offsets from the bar line).

    4/4 (and other simple meters of 4 or more beats): the back beats 2 and 4 (6 ...), as a jazz pianist
    comps against a walking bass. 2/4, 3/4 (and 2/2, 3/8 ...): beat 1. Compound meters (6/8, 9/8, 12/8): every
    dotted-quarter beat (in 6/8 the eighths 1 and 4). Odd meters in eighths (5/8, 7/8): the bar line."""
    num, _ = time_signature
    beat = _beat_length(time_signature)
    if _is_compound(time_signature):
        return [k * 3 * beat for k in range(num // 3)]
    if num >= 4 and time_signature[1] <= 4:
        return [k * beat for k in range(1, num, 2)]
    return [0.0]


def comp_track(spans: Sequence[ChordSpan], time_signature: tuple[int, int] = (4, 4)) -> Track:
    """Jazz comping (piano): short stabs (0.6 beat) of the voiced chord on the beats `_comp_hits` names.

    Anticipation: in 4/4, when a new chord arrives on beat 3 of every other bar (odd bars, counting from 0), the
    stab of beat 2 is pushed to the "and of 2" (offset 1.5) and plays the NEW chord, half a beat early, held to
    beat 3 and a little past. A chord no stab falls in (a short chord between hits) is struck at its start, so
    every chord is heard. Voicings as in `block_track` (close position, smooth voice leading), no added root:
    the bass plays that."""
    chords = _chord_spans(spans)
    if not chords:
        return Track("Piano", PIANO, _notes([]))
    bar, beat = bar_quarters(time_signature), _beat_length(time_signature)
    hits = _comp_hits(time_signature)
    four = time_signature == (4, 4)
    first_bar = int(np.floor(chords[0].start / bar + EPS))
    last_bar = int(np.ceil(chords[-1].end / bar - EPS))
    strikes: dict[int, list[tuple[float, float]]] = {}  # span index -> (onset, length)
    for b in range(first_bar, last_bar):
        for h in hits:
            t = b * bar + h
            i = _span_index(chords, t)
            if i is None:
                continue
            if four and h == 1.0 and b % 2 == 1:  # "and of 2" anticipating a chord that arrives on beat 3
                j = _span_index(chords, t + 1.0)
                if j is not None and j != i and abs(chords[j].start - (t + 1.0)) < EPS:
                    strikes.setdefault(j, []).append((t + 0.5, min(1.0, chords[j].end - t - 0.5)))
                    continue
            strikes.setdefault(i, []).append((t, min(COMP_LENGTH * beat, chords[i].end - t)))
    for i, span in enumerate(chords):
        if i not in strikes:
            strikes[i] = [(span.start, min(COMP_LENGTH * beat, span.end - span.start))]
    rows, previous = [], None
    for i, span in enumerate(chords):
        voicing = voice_chord(span.chord, previous)
        previous = voicing
        for onset, length in sorted(strikes[i]):
            rows += [(onset, length, p, COMP_VELOCITY) for p in voicing]
    return Track("Piano", PIANO, _notes(rows))


def _near(pc: int, reference: float) -> int:
    """The pitch of pitch class `pc` in the bass range nearest `reference`, pulled gently towards `BASS_HOME`."""
    nearest = int(round(reference)) + (pc - int(round(reference)) + 6) % 12 - 6
    options = [p for p in (nearest - 12, nearest, nearest + 12) if BASS_LOW <= p <= BASS_HIGH]
    if not options:
        return BASS_LOW + (pc - BASS_LOW) % 12
    return min(options, key=lambda p: (abs(p - reference) + 0.35 * abs(p - BASS_HOME), p))


def _bass_root(chord: Chord) -> int:
    return chord.root if chord.bass is None else chord.bass


def _bass_positions(time_signature: tuple[int, int]) -> tuple[list[float], bool]:
    """(onsets within a bar, walking?): every quarter in 4/4 and 2/2 (walking bass); otherwise the strong beats
    for a root-fifth line: 1 and 3 in 3/4 (as a waltz bass), every beat in 2/4, every dotted quarter in compound
    meters, and the bar line and the middle beat in the rest."""
    num, den = time_signature
    bar, beat = bar_quarters(time_signature), _beat_length(time_signature)
    if time_signature in ((4, 4), (2, 2)):
        return [float(k) for k in range(int(bar))], True
    if _is_compound(time_signature):
        return [k * 3 * beat for k in range(num // 3)], False
    if num == 3:
        return [0.0, 2 * beat], False
    if num == 2:
        return [0.0, beat], False
    return sorted({0.0, (num // 2) * beat}), False


def bass_track(spans: Sequence[ChordSpan], time_signature: tuple[int, int] = (4, 4)) -> Track:
    """A bass line (acoustic bass, MIDI 28..55).

    4/4 and 2/2: a walking bass in quarter notes. Each chord's first beat plays its root (or slash bass); the
    beats after it climb through its chord tones (third, fifth, seventh, ...) placed near the note before; and
    the last beat before a chord change is an approach note to the next root: a half step below it when the
    line is walking up to it, a half step above when walking down.
    Other meters: root and fifth on the strong beats (`_bass_positions`), the root first in every chord.
    N.C. spans and silences rest."""
    chords = _chord_spans(spans)
    if not chords:
        return Track("Bass", ACOUSTIC_BASS, _notes([]))
    bar = bar_quarters(time_signature)
    positions, walking = _bass_positions(time_signature)
    first_bar = int(np.floor(chords[0].start / bar + EPS))
    last_bar = int(np.ceil(chords[-1].end / bar - EPS))
    onsets = [b * bar + p for b in range(first_bar, last_bar) for p in positions]
    # a chord starting between positions is played from its start (its root must come first)
    onsets = sorted(set(round(t, 9) for t in onsets) | {round(s.start, 9) for s in chords})
    events = [(t, i) for t in onsets if (i := _span_index(chords, t)) is not None]
    rows: list[tuple[float, float, int, int]] = []
    previous: float = BASS_HOME
    forced: int | None = None  # the next root's pitch, fixed when its approach note was chosen
    for k, (t, i) in enumerate(events):
        span = chords[i]
        nxt = events[k + 1] if k + 1 < len(events) else None
        end = min(span.end, nxt[0] if nxt else span.end)
        index_in_span = sum(1 for (u, j) in events[:k] if j == i)
        changes_next = nxt is not None and nxt[1] != i and abs(nxt[0] - span.end) < EPS
        tones = span.chord.tones()
        if index_in_span == 0:
            root = _bass_root(span.chord)
            pitch = forced if forced is not None and forced % 12 == root else _near(root, previous)
        elif walking and changes_next:
            target = _near(_bass_root(chords[nxt[1]].chord), previous)
            if target == int(previous):  # repeated root: step up to it from a half step below
                pitch = target - 1 if target - 1 >= BASS_LOW else target + 1
            else:
                pitch = target - 1 if target > previous else target + 1
                if pitch == int(previous):  # the note below/above is the one just played: come from the other side
                    pitch = 2 * target - pitch
            forced = target
        elif walking:
            pitch = _near(tones[index_in_span % len(tones)], previous + 2)  # lean upward through the chord
        else:
            fifth = (span.chord.root + QUALITIES[span.chord.quality][2]) % 12 if len(tones) > 2 else tones[-1]
            pc = fifth if index_in_span % 2 == 1 else _bass_root(span.chord)
            pitch = _near(pc, previous)
        if index_in_span == 0:
            forced = None
        rows.append((t, 0.95 * (end - t), int(pitch), BASS_VELOCITY))
        previous = pitch
    return Track("Bass", ACOUSTIC_BASS, _notes(rows))


def accompaniment(spans: Sequence[ChordSpan], style: str = "comp",
                  time_signature: tuple[int, int] = (4, 4)) -> list[Track]:
    """The accompaniment of a chord progression, as tracks (see `ACCOMPANIMENTS`):

    * ``comp``: jazz comping piano (`comp_track`) plus a walking / root-fifth bass (`bass_track`);
    * ``block``: block chords on the piano, the root an octave below (`block_track`);
    * ``bass``: the bass line alone;
    * ``none``: no accompaniment ([]).
    """
    ts = (int(time_signature[0]), int(time_signature[1]))
    if style == "comp":
        return [comp_track(spans, ts), bass_track(spans, ts)]
    if style == "block":
        return [block_track(spans, ts)]
    if style == "bass":
        return [bass_track(spans, ts)]
    if style == "none":
        return []
    raise UserError(f"unknown accompaniment {style!r}: choose one of {', '.join(ACCOMPANIMENTS)}")


__all__ = ["ACCOMPANIMENTS", "Track", "accompaniment", "bass_track", "block_track", "comp_track", "voice_chord"]
