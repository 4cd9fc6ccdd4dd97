"""The learned voice (`rnnmusic.voice`): its synthesizer renders exactly what it is told, a tiny voice learns,
notes become sensible control curves, audio it cannot learn from is refused in one line, and the CLI plays
ABC and MIDI with a voice."""
from __future__ import annotations

import json
import math
import wave

import numpy as np
import pytest
import torch

from rnnmusic.cli import main
from rnnmusic.errors import UserError
from rnnmusic.voice.choice import VoiceChoice, parse_perform
from rnnmusic.voice.features import frame_features, read_recording
from rnnmusic.voice.network import VoiceConfig, VoiceNet, network_inputs
from rnnmusic.voice.perform import Performance, line_features, lines_of, octave_shift
from rnnmusic.voice.player import init_voice, load_voice, render_notes
from rnnmusic.voice.synth import filtered_noise, harmonic, upsample
from rnnmusic.voice.training import spectral_loss

SR = 16000
TINY = VoiceConfig(hidden=16, n_harmonics=8, n_noise_bands=17, reverb_s=0.05)


def write_wav(path, samples, rate=SR, channels=1):
    data = np.clip(np.asarray(samples, dtype=np.float64), -1, 1)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((data * 32767).astype("<i2").tobytes())
    return path


def tone(seconds=2.0, rate=SR, pitches=(220.0, 247.0, 262.0, 294.0), amp=0.5):
    """A few bowed-ish notes: 4 harmonics, attacks and releases, a short gap between notes."""
    t = np.arange(int(seconds * rate)) / rate
    out = np.zeros_like(t)
    per = seconds / len(pitches)
    for i, f in enumerate(pitches):
        on = (t >= i * per) & (t < (i + 0.85) * per)
        env = np.clip((t - i * per) / 0.03, 0, 1) * on
        out += env * sum(amp / k * np.sin(2 * np.pi * k * f * t) for k in range(1, 5))
    return out / np.abs(out).max() * 0.8


# -- the synthesizer --------------------------------------------------------------------------------------------
def test_harmonic_bank_is_exactly_a_sum_of_sines():
    amps = torch.tensor([1.0, 0.5, 0.25, 0.125])
    n = 4000
    f0 = torch.full((1, n), 440.0)
    audio, end = harmonic(f0, amps.expand(1, n, 4), SR)
    t = np.arange(n) / SR
    expected = sum(float(a) * np.sin(2 * np.pi * (k + 1) * 440.0 * t) for k, a in enumerate(amps))
    assert np.allclose(audio[0].numpy(), expected, atol=2e-4)
    assert math.isclose(float(end[0]), (n * 440.0 / SR) % 1.0, abs_tol=1e-9)


def test_harmonics_at_or_above_nyquist_are_silent():
    n = 8000
    audio, _ = harmonic(torch.full((1, n), 3000.0), torch.ones(1, n, 8), SR)  # 3, 6 kHz audible; 9 kHz+ not
    spectrum = np.abs(np.fft.rfft(audio[0].numpy() * np.hanning(n)))
    freqs = np.fft.rfftfreq(n, 1 / SR)
    assert spectrum[np.argmin(abs(freqs - 3000))] > 1000 and spectrum[np.argmin(abs(freqs - 6000))] > 1000
    # aliases of 9, 12, 15 ... kHz would land at 7, 4, 1 kHz: nothing there
    for alias in (1000, 2000, 4000, 5000, 7000):
        assert spectrum[np.argmin(abs(freqs - alias))] < 1e-3 * spectrum.max()


def test_filtered_noise_follows_its_magnitude_response():
    bands = 65
    mags = torch.zeros(1, 200, bands)
    mags[..., :16] = 1.0  # pass 0 .. 2 kHz only
    audio = filtered_noise(mags, 128, torch.Generator().manual_seed(0))[0].numpy()
    assert audio.shape == (200 * 128,)
    spectrum = np.abs(np.fft.rfft(audio)) ** 2
    freqs = np.fft.rfftfreq(len(audio), 1 / SR)
    assert spectrum[freqs < 1500].mean() > 1000 * spectrum[freqs > 4000].mean()


def test_upsample_puts_frame_i_at_sample_i_times_hop():
    frames = torch.tensor([[[0.0], [1.0], [3.0]]])
    up = upsample(frames, 4)[0, :, 0]
    assert up.shape == (12,)
    assert up[0] == 0 and up[4] == 1 and up[8] == 3 and up[2] == 0.5 and up[-1] == 3


