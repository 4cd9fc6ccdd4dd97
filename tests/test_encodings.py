"""Encodings on real tunes: round trips, vocabularies, persistence, robustness, and what music21 reads.

Data: the ABC tunes music21 ships (O'Neill's 1850 and the Essen folksong collection), cleaned inside
this file (or by `rnnmusic.corpus.clean_tune` when that module is importable).
"""
from __future__ import annotations

import glob
import json
import os
import re

import music21
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from rnnmusic.corpus import clean_tune
from rnnmusic.encodings import encoding_from_dict, get_encoding
from rnnmusic.encodings.abc_tokens import normalise
from rnnmusic.encodings.base import BOS, EOS, SPECIALS, UNK

CORPUS = os.path.join(os.path.dirname(music21.__file__), "corpus")
NAMES = ["abc-char", "abc-tokens"]

EXAMPLE = (
    "M:6/8\n"
    "L:1/8\n"
    "K:G\n"
    '|:D|G2B AGA|B2d gdB|"Am"c2e "D7"dcB|A3 A2:|\n'
    "|[1 GAB c2d|[2 e>fg (3abc {g}f2 =F^G_a z2 x/2|]"
)


# -- minimal cleaning of real tunes -------------------------------------------------------------------
def _split_tunes(raw: str) -> list[str]:
    tunes: list[list[str]] = []
    for line in raw.splitlines():
        if re.match(r"X\s*:", line):
            tunes.append([line])
        elif tunes:
            tunes[-1].append(line)
    return ["\n".join(t) for t in tunes]


def _own_clean(raw: str) -> str | None:
    """Keep M:, L:, K: (K: last) and the body; drop other header lines, comments and blank runs."""
    head: dict[str, str] = {}
    body: list[str] = []
    in_body = False
    for line in raw.splitlines():
        line = re.sub(r"[ \t]+", " ", line.split("%", 1)[0]).strip()
        if not line:
            continue
        m = re.match(r"([A-Za-z]):(.*)", line)
        if m and not re.match(r"[A-Za-z]:\s*[|:]", line):
            key, value = m.group(1), m.group(2).strip()
            if key in "ML":
                value = value.replace(" ", "")
            if not in_body:
                if key in "MLK":
                    head[key] = value
                in_body = key == "K"
            elif key in "KMLP":
                body.append(f"{key}:{value}")
            continue
        if in_body:
            body.append(line)
    if "K" not in head or not body:
        return None
    return "\n".join([f"{k}:{head[k]}" for k in "MLK" if k in head] + body)


def _clean(raw: str) -> str | None:
    text, _reason, _counts = clean_tune(raw)
    return text


def _load(folder: str) -> list[str]:
    tunes: list[str] = []
    for path in sorted(glob.glob(os.path.join(CORPUS, folder, "*.abc"))):
        with open(path, encoding="latin-1") as f:
            raw = f.read()
        tunes.extend(t for t in map(_clean, _split_tunes(raw)) if t)
    return tunes


@pytest.fixture(scope="module")
def oneills() -> list[str]:
    tunes = _load("oneills1850")
    assert len(tunes) > 1000, "O'Neill's collection not found in music21's corpus"
    return tunes


@pytest.fixture(scope="module")
def essen() -> list[str]:
    tunes = _load("essenFolksong")
    assert len(tunes) > 5000, "Essen collection not found in music21's corpus"
    return tunes


@pytest.fixture(scope="module")
def fitted(oneills) -> dict:
    return {name: get_encoding(name).fit(oneills) for name in NAMES}


def _is_field(line: str) -> bool:
    return bool(re.match(r"[A-Za-z]:(?![ \t]*[|:])", line))  # "A:|" is a note and a repeat


# -- round trips on real tunes --------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_round_trip_real_tunes(name, oneills, essen):
    tunes = oneills + essen[::20]
    enc = get_encoding(name).fit(tunes)
    exact = 0
    for text in tunes:
        back = enc.decode(enc.encode(text))
        if back == text:
            exact += 1
            continue
        assert name == "abc-tokens", f"abc-char must round-trip exactly:\n{text!r}\n{back!r}"
        # the documented normalisation: blanks and the spelling of field lines, nothing else
        src, out = text.split("\n"), back.split("\n")
        assert len(src) == len(out), (text, back)
        for a, b in zip(src, out):
            if _is_field(a):  # same field, blanks tidied; K: may respell its mode
                assert b[:2] == a[:2], (a, b)
                if a[0] != "K":
                    squashed = re.sub(r"[ \t]+", " ", a.strip()).replace(": ", ":", 1)
                    assert b == (re.sub(r" ?/ ?", "/", squashed) if a[0] in "ML" else squashed), (a, b)
            else:
                assert b == re.sub(r"[ \t]+", " ", a).strip(), (a, b)
        assert enc.decode(enc.encode(back)) == back  # the normal form is a fixed point
    assert len(tunes) > 1000
    assert exact >= 0.98 * len(tunes), f"{name}: only {exact}/{len(tunes)} tunes round-trip exactly"


