"""A four-part chorale as a choir reads it: two staves, soprano and alto on the treble staff (stems up and down),
tenor and bass on the bass staff, bar lines after the pickup, fermatas over the soprano (`satb_score`).

The voices are found by register (`rnnmusic.voicing`), on a sixteenth grid; notes crossing a bar line are split
and tied; a voice's silence is a rest. The piece's `meta` gives the pickup (`bar_offset`, quarters into the first
bar) and the fermatas (`[start, end]` spans in quarters) when it has them (chorales decoded by the `satb`
encoding and pieces read from a score do).
"""
from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

from ..music21_compat import music21_key_name
from ..piece import Piece
from ..voicing import voice_lines, voice_steps

GRID = 4  # steps per quarter: sixteenths


def _events(line, start: int, end: int):
    """(offset in the bar, length, pitch or None, tied from before, tied on) of one voice within [start, end)
    steps, rests filling the gaps."""
    out, t = [], start
    for first, length, pitch in line:
        a, b = max(first, start), min(first + length, end)
        if a >= b:
            continue
        if a > t:
            out.append((t - start, a - t, None, False, False))
        out.append((a - start, b - a, pitch, first < start, first + length > end))
        t = b
    if t < end:
        out.append((t - start, end - t, None, False, False))
    return out


def spelling(key_name: str | None) -> dict[int, str]:
    """Pitch class -> note name (music21's, flats as '-') for `key_name` ("F# minor"): the key's scale, then the
    parallel mode's (raised 6th and 7th in minor, borrowed notes in major), then sharps in sharp keys and flats
    in flat keys."""
    from music21 import key as m21key

    names: dict[int, str] = {}
    try:
        k = m21key.Key(*music21_key_name(key_name or "C major"))
    except Exception:  # an unknown name: C major
        k = m21key.Key("C")
    other = m21key.Key(k.tonic.name, "minor" if k.mode == "major" else "major")
    for p in (*k.getPitches(), *other.getPitches()):
        names.setdefault(p.pitchClass, p.name)
    sharps = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
    flats = ("C", "D-", "D", "E-", "E", "F", "G-", "G", "A-", "A", "B-", "B")
    for pc in range(12):
        names.setdefault(pc, (flats if k.sharps < 0 else sharps)[pc])
    return names


def _pitch(midi: int, names: dict[int, str]):
    from music21 import pitch as m21pitch

    p = m21pitch.Pitch(names[midi % 12])
    p.octave = 4
    p.octave += (midi - p.midi) // 12
    return p


def satb_score(piece: Piece, title: str = ""):
    """The music21 Score of `piece` on two staves (see the module's notes)."""
    from music21 import clef, expressions, layout, metadata, meter, note, stream, tie
    from music21 import key as m21key

    steps = voice_steps(piece, GRID)
    lines = voice_lines(steps)
    first = steps.first_step
    shift = [[(s + first, n, p) for s, n, p in line] for line in lines]  # steps from the piece's time 0
    total = first + len(steps.note)
    bar = max(1, round(piece.bar_length * GRID))
    pickup = round(float(piece.meta.get("bar_offset", 0.0)) * GRID) % bar
    bounds = [0]
    edge = bar - pickup if pickup else bar
    while bounds[-1] < total:  # the last bar is whole (rests after the final chord), or completes the pickup's
        bounds.append(edge)
        edge += bar
    if pickup and bounds[-1] - total == pickup and len(bounds) > 2:
        bounds[-1] = total
    fermata_starts = {round(a * GRID) for a, _ in piece.meta.get("fermatas", ())}
    if not piece.key and len(piece):  # a MIDI file read back: its key as rnnmusic estimates it
        from ..keys import estimate_key

        piece = replace(piece, key=str(estimate_key(piece).key))
    names = spelling(piece.key)
    score = stream.Score()
    score.metadata = metadata.Metadata(title=title, movementName=title)
    staves = []
    for staff, (upper, lower) in enumerate(((0, 1), (2, 3))):
        part = stream.PartStaff()
        for m_index, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
            m = stream.Measure(number=m_index + (0 if pickup else 1))
            if m_index == 0:
                m.insert(0, clef.TrebleClef() if staff == 0 else clef.BassClef())
                m.insert(0, meter.TimeSignature(f"{piece.time_signature[0]}/{piece.time_signature[1]}"))
                if piece.key:
                    m.insert(0, m21key.Key(*music21_key_name(piece.key)))
                if pickup:
                    m.paddingLeft = pickup / GRID
            for voice_no, v in enumerate((upper, lower)):
                voice = stream.Voice(id=str(voice_no + 1))
                for off, length, pitch, tied_in, tied_on in _events(shift[v], a, b):
                    ql = Fraction(length, GRID)
                    if pitch is None:
                        el = note.Rest(quarterLength=ql)
                    else:
                        el = note.Note(_pitch(pitch, names), quarterLength=ql)
                        el.stemDirection = "up" if voice_no == 0 else "down"
                        if tied_in or tied_on:
                            el.tie = tie.Tie("continue" if tied_in and tied_on else "stop" if tied_in else "start")
                        if v == 0 and a + off in fermata_starts and not tied_in:
                            fermata = expressions.Fermata()
                            fermata.type = "upright"
                            el.expressions.append(fermata)
                    voice.insert(Fraction(off, GRID), el)
                m.insert(0, voice)
            part.append(m)
        staves.append(part)
        score.insert(0, part)
    score.insert(0, layout.StaffGroup(staves, symbol="brace"))
    for part in staves:
        part.makeAccidentals(inPlace=True)
    return score


