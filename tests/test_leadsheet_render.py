"""Lead sheets (`rnnmusic.render.leadsheet`): accompaniment patterns, swing, and the written MIDI, MusicXML,
SVG (verovio, in its child process) and WAV (FluidSynth when installed), all real."""
from __future__ import annotations

import re
import shutil
import warnings

import numpy as np
import pytest
import symusic

from rnnmusic.accompaniment import ACCOMPANIMENTS, accompaniment, voice_chord
from rnnmusic.chords import Chord
from rnnmusic.errors import UserError
from rnnmusic.piece import Piece
from rnnmusic.progressions import ChordSpan, chord_at
from rnnmusic.render.audio import find_soundfont, read_wav
from rnnmusic.render.leadsheet import chord_symbol, lead_score, swing, write_lead_sheet

needs_fluidsynth = pytest.mark.skipif(
    shutil.which("fluidsynth") is None or find_soundfont() is None, reason="fluidsynth or a GM SoundFont not installed"
)

# | Dm7 G7 | Cmaj7 |  in 4/4
SPANS = [ChordSpan(0.0, 2.0, Chord(2, "m7")), ChordSpan(2.0, 4.0, Chord(7, "7")), ChordSpan(4.0, 8.0, Chord(0, "maj7"))]
# a longer one with flats, sharps, a half-diminished chord and a chord held over a bar line
LONG = SPANS + [ChordSpan(8.0, 12.0, Chord(10, "7")), ChordSpan(12.0, 14.0, Chord(6, "m7b5")),
                ChordSpan(14.0, 16.0, Chord(11, "7")), ChordSpan(16.0, 24.0, Chord(4, "min"))]


