"""music21's classical corpora by name (`CLASSICAL_CORPORA`): the score files of each, one per work."""
from __future__ import annotations

import os
from dataclasses import dataclass

from .builtin import music21_corpus_dir
from .formats import MUSIC21_SUFFIXES, files_in


@dataclass(frozen=True)
class ClassicalCorpus:
    """A named set of folders of music21's corpus and what they hold."""

    name: str
    description: str
    folders: tuple[str, ...]  # folders under music21/corpus, searched recursively
    approx_pieces: int
    suffixes: tuple[str, ...] = MUSIC21_SUFFIXES

    def paths(self) -> list[str]:
        """The score files, sorted; one file per work when music21 ships it in two formats (MusicXML first)."""
        root = music21_corpus_dir()
        best: dict[tuple[str, str], str] = {}
        for folder in self.folders:
            for path in files_in(os.path.join(root, folder), self.suffixes):
                stem, suffix = os.path.splitext(path)
                key = (os.path.dirname(stem), os.path.basename(stem))
                old = best.get(key)
                rank = self.suffixes.index
                if old is None or rank(suffix.lower()) < rank(os.path.splitext(old)[1].lower()):
                    best[key] = path
        return sorted(best.values())


CLASSICAL_CORPORA: dict[str, ClassicalCorpus] = {c.name: c for c in (
    ClassicalCorpus("bach-chorales", "J. S. Bach's four-part chorales (music21's Bach collection)", ("bach",), 410),
    ClassicalCorpus("beethoven", "Beethoven string quartets (op. 18, 59, 74, 132, 133), whole or by movement",
                    ("beethoven",), 22),
    ClassicalCorpus("mozart", "Mozart string quartets K. 80, 155, 156, 458 and the piano sonata K. 545 exposition",
                    ("mozart",), 16),
    ClassicalCorpus("haydn", "Haydn string quartets op. 1 no. 1 and op. 74 no. 1, by movement", ("haydn",), 9),
    ClassicalCorpus("joplin", "Scott Joplin: Maple Leaf Rag (piano)", ("joplin",), 1),
    ClassicalCorpus("monteverdi", "Monteverdi five-voice madrigals, books 3 to 5", ("monteverdi",), 49),
    ClassicalCorpus("palestrina", "Palestrina mass movements in four to six voices (kern)", ("palestrina",), 1318),
    ClassicalCorpus("trecento", "Italian trecento songs and motets (Landini, Jacopo da Bologna and others)",
                    ("trecento",), 102),
    ClassicalCorpus("lead-sheets", "Lead sheets with chord symbols: music21's two MusicXML songs (Foster, Berlin) "
                    "and its two Nottingham tunes (ABC); the `lead` encoding's default (pass more with --corpus)",
                    ("leadSheet", "nottingham-dataset"), 4, suffixes=(".mxl", ".xml", ".abc")),
)}


def classical_names() -> list[str]:
    return list(CLASSICAL_CORPORA)


def find_classical(source: str) -> ClassicalCorpus | None:
    return CLASSICAL_CORPORA.get(source.strip().lower())
