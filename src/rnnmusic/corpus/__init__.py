"""Music corpora: ABC tunebooks (files, folders, globs, or corpora built into music21) -> cleaned tunes + a report;
MIDI, MusicXML, kern and ABC scores (and music21's classical corpora) -> `Piece`s + a report.

    corpus = load_abc(["oneills", "my_tunes/"])
    train, valid = corpus.split(0.1, seed=0)
    print(corpus.report.summary())

    pieces = load_pieces(["bach-chorales", "midi/"], tracks="piano")

Every file is read by the one guarded reader (`corpus.reader`: `read_music`, `read_tunebook`, `verdict`), which
every command uses, under one set of `Limits`.
"""
from __future__ import annotations

from .abc import Corpus, Tune, load_abc
from .abc_clean import clean_tune
from .abc_text import split_tunebook
from .builtin import BUILTIN_CORPORA, BuiltinCorpus, builtin_names
from .classical import CLASSICAL_CORPORA, ClassicalCorpus
from .formats import FileResult, Limits
from .reader import Tunebook, read_music, read_tunebook, verdict
from .report import CorpusReport, ScoreReport
from .scores import PieceCorpus, is_score_source, load_pieces
from .tracks import TrackSelector, parse_tracks

__all__ = [
    "BUILTIN_CORPORA",
    "BuiltinCorpus",
    "CLASSICAL_CORPORA",
    "ClassicalCorpus",
    "Corpus",
    "CorpusReport",
    "FileResult",
    "Limits",
    "PieceCorpus",
    "ScoreReport",
    "TrackSelector",
    "Tune",
    "Tunebook",
    "builtin_names",
    "clean_tune",
    "is_score_source",
    "load_abc",
    "load_pieces",
    "parse_tracks",
    "read_music",
    "read_tunebook",
    "split_tunebook",
    "verdict",
]
