"""`rnnmusic evaluate` end to end: real MIDI and ABC files, a reference corpus, a planted copy, a bad file."""
import json

import numpy as np
import pytest

from rnnmusic.piece import Piece

# eight bars: evaluate gives the verdict generate gives, and a tune of fewer than 8 bars is a fragment
GOOD_TUNE = "X:1\nT:Scale\nM:4/4\nL:1/4\nK:C\nCDEF|GABc|cBAG|FEDC|CEGc|BGEC|DFAc|BAGF|]\n"
BAD_BARS = "X:2\nT:Wrong\nM:4/4\nL:1/4\nK:C\nCDE|GABc|cBAGF|FEDC|]\n"


def _random_piece(seed: int, bars: int = 16) -> Piece:
    rng = np.random.default_rng(seed)
    steps = bars * 8
    return Piece([(i * 0.5, 0.5, int(rng.integers(55, 80)), 80) for i in range(steps)], source=f"random-{seed}")


@pytest.fixture
def folders(tmp_path):
    ref, gen = tmp_path / "reference", tmp_path / "generated"
    ref.mkdir()
    gen.mkdir()
    refs = [_random_piece(s) for s in range(6)]
    for i, p in enumerate(refs):
        p.write_midi(ref / f"ref-{i}.mid")
    # a piece whose first 8 bars are reference piece 3's, then its own random music
    own = _random_piece(100)
    planted = np.concatenate([refs[3].notes[refs[3].notes[:, 0] < 32], own.notes[own.notes[:, 0] >= 32]])
    Piece(planted).write_midi(gen / "copy.mid")
    _random_piece(200).write_midi(gen / "fresh.mid")
    Piece([(i, 1.0, p, 80) for i, p in enumerate([60, 62, 64, 65, 67, 69, 71, 72])]).write_midi(gen / "scale.mid")
    (gen / "broken.mid").write_bytes(b"MThd\x00\x00\x00\x06garbage")
    (gen / "tunes.abc").write_text(GOOD_TUNE + "\n" + BAD_BARS)
    Piece([(0, 1.0, 60, 80)]).write_midi(gen / "tunes.mid")  # as `generate` renders an .abc: not another piece
    return ref, gen


@pytest.mark.slow
def test_evaluate_command_report(cli, folders):
    ref, gen = folders
    r = cli("evaluate", str(gen), "--reference", str(ref), "--max-copy-bars", "4", timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "Traceback" not in r.stderr
    for ext in ("md", "html", "json"):
        assert (gen / f"evaluation.{ext}").stat().st_size > 500
    assert (gen / "evaluation.png").read_bytes()[:4] == b"\x89PNG"
    ev = json.loads((gen / "evaluation.json").read_text())
    pieces = {p["name"].rsplit("/", 1)[-1]: p for p in ev["pieces"]}
    assert {"copy.mid", "fresh.mid", "scale.mid", "tunes.abc#X:1", "tunes.abc#X:2"} <= set(pieces)
    # the C major scale has known answers
    assert pieces["scale.mid"]["scale_consistency"] == 1.0 and pieces["scale.mid"]["pitch_class_entropy"] == 2.75
    # the planted 8 bars are found in ref-3 and flagged; the fresh piece is not
    copy = pieces["copy.mid"]["copy"]
    assert copy["bars"] >= 8 and copy["copied"] and copy["source"].endswith("ref-3.mid")
    assert not pieces["fresh.mid"]["copy"]["copied"]
    assert ev["summary"]["copied"] == pytest.approx(1 / 5)
    # the unreadable file is skipped with its reason, the rest still measured
    assert [s["source"].rsplit("/", 1)[-1] for s in ev["skipped"]] == ["broken.mid"]
    # ABC tunes: both headers fine, abc2midi and the bar check judge each
    abc = {a["tune"].rsplit("/", 1)[-1]: a for a in ev["abc"]}
    assert abc["tunes.abc#X:1"]["valid"] and not abc["tunes.abc#X:2"]["valid"]
    assert abc["tunes.abc#X:2"]["bars_wrong"] == 1  # the 5-beat bar (a short first bar is a pickup)
    assert ev["summary"]["abc_header_ok"] == 1.0 and ev["summary"]["abc_bars_ok"] == 0.5
    # every metric compared with the reference
    assert set(ev["reference"]["distances"]) >= {"pitch_class_entropy", "groove_consistency", "pitch_classes"}
    assert all(0.0 <= d["overlap"] <= 1.0 for d in ev["reference"]["distances"].values())
    md = (gen / "evaluation.md").read_text()
    assert "COPIED" in md and "evaluation.png" in md and "KL" in md
    assert "copied" in r.stdout and "evaluation.md" in r.stdout


@pytest.mark.slow
def test_evaluate_errors_are_one_line(cli, tmp_path):
    r = cli("evaluate", str(tmp_path / "nothing-here"))
    assert r.returncode == 2 and "Traceback" not in r.stderr and "nothing-here" in r.stderr
    (tmp_path / "bad.mid").write_bytes(b"not midi")
    r = cli("evaluate", str(tmp_path / "bad.mid"))
    assert r.returncode == 2 and "no readable pieces" in r.stderr and "Traceback" not in r.stderr


def test_metric_plot_takes_equal_values_and_nan_without_warnings(tmp_path):
    """Values equal up to rounding (1.0 and 1.0000000000000002) and an undefined one (NaN) once made numpy
    divide by zero-width bins; the picture is drawn without a warning."""
    import warnings

    from rnnmusic.render.plots import plot_metric_distributions

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = plot_metric_distributions({"scale_consistency": [1.0, 1.0000000000000002, float("nan")],
                                         "pitch_range": [float("nan")]},
                                        {"scale_consistency": [1.0], "pitch_range": [3.0, 5.0]}, {},
                                        tmp_path / "m.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
