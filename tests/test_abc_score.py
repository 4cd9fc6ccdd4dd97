"""ABC meter and key changes inside a tune's body reach the notation (music21 drops them; render.abc_score
puts them back), with the notes unchanged."""
from __future__ import annotations

import music21
import pytest

from rnnmusic.render.abc_score import parse_abc_quietly, restore_body_fields
from rnnmusic.render.files import render_files

# The opening of "A and A's Waltz" (Nottingham, ashover.abc X:1): 3/4 with one 2/4 bar, as field lines.
WALTZ = """X:1
T:A and A's Waltz
M:3/4
L:1/4
K:G
e|:"G"d2B|"D"A3/2B/2c|"G"B2G|"D"A2e|"G"d2B|"D"A3/2B/2c|
M:2/4
"F"B=F|
M:3/4
"G"G2e:|
"""
INLINE = "X:1\nT:t\nM:3/4\nL:1/4\nK:G\nd2B|A2c|[M:2/4]B=F|[M:3/4]G2e|d3|]\n"
LONGER = "X:1\nT:t\nM:2/4\nL:1/4\nK:D\nde|fd|\nM:3/4\nd2B|A2F|\nM:2/4\nde|d2|]\n"
KEY = "X:1\nT:t\nM:3/4\nL:1/4\nK:G\nd2B|A2F|\nK:F\nB2F|G2e|d3|]\n"


def _measures(score):
    return list(score.recurse().getElementsByClass("Measure"))


def _meters(score):
    return [(m.timeSignature.ratioString if m.timeSignature else None, m.duration.quarterLength)
            for m in _measures(score)]


def _notes(score):
    return [(float(n.offset), [p.nameWithOctave for p in n.pitches], float(n.quarterLength))
            for n in score.flatten().notesAndRests]


@pytest.mark.parametrize("text", [WALTZ, INLINE])
def test_meter_changes_in_the_body_reach_the_measures(text):
    score = parse_abc_quietly(text)
    meters = _meters(score)
    two_four = [i for i, (ts, ql) in enumerate(meters) if ql == 2.0]
    assert len(two_four) == 1
    i = two_four[0]
    assert meters[i][0] == "2/4" and meters[i + 1][0] == "3/4"  # the 2/4 bar, and 3/4 again after it
    assert [ts for ts, _ in meters].count("2/4") == 1 and meters[0][0] == "3/4"


def test_notes_are_music21s_own():
    for text in (WALTZ, INLINE, LONGER, KEY):
        assert _notes(parse_abc_quietly(text)) == _notes(music21.converter.parse(text, format="abc"))


def test_a_longer_meter_is_not_cut_into_bars_of_the_first():
    """music21 re-bars by the meter it knows: without the 3/4 it would cut each 3/4 bar into 2/4 + 1/4."""
    assert _meters(parse_abc_quietly(LONGER)) == [("2/4", 2.0), (None, 2.0), ("3/4", 3.0), (None, 3.0),
                                                  ("2/4", 2.0), (None, 2.0)]
    # with re-barring off (the bar check), the bars are as written, meters included
    assert _meters(parse_abc_quietly(LONGER, rebar=False)) == _meters(parse_abc_quietly(LONGER))


def test_key_change_in_the_body():
    score = parse_abc_quietly(KEY)
    keys = [(i, k.sharps) for i, m in enumerate(_measures(score)) for k in m.getElementsByClass("KeySignature")]
    assert keys == [(0, 1), (2, -1)]
    assert [p.nameWithOctave for p in _measures(score)[2].pitches] == ["B-4", "F4"]  # spelled in F by music21


def test_nothing_to_restore_leaves_the_score_alone():
    plain = "X:1\nT:t\nM:6/8\nL:1/8\nK:D\nA|dfa afd|B3 A3|]\n"
    score = music21.converter.parse(plain, format="abc")
    assert restore_body_fields(score, plain) == 0
    assert _meters(parse_abc_quietly(plain)) == _meters(score)
    # a field repeating the meter already in force sets nothing either
    same = "X:1\nT:t\nM:3/4\nL:1/4\nK:G\nd2B|\nM:3/4\nA2c|]\n"
    assert restore_body_fields(music21.converter.parse(same, format="abc"), same) == 0


def test_rendered_musicxml_and_sheet_carry_the_changes(tmp_path):
    abc = tmp_path / "waltz.abc"
    abc.write_text(WALTZ + "\n" + KEY.replace("X:1", "X:2"))
    done = render_files([abc], ["musicxml", "svg"], tmp_path / "out")
    assert len(done) == 2 and not any(r.errors for r in done)
    waltz = (tmp_path / "out" / "waltz-1.musicxml").read_text()
    assert waltz.count("<beats>2</beats>") == 1 and waltz.count("<beats>3</beats>") == 2
    key = (tmp_path / "out" / "waltz-2.musicxml").read_text()
    assert "<fifths>1</fifths>" in key and "<fifths>-1</fifths>" in key
    svg = (tmp_path / "out" / "waltz-1.svg").read_text()
    assert svg.count('class="meterSig"') >= 3  # verovio engraved 3/4, 2/4 and 3/4 again
