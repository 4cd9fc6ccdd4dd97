"""One path from a request to files for every kind of model: tunes, MIDI-side pieces and lead sheets all go
through `generator.generate`, the one sampler (`sampler.sample_ids`, the lead's chords as its guard's hooks), one
report and one table of per-kind defaults."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from rnnmusic.chords import Chord
from rnnmusic.config import ModelConfig
from rnnmusic.encodings import get_encoding
from rnnmusic.errors import UserError
from rnnmusic.generation_request import KIND_DEFAULTS, GenerationRequest, output_kind, resolve, sample_config
from rnnmusic.generator import generate
from rnnmusic.model import MusicRNN
from rnnmusic.piece import Piece
from rnnmusic.progressions import parse_progression, spans_to_text
from rnnmusic.sampler import SampleConfig, sample, sample_ids

TUNE = "M:6/8\nL:1/8\nK:G\nGAB c2d|e2d c2B|AGA B2A|G3 G3:|\n|:gfe d2B|c2A B2G|AGA B2A|G3 G3:|\n"


def _lead_sheet() -> Piece:
    spans = parse_progression("C | Am | Dm7 G7 | C", 4.0)
    notes = [(t, 1.0, p, 90) for t, p in enumerate([60, 64, 67, 64, 69, 72, 69, 64, 62, 65, 67, 71, 72])]
    notes.append((13, 3.0, 60, 90))
    return Piece(np.array(notes, float), key="C major", meta={"chords": spans_to_text(spans)})


def _model(enc) -> MusicRNN:
    torch.manual_seed(0)
    kind = enc.kind if enc.kind in ("lead", "frames") else "tokens"
    return MusicRNN(ModelConfig(vocab_size=enc.vocab_size, kind=kind, layers=1, hidden=16, embed=8)).eval()


def test_each_kind_has_its_defaults_and_refuses_what_does_not_apply():
    abc, lead = get_encoding("abc-tokens").fit([TUNE]), get_encoding("lead").fit([_lead_sheet()])
    notes = get_encoding("notes").fit([_lead_sheet()])
    assert [output_kind(e) for e in (abc, lead, notes)] == ["tunes", "lead", "pieces"]
    for enc, kind in ((abc, "tunes"), (lead, "lead"), (notes, "pieces")):
        req = resolve(GenerationRequest(count=3), enc)
        d = KIND_DEFAULTS[kind]
        assert (req.formats, req.max_length, req.min_bars, req.max_attempts) == (
            d["formats"], d["max_length"], d["min_bars"], d["attempts"] * 3)
    with pytest.raises(UserError, match="lead sheets"):
        resolve(GenerationRequest(chords="C G"), abc)
    with pytest.raises(UserError, match="lead-sheet models"):
        resolve(GenerationRequest(prime="K:G\n"), lead)
    with pytest.raises(UserError, match="--prime-file"):
        resolve(GenerationRequest(prime="K:G\n"), notes)
    # one default temperature, unless the model has its own (chorales)
    assert sample_config(GenerationRequest(), notes).temperature == SampleConfig().temperature
    assert sample_config(GenerationRequest(temperature=1.2), notes).temperature == 1.2


def test_lead_sheets_come_from_the_one_sampler_with_chords_forced_by_the_guard(tmp_path):
    enc = get_encoding("lead").fit([_lead_sheet()])
    model = _model(enc)
    report = generate(model, enc=enc, out=tmp_path, chords="Dm7 G7 | C", bars=4, count=2, formats="mid", seed=3)
    assert report.what == "lead sheets" and len(report.tunes) == 2
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["settings"]["bars"] == 4 and saved["summary"]["with_chords"] is not None
    for p in saved["pieces"]:
        assert p["progression"].startswith("Dm7 G7 | C") and p["files"]["mid"].endswith(".mid")
    assert "## Chords" in (tmp_path / "report.md").read_text()
    # the same pieces from the sampler directly: the chords come first, forced, then the melody
    controls = {"total": 4 * 48, "time_signature": (4, 4), "changes": [(0, Chord(2, "m7")), (48, Chord(7, "7"))]}
    toks = [enc.vocab[i] for i in sample_ids(model, enc, SampleConfig(count=1, seed=3, max_length=400,
                                                                        controls=controls))[0]]
    assert toks[0] == "@Dm7" and "@G7" in toks and not any(t.startswith("@") for t in toks[1:toks.index("@G7")])
    pieces = sample(model, enc, SampleConfig(count=2, seed=3, max_length=400))  # the model proposes the chords
    assert all(p.end <= 16 * 4 + 1e-9 for p in pieces)


def test_tunes_and_pieces_share_the_report(tmp_path):
    abc = get_encoding("abc-tokens").fit([TUNE])
    r = generate(_model(abc), enc=abc, out=tmp_path / "t", count=2, max_length=40, formats="abc")
    notes = get_encoding("notes").fit([_lead_sheet()])
    p = generate(_model(notes), enc=notes, out=tmp_path / "p", count=2, max_length=40, formats="mid")
    for report, what in ((r, "tunes"), (p, "pieces")):
        saved = json.loads((report.out_dir / "report.json").read_text())
        assert report.what == what and saved["count"] == 2 and len(saved["pieces"]) == 2
        assert report.paths() and "valid" in report.summary_text()
