"""rnnmusic.keys on real music: Bach chorales from music21's corpus, compared with music21's own key analysis."""
from __future__ import annotations

import numpy as np
import pytest
from music21 import corpus

from rnnmusic.errors import UserError
from rnnmusic.keys import (
    MAJOR,
    MINOR,
    Key,
    augment,
    estimate_key,
    key_before_shift,
    normalize_key,
    normalizing_shift,
    parse_key,
    transpose_to,
)
from rnnmusic.piece import Piece, piece_from_music21

N_CHORALES = 80


def _m21key(k) -> Key:
    return Key(k.tonic.pitchClass, k.mode)


def _direct_piece(score) -> Piece:
    """The score's notes exactly as music21's analysis sees them (no MIDI trip: no repeat expansion)."""
    rows = [(float(n.offset), float(n.quarterLength), p.midi, 64) for n in score.flatten().notes for p in n.pitches]
    return Piece(np.array(rows, dtype=np.float64))


@pytest.fixture(scope="module")
def chorales():
    """Per chorale: title, music21's analyze('key') result, the Piece via piece_from_music21 (None when
    music21 cannot expand its repeats), a Piece of the raw notes, the key signature's sharps, and the
    Krumhansl-Kessler answer for the first 20."""
    out = []
    for i, score in enumerate(corpus.chorales.Iterator(returnType="stream")):
        if i >= N_CHORALES:
            break
        try:
            piece = piece_from_music21(score, source=f"chorale {i}")
        except Exception:  # music21's ExpanderException on badly formed repeats
            piece = None
        ks = score.recurse().getElementsByClass("KeySignature").first()
        out.append(dict(title=score.metadata.title if score.metadata else str(i), m21=score.analyze("key"),
                        piece=piece, direct=_direct_piece(score), sharps=ks.sharps if ks is not None else None,
                        kk=_m21key(score.analyze("krumhansl")) if i < 20 else None))
    return out


@pytest.mark.slow
def test_agrees_with_music21_analyze_key(chorales):
    usable = [c for c in chorales if c["piece"] is not None]
    assert len(usable) >= 60
    hits = [estimate_key(c["piece"]).key == _m21key(c["m21"]) for c in usable]
    pct = 100 * sum(hits) / len(hits)
    misses = [f"{c['title']}: ours {estimate_key(c['piece']).key}, music21 {_m21key(c['m21'])}"
              for c, h in zip(usable, hits) if not h]
    sig = [c for c in usable if c["sharps"] is not None]
    ests = {id(c): estimate_key(c["piece"]).key for c in sig}
    sig_hits = sum(ests[id(c)].tonic == (7 * c["sharps"] + (9 if ests[id(c)].mode == MINOR else 0)) % 12 for c in sig)
    print(f"\nkey agreement with music21 analyze('key'): {sum(hits)}/{len(hits)} = {pct:.1f}% "
          f"({len(chorales) - len(usable)} chorales skipped: music21 cannot expand their repeats)")
    print("differences (piece_from_music21 expands repeats, music21's analysis does not):", misses)
    print(f"estimated key matches the file's key signature (major or relative minor): {sig_hits}/{len(sig)}")
    assert pct >= 90


@pytest.mark.slow
def test_same_numbers_as_music21_on_the_same_notes(chorales):
    """Fed the notes music21 analyses, estimate_key gives music21's key, correlation and runner-ups."""
    for c in chorales:
        est, ref = estimate_key(c["direct"]), c["m21"]
        assert est.key == _m21key(ref), c["title"]
        assert est.correlation == pytest.approx(ref.correlationCoefficient, abs=1e-9)
        assert [k for k, _ in est.alternatives[:5]] == [_m21key(k) for k in ref.alternateInterpretations[:5]]
        if c["kk"] is not None:
            assert estimate_key(c["direct"], profile="krumhansl").key == c["kk"], c["title"]


def test_empty_piece_is_c_major():
    est = estimate_key(Piece(np.zeros((0, 4))))
    assert est.key == Key(0, MAJOR) and est.correlation == 0 and len(est.alternatives) == 23
    with pytest.raises(ValueError):
        estimate_key(Piece(np.zeros((0, 4))), profile="nonsense")


@pytest.mark.parametrize("text,tonic,mode", [
    ("G", 7, MAJOR), ("g", 7, MINOR), ("Gm", 7, MINOR), ("G minor", 7, MINOR), ("g minor", 7, MINOR),
    ("g major", 7, MAJOR), ("Em", 4, MINOR), ("F#m", 6, MINOR), ("Bb", 10, MAJOR), ("Bb major", 10, MAJOR),
    ("bb", 10, MINOR), ("b", 11, MINOR), ("C# minor", 1, MINOR), ("A-", 8, MAJOR), ("e-", 3, MINOR),
    ("a- minor", 8, MINOR), (" D maj ", 2, MAJOR), ("Cb", 11, MAJOR), ("E#m", 5, MINOR), ("CM", 0, MAJOR),
    ("Amin", 9, MINOR),
])
def test_parse_key(text, tonic, mode):
    assert parse_key(text) == Key(tonic, mode)


@pytest.mark.parametrize("junk", ["H#", "", "X", "G##", "Gx minor", "C dorian", "7", "Bbb"])
def test_parse_key_rejects_junk(junk):
    with pytest.raises(UserError, match=r"unknown key .*use e\.g\. G, Em, Bb major, F# minor"):
        parse_key(junk)


