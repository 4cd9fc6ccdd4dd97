"""Music corpora: ABC tunebooks (files, folders, globs, or corpora built into music21) -> cleaned tunes + a report;
MIDI, MusicXML, kern and ABC scores (and music21's classical corpora) -> `Piece`s + a report.

    corpus = load_abc(["oneills", "my_tunes/"])
    train, valid = corpus.split(0.1, seed=0)
    print(corpus.report.summary())

    pieces = load_pieces(["bach-chorales", "midi/"], tracks="piano")
"""
from __future__ import annotations

from .abc import Corpus, Tune, clean_tune, load_abc, split_tunebook
from .builtin import BUILTIN_CORPORA, BuiltinCorpus, builtin_names
from .report import CorpusReport
from .scores import (
    CLASSICAL_CORPORA,
    ClassicalCorpus,
    Limits,
    PieceCorpus,
    ScoreReport,
    TrackSelector,
    is_score_source,
    load_pieces,
    parse_tracks,
)

__all__ = [
    "BUILTIN_CORPORA",
    "BuiltinCorpus",
    "CLASSICAL_CORPORA",
    "ClassicalCorpus",
    "Corpus",
    "CorpusReport",
    "Limits",
    "PieceCorpus",
    "ScoreReport",
    "TrackSelector",
    "Tune",
    "builtin_names",
    "clean_tune",
    "is_score_source",
    "load_abc",
    "load_pieces",
    "parse_tracks",
    "split_tunebook",
]