def test_abc_tokens_round_trip_is_exact_on_own_cleaning():
    # Independently of the corpus module: tunes cleaned here come back exactly, except the few whose
    # key spells its mode in capitals (K:ADor), which come back lower-cased (K:Ador).
    enc = get_encoding("abc-tokens")
    raw = []
    for path in sorted(glob.glob(os.path.join(CORPUS, "oneills1850", "*.abc"))):
        with open(path, encoding="latin-1") as f:
            raw.extend(t for t in map(_own_clean, _split_tunes(f.read())) if t)
    changed = []
    for text in raw:
        back = enc.detokenize(enc.tokenize(text))
        if back != text:
            changed.append((text, back))
            diff = [(a, b) for a, b in zip(text.split("\n"), back.split("\n")) if a != b]
            assert diff and all(a.startswith("K:") and a.lower() == b.lower() for a, b in diff), diff
    assert len(changed) < 20


def test_example_tokens():
    enc = get_encoding("abc-tokens")
    toks = enc.tokenize(EXAMPLE)
    assert enc.detokenize(toks) == EXAMPLE
    assert toks[:6] == ["M:6/8", "\n", "L:1/8", "\n", "K:G", "\n"]
    for tok in ["|:", ":|", "|]", "[1", "[2", '"Am"', '"D7"', "(3", "{", "}", "=F", "^G", "_a", "z2", "x/2", "G2", ">"]:
        assert tok in toks, tok
    assert toks[6:9] == ["|:", "D", "|"]
    assert " " in toks  # beaming is kept
    more = enc.tokenize("[K:D] ^c'2 _B,/2 G3/2 [CEG]2 !trill!~.T(3:2:3 :||: :: |1 :|2 [| ||\nP:B\n[M:3/4] e-e")
    for tok in ["[K:D]", "^c'2", "_B,/2", "G3/2", "[", "C", "E", "G", "]2", "!trill!", "~", ".", "T", "(3:2:3",
                ":||:", "::", "|1", ":|2", "[|", "||", "P:B", "[M:3/4]", "-"]:
        assert tok in more, tok
    assert enc.tokenize("^c'2") == ["^c'2"] and enc.tokenize("M:6/8") == ["M:6/8"]
    assert enc.tokenize('"Am"') == ['"Am"']


def test_abc_tokens_normalisation_is_documented_and_idempotent():
    enc = get_encoding("abc-tokens")
    messy = "M: 6/8\nL: 1/8\nK: G\n  |:D|G2B  AGA|B2d\tgdB|  \n[K: D] A2 \nK:E Dorian\nK:AMix\nK:Gmaj\nK:Amin"
    clean = "M:6/8\nL:1/8\nK:G\n|:D|G2B AGA|B2d gdB|\n[K:D] A2\nK:Edor\nK:Amix\nK:G\nK:Am"
    assert enc.detokenize(enc.tokenize(messy)) == clean == normalise(messy)
    assert normalise(clean) == clean
    for odd in ["K:none", "K:HP", "K:Dmixm", "K:Gm7"]:  # keys it does not recognise are left alone
        assert normalise(odd) == odd
    assert normalise("M: 6 / 8\nM:2/4 3/4\nQ: 1/4=120  \"Allegro\"") == 'M:6/8\nM:2/4 3/4\nQ:1/4=120 "Allegro"'
    # a body line that starts with a note and a repeat is music, not a field
    assert enc.tokenize("d2 e:|\nA:|B") == ["d2", " ", "e", ":|", "\n", "A", ":|", "B"]
    # edge cases of the normalisation stay fixed points
    for tricky in ["K: |x", "K:\t:G", "  K:G  \n  A  B  ", "[K: Am ]", "M: 6 / 8", "K:G ^f", "K: G dor ^f =c"]:
        toks = enc.tokenize(tricky)
        assert enc.tokenize(enc.detokenize(toks)) == toks, tricky


def test_unknown_characters_are_kept():
    enc = get_encoding("abc-tokens")
    text = "G2 \u20ac A\\ y+ B#"
    toks = enc.tokenize(text)
    assert "\u20ac" in toks and "\\" in toks and "y" in toks and "+" in toks and "#" in toks
    assert enc.detokenize(toks) == text


def test_detokenize_keeps_fields_on_their_own_line():
    enc = get_encoding("abc-tokens")
    out = enc.detokenize(["G2", "K:D", "A", "%comment", "B", "M:3/4"])
    assert out == "G2\nK:D\nA%comment\nB\nM:3/4"
    assert enc.tokenize(out) == ["G2", "\n", "K:D", "\n", "A", "%comment", "\n", "B", "\n", "M:3/4"]