def test_names_round_trip_and_spelling():
    names = {Key(t, m).name for t in range(12) for m in (MAJOR, MINOR)}
    assert len(names) == 24
    for t in range(12):
        for m in (MAJOR, MINOR):
            assert parse_key(Key(t, m).name) == Key(t, m)
    assert str(Key(10, MAJOR)) == "Bb major" and Key(6, MINOR).name == "F# minor"
    assert Key(3, MINOR).name == "Eb minor" and Key(6, MAJOR).name == "F# major" and Key(8, MINOR).name == "G# minor"


def test_normalizing_shift_all_keys():
    for t in range(12):
        for m in (MAJOR, MINOR):
            s = normalizing_shift(Key(t, m))
            assert -6 <= s <= 5
            assert Key(t, m).transposed(s) == (Key(0, MAJOR) if m == MAJOR else Key(9, MINOR))
    assert normalizing_shift("G") == 5 and normalizing_shift("D") == -2 and normalizing_shift("C") == 0
    assert normalizing_shift("F#") == -6 and normalizing_shift("Eb minor") == -6 and normalizing_shift("Em") == 5


@pytest.mark.slow
def test_normalize_key_on_chorales(chorales):
    for c in [c for c in chorales if c["piece"] is not None][:25]:
        piece = c["piece"]
        before = estimate_key(piece).key
        norm = normalize_key(piece)
        target = Key(0, MAJOR) if before.mode == MAJOR else Key(9, MINOR)
        assert estimate_key(norm).key == target and norm.key == target.name
        assert norm.shift - piece.shift == normalizing_shift(before)
        assert key_before_shift(norm) == before
        assert np.array_equal(norm.notes[:, :2], piece.notes[:, :2]) and piece.key is None  # original untouched


def test_normalize_key_uses_other_octave_or_refuses():
    def piece(lo, hi, key):
        return Piece(np.array([(0, 1, lo, 80), (1, 1, hi, 80)]), key=key)

    assert normalize_key(piece(40, 80, "D major")).shift == -2
    out = normalize_key(piece(1, 50, "D major"))  # -2 would reach -1: goes up +10 instead
    assert out.shift == 10 and out.key == "C major" and key_before_shift(out) == Key(2, MAJOR)
    out = normalize_key(piece(60, 125, "e minor"))  # +5 would reach 130: goes down -7
    assert out.shift == -7 and out.key == "A minor"
    with pytest.raises(ValueError, match="leaves pitches 0..127"):
        normalize_key(piece(1, 120, "D major"))  # neither -2 nor +10 fits
    with pytest.raises(ValueError):
        transpose_to(piece(1, 120, "D major"), "C")
    assert transpose_to(piece(1, 50, "D major"), "C").shift == 10


@pytest.mark.slow
def test_augment_deterministic_in_range_and_nonzero(chorales):
    pieces = [c["piece"] for c in chorales if c["piece"] is not None][:10]
    pieces.append(Piece(np.array([(0, 1, 21, 80), (1, 1, 108, 80)])))  # spans the whole piano: no valid shift
    pieces.append(Piece(np.array([(0, 1, 22, 80), (1, 1, 108, 80)]), key="C major"))  # only -1 fits
    a = augment(pieces, 5, seed=3, copies=2)
    b = augment(pieces, 5, seed=3, copies=2)
    assert [p.shift for p in a] == [p.shift for p in b] and all(np.array_equal(x.notes, y.notes) for x, y in zip(a, b))
    assert [p.shift for p in augment(pieces, 5, seed=4, copies=2)] != [p.shift for p in a]
    assert len(a) == 2 * 10 + 0 + 1
    for k in range(10):
        s1, s2 = a[2 * k].shift, a[2 * k + 1].shift
        assert s1 != s2 and 0 < abs(s1) <= 5 and 0 < abs(s2) <= 5
        assert a[2 * k].source == pieces[k].source
        assert np.array_equal(a[2 * k].pitches, pieces[k].pitches + s1)
    assert a[-1].shift == -1 and a[-1].key == "B major"
    assert all(p.pitches.min() >= 21 and p.pitches.max() <= 108 for p in a)
    # the draw for piece i depends only on (seed, i): dropping later pieces keeps earlier copies
    assert [p.shift for p in augment(pieces[:3], 5, seed=3, copies=2)] == [p.shift for p in a[:6]]
    assert augment(pieces, 0, seed=1) == [] and augment(pieces, 3, seed=1, copies=0) == []


@pytest.mark.slow
def test_transpose_to(chorales):
    usable = [c["piece"] for c in chorales if c["piece"] is not None]
    minor = next(p for p in usable if estimate_key(p).key.mode == MINOR)
    major = next(p for p in usable if estimate_key(p).key.mode == MAJOR)
    g = transpose_to(minor, "G")
    assert g.key == "G minor" and estimate_key(g).key == Key(7, MINOR) and -6 <= g.shift <= 5
    bb = transpose_to(major, parse_key("Bb major"))
    assert bb.key == "Bb major" and estimate_key(bb).key == Key(10, MAJOR)
    same = transpose_to(major, estimate_key(major).key)
    assert same.shift == 0 and np.array_equal(same.notes, major.notes)
    with pytest.raises(UserError):
        transpose_to(major, "H")
