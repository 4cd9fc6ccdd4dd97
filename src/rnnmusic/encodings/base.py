"""The one small interface every encoding implements.

A token encoding (`Encoding`) turns a piece (ABC: the cleaned tune text; MIDI side: a `rnnmusic.piece.Piece`)
into a 1-D array of token ids and back. It owns its vocabulary, fitted on a corpus, and serialises to plain
JSON so a saved model is self-describing. A frame encoding (`FrameEncoding`, the piano roll) turns a Piece
into a (T, width) array of multi-hot frames and back; it has no vocabulary. Adding an encoding is adding one
module that subclasses one of the two and registers itself in `rnnmusic.encodings.ENCODINGS`.

Both report what fitting saw in `fit_stats` (vocabulary size, sequence lengths, coverage) and, for MIDI
pieces, remember the corpus' usual tempo, time signature and program (`piece_defaults`) so decoded pieces
are written out the way the training music sounded.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

import numpy as np

from ..piece import DUR, START

BOS, EOS, UNK = "<s>", "</s>", "<unk>"
SPECIALS = (BOS, EOS, UNK)
GRID_NAMES = {"quarter": 1, "eighth": 2, "8th": 2, "sixteenth": 4, "16th": 4, "triplet": 12, "twelfth": 12}


def grid_steps(value: int | str) -> int:
    """Steps per quarter note (MIDI-side encodings' `grid`) from 1, 2, 4, 12, 'quarter', 'eighth', 'sixteenth'."""
    if isinstance(value, str):
        name = value.strip().lower()
        if name in GRID_NAMES:
            return GRID_NAMES[name]
        if not name.isdigit():
            raise ValueError(f"grid must be steps per quarter note or one of {', '.join(GRID_NAMES)}, got {value!r}")
        value = int(name)
    if int(value) < 1:
        raise ValueError(f"grid must be at least one step per quarter note, got {value}")
    return int(value)


def snap(notes: np.ndarray, grid: int) -> tuple[np.ndarray, np.ndarray]:
    """The one quantization rule of the MIDI-side encodings: (onset step, end step) of each row of a Piece's
    notes, both rounded to the nearest of `grid` steps per quarter, every note at least one step long."""
    on = np.rint(notes[:, START] * grid).astype(np.int64)
    off = np.maximum(on + 1, np.rint((notes[:, START] + notes[:, DUR]) * grid).astype(np.int64))
    return on, off


class Encoding:
    """Base class for token encodings: subclasses implement `tokenize` and `detokenize`."""

    name: ClassVar[str] = ""
    kind: ClassVar[str] = "tokens"  # which model input/head fits this encoding
    piece_format: ClassVar[str] = "abc"  # what decode() returns: "abc" = tune text without X:, "midi" = a Piece
    defaults: ClassVar[dict[str, Any]] = {}  # the options a subclass accepts, with their default values
    generation_defaults: ClassVar[dict[str, Any]] = {}  # `generate`'s own defaults (see generation_request)

    def __init__(self, vocab: Sequence[str] | None = None, *, fit_stats: dict | None = None,
                 piece_defaults: dict | None = None, **options: Any):
        unknown = set(options) - set(self.defaults) - {"min_count"}
        if unknown:
            raise ValueError(f"encoding {self.name!r} has no option(s) {', '.join(sorted(unknown))}")
        self.options = {**self.defaults, **options}
        self.vocab: list[str] = list(vocab) if vocab is not None else []
        self._index = {t: i for i, t in enumerate(self.vocab)}
        self.fit_stats: dict[str, Any] = dict(fit_stats or {})
        self.piece_defaults: dict[str, Any] = dict(piece_defaults or {})

    # -- the two hooks a token encoding implements -------------------------------------------------
    def tokenize(self, piece: str) -> list[str]:
        raise NotImplementedError

    def detokenize(self, tokens: Sequence[str]) -> str:
        raise NotImplementedError

    # -- vocabulary --------------------------------------------------------------------------------
    def fit(self, pieces: Iterable[Any]) -> Encoding:
        """Build the vocabulary from a corpus: specials first, then tokens by descending frequency.

        Tokens seen fewer than `min_count` times (option, default 1) stay out and become <unk>; `fit_stats`
        says how many tokens the vocabulary covers.
        """
        pieces = list(pieces)
        counts: Counter = Counter()
        lengths = []
        for piece in pieces:
            toks = self.tokenize(piece)
            counts.update(toks)
            lengths.append(len(toks) + 2)
        min_count = int(self.options.get("min_count", 1))
        ordered = sorted((t for t in counts if counts[t] >= min_count), key=lambda t: (-counts[t], t))
        self.vocab = list(SPECIALS) + [t for t in ordered if t not in SPECIALS]
        self._index = {t: i for i, t in enumerate(self.vocab)}
        self.token_counts = counts
        total = sum(counts.values())
        covered = sum(n for t, n in counts.items() if t in self._index)
        self.fit_stats = sequence_stats(lengths) | {
            "vocab_size": self.vocab_size, "distinct_tokens": len(counts), "tokens": total,
            "coverage": round(covered / total, 6) if total else 1.0,
            "singletons": sum(1 for n in counts.values() if n == 1),
        }
        if self.piece_format == "midi":
            self.piece_defaults = piece_defaults(pieces)
            self.fit_stats["piece_figures"] = _figure_bands(pieces)
        return self

    def coverage(self, pieces: Iterable[Any]) -> float:
        """Fraction of the tokens of `pieces` that are in the vocabulary (e.g. on the validation split)."""
        total = hit = 0
        for piece in pieces:
            toks = self.tokenize(piece)
            total += len(toks)
            hit += sum(t in self._index for t in toks)
        return hit / total if total else 1.0

    def summary(self) -> str:
        return fit_summary(self.name, self.fit_stats, "tokens")

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def token_id(self, token: str) -> int | None:
        """The vocabulary id of `token`, or None when the vocabulary lacks it."""
        return self._index.get(token)

    @property
    def bos_id(self) -> int:
        return self._index[BOS]

    @property
    def eos_id(self) -> int:
        return self._index[EOS]

    @property
    def unk_id(self) -> int:
        return self._index[UNK]

    # -- ids <-> pieces ----------------------------------------------------------------------------
    def encode(self, piece: str, *, bos: bool = True, eos: bool = True) -> np.ndarray:
        """Token ids of `piece`, framed by <s> ... </s>; tokens outside the vocabulary become <unk>."""
        if not self.vocab:
            raise RuntimeError(f"encoding {self.name!r} has no vocabulary: call fit() first")
        unk = self.unk_id
        ids = [self._index.get(t, unk) for t in self.tokenize(piece)]
        if bos:
            ids.insert(0, self.bos_id)
        if eos:
            ids.append(self.eos_id)
        return np.asarray(ids, dtype=np.int64)

    def decode(self, ids: Sequence[int]) -> str:
        """The piece for any id sequence: specials and out-of-range ids are dropped, never raised on."""
        n = len(self.vocab)
        toks = [self.vocab[i] for i in (int(x) for x in ids) if 0 <= i < n]
        return self.detokenize([t for t in toks if t not in SPECIALS])

    # -- generation ----------------------------------------------------------------------------------
    def penalized(self, token: str) -> bool:
        """Whether the repetition penalty applies to `token` (encodings exempt e.g. time shifts, bar lines)."""
        return token not in SPECIALS

    def constraint(self) -> Any:
        """A fresh per-piece sampling constraint, or None.

        A constraint has `advance(token: str)` (follow the piece) and `allowed() -> bool mask | None` (the
        vocabulary entries that may come next); the sampler never draws a masked-out token.
        """
        return None

    # -- persistence (plain JSON, never pickle) ------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "options": self.options, "vocab": self.vocab,
                "fit_stats": self.fit_stats, "piece_defaults": self.piece_defaults}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Encoding:
        return cls(vocab=d["vocab"], fit_stats=d.get("fit_stats"), piece_defaults=d.get("piece_defaults"),
                   **d.get("options", {}))


