"""rnnmusic.corpus: cleaning real music21 tunes, the built-in corpora, splits, and bad input on disk."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnmusic.corpus import (
    BUILTIN_CORPORA,
    Corpus,
    CorpusReport,
    Tune,
    builtin_names,
    clean_tune,
    load_abc,
    split_tunebook,
)
from rnnmusic.corpus.builtin import music21_corpus_dir
from rnnmusic.errors import UserError

M21 = Path(music21_corpus_dir())
GOOD_TUNE = "X:1\nT:Good\nM:6/8\nL:1/8\nK:G\nGAB cde|d3 B3:|\n"


def raw_tune(path: Path, number: int) -> str:
    for _, raw in split_tunebook(path.read_text(encoding="utf-8")):
        if raw.split("\n", 1)[0].replace(" ", "") == f"X:{number}":
            return raw
    raise AssertionError(f"X:{number} not in {path}")


@pytest.fixture(scope="module")
def builtin() -> dict[str, Corpus]:
    """Each single built-in corpus, loaded once for the module."""
    return {name: load_abc([name]) for name in builtin_names() if name != "all-folk"}


# -- cleaning real tunes ---------------------------------------------------------------------------------
def test_first_oneills_tune_keeps_musical_header_then_body():
    raw = raw_tune(M21 / "oneills1850" / "0001-0050.abc", 1)
    assert "T: The Enchanted Valley" in raw and "Z: " in raw  # the raw text has the fields we drop
    text, reason, fields = clean_tune(raw)
    assert reason is None
    assert text.startswith("M:2/4\nL:1/16\nK:Gm\nG3-A (Bcd=e) | f4 (g2dB) | ({d}c3-B) G2-E2 | F4 (D2=E^F) |\n")
    assert text.endswith("G2A2 (B2{cB}AG) | A3-G F2-D2 | (GABc) (d2{ed}c>A) | G2G2 G2z2 ||\n")
    for gone in ("X:", "T:", "B:", "N:", "Z:", "Enchanted", "Paap"):
        assert gone not in text
    assert fields == {"T": 1, "B": 1, "N": 2, "Z": 2}
    assert "\n\n" not in text


def test_ryans_continuations_joined_fingering_and_bowing_removed():
    raw = (M21 / "ryansMammoth" / "AcaciaReel.abc").read_text(encoding="utf-8")
    assert '"4"' in raw and "\\\n" in raw and "vG2vGA" in raw and '"_mf"' in raw
    text, reason, _ = clean_tune(raw)
    assert reason is None
    lines = text.split("\n")
    assert lines[:4] == ["M:2/4", "L:1/16", "R:reel", "K:G"]
    # three physical lines ending in a backslash become one
    assert "|:((3def)|{a}gfga bgdB |{d}cBcd edef | {a}gfga bc'ag |fdef gfga |" in lines
    assert "G2GA BcdB | {d}cBcd edef | gfge dBGA | BGAF G2 :|" in lines
    assert "\\" not in text and '"' not in text and "mf" not in text
    assert "u(" not in text and "vG" not in text


def test_chord_symbols_kept_or_dropped_on_music21_nottingham_file():
    raw = raw_tune(M21 / "nottingham-dataset" / "reelsa-c.abc", 81)
    with_chords, _, _ = clean_tune(raw)
    without, _, _ = clean_tune(raw, keep_chords=False)
    assert '"Am"A^G A"E7"B|' in with_chords and '"D/f+"AB "F"c2|' in with_chords and '"Am/c"e2' in with_chords
    assert '"' not in without
    assert "|:E|A^G AB|cB cd|e^d ef|e2 -e2|d^c de|cB cd|B^A Bc|[1A3:|[2 A4|" in without
    assert without.startswith("M:4/4\nL:1/4\nK:Am\nP:A\n")  # S: and the % comment gone, P: part marker kept


def test_annotations_decorations_and_inline_fields():
    raw = (
        "X:7\nT:Marks\nK:D\n"
        '"Am"A"^Fine"B"_p"c"<left"d">right"e"@1,2at"f"4"g "G/B"a "Bbmaj7"b "F#m7b5"c\' "(E7)"d "N.C."z|\n'
        '!trill!A !4!B !upbow!c +fermata+d +E3A3+ uAvB [I:abc]C [K:Dm]D [M:3/4]E % a comment\n'
        "W:lyrics line\nw:la la\nT:Second part\nP:B\nM:2/4\nd2 \\%e|\n"
    )
    text, reason, fields = clean_tune(raw)
    assert reason is None
    assert text == (
        "K:D\n"
        '"Am"ABcdefg "G/B"a "Bbmaj7"b "F#m7b5"c\' "(E7)"d "N.C."z|\n'
        "!trill!A B c !fermata!d +E3A3+ AB C [K:Dm]D [M:3/4]E\n"
        "P:B\nM:2/4\nd2 \\%e|\n"
    )
    assert fields == {"T": 2, "W": 1, "w": 1, "I": 1, "%": 1}
    plain, _, _ = clean_tune(raw, keep_chords=False)
    assert plain.split("\n")[1] == "ABcdefg a b c' d z|"


def test_header_fields_ordered_and_normalised():
    raw = (
        "X: 3\nT:Order\nC:Someone\nL: 1/8\nR: Reel\nQ:\"Allegro\" 1/4 = 120\nP: AB\n"
        "M:  C|\nI:abc-charset utf-8\n%%MIDI program 1\nN:note\nK:  A   Dorian % mode\n"
        "P:A\nABcd efga|\n"
    )
    text, reason, fields = clean_tune(raw)
    assert reason is None
    assert text == "M:C|\nL:1/8\nQ:1/4=120\nR:reel\nP:AB\nK:A Dorian\nP:A\nABcd efga|\n"
    assert fields == {"T": 1, "C": 1, "I": 1, "%%": 1, "N": 1, "%": 1}
    # free-text R: (Essen genre notes) is dropped; M: none kept as M:none; missing L: stays missing
    text, _, fields = clean_tune("X:1\nR:Romanze, Ballade\nM: none\nK: G\nGABc|\n")
    assert text == "M:none\nK:G\nGABc|\n" and fields == {"R": 1}
    # M:/L: lines right after K: (Nottingham style) describe the whole tune
    text, _, _ = clean_tune("X:1\nM:4/4\nK:A\nM:6/8\nP:A\nABc cde|\nM:3/4\nABc|\n")
    assert text == "M:6/8\nK:A\nP:A\nABc cde|\nM:3/4\nABc|\n"


def test_drop_reasons():
    assert clean_tune("X:1\nT:No key\nM:4/4\nABCD|\n")[:2] == (None, "no K: field")
    assert clean_tune("X:1\nT:Nothing\nK:G\n% only a comment\n\"^text\" |  |\n")[:2] == (None, "empty body (no notes)")
    assert clean_tune("X:1\nK:C\n" + "C" * 10_001 + "\n")[:2] == (None, "line longer than 10000 characters")
    long_tune = "X:1\nK:C\n" + ("CDEF GABc|" * 500 + "\n") * 5
    assert clean_tune(long_tune)[:2] == (None, "tune longer than 20000 characters after cleaning")
    assert clean_tune("X:1\nK:C\n" + ("CDEF GABc|" * 500 + "\n") * 3)[1] is None


def test_split_tunebook_line_numbers():
    book = "% file header\n\nX:1\nT:a\nK:C\nC|\n\nX:2\nK:D\nD|\r\nX:3\nK:E\nE|"
    pieces = split_tunebook(book)
    assert [n for n, _ in pieces] == [3, 8, 11]
    assert pieces[0][1] == "X:1\nT:a\nK:C\nC|\n\n" and pieces[2][1] == "X:3\nK:E\nE|"
    assert split_tunebook("T:no x\nK:C\nC|\n") == [(1, "T:no x\nK:C\nC|\n")]
    assert split_tunebook("just some text\n") == []


# -- built-in corpora ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["essen", "oneills", "ryans", "airds", "miscfolk"])
def test_builtin_corpus_loads_about_expected_count(builtin, name):
    corpus = builtin[name]
    expected = BUILTIN_CORPORA[name].approx_tunes
    report = corpus.report
    assert report.tunes_found == pytest.approx(expected, rel=0.02)
    assert len(corpus.tunes) == report.tunes_kept >= 0.95 * expected
    assert report.files_skipped == [] and report.files_read >= 1
    for tune in corpus.tunes[:200]:
        assert isinstance(tune, Tune) and tune.text.endswith("\n") and "\n\n" not in tune.text
        head = tune.text.split("\n")
        assert not any(line.startswith(("X:", "T:", "Z:", "N:", "%")) for line in head)
        assert name_of_folder(tune.source) in BUILTIN_CORPORA[name].folders
    stats = corpus.stats()
    assert stats["tunes"] == len(corpus.tunes)
    assert sum(stats["meters"].values()) == sum(stats["keys"].values()) == len(corpus.tunes)
    counts = list(stats["meters"].values())
    assert counts == sorted(counts, reverse=True)
    assert 50 < stats["mean_length_chars"] < 2000


def name_of_folder(source: str) -> str:
    return Path(source.rsplit(":X:", 1)[0].rsplit(":line ", 1)[0]).parent.name


def test_builtin_stats_and_names(builtin):
    assert builtin_names()[:5] == ["essen", "oneills", "ryans", "airds", "miscfolk"] and "all-folk" in builtin_names()
    essen = builtin["essen"].stats()
    assert list(essen["meters"])[:3] == ["2/4", "4/4", "3/4"] and "G" in essen["keys"]
    oneills = builtin["oneills"].stats()
    assert "6/8" in oneills["meters"] and "C|" in oneills["meters"] and "D" in oneills["keys"]
    assert "1/8" in oneills["unit_lengths"]
    assert builtin["essen"].report.header_fields_dropped["T"] == 8514
    assert len(load_abc(["MiscFolk"]).tunes) == len(builtin["miscfolk"].tunes)  # names are case-insensitive


def test_all_folk_and_several_sources(builtin):
    both = load_abc(["oneills", "miscfolk", "ONEILLS"])  # a source named twice is read once
    assert len(both.tunes) == len(builtin["oneills"].tunes) + len(builtin["miscfolk"].tunes)
    assert both.report.duplicates_removed == 1 + 4  # the duplicates inside O'Neill's and inside miscFolk
    assert BUILTIN_CORPORA["all-folk"].folders == ("essenFolksong", "oneills1850", "ryansMammoth", "airdsAirs",
                                                   "miscFolk")


def test_split_is_deterministic_and_by_tune(builtin):
    corpus = builtin["oneills"]
    train, valid = corpus.split(0.1, seed=0)
    assert len(valid) == round(0.1 * len(corpus.tunes)) and len(train) + len(valid) == len(corpus.tunes)
    assert {t.source for t in train}.isdisjoint(t.source for t in valid)
    again_train, again_valid = corpus.split(0.1, seed=0)
    assert again_valid == valid and again_train == train
    assert corpus.split(0.1, seed=1)[1] != valid
    tiny = Corpus(corpus.tunes[:2], CorpusReport())
    assert [len(part) for part in tiny.split(0.1)] == [1, 1]
    assert Corpus(corpus.tunes[:1], CorpusReport()).split(0.5) == (corpus.tunes[:1], [])
    with pytest.raises(UserError):
        corpus.split(1.5)


def test_split_does_not_depend_on_pythonhashseed():
    code = (
        "from rnnmusic.corpus import load_abc\n"
        "c = load_abc(['miscfolk'])\n"
        "print(','.join(t.source.rsplit('/', 1)[1] for t in c.split(0.2, seed=3)[1]))\n"
    )
    outputs = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        outputs.add(done.stdout.strip())
    assert len(outputs) == 1 and outputs.pop().count(",") == round(0.2 * 181) - 1


def test_max_tunes_stops_early():
    corpus = load_abc(["oneills"], max_tunes=10)
    assert len(corpus.tunes) == 10 and corpus.report.stopped_at_max_tunes == 10
    assert "max_tunes=10" in corpus.report.summary()


# -- bad input on disk -----------------------------------------------------------------------------------
def test_nonexistent_path_is_a_user_error_naming_it(tmp_path):
    missing = tmp_path / "nope" / "book.abc"
    with pytest.raises(UserError, match="no such file or directory") as err:
        load_abc([str(missing)])
    assert str(missing) in str(err.value)
    with pytest.raises(UserError, match="not a built-in corpus"):
        load_abc(["oneils"])  # a misspelt built-in name


def test_empty_dir_and_glob_matching_nothing(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no .abc files"):
        load_abc([str(tmp_path / "empty")])
    (tmp_path / "good.abc").write_text(GOOD_TUNE)
    corpus = load_abc([str(tmp_path / "empty"), str(tmp_path / "*.abc"), str(tmp_path / "none*.abc")])
    assert len(corpus.tunes) == 1
    assert corpus.report.warnings == [
        f"{tmp_path / 'empty'}: no .abc files",
        f"{tmp_path / 'none*.abc'}: no .abc files",
    ]


def test_invalid_utf8_and_binary_files_are_skipped(tmp_path):
    (tmp_path / "latin1.abc").write_bytes("X:1\nT:Café\nK:C\nCDEF|\n".encode("latin-1"))
    (tmp_path / "junk.abc").write_bytes(bytes(range(256)) * 64)
    (tmp_path / "good.abc").write_text(GOOD_TUNE)
    report = load_abc([str(tmp_path)]).report
    assert report.files_read == 1
    assert dict(report.files_skipped) == {
        str(tmp_path / "junk.abc"): "binary file, not ABC text",
        str(tmp_path / "latin1.abc"): "not valid UTF-8 (byte 0xe9 at offset 9)",
    }
    with pytest.raises(UserError, match="binary file"):
        load_abc([str(tmp_path / "junk.abc")])


def test_tune_without_key_and_file_without_x(tmp_path):
    book = tmp_path / "book.abc"
    book.write_text("X:1\nT:No key\nM:4/4\nABCD|\n\n" + GOOD_TUNE.replace("X:1", "X:2"))
    (tmp_path / "single.abc").write_text("T:Lonely\nM:3/4\nK:F\nFAc|f3|\n")
    report = load_abc([str(book), str(tmp_path / "single.abc")]).report
    assert report.tunes_found == 3 and report.tunes_kept == 2
    assert report.tunes_dropped == {"no K: field": 1}
    assert report.drop_examples["no K: field"] == [f"{book}:X:1"]
    corpus = load_abc([str(tmp_path / "single.abc")])
    assert corpus.tunes == [Tune("M:3/4\nK:F\nFAc|f3|\n", f"{tmp_path / 'single.abc'}:line 1")]


def test_duplicates_removed_and_counted(tmp_path):
    (tmp_path / "a.abc").write_text(
        GOOD_TUNE + "\nX:2\nT:Other title, same music\nM:6/8\nL:1/8\nK:G\nGAB  cde|d3 B3:|\n"
    )
    (tmp_path / "b.abc").write_text(GOOD_TUNE.replace("T:Good", "T:Copy\nZ:someone"))
    corpus = load_abc([str(tmp_path)])
    assert len(corpus.tunes) == 1 and corpus.report.duplicates_removed == 2
    assert corpus.report.tunes_dropped == {"duplicate": 2}
    assert corpus.report.drop_examples["duplicate"][0] == f"{tmp_path / 'a.abc'}:X:2 (same as {tmp_path / 'a.abc'}:X:1)"
    assert "2 duplicate" in corpus.report.summary()


def test_fifty_megabyte_single_line_file_is_skipped_fast(tmp_path):
    big = tmp_path / "huge.abc"
    with open(big, "wb") as f:
        f.write(b"X:1 T:huge M:4/4 K:C ")
        chunk = b"abcd efga|" * 100_000
        for _ in range(50):
            f.write(chunk)
    assert big.stat().st_size > 50_000_000
    (tmp_path / "good.abc").write_text(GOOD_TUNE)
    tracemalloc.start()
    started = time.perf_counter()
    try:
        corpus = load_abc([str(big), str(tmp_path / "good.abc")])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < 5
    assert peak < 300_000_000
    assert len(corpus.tunes) == 1
    assert corpus.report.tunes_dropped == {"line longer than 10000 characters": 1}
    assert f"{big}: no usable tunes (1 line longer than 10000 characters)" in corpus.report.warnings


def test_mix_of_good_and_bad_files_keeps_good_tunes_and_lists_each_bad_file(tmp_path):
    shelf = tmp_path / "shelf"
    (shelf / "sub").mkdir(parents=True)
    (shelf / "good.abc").write_text(GOOD_TUNE + "\nX:2\nT:Second\nK:D\nDFA d2|\n")
    (shelf / "sub" / "more.ABC").write_text("X:5\nK:Em\nEGB e2|\n")
    (shelf / "latin1.abc").write_bytes(b"X:1\nT:Caf\xe9\nK:C\nC|\n")
    (shelf / "junk.abc").write_bytes(os.urandom(2048) + b"\x00")
    (shelf / "nokey.abc").write_text("X:1\nT:No key\nABC|\n")
    (shelf / "empty.abc").write_text("")
    (shelf / "notes.txt").write_text("not read: wrong extension\n")
    missing = tmp_path / "missing.abc"
    corpus = load_abc([str(shelf), str(missing)])
    assert sorted(t.text for t in corpus.tunes) == [
        "K:D\nDFA d2|\n",
        "K:Em\nEGB e2|\n",
        "M:6/8\nL:1/8\nK:G\nGAB cde|d3 B3:|\n",
    ]
    assert sorted(corpus.report.warnings) == sorted(
        [
            f"{shelf / 'empty.abc'}: no X: or K: line, not ABC",
            f"{shelf / 'junk.abc'}: binary file, not ABC text",
            f"{shelf / 'latin1.abc'}: not valid UTF-8 (byte 0xe9 at offset 9)",
            f"{shelf / 'nokey.abc'}: no usable tunes (1 no K: field)",
            f"{missing}: no such file or directory",
        ]
    )
    report = corpus.report.to_dict()
    assert json.loads(json.dumps(report)) == report
    assert report["files_read"] == 3 and report["tunes_found"] == 4 and report["tunes_kept"] == 3
    summary = corpus.report.summary()
    assert "4 tunes found, 3 kept" in summary and "1 no K: field" in summary and "header fields dropped: T 3" in summary


def test_no_sources_and_bad_max_tunes():
    with pytest.raises(UserError, match="no corpus given"):
        load_abc([])
    with pytest.raises(UserError, match="max_tunes"):
        load_abc(["miscfolk"], max_tunes=0)


def test_nottingham_abc_cleaned_loads_with_chords(nottingham_abc):
    corpus = load_abc([str(nottingham_abc)])
    assert corpus.report.files_read == 14 and len(corpus.tunes) > 1000
    with_chords = sum('"' in t.text for t in corpus.tunes)
    assert with_chords > 1000
    assert corpus.stats()["meters"]["4/4"] > 300
    plain = load_abc([str(nottingham_abc)], keep_chords=False)
    assert not any('"' in t.text for t in plain.tunes)


# -- properties ------------------------------------------------------------------------------------------
ABC_LINE = st.one_of(
    st.sampled_from(
        [
            "K:G",
            "K: D mix",
            "M:6/8",
            "L:1/8",
            "Q:1/4=90",
            "R:jig",
            "P:A",
            "V:1",
            "T:x",
            "N:n",
            "%c",
            "%%d",
            "w:la",
            "+:more",
            "I:x",
            "",
            "  ",
            "K:",
            "A:|",
            "X:2",
        ]
    ),
    st.text(alphabet="ABCDEFGabcdefgz,'/|:[]()\"{}!+^_=<>~.-123456789 \\%uvKMLT\t", max_size=40),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(ABC_LINE, max_size=12), st.booleans())
def test_clean_tune_output_is_well_formed_and_a_fixed_point(lines, keep_chords):
    text, reason, fields = clean_tune("X:1\n" + "\n".join(lines), keep_chords=keep_chords)
    assert (text is None) == (reason is not None)
    assert all(n > 0 for n in fields.values())
    if text is None:
        return
    assert text.endswith("\n") and "\n\n" not in text and "\t" not in text and "  " not in text
    head = text.split("\n")
    k = next(i for i, line in enumerate(head) if line.startswith("K:"))
    letters = [line[0] for line in head[:k]]
    assert letters == sorted(letters, key="MLQRPV".index)
    if not keep_chords:
        assert '"' not in text
    assert clean_tune("X:1\n" + text, keep_chords=keep_chords) == (text, None, {})
