"""The `satb` chorale encoding, the voices found by register (`voicing`) and the two-staff chorale score.

Real chorales come from music21's own corpus (installed with rnnmusic, not the shared data folder), read through
the guarded reader with the four vocal parts selected, as `rnnmusic train --corpus bach-chorales --tracks ...`
reads them.
"""
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
from rnnmusic.render.chorale_score import satb_score, spelling
from rnnmusic.sampler import SampleConfig, sample_ids
from rnnmusic.voicing import REST, voice_steps

VOCAL = "name:soprano,name:alto,name:tenor,name:bass"
CHORALES = ["bwv66.6", "bwv1.6", "bwv10.7", "bwv11.6", "bwv26.6", "bwv40.8"]  # bwv11.6 is in 3/4


@pytest.fixture(scope="module")
def chorales() -> list[Piece]:
    return [read_music(str(corpus.getWork(f"bach/{name}")), tracks=VOCAL).pieces[0] for name in CHORALES]


@pytest.fixture(scope="module")
def fitted(chorales):
    return get_encoding("satb").fit(chorales)


def grid_notes(piece: Piece, grid: int) -> set[tuple[int, int, int]]:
    on, off = snap(piece.notes, grid)
    return {(int(a), int(b - a), int(p)) for a, b, p in zip(on, off, piece.notes[:, PITCH])}


def test_reader_keeps_fermatas_and_the_pickup(chorales):
    p = chorales[0]  # bwv66.6: a one-beat pickup in 4/4, six fermatas
    assert p.meta["bar_offset"] == 3.0
    assert p.meta["fermatas"] == [[3.0, 4.0], [7.0, 8.0], [11.0, 12.0], [19.0, 20.0], [27.0, 29.0], [35.0, 36.0]]
    assert tuple(chorales[3].time_signature) == (3, 4)


def test_tokens_read_as_a_chorale(fitted, chorales):
    toks = fitted.tokenize(chorales[0])
    assert toks[:11] == ["M4/4", "@6", "73", "64", "57", "57", "@7", "71", "64~", "59", "56"]
    steps = [i for i, t in enumerate(toks) if t.startswith("@")]
    assert all(toks[i + 1] == "F" or parse_voice(toks[i + 1]) for i in steps)
    assert toks.count("F") == 2 * 6 + 2  # six fermatas, each a quarter (two eighths) but one a half note


def test_real_chorales_round_trip(fitted, chorales):
    """On the eighth grid: bwv66.6 comes back exactly (notes, metre, pickup, fermatas); all six keep 97%+ of
    their notes (the rest: sixteenths merged on the grid, a fifth note over four, parts crossing on a held note)."""
    for piece in chorales:
        back = fitted.detokenize(fitted.tokenize(piece))
        want, got = grid_notes(piece, 2), grid_notes(back, 2)
        first = min(a for a, _, _ in want)
        got = {(a + first, n, p) for a, n, p in got}
        assert len(want & got) >= 0.97 * len(want), piece.source
        assert tuple(back.time_signature) == tuple(piece.time_signature)
    p = chorales[0]
    back = fitted.detokenize(fitted.tokenize(p))
    assert grid_notes(back, 2) == grid_notes(p, 2)
    assert back.meta["fermatas"] == p.meta["fermatas"] and back.meta["bar_offset"] == 3.0
    assert back.meta["layout"] == "satb"


