"""The shipped models: listed with complete cards, loaded and sampled with no network, never unpickled."""
from __future__ import annotations

import json
import socket

import pytest

from rnnmusic.cli import main
from rnnmusic.encodings.abc_form import tune_form
from rnnmusic.models import CARD_FIELDS, MODELS_DIR, read_card, shipped_models
from rnnmusic.run import load_model
from rnnmusic.sampler import SampleConfig, sample


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a shipped model touched the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def test_folk_ships_with_a_complete_card():
    assert "folk" in shipped_models()
    card = read_card("folk")
    assert all(card.get(k) for k in CARD_FIELDS), [k for k in CARD_FIELDS if not card.get(k)]
    assert "rnnmusic train" in card["command"] and "--export" in card["command"]
    size = (MODELS_DIR / "folk" / "best.safetensors").stat().st_size
    assert size < 25 * 2**20
    assert not list((MODELS_DIR / "folk").glob("*.pt")) and not list((MODELS_DIR / "folk").glob("*.pkl"))


def test_folk_loads_and_generates_offline(no_network):
    model, enc, meta = load_model("folk")
    assert enc.name == "abc-folk" and meta.get("shipped") == "folk"
    tunes = sample(model, enc, SampleConfig(count=2, seed=0, temperature=0.9, max_length=1000,
                                              controls={"type": "jig", "key": "Ador"}))
    for body in tunes:
        f = tune_form(body)
        assert f.meter == "6/8" and f.key == "Ador" and f.parts >= 2


