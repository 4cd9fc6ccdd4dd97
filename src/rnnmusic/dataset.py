"""Training data: the corpus loaded, split, key-handled and encoded, ready for batching.

ABC encodings read tunes with `corpus.load_abc`; MIDI-side encodings (notes, pianoroll, events) read
`Piece`s with `corpus.load_pieces` (MIDI, MusicXML, kern, ABC, built-in classical corpora). For the latter,
`normalize_key` transposes every piece to C major / A minor (the shift is kept per piece in the corpus
report) and `augment_keys` adds a transposed copy of each training piece. The `lead` encoding reads lead
sheets (melody + chords) and always normalizes keys. The split is by piece and is
made before augmentation, so no transposition of a validation piece is ever trained on.

When a token encoding is fitted for a new run (not a resumed or fine-tuned one), `vocabulary_warning` records in
its `fit_stats` the share of the vocabulary (specials aside) seen exactly once in the training split
(`singleton_share`, with the count as `vocab_singletons`) and, when that share is over `SINGLETON_SHARE` (half),
the run prints one warning line with the figures and the fixes: a model cannot learn a token from one example.
"""
from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm import tqdm

from .callbacks import log
from .config import TrainConfig
from .corpus import CorpusReport
from .encodings import Encoding, get_encoding
from .encodings.base import SPECIALS
from .polyphonic_data import POLYPHONIC, load_polyphonic

SINGLETON_SHARE = 0.5  # warn when more than this share of a fitted vocabulary (specials aside) was seen once


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
        data = _prepare_abc(cfg, enc, fit=encoding is None)
    else:
        data = _prepare_pieces(cfg, enc, fit=encoding is None)
    if encoding is None and not cfg.init_from and enc.kind != "frames":  # fine-tunes keep their base's vocabulary
        warning = vocabulary_warning(enc)
        if warning:
            log(f"warning: {warning}")
    return data


def vocabulary_warning(enc: Encoding) -> str | None:
    """After `enc.fit`: record the share of the vocabulary (specials aside) seen exactly once in `enc.fit_stats`
    (`singleton_share`, `vocab_singletons`) and return a one-line warning with the fixes when that share is over
    `SINGLETON_SHARE`, else None."""
    counts = getattr(enc, "token_counts", None)
    if counts is None:
        return None
    vocab = [t for t in enc.vocab if t not in SPECIALS]
    once = sum(1 for t in vocab if counts.get(t, 0) == 1)
    share = once / len(vocab) if vocab else 0.0
    enc.fit_stats |= {"singleton_share": round(share, 4), "vocab_singletons": once}
    if share <= SINGLETON_SHARE:
        return None
    total = sum(counts.values())
    fixes = [f"--min-count 2 (they become <unk>, {once / max(1, total):.1%} of the tokens)"]
    if enc.piece_format == "midi" and enc.name != "events" and not getattr(enc, "needs_chords", False):
        fixes.append("a factorized encoding such as --encoding events (pitch, duration and time shift as tokens of "
                     "their own)")
    fixes.append("more data")
    fixes.append(f"--init-from {_base_hint(enc.name)}")
    return (f"{once:,} of {len(vocab):,} tokens of the {enc.name} vocabulary ({share:.0%}) occur once in {total:,}: "
            f"a model cannot learn a token from one example. Try {', '.join(fixes[:-1])} or {fixes[-1]}")


def _base_hint(encoding: str) -> str:
    """What to fine-tune from: the shipped models with this encoding by name, else a run trained on more data."""
    from .models import shipped_models

    names = []
    for name, folder in shipped_models().items():
        try:
            if json.loads((folder / "encoding.json").read_text()).get("name") == encoding:
                names.append(name)
        except (OSError, ValueError, AttributeError):
            continue
    if names:
        return f"a shipped model with this encoding ({', '.join(names)})"
    return f"a run trained on a larger corpus with the {encoding} encoding"


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
