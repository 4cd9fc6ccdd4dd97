"""Lead sheets: a melody with chord symbols, played with an accompaniment and written as MIDI, WAV, MusicXML, SVG.

    write_lead_sheet(melody, spans, Path("out/tune"), swing_ratio=2 / 3)

* The accompaniment (`rnnmusic.accompaniment`: comping, walking bass, block chords) comes as `Track`s of notes.
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
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..accompaniment import EPS, Track, accompaniment
from ..chords import QUALITIES, ROOT_NAMES, SUFFIX, Chord
from ..errors import UserError, one_line
from ..music21_compat import stream_of_midi
from ..piece import DUR, START, TPQ, Piece
from ..progressions import ChordSpan

__all__ = ["LEAD_FORMATS", "chord_symbol", "lead_score", "swing", "write_lead_sheet"]

#: What `write_lead_sheet` can write.
LEAD_FORMATS = ("mid", "wav", "musicxml", "svg")

# music21's chord kinds (MusicXML <kind>) for our qualities; the printed text is our own suffix (SUFFIX).
M21_KINDS = {
    "maj": "major", "min": "minor", "7": "dominant-seventh", "maj7": "major-seventh", "m7": "minor-seventh",
    "dim": "diminished", "dim7": "diminished-seventh", "m7b5": "half-diminished-seventh", "aug": "augmented",
    "sus4": "suspended-fourth", "sus2": "suspended-second", "6": "major-sixth", "m6": "minor-sixth",
    "mmaj7": "minor-major-seventh",
}
assert set(M21_KINDS) == set(QUALITIES)


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

    score = symusic.Score(TPQ)
    score.tempos.append(symusic.Tempo(0, float(tempo)))
    score.time_signatures.append(symusic.TimeSignature(0, *time_signature))
    for piece in pieces:
        score.tracks.append(piece.to_score().tracks[0])
    parsed = stream_of_midi(bytes(score.dumps_midi()))
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

    from ..music21_compat import music21_key_name

    ts = melody.time_signature
    pieces = [Piece(melody.notes, program=melody.program, time_signature=ts)]
    kept = [t for t in tracks if len(t.notes)]
    pieces += [Piece(_notated(t.notes), program=t.program, time_signature=ts) for t in kept]
    parts = _parts_from_midi(pieces, ts, melody.tempo)
    score = stream.Score()
    score.metadata = metadata.Metadata()
    if title:
        score.metadata.title = score.metadata.movementName = title
    names = [_instrument_name(melody.program), *(t.name for t in kept)]
    key = None
    if melody.key:
        try:
            key = m21key.Key(*music21_key_name(melody.key))
        except Exception:  # an unparsable key name only costs the key signature
            key = None
    for part, name, track in zip(parts, names, [None, *kept]):
        part.partName, part.partAbbreviation = name, None
        for inst in part.recurse().getElementsByClass("Instrument"):  # its own name would label the staff
            inst.partName = inst.instrumentName = name
            inst.partAbbreviation = inst.instrumentAbbreviation = None
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


def _instrument_name(program: int) -> str:
    """The General MIDI instrument a program plays, as a staff is labelled ("Violin", "Alto Saxophone")."""
    from music21 import instrument

    try:
        return instrument.instrumentFromMidiProgram(int(program)).instrumentName or "Melody"
    except Exception:  # a program music21 does not name
        return "Melody"


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
                     melody_program: int | None = None, voice=None) -> dict[str, str]:
    """Write the lead sheet as stem.mid, stem.wav, stem.musicxml, stem.svg (those of `formats`).

    The MIDI file (type 1) has the melody (program `melody_program`, default `melody.program`) as its first
    track and the `style` accompaniment's tracks after it, at `tempo` (default `melody.tempo`), swung by
    `swing_ratio`; the WAV is that MIDI played (`audio.midi_to_audio`: FluidSynth, or the built-in synthesizer
    with a warning; with `voice`, a `voice.choice.VoiceChoice`, that learned voice). The MusicXML (`lead_score`,
    straight) and its SVG engraving (`sheet.musicxml_to_svg`; pages after the first are stem-2.svg, ...) carry
    the chord symbols. Returns {format: the path written (the first SVG page), or "error: <one line>"}: one failed
    format does not stop the others. UserError up front for an unknown style or format, or a bad swing ratio."""
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
            "wav": lambda: midi_to_audio(where("mid"), where("wav"), voice=voice),
            "musicxml": lambda: write_musicxml(lead_score(replace(melody, program=program), spans, tracks, title=title),
                                               where("musicxml")),
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
