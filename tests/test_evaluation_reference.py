"""The evaluation's reference is a seeded random sample of the reference corpus, not its first pieces (O'Neill's
first 300 tunes are all slow airs)."""
from __future__ import annotations

from collections import Counter

import numpy as np

from rnnmusic.evaluation.compare import REFERENCE_SEED, read_reference
from rnnmusic.piece import Piece


def test_an_abc_reference_is_a_sample_across_the_whole_corpus():
    pieces, skipped = read_reference(["oneills"], 30, workers=1)
    assert len(pieces) == 30 and not skipped
    books = Counter(p.source.split("#")[0] for p in pieces)
    assert len(books) >= 12  # tunes from all over the collection; its first 30 tunes come from one tunebook
    assert all("oneills1850" in p.source and "#X:" in p.source for p in pieces)  # the tunes' own names
    assert len({p.time_signature for p in pieces}) >= 4  # airs, jigs, reels, hornpipes...
    again, _ = read_reference(["oneills"], 30, workers=1)
    assert [p.source for p in again] == [p.source for p in pieces]  # the same sample every time
    assert isinstance(REFERENCE_SEED, int)


def test_a_midi_reference_is_sampled_too(tmp_path):
    for i in range(8):
        Piece([(j * 0.5, 0.5, 60 + (i + j) % 12, 80) for j in range(16)]).write_midi(tmp_path / f"ref-{i}.mid")
    pieces, _ = read_reference([str(tmp_path)], 5, workers=1)
    names = [p.source.rsplit("/", 1)[-1] for p in pieces]
    assert len(names) == 5 and names == sorted(names)  # in corpus order
    assert names != [f"ref-{i}.mid" for i in range(5)]  # not simply the first five
    assert [p.source for p in read_reference([str(tmp_path)], 5, workers=1)[0]] == [p.source for p in pieces]
    everything, _ = read_reference([str(tmp_path)], None, workers=1)
    assert len(everything) == 8 and np.all([len(p) == 16 for p in everything])
