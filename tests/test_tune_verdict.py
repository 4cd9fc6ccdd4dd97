"""One verdict on a generated tune: `generate` (while drawing, in report.json) and `evaluate` (reading the files
back) call `abc_check.tune_verdict` and agree; --only-valid writes only valid tunes and says how many it found."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import rnnmusic.generator as generation
from conftest import needs_abc2midi
from rnnmusic.corpus import split_tunebook
from rnnmusic.evaluation.abc_check import MIN_BARS, tune_verdict
from rnnmusic.evaluation.compare import evaluate
from rnnmusic.sampler import SampleConfig

FIXTURE = Path(__file__).parent / "fixtures" / "checker_real_tunes.abc"


def _bodies() -> list[str]:
    """Tune bodies as a model writes them (header fields from M:, no X:/T:): real tunes, valid and not, a
    4-bar fragment, a tune with an over-long bar."""
    tunes = [text for _, text in split_tunebook(FIXTURE.read_text(encoding="utf-8"))]
    body = [("\n".join(ln for ln in t.splitlines() if not ln.startswith(("X:", "T:", "%"))), t) for t in tunes]
    real = [b for b, t in body if "T:valid: H (fermata)" in t or "T:invalid: a missing bar line" in t
            or "T:valid: no L:" in t]
    return real + ["M:6/8\nL:1/8\nK:G\nGAB cde|d2B G3|GAB cde|d2B G3|]",
                   "M:6/8\nL:1/8\nK:G\nGAB cde|d2B G3|GAB cdef|d2B G3|GAB cde|d2B G3|GAB cde|d2B G3|GAB cde|d3 G3|]"]


def _fake_sampler(bodies: list[str]):
    def sample(model, enc, cfg, first_index=0):
        return [bodies[(first_index + i) % len(bodies)] for i in range(cfg.count)]
    return sample


@needs_abc2midi
@pytest.mark.parametrize("min_bars", [MIN_BARS, 4])
def test_generate_and_evaluate_give_each_file_the_same_verdict(tmp_path, monkeypatch, min_bars):
    bodies = _bodies()
    monkeypatch.setattr(generation, "sample", _fake_sampler(bodies))
    report = generation.generate_tunes(None, None, SampleConfig(count=len(bodies)), tmp_path, formats="abc",
                                       min_bars=min_bars)
    said = {Path(t.files["abc"]).name: t.check.valid for t in report.tunes}
    ev = evaluate([str(tmp_path)], min_bars=min_bars, workers=1)
    read_back = {Path(name.split("#")[0]).name: c.valid for name, c in ev.abc}
    assert said == read_back
    assert said == {Path(t.files["abc"]).name: tune_verdict(Path(t.files["abc"]).read_text(), min_bars=min_bars).valid
                    for t in report.tunes}
    assert sorted(said.values()) == ([False] * 2 + [True] * 3 if min_bars == 4 else [False] * 3 + [True] * 2)
    saved = json.loads((tmp_path / "report.json").read_text())
    assert [t["valid"] for t in saved["pieces"]] == [said[f"tune-{i:03d}.abc"] for i in range(1, len(bodies) + 1)]


@needs_abc2midi
def test_only_valid_writes_only_valid_tunes_and_says_how_many(tmp_path, monkeypatch):
    bodies = _bodies()  # valid: 2 of the 5 (the fragment is too short for MIN_BARS)
    monkeypatch.setattr(generation, "sample", _fake_sampler(bodies))
    with pytest.warns(UserWarning, match=r"^only 2 of 4 valid tunes after 5 attempts$"):
        report = generation.generate_tunes(None, None, SampleConfig(count=4), tmp_path, formats="abc",
                                           only_valid=True, max_attempts=5)
    assert len(report.tunes) == 2 and all(t.check.valid for t in report.tunes)
    assert sorted(p.name for p in tmp_path.glob("*.abc")) == ["tune-001.abc", "tune-002.abc"]
    assert report.shortfall == "only 2 of 4 valid tunes after 5 attempts"
    saved = json.loads((tmp_path / "report.json").read_text())
    assert (saved["asked"], saved["count"], saved["valid"]) == (4, 2, 2) and saved["shortfall"] == report.shortfall


@needs_abc2midi
def test_generate_command_with_no_valid_tune_ends_without_an_error(tmp_path, monkeypatch, capsys):
    from rnnmusic import run
    from rnnmusic.cli import main
    from rnnmusic.encodings import get_encoding

    bodies = _bodies()[-1:]  # the over-long bar, every time
    enc = get_encoding("abc-tokens").fit(bodies)
    monkeypatch.setattr(run, "load_model", lambda path: run.LoadedModel(None, enc, {}, source=path, run=Path(path)))
    monkeypatch.setattr(generation, "sample", _fake_sampler(bodies))
    code = main(["generate", str(tmp_path / "run"), "--count", "2", "--only-valid", "--formats", "abc",
                 "--out", str(tmp_path / "out")])
    out, err = capsys.readouterr()
    assert code == 0 and "only 0 of 2 valid tunes after 20 attempts" in out
    assert err.count("only 0 of 2 valid tunes after 20 attempts") == 1 and "rror" not in err  # one warning line
    assert not list((tmp_path / "out").glob("*.abc")) and (tmp_path / "out" / "report.json").is_file()