class FrameEncoding:
    """Base class for frame encodings: a Piece <-> (T, width) float32 array of 0/1 frames.

    Subclasses implement `frames(piece)` and `piece(frames)` and say their `width`. `encode` prepends one
    all-zero frame (the start symbol: the model predicts the first real frame from it); there is no end
    frame, generation runs for the length asked.
    """

    name: ClassVar[str] = ""
    kind: ClassVar[str] = "frames"
    piece_format: ClassVar[str] = "midi"
    defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, *, fit_stats: dict | None = None, piece_defaults: dict | None = None, **options: Any):
        unknown = set(options) - set(self.defaults)
        if unknown:
            raise ValueError(f"encoding {self.name!r} has no option(s) {', '.join(sorted(unknown))}")
        self.options = {**self.defaults, **options}
        self.fit_stats: dict[str, Any] = dict(fit_stats or {})
        self.piece_defaults: dict[str, Any] = dict(piece_defaults or {})

    # -- the hooks ---------------------------------------------------------------------------------
    @property
    def width(self) -> int:
        raise NotImplementedError

    def frames(self, piece: Any) -> np.ndarray:
        raise NotImplementedError

    def piece(self, frames: np.ndarray) -> Any:
        raise NotImplementedError

    # -- shared ------------------------------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        """The model's input and output width (named like the token encodings' vocabulary size)."""
        return self.width

    def fit(self, pieces: Iterable[Any]) -> FrameEncoding:
        pieces = list(pieces)
        self.fit_rolls([self.frames(p) for p in pieces])
        self.piece_defaults = piece_defaults(pieces)
        self.fit_stats["piece_figures"] = _figure_bands(pieces)
        return self

    def fit_rolls(self, rolls: Sequence[np.ndarray]) -> FrameEncoding:
        """Fit statistics from frames directly (data that comes as rolls, like the benchmark datasets)."""
        lengths = [len(r) + 1 for r in rolls]
        active = sum(float(r.sum()) for r in rolls)
        n_frames = sum(len(r) for r in rolls)
        self.fit_stats = sequence_stats(lengths) | {
            "width": self.width, "frames": n_frames,
            "mean_active_per_frame": round(active / n_frames, 4) if n_frames else 0.0,
            "silent_frames": round(sum(int((r.sum(1) == 0).sum()) for r in rolls) / max(1, n_frames), 4),
        }
        return self

    def encode(self, piece: Any, *, bos: bool = True, eos: bool = True) -> np.ndarray:
        f = self.frames(piece).astype(np.float32)
        return self.with_start(f) if bos else f

    def with_start(self, frames: np.ndarray) -> np.ndarray:
        """Frames as the model reads them: float32, after the all-zero start frame."""
        return np.concatenate([np.zeros((1, self.width), np.float32), np.asarray(frames, np.float32)])

    def decode(self, frames: np.ndarray) -> Any:
        return self.piece(np.asarray(frames) > 0.5)

    def constraint(self) -> Any:
        return None

    def summary(self) -> str:
        return fit_summary(self.name, self.fit_stats, "frames")

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "options": self.options, "fit_stats": self.fit_stats,
                "piece_defaults": self.piece_defaults}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FrameEncoding:
        return cls(fit_stats=d.get("fit_stats"), piece_defaults=d.get("piece_defaults"), **d.get("options", {}))


