"""Lead sheets: a melody with chord symbols, played with an accompaniment and written as MIDI, WAV, MusicXML, SVG.

    tracks = accompaniment(spans, "comp", (4, 4))            # piano comping + walking bass
    write_lead_sheet(melody, spans, Path("out/tune"), swing_ratio=2 / 3)

* `accompaniment` turns a chord progression (`rnnmusic.chords.ChordSpan`s, quarter-note times) into `Track`s
  of notes, by one of `ACCOMPANIMENTS` (see each pattern's function for what it plays). Deterministic: the same
  progression always gives the same notes.
* `swing` delays the off-beat eighths (ratio 0.5 = straight, 2/3 = triplet swing). It is applied to what is
  heard (MIDI, WAV) only: jazz notation writes straight eighths, so the sheet music stays straight.
* `lead_score` is the music21 Score of the sheet: the melody first, with a `music21.harmony.ChordSymbol` at each
  chord change (MusicXML <harmony>, printed above the staff by verovio), then the accompaniment parts.
* `write_lead_sheet` writes stem.mid (type 1: melody track, then one track per accompaniment part), stem.wav,
  stem.musicxml and stem.svg (further pages stem-2.svg, ...); one failed format does not stop the others.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import one_line
from ..chords import QUALITIES, ROOT_NAMES, SUFFIX, Chord, ChordSpan
from ..errors import UserError
from ..piece import DUR, PITCH, START, TPQ, Piece, bar_quarters

__all__ = [
    "ACCOMPANIMENTS",
    "LEAD_FORMATS",
    "Track",
    "accompaniment",
    "block_track",
    "comp_track",
    "bass_track",
    "voice_chord",
    "swing",
    "chord_symbol",
    "lead_score",
    "write_lead_sheet",
]

#: Accompaniment styles, the default first.
ACCOMPANIMENTS = ("comp", "block", "bass", "none")
#: What `write_lead_sheet` can write.
LEAD_FORMATS = ("mid", "wav", "musicxml", "svg")

PIANO, ACOUSTIC_BASS = 0, 32                 # General MIDI programs
VOICING_LOW, VOICING_HIGH = 52, 72           # close-position piano voicings lie in E3..C5
VOICING_CENTER = 62                          # where the first voicing is placed (around D4)
BASS_LOW, BASS_HIGH = 28, 55                 # acoustic bass range E1..G3
BASS_HOME = 40                               # the walking line is pulled gently towards E2
BLOCK_VELOCITY, COMP_VELOCITY, BASS_VELOCITY = 62, 66, 80
COMP_LENGTH = 0.6                            # a comping stab lasts 0.6 beat
EPS = 1e-6

# music21's chord kinds (MusicXML <kind>) for our qualities; the printed text is our own suffix (SUFFIX).
M21_KINDS = {
    "maj": "major", "min": "minor", "7": "dominant-seventh", "maj7": "major-seventh", "m7": "minor-seventh",
    "dim": "diminished", "dim7": "diminished-seventh", "m7b5": "half-diminished-seventh", "aug": "augmented",
    "sus4": "suspended-fourth", "sus2": "suspended-second", "6": "major-sixth", "m6": "minor-sixth",
    "mmaj7": "minor-major-seventh",
}
assert set(M21_KINDS) == set(QUALITIES)


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
            pitch = forced if forced is not None and forced % 12 == _bass_root(span.chord) else _near(_bass_root(span.chord), previous)
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


def accompaniment(spans: Sequence[ChordSpan], style: str = "comp", time_signature: tuple[int, int] = (4, 4)) -> list[Track]:
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


# -- swing ---------------------------------------------------------------------------------------------
def _swung_times(times: np.ndarray, ratio: float, beat: float) -> tuple[np.ndarray, np.ndarray]:
    """(times with every off-beat eighth k*beat + beat/2 moved to k*beat + ratio*beat, which were moved)."""
    k = np.floor(times / beat + EPS)
    offbeat = np.abs(times - (k * beat + beat / 2)) < EPS
    return np.where(offbeat, k * beat + ratio * beat, times), offbeat


def swing(notes: np.ndarray, ratio: float, beat: float = 1.0) -> np.ndarray:
    """Swung copy of `notes` ((N, 4) start, duration, pitch, velocity): ratio 0.5 is straight, 2/3 triplet swing.

    Every onset exactly on an off-beat eighth (k*beat + beat/2) moves to k*beat + ratio*beat; every note end on
    an off-beat eighth moves there too (a note from the beat to the off-beat ends where the off-beat note now
    starts). A moved note keeps its end when that end is still after its new start (else its length). On-beat
    notes and all other positions are unchanged. UserError for a ratio outside 0.5..0.75."""
    if not 0.5 <= ratio <= 0.75:
        raise UserError(f"swing ratio must be from 0.5 (straight) to 0.75, got {ratio:g}")
    if not beat > 0:
        raise UserError(f"swing beat must be positive, got {beat:g}")
    out = np.array(notes, dtype=np.float64, copy=True).reshape(-1, 4)
    if ratio == 0.5 or not len(out):
        return out
    start, end = out[:, START], out[:, START] + out[:, DUR]
    new_start, _ = _swung_times(start, ratio, beat)
    new_end, _ = _swung_times(end, ratio, beat)
    new_end = np.where(new_end > new_start + EPS, new_end, new_start + out[:, DUR])
    out[:, START], out[:, DUR] = new_start, new_end - new_start
    return out


# -- notation ------------------------------------------------------------------------------------------
def _m21_name(pc: int) -> str:
    """music21's spelling of a pitch class as a lead sheet spells it: "B-" for Bb, "F#"."""
    name = ROOT_NAMES[pc % 12]
    return name[0] + name[1:].replace("b", "-")


