"""rnnmusic.corpus.scores: MIDI / MusicXML / kern / ABC files and music21's classical corpora -> Pieces.

Real files only: MIDI files are written with symusic (and Piece.write_midi) into tmp_path; the MusicXML,
kern and ABC files are the ones music21 ships.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import symusic

from rnnmusic.corpus import (
    CLASSICAL_CORPORA,
    CorpusReport,
    Limits,
    PieceCorpus,
    TrackSelector,
    is_score_source,
    load_pieces,
    parse_tracks,
    scores,
)
from rnnmusic.corpus.builtin import music21_corpus_dir
from rnnmusic.corpus.cache import CacheWarning, cache_dir
from rnnmusic.errors import UserError
from rnnmusic.piece import Piece

M21 = Path(music21_corpus_dir())
TPQ = 480


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    """Every test gets its own empty cache folder."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("RNNMUSIC_CACHE", str(folder))
    return folder


def track(name: str, program: int, notes: list[tuple[int, int, int]], drum: bool = False) -> symusic.Track:
    t = symusic.Track(name, program=program, is_drum=drum)
    for start, dur, pitch in notes:
        t.notes.append(symusic.Note(start, dur, pitch, 80))
    return t


def write_score(path: Path, tracks: list[symusic.Track], qpm: float = 100.0) -> Path:
    s = symusic.Score(TPQ)
    s.tempos.append(symusic.Tempo(0, qpm))
    s.time_signatures.append(symusic.TimeSignature(0, 3, 4))
    s.tracks.extend(tracks)
    s.dump_midi(str(path))
    return path


def scale(start_pitch: int, n: int = 8, step: int = TPQ) -> list[tuple[int, int, int]]:
    return [(i * step, step, start_pitch + i) for i in range(n)]