def sequence_stats(lengths: Sequence[int]) -> dict[str, Any]:
    if not lengths:
        return {"pieces": 0}
    a = np.asarray(lengths)
    return {"pieces": len(a), "mean_length": round(float(a.mean()), 1), "median_length": int(np.median(a)),
            "max_length": int(a.max()), "min_length": int(a.min())}


def fit_summary(name: str, st: dict[str, Any], unit: str) -> str:
    if not st.get("pieces"):
        return f"encoding {name}: fitted on nothing"
    size = (f"vocabulary {st['vocab_size']} ({st['coverage']:.2%} of {st['tokens']:,} tokens covered)"
            if "vocab_size" in st else f"width {st['width']}, {st['mean_active_per_frame']} notes/frame")
    return (f"encoding {name}: {size}; {st['pieces']} pieces, {unit} per piece mean {st['mean_length']} "
            f"median {st['median_length']} max {st['max_length']}")


def piece_defaults(pieces: Sequence[Any]) -> dict[str, Any]:
    """The corpus' usual tempo (median), time signature and program (most common), for writing output."""
    if not pieces or not hasattr(pieces[0], "tempo"):
        return {}
    return {
        "tempo": float(np.median([p.tempo for p in pieces])),
        "time_signature": list(Counter(tuple(p.time_signature) for p in pieces).most_common(1)[0][0]),
        "program": int(Counter(p.program for p in pieces).most_common(1)[0][0]),
    }


def _figure_bands(pieces: Sequence[Any]) -> dict[str, list[float]]:
    """The training pieces' musical figure bands, which generated pieces are compared with (musical_report)."""
    from ..evaluation.musical_report import corpus_ranges

    return corpus_ranges(p for p in pieces if hasattr(p, "notes"))