# -- learning ---------------------------------------------------------------------------------------------------
def test_spectral_loss_falls_when_a_tiny_voice_trains_on_a_tone():
    torch.manual_seed(0)
    audio = tone(1.0).astype(np.float32)
    feats = frame_features(audio, TINY, workers=1)
    net = VoiceNet(TINY)
    inputs = network_inputs(feats.f0_hz, feats.loudness_db, feats.sounding, feats.onset)
    f0 = torch.from_numpy(feats.f0_hz)[None]
    target = torch.from_numpy(feats.audio)[None, None]
    loss_fn = spectral_loss()
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        loss = loss_fn(net(inputs, f0, torch.Generator().manual_seed(1))[:, None], target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0], losses[::8]


@pytest.mark.slow
def test_voice_train_checkpoints_resumes_and_plays(tmp_path, capsys):
    rec = write_wav(tmp_path / "take.wav", tone(3.0))
    out = tmp_path / "voice"
    small = ["--hidden", "16", "--harmonics", "8", "--noise-bands", "17", "--reverb-s", "0.05", "--batch", "2",
             "--clip-s", "0.5", "--checkpoint-every", "2", "--quiet"]
    assert main(["voice", "train", str(rec), "--out", str(out), "--steps", "4", *small]) == 0
    assert {"config.json", "best.safetensors", "metrics.csv", "loss.png", "features.safetensors",
            "data-report.json"} <= {p.name for p in out.iterdir()}
    assert json.loads((out / "config.json").read_text())["kind"] == "voice"
    assert [int(r.split(",")[0]) for r in (out / "metrics.csv").read_text().split()[1:]] == [2, 4]
    assert main(["voice", "train", str(rec), "--out", str(out), "--steps", "4", *small]) == 2
    assert "--resume to continue" in capsys.readouterr().err
    assert main(["voice", "train", "--out", str(out), "--resume", "--steps", "6", "--quiet"]) == 0
    assert "at step 6/6" in capsys.readouterr().out
    assert [int(r.split(",")[0]) for r in (out / "metrics.csv").read_text().split()[1:]] == [2, 4, 6]
    wav = tmp_path / "resynth.wav"
    assert main(["voice", "resynth", str(rec), "--voice", str(out), "--out", str(wav)]) == 0
    samples, rate = read_recording(wav, SR), SR
    assert abs(len(samples) / rate - 3.0) < 0.05 and np.isfinite(samples).all()


# -- notes into curves ------------------------------------------------------------------------------------------
def test_a_note_becomes_pitch_loudness_and_onset_curves():
    perf = Performance(level_db=-30, floor_db=-90, attack_s=0.04, release_s=0.1, vibrato_cents=0)
    fr = 125.0
    f = line_features([(0.2, 0.6, 69, 100), (1.0, 1.4, 72, 100)], perf, fr, int(1.8 * fr))
    assert np.allclose(f.f0_hz[int(0.3 * fr)], 440.0, rtol=1e-4)
    assert np.allclose(f.f0_hz[int(1.2 * fr)], 523.25, rtol=1e-3)
    assert np.allclose(f.f0_hz[int(0.8 * fr)], 440.0, rtol=1e-4)  # between notes the pitch is held
    assert f.loudness_db[int(0.1 * fr)] == -90 and abs(f.loudness_db[int(0.4 * fr)] + 30) < 0.1
    assert f.loudness_db[int(0.9 * fr)] < -80  # released
    assert f.loudness_db[int(0.21 * fr)] < f.loudness_db[int(0.3 * fr)]  # attack
    assert f.sounding[int(0.4 * fr)] == 1 and f.sounding[int(0.8 * fr)] == 0
    assert f.onset[int(0.2 * fr)] == 1 and f.onset[int(1.0 * fr)] == 1 and f.onset[int(0.1 * fr)] == 0


def test_vibrato_and_legato_are_adjustable():
    perf = Performance(vibrato_cents=50, vibrato_delay_s=0.0, vibrato_hz=5.0, glide_s=0.1)
    fr = 125.0
    f = line_features([(0.0, 1.0, 69, 100), (1.0, 2.0, 71, 100)], perf, fr, 250)
    cents = 1200 * np.log2(f.f0_hz[:120] / 440.0)
    assert 30 < cents.max() <= 50.5 and -50.5 <= cents.min() < -30
    assert f.loudness_db[int(1.0 * fr) - 1] > perf.level_db - 10  # legato: no release before the next note
    mid_glide = 1200 * np.log2(f.f0_hz[int(1.04 * fr)] / 440.0)
    assert 30 < mid_glide < 200 - 30 + 50  # on the way from A up to B