def test_models_command_lists_the_card(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "\nfolk:" in "\n" + out and "licence" in out and "command" in out
    assert all(f"{name}:" in out for name in shipped_models())


def test_generate_by_name_writes_outside_the_package(tmp_path, no_network, capsys):
    out = tmp_path / "tunes"
    assert main(["generate", "folk", "--count", "1", "--type", "reel", "--out", str(out), "--formats", "abc",
                 "--no-evaluate"]) == 0
    text = (out / "tune-001.abc").read_text()
    assert "M:C|" in text or "M:C" in text or "M:4/4" in text or "M:2/2" in text or "M:2/4" in text
    assert json.loads((out / "report.json").read_text())["count"] == 1


def test_every_shipped_model_has_a_complete_small_card():
    for name, folder in shipped_models().items():
        card = read_card(name)
        assert all(card.get(k) for k in CARD_FIELDS), (name, [k for k in CARD_FIELDS if not card.get(k)])
        if card.get("kind") == "voice":
            assert "rnnmusic voice train" in card["command"] and "voice export" in card["command"], name
        else:
            assert "rnnmusic train" in card["command"] and "--export" in card["command"], name
        assert (folder / "best.safetensors").stat().st_size < 25 * 2**20, name
        assert not list(folder.glob("*.pt")) and not list(folder.glob("*.pkl")), name


def test_chorales_write_four_voices_on_two_staves_offline(tmp_path, no_network):
    from rnnmusic.generator import generate
    from rnnmusic.voicing import voice_steps

    assert "chorales" in shipped_models()
    model, enc, meta = load_model("chorales")
    assert enc.name == "satb" and meta.get("shipped") == "chorales"
    report = generate("chorales", out=tmp_path / "c", count=1, seed=1, max_length=500, formats="mid,musicxml")
    piece = report.tunes[0]
    xml = (tmp_path / "c" / f"{piece.name}.musicxml").read_text()
    assert "<staves>2</staves>" in xml
    from rnnmusic.piece import read_midi_piece

    back = read_midi_piece(tmp_path / "c" / f"{piece.name}.mid")
    assert back.meta.get("layout") == "satb"
    steps = voice_steps(back, 2)
    assert (steps.note >= 0).sum(1).max() <= 4 and steps.dropped == 0


def test_lead_writes_a_melody_over_chords_offline(tmp_path, no_network):
    from rnnmusic.generator import generate

    model, enc, meta = load_model("lead")
    assert enc.name == "lead" and meta.get("shipped") == "lead"
    report = generate("lead", out=tmp_path / "l", count=1, seed=1, chords="Dm7 G7 | Cmaj7", bars=4, formats="mid")
    item = report.tunes[0]
    assert (tmp_path / "l" / f"{item.name}.mid").is_file()
    hits, total = item.extra["fit"]["hits"]
    assert total > 0 and report.settings["temperature"] == 0.8


def test_piano_writes_a_grand_staff_offline(tmp_path, no_network):
    from rnnmusic.generator import generate
    from rnnmusic.piece import read_midi_piece

    model, enc, meta = load_model("piano")
    assert enc.name == "keyboard" and meta.get("shipped") == "piano"
    report = generate("piano", out=tmp_path / "p", count=1, seed=1, max_length=400, formats="mid,musicxml")
    piece = report.tunes[0]
    xml = (tmp_path / "p" / f"{piece.name}.musicxml").read_text()
    assert xml.count("<score-part ") == 2 and '<sign>G</sign>' in xml and '<sign>F</sign>' in xml
    back = read_midi_piece(tmp_path / "p" / f"{piece.name}.mid")
    assert back.meta.get("layout") == "keyboard" and len(back) > 20 and report.settings["temperature"] == 1.0


@pytest.mark.parametrize("name, corpus, extra", [
    ("lead", "lead-sheets", []),
    ("piano", "bach-chorales", ["--max-pieces", "6"]),  # any MIDI-side pieces: chorales as keyboard music
    ("chorales", "bach-chorales", ["--tracks", "name:soprano,name:alto,name:tenor,name:bass", "--max-pieces", "6"]),
])
def test_shipped_models_fine_tune(tmp_path, name, corpus, extra, no_network):
    """`--init-from NAME` starts from the shipped weights and encoding, trains, and the result generates."""
    out = tmp_path / "ft"
    assert main(["train", "--init-from", name, "--corpus", corpus, *extra, "--out", str(out), "--max-steps", "2",
                 "--epochs", "1", "--sample-every", "0", "--threads", "1"]) == 0
    _, enc, _ = load_model(out)
    assert enc.name == load_model(name)[1].name
    assert main(["generate", str(out), "--count", "1", "--formats", "mid", "--out", str(tmp_path / "g"),
                 "--no-evaluate"]) == 0
    assert list((tmp_path / "g").glob("*.mid"))


def test_the_fiddle_voice_plays_abc_offline(tmp_path, no_network):
    """End to end with the shipped voice: ABC -> MIDI (abcmidi or music21) -> the voice -> WAV."""
    import wave

    import numpy as np

    assert "fiddle" in shipped_models() and read_card("fiddle")["kind"] == "voice"
    abc = tmp_path / "tune.abc"
    abc.write_text("X:1\nT:Test reel\nM:4/4\nL:1/8\nQ:1/4=120\nK:D\nDFAd fdAF|GBdg fdAF|EFGA BcdB|A2F2 D4|]\n")
    assert main(["render", str(abc), "--to", "wav", "--voice", "fiddle", "--out", str(tmp_path / "out")]) == 0
    with wave.open(str(tmp_path / "out" / "tune.wav")) as w:
        rate, frames = w.getframerate(), w.readframes(w.getnframes())
    x = np.frombuffer(frames, "<i2").astype(np.float64) / 32768
    assert rate == 44100 and abs(len(x) / rate - 8.5) < 0.3  # 4 bars at 120 + the 0.5 s tail
    quarter = x[: rate // 4]
    assert np.sqrt(np.mean(quarter ** 2)) > 0.05 and 0.85 < np.abs(x).max() <= 0.9  # sounding, peak -1 dBFS
    power = np.abs(np.fft.rfft(x[rate: 2 * rate])) ** 2
    freqs = np.fft.rfftfreq(rate, 1 / rate)
    assert power[(freqs > 2000) & (freqs < 7000)].sum() > 0.01 * power.sum()  # a bowed string's upper partials
    assert power[freqs > 8100].sum() < 1e-4 * power.sum()  # a 16 kHz voice: nothing above its Nyquist
