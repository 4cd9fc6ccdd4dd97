"""Bar-aware sampling for abc-tokens: never blocks real music, always blocks an over-long bar."""
import numpy as np
import pytest

from rnnmusic.corpus import load_abc
from rnnmusic.encodings import get_encoding
from rnnmusic.evaluation.abc_check import check_tune
from rnnmusic.render.abc import tune_document


def _fitted():
    tunes = load_abc(["oneills"], max_tunes=300).tunes
    return tunes, get_encoding("abc-tokens").fit(t.text for t in tunes)


def first_blocked(enc, text):
    """Index of the first token the guard would not allow, or None."""
    g = enc.constraint()
    for k, tok in enumerate(enc.tokenize(text)):
        m = g.allowed()
        if m is not None and tok in enc._index and not m[enc._index[tok]]:
            return k
        g.advance(tok)
    return None


@pytest.mark.slow
def test_valid_real_tunes_are_never_blocked():
    tunes, enc = _fitted()
    checked = 0
    for t in tunes[:120]:
        if check_tune(tune_document(t.text)).valid:
            assert first_blocked(enc, t.text) is None, t.source
            checked += 1
    assert checked > 50


def test_over_long_bars_are_blocked_where_they_overflow():
    _, enc = _fitted()
    cases = {
        "M:6/8\nL:1/8\nK:G\nGAB cde|d2B G3|\n": None,            # full bars
        "M:6/8\nL:1/8\nK:G\nGAB cde f|\n": "f",                  # a 7th eighth
        "M:3/4\nL:1/8\nK:D\nd2 f2 a3|\n": "a3",                  # 7 eighths in 3/4
        "M:C|\nL:1/8\nK:A\n(3ABc d2 e4 f|\n": "f",              # triplet counted as 2 eighths
        "M:2/4\nL:1/16\nK:D\nA3B c>d e2|\n": None,              # broken rhythm keeps the total
        "M:2/4\nL:1/16\nK:D\n[DFA]4 [DFA]4 d|\n": "d",          # chords take their first note's length
    }
    for text, culprit in cases.items():
        toks = enc.tokenize(text)
        k = first_blocked(enc, text)
        assert (toks[k] if k is not None else None) == culprit, text


def test_no_meter_means_no_constraint():
    _, enc = _fitted()
    g = enc.constraint()
    for tok in enc.tokenize("M:none\nL:1/8\nK:G\nGABcdefgab"):
        assert g.allowed() is None
        g.advance(tok)


def test_mask_never_empty():
    _, enc = _fitted()
    g = enc.constraint()
    for tok in enc.tokenize("M:6/8\nL:1/8\nK:G\nGAB cde"):
        g.advance(tok)
    m = g.allowed()
    assert m is not None and m.any() and not m[enc._index["G"]]
    assert m[enc._index["|"]] and m[enc._index[" "]]
    assert np.count_nonzero(m) < len(m)
