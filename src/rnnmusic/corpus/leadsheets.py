"""Lead sheets: a melody and the chords under it, read from ABC, MusicXML or MIDI.

`load_pieces(..., limits=Limits(lead=True))` reads every file as a lead sheet: a `Piece` holding the
melody only (one note at a time), with its chords as `piece.meta["chords"]` (`progressions.spans_to_text`).

* ABC tunes with chord symbols in quotes (``"Am"``, ``"D7"``) and MusicXML lead sheets (``<harmony>``):
  music21 parses them; `add_chord_part` moves the chord symbols into a part of their own (each symbol
  sounding until the next, carried over bar lines), so music21's MIDI writer expands repeats in both parts
  alike; the chords are then read back from that part exactly (root position: the lowest note is the root).
  A tune without chord symbols is skipped ("no chord symbols"). The key is ABC's K: field, else (MusicXML,
  whose key signatures are not always right: music21's own lead sheets in F say C major) the chords' key
  (`keys.progression_key`).
* MIDI: the melody is the track named like a melody ("melody", "lead", "vocal", "voice", "solo") or else
  the non-drum track with the highest mean pitch, reduced to its top line (at each onset the highest note,
  held until the next onset at most); the accompaniment is every other non-drum track (plus, for a single
  track, the notes under the top line). Chords are estimated from the accompaniment by template matching
  (`progressions.estimate_chords`: duration-weighted pitch-class profile of each half bar, or each bar in metres
  of fewer than four beats, matched against the 12 x 14 chord templates, the lowest sounding note favouring
  the root; equal neighbours merged). A file without accompaniment is skipped ("no accompaniment").
"""
from __future__ import annotations

import re
from typing import Any

import numpy as np

from ..chords import QUALITIES, ChordError, parse_chord, recognize
from ..keys import Key, progression_key
from ..piece import DUR, PITCH, START, Piece, bar_quarters
from ..progressions import ChordSpan, spans_to_text

MELODY_NAMES = ("melody", "lead", "vocal", "voice", "solo")
CHORD_PART_ID = "rnnmusic-chords"


# -- music21 scores: chord symbols -> a part of their own ------------------------------------------------------
def add_chord_part(s) -> int:
    """Append to music21 score `s` a part sounding the chord symbols of its first part; returns how many
    chord symbols there were (0: nothing added)."""
    import copy

    from music21 import chord as m21chord
    from music21 import harmony, note, stream

    parts = list(s.parts) if hasattr(s, "parts") and len(s.parts) else []
    melody = parts[0] if parts else s
    symbols = [c for c in melody.recurse().getElementsByClass(harmony.ChordSymbol)
               if not isinstance(c, harmony.NoChord)]
    if not symbols:
        return 0
    part = copy.deepcopy(melody)
    part.id = CHORD_PART_ID
    measures = list(part.getElementsByClass(stream.Measure)) or [part]
    current = None
    for m in measures:
        length = float(m.highestTime) if isinstance(m, stream.Measure) else float(melody.highestTime)
        for el in list(m.recurse().notesAndRests):
            if not isinstance(el, harmony.ChordSymbol):
                el.activeSite.remove(el)
        for sp in list(m.recurse().getElementsByClass("Spanner")):
            sp.activeSite.remove(sp)
        inner = list(m.recurse().getElementsByClass(stream.Voice))
        for v in inner:  # voices emptied above; their chord symbols (if any) stay in the voice
            if not len(v.notesAndRests):
                m.remove(v)
        syms = sorted(((float(c.offset), c) for c in m.getElementsByClass(harmony.ChordSymbol)), key=lambda e: e[0])
        if current is not None and (not syms or syms[0][0] > 0):
            syms.insert(0, (0.0, current))
        for _, c in syms:
            if c.activeSite is m:
                m.remove(c)
        for i, (start, c) in enumerate(syms):
            end = syms[i + 1][0] if i + 1 < len(syms) else length
            if end <= start:
                continue
            pitches = _chord_pitches(c)
            if not pitches:
                current = None
                m.insert(start, note.Rest(quarterLength=end - start))
                continue
            current = c
            m.insert(start, m21chord.Chord(pitches, quarterLength=end - start))
    for c in symbols:  # the melody part keeps no chord symbols (they would sound in it too)
        c.activeSite.remove(c)
    s.insert(0, part)
    return len(symbols)


def _chord_pitches(symbol) -> list[int]:
    """MIDI pitches sounding a music21 ChordSymbol in root position from C3 up: its figure read by
    `chords.parse_chord` (music21 reads Nottingham's "D/f+", D over F#, as augmented), else music21's own
    pitches; [] for no chord or an unreadable one."""
    from music21 import harmony

    if isinstance(symbol, harmony.NoChord):
        return []
    # music21 writes flats as "-" ("B-", "E-7", "F/B-"), where jazz symbols read "-" as minor
    figure = re.sub(r"(^|/)([A-Ga-g])-", r"\1\2b", symbol.figure or "")
    try:
        try:
            chord = parse_chord(figure)
        except ChordError:  # the slash bass is not needed: Nottingham's "D/f+" (D over F#)
            chord = parse_chord(figure.split("/")[0])
    except ChordError:
        pcs = sorted({p.pitchClass for p in symbol.pitches}, key=lambda pc: (pc - symbol.root().pitchClass) % 12) \
            if symbol.pitches and symbol.root() is not None else []
        return [48 + symbol.root().pitchClass + (pc - symbol.root().pitchClass) % 12 for pc in pcs]
    if chord is None:
        return []
    return [48 + chord.root + i for i in QUALITIES[chord.quality]]