def test_chords_become_lines_and_a_bass_line_moves_into_range():
    notes = [(0, 1, 60, 90), (0, 1, 64, 90), (0, 1, 67, 90), (1, 2, 62, 90), (1, 2, 65, 90), (1, 2, 69, 90),
             (0, 2, 36, 90)]
    lines, dropped = lines_of(notes, 3)
    assert len(lines) == 3 and dropped == 2  # three lines at most: inner notes that do not fit are counted
    assert [n[2] for n in lines[0]] == [67, 69]  # the top line first
    assert [n[2] for n in lines[-1]] == [36]  # and the bass kept
    perf = Performance(low_pitch=55, high_pitch=88)
    assert octave_shift([(0, 1, 36, 90)], perf) == 24 and octave_shift([(0, 1, 72, 90)], perf) == 0


def test_perform_settings_are_checked():
    assert parse_perform("attack_s=0.02, vibrato_cents=20") == {"attack_s": 0.02, "vibrato_cents": 20.0}
    for bad, why in (("wobble=3", "unknown setting"), ("attack_s=fast", "needs a number"),
                     ("release_s=99", "0 to 10 seconds")):
        with pytest.raises(UserError, match=why):
            parse_perform(bad)
    with pytest.raises(UserError, match="need --voice"):
        VoiceChoice.parse(None, 2)
    with pytest.raises(UserError, match="from 1 to 16"):
        VoiceChoice.parse("fiddle", 40)


# -- playing ----------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_voice(tmp_path_factory):
    return init_voice(tmp_path_factory.mktemp("voices") / "tiny", TINY)


def test_render_notes_is_bounded_deterministic_and_as_long_as_the_piece(tiny_voice):
    notes = [(0.0, 0.5, 60, 100), (0.5, 1.0, 64, 100), (0.0, 1.0, 48, 80)]
    a, rate, report = render_notes(notes, tiny_voice, sample_rate=22050)
    b, _, _ = render_notes(notes, tiny_voice, sample_rate=22050)
    assert rate == 22050 and a.shape == (int(round(1.5 * 22050)), 1) or abs(a.shape[0] - 1.5 * 22050) <= 2
    assert np.array_equal(a, b) and np.isfinite(a).all() and 0.5 < np.abs(a).max() <= 1.0
    assert report["lines"] == 2 and report["notes_left_out"] == 0
    with pytest.raises(UserError, match="no notes"):
        render_notes([], tiny_voice)


def test_render_cli_plays_abc_with_a_voice(tiny_voice, tmp_path):
    abc = tmp_path / "tune.abc"
    abc.write_text("X:1\nT:Test\nM:4/4\nL:1/8\nK:G\nGABc d2e2|d2B2 G4|]\n")
    out = tmp_path / "out"
    assert main(["render", str(abc), "--to", "wav", "--voice", str(tiny_voice), "--out", str(out),
                 "--perform", "vibrato_cents=20"]) == 0
    with wave.open(str(out / "tune.wav")) as w:
        assert w.getframerate() == 44100 and 2.0 < w.getnframes() / 44100 < 5.0


def test_a_missing_or_wrong_voice_is_one_clear_error(tmp_path, capsys):
    abc = tmp_path / "tune.abc"
    abc.write_text("X:1\nT:Test\nM:4/4\nL:1/8\nK:G\nGABc d2e2|]\n")
    assert main(["render", str(abc), "--to", "wav", "--voice", str(tmp_path / "nope")]) == 2
    assert "no such voice" in capsys.readouterr().err
    assert main(["render", str(abc), "--to", "wav", "--voice", str(tmp_path)]) == 2
    assert "not a voice" in capsys.readouterr().err


def test_load_voice_never_unpickles(tiny_voice, tmp_path):
    bad = tmp_path / "evil"
    bad.mkdir()
    (bad / "config.json").write_text(json.dumps({"kind": "voice", "voice": {}}))
    (bad / "best.safetensors").write_bytes(b"\x80\x04\x95" + b"cos\nsystem\n" * 10)
    with pytest.raises(UserError):
        load_voice(bad)
    assert load_voice(tiny_voice).cfg.hidden == 16


