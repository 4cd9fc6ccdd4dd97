"""What every reader shares: the file kinds (by suffix), finding files in folders, and the ONE set of `Limits`
a music file is judged by (corpus loading, training, priming, rendering, evaluation and the studio alike)."""
from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field

from ..piece import Piece

MIDI_SUFFIXES = (".mid", ".midi")
MUSIC21_SUFFIXES = (".mxl", ".xml", ".musicxml", ".krn")  # also the preference order for one work in two formats
ABC_SUFFIXES = (".abc",)
SCORE_SUFFIXES = MIDI_SUFFIXES + MUSIC21_SUFFIXES  # what `is_score_source` looks for (ABC goes to load_abc)
READABLE_SUFFIXES = SCORE_SUFFIXES + ABC_SUFFIXES
KINDS = {".mid": "midi", ".midi": "midi", ".mxl": "musicxml", ".xml": "musicxml", ".musicxml": "musicxml",
         ".krn": "kern", ".abc": "abc"}
NOT_MUSIC = "not a MIDI, MusicXML, kern or ABC file (by its name)"


@dataclass(frozen=True)
class Limits:
    """What a readable file may hold; a file (or a tune or piece in it) beyond these is refused with the reason.
    ABC tunes are also held to `abc_clean.MAX_LINE_CHARS` and `abc_clean.MAX_TUNE_CHARS`."""

    max_file_bytes: int = 64 * 2**20  # checked before reading
    max_notes: int = 200_000          # per piece
    min_tempo: float = 10.0           # quarter notes per minute, every tempo in the file
    max_tempo: float = 1000.0
    max_quarters: float = 20_000.0    # a piece's length in quarter notes: a note that never ends
    max_minutes: float = 240.0        # its length in time, through its tempo changes (what its audio would last)
    lead: bool = False                # read lead sheets: melody + chords (`corpus.leadsheets`)

    def key(self) -> str:
        """The part of the cache key: the limits that decide what a parsed file gives."""
        return (f"{self.max_notes}:{self.min_tempo:g}:{self.max_tempo:g}:{self.max_quarters:g}:{self.max_minutes:g}"
                + (":lead" if self.lead else ""))


def kind_of(path: str) -> str | None:
    """'midi', 'musicxml', 'kern' or 'abc' by the file's suffix; None for anything else."""
    return KINDS.get(os.path.splitext(path)[1].lower())


def files_in(folder: str, suffixes: tuple[str, ...] = ABC_SUFFIXES) -> list[str]:
    """Files under `folder` (recursively, in sorted order) whose names end with one of `suffixes`."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        found += [os.path.join(root, f) for f in sorted(files) if f.lower().endswith(suffixes)]
    return found


@dataclass
class FileResult:
    """What reading one file gave: its pieces, the pieces dropped, or the reason the whole file was refused."""

    pieces: list[Piece] = field(default_factory=list)  # sources are full ("path", "path#X:3", "path#2")
    drops: list[tuple[str, str]] = field(default_factory=list)  # (reason, example naming the piece)
    skip: str | None = None  # the file was refused: why (one line)
    found: int = 0  # pieces found in the file (kept or dropped)
    cacheable: bool = True  # False for problems that may go away (cannot read the file, out of memory)
    from_cache: bool = False
    duplicate_of: str | None = None  # the same bytes were read from this file already

    def refusal(self) -> str | None:
        """Why no piece came out of the file (None when one did): the file's reason, or its pieces' reasons."""
        if self.pieces:
            return None
        if self.skip is not None:
            return self.skip
        if not self.drops:
            return "no pieces in it"
        why = Counter(reason for reason, _ in self.drops)
        return "no usable pieces (" + ", ".join(f"{n} {r}" for r, n in why.most_common()) + ")"
