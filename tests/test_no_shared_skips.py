"""No test skips for want of ../shared: tests reach its data sets only through conftest's fixtures
(`nottingham_abc`, `polyphonic_data(name)`), which fall back to the committed copies under tests/fixtures/; no test
decides to skip on whether a data folder exists. Also checks the fixtures themselves (content and size)."""
from __future__ import annotations

import ast
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest

from conftest import FIXTURES, REPO, build_polyphonic, shared_root, unpack_nottingham

TESTS = REPO / "tests"
PRESENCE_CHECKS = {"is_dir", "exists", "is_file"}  # a skip condition calling these asks whether data is present
FIXTURE_BUDGET = 200_000  # bytes for everything under tests/fixtures/


def _test_modules() -> list[Path]:
    return [p for p in sorted(TESTS.glob("*.py")) if p.name not in ("conftest.py", Path(__file__).name)]


def _text(node: ast.AST) -> str:
    """The literal text in a node (string constants and f-string parts), lower-cased."""
    return " ".join(n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)).lower()


def _is_skip(call: ast.Call) -> str | None:
    """'skip' / 'skipif' when `call` is pytest.skip(...) or pytest.mark.skipif(...), else None."""
    f = call.func
    if isinstance(f, ast.Attribute) and f.attr in ("skip", "skipif"):
        return f.attr
    return None


def _shared_uses(path: Path) -> list[str]:
    problems = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        where = f"{path.name}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Name) and node.id == "SHARED" or isinstance(node, ast.alias) and node.name == "SHARED":
            problems.append(f"{where}: uses SHARED (ask conftest's nottingham_abc / polyphonic_data fixtures)")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and (
                node.value == "shared" or "../shared" in node.value or "shared/data" in node.value):
            problems.append(f"{where}: a path into ../shared ({node.value!r})")
        elif isinstance(node, ast.Call) and (kind := _is_skip(node)):
            if "shared" in _text(node) or "not present" in _text(node):
                problems.append(f"{where}: pytest.{kind} for missing data ({_text(node)!r})")
            calls = [c.func.attr for c in ast.walk(node) if isinstance(c, ast.Call)
                     and isinstance(c.func, ast.Attribute)]
            if kind == "skipif" and PRESENCE_CHECKS & set(calls):
                problems.append(f"{where}: skipif on whether a file or folder exists")
    return problems


def test_no_test_skips_for_want_of_shared():
    problems = [p for path in _test_modules() for p in _shared_uses(path)]
    assert not problems, "tests that would skip (or fail) without ../shared:\n" + "\n".join(problems)


def test_the_checker_sees_a_skip_on_shared(tmp_path):
    bad = tmp_path / "test_bad.py"
    bad.write_text("import pytest\nfrom conftest import SHARED\nDATA = SHARED / 'data'\n"
                   "needs = pytest.mark.skipif(not DATA.is_dir(), reason='data not present')\n"
                   "def test_x():\n    pytest.skip('../shared absent')\n")
    found = _shared_uses(bad)
    assert sorted({int(p.split(":")[1]) for p in found}) == [2, 3, 4, 6], found
    assert sum("exists" in p for p in found) == 1 and sum("for missing data" in p for p in found) == 2, found


def test_no_shared_env_var_hides_the_shared_folder():
    hidden = shared_root({"RNNMUSIC_NO_SHARED": "1"})
    assert not hidden.exists() and hidden.name == "no-shared-folder"
    assert shared_root({}) == REPO.parent / "shared"


def test_fixtures_stay_small():
    sizes = {p.name: p.stat().st_size for p in FIXTURES.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    assert sum(sizes.values()) < FIXTURE_BUDGET, sizes
    assert "licence" in (FIXTURES / "README.md").read_text().lower()


def test_nottingham_fixture_is_the_whole_abc_cleaned_folder(tmp_path):
    folder = unpack_nottingham(tmp_path / "abc")
    files = sorted(p.name for p in folder.iterdir())
    assert len(files) == 14 and {"reelsa-c.abc", "reelsd-g.abc", "jigs.abc"} <= set(files)
    assert sum(p.read_text(encoding="latin-1").count("\nX:") + p.read_text(encoding="latin-1").startswith("X:")
               for p in folder.iterdir()) == 1034
    shared = REPO.parent / "shared" / "data" / "nottingham_abc" / "ABC_cleaned"
    if shared.is_dir():  # byte for byte the shared copy
        assert all((shared / f).read_bytes() == (folder / f).read_bytes() for f in files)
    with tarfile.open(FIXTURES / "nottingham_abc_cleaned.tar.xz") as tar:
        assert all(m.isfile() and "/" not in m.name for m in tar.getmembers())


def test_polyphonic_fixture_rebuilds_the_split_statistics(tmp_path):
    from rnnmusic.polyphonic_data import DATASETS, SPLITS, load_polyphonic

    spec = json.loads((FIXTURES / "polyphonic.json").read_text())
    assert set(spec["datasets"]) == set(DATASETS)
    d = load_polyphonic("jsb", build_polyphonic(tmp_path, ["jsb"]))
    for split in SPLITS:
        s = spec["datasets"]["jsb"][split]
        assert d.frames(split) == s["frames"]
        assert np.array_equal(sum(r.sum(0).astype(int) for r in d.split(split)), s["on"])
        real = s["real"]  # the real chorales come first, unchanged
        assert real and all(np.array_equal(np.flatnonzero(d.split(split)[i][t]) + spec["low"], frame)
                            for i, piece in enumerate(real) for t, frame in enumerate(piece))
    assert spec["datasets"]["nottingham"]["test"]["real"]


@pytest.mark.parametrize("name", ["jsb", "nottingham", "musedata", "piano"])
def test_polyphonic_fixture_frames_per_split_match_the_benchmark(name):
    """The frame counts of the benchmark's README (shared/data/README.txt), so the fixture is the real split's."""
    frames = {"jsb": [13807, 4602, 4725], "nottingham": [176561, 45513, 44463], "musedata": [245202, 82755, 64339],
              "piano": [75911, 8540, 19036]}
    spec = json.loads((FIXTURES / "polyphonic.json").read_text())["datasets"][name]
    assert [spec[s]["frames"] for s in ("train", "valid", "test")] == frames[name]