def test_unison_rest_and_held_note_by_hand():
    """Tenor and bass in unison (one note, two voices), the soprano holding while the others move, a half-note
    chord under a fermata (the tenor joins the bass, the nearer unison), then the soprano alone."""
    notes = [(0, 2, 72, 80), (0, 1, 64, 80), (0, 1, 55, 80), (1, 1, 65, 80), (1, 1, 50, 80),
             (2, 2, 67, 80), (2, 2, 60, 80), (2, 2, 48, 80), (4, 1, 72, 80)]
    piece = Piece(np.array(notes, dtype=float), meta={"fermatas": [[2.0, 4.0]]})
    enc = get_encoding("satb", grid=1).fit([piece])
    toks = enc.tokenize(piece)
    assert toks == ["M4/4", "@0", "72", "64", "55", "55", "@1", "72~", "65", "50", "50",
                    "@2", "F", "67", "60", "48", "48", "@3", "F", "67~", "60~", "48~", "48~", "@0", "72", "r", "r", "r"]
    back = enc.detokenize(toks)
    assert grid_notes(back, 1) == grid_notes(piece, 1)
    assert back.meta["fermatas"] == [[2.0, 4.0]]


def test_more_than_four_notes_keep_the_outer_voices():
    notes = [(0, 1, 76, 80), (0, 1, 70, 80), (0, 1, 67, 80), (0, 1, 64, 80), (0, 1, 48, 80)]
    steps = voice_steps(Piece(np.array(notes, dtype=float)), 1)
    assert steps.pitch()[0].tolist()[0] == 76 and steps.pitch()[0].tolist()[-1] == 48
    assert steps.dropped == 1


junk = st.one_of(st.sampled_from(["M4/4", "M3/4", "M0/4", "Mx", "@0", "@3", "@99", "F", "r", "60", "60~", "128",
                                  "-1", "~", "", "@", "<s>", "</s>"]), st.text(max_size=4))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(junk, max_size=60))
def test_any_tokens_decode_without_raising(fitted, toks):
    piece = fitted.detokenize(toks)
    assert np.all((piece.notes[:, PITCH] >= 0) & (piece.notes[:, PITCH] <= 127))
    assert np.all(piece.notes[:, 1] > 0)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 40), st.integers(1, 8), st.integers(30, 90)), max_size=40))
def test_any_piece_encodes_and_comes_back_in_four_voices(fitted, rows):
    piece = Piece(np.array([(a / 2, n / 2, p, 80) for a, n, p in rows], dtype=float).reshape(-1, 4))
    back = fitted.detokenize(fitted.tokenize(piece))
    steps = voice_steps(back, 2)
    assert (steps.note != REST).sum(1).max(initial=0) <= 4
    assert steps.dropped == 0


def test_guard_keeps_the_grammar_with_an_untrained_model(fitted):
    """Whatever the model says, the guard gives ordered bar positions, four voices per step in their ranges,
    top to bottom, and holds only of the note the voice sang."""
    model = MusicRNN(ModelConfig(vocab_size=fitted.vocab_size, kind="tokens", layers=1, hidden=16, embed=8)).eval()
    cfg = SampleConfig(count=3, max_length=300, temperature=1.5, seed=3, controls={"time_signature": (3, 4)})
    ranges = fitted.fit_stats["voice_ranges"]
    for ids in sample_ids(model, fitted, cfg):
        toks = [fitted.vocab[i] for i in ids]
        assert toks[0] == "M3/4"
        positions = [int(t[1:]) for t in toks if t.startswith("@")]
        assert all(b == (a + 1) % 6 for a, b in zip(positions, positions[1:]))
        frames, cur = [], None
        for t in toks[1:]:
            if t.startswith("@"):
                cur = []
                frames.append(cur)
            elif t != "F":
                cur.append(parse_voice(t))
        prev = [REST] * 4
        for frame in frames[:-1]:
            assert len(frame) == 4
            sung = [p for p, _ in frame if p != REST]
            assert sung == sorted(sung, reverse=True)
            for v, (p, held) in enumerate(frame):
                assert p == REST or ranges[v][0] <= p <= ranges[v][1]
                assert not held or prev[v] == p
            prev = [p for p, _ in frame]


