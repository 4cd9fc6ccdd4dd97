"""The real `rnnmusic` command on bad input: one-line errors naming the file and reason, never a traceback."""
import json
import os

import pytest

GOOD_TUNE = """X:1
T:Good one
M:6/8
L:1/8
K:G
|:D|G2B AGA|B2d gdB|c2e dcB|A3 A2:|
|:d|g2d B2d|g2d B2d|c2e dcB|G3 G2:|
"""


def assert_one_line_error(r, *needles):
    assert r.returncode != 0
    assert "Traceback" not in r.stderr, r.stderr
    err_lines = [line for line in r.stderr.splitlines() if "error" in line]
    assert len(err_lines) == 1, r.stderr
    for n in needles:
        assert n in err_lines[0], (n, err_lines[0])


@pytest.fixture
def bad_corpus(tmp_path):
    d = tmp_path / "corpus"
    d.mkdir()
    (d / "latin1.abc").write_bytes("X:1\nT:Caf\xe9\nM:2/4\nL:1/8\nK:D\nABcd|\n".encode("latin-1"))
    (d / "nokey.abc").write_text("X:1\nT:No key\nM:2/4\nL:1/8\nABcd|efga|\n")
    (d / "junk.abc").write_bytes(os.urandom(4096))
    (d / "long.abc").write_text("X:1\nM:4/4\nL:1/8\nK:C\n" + "A" * 2_000_000 + "\n")
    return d


@pytest.mark.slow
def test_corpus_list_names_builtins(cli):
    r = cli("corpus", "list")
    assert r.returncode == 0
    for name in ("essen", "oneills", "ryans", "airds"):
        assert name in r.stdout


@pytest.mark.slow
def test_corpus_show_reports_counts_meters_keys(cli):
    r = cli("corpus", "show", "oneills")
    assert r.returncode == 0, r.stderr
    assert "2008" in r.stdout or "2009" in r.stdout
    assert "meters:" in r.stdout and "keys:" in r.stdout and "6/8" in r.stdout


@pytest.mark.slow
def test_missing_path(cli, tmp_path):
    r = cli("corpus", "show", str(tmp_path / "nope.abc"))
    assert_one_line_error(r, "nope.abc")


@pytest.mark.slow
def test_empty_directory(cli, tmp_path):
    (tmp_path / "empty").mkdir()
    r = cli("corpus", "show", str(tmp_path / "empty"))
    assert_one_line_error(r, "empty")


@pytest.mark.slow
def test_only_bad_files_is_an_error_naming_them(cli, bad_corpus, tmp_path):
    r = cli("train", "--corpus", str(bad_corpus), "--out", str(tmp_path / "run"), "--epochs", "1")
    assert r.returncode != 0 and "Traceback" not in r.stderr
    for name, reason in [("latin1.abc", "UTF-8"), ("nokey.abc", "K:"), ("junk.abc", ""), ("long.abc", "longer than")]:
        assert any(name in line and reason in line for line in r.stderr.splitlines()), (name, r.stderr)
    assert not (tmp_path / "run" / "config.json").exists()


@pytest.mark.slow
def test_bad_files_are_skipped_and_good_ones_train(cli, bad_corpus, tmp_path):
    for i in range(12):
        (bad_corpus / f"good{i}.abc").write_text(
            GOOD_TUNE.replace("X:1", f"X:{i}").replace("G3 G2", "ABcdefg"[i % 7] + "3 " + "ABcdefg"[i // 7] + "2")
        )
    out = tmp_path / "run"
    r = cli(
        "train",
        "--corpus",
        str(bad_corpus),
        "--out",
        str(out),
        "--epochs",
        "1",
        "--hidden",
        "16",
        "--embed",
        "8",
        "--layers",
        "1",
        "--batch-size",
        "4",
        "--seq-len",
        "16",
        "--sample-every",
        "1",
        "--sample-count",
        "1",
    )
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    report = json.loads((out / "corpus-report.json").read_text())
    assert report["tunes_kept"] == 12
    skipped = " ".join(str(x) for x in report["files_skipped"]) + " ".join(report["warnings"])
    for name in ("latin1.abc", "junk.abc"):
        assert name in skipped
    assert (out / "samples" / "epoch-001.abc").is_file()
    r = cli("info", str(out))
    assert r.returncode == 0 and "epochs 1/1" in r.stdout

    r = cli(
        "generate", str(out), "--count", "2", "--max-length", "60", "--out", str(tmp_path / "gen"), "--formats", "abc"
    )
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "gen" / "tune-001.abc").is_file() and (tmp_path / "gen" / "report.json").is_file()
    assert "valid" in r.stdout

    # a corrupted saved model is refused with one line naming the file
    best = out / "best.safetensors"
    best.write_bytes(best.read_bytes()[:200])
    r = cli("generate", str(out), "--count", "1")
    assert_one_line_error(r, "best.safetensors")


@pytest.mark.slow
def test_generate_from_missing_run(cli, tmp_path):
    assert_one_line_error(cli("generate", str(tmp_path / "norun")), "norun")


@pytest.mark.slow
def test_bad_flag_values(cli, tmp_path):
    r = cli("train", "--corpus", "oneills", "--out", str(tmp_path / "r"), "--epochs", "0")
    assert_one_line_error(r, "epochs")
    r = cli("train", "--corpus", "no-such-corpus-name", "--out", str(tmp_path / "r2"))
    assert_one_line_error(r, "no-such-corpus-name")
