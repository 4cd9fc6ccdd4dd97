"""abc-folk: tune form, conditioning tokens, requests honoured while sampling, the ABC grammar guard."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnmusic.config import ModelConfig
from rnnmusic.corpus import load_abc
from rnnmusic.encodings import get_encoding
from rnnmusic.encodings.abc_form import normalise_type, tune_form
from rnnmusic.encodings.abc_request import request_controls
from rnnmusic.errors import UserError
from rnnmusic.model import MusicRNN
from rnnmusic.sampler import SampleConfig, sample

HORNPIPE = """M:C|
L:1/8
R:hornpipe
K:Bb
F>E | D>FB>c d>Bg>f | ((3ecA) ((3ecA) a3g | f>=e_e>c A>ag>f | =e>fg>f d>BF>E |
| D>FB>c d>Bg>f | ((3ecA) ((3ecA) a3g | f>=e_e>c A>ag>A | B2d2B2 :|
|: c>B | A>cd>c a>f=e>f | d>Bd>g b>g^f>g | =e>c=B>c ^c>d^d>=e | ((3gf=e) ((3fed) c2c>B |
| A>cd>c a>f=e>f | d>Bd>g b>g^f>g | =e>c=B>c ^c>d^d>=e | f2a2f2 :|
"""
ENDINGS = "M:6/8\nL:1/8\nR:double jig\nK:D\n|:A|dfe d2c|BAG FED|dfe d2c|1 BAG A2:|2 BAG AFD||\n" \
          "|:fga agf|gab bag|fga agf|egf e2d:|\n"


def test_form_of_real_tunes():
    f = tune_form(HORNPIPE)
    assert (f.type, f.meter, f.key, f.sections, f.parts, f.bars_per_part, f.bars) == \
           ("hornpipe", "C|", "Bb", (9, 9), 2, 8, 18)
    f = tune_form(ENDINGS)  # a second ending is a short section, not a part
    assert f.type == "jig" and f.parts == 2 and f.bars_per_part == 4 and f.sections[1] == 1


@pytest.mark.parametrize("raw, want", [("reel", "reel"), ("Double Jig", "jig"), ("slipjig", "slip-jig"),
                                       ("clog", "hornpipe"), ("lied", "other"), (None, "?")])
def test_type_names(raw, want):
    assert normalise_type(raw) == want


@pytest.fixture(scope="module")
def folk():
    corpus = load_abc(["ryans"], max_tunes=150)
    enc = get_encoding("abc-folk").fit([t.text for t in corpus.tunes])
    torch.manual_seed(0)
    model = MusicRNN(ModelConfig(vocab_size=enc.vocab_size, layers=1, hidden=32, embed=16))
    return corpus, enc, model


def test_round_trip_and_conditioning(folk):
    corpus, enc, _ = folk
    for tune in corpus.tunes[:60]:
        toks = enc.tokenize(tune.text)
        assert toks[0].startswith("<type:") and toks[1].startswith("<parts:") and toks[2].startswith("<bars:")
        assert enc.detokenize(toks) == tune.text
        assert enc.decode(enc.encode(tune.text)) == tune.text


def test_requests_are_honoured_even_by_an_untrained_model(folk):
    _, enc, model = folk
    controls = request_controls(enc, type="jig", key="Ador", parts=2, bars_per_part=8)
    tunes = sample(model, enc, SampleConfig(count=6, seed=3, max_length=1500, controls=controls))
    forms = [tune_form(body) for body in tunes]
    assert all(f.meter == "6/8" and f.key == "Ador" for f in forms)  # held to by the header mask, always
    # the form is held to by masks with fallbacks (an untrained model can corner them): most tunes, not all;
    # the shipped model's rate is measured in bench/folk_quality (100% of 20 tunes per request)
    assert sum(f.parts == 2 and f.bars_per_part == 8 for f in forms) >= len(forms) // 2, [f.sections for f in forms]


def test_default_request_is_a_dance_tune_in_two_or_more_parts(folk):
    _, enc, model = folk
    tunes = sample(model, enc, SampleConfig(count=6, seed=5, max_length=1500))
    assert all(tune_form(b).parts >= 2 for b in tunes)
    assert all("\n\n" not in b.strip("\n") for b in tunes)  # a blank line would end an ABC tune


def test_request_errors(folk):
    _, enc, _ = folk
    with pytest.raises(UserError, match="unknown tune type"):
        request_controls(enc, type="bolero")
    with pytest.raises(UserError, match="not known to this model"):
        request_controls(enc, key="C#loc")
    with pytest.raises(UserError, match="abc-folk"):
        request_controls(get_encoding("abc-tokens"), type="reel")
    assert request_controls(enc) == {}


def _mask_after(enc, guard, tokens):
    for tok in tokens:
        guard.advance(tok)
    mask = guard.allowed()
    return {t for t, ok in zip(enc.vocab, mask) if ok}


def test_grammar_guard(folk):
    _, enc, _ = folk
    head = ["<type:reel>", "<parts:2>", "<bars:8>", "M:C|", "\n", "L:1/8", "\n", "K:D", "\n"]
    allowed = _mask_after(enc, enc.constraint(), head + ["A", "B", "c", "d", "e", "f", "g", "a"])
    assert "|" in allowed and not any(t in allowed for t in ("A", "B", "c2", "z"))  # a full bar takes a bar line
    allowed = _mask_after(enc, enc.constraint(), head + ["A", "B", "|", "A"])
    assert "|" not in allowed and ":|" not in allowed  # a short bar after the pickup is refused
    allowed = _mask_after(enc, enc.constraint(), head + ["{"])
    assert allowed and all(t[0] in "^_=ABCDEFGabcdefg" for t in allowed)  # grace notes, then a note
    allowed = _mask_after(enc, enc.constraint(), head + ["A2", ">"])
    assert allowed == {t for t in allowed if t.rstrip(",'").lstrip("^_=")[:1].isalpha()} and "B" not in allowed
    assert "\n" not in _mask_after(enc, enc.constraint(), head)  # no blank line


def test_mask_never_empty_on_real_tunes(folk):
    corpus, enc, _ = folk
    for tune in corpus.tunes[:20]:
        guard = enc.constraint()
        for tok in enc.tokenize(tune.text):
            mask = guard.allowed()
            assert mask is None or np.any(mask)
            guard.advance(tok)


def test_header_fields_after_k_are_header_fields():
    from rnnmusic.corpus.abc import clean_tune

    text, reason, dropped = clean_tune("X:1\nT:Tune\nM:6/8\nK:G\nC:Trad.\nR:jig\nB:O'Neill\nGAB c2d|e3 d3|]\n")
    assert reason is None
    assert text == "M:6/8\nR:jig\nK:G\nGAB c2d|e3 d3|]\n"  # R: joins the header; C: and B: are dropped, not notes
    assert dropped["C"] == 1 and dropped["B"] == 1


def test_studio_request_for_a_folk_model():
    from types import SimpleNamespace

    from rnnmusic.studio.params import generate_request, generation_request

    req = generate_request({"run": "r0/x", "tune_type": "Jig", "key": "Ador", "parts": "3", "bars_per_part": "8"},
                           piece_format="abc", kind="tokens", encoding="abc-folk")
    enc = SimpleNamespace(kind="tokens", piece_format="abc", name="abc-folk")
    g = generation_request(req, enc, title="x", formats=("abc",))
    asked = {k: getattr(g, k) for k in ("type", "meter", "key", "parts", "bars_per_part")}
    assert {k: v for k, v in asked.items() if v} == {"type": "jig", "key": "Ador", "parts": 3, "bars_per_part": 8}
    with pytest.raises(UserError, match="type must be one of"):
        generate_request({"run": "r0/x", "tune_type": "bolero"}, piece_format="abc", kind="tokens", encoding="abc-folk")
    with pytest.raises(UserError, match="abc-folk"):
        generate_request({"run": "r0/x", "parts": "2"}, piece_format="abc", kind="tokens", encoding="abc-tokens")