@pytest.fixture
def band(tmp_path) -> Path:
    """Track 0 piano (8 notes from C4), 1 drums (4 notes), 2 strings 'Violin I' (8 notes from C5)."""
    return write_score(tmp_path / "band.mid", [
        track("Piano", 0, scale(60)),
        track("Drums", 0, [(i * TPQ, TPQ // 2, 36) for i in range(4)], drum=True),
        track("Violin I", 40, scale(72)),
    ])


# -- track selection ----------------------------------------------------------------------------------------
def test_tracks_default_merges_non_drum_tracks(band):
    corpus = load_pieces([str(band)])
    (piece,) = corpus.pieces
    assert sorted(piece.pitches.tolist()) == list(range(60, 68)) + list(range(72, 80))  # no drum 36
    assert piece.source == str(band) and piece.time_signature == (3, 4) and piece.tempo == pytest.approx(100)
    assert piece.notes[0, 0] == 0 and piece.notes[0, 1] == pytest.approx(1.0)  # quarters


@pytest.mark.parametrize("spec, pitches", [
    ("piano", range(60, 68)),
    ("strings", range(72, 80)),
    ("program:40", range(72, 80)),
    ("name:VIOL", range(72, 80)),
    ("piano,strings", [*range(60, 68), *range(72, 80)]),
    ("0,2", [*range(60, 68), *range(72, 80)]),
    ("1", [36]),          # drums only when picked by index
    ([0, 1], [36, *range(60, 68)]),
])
def test_tracks_selections(band, spec, pitches):
    (piece,) = load_pieces([str(band)], tracks=spec).pieces
    assert sorted(set(piece.pitches.tolist())) == sorted(set(pitches))


def test_tracks_picking_nothing_skips_the_file_with_a_reason(band, tmp_path):
    other = write_score(tmp_path / "brass.mid", [track("Trumpet", 56, scale(65))])
    corpus = load_pieces([str(band), str(other)], tracks="brass")
    assert [p.source for p in corpus.pieces] == [str(other)]
    ((path, reason),) = corpus.report.files_skipped
    assert path == str(band) and "'brass' match no track" in reason and "'Violin I' program 40" in reason


def test_parse_tracks_specs_and_errors():
    assert parse_tracks(None) == TrackSelector() and parse_tracks("all").spec == "all"
    assert parse_tracks(" Piano , 2,program:40,name:Solo Violin ").spec == "piano,2,program:40,name:solo violin"
    assert parse_tracks("chromatic-percussion").spec == "chromatic"
    for bad in ["", "kazoo", "program:128", "program:x", "name:", "0,,2", "-1", "1.5", "piano;strings"]:
        with pytest.raises(UserError) as e:
            parse_tracks(bad)
        assert "\n" not in str(e.value) and "track" in str(e.value)


# -- bad files ----------------------------------------------------------------------------------------------
def test_bad_files_are_skipped_with_reasons(tmp_path):
    folder = tmp_path / "midi"
    folder.mkdir()
    good = write_score(folder / "good.mid", [track("Piano", 0, scale(60))])
    data = good.read_bytes()
    (folder / "truncated.mid").write_bytes(data[: len(data) // 2])
    (folder / "random.mid").write_bytes(np.random.default_rng(0).bytes(3000))
    write_score(folder / "empty.mid", [])
    write_score(folder / "slow.mid", [track("Piano", 0, scale(62))], qpm=5.0)
    n = 10**6
    big = symusic.Track("big", program=0)
    big.notes = symusic.Note.from_numpy(time=np.arange(n, dtype=np.int32) * 10, duration=np.full(n, 10, np.int32),
                                        pitch=np.full(n, 60, np.int8), velocity=np.full(n, 80, np.int8))
    write_score(folder / "huge.mid", [big])

    corpus = load_pieces([str(folder)])
    assert [p.source for p in corpus.pieces] == [str(good)]
    skipped = dict(corpus.report.files_skipped)
    expect = {"truncated.mid": "not a readable MIDI file", "random.mid": "not a readable MIDI file",
              "empty.mid": "no notes", "slow.mid": "tempo 5 qpm outside 10..1000",
              "huge.mid": "1,000,000 notes, more than the limit of 200,000"}
    assert {Path(p).name for p in skipped} == set(expect)
    for name, reason in expect.items():
        assert reason in skipped[str(folder / name)]
        assert any(w.startswith(str(folder / name) + ": ") for w in corpus.report.warnings)  # one line naming it
    assert all("\n" not in r for r in skipped.values())
    assert f"skipped {folder / 'huge.mid'}: 1,000,000 notes" in corpus.report.summary()

    # the size limit is checked before reading
    small = load_pieces([str(folder / "huge.mid"), str(good)], limits=Limits(max_file_bytes=100_000))
    assert "file larger than" in dict(small.report.files_skipped)[str(folder / "huge.mid")]


def test_sources_that_name_nothing_are_user_errors(tmp_path):
    for source in [tmp_path / "nope.mid", tmp_path / "missing_folder", tmp_path / "*.midi"]:
        with pytest.raises(UserError, match=str(source).replace("*", r"\*")):
            load_pieces([str(source)])
    with pytest.raises(UserError, match="not a built-in corpus"):
        load_pieces(["bach-chorale"])
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(UserError, match="no MIDI, MusicXML, kern or ABC files"):
        load_pieces([str(tmp_path)])


# -- music21 formats and built-in corpora ----------------------------------------------------------------------
@pytest.mark.slow
def test_bach_chorales_builtin(own_cache):
    assert {"bach-chorales", "beethoven", "mozart", "haydn", "joplin", "monteverdi",
            "palestrina"} <= set(CLASSICAL_CORPORA)
    bach = CLASSICAL_CORPORA["bach-chorales"]
    paths = bach.paths()
    assert abs(len(paths) - bach.approx_pieces) < 20 and bach.description
    assert not any(p.endswith(".rntxt") for p in paths)
    assert str(M21 / "bach" / "bwv277.mxl") in paths and str(M21 / "bach" / "bwv277.krn") not in paths  # one format

    corpus = load_pieces(["bach-chorales"], max_pieces=8)
    assert len(corpus.pieces) == 8 and corpus.report.stopped_at_max_tunes == 8
    assert corpus.report.tunes_kept == 8 and corpus.report.files_parsed == 8
    for p in corpus.pieces:
        assert p.source.startswith(str(M21 / "bach")) and len(p) > 100
        assert p.pitches.min() >= 30 and p.pitches.max() <= 85  # four voices
        assert p.meta["format"] == "musicxml" and p.time_signature in {(4, 4), (3, 4), (3, 2)}
    stats = corpus.stats()
    assert stats["pieces"] == 8 and stats["notes"] == sum(len(p) for p in corpus.pieces)
    assert set(stats) >= {
        "mean_notes_per_piece",
        "quarters",
        "tempo_median",
        "time_signatures",
        "pitch_range",
        "programs",
    }
    assert sum(stats["time_signatures"].values()) == 8


@pytest.mark.slow
def test_kern_file_and_track_selection_by_name():
    path = M21 / "bach" / "bwv277.krn"
    (whole,) = load_pieces([str(path)]).pieces
    (bass,) = load_pieces([str(path)], tracks="3").pieces
    assert 0 < len(bass) < len(whole) and bass.pitches.max() < whole.pitches.max()
    assert whole.meta["format"] == "kern"


def test_abc_tunebook_and_folk_corpus(tmp_path):
    book = tmp_path / "book.abc"
    book.write_text(
        "X:1\nT:One\nM:6/8\nL:1/8\nK:G\nGAB cde|d3 B3|gfe dcB|A3 G3:|\n\n"
        "X:2\nT:Two\nM:3/4\nL:1/4\nK:D\nDEF|A2 d|\n\n"
        "X:3\nT:Again\nM:6/8\nL:1/8\nK:G\nGAB cde|d3 B3|gfe dcB|A3 G3:|\n\n"
        "X:4\nT:No key\nM:4/4\nabc|\n"
    )
    corpus = load_pieces([str(book)])
    assert [p.source for p in corpus.pieces] == [f"{book}#X:1", f"{book}#X:2"]
    assert corpus.pieces[0].time_signature == (6, 8) and len(corpus.pieces[0]) == 32  # repeat played
    assert corpus.report.tunes_found == 4 and corpus.report.duplicates_removed == 1
    assert corpus.report.tunes_dropped["no K: field"] == 1

    folk = load_pieces(["ryans"], max_pieces=2)
    assert len(folk.pieces) == 2 and all("ryansMammoth" in p.source and "#X:" in p.source for p in folk.pieces)


def test_abc_music21_quirks_are_worked_around(tmp_path):
    """Real trouble music21 has with ABC: nested end repeats, interleaved voices, a signature in two places."""
    from conftest import oneills

    book = tmp_path / "quirks.abc"
    book.write_text(
        "X:1\nT:Six parts\nM:2/4\nL:1/8\nK:C\nCDEF|GABc:|\ncBAG|FEDC:|\nCEGc|cGEC:|\n"
        "DFAd|dAFD:|\nEGBe|eBGE:|\nFAcf|fcAF:|\n\n"
        "X:2\nT:Two voices\nM:2/4\nL:1/8\nV:1\nV:2\nK:C\nV:1\nCDEF|GABc|\nV:2\nC,D,E,F,|G,A,B,C|\n"
        "V:1\ncBAG|FEDC|]\nV:2\nC2C2|C4|]\n\n" + oneills(1)
    )
    parts, voices, oneill = load_pieces([str(book)]).pieces
    assert len(parts) == 96  # each of the 6 parts twice (music21 alone nests them: 2**6 times the start)
    assert parts.pitches[:16].tolist() == [60, 62, 64, 65, 67, 69, 71, 72] * 2
    assert voices.meta["voices"] == "first of 2" and voices.pitches.tolist() == [
        60,
        62,
        64,
        65,
        67,
        69,
        71,
        72,
        72,
        71,
        69,
        67,
        65,
        64,
        62,
        60,
    ]
    assert oneill.source.startswith(f"{book}#line ")  # X:1 again: named by its line, as load_abc does
    assert len(oneill) > 100 and oneill.time_signature == (2, 4) and "marks unshared" in oneill.meta["conversion"]


def test_is_score_source(tmp_path, band):
    assert is_score_source("bach-chorales") and is_score_source("Palestrina")
    assert not is_score_source("oneills") and not is_score_source(str(tmp_path / "nothing"))
    assert is_score_source(str(band)) and is_score_source(str(tmp_path)) and is_score_source(str(tmp_path / "*.mid"))
    assert is_score_source(str(M21 / "bach" / "bwv277.krn"))
    (tmp_path / "t.abc").write_text("X:1\nK:C\nC\n")
    assert not is_score_source(str(tmp_path / "t.abc")) and not is_score_source(str(tmp_path / "*.abc"))


# -- cache ----------------------------------------------------------------------------------------------------
def midi_folder(tmp_path: Path, n: int = 6) -> Path:
    folder = tmp_path / "midis"
    folder.mkdir()
    for i in range(n):
        write_score(folder / f"p{i}.mid", [track("Piano", i, scale(30 + i, 6 + i % 10))])
    (folder / "bad.mid").write_bytes(b"MThd garbage")
    return folder


def test_cache_second_load_reads_the_cache_and_rebuilds_corrupted_entries(tmp_path, own_cache):
    folder = midi_folder(tmp_path)
    first = load_pieces([str(folder)])
    assert first.report.files_parsed == 7 and first.report.files_cached == 0
    entries = sorted(own_cache.rglob("*.npz"))
    assert len(entries) == 7  # the bad file's skip is cached too
    assert not list(own_cache.rglob("*.tmp"))

    second = load_pieces([str(folder)])
    assert second.report.files_cached == 7 and second.report.files_parsed == 0
    assert dict(second.report.files_skipped) == dict(first.report.files_skipped)
    for a, b in zip(first.pieces, second.pieces, strict=True):
        assert a.source == b.source and np.array_equal(a.notes, b.notes)
        assert (a.tempo, a.time_signature, a.program, a.meta) == (b.tempo, b.time_signature, b.program, b.meta)

    entries[0].write_bytes(entries[0].read_bytes()[:40])  # truncated
    entries[1].write_bytes(b"not a zip file at all")
    third = load_pieces([str(folder)])
    assert third.report.cache_rebuilt == 2 and third.report.files_parsed == 2 and third.report.files_cached == 5
    assert [p.source for p in third.pieces] == [p.source for p in first.pieces]
    fourth = load_pieces([str(folder)])
    assert fourth.report.files_cached == 7  # rebuilt entries are good again

    # another track selection is another cache entry; cache=False neither reads nor writes
    assert load_pieces([str(folder)], tracks="piano").report.files_parsed == 7
    n = len(list(own_cache.rglob("*.npz")))
    off = load_pieces([str(folder)], cache=False)
    assert off.report.files_parsed == 7 and len(list(own_cache.rglob("*.npz"))) == n


def test_cache_of_music21_files_and_moved_files(tmp_path):
    src = M21 / "bach" / "bwv277.krn"
    first = load_pieces([str(src)])
    copy = tmp_path / "copy.krn"
    copy.write_bytes(src.read_bytes())
    again = load_pieces([str(copy)])
    assert again.report.files_cached == 1 and again.pieces[0].source == str(copy)  # keyed by bytes, not path
    assert np.array_equal(again.pieces[0].notes, first.pieces[0].notes)


def test_unwritable_cache_warns_once_and_goes_on(tmp_path, monkeypatch):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("RNNMUSIC_CACHE", str(blocker / "cache"))
    folder = midi_folder(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        corpus = load_pieces([str(folder)])
    assert len(corpus.pieces) == 6
    assert len([w for w in caught if issubclass(w.category, CacheWarning)]) == 1


def test_cache_location(monkeypatch, tmp_path):
    monkeypatch.setenv("RNNMUSIC_CACHE", "off")
    assert cache_dir() is None
    monkeypatch.delenv("RNNMUSIC_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_dir() == tmp_path / "rnnmusic"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_dir() == Path.home() / ".cache" / "rnnmusic"


# -- parallel parsing, duplicates, split -------------------------------------------------------------------------
def test_process_pool_gives_the_same_pieces(tmp_path, monkeypatch):
    folder = midi_folder(tmp_path, n=40)
    serial = load_pieces([str(folder)], workers=1, cache=False)
    monkeypatch.setattr(scores, "PARALLEL_SECONDS", 0.0)
    pooled = load_pieces([str(folder)], workers=2, cache=False, progress=False)
    assert not [w for w in pooled.report.warnings if "worker" in w]
    assert [p.source for p in pooled.pieces] == [p.source for p in serial.pieces]
    assert all(np.array_equal(a.notes, b.notes) for a, b in zip(serial.pieces, pooled.pieces))
    assert pooled.report.files_skipped == serial.report.files_skipped


def test_duplicates_are_kept_once(tmp_path):
    a = write_score(tmp_path / "a.mid", [track("Piano", 0, scale(60))])
    (tmp_path / "b.mid").write_bytes(a.read_bytes())  # same bytes
    write_score(tmp_path / "c.mid", [track("Organ", 19, scale(60))], qpm=90)  # same notes
    corpus = load_pieces([str(tmp_path), str(a)])
    assert [p.source for p in corpus.pieces] == [str(a)]
    assert corpus.report.duplicates_removed == 2


def test_piece_written_with_write_midi_reads_back(tmp_path):
    piece = Piece([(0, 1, 60, 90), (1, 0.5, 64, 90), (1.5, 0.5, 67, 90)], tempo=84, time_signature=(6, 8), program=40)
    path = piece.write_midi(tmp_path / "w.mid")
    (back,) = load_pieces([str(path)]).pieces
    assert np.allclose(back.notes, piece.notes) and back.time_signature == (6, 8) and back.program == 40
    assert back.tempo == pytest.approx(84)


def test_split_is_deterministic_and_order_independent():
    pieces = [Piece([(0, 1, 60 + i % 12, 80)], source=f"/x/{i}.mid") for i in range(50)]
    corpus = PieceCorpus(pieces, CorpusReport())
    train, valid = corpus.split(0.2, seed=3)
    assert len(valid) == 10 and len(train) == 40
    in_train = {id(p) for p in train}
    assert [p.source for p in train] == [p.source for p in pieces if id(p) in in_train]  # corpus order
    again = PieceCorpus(list(reversed(pieces)), CorpusReport()).split(0.2, seed=3)
    assert {p.source for p in again[1]} == {p.source for p in valid}
    assert {p.source for p in corpus.split(0.2, seed=4)[1]} != {p.source for p in valid}
    # music21's corpus files split the same wherever music21 is installed
    here = [Piece([(0, 1, 60, 80)], source=str(M21 / "bach" / f"bwv{i}.mxl")) for i in range(30)]
    there = [Piece([(0, 1, 60, 80)], source=f"bach/bwv{i}.mxl") for i in range(30)]
    assert [p.source[len(str(M21)) + 1 :] for p in PieceCorpus(here).split(0.3)[1]] == [
        p.source for p in PieceCorpus(there).split(0.3)[1]
    ]
    two = PieceCorpus(pieces[:2], CorpusReport()).split(0.01)
    assert len(two[0]) == 1 and len(two[1]) == 1
    assert PieceCorpus(pieces[:1], CorpusReport()).split(0.5) == (pieces[:1], [])
    with pytest.raises(UserError):
        corpus.split(1.0)
