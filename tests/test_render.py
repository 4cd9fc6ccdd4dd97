"""abc_to_midi / midi_to_wav (WAV and FLAC) / synth_notes with real abc2midi, real FluidSynth, real music21 and
symusic."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile
import symusic

from conftest import needs_abc2midi, oneills
from rnnmusic.errors import UserError
from rnnmusic.evaluation import check_tune
from rnnmusic.piece import Piece
from rnnmusic.render import MissingToolWarning, abc_to_midi, find_soundfont, midi_to_wav, read_wav, synth_notes
from rnnmusic.render.audio import TAIL_S, midi_to_audio, render_audio, write_audio

needs_fluidsynth = pytest.mark.skipif(
    shutil.which("fluidsynth") is None or find_soundfont() is None, reason="fluidsynth or a GM SoundFont not installed"
)


GORDONS_TUNE = oneills(40)  # no repeats, ties, chords or grace notes: MIDI notes == written notes
# 16 notes in a repeated section, then three: played, that is 16 * 2 + 3 notes.
REPEATED = "X:1\nT:Repeat\nM:4/4\nL:1/8\nK:C\n|:CDEF GABc|cBAG FEDC:|\nc4 e4|c8|]\n"


def midi_notes(path: Path) -> int:
    return sum(len(t.notes) for t in symusic.Score(str(path)).tracks)


def midi_end_seconds(path: Path) -> float:
    return float(symusic.Score(str(path)).to("second").end())


@pytest.fixture(scope="module")
def gordon_mid(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("midi") / "gordon.mid"
    return abc_to_midi(GORDONS_TUNE, out)


# ------------------------------------------------------------------------------------------- ABC -> MIDI
@needs_abc2midi
def test_abc2midi_notes_match_music21(tmp_path):
    out = tmp_path / "sub" / "gordon.mid"
    with warnings.catch_warnings():
        warnings.simplefilter("error", MissingToolWarning)  # abc2midi must do it: no fallback
        assert abc_to_midi(GORDONS_TUNE, out) == out
    score = symusic.Score(str(out))
    assert midi_notes(out) == check_tune(GORDONS_TUNE).notes == 90
    assert [t.program for t in score.tracks if len(t.notes)] == [40]  # default: violin
    assert sorted(p.name for p in out.parent.iterdir()) == ["gordon.mid"]  # no temp file left behind


@needs_abc2midi
def test_abc2midi_expands_repeats(tmp_path):
    assert check_tune(REPEATED).notes == 19
    out = abc_to_midi(REPEATED, tmp_path / "rep.mid")
    assert midi_notes(out) == 35
    pitches = [n.pitch for t in symusic.Score(str(out)).tracks for n in t.notes]
    assert pitches[:16] == pitches[16:32]
    # O'Neill's 38 ends with a bare :| -- the whole tune is played twice
    written = check_tune(oneills(38)).notes
    assert midi_notes(abc_to_midi(oneills(38), tmp_path / "38.mid")) == 2 * written


@needs_abc2midi
def test_program_argument(tmp_path):
    out = abc_to_midi(GORDONS_TUNE, tmp_path / "flute.mid", program=73)
    assert [t.program for t in symusic.Score(str(out)).tracks if len(t.notes)] == [73]
    for bad in (-1, 128, 3.5, True):
        with pytest.raises(UserError, match="0..127"):
            abc_to_midi(GORDONS_TUNE, tmp_path / "bad.mid", program=bad)
    assert not (tmp_path / "bad.mid").exists()


def test_music21_fallback_when_abc2midi_hidden(monkeypatch, tmp_path):
    monkeypatch.setenv("RNNMUSIC_NO_ABC2MIDI", "1")
    with pytest.warns(MissingToolWarning, match="abc2midi not found") as record:
        out = abc_to_midi(REPEATED, tmp_path / "m21.mid", program=41)
    assert len([w for w in record if issubclass(w.category, MissingToolWarning)]) == 1
    score = symusic.Score(str(out))
    assert midi_notes(out) == 35  # music21 expands the repeat too
    assert {t.program for t in score.tracks if len(t.notes)} == {41}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m21.mid"]


@needs_abc2midi
def test_music21_fallback_when_abc2midi_fails_on_the_tune(tmp_path):
    # O'Neill's 1 ties notes of different pitch ("G3-A"), an abc2midi Error; music21 reads it.
    with pytest.warns(MissingToolWarning, match="abc2midi failed on this tune .*tied"):
        out = abc_to_midi(oneills(1), tmp_path / "one.mid")
    assert midi_notes(out) > 100


def test_both_converters_fail_raise_user_error(tmp_path):
    out = tmp_path / "garbage.mid"
    with pytest.raises(UserError, match=r"garbage\.mid: cannot convert ABC to MIDI: .*music21"):
        abc_to_midi("X:1\nT:G\nM:6/8\nL:1/8\nK:D\n}}}} ### @@@ (((( ]]]] zz&&& $$$\n", out)
    assert list(tmp_path.iterdir()) == []  # nothing half-written
    with pytest.raises(UserError, match="empty"):
        abc_to_midi("  \n", out)


# ------------------------------------------------------------------------------------------- MIDI -> WAV
def _assert_good_audio(wav: Path, midi: Path, rate: int, channels: int) -> np.ndarray:
    x, sr = read_wav(wav)
    assert sr == rate
    assert x.shape[1] == channels
    duration = x.shape[0] / sr
    assert abs(duration - midi_end_seconds(midi)) <= 1.0
    assert float(np.sqrt(np.mean(x**2))) > 0.02  # clearly audible
    peak = float(np.max(np.abs(x)))
    assert 0.85 < peak <= 1.0  # normalized to -1 dBFS (0.891)
    # no clipping runs: never 3 samples in a row at full scale
    full = (np.abs(x) >= 0.999).any(axis=1).astype(np.int8)
    assert not np.any(np.convolve(full, np.ones(3, dtype=np.int8), mode="valid") >= 3)
    return x


@needs_abc2midi
@needs_fluidsynth
def test_fluidsynth_render(gordon_mid, tmp_path):
    wav = tmp_path / "out" / "gordon.wav"
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        assert midi_to_wav(gordon_mid, wav, sample_rate=22050) == wav
    assert not [w for w in record if issubclass(w.category, MissingToolWarning)]
    x = _assert_good_audio(wav, gordon_mid, 22050, channels=2)  # FluidSynth renders stereo
    # the music is in the first seconds, not just reverb: each half of the piece carries sound
    half = x.shape[0] // 2
    assert np.sqrt(np.mean(x[:half] ** 2)) > 0.02 and np.sqrt(np.mean(x[half:] ** 2)) > 0.02
    assert sorted(p.name for p in wav.parent.iterdir()) == ["gordon.wav"]


@needs_fluidsynth
def test_fluidsynth_renders_music21_midi(tmp_path, monkeypatch):
    # Regression: FluidSynth's fast render never stopped on the MIDI music21 writes for O'Neill's 4
    # (gigabytes of audio); such files are now rewritten through symusic first.
    monkeypatch.setenv("RNNMUSIC_NO_ABC2MIDI", "1")
    with pytest.warns(MissingToolWarning, match="abc2midi"):
        mid = abc_to_midi(oneills(4), tmp_path / "four.mid")
    monkeypatch.delenv("RNNMUSIC_NO_ABC2MIDI")
    with warnings.catch_warnings():
        warnings.simplefilter("error", MissingToolWarning)
        wav = midi_to_wav(mid, tmp_path / "four.wav", sample_rate=22050)
    _assert_good_audio(wav, mid, 22050, channels=2)


@needs_abc2midi
def test_builtin_synth_when_fluidsynth_hidden(gordon_mid, tmp_path, monkeypatch):
    monkeypatch.setenv("RNNMUSIC_NO_FLUIDSYNTH", "1")
    wav = tmp_path / "synth.wav"
    with pytest.warns(MissingToolWarning, match="fluidsynth not found: using the built-in synthesizer") as record:
        midi_to_wav(gordon_mid, wav, sample_rate=16000)
    assert len([w for w in record if issubclass(w.category, MissingToolWarning)]) == 1
    _assert_good_audio(wav, gordon_mid, 16000, channels=1)


def test_render_without_any_tool(tmp_path, monkeypatch):
    """The fully degraded path: music21 MIDI, numpy audio."""
    monkeypatch.setenv("RNNMUSIC_NO_ABC2MIDI", "1")
    monkeypatch.setenv("RNNMUSIC_NO_FLUIDSYNTH", "1")
    with pytest.warns(MissingToolWarning):
        mid = abc_to_midi(REPEATED, tmp_path / "r.mid")
        wav = midi_to_wav(mid, tmp_path / "r.wav", sample_rate=8000, normalize=False)
    x, sr = read_wav(wav)
    assert sr == 8000 and abs(x.shape[0] / sr - midi_end_seconds(mid)) <= 1.0
    assert 0.01 < float(np.max(np.abs(x))) <= 1.0


@pytest.mark.parametrize("hide_fluidsynth", ["", "1"])
def test_flac_and_wav_hold_the_same_unclipped_samples(tmp_path, monkeypatch, hide_fluidsynth):
    monkeypatch.setenv("RNNMUSIC_NO_FLUIDSYNTH", hide_fluidsynth)
    mid = Piece([(0, 1.0, p, 127) for p in range(40, 84)] + [(1, 0.5, 60, 20)]).write_midi(tmp_path / "loud.mid")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingToolWarning)
        for normalize in (True, False):  # 44 loud notes at once: scaled below full scale, never clipped
            samples, rate = render_audio(mid, sample_rate=22050, normalize=normalize)
            flac, _ = soundfile.read(write_audio(tmp_path / "x.flac", samples, rate), dtype="float32", always_2d=True)
            wav, _ = read_wav(write_audio(tmp_path / "x.wav", samples, rate))
            assert np.array_equal(flac, wav) and 0.05 < float(np.abs(flac).max()) <= 1.0
            assert abs(len(flac) / rate - (0.75 + TAIL_S)) < 0.01  # the piece (1.5 quarters at 120) and the tail
        flac, rate = soundfile.read(midi_to_audio(mid, tmp_path / "y.flac", sample_rate=16000))
    assert rate == 16000 and 0.85 < float(np.abs(flac).max()) <= 1.0  # -1 dBFS
    with pytest.raises(UserError, match=r"x\.mp3: audio is written as \.wav or \.flac"):
        write_audio(tmp_path / "x.mp3", samples, rate)


def test_midi_to_wav_user_errors(tmp_path):
    with pytest.raises(UserError, match="not found"):
        midi_to_wav(tmp_path / "missing.mid", tmp_path / "x.wav")
    junk = tmp_path / "junk.mid"
    junk.write_bytes(b"not a midi file at all")
    with pytest.raises(UserError, match="cannot read MIDI"):
        midi_to_wav(junk, tmp_path / "x.wav")
    with pytest.raises(UserError, match="sample rate"):
        midi_to_wav(junk, tmp_path / "x.wav", sample_rate=100)
    assert not (tmp_path / "x.wav").exists()


# ------------------------------------------------------------------------------------------ the synth
def test_synth_pitch_length_and_velocity():
    sr = 8000
    loud = synth_notes([(0.0, 1.0, 69, 100)], sr)
    assert loud.dtype == np.float32 and loud.ndim == 1
    assert 1.0 <= loud.size / sr <= 1.3  # the note plus a short release
    spectrum = np.abs(np.fft.rfft(loud[:sr]))
    assert abs(np.argmax(spectrum) * sr / sr - 440) <= 2  # 1 s window: bin = Hz
    quiet = synth_notes([(0.0, 1.0, 69, 50)], sr)
    assert np.max(np.abs(loud)) == pytest.approx(2 * np.max(np.abs(quiet)), rel=0.01)
    late = synth_notes([(2.0, 2.5, 60, 90)], sr)
    assert np.max(np.abs(late[: int(1.9 * sr)])) == 0 and np.max(np.abs(late[2 * sr :])) > 0.05
    assert synth_notes([], sr).size == 0


def test_synth_never_clips():
    chord = [(0.0, 2.0, p, 127) for p in range(40, 90)]  # 50 loud notes at once
    y = synth_notes(chord, 22050)
    assert float(np.max(np.abs(y))) <= 1.0
    assert np.isfinite(y).all()


# ------------------------------------------------------------------------------------------ soundfonts
def test_find_soundfont_order(tmp_path, monkeypatch):
    explicit = tmp_path / "mine.sf2"
    explicit.write_bytes(b"RIFF")
    from_env = tmp_path / "env.sf2"
    from_env.write_bytes(b"RIFF")
    monkeypatch.setenv("RNNMUSIC_SOUNDFONT", str(from_env))
    assert find_soundfont(explicit) == explicit
    assert find_soundfont() == from_env
    with pytest.raises(UserError, match="SoundFont not found"):
        find_soundfont(tmp_path / "nope.sf2")
    monkeypatch.setenv("RNNMUSIC_SOUNDFONT", str(tmp_path / "gone.sf2"))
    with pytest.raises(UserError, match="RNNMUSIC_SOUNDFONT"):
        find_soundfont()
    monkeypatch.delenv("RNNMUSIC_SOUNDFONT")
    if Path("/usr/share/sounds/sf2/FluidR3_GM.sf2").is_file():
        assert find_soundfont() == Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
