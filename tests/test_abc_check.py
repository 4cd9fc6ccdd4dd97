"""check_tune / checks_table against real music21, real abc2midi and tunes from music21's corpus."""
from __future__ import annotations

import json
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import needs_abc2midi, oneills
from rnnmusic.evaluation import TuneCheck, check_tune, checks_table
from rnnmusic.render import MissingToolWarning


def tune(body: str, meter: str = "6/8", *, title: str = "Test") -> str:
    return f"X:1\nT:{title}\nM:{meter}\nL:1/8\nK:D\n{body}\n"


# A jig with a pickup, |: :| sections, first/second endings and a pickup into the B part.
PICKUPS_AND_REPEATS = tune(
    "A|:d2d fed|cBA ABc|d2d fed|1 cAF D2A:|2 cAF D2||\n"
    "|:f|afd afd|bge gfe|afd afd|1 gec d2:|2 gec d3|]"
)


@needs_abc2midi
def test_corpus_tune_is_valid():
    c = check_tune(oneills(40))  # "Gordon's Tune": pickups around ||, no transcription errors
    assert c.header_ok and c.missing_fields == []
    assert c.music21_ok and c.music21_error is None
    assert c.abc2midi_ok is True and c.abc2midi_error is None
    assert (c.bars_total, c.bars_wrong, c.bar_errors) == (18, 0, [])
    assert c.notes == 90
    assert c.valid


@needs_abc2midi
def test_real_transcription_error_in_corpus_agrees_with_abc2midi(tmp_path):
    # O'Neill's 28 has one bar of 13 eighths in 6/8; abc2midi, an independent parser, warns about it too.
    c = check_tune(oneills(28), workdir=tmp_path)
    assert c.bars_wrong == 1
    assert c.bar_errors == ["bar 11: 3.25 beats, meter 6/8 wants 3.0 (too long)"]
    assert not c.valid
    out = subprocess.run(["abc2midi", str(tmp_path / "tune.abc"), "-o", str(tmp_path / "again.mid")],
                         capture_output=True, text=True, timeout=30).stdout
    assert "has 13/2 time units while the time signature has 6" in out


def test_wrong_bar_is_named():
    c = check_tune(tune("A|d2d fed|cBA ABc|d2d fedc|cAF D2A|\nd2d fed|cBA ABc|d2d fed|cAF D2|]"))
    assert c.bars_total == 9
    assert c.bars_wrong == 1
    assert c.bar_errors == ["bar 4: 3.5 beats, meter 6/8 wants 3.0 (too long)"]
    assert c.music21_ok and c.header_ok
    assert not c.valid


def test_short_bar_inside_a_section_is_wrong():
    c = check_tune(tune("A|d2d fed|cBA ABc|d2d fe|cAF D2A|\nd2d fed|cBA ABc|d2d fed|cAF D2|]"))
    assert c.bar_errors == ["bar 4: 2.5 beats, meter 6/8 wants 3.0 (too short)"]
    assert not c.valid


def test_pickups_around_repeats_and_endings_are_valid():
    c = check_tune(PICKUPS_AND_REPEATS)
    assert c.bars_wrong == 0, c.bar_errors
    assert c.bars_total == 12
    assert c.notes == 53
    assert c.valid


def test_overlong_bar_next_to_a_repeat_is_still_wrong():
    c = check_tune(tune("A|:d2d fed|cBA ABc|d2d fed|cAF D2A2:|"))
    assert c.bar_errors == ["bar 5: 3.5 beats, meter 6/8 wants 3.0 (too long)"]


@pytest.mark.parametrize(
    ("text", "missing"),
    [
        ("X:1\nT:No key\nM:6/8\nL:1/8\nd2d fed|cBA ABc|\n", ["K:"]),
        ("X:1\nT:No meter\nL:1/8\nK:D\nd2d fed|cBA ABc|\n", ["M:"]),
        ("X:1\nT:Key after music\nM:6/8\nL:1/8\nd2d fed|\nK:D\ncBA ABc|\n", ["K:"]),
        ("T:X not first\nX:1\nM:6/8\nL:1/8\nK:D\nd2d fed|cBA ABc|\n", ["X:"]),
        ("", ["X:", "M:", "K:"]),  # L: is optional (its default follows from the meter)
    ],
)
def test_header_fields_missing(text, missing):
    c = check_tune(text)
    assert c.header_ok is False
    assert c.missing_fields == missing
    assert not c.valid


