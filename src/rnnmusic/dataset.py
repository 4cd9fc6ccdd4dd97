"""Training data: the corpus loaded, split, key-handled and encoded, ready for batching.

ABC encodings read tunes with `corpus.load_abc`; MIDI-side encodings (notes, pianoroll, events) read
`Piece`s with `corpus.load_pieces` (MIDI, MusicXML, kern, ABC, built-in classical corpora). For the latter,
`normalize_key` transposes every piece to C major / A minor (the shift is kept per piece in the corpus
report) and `augment_keys` adds a transposed copy of each training piece. The `lead` encoding reads lead
sheets (melody + chords) and always normalizes keys. The split is by piece and is
made before augmentation, so no transposition of a validation piece is ever trained on.
"""
from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm import tqdm

from .config import TrainConfig
from .corpus import CorpusReport
from .encodings import Encoding, get_encoding
from .polyphonic_data import POLYPHONIC, load_polyphonic


@dataclass
class TrainingData:
    """A corpus ready for batching: the (fitted) encoding, the encoded train and valid pieces, the corpus report
    and, for MIDI-side corpora, one record per piece (source, split, key, shift)."""

    encoding: Encoding
    train: list[np.ndarray]
    valid: list[np.ndarray]
    report: CorpusReport
    pieces: list[dict[str, Any]] = field(default_factory=list)  # per piece: source, split, key, shift (MIDI side)

    def report_dict(self) -> dict[str, Any]:
        d = self.report.to_dict()
        if self.pieces:
            d["pieces"] = self.pieces
        d["encoding"] = self.encoding.fit_stats
        return d


def prepare(cfg: TrainConfig, encoding: Encoding | None = None) -> TrainingData:
    """Load, split and encode the corpus of `cfg`; fit a new encoding unless one is given (resume)."""
    enc = encoding or get_encoding(cfg.encoding, **cfg.encoding_options)
    if cfg.corpus and cfg.corpus[0].startswith(POLYPHONIC):
        return _prepare_polyphonic(cfg, enc, fit=encoding is None)
    if enc.piece_format == "abc":
        return _prepare_abc(cfg, enc, fit=encoding is None)
    return _prepare_pieces(cfg, enc, fit=encoding is None)


def _prepare_abc(cfg: TrainConfig, enc: Encoding, fit: bool) -> TrainingData:
    from .corpus import load_abc
    from .errors import UserError

    if cfg.normalize_key or cfg.augment_keys or cfg.tracks:
        raise UserError(f"--normalize-key, --augment-keys and --tracks apply to MIDI-side encodings "
                        f"(notes, pianoroll, events), not {enc.name}")
    corpus = load_abc(cfg.corpus, max_tunes=cfg.max_tunes, keep_chords=cfg.keep_chords)
    train, valid = corpus.split(cfg.valid_fraction, cfg.split_seed)
    if fit:
        enc.fit(t.text for t in train)
    return TrainingData(enc, [enc.encode(t.text) for t in train], [enc.encode(t.text) for t in valid], corpus.report)


def _prepare_pieces(cfg: TrainConfig, enc: Encoding, fit: bool) -> TrainingData:
    from .corpus import load_pieces
    from .corpus.scores import Limits
    from .errors import UserError
    from .keys import augment, estimate_key, normalize_key

    lead = getattr(enc, "needs_chords", False)  # lead sheets: melody + chords (corpus.leadsheets)
    corpus = load_pieces(cfg.corpus, tracks=cfg.tracks, max_pieces=cfg.max_tunes, limits=Limits(lead=lead))
    report = corpus.report
    train, valid = corpus.split(cfg.valid_fraction, cfg.split_seed)
    if cfg.normalize_key or getattr(enc, "normalizes_key", False):
        train, valid = (_normalized(ps, report, normalize_key) for ps in (train, valid))
    else:
        for p in (*train, *valid):
            p.key = p.key or str(estimate_key(p).key)
    if not train or not valid:
        raise UserError("the corpus needs at least two usable pieces (one to train on, one to validate)")
    pieces = [p.to_dict() | {"split": "train"} for p in train] + [p.to_dict() | {"split": "valid"} for p in valid]
    train = _augmented(train, cfg, report, augment)
    if fit:
        enc.fit(train)
    if lead:
        extra = enc.withheld_copies(train)
        report.warnings.append(f"chords withheld: {len(extra)} training pieces added again without their chords")
        train = train + extra
    return TrainingData(enc, _encode_all(enc, train), _encode_all(enc, valid), report, pieces)


