"""The polyphonic benchmark's data (Boulanger-Lewandowski, Bengio and Vincent, ICML 2012) as piano rolls.

The four datasets (JSB Chorales, Nottingham, MuseData, Piano-midi.de) in their original pickle layout: a dict
of 'train' / 'valid' / 'test', each a list of pieces, each a list of frames, each a sorted list of MIDI
pitches 21..108. The pickles are read with an unpickler that refuses every class, so only plain lists, dicts
and ints can come out of them (no code runs). Pieces become (T, 88) uint8 rolls, column i = pitch 21+i.

A training corpus named `polyphonic_source(dataset, folder)` ("polyphonic:DATASET:FOLDER") is the benchmark's
own train/valid split (`rnnmusic.dataset`); the metric is `rnnmusic.evaluation.polyphonic`, the benchmark run
that trains and scores `rnnmusic.benchmark`.
"""
from __future__ import annotations

import io
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import UserError, one_line

LOW = 21
KEYS = 88
SPLITS = ("train", "valid", "test")
DATASETS = {  # name -> file in the benchmark folder
    "jsb": "JSB_Chorales.pickle",
    "nottingham": "Nottingham.pickle",
    "musedata": "MuseData.pickle",
    "piano": "Piano-midi.de.pickle",
}
POLYPHONIC = "polyphonic:"  # corpus "polyphonic:DATASET:FOLDER": the benchmark's rolls as a training corpus


def polyphonic_source(dataset: str, folder: str) -> str:
    """The corpus name under which `rnnmusic.dataset.prepare` reads the benchmark's train/valid split."""
    return f"{POLYPHONIC}{dataset}:{folder}"


class _PlainUnpickler(pickle.Unpickler):
    """Only lists, dicts, strings and numbers: any class or function reference is refused."""

    def find_class(self, module: str, name: str):
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: only plain data is accepted")


@dataclass
class Polyphonic:
    """One dataset's three splits, each a list of (T, 88) uint8 piano rolls."""

    name: str
    train: list[np.ndarray]
    valid: list[np.ndarray]
    test: list[np.ndarray]

    def split(self, which: str) -> list[np.ndarray]:
        return getattr(self, which)

    def frames(self, which: str) -> int:
        return sum(len(r) for r in self.split(which))


def dataset_path(dataset: str, folder: str | Path) -> tuple[str, Path]:
    """(canonical dataset name, its pickle) from a name like 'jsb' or 'Piano-midi.de' and a folder (or the file)."""
    name = dataset.lower().replace("-", "").replace("_", "")
    name = {"jsbchorales": "jsb", "pianomidi": "piano", "pianomidide": "piano", "muse": "musedata",
            "nott": "nottingham"}.get(name, name)
    if name not in DATASETS:
        raise UserError(f"unknown polyphonic dataset {dataset!r}; choose one of {', '.join(DATASETS)}")
    folder = Path(folder)
    path = folder / DATASETS[name] if folder.is_dir() else folder
    if not path.is_file():
        raise UserError(f"{path}: not found (pass the folder holding {DATASETS[name]})")
    return name, path


def load_polyphonic(dataset: str, folder: str | Path) -> Polyphonic:
    """The dataset's standard splits as lists of (T, 88) uint8 piano rolls."""
    name, path = dataset_path(dataset, folder)
    try:
        raw = _PlainUnpickler(io.BytesIO(path.read_bytes())).load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as e:
        raise UserError(f"{path}: not a benchmark pickle ({one_line(e)})") from None
    if not isinstance(raw, dict) or not all(s in raw for s in SPLITS):
        raise UserError(f"{path}: expected a dict with 'train', 'valid' and 'test'")
    splits = {}
    for s in SPLITS:
        rolls = []
        for piece in raw[s]:
            roll = np.zeros((len(piece), KEYS), dtype=np.uint8)
            for t, frame in enumerate(piece):
                cols = np.asarray(frame, dtype=np.int64) - LOW
                if len(cols) and (cols.min() < 0 or cols.max() >= KEYS):
                    raise UserError(f"{path}: {s} piece {len(rolls)} has a pitch outside 21..108")
                roll[t, cols] = 1
            rolls.append(roll)
        splits[s] = rolls
    return Polyphonic(name, splits["train"], splits["valid"], splits["test"])


__all__ = ["DATASETS", "KEYS", "LOW", "POLYPHONIC", "SPLITS", "Polyphonic", "dataset_path", "load_polyphonic",
           "polyphonic_source"]