@needs_abc2midi
@pytest.mark.parametrize("body", ["}}}} ### @@@ (((( ]]]] zz&&& $$$", "q;w'e]r[t=y7u8i9o0p!!@"])
def test_garbage_body_fails(body):
    c = check_tune(tune(body))
    assert c.header_ok
    assert c.music21_ok is False or c.abc2midi_ok is False
    assert c.abc2midi_ok is False and c.abc2midi_error.startswith("Error")
    assert not c.valid


def test_too_few_bar_lines_to_measure_is_flagged():
    c = check_tune(tune("d2d fed cBA ABc|d2d fed cAF D3|]"))  # one plain |: music21 makes no measures
    assert c.bars_wrong == 1 and c.bar_errors[0].startswith("no bars")
    assert not c.valid


def test_empty_body_has_no_notes():
    c = check_tune(tune(""))
    assert c.notes == 0 and not c.music21_ok and not c.valid


def test_meter_none_skips_bar_check():
    c = check_tune(tune("d2d fed|cBA ABcde|", meter="none"))
    assert c.bars_checked is False and c.bars_wrong == 0
    assert c.valid
    assert "n/a" in checks_table(["free"], [c]).splitlines()[2]


def test_only_the_first_tune_is_checked():
    c = check_tune(tune("d2d fed|cBA ABc|") + "\n" + tune("d2d fed|cBA ABcdefg|"))
    assert c.bars_wrong == 0 and c.notes == 11


def test_abc2midi_hidden(monkeypatch):
    monkeypatch.setenv("RNNMUSIC_NO_ABC2MIDI", "1")
    with pytest.warns(MissingToolWarning, match="abc2midi not found"):
        c = check_tune(PICKUPS_AND_REPEATS)
    assert c.abc2midi_ok is None and c.abc2midi_error is None
    assert c.valid  # a missing tool does not make a tune invalid
    assert "n/a" in checks_table(["t"], [c])


@needs_abc2midi
def test_workdir_keeps_files_and_to_dict_is_json(tmp_path):
    c = check_tune(oneills(40), workdir=tmp_path)
    assert (tmp_path / "tune.abc").read_text().startswith("X:")
    assert (tmp_path / "tune.mid").stat().st_size > 100
    d = json.loads(json.dumps(c.to_dict()))
    assert d["valid"] is True and d["notes"] == 90 and d["meter"] == "C"


def test_checks_table_rows():
    good = check_tune(PICKUPS_AND_REPEATS)
    bad = check_tune(tune("A|d2d fed|cBA ABc|d2d fedc|cAF D2|]"))
    nokey = check_tune("X:1\nM:6/8\nL:1/8\nd2d fed|\n")
    table = checks_table(["jig", "long-bar", "no-key"], [good, bad, nokey])
    lines = table.splitlines()
    assert lines[0].split()[:7] == ["tune", "header", "music21", "abc2midi", "bars", "ok", "notes"]
    assert len(lines) == 2 + 3 + 1
    jig, long_bar, no_key = lines[2:5]
    assert jig.startswith("jig") and "12/12" in jig and "VALID" in jig
    assert "4/5" in long_bar and "invalid" in long_bar and "bar 4: 3.5 beats" in long_bar
    assert "no K" in no_key and "invalid" in no_key
    assert lines[-1] == "1/3 valid (33%)"
    with pytest.raises(ValueError):
        checks_table(["a"], [])


# Property: bars built from note lengths that fill 6/8 exactly are valid; stretching one bar names it.
_BAR_SHAPES = ["d2d", "def", "d3", "d>ed", "dd/d/d", "(3ded d", "z3"]  # each lasts 3 eighths


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(
    halves=st.lists(st.tuples(st.sampled_from(_BAR_SHAPES), st.sampled_from(_BAR_SHAPES)), min_size=3, max_size=8),
    data=st.data(),
)
def test_property_full_bars_valid_and_stretched_bar_named(halves, data, monkeypatch):
    monkeypatch.setenv("RNNMUSIC_NO_ABC2MIDI", "1")  # the property is about music21's bars; keep it fast
    bars = [f"{a} {b}" for a, b in halves]
    with pytest.warns(MissingToolWarning):
        c = check_tune(tune("|".join(bars) + "|]", title="Prop"))
    assert c.bars_total == len(bars) and c.bars_wrong == 0, c.bar_errors
    k = data.draw(st.integers(0, len(bars) - 1))
    stretched = bars[:k] + [bars[k] + " e"] + bars[k + 1 :]
    with pytest.warns(MissingToolWarning):
        c = check_tune(tune("|".join(stretched) + "|]", title="Prop"))
    assert c.bar_errors == [f"bar {k + 1}: 3.5 beats, meter 6/8 wants 3.0 (too long)"]
    assert isinstance(c, TuneCheck) and not c.valid