def music21_key(s) -> str | None:
    """The first key signature of a music21 score as "D major" / "A minor" (modes by their third)."""
    from music21 import key

    k = next(iter(s.recurse().getElementsByClass(key.Key)), None)
    if k is None:
        ks = next(iter(s.recurse().getElementsByClass(key.KeySignature)), None)
        if ks is None:
            return None
        k = ks.asKey("major")
    minor = k.mode in ("minor", "dorian", "phrygian", "aeolian", "locrian")
    tonic = k.tonic.name.replace("-", "b")
    return f"{tonic} {'minor' if minor else 'major'}"


# -- symusic scores -> a lead-sheet Piece ----------------------------------------------------------------------
def _track_notes(track) -> np.ndarray:
    a = track.notes.numpy()
    notes = np.stack([a["time"], a["duration"], a["pitch"].astype(np.int64) % 128,
                      a["velocity"].astype(np.int64) % 128], axis=1)
    return notes.astype(np.float64).reshape(-1, 4)


def top_line(notes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(melody, the rest): at each onset the highest note, held at most until the next onset."""
    if not len(notes):
        return notes, notes
    order = np.lexsort((-notes[:, PITCH], notes[:, START]))
    notes = notes[order]
    first = np.ones(len(notes), dtype=bool)
    first[1:] = np.diff(notes[:, START]) > 1e-9
    melody, rest = notes[first].copy(), notes[~first]
    nxt = np.append(melody[1:, START], np.inf)
    melody[:, DUR] = np.minimum(melody[:, DUR], nxt - melody[:, START])
    return melody, rest


def chords_from_part(notes: np.ndarray, end: float) -> list[ChordSpan]:
    """Exact chords of a part that sounds chord symbols: one chord per onset, until the next onset."""
    spans: list[ChordSpan] = []
    onsets = np.unique(np.round(notes[:, START], 6))
    for i, t in enumerate(onsets):
        at = notes[np.abs(notes[:, START] - t) < 1e-6]
        weights = np.zeros(12)
        weights[np.unique(at[:, PITCH].astype(int) % 12)] = 1.0
        chord = recognize(weights, bass=int(at[:, PITCH].min()) % 12)
        stop = float(onsets[i + 1]) if i + 1 < len(onsets) else max(end, float((at[:, START] + at[:, DUR]).max()))
        if spans and spans[-1].chord == chord and abs(spans[-1].end - t) < 1e-6:
            spans[-1] = ChordSpan(spans[-1].start, stop, chord)
        elif not spans or t > spans[-1].end + 1e-6:
            if spans:  # a silent stretch between chords: no chord
                spans.append(ChordSpan(spans[-1].end, float(t), None))
            spans.append(ChordSpan(float(t), stop, chord))
        else:
            spans.append(ChordSpan(float(t), stop, chord))
    return spans


def _melody_track(tracks: list, q_tracks: list) -> int:
    named = [i for i in tracks if any(n in (q_tracks[i].name or "").lower() for n in MELODY_NAMES)]
    if named:
        return named[0]
    return max(tracks, key=lambda i: float(np.mean(q_tracks[i].notes.numpy()["pitch"].astype(np.int64) % 128)))


def lead_piece(score, source: str, *, exact: bool) -> tuple[Piece | None, str | None]:
    """The lead-sheet Piece of a symusic Score, or (None, reason). `exact`: the last track sounds chord
    symbols (`add_chord_part`); otherwise chords are estimated from the accompaniment."""
    from ..progressions import estimate_chords

    q = score.to("quarter")
    tracks = [i for i, t in enumerate(q.tracks) if not t.is_drum and t.note_num()]
    tempo = float(q.tempos[0].qpm) if len(q.tempos) else 120.0
    ts = (q.time_signatures[0].numerator, q.time_signatures[0].denominator) if len(q.time_signatures) else (4, 4)
    bar = bar_quarters(ts)
    if exact:
        if len(tracks) < 2:
            return None, "no chord symbols" if tracks else "no notes"
        melody_i, chord_i = tracks[0], tracks[-1]
        melody, _ = top_line(_track_notes(q.tracks[melody_i]))
        end = float((melody[:, START] + melody[:, DUR]).max()) if len(melody) else 0.0
        spans = chords_from_part(_track_notes(q.tracks[chord_i]), end)
    else:
        if not tracks:
            return None, "no notes"
        melody_i = _melody_track(tracks, q.tracks)
        melody, under = top_line(_track_notes(q.tracks[melody_i]))
        accomp = [under] + [_track_notes(q.tracks[i]) for i in tracks if i != melody_i]
        accomp = np.concatenate(accomp) if accomp else np.zeros((0, 4))
        if not len(accomp):
            return None, "no accompaniment to read chords from"
        end = float(max((melody[:, START] + melody[:, DUR]).max(), (accomp[:, START] + accomp[:, DUR]).max()))
        spans = estimate_chords(accomp, end, bar, per="half" if bar >= 4 else "bar")
    if not len(melody):
        return None, "no melody notes"
    if not any(s.chord is not None for s in spans):
        return None, "no chords"
    program = int(q.tracks[melody_i].program)
    meta: dict[str, Any] = {"chords": spans_to_text(spans), "chords_from": "symbols" if exact else "estimated"}
    key = str(Key(*progression_key(spans)))  # the key of the chords (ABC files: their K: field instead)
    return Piece(melody, tempo=tempo, time_signature=ts, program=program, source=source, key=key, meta=meta), None
