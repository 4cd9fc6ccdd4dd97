"""`rnnmusic render` and the sheet-music path: real abc2midi, FluidSynth, music21 and verovio (in its child process)."""
import struct

import pytest

from rnnmusic.errors import UserError
from rnnmusic.evaluate.abc_check import check_tune
from rnnmusic.piece import Piece
from rnnmusic.render.audio import TAIL_S, read_wav
from rnnmusic.render.sheet import count_measures, musicxml_to_svg, piece_to_musicxml

TUNES = """X:1
T:Scale
M:4/4
L:1/4
Q:1/4=120
K:G
GABc|defg|gfed|cBAG|]

X:2
T:Jig
M:6/8
L:1/8
K:D
DFA dAF|GBd gdB|AFD EFG|A3 D3|]
"""


def _png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_render_abc_tunebook_and_midi(cli, tmp_path):
    (tmp_path / "tunes.abc").write_text(TUNES)
    Piece([(i, 1.0, p, 80) for i, p in enumerate([60, 62, 64, 65, 67, 69, 71, 72])], key="F major",
          tempo=90).write_midi(tmp_path / "scale.mid")
    out = tmp_path / "out"
    r = cli("render", str(tmp_path / "tunes.abc"), str(tmp_path / "scale.mid"), "--to", "mid,wav,png,musicxml,svg,abc",
            "--out", str(out), timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "3/3 rendered completely" in r.stdout
    # one item per tune; the sheet music has as many measures as the tune
    for name, measures in (("tunes-1", 4), ("tunes-2", 4), ("scale", 2)):
        svg = (out / f"{name}.svg").read_text()
        assert svg.lstrip().startswith(("<?xml", "<svg")) and count_measures(svg) == measures, name
        assert f"{name}: " in r.stdout and f"({measures} measures engraved)" in r.stdout
        w, h = _png_size(out / f"{name}.png")
        assert w > 300 and h > 200
        assert "<score-partwise" in (out / f"{name}.musicxml").read_text()
    # ABC: a tune is written as it was; MIDI is transcribed (midi2abc), and that ABC plays again
    assert (out / "tunes-2.abc").read_text().startswith("X:2\nT:Jig")
    check = check_tune((out / "scale.abc").read_text())
    assert check.abc2midi_ok and check.notes == 8 and "T:scale" in (out / "scale.abc").read_text()
    # audio lasts the piece (16 quarters at 120 = 8 s; 8 quarters at 90 = 5.33 s) plus the release tail
    for name, seconds in (("tunes-1", 8.0), ("scale", 8 * 60 / 90)):
        samples, rate = read_wav(out / f"{name}.wav")
        assert rate == 44100
        assert abs(len(samples) / rate - (seconds + TAIL_S)) < 1.0
        assert abs(samples).max() > 0.1  # not silent


def test_render_without_fluidsynth_uses_the_builtin_synth(cli, tmp_path):
    (tmp_path / "tunes.abc").write_text(TUNES)
    r = cli("render", str(tmp_path / "tunes.abc"), "--to", "wav", "--out", str(tmp_path / "o"), "--sample-rate", "22050",
            env={"RNNMUSIC_NO_FLUIDSYNTH": "1"}, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "fluidsynth" in r.stderr.lower()  # the warning says which synthesizer was used instead
    samples, rate = read_wav(tmp_path / "o" / "tunes-1.wav")
    assert rate == 22050  # as asked
    assert abs(samples).max() > 0.1 and abs(len(samples) / rate - (8.0 + TAIL_S)) < 1.0
    r = cli("render", str(tmp_path / "tunes.abc"), "--to", "wav", "--out", str(tmp_path / "o"), "--sample-rate", "5")
    assert r.returncode == 2 and "--sample-rate must be" in r.stderr and "Traceback" not in r.stderr


def test_sheet_failures_never_take_the_caller_down(tmp_path):
    bad = tmp_path / "bad.musicxml"
    bad.write_text("<not-music/>")
    with pytest.raises(UserError, match="bad.musicxml: verovio"):
        musicxml_to_svg(bad, tmp_path / "bad.svg")
    good = piece_to_musicxml(Piece([(0, 4.0, 60, 80)]), tmp_path / "one.musicxml")
    with pytest.raises(UserError, match="took more than"):
        musicxml_to_svg(good, tmp_path / "one.svg", timeout=0.001)
    pages, measures = musicxml_to_svg(good, tmp_path / "one.svg")
    assert measures == 1 and pages == [tmp_path / "one.svg"]


def test_render_errors_are_one_line(cli, tmp_path):
    r = cli("render", str(tmp_path / "missing.abc"))
    assert r.returncode == 2 and "missing.abc: no such file" in r.stderr and "Traceback" not in r.stderr
    (tmp_path / "x.mid").write_bytes(b"MThd garbage")
    r = cli("render", str(tmp_path / "x.mid"), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "x.mid: not a readable MIDI file" in r.stderr and "Traceback" not in r.stderr
    r = cli("render", str(tmp_path / "x.mid"), "--to", "mp3")
    assert r.returncode == 2 and "--to takes" in r.stderr
