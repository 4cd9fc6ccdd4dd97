"""The one small interface every encoding implements.

An encoding turns a piece (for ABC: the cleaned tune text) into a 1-D array of token ids and back. It owns
its vocabulary, fitted on a corpus, and serialises to plain JSON so a saved model is self-describing.
Adding an encoding is adding one module that subclasses `Encoding` and registers itself in
`rnnmusic.encodings.ENCODINGS`.
"""
from __future__ import annotations

from typing import Any, ClassVar, Iterable, Sequence

import numpy as np

BOS, EOS, UNK = "<s>", "</s>", "<unk>"
SPECIALS = (BOS, EOS, UNK)


class Encoding:
    """Base class for token encodings: subclasses implement `tokenize` and `detokenize`."""

    name: ClassVar[str] = ""
    kind: ClassVar[str] = "tokens"  # which model input/head fits this encoding
    piece_format: ClassVar[str] = "abc"  # what decode() returns: "abc" = the text of one tune without X:

    def __init__(self, vocab: Sequence[str] | None = None, **options: Any):
        self.options = dict(options)
        self.vocab: list[str] = list(vocab) if vocab is not None else []
        self._index = {t: i for i, t in enumerate(self.vocab)}

    # -- the two hooks a token encoding implements -------------------------------------------------
    def tokenize(self, piece: str) -> list[str]:
        raise NotImplementedError

    def detokenize(self, tokens: Sequence[str]) -> str:
        raise NotImplementedError

    # -- vocabulary --------------------------------------------------------------------------------
    def fit(self, pieces: Iterable[str]) -> "Encoding":
        """Build the vocabulary from a corpus: specials first, then tokens by descending frequency."""
        counts: dict[str, int] = {}
        for piece in pieces:
            for tok in self.tokenize(piece):
                counts[tok] = counts.get(tok, 0) + 1
        ordered = sorted(counts, key=lambda t: (-counts[t], t))
        self.vocab = list(SPECIALS) + [t for t in ordered if t not in SPECIALS]
        self._index = {t: i for i, t in enumerate(self.vocab)}
        self.token_counts = counts
        return self

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

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
    def constraint(self) -> Any:
        """A fresh per-piece sampling constraint, or None.

        A constraint has `advance(token: str)` (follow the piece) and `allowed() -> bool mask | None` (the
        vocabulary entries that may come next); the sampler never draws a masked-out token.
        """
        return None

    # -- persistence (plain JSON, never pickle) ------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "options": self.options, "vocab": self.vocab}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Encoding":
        return cls(vocab=d["vocab"], **d.get("options", {}))
