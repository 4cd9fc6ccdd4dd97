"""Generation controls and checks on the MIDI side: collapse flags, repetition penalty, priming, determinism."""
import music21
import numpy as np
import pytest
import torch

from rnnmusic.config import ModelConfig
from rnnmusic.encodings import get_encoding
from rnnmusic.evaluation.piece_check import check_piece
from rnnmusic.model import MusicRNN
from rnnmusic.piece import Piece, piece_from_music21
from rnnmusic.prime import abc_opening, load_prime
from rnnmusic.sampler import SampleConfig, penalize_repeats, sample, sample_frames, sample_ids


@pytest.fixture(scope="module")
def chorale():
    return piece_from_music21(music21.corpus.parse("bach/bwv66.6"), source="bwv66.6")


def test_collapse_flags(chorale):
    assert check_piece(chorale).valid
    assert "silence" in check_piece(Piece(np.zeros((0, 4)))).collapsed
    one = Piece([(i, 1, 60, 80) for i in range(32)] + [(40, 1, 62, 80)])
    assert "one repeated note" in check_piece(one).collapsed
    chord = Piece([(i, 1, p, 80) for i in range(20) for p in (60, 64, 67)] + [(30, 1, 62, 80), (31, 1, 65, 80)])
    assert "one repeated chord" in check_piece(chord).collapsed
    sparse = Piece([(0, 0.25, 60, 80), (40, 0.25, 62, 80), (80, 0.25, 64, 80)])
    assert "silence" in check_piece(sparse).collapsed


def test_penalize_repeats_scales_recent_tokens_only():
    logits = torch.tensor([[2.0, -2.0, 1.0, 3.0]])
    out = penalize_repeats(logits, [[0, 1, 3, 2, 3]], 2.0, window=2, exempt=torch.tensor([False, False, False, True]))
    assert out.tolist() == [[2.0, -4.0, 0.5, 3.0]]  # 0 is outside the window of 2 notes, 3 is exempt


def _biased_token_model(enc, favourites: dict[str, float]) -> MusicRNN:
    """A real model whose output layer strongly prefers a few tokens whatever the input (a collapsed model)."""
    torch.manual_seed(0)
    model = MusicRNN(ModelConfig(vocab_size=enc.vocab_size, hidden=16, embed=8, layers=1, dropout=0.0))
    with torch.no_grad():
        model.head.proj.weight.zero_()
        model.head.proj.bias.fill_(0.0)
        for tok, bias in favourites.items():
            model.head.proj.bias[enc.vocab.index(tok)] = bias
        model.head.proj.bias[enc.eos_id] = -20.0
    return model.eval()


def test_repetition_penalty_breaks_a_one_note_loop(chorale):
    enc = get_encoding("notes").fit([chorale])
    # a collapsed model: E4:1 (then a beat's rest) nearly always, a few other chords of the piece now and then
    model = _biased_token_model(enc, {"E4:1": 10.0, ">1": 10.0, "C#5:1": 6.0, "A3.E4.C#5:1": 6.0, "E4:1/2": 6.0})

    def longest_run(ids_list):  # longest run of one note/chord token repeated (shifts in between ignored)
        best = 0
        for ids in ids_list:
            notes = [i for i in ids if enc.penalized(enc.vocab[i])]
            run = 1
            for a, b in zip(notes, notes[1:]):
                run = run + 1 if a == b else 1
                best = max(best, run)
        return best

    plain = sample_ids(model, enc, SampleConfig(count=2, max_length=60, seed=3, temperature=1.0))
    penal = sample_ids(model, enc, SampleConfig(count=2, max_length=60, seed=3, temperature=1.0,
                                                repetition_penalty=50.0, repetition_window=4))
    assert longest_run(plain) >= 10 and longest_run(penal) == 1
    # the time shifts are exempt: the penalised pieces keep moving forward in time
    assert enc.decode(penal[0]).end > 10
    assert "one repeated note" in (check_piece(enc.decode(plain[0])).collapsed or "")


def test_frames_sampling_is_per_piece_deterministic(chorale):
    enc = get_encoding("pianoroll").fit([chorale])
    torch.manual_seed(0)
    model = MusicRNN(ModelConfig(kind="frames", vocab_size=enc.vocab_size, hidden=16, embed=8, layers=1)).eval()
    three = sample_frames(model, enc, SampleConfig(count=3, max_length=12, seed=5))
    one = sample_frames(model, enc, SampleConfig(count=1, max_length=12, seed=5), first_index=2)
    assert np.array_equal(three[2], one[0]) and not np.array_equal(three[0], three[1])


@pytest.mark.parametrize("name", ["notes", "pianoroll", "events"])
def test_prime_file_opens_every_generated_piece(tmp_path, chorale, name):
    path = chorale.write_midi(tmp_path / "prime.mid")
    enc = get_encoding(name).fit([chorale])
    prime = load_prime(path, 2, enc)
    assert 0 < prime.end <= 2 * chorale.bar_length
    kind = enc.kind
    torch.manual_seed(0)
    model = MusicRNN(ModelConfig(kind=kind, vocab_size=enc.vocab_size, hidden=16, embed=8, layers=1)).eval()
    pieces = sample(model, enc, SampleConfig(count=2, max_length=30, prime=prime, seed=1))
    want = enc.decode(enc.encode(prime, bos=False, eos=False) if kind == "tokens" else enc.encode(prime)[1:])
    struck = {(s, p) for s, p in want.notes[:, [0, 2]].tolist()}
    assert len(struck) > 5
    for piece in pieces:  # every note of the opening is struck at its time (generated notes may hold it longer)
        assert struck <= {(s, p) for s, p in piece.notes[:, [0, 2]].tolist()}
        assert len(piece) > len(want)


def test_prime_file_errors_are_one_line(tmp_path, chorale):
    from rnnmusic.errors import UserError

    enc = get_encoding("notes").fit([chorale])
    bad = tmp_path / "junk.mid"
    bad.write_bytes(b"MThd\x00\x00junk")
    with pytest.raises(UserError, match="junk.mid"):
        load_prime(bad, 2, enc)
    with pytest.raises(UserError, match="prime-bars"):
        load_prime(bad, 0, enc)


def test_abc_opening_keeps_the_header_and_n_bars():
    tune = "M:6/8\nL:1/8\nK:G\nD|GAB cBA|BGE EDE|GAB cBA|BGE E2:|\n|:d|efg fed|\n"
    two = abc_opening(tune, 2)
    assert two == "M:6/8\nL:1/8\nK:G\nD|GAB cBA|\n"
    assert abc_opening(tune, 99) == tune


def test_abc_prime_file_for_abc_encodings(tmp_path):
    from conftest import oneills

    path = tmp_path / "tune.abc"
    path.write_text(oneills(1))
    enc = get_encoding("abc-tokens").fit([oneills(1)])
    prime = load_prime(path, 2, enc)
    assert prime.startswith("M:") and "K:" in prime and prime.count("|") >= 2
    assert oneills(1).count("|") > prime.count("|")
    torch.manual_seed(0)
    model = MusicRNN(ModelConfig(vocab_size=enc.vocab_size, hidden=16, embed=8, layers=1)).eval()
    tune = sample(model, enc, SampleConfig(count=1, max_length=20, prime=prime, seed=1))[0]
    assert tune.startswith(prime.rstrip("\n"))
