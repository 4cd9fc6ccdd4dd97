"""`rnnmusic render` and the sheet-music path: real abc2midi, FluidSynth, music21, verovio (in its child process),
cairosvg and soundfile."""
import re
import struct

import matplotlib.image
import music21
import numpy as np
import pytest
import soundfile
import symusic

from rnnmusic.errors import UserError
from rnnmusic.evaluation.abc_check import check_tune
from rnnmusic.piece import Piece
from rnnmusic.render.audio import TAIL_S, read_wav
from rnnmusic.render.pages import PNG_WIDTH, svg_to_pdf, svg_to_png
from rnnmusic.render.programs import parse_programs, track_programs
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


@pytest.mark.slow
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


@pytest.mark.slow
def test_render_without_fluidsynth_uses_the_builtin_synth(cli, tmp_path):
    (tmp_path / "tunes.abc").write_text(TUNES)
    r = cli(
        "render",
        str(tmp_path / "tunes.abc"),
        "--to",
        "wav",
        "--out",
        str(tmp_path / "o"),
        "--sample-rate",
        "22050",
        env={"RNNMUSIC_NO_FLUIDSYNTH": "1"},
        timeout=300,
    )
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


@pytest.mark.slow
def test_render_errors_are_one_line(cli, tmp_path):
    r = cli("render", str(tmp_path / "missing.abc"))
    assert r.returncode == 2 and "missing.abc: no such file" in r.stderr and "Traceback" not in r.stderr
    (tmp_path / "x.mid").write_bytes(b"MThd garbage")
    r = cli("render", str(tmp_path / "x.mid"), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "x.mid: not a readable MIDI file" in r.stderr and "Traceback" not in r.stderr
    r = cli("render", str(tmp_path / "x.mid"), "--to", "mp3")
    assert r.returncode == 2 and "--to takes" in r.stderr


# ------------------------------------------------------------------- FLAC, sheet PNG/PDF, piano roll, programs
def _pdf_pages(path):
    data = path.read_bytes()
    assert data.startswith(b"%PDF")
    return len(re.findall(rb"/Type\s*/Page\b", data))


@pytest.mark.slow
def test_render_flac_sheet_png_pdf_and_roll(cli, tmp_path):
    (tmp_path / "scale.abc").write_text(TUNES.split("\n\n")[0] + "\n")  # 16 quarters at 120: 8 s
    Piece([(i, 1.0, p, 80) for i, p in enumerate([60, 62, 64, 65, 67, 69, 71, 72])], tempo=90, program=0).write_midi(
        tmp_path / "up.mid"
    )  # 8 quarters at 90: 5.33 s
    out = tmp_path / "out"
    r = cli(
        "render",
        str(tmp_path / "scale.abc"),
        str(tmp_path / "up.mid"),
        "--to",
        "flac,wav,png,pdf,pianoroll",
        "--out",
        str(out),
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert "2/2 rendered completely" in r.stdout
    assert sorted(p.name for p in out.iterdir()) == [
        f"{n}.{e}" for n in ("scale", "up") for e in ("flac", "pdf", "png", "roll.png", "wav")
    ]
    for name, seconds in (("scale", 8.0), ("up", 8 * 60 / 90)):
        flac, rate = soundfile.read(out / f"{name}.flac", dtype="float32", always_2d=True)
        info = soundfile.info(out / f"{name}.flac")
        assert info.format == "FLAC" and info.samplerate == rate == 44100
        assert abs(len(flac) / rate - (seconds + TAIL_S)) < 1.0
        assert np.sqrt(np.mean(flac**2)) > 0.01 and 0.8 < np.abs(flac).max() <= 1.0  # -1 dBFS, never clipped
        wav, _ = read_wav(out / f"{name}.wav")
        assert np.array_equal(wav, flac)  # the same rendering in both containers
        # sheet music: a page 2100 px wide, mostly white paper with some black ink
        w, h = _png_size(out / f"{name}.png")
        assert w == PNG_WIDTH and 150 < h < 3000
        grey = matplotlib.image.imread(out / f"{name}.png")[..., :3].mean(axis=2)
        assert 0.002 < (grey < 0.5).mean() < 0.2 and (grey > 0.9).mean() > 0.7
        assert _pdf_pages(out / f"{name}.pdf") == 1
        assert _png_size(out / f"{name}.roll.png")[0] > 300  # the piano roll


def test_sheet_pages_png_and_pdf(tmp_path):
    pages = []
    for n, width in enumerate((840, 420), 1):
        pages.append(tmp_path / ("p.svg" if n == 1 else f"p-{n}.svg"))
        pages[-1].write_text(
            f'<svg width="{width}px" height="200px" xmlns="http://www.w3.org/2000/svg">'
            f'<rect x="10" y="10" width="100" height="50" fill="black"/></svg>'
        )
    pngs = svg_to_png(pages, tmp_path / "out" / "p.png")
    assert [p.name for p in pngs] == ["p.png", "p-2.png"]
    assert [_png_size(p) for p in pngs] == [(PNG_WIDTH, 500), (PNG_WIDTH, 1000)]  # scaled to the width
    grey = matplotlib.image.imread(pngs[0])[..., :3].mean(axis=2)
    assert grey[0, 0] == 1.0 and grey[50, 50] == 0.0  # white paper, black ink
    assert _pdf_pages(svg_to_pdf(pages, tmp_path / "out" / "p.pdf")) == 2
    with pytest.raises(UserError, match="no SVG page"):
        svg_to_pdf([], tmp_path / "none.pdf")


def _two_tracks(path):
    score = symusic.Score(480)
    score.tempos.append(symusic.Tempo(0, 120.0))
    for number, program in enumerate((0, 40)):
        track = symusic.Track(f"t{number}", program=program)
        for k in range(4):
            track.notes.append(symusic.Note(k * 480, 480, 60 + 7 * number + k, 80))
        score.tracks.append(track)
    score.dump_midi(str(path))
    return path


@pytest.mark.slow
def test_render_keeps_tracks_and_sets_programs(cli, tmp_path):
    _two_tracks(tmp_path / "two.mid")
    violin, bare = music21.stream.Part([music21.instrument.Violin()]), music21.stream.Part()
    for part, pitch in ((violin, "E5"), (bare, "C4")):
        part.append([music21.note.Note(pitch, quarterLength=1.0) for _ in range(4)])
    music21.stream.Score([violin, bare]).write("musicxml", fp=str(tmp_path / "duet.musicxml"))
    (tmp_path / "scale.abc").write_text(TUNES.split("\n\n")[0] + "\n")
    files = [str(tmp_path / n) for n in ("two.mid", "duet.musicxml", "scale.abc")]
    out = tmp_path / "out"
    r = cli("render", *files, "--to", "mid", "--out", str(out))
    assert r.returncode == 0, r.stderr[-2000:]
    # the file's own programs, a part's instrument (piano where it names none), fiddle for ABC
    assert [track_programs(out / f"{n}.mid") for n in ("two", "duet", "scale")] == [[0, 40], [40, 0], [40]]
    r = cli("render", str(tmp_path / "two.mid"), "--to", "mid", "--program", "2=73", "--out", str(out))
    assert r.returncode == 0 and track_programs(out / "two.mid") == [0, 73]  # only track 2
    r = cli("render", *files, "--to", "mid", "--program", "41", "--out", str(out))
    assert [track_programs(out / f"{n}.mid") for n in ("two", "duet", "scale")] == [[41, 41], [41, 41], [41]]
    r = cli("render", str(tmp_path / "scale.abc"), "--to", "mid,wav", "--program", "2=73", "--out", str(tmp_path / "o"))
    assert r.returncode == 1 and "scale.abc: has 1 track(s) with notes; no track 2" in r.stderr
    assert not (tmp_path / "o" / "scale.mid").exists() and "wav: not written" in r.stderr
    for bad in ("1=200", "violin"):
        r = cli("render", str(tmp_path / "two.mid"), "--to", "mid", "--program", bad, "--out", str(out))
        assert r.returncode == 2 and "Traceback" not in r.stderr, bad
        assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("rnnmusic: error: "), r.stderr


def test_program_specs():
    assert parse_programs(None) is None and parse_programs("") is None
    assert parse_programs(40) == parse_programs(" 40 ") == 40
    assert parse_programs("1=73, 2=40") == parse_programs({1: 73, "2": "40"}) == {1: 73, 2: 40}
    for bad in (128, -1, 3.5, True, "x", "1=", "=4", "1=128", "0=1", "1:73"):
        with pytest.raises(UserError, match="0..127|track numbers start at 1"):
            parse_programs(bad)
