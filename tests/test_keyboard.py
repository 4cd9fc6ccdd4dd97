"""The `keyboard` encoding (piano music as four voices on a sixteenth grid) and its guard."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from music21 import corpus

from rnnmusic.config import ModelConfig
from rnnmusic.corpus.reader import read_music
from rnnmusic.encodings import get_encoding
from rnnmusic.encodings.base import snap
from rnnmusic.encodings.satb_tokens import parse_voice
from rnnmusic.model import MusicRNN
from rnnmusic.piece import PITCH, Piece
from rnnmusic.sampler import SampleConfig, sample_ids
from rnnmusic.voicing import REST


def grid_notes(piece: Piece, grid: int) -> set[tuple[int, int, int]]:
    on, off = snap(piece.notes, grid)
    first = int(on.min()) if len(on) else 0
    return {(int(a) - first, int(b - a), int(p)) for a, b, p in zip(on, off, piece.notes[:, PITCH])}


def alberti() -> Piece:
    """Two bars of a right-hand tune in quarters over an Alberti bass in sixteenths, a fermata on the last note."""
    tune = [(0, 1, 72), (1, 1, 74), (2, 1, 76), (3, 1, 77), (4, 2, 79), (6, 2, 72)]
    bass = [(i / 4, 0.25, (48, 55, 52, 55)[i % 4]) for i in range(32)]
    notes = [(a, d, p, 80) for a, d, p in tune + bass]
    return Piece(np.array(notes, dtype=float), meta={"fermatas": [[6.0, 8.0]]})


@pytest.fixture(scope="module")
def rag() -> Piece:
    """A real piano piece from music21's own corpus (both staves merged): Joplin's Maple Leaf Rag."""
    return read_music(str(corpus.getWork("joplin/maple_leaf_rag"))).pieces[0]


@pytest.fixture(scope="module")
def fitted(rag):
    return get_encoding("keyboard").fit([rag, alberti()])


def test_sixteenth_grid_tokens_by_hand():
    enc = get_encoding("keyboard").fit([alberti()])
    toks = enc.tokenize(alberti())
    # two notes, four voices: the inner voices double the outer ones (voicing.REST_COST), one note as MIDI plays it
    assert toks[:11] == ["M4/4", "@0", "72", "72", "48", "48", "@1", "72~", "72~", "55", "55"]
    assert "F" not in toks  # fermatas are chorale tokens, not the keyboard's
    back = enc.detokenize(toks)
    assert grid_notes(back, 4) == grid_notes(alberti(), 4)
    assert back.meta["layout"] == "keyboard" and back.program == 0


def test_real_piano_piece_round_trip(fitted, rag):
    """The rag on the sixteenth grid: 88% of its notes come back exactly; the rest are notes beyond four at a step
    (its right-hand chords over left-hand octaves), counted as dropped (Beethoven's sonatas keep 94.7%)."""
    back = fitted.detokenize(fitted.tokenize(rag))
    want, got = grid_notes(rag, 4), grid_notes(back, 4)
    assert len(want & got) >= 0.85 * len(want)
    assert tuple(back.time_signature) == tuple(rag.time_signature)
    assert len(fitted.vocab) < 250


junk = st.one_of(st.sampled_from(["M4/4", "M2/4", "@0", "@15", "@99", "F", "r", "60", "60~", "128", "~", "",
                                  "<s>", "</s>"]), st.text(max_size=4))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(junk, max_size=80))
def test_any_tokens_decode_without_raising(fitted, toks):
    piece = fitted.detokenize(toks)
    assert np.all((piece.notes[:, PITCH] >= 0) & (piece.notes[:, PITCH] <= 127))
    assert np.all(piece.notes[:, 1] > 0)


