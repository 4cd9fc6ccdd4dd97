"""The ABC checker is right about real ABC: tunes it used to reject wrongly pass, real faults still fail
(fixtures/checker_real_tunes.abc; the measurement over 900 tunes is bench/abc_checker)."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import needs_abc2midi
from rnnmusic.corpus import split_tunebook
from rnnmusic.evaluation.abc_check import REQUIRED_FIELDS, check_tune
from rnnmusic.evaluation.abc_music21 import for_music21
from rnnmusic.render.midi import find_abc2midi, run_abc2midi

FIXTURE = Path(__file__).parent / "fixtures" / "checker_real_tunes.abc"
TUNES = [text for _, text in split_tunebook(FIXTURE.read_text(encoding="utf-8"))]


def _title(text: str) -> str:
    return next(line[2:] for line in text.splitlines() if line.startswith("T:"))


@needs_abc2midi
@pytest.mark.parametrize("text", TUNES, ids=[_title(t).split(" -- ")[1] for t in TUNES])
def test_real_tunes_get_the_right_verdict(text):
    want = _title(text).startswith("valid")
    c = check_tune(text)
    assert c.valid is want, c.first_problem()


def test_a_tune_without_l_passes_the_header_and_bar_checks():
    text = TUNES[0]
    assert "\nL:" not in text and "L:" not in REQUIRED_FIELDS
    c = check_tune(text)
    assert c.header_ok and c.bars_checked and c.bars_wrong == 0 and c.bars_total > 8  # bars of 6 eighths, not 3


def test_music21_reads_a_copy_with_its_misreadings_rewritten():
    assert "!fermata!f2" in for_music21("X:1\nM:C\nK:F\nAFAc Hf2 e>f|\n")
    assert "{F}(3EDE" in for_music21("X:1\nM:C\nK:F\nBE ((3{F}EDE) FA|\n")
    assert "BGG ::" in for_music21("X:1\nM:C\nK:G\ndBAc BGG::\nd|gagf|\n")
    body = for_music21("X:1\nM:C\nK:G\n[V:1] GABc|\n[V:2] DEFG|\n[V:1] d4|\n[V:2] B4|\n").split("K:G\n")[1]
    assert body.split() == ["GABc|", "d4|"]  # the first voice only
    assert for_music21("X:1\nT:Hymn H\nM:C\nK:G\nGABc|\nP:B\ndefg|\n").splitlines()[1:] == [
        "T:Hymn H", "M:C", "K:G", "GABc|", "||", "defg|"]  # field lines as they are; a part label is a boundary
    assert '"H7"' in for_music21('X:1\nM:C\nK:G\n"H7"GABc|\n')  # chord symbols untouched


@needs_abc2midi
@pytest.mark.parametrize(("body", "harmless"), [
    ("GABc d2e2|AFAc fed c2 H|]", True),          # a fermata on the final bar line
    ("GABc d2e2|AFAc ~(fed) c2|]", True),         # a roll before a slur
    ("GABc (d>.e) dc|AFAc d4|]", True),           # staccato after a broken rhythm
    ("GABc d2e2 [|] AFAc d4|]", True),            # the invisible bar line
    ("GABc d2e2|AFAc d4 H[|]", False),            # abc2midi then reads a chord
    ("GABc A2>B dc|AFAc d4|]", False),            # a broken rhythm between unequal notes
    ("GABc ~ d2e2|AFAc d4|]", False),             # a decoration on nothing
    ("GABc ^ d2e2|AFAc d4|]", False),             # an accidental on nothing
])
def test_abc2midi_error_lines_that_are_harmless(tmp_path, body, harmless):
    abc = tmp_path / "t.abc"
    abc.write_text(f"X:1\nT:t\nM:C\nL:1/8\nK:G\n{body}\n")
    result = run_abc2midi(find_abc2midi(), abc, tmp_path / "t.mid")
    assert "Error" in result.output  # abc2midi does complain
    assert result.ok is harmless, result.error