def _prepare_polyphonic(cfg: TrainConfig, enc: Encoding, fit: bool) -> TrainingData:
    """The benchmark's own train/valid split, one frame per roll step (88 keys, no onset channel)."""
    from .errors import UserError

    if enc.kind != "frames" or enc.vocab_size != 88:
        raise UserError("the polyphonic benchmark needs the pianoroll encoding without onsets (88 keys)")
    if cfg.normalize_key or cfg.tracks:
        raise UserError("--normalize-key and --tracks do not apply to the polyphonic benchmark (its test set is "
                        "scored in its own keys)")
    _, name, folder = cfg.corpus[0].split(":", 2)
    data = load_polyphonic(name, folder)
    report = CorpusReport(sources=list(cfg.corpus), files_read=1, tunes_found=len(data.train) + len(data.valid),
                          tunes_kept=len(data.train) + len(data.valid))
    from .keys import augment_rolls

    train = _augmented(data.train, cfg, report, augment_rolls)
    if fit:
        enc.piece_defaults = {"tempo": 120.0, "time_signature": [4, 4], "program": 0}
        enc.fit_rolls(data.train)
    return TrainingData(enc, [enc.with_start(r) for r in train], [enc.with_start(r) for r in data.valid], report)


def _augmented(train: list, cfg: TrainConfig, report: CorpusReport, augment) -> list:
    """The training split plus `augment`'s transposed copies (pieces or rolls) when --augment-keys asks."""
    if not cfg.augment_keys:
        return train
    extra = augment(train, cfg.augment_keys, seed=cfg.seed)
    report.warnings.append(f"key augmentation: {len(extra)} transposed copies (+/-{cfg.augment_keys} semitones) "
                           "added to the training split")
    return train + extra


def _normalized(pieces, report: CorpusReport, normalize) -> list:
    out = []
    for p in pieces:
        try:
            out.append(normalize(p))
        except ValueError as e:
            report.drop("key normalization impossible", p.source)
            report.warn(p.source, f"skipped: {e}")
    return out


def _encode_all(enc: Encoding, pieces: list) -> list[np.ndarray]:
    """Encode pieces, reusing the on-disk cache keyed by the notes' content and the encoding's full config."""
    from .corpus.cache import cache_dir

    key = hashlib.sha256(json.dumps(enc.to_dict(), sort_keys=True, default=str).encode())
    for p in pieces:
        key.update(np.ascontiguousarray(p.notes).tobytes())
        key.update(repr((p.tempo, p.time_signature, p.meta.get("chords"))).encode())
    folder = cache_dir()
    path = folder / "encoded" / f"{key.hexdigest()[:32]}.npz" if folder else None
    if path is not None and path.exists():
        try:
            with np.load(path, allow_pickle=False) as z:
                arrays = [z[f"p{i}"] for i in range(len(pieces))]
            return arrays
        except (OSError, KeyError, ValueError):
            pass  # corrupted or stale: rebuild
    arrays = [enc.encode(p) for p in tqdm(pieces, desc=f"encoding ({enc.name})", unit="piece", file=sys.stderr,
                                          disable=len(pieces) < 200, leave=False)]
    if path is not None:
        from .corpus.cache import save_npz

        save_npz(path, {f"p{i}": a for i, a in enumerate(arrays)})
    return arrays