def melody(bars: int = 2, key: str | None = "C major") -> Piece:
    """Eighth notes walking up and down a C major scale."""
    scale = [60, 62, 64, 65, 67, 69, 71, 72]
    pitches = [scale[i % 8] if (i // 8) % 2 == 0 else scale[7 - i % 8] for i in range(8 * bars)]
    return Piece([(0.5 * i, 0.5, p, 90) for i, p in enumerate(pitches)], tempo=132, key=key, program=65)


def span_of(spans, t):  # the chord sounding at t
    return chord_at(spans, t)


# -- accompaniment -------------------------------------------------------------------------------------
def test_styles_and_unknown_style():
    assert ACCOMPANIMENTS[0] == "comp"
    assert [t.program for t in accompaniment(SPANS, "comp")] == [0, 32]
    assert [t.program for t in accompaniment(SPANS, "block")] == [0]
    assert [t.program for t in accompaniment(SPANS, "bass")] == [32]
    assert accompaniment(SPANS, "none") == []
    with pytest.raises(UserError, match="comp, block, bass, none") as e:
        accompaniment(SPANS, "reggae")
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("spans", [SPANS, LONG], ids=["ii-V-I", "long"])
def test_block_chords_sound_only_chord_tones_and_restrike_at_bar_lines(spans):
    (piano,) = accompaniment(spans, "block")
    notes = piano.notes
    assert len(notes)
    for start, dur, pitch, vel in notes:
        chord = span_of(spans, start)
        assert chord is not None and int(pitch) % 12 in chord.tones(), (start, pitch)
        assert span_of(spans, start + dur - 1e-6) == chord  # held within its span
        assert 36 <= pitch <= 72 and 50 <= vel <= 75
    # every bar line inside a chord re-strikes it: Cmaj7 (4..8) once, E minor (16..24) at 16 and 20
    onsets = sorted(set(notes[:, 0].tolist()))
    assert onsets == sorted({s.start for s in spans} | ({20.0} if spans is LONG else set()))
    # the root sounds lowest, an octave (or more) below the close voicing above it
    for t in onsets:
        chord_pitches = sorted(notes[notes[:, 0] == t, 2].astype(int))
        assert chord_pitches[0] % 12 == span_of(spans, t).root
        assert chord_pitches[1] - chord_pitches[0] >= 1 and chord_pitches[-1] - chord_pitches[1] < 12


def test_voice_leading_moves_little():
    dm7 = voice_chord(Chord(2, "m7"))
    g7 = voice_chord(Chord(7, "7"), dm7)
    cmaj7 = voice_chord(Chord(0, "maj7"), g7)
    for v, c in [(dm7, Chord(2, "m7")), (g7, Chord(7, "7")), (cmaj7, Chord(0, "maj7"))]:
        assert sorted(p % 12 for p in v) == sorted(c.tones()) and min(v) >= 52 and max(v) <= 72
        assert max(v) - min(v) < 12  # close position
    # ii-V-I voice leading: each voice moves by at most a whole step
    assert sum(abs(a - b) for a, b in zip(dm7, g7)) <= 4 and sum(abs(a - b) for a, b in zip(g7, cmaj7)) <= 4


@pytest.mark.parametrize("spans", [SPANS, LONG], ids=["ii-V-I", "long"])
def test_comp_in_four_four(spans):
    piano, bass = accompaniment(spans, "comp", (4, 4))
    # piano: stabs on beats 2 and 4 (the "and of 2" anticipates a chord arriving on beat 3; a chord left
    # without a stab by that is struck where it starts)
    for start, dur, pitch, _ in piano.notes:
        offset = start % 4
        assert offset in (1.0, 3.0, 1.5) or start in {s.start for s in spans}, start
        sounding = span_of(spans, start + 0.5 if offset == 1.5 else start)
        assert int(pitch) % 12 in sounding.tones()
        assert dur <= 1.0 and 52 <= pitch <= 72
    assert {s % 4 for s in piano.notes[:, 0]} >= {1.0, 3.0}
    # bass: one quarter note on every beat, the root first in every chord, within the bass range
    starts = bass.notes[:, 0].tolist()
    assert starts == [float(b) for b in range(int(spans[-1].end))]
    assert all(0.5 <= d <= 1.0 for d in bass.notes[:, 1])
    assert bass.notes[:, 2].min() >= 28 and bass.notes[:, 2].max() <= 55
    by_start = {s: int(p) for s, p in zip(starts, bass.notes[:, 2])}
    for s in spans:
        assert by_start[s.start] % 12 == s.chord.root, s
    # the beat before each chord change approaches the next root by a step (half or whole)
    for _prev, nxt in zip(spans, spans[1:]):
        assert 1 <= abs(by_start[nxt.start] - by_start[nxt.start - 1]) <= 2
    # the beats in between are chord tones
    for t, p in by_start.items():
        chord = span_of(spans, t)
        if t + 1 < spans[-1].end and span_of(spans, t + 1) == chord:
            assert p % 12 in chord.tones(), (t, p)


def test_comp_anticipates_on_the_and_of_two():
    # bar 1 (an odd bar) changes chord on beat 3: its beat-2 stab moves to the "and of 2", with the new chord
    spans = [ChordSpan(0, 4, Chord(0, "maj7")), ChordSpan(4, 6, Chord(9, "m7")), ChordSpan(6, 8, Chord(2, "m7"))]
    piano, _ = accompaniment(spans, "comp")
    at = piano.notes[piano.notes[:, 0] == 5.5]
    assert len(at) and {int(p) % 12 for p in at[:, 2]} == set(Chord(2, "m7").tones())
    assert not (piano.notes[:, 0] == 5.0).any()


@pytest.mark.parametrize("ts,piano_offsets,bass_offsets",
                         [((3, 4), {0.0}, {0.0, 2.0}), ((6, 8), {0.0, 1.5}, {0.0, 1.5})])
def test_other_meters(ts, piano_offsets, bass_offsets):
    bar = ts[0] * 4 / ts[1]
    spans = [ChordSpan(0, 2 * bar, Chord(2, "m7")), ChordSpan(2 * bar, 4 * bar, Chord(7, "7"))]
    piano, bass = accompaniment(spans, "comp", ts)
    assert {round(s % bar, 6) for s in piano.notes[:, 0]} == piano_offsets
    assert {round(s % bar, 6) for s in bass.notes[:, 0]} == bass_offsets
    for start, _, pitch, _ in bass.notes:  # root on the bar line, the fifth in the middle
        chord = span_of(spans, start)
        expected = chord.root if start % bar == 0 else (chord.root + 7) % 12
        assert int(pitch) % 12 == expected and 28 <= pitch <= 55


def test_accompaniment_is_deterministic_and_rests_on_no_chord():
    spans = [ChordSpan(0, 4, Chord(0, "maj")), ChordSpan(4, 8, None), ChordSpan(8, 12, Chord(7, "7"))]
    a, b = accompaniment(spans, "comp"), accompaniment(spans, "comp")
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.notes, y.notes)
    for track in a:
        assert not ((track.notes[:, 0] >= 4) & (track.notes[:, 0] < 8)).any()


# -- swing ---------------------------------------------------------------------------------------------
def test_swing_moves_off_beat_eighths_only():
    notes = np.array(
        [[0.0, 0.5, 60, 80], [0.5, 0.5, 62, 80], [1.0, 1.0, 64, 80], [2.25, 0.25, 65, 80], [3.5, 0.05, 67, 80]]
    )
    out = swing(notes, 2 / 3)
    assert out is not notes and notes[1, 0] == 0.5  # a new array, the input untouched
    np.testing.assert_allclose(out[:, 0], [0.0, 2 / 3, 1.0, 2.25, 3 + 2 / 3])
    # ends on an off-beat move with it (the sixteenth 2.25..2.5 now reaches the swung off-beat)
    np.testing.assert_allclose(out[:, 0] + out[:, 1], [2 / 3, 1.0, 2.0, 2 + 2 / 3, 3 + 2 / 3 + 0.05])
    np.testing.assert_array_equal(swing(notes, 0.5), notes)
    # swing by half notes: the off-beat is the second quarter
    np.testing.assert_allclose(swing(np.array([[1.0, 1.0, 60, 80]]), 0.75, beat=2.0)[:, 0], [1.5])


@pytest.mark.parametrize("ratio", [0.9, 0.4])
def test_swing_ratio_out_of_range(ratio):
    with pytest.raises(UserError, match="0.5") as e:
        swing(np.zeros((1, 4)), ratio)
    assert "\n" not in str(e.value)


# -- notation ------------------------------------------------------------------------------------------
def test_chord_symbols_from_root_and_quality():
    half_dim = chord_symbol(Chord(6, "m7b5"))  # music21 reads the text "F#m7b5" as a minor seventh
    assert half_dim.chordKind == "half-diminished-seventh"
    assert sorted(p.pitchClass for p in half_dim.pitches) == sorted(Chord(6, "m7b5").tones())
    b_flat = chord_symbol(Chord(10, "7"))
    assert b_flat.root().name == "B-"
    slash = chord_symbol(Chord(0, "maj", bass=4))
    assert slash.bass().name == "E"
    assert chord_symbol(None).figure == "N.C."


def test_lead_score_carries_chords():
    from music21 import harmony

    tracks = accompaniment(SPANS, "comp")
    score = lead_score(melody(), SPANS, tracks, title="ii V I")
    assert len(score.parts) == 3
    symbols = list(score.parts[0].recurse().getElementsByClass(harmony.ChordSymbol))
    assert [cs.root().name for cs in symbols] == ["D", "G", "C"]
    assert [float(cs.getOffsetInHierarchy(score.parts[0])) for cs in symbols] == [0.0, 2.0, 4.0]
    assert score.parts[2].recurse().getElementsByClass("Clef").first().sign == "F"  # the bass in bass clef
    assert all(cs.quarterLength == 0 and not cs.writeAsChord for cs in symbols)


# -- the files -----------------------------------------------------------------------------------------
def _harm_texts(svg: str) -> list[str]:
    """The chord symbols verovio engraved: the text of each <g class="harm"> group (accidentals are SMuFL
    glyphs in the Leipzig font: U+EA64 flat, U+EA66 sharp)."""
    glyphs = {"\uea64": "b", "\uea66": "#"}
    out = []
    for group in re.findall(r'class="harm">(.*?)</text>', svg, re.S):
        text = "".join(re.findall(r">([^<]*)<", group))
        out.append("".join(glyphs.get(c, c) for c in text if not c.isspace()))
    return out


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("lead") / "nested" / "tune"  # the folder does not exist yet
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no FluidSynth: the built-in synthesizer, with a warning
        result = write_lead_sheet(melody(6), LONG, out, swing_ratio=2 / 3, title="Lead", melody_program=73)
    return out, result


def test_write_lead_sheet_returns_every_format(written):
    out, result = written
    assert set(result) == {"mid", "wav", "musicxml", "svg"}
    assert not [v for v in result.values() if v.startswith("error")], result
    for fmt in ("mid", "wav", "musicxml", "svg"):
        assert result[fmt] == str(out.with_name(f"tune.{fmt}")) and out.with_name(f"tune.{fmt}").stat().st_size > 0


def test_written_midi_tracks_programs_and_swing(written):
    out, _ = written
    score = symusic.Score(str(out.with_name("tune.mid")))
    tracks = [t for t in score.tracks if len(t.notes)]
    assert [t.program for t in tracks] == [73, 0, 32]  # melody (melody_program), piano comp, bass
    assert len(tracks[0].notes) == len(melody(6).notes)  # the chord symbols are not sounded in the melody
    assert round(score.tempos[0].qpm) == 132
    q = score.to("quarter")
    melody_onsets = sorted(n.time for n in q.tracks[0].notes)
    assert any(abs(t % 1 - 2 / 3) < 0.01 for t in melody_onsets)  # swung eighths...
    assert not any(abs(t % 1 - 0.5) < 0.01 for t in melody_onsets)  # ...and no straight ones left


def test_written_musicxml_has_straight_melody_and_chord_symbols(written):
    out, _ = written
    xml = out.with_name("tune.musicxml").read_text()
    assert xml.count("<harmony") == len(LONG)
    assert re.findall(r"<root-step>(\w)</root-step>", xml) == ["D", "G", "C", "B", "F", "B", "E"]
    assert "<root-alter>-1</root-alter>" in xml and "<root-alter>1</root-alter>" in xml
    assert 'text="m7b5"' in xml and "half-diminished" in xml
    melody_xml = xml.split("</part>")[0]
    assert "<type>eighth</type>" in melody_xml and "<time-modification>" not in melody_xml  # straight eighths


def test_the_melody_staff_is_named_for_its_instrument(written):
    out, _ = written
    xml = out.with_name("tune.musicxml").read_text()
    melody_xml = xml.split("</score-part>")[0]
    assert "<part-name>Flute</part-name>" in melody_xml and "Pno" not in melody_xml  # program 73, not "Pno"


def test_written_svg_prints_the_chord_symbols(written):
    out, _ = written
    svg = out.with_name("tune.svg").read_text()
    assert _harm_texts(svg) == ["Dm7", "G7", "Cmaj7", "Bb7", "F#m7b5", "B7", "Em"]


def test_written_wav_is_not_silent(written):
    out, _ = written
    samples, rate = read_wav(out.with_name("tune.wav"))
    assert rate == 44100 and samples.shape[0] > rate * 10  # 24 quarters at 132 bpm: about 11 s
    assert np.abs(samples).max() > 0.5 and np.sqrt(np.mean(samples**2)) > 0.01


@needs_fluidsynth
def test_fluidsynth_plays_the_lead_sheet(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # FluidSynth is here: no fallback warning allowed
        result = write_lead_sheet(melody(2), SPANS, tmp_path / "fs", formats=("wav",))
    assert list(result) == ["wav"] and not result["wav"].startswith("error")
    samples, rate = read_wav(tmp_path / "fs.wav")
    assert samples.shape[1] == 2 and np.sqrt(np.mean(samples**2)) > 0.01
    assert not (tmp_path / "fs.mid").exists()  # only what was asked for is kept


def test_one_failed_format_does_not_stop_the_others(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNMUSIC_SOUNDFONT", str(tmp_path / "missing.sf2"))  # a named SoundFont that is not there
    result = write_lead_sheet(melody(2), SPANS, tmp_path / "t", formats=("mid", "wav", "musicxml"))
    assert result["wav"].startswith("error:") and "missing.sf2" in result["wav"] and "\n" not in result["wav"]
    assert result["mid"] == str(tmp_path / "t.mid") and result["musicxml"] == str(tmp_path / "t.musicxml")


def test_bad_requests_raise_before_writing(tmp_path):
    with pytest.raises(UserError, match="swing ratio"):
        write_lead_sheet(melody(), SPANS, tmp_path / "x", swing_ratio=0.9)
    with pytest.raises(UserError, match="accompaniment"):
        write_lead_sheet(melody(), SPANS, tmp_path / "x", style="polka")
    with pytest.raises(UserError, match="formats"):
        write_lead_sheet(melody(), SPANS, tmp_path / "x", formats=("pdf",))
    assert not list(tmp_path.iterdir())
