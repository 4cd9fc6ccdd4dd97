"""Music corpora: ABC tunebooks (files, folders, globs, or corpora built into music21) -> cleaned tunes + a report.

    corpus = load_abc(["oneills", "my_tunes/"])
    train, valid = corpus.split(0.1, seed=0)
    print(corpus.report.summary())
"""
from __future__ import annotations

from .abc import Corpus, Tune, clean_tune, load_abc, split_tunebook
from .builtin import BUILTIN_CORPORA, BuiltinCorpus, builtin_names
from .report import CorpusReport

__all__ = [
    "BUILTIN_CORPORA",
    "BuiltinCorpus",
    "Corpus",
    "CorpusReport",
    "Tune",
    "builtin_names",
    "clean_tune",
    "load_abc",
    "split_tunebook",
]