def chord_symbol(chord: Chord | None):
    """A music21 ChordSymbol for `chord` (NoChord for None), built from root and quality, not parsed from
    text: music21 reads "F#m7b5" as a minor seventh. The printed text is our own suffix ("m7b5", "maj7").
    Zero duration, `writeAsChord` off. Beware: music21's own MIDI writer still sounds ChordSymbols (as
    zero-length chords that can cut melody notes of the same pitch; a TODO in music21.midi.translate), so a
    score holding them is for notation only: rnnmusic writes the lead sheet's MIDI itself (`write_lead_sheet`)."""
    from music21 import harmony

    if chord is None:
        return harmony.NoChord()
    bass = None if chord.bass is None else _m21_name(chord.bass)
    cs = harmony.ChordSymbol(root=_m21_name(chord.root), kind=M21_KINDS[chord.quality],
                             kindStr=SUFFIX[chord.quality], bass=bass)
    cs.writeAsChord = False
    return cs


def _parts_from_midi(pieces: list[Piece], time_signature: tuple[int, int], tempo: float):
    """music21 parts (one per piece, quantized to sixteenths and eighth triplets) through one in-memory MIDI file."""
    import symusic
    from music21 import converter

    score = symusic.Score(TPQ)
    score.tempos.append(symusic.Tempo(0, float(tempo)))
    score.time_signatures.append(symusic.TimeSignature(0, *time_signature))
    for piece in pieces:
        score.tracks.append(piece.to_score().tracks[0])
    parsed = converter.parse(bytes(score.dumps_midi()), format="midi", quantizePost=True, quarterLengthDivisors=(4, 3))
    return list(parsed.parts)


def _notated(notes: np.ndarray) -> np.ndarray:
    """Accompaniment notes as written: lengths rounded to sixteenths (a 0.6-beat comping stab is an eighth, a
    0.95-beat bass note a quarter), so the quantizer does not turn them into triplets."""
    out = notes.copy()
    out[:, DUR] = np.maximum(0.25, np.round(out[:, DUR] * 4) / 4)
    return out


def _measure_at(part, offset: float):
    for m in part.getElementsByClass("Measure"):
        if m.offset - EPS <= offset < m.offset + m.barDuration.quarterLength - EPS:
            return m
    return None


def lead_score(melody: Piece, spans: Sequence[ChordSpan], tracks: Sequence[Track] = (), *, title: str = ""):
    """The sheet music: a music21 Score with the melody first (its metre; key signature from `melody.key`),
    a ChordSymbol (N.C.: NoChord) at the start of each span inside the melody's measures, then one part per
    non-empty track (the bass in the bass clef). Straight rhythm (no swing)."""
    from music21 import clef, metadata, stream
    from music21 import key as m21key

    from .sheet import _music21_key

    ts = melody.time_signature
    pieces = [Piece(melody.notes, program=melody.program, time_signature=ts)]
    kept = [t for t in tracks if len(t.notes)]
    pieces += [Piece(_notated(t.notes), program=t.program, time_signature=ts) for t in kept]
    parts = _parts_from_midi(pieces, ts, melody.tempo)
    score = stream.Score()
    score.metadata = metadata.Metadata()
    if title:
        score.metadata.title = score.metadata.movementName = title
    names = ["Melody", *(t.name for t in kept)]
    key = None
    if melody.key:
        try:
            key = m21key.Key(*_music21_key(melody.key))
        except Exception:  # an unparsable key name only costs the key signature
            key = None
    for part, name, track in zip(parts, names, [None, *kept]):
        part.partName = name
        first = part.getElementsByClass("Measure").first()
        if first is not None:
            if key is not None:
                for old in list(first.getElementsByClass("KeySignature")):
                    first.remove(old)
                first.insert(0, m21key.Key(key.tonic.name, key.mode))
            if track is not None and track.program in range(32, 40):  # GM basses
                for old in list(first.getElementsByClass("Clef")):
                    first.remove(old)
                first.insert(0, clef.BassClef())
        score.insert(0, part)
    melody_part = parts[0]
    # accidentals are spelled now, before the chord symbols are in: music21's MusicXML writer would otherwise
    # spell them itself and count the symbols' pitches as notes (a C symbol after a C# note got a natural sign)
    melody_part.makeAccidentals(inPlace=True)
    for span in sorted(spans, key=lambda s: s.start):
        m = _measure_at(melody_part, span.start)
        if m is not None:
            m.insert(span.start - m.offset, chord_symbol(span.chord))
    return score