def test_guard_keeps_the_grammar_and_allows_octaves_and_rests(fitted):
    """An untrained model through the keyboard guard: ordered positions, four voices a step, top to bottom, in
    range; the top voice may rest, but silence lasts at most a quarter; the chorale's voice-leading rule is off."""
    model = MusicRNN(ModelConfig(vocab_size=fitted.vocab_size, kind="tokens", layers=1, hidden=16, embed=8)).eval()
    cfg = SampleConfig(count=3, max_length=600, temperature=1.5, seed=3, controls={"time_signature": (2, 4)})
    ranges = fitted.fit_stats["voice_ranges"]
    top_rests, longest_silence = 0, 0
    for ids in sample_ids(model, fitted, cfg):
        toks = [fitted.vocab[i] for i in ids]
        assert toks[0] == "M2/4" and "F" not in toks
        positions = [int(t[1:]) for t in toks if t.startswith("@")]
        assert all(b == (a + 1) % 8 for a, b in zip(positions, positions[1:]))
        frames = []
        for t in toks[1:]:
            if t.startswith("@"):
                frames.append([])
            else:
                frames[-1].append(parse_voice(t))
        for frame in frames[:-1]:
            assert len(frame) == 4
            sung = [p for p, _ in frame if p != REST]
            assert sung == sorted(sung, reverse=True)
            assert all(p == REST or ranges[v][0] <= p <= ranges[v][1] for v, (p, _) in enumerate(frame))
            top_rests += frame[0][0] == REST
        silent = [all(p == REST for p, _ in f) for f in frames[:-1]]
        run = 0
        for quiet in silent:
            run = run + 1 if quiet else 0
            longest_silence = max(longest_silence, run)
    assert top_rests > 0
    assert longest_silence <= 4  # a quarter of silence at most (keyboard.MAX_SILENCE), then the top voice plays
    guard = fitted.constraint({})
    assert not guard.voice_leading and not guard.top_sings and guard.cadence_ending


def test_grand_staff_splits_the_hands_at_middle_c(tmp_path):
    from rnnmusic.render.keyboard_score import grand_staff
    from rnnmusic.render.sheet import write_musicxml

    piece = alberti()
    piece.meta["bar_offset"] = 1.0  # starts on beat 2: one quarter of rests first
    score = grand_staff(piece, "alberti")
    upper, lower = score.parts
    assert {p.midi for p in upper.pitches} == {72, 74, 76, 77, 79}
    assert {p.midi for p in lower.pitches} == {48, 52, 55}
    assert upper.recurse().notes.first().offset == 1.0
    assert upper.recurse().getElementsByClass("Clef").first().sign == "G"
    assert lower.recurse().getElementsByClass("Clef").first().sign == "F"
    write_musicxml(score, tmp_path / "a.musicxml")


def test_after_a_quarter_of_silence_the_top_voice_must_play(fitted):
    guard = fitted.constraint({"time_signature": (4, 4)})
    for tok in ["M4/4"] + [t for k in range(4) for t in (f"@{k}", "r", "r", "r", "r")] + ["@4"]:
        assert guard.allowed()[fitted.token_id(tok)] or guard.forced() == fitted.token_id(tok), tok
        guard.advance(tok)
    allowed = guard.allowed()
    assert not allowed[fitted.token_id("r")] and allowed[fitted.token_id("72")]
    free = fitted.constraint({"time_signature": (4, 4), "max_silence": None})
    for tok in ["M4/4"] + [t for k in range(4) for t in (f"@{k}", "r", "r", "r", "r")] + ["@4"]:
        free.advance(tok)
    assert free.allowed()[fitted.token_id("r")]


def test_guard_leans_toward_struck_notes(fitted):
    """`onset_bias` (keyboard.ONSET_BIAS): every struck pitch gains the bias, holds and rests do not; satb has none."""
    from rnnmusic.encodings.keyboard import ONSET_BIAS

    guard = fitted.constraint({"time_signature": (4, 4)})
    for tok in ("M4/4", "@0", "72"):
        guard.advance(tok)
    bias = guard.bias()
    assert bias[fitted.token_id("67")] == ONSET_BIAS > 0
    assert bias[fitted.token_id("72~")] == 0 and bias[fitted.token_id("r")] == 0
    satb = get_encoding("satb").fit([alberti()]).constraint({})
    for tok in ("M4/4", "@0", "72"):
        satb.advance(tok)
    assert satb.bias() is None