# -- audio a voice cannot learn from ----------------------------------------------------------------------------
def _bad_recordings(tmp_path):
    rng = np.random.default_rng(0)
    sparse = tmp_path / "two-hours.wav"
    with open(sparse, "wb") as f:  # a header announcing 2 hours of 16 kHz mono; the data is a hole on disk
        n = 2 * 3600 * SR * 2
        f.write(b"RIFF" + (36 + n).to_bytes(4, "little") + b"WAVEfmt " + (16).to_bytes(4, "little")
                + (1).to_bytes(2, "little") + (1).to_bytes(2, "little") + SR.to_bytes(4, "little")
                + (SR * 2).to_bytes(4, "little") + (2).to_bytes(2, "little") + (16).to_bytes(2, "little")
                + b"data" + n.to_bytes(4, "little"))
        f.truncate(44 + n)
    fake = tmp_path / "notes.wav"
    fake.write_text("these are my notes, not audio\n")
    return {
        "silent": (write_wav(tmp_path / "silence.wav", np.zeros(SR * 2)), "silent"),
        "noise": (write_wav(tmp_path / "noise.wav", rng.uniform(-0.5, 0.5, SR * 3)), "no steady pitch"),
        "clipped": (write_wav(tmp_path / "clipped.wav", np.clip(4 * tone(2.0), -1, 1)), "clipped"),
        "8 kHz": (write_wav(tmp_path / "phone.wav", tone(2.0, rate=8000), rate=8000), "below the voice"),
        "2 hours": (sparse, "minutes long"),
        "not audio": (fake, "not audio"),
    }


def test_bad_recordings_are_refused_in_one_line_and_nothing_is_written(tiny_voice, tmp_path, capsys):
    for what, (path, why) in _bad_recordings(tmp_path).items():
        out = tmp_path / f"voice-{what.replace(' ', '-')}"
        wav = tmp_path / f"resynth-{what.replace(' ', '-')}.wav"
        for argv in (["voice", "train", str(path), "--out", str(out), "--steps", "2", "--quiet"],
                     ["voice", "resynth", str(path), "--voice", str(tiny_voice), "--out", str(wav)]):
            assert main(argv) == 2, (what, argv[1])
            err = capsys.readouterr().err.strip()
            assert err.count("\n") == 0 and why in err and path.name in err, (what, argv[1], err)
        assert not out.exists() and not wav.exists(), what


def test_a_bad_recording_among_good_ones_is_skipped_and_counted(tmp_path):
    from rnnmusic.voice.training import read_training_audio

    good = write_wav(tmp_path / "good.wav", tone(2.0))
    with pytest.warns(UserWarning, match="silent"):
        parts, report = read_training_audio([good, write_wav(tmp_path / "quiet.wav", np.zeros(SR))], TINY)
    assert len(parts) == 1 and len(report["skipped"]) == 1 and "quiet.wav" in report["skipped"][0]["file"]


def test_96_khz_stereo_is_resampled(tmp_path):
    hi = np.repeat(tone(1.0, rate=96000)[:, None], 2, axis=1)
    path = tmp_path / "hi.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(96000)
        w.writeframes((hi * 32767).astype("<i2").tobytes())
    audio = read_recording(path, SR)
    assert abs(len(audio) - SR) <= 2 and abs(np.abs(audio).max() - 10 ** (-1 / 20)) < 1e-3


def test_training_settings_are_checked(tmp_path, capsys):
    rec = write_wav(tmp_path / "take.wav", tone(1.0))
    for flags, why in ((["--steps", "0"], "--steps must be"), (["--clip-s", "100"], "--clip-s must be"),
                       (["--fmin", "3000"], "--fmin must be"), (["--init-from", str(tmp_path / "none")], "no such")):
        assert main(["voice", "train", str(rec), "--out", str(tmp_path / "v"), *flags, "--quiet"]) == 2
        assert why in capsys.readouterr().err
    assert not (tmp_path / "v").exists()


@pytest.mark.slow
def test_a_voice_fine_tunes_from_another(tiny_voice, tmp_path):
    rec = write_wav(tmp_path / "take.wav", tone(2.0))
    out = tmp_path / "tuned"
    assert main(["voice", "train", str(rec), "--init-from", str(tiny_voice), "--out", str(out), "--steps", "2",
                 "--batch", "1", "--clip-s", "0.5", "--checkpoint-every", "1", "--quiet"]) == 0
    saved = json.loads((out / "config.json").read_text())
    assert saved["voice"]["hidden"] == 16 and saved["init_from"] == str(tiny_voice)