def test_two_staves_with_fermatas_and_the_pickup(chorales, tmp_path):
    piece = chorales[0]
    piece.key = "F# minor"
    score = satb_score(piece, "bwv66.6")
    assert len(score.parts) == 2
    first = score.parts[0].getElementsByClass("Measure").first()
    assert first.paddingLeft == 3.0 and first.number == 0
    assert len(first.voices) == 2
    fermatas = [n for n in score.parts[0].recurse().notes if n.expressions]
    assert len(fermatas) == 6
    score.write("musicxml", fp=str(tmp_path / "c.musicxml"))
    assert spelling("F# minor")[5] == "E#" and spelling("F major")[10] == "B-"


def test_guard_leaves_no_parallel_fifths_or_octaves(fitted):
    """An untrained model at a high temperature, through the guard: no two voices move in parallel fifths or
    octaves from one step to the next."""
    model = MusicRNN(ModelConfig(vocab_size=fitted.vocab_size, kind="tokens", layers=1, hidden=16, embed=8)).eval()
    cfg = SampleConfig(count=4, max_length=400, temperature=2.0, seed=5)
    for ids in sample_ids(model, fitted, cfg):
        frames = []
        for t in [fitted.vocab[i] for i in ids][1:]:
            if t.startswith("@"):
                frames.append([])
            elif t != "F":
                frames[-1].append(parse_voice(t)[0])
        pitch = np.array([f for f in frames if len(f) == 4])
        for t in range(1, len(pitch)):
            for u in range(4):
                for v in range(u + 1, 4):
                    a0, b0, a1, b1 = pitch[t - 1, u], pitch[t - 1, v], pitch[t, u], pitch[t, v]
                    if REST in (a0, b0, a1, b1) or a0 == a1 or b0 == b1 or (a0 - b0) % 12 not in (0, 7):
                        continue
                    moved_alike = np.sign(a1 - a0) == np.sign(b1 - b0)
                    assert not (moved_alike and (a1 - b1) % 12 == (a0 - b0) % 12), (t, u, v, pitch[t - 1], pitch[t])


def test_guard_never_completes_a_copied_passage(chorales):
    """Primed with the first two bars of a training chorale, the guard will not let the next step match it (the
    passage would be two bars and an eighth of a training chorale); without `no_copies` it may."""
    enc = get_encoding("satb", copy_bars=1).fit(chorales)
    assert enc.fit_stats["copy_steps"] == 9 and len(enc.copy_windows()) > 100
    from rnnmusic.encodings.satb_guard import SatbGuard

    toks = enc.tokenize(chorales[1])
    steps = [i for i, t in enumerate(toks) if t.startswith("@")]
    guard = SatbGuard(enc)
    for t in toks[:steps[8] + 4]:  # eight steps, then the next step's position and three upper voices
        guard.advance(t)
    true_bass = toks[steps[8] + 4]
    assert not guard.allowed()[enc.token_id(true_bass)]
    free = SatbGuard(enc, no_copies=False)
    for t in toks[:steps[8] + 4]:
        free.advance(t)
    assert free.allowed()[enc.token_id(true_bass)]


def test_guard_prefers_a_cadence_where_a_fermata_begins(fitted):
    """After a bar of a G major chord, at the first step under a fermata the bass is drawn toward C or D (G-C is a
    V-I, G-D a IV-I: roots a fourth and a fifth above G); not before the fermata, nor with the bias 0."""
    from rnnmusic.encodings.satb_guard import CADENCE_BIAS, SatbGuard

    toks = ["M4/4"] + [t for k in range(4) for t in (f"@{k}", "67", "62", "59", "55")] + ["@4"]
    guard, off = SatbGuard(fitted), SatbGuard(fitted, cadence_bias=0)
    for t in toks:
        guard.advance(t)
        off.advance(t)
    assert guard.bias() is None  # no fermata here
    for t in ("F", "72", "64", "60"):
        guard.advance(t)
        off.advance(t)
    bias = guard.bias()
    assert bias[fitted.token_id("48")] == CADENCE_BIAS and bias[fitted.token_id("50")] == CADENCE_BIAS
    assert bias[fitted.token_id("55")] == 0 and off.bias() is None
