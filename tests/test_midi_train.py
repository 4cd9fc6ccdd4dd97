"""End to end on the MIDI side, through the real `rnnmusic` command: train each encoding on a small real
corpus (Bach chorales written as MIDI files), generate, and check what comes out."""
import json

import music21
import pytest
import symusic

from rnnmusic.piece import piece_from_music21, read_midi_piece

pytestmark = pytest.mark.slow  # the whole file trains models or runs the CLI at length

SMALL = ["--epochs", "2", "--hidden", "32", "--embed", "16", "--layers", "1", "--batch-size", "4",
         "--seq-len", "64", "--sample-every", "2", "--sample-count", "1", "--threads", "1"]


@pytest.fixture(scope="module")
def chorale_dir(tmp_path_factory):
    """Twelve Bach chorales from music21's corpus, converted once into real MIDI files."""
    folder = tmp_path_factory.mktemp("chorales")
    paths = [p for p in music21.corpus.getComposer("bach") if "bwv" in str(p)][:12]
    for p in paths:
        piece_from_music21(music21.converter.parse(p), source=str(p)).write_midi(folder / f"{p.stem}.mid")
    return folder


def _train(cli, tmp_path, corpus, *flags, name="run"):
    run = tmp_path / name
    r = cli("train", "--corpus", str(corpus), "--out", str(run), *SMALL, *flags, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return run, r


def _generate(cli, run, out, *flags):
    r = cli("generate", str(run), "--out", str(out), "--count", "2", "--max-length", "48", "--seed", "1", *flags,
            timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads((out / "report.json").read_text()), r


@pytest.mark.slow
@pytest.mark.parametrize("encoding", ["notes", "pianoroll", "events"])
def test_train_and_generate_each_encoding(cli, tmp_path, chorale_dir, encoding):
    run, r = _train(cli, tmp_path, chorale_dir, "--encoding", encoding)
    assert f"encoding {encoding}" in r.stderr  # vocabulary/sequence statistics are reported when fitting
    enc = json.loads((run / "encoding.json").read_text())
    assert enc["name"] == encoding and enc["fit_stats"]["pieces"] >= 8
    report = json.loads((run / "corpus-report.json").read_text())
    assert {p["split"] for p in report["pieces"]} == {"train", "valid"} and all(p["key"] for p in report["pieces"])
    assert list((run / "samples" / "epoch-002").glob("*.mid"))
    assert "sample metrics:" in r.stderr and (run / "samples" / "epoch-002-evaluation.md").is_file()
    rep, r = _generate(
        cli, run, tmp_path / "gen", "--key", "G", "--formats", "mid,wav,roll,svg", "--reference", str(run)
    )
    assert "piece-001" in r.stdout
    # the report compares with the run's training corpus (the run directory stands for it)
    assert "mean overlap with the reference" in r.stdout and (tmp_path / "gen" / "evaluation.html").is_file()
    ev = json.loads((tmp_path / "gen" / "evaluation.json").read_text())
    assert ev["reference"]["pieces"] >= 8 and all("copy" in p for p in ev["pieces"])
    for t in rep["pieces"]:
        mid = symusic.Score(t["files"]["mid"])
        assert mid.tempos[0].qpm > 0
        assert t["check"]["key"] in ("G major", "G minor") or t["check"]["notes"] == 0
        assert (tmp_path / "gen" / f"{t['name']}.wav").stat().st_size > 10_000
        assert (tmp_path / "gen" / f"{t['name']}.roll.png").read_bytes()[:4] == b"\x89PNG"  # the piano roll
        assert 'class="measure' in (tmp_path / "gen" / f"{t['name']}.svg").read_text()  # the same code as `render`


@pytest.mark.slow
def test_pianoroll_nade_attention_keys_and_priming(cli, tmp_path, chorale_dir):
    run, r = _train(
        cli,
        tmp_path,
        chorale_dir,
        "--encoding",
        "pianoroll",
        "--head",
        "nade",
        "--attention",
        "8",
        "--normalize-key",
        "--augment-keys",
        "3",
        "--grid",
        "eighth",
    )
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["model"]["head"] == "nade" and cfg["model"]["attention"] == 8 and cfg["train"]["normalize_key"]
    report = json.loads((run / "corpus-report.json").read_text())
    assert {p["key"] for p in report["pieces"]} <= {"C major", "A minor"}
    assert any(p["shift"] != 0 for p in report["pieces"])
    assert "transposed copies" in r.stderr
    prime = next(chorale_dir.glob("*.mid"))
    rep, _ = _generate(cli, run, tmp_path / "gen", "--prime-file", str(prime), "--prime-bars", "2", "--formats", "mid")
    assert rep["settings"]["primed"] is True
    piece = read_midi_piece(rep["pieces"][0]["files"]["mid"])
    assert piece.end > 2 * piece.bar_length  # the prime plus what was generated


@pytest.mark.slow
def test_many_to_one_and_preset(cli, tmp_path, chorale_dir):
    run, r = _train(
        cli,
        tmp_path,
        chorale_dir,
        "--preset",
        "notes-window100",
        "--window",
        "16",  # many-to-one by the preset
        "--epochs",
        "1",
        "--hidden",
        "32",
        "--embed",
        "16",
        "--window-stride",
        "4",
    )
    cfg = json.loads((run / "config.json").read_text())
    assert (
        cfg["train"]["window"] == 16
        and cfg["train"]["encoding"] == "notes"
        and cfg["train"]["preset"] == "notes-window100"
    )
    assert cfg["train"]["optimizer"] == "rmsprop" and cfg["model"]["layers"] == 1  # flags win over the preset
    rep, _ = _generate(
        cli, run, tmp_path / "gen", "--formats", "mid", "--repetition-penalty", "1.3", "--program", "1=73"
    )
    assert rep["settings"]["program"] == 73  # a generated piece is one track
    assert all({t.program for t in symusic.Score(p["files"]["mid"]).tracks} <= {73} for p in rep["pieces"])


def test_presets_are_listed_and_overridable(cli, tmp_path, chorale_dir):
    r = cli("presets")
    assert r.returncode == 0
    for name in ("abc-char-lstm", "notes-window100", "roll-mse-1024"):
        assert name in r.stdout
    run, _ = _train(
        cli,
        tmp_path,
        chorale_dir,
        "--preset",
        "roll-mse-1024",
        "--epochs",
        "1",
        "--hidden",
        "24",
        "--sample-every",
        "0",
    )
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["model"]["head"] == "mse" and cfg["model"]["hidden"] == 24 and cfg["model"]["layers"] == 1
    assert cfg["train"]["optimizer"] == "rmsprop" and cfg["train"]["encoding"] == "pianoroll"
    assert json.loads((run / "encoding.json").read_text())["options"] == {"grid": 4, "onsets": False}


@pytest.mark.parametrize(
    "flags, window",
    [
        (["--preset", "notes-window100"], 100),
        (
            ["--preset", "notes-window100", "--window", "16"],
            16,
        ),  # the preset is many-to-one: --window alone re-sizes it
        (["--many-to-one"], 100),
        (["--many-to-one", "--window", "8"], 8),
        (["--preset", "abc-char-lstm", "--many-to-one"], 100),
        ([], None),
    ],
)
def test_window_flags_and_presets(flags, window):
    from rnnmusic.cli import build_parser
    from rnnmusic.training_request import settings_from_flags

    _, tcfg = settings_from_flags(vars(build_parser().parse_args(["train", "--out", "x", *flags])))
    assert tcfg.get("window") == window


def test_midi_flags_are_checked(cli, tmp_path, chorale_dir):
    r = cli("train", "--corpus", "oneills", "--max-tunes", "5", "--normalize-key", "--out", str(tmp_path / "x"))
    assert r.returncode == 2 and "MIDI-side" in r.stderr and "Traceback" not in r.stderr
    r = cli("train", "--corpus", str(chorale_dir), "--encoding", "notes", "--no-onsets", "--out", str(tmp_path / "y"))
    assert r.returncode == 2 and "--no-onsets does not apply" in r.stderr
    r = cli("train", "--corpus", str(chorale_dir), "--window", "10", "--out", str(tmp_path / "z"))
    assert r.returncode == 2 and "--many-to-one" in r.stderr
    r = cli(
        "train", "--preset", "abc-char-lstm", "--window", "10", "--out", str(tmp_path / "z")
    )  # a many-to-many preset
    assert r.returncode == 2 and "--many-to-one" in r.stderr
    r = cli("train", "--preset", "nope", "--out", str(tmp_path / "w"))
    assert r.returncode == 2 and "unknown preset" in r.stderr


def test_corpus_cli_lists_and_shows_scores(cli, chorale_dir, tmp_path):
    r = cli("corpus", "list")
    assert r.returncode == 0 and "bach-chorales" in r.stdout and "palestrina" in r.stdout
    (chorale_dir.parent / "bad").mkdir(exist_ok=True)
    bad = chorale_dir.parent / "bad" / "broken.mid"
    bad.write_bytes(next(chorale_dir.glob("*.mid")).read_bytes()[:40])
    r = cli("corpus", "show", str(chorale_dir), str(bad), "--json", env={"RNNMUSIC_CACHE": str(tmp_path / "cache")})
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["stats"]["pieces"] == 12 and out["stats"]["notes"] > 1000
    assert [s["path"] for s in out["report"]["files_skipped"]] == [str(bad)]
    assert "broken.mid" in r.stderr and "Traceback" not in r.stderr
