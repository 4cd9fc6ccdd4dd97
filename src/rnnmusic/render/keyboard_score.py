"""Piano music as a pianist reads it: a grand staff, the notes from middle C up on the treble staff, those below on
the bass staff (`grand_staff`), each staff quantized by music21 as MIDI is (sixteenths and eighth triplets)."""
from __future__ import annotations

from dataclasses import replace

from ..music21_compat import stream_of_midi
from ..piece import PITCH, START, Piece

SPLIT = 60  # middle C: the lowest note of the right hand's staff


def grand_staff(piece: Piece, title: str = ""):
    """The music21 Score of `piece` on two staves joined by a brace (an empty staff keeps its bars of rests). A
    piece that starts inside a bar (`meta["bar_offset"]`, quarters into it) starts there, after rests."""
    from music21 import clef, layout, metadata, stream, tempo

    shift = float(piece.meta.get("bar_offset", 0.0) or 0.0)
    if shift:
        notes = piece.notes.copy()
        notes[:, START] += shift
        piece = replace(piece, notes=notes)

    score = stream.Score()
    score.metadata = metadata.Metadata(title=title, movementName=title)
    staves = []
    for upper in (True, False):
        notes = piece.notes[(piece.notes[:, PITCH] >= SPLIT) == upper]
        if not len(notes):  # a silent hand: a rest as long as the piece, so both staves have the same bars
            notes = piece.notes[:0]
        hand = replace(piece, notes=notes)
        parsed = stream_of_midi(bytes(hand.to_score().dumps_midi()))
        part = parsed.parts[0] if parsed.parts else stream.Part()
        first = part.getElementsByClass("Measure").first()
        if first is not None:
            for old in first.getElementsByClass("Clef"):
                first.remove(old)
            first.insert(0, clef.TrebleClef() if upper else clef.BassClef())
        part.partName = "Piano" if upper else ""
        if not upper:  # one tempo mark, over the top staff
            for mark in list(part.recurse().getElementsByClass(tempo.MetronomeMark)):
                mark.activeSite.remove(mark)
        staves.append(part)
        score.insert(0, part)
    score.insert(0, layout.StaffGroup(staves, symbol="brace", barTogether=True))
    return score
