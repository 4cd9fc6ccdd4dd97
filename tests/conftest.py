"""Shared test helpers: the real `rnnmusic` command, O'Neill's tunes from music21, and the data sets of ../shared
with their committed stand-ins under tests/fixtures/ (used when ../shared is absent, or hidden with
RNNMUSIC_NO_SHARED=1), so that no test skips for want of ../shared."""
from __future__ import annotations

import json
import os
import pickle
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import music21
import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"


def shared_root(env=os.environ) -> Path:
    """../shared, or with RNNMUSIC_NO_SHARED=1 (as on a fresh clone without it) a folder that never exists."""
    return REPO / "tests" / "no-shared-folder" if env.get("RNNMUSIC_NO_SHARED") else REPO.parent / "shared"


SHARED = shared_root()

# One intra-op thread for in-process torch: the tests' models are tiny, and on a shared 2-core machine more threads
# only contend. The same setting the first deterministic training left for every later test before (the trainer
# sets it process-wide), now independent of which tests run and in what order. CLI subprocesses choose their own.
torch.set_num_threads(1)


ONEILLS = Path(music21.__file__).parent / "corpus" / "oneills1850" / "0001-0050.abc"
needs_abc2midi = pytest.mark.skipif(shutil.which("abc2midi") is None, reason="abc2midi (Debian abcmidi) not installed")


def oneills(number: int) -> str:
    """Tune `number` of O'Neill's 1850 as shipped with music21 (one complete tune starting with X:)."""
    text = ONEILLS.read_text(encoding="utf-8", errors="replace")
    for chunk in re.split(r"\n\s*\n(?=X:)", text):
        chunk = chunk.strip()
        if re.match(rf"X:\s*{number}\s*$", chunk.splitlines()[0]):
            return chunk + "\n"
    raise LookupError(number)


def run_cli(*args: str, timeout: float = 300, env: dict | None = None,
            cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the real `rnnmusic` command in a subprocess (as a user would)."""
    e = dict(os.environ, PYTHONUNBUFFERED="1", **(env or {}))
    return subprocess.run([sys.executable, "-m", "rnnmusic", *args], capture_output=True, text=True,
                          timeout=timeout, env=e, cwd=cwd)


@pytest.fixture
def cli():
    return run_cli


# -- data: ../shared/data, or the committed fixtures -------------------------------------------------------------
def unpack_nottingham(out: Path) -> Path:
    """The 14 files of Nottingham's ABC_cleaned, unpacked from the committed archive into `out`; returns `out`."""
    out.mkdir(parents=True, exist_ok=True)
    with tarfile.open(FIXTURES / "nottingham_abc_cleaned.tar.xz") as tar:
        tar.extractall(out, filter="data")
    return out


def build_polyphonic(out: Path, names: list[str] | None = None) -> Path:
    """Benchmark pickles (the Boulanger-Lewandowski layout) rebuilt from tests/fixtures/polyphonic.json in `out`:
    each split holds the fixture's real pieces, then pieces whose frames make up the rest of the split's frame
    count with each pitch sounding in exactly as many frames as in the real split. Frame counts and per-pitch
    counts are all the Note 1-gram baseline reads, so it scores as on the real data; returns `out`."""
    from rnnmusic.polyphonic_data import DATASETS, KEYS

    spec = json.loads((FIXTURES / "polyphonic.json").read_text())
    low = spec["low"]
    out.mkdir(parents=True, exist_ok=True)
    for name in names or list(DATASETS):
        data = {}
        for split, s in spec["datasets"][name].items():
            pieces = [[list(frame) for frame in piece] for piece in s["real"]]
            real = np.zeros(KEYS, np.int64)
            for piece in pieces:
                for frame in piece:
                    real[np.asarray(frame, np.int64) - low] += 1
            frames = s["frames"] - sum(len(p) for p in pieces)
            roll = np.zeros((frames, KEYS), np.uint8)
            for key, count in enumerate(np.asarray(s["on"]) - real):
                if count:  # spread over the frames, each pitch from its own offset
                    roll[(np.arange(count) * frames // count + 7 * key) % frames, key] = 1
            length = max(1, round(s["frames"] / s["pieces"]))
            for start in range(0, frames, length):
                pieces.append([[int(c) + low for c in row.nonzero()[0]] for row in roll[start:start + length]])
            data[split] = pieces
        (out / DATASETS[name]).write_bytes(pickle.dumps(data, protocol=2))
    return out


@pytest.fixture(scope="session")
def nottingham_abc(tmp_path_factory) -> Path:
    """The Nottingham Music Database's ABC_cleaned folder (14 files, 1,034 tunes): ../shared's, or the fixture's."""
    folder = SHARED / "data" / "nottingham_abc" / "ABC_cleaned"
    return folder if folder.is_dir() else unpack_nottingham(tmp_path_factory.mktemp("nottingham") / "ABC_cleaned")


@pytest.fixture(scope="session")
def polyphonic_data(tmp_path_factory):
    """polyphonic_data(name) -> the folder holding that polyphonic benchmark's pickle: ../shared's, or one
    rebuilt from the fixture (each data set built once, when first asked for)."""
    folder = SHARED / "data" / "polyphonic_boulanger2012"
    if folder.is_dir():
        return lambda name: folder
    out = tmp_path_factory.mktemp("polyphonic")
    built: set[str] = set()

    def get(name: str) -> Path:
        if name not in built:
            build_polyphonic(out, [name])
            built.add(name)
        return out

    return get


def load_bench(question: str):
    """bench/QUESTION/measure.py as a module (bench scripts are not a package), for tests of their functions."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"{question}_measure", REPO / "bench" / question / "measure.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