# -- vocabulary -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_fit_vocab_and_framing(name, fitted, oneills):
    enc = fitted[name]
    assert enc.vocab[:3] == [BOS, EOS, UNK] == list(SPECIALS)
    assert len(set(enc.vocab)) == len(enc.vocab)
    ids = enc.encode(oneills[0])
    assert ids.dtype == np.int64 and ids[0] == enc.bos_id and ids[-1] == enc.eos_id
    assert len(ids) == len(enc.tokenize(oneills[0])) + 2
    assert len(enc.encode(oneills[0], bos=False, eos=False)) == len(ids) - 2
    assert enc.unk_id not in set(ids.tolist())  # fitted on these tunes: nothing unknown
    # a token never seen in O'Neill's maps to <unk>, and decoding drops it
    novel = "\u00a7" if name == "abc-char" else "^^g'''7/16"
    assert novel not in enc.vocab
    ids = enc.encode(f"G2 {novel} A")
    assert enc.unk_id in ids.tolist()
    assert novel not in enc.decode(ids)
    # frequency order: the most frequent non-special token comes first
    counts = enc.token_counts
    assert counts[enc.vocab[3]] == max(counts.values())


def test_vocab_sizes_on_oneills(fitted, oneills):
    char, tok = fitted["abc-char"], fitted["abc-tokens"]
    n_char = np.mean([len(char.tokenize(t)) for t in oneills])
    n_tok = np.mean([len(tok.tokenize(t)) for t in oneills])
    print(f"\nO'Neill's: {len(oneills)} tunes; abc-char vocab {char.vocab_size}, {n_char:.1f} tokens/tune; "
          f"abc-tokens vocab {tok.vocab_size}, {n_tok:.1f} tokens/tune")
    assert 40 < char.vocab_size < 150
    assert char.vocab_size < tok.vocab_size < 2000
    assert n_tok < n_char


# -- persistence ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_json_round_trip(name, fitted, oneills, essen):
    enc = fitted[name]
    again = encoding_from_dict(json.loads(json.dumps(enc.to_dict())))
    assert type(again) is type(enc) and again.vocab == enc.vocab
    for text in oneills[:50] + essen[:50] + [EXAMPLE]:
        assert np.array_equal(again.encode(text), enc.encode(text))


# -- robustness: the model may emit anything --------------------------------------------------------------
_ENCS = {name: get_encoding(name).fit([EXAMPLE, "M:3/4\nL:1/4\nK:Dm\n[K:D] ^c'2 z2 !trill!A2 |]"]) for name in NAMES}


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=150, deadline=None)
@given(ids=st.lists(st.integers(min_value=-(2**40), max_value=2**40) | st.integers(-5, 80), max_size=200))
def test_decode_any_ids(name, ids):
    out = _ENCS[name].decode(ids)
    assert isinstance(out, str)
    assert "<s>" not in out and "</s>" not in out


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_detokenize_any_vocab_tokens(name, data):
    enc = _ENCS[name]
    toks = data.draw(st.lists(st.sampled_from(enc.vocab), max_size=200))
    out = enc.detokenize(toks)
    assert isinstance(out, str)
    enc.encode(out)  # and what comes out can be read back in


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=300, deadline=None)
@given(text=st.text() | st.text(alphabet="ABCDEFGabcdefgzxKMLP:|[]()/{}^_=,'0123456789<>-!\"~. \t\n", max_size=120))
@example(text="[|:")  # a bar line, once taken for an inline field ([|:] on the way back)
def test_tokenize_any_text(name, text):
    enc = _ENCS[name]
    toks = enc.tokenize(text)
    assert all(isinstance(t, str) and t for t in toks)
    back = enc.detokenize(toks)
    if name == "abc-char":
        assert back == text
    else:  # normalisation is idempotent, and outside fields it only ever removes blanks
        assert enc.tokenize(back) == toks
        assert enc.detokenize(enc.tokenize(back)) == back
        if not any(re.match(r"\[?[A-Za-z]:", t) for t in toks):
            assert re.sub(r"[ \t]", "", back) == re.sub(r"[ \t]", "", text)


# -- what music21 reads ----------------------------------------------------------------------------------
def _notes(text: str) -> list[tuple]:
    score = music21.converter.parse("X:1\n" + text, format="abc")
    out = []
    for n in score.flatten().notes:
        out.append((tuple(p.nameWithOctave for p in n.pitches), float(n.quarterLength)))
    return out


def test_music21_reads_the_same_notes(oneills, essen):
    enc = get_encoding("abc-tokens")
    picks = [EXAMPLE, essen[0], essen[123]]
    picks += [t for t in oneills if "{" in t and "(3" in t and "\\" not in t][:1]
    picks += [t for t in oneills if "~" in t and ">" in t and "|:" in t and "\\" not in t][:1]
    assert len(picks) == 5
    for text in picks:
        before = _notes(text)
        assert len(before) > 5
        assert _notes(enc.decode(enc.fit([text]).encode(text))) == before
    # a messy spelling of a tune normalises to text music21 reads as the same notes
    tune = essen[0]
    messy = re.sub(r"^([MLK]):", r"\1:  ", tune, flags=re.M).replace(" ", "   ").replace("\n", "  \n")
    assert normalise(messy) == tune
    assert _notes(normalise(messy)) == _notes(messy) == _notes(tune)
    # and a mode spelled differently
    assert _notes(normalise("M:4/4\nL:1/8\nK:A Mixolydian\nFGAB cdef|")) == _notes("M:4/4\nL:1/8\nK:Amix\nFGAB cdef|")