# -- files ---------------------------------------------------------------------------------------------

def _write_midi(path: Path, melody: Piece, tracks: Sequence[Track], *, tempo: float, program: int,
                swing_ratio: float) -> Path:
    """MIDI type 1: the melody's track, then each non-empty accompaniment track, all swung; written atomically."""
    import symusic

    from .midi import temp_sibling

    score = symusic.Score(TPQ)
    score.tempos.append(symusic.Tempo(0, float(tempo)))
    score.time_signatures.append(symusic.TimeSignature(0, *melody.time_signature))
    for name, prog, notes in [("Melody", program, melody.notes), *((t.name, t.program, t.notes) for t in tracks)]:
        if not len(notes):
            continue
        track = Piece(swing(notes, swing_ratio), program=prog).to_score().tracks[0]
        track.name = name
        score.tracks.append(track)
    tmp = temp_sibling(path)
    try:
        tmp.write_bytes(bytes(score.dumps_midi()))
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def write_lead_sheet(melody: Piece, spans: Sequence[ChordSpan], stem: str | Path, *, style: str = "comp",
                     swing_ratio: float = 0.5, tempo: float | None = None,
                     formats: Sequence[str] = LEAD_FORMATS, title: str = "",
                     melody_program: int | None = None) -> dict[str, str]:
    """Write the lead sheet as stem.mid, stem.wav, stem.musicxml, stem.svg (those of `formats`).

    The MIDI file (type 1) has the melody (program `melody_program`, default `melody.program`) as its first
    track and the `style` accompaniment's tracks after it, at `tempo` (default `melody.tempo`), swung by
    `swing_ratio`; the WAV is that MIDI played (`audio.midi_to_audio`: FluidSynth, or the built-in synthesizer
    with a warning). The MusicXML (`lead_score`, straight) and its SVG engraving (`sheet.musicxml_to_svg`;
    pages after the first are stem-2.svg, ...) carry the chord symbols. Returns {format: the path written (the
    first SVG page), or "error: <one line>"}: one failed format does not stop the others. UserError up front for
    an unknown style or format, or a bad swing ratio."""
    from .audio import midi_to_audio
    from .sheet import musicxml_to_svg, write_musicxml

    stem = Path(stem)
    wanted = list(dict.fromkeys(formats))
    bad = [f for f in wanted if f not in LEAD_FORMATS]
    if bad:
        raise UserError(f"lead sheet formats are {', '.join(LEAD_FORMATS)}; got {', '.join(map(str, bad))}")
    swing(np.zeros((0, 4)), swing_ratio)  # validates the ratio before anything is written
    tracks = accompaniment(spans, style, melody.time_signature)
    program = melody.program if melody_program is None else int(melody_program)
    stem.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rnnmusic-leadsheet-") as tmp:
        def where(fmt: str) -> Path:
            return stem.with_name(f"{stem.name}.{fmt}") if fmt in wanted else Path(tmp) / f"lead.{fmt}"

        steps = {
            "mid": lambda: _write_midi(where("mid"), melody, tracks, tempo=tempo or melody.tempo, program=program,
                                       swing_ratio=swing_ratio),
            "wav": lambda: midi_to_audio(where("mid"), where("wav")),
            "musicxml": lambda: write_musicxml(lead_score(melody, spans, tracks, title=title), where("musicxml")),
            "svg": lambda: musicxml_to_svg(where("musicxml"), where("svg"))[0][0],
        }
        needs = {"wav": "mid", "svg": "musicxml"}
        todo = set(wanted) | {needs[f] for f in wanted if f in needs}
        done: dict[str, str] = {}
        for fmt in LEAD_FORMATS:  # in this order a format's need comes first
            if fmt not in todo:
                continue
            if fmt in needs and done[needs[fmt]].startswith("error:"):
                done[fmt] = f"error: not written: it is made from the {needs[fmt]} output, which failed"
                continue
            try:
                done[fmt] = str(steps[fmt]())
            except Exception as exc:  # a missing tool or a library failing costs this format, not the others
                done[fmt] = f"error: {one_line(exc)}"
        result = {fmt: done[fmt] for fmt in wanted}
    return result
