"""`abc-folk`: `abc-tokens` with the tune's form in front, so a model can be asked for a reel in 2 parts of 8 bars.

Each tune opens with three conditioning tokens read from the tune itself by `abc_form.tune_form`, then the
tune's own `abc-tokens` (header fields M:, L:, R:, K: ... and the body)::

    <s> <type:reel> <parts:2> <bars:8> M:C| "\\n" L:1/8 "\\n" R:reel "\\n" K:D "\\n" |: A ... :| </s>

``<type:...>`` is the normalised ``R:`` field (``?`` when a tune has none), ``<parts:N>`` the number of
sections of 3 bars or more (5 = five or more), ``<bars:N>`` the bars per part. The model learns them as it
learns everything else; a request (`FolkRequest`) is honoured by the sampling constraint (`abc_request`),
which only lets the requested token through at each such choice (type, parts, bars per part, meter, key)
and keeps the body to the requested form. `detokenize` drops the conditioning tokens, so decoded tunes are
plain ABC and ``detokenize(tokenize(t)) == t`` for cleaned tunes, as in `abc-tokens`.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .abc_form import form_tokens, tune_form
from .abc_tokens import AbcTokens, _detokenize, _tokenize


def is_conditioning(tok: str) -> bool:
    """`<type:reel>`, `<parts:2>`, `<bars:8>`: tokens that say what the tune is, not part of its text."""
    return len(tok) > 2 and tok[0] == "<" and tok[-1] == ">" and ":" in tok


class AbcFolk(AbcTokens):
    """abc-tokens with conditioning tokens (type, parts, bars per part) opening every tune."""

    name = "abc-folk"
    primes_by_constraint = True  # a text prime is forced by the constraint, after the conditioning tokens

    def tokenize(self, piece: str) -> list[str]:
        if not piece or piece[0] == "<":  # a prime given as tokens already, or nothing
            return _tokenize(piece)
        return form_tokens(tune_form(piece)) + _tokenize(piece)

    def detokenize(self, tokens: Sequence[str]) -> str:
        return _detokenize([t for t in tokens if not is_conditioning(str(t))])

    def fit(self, pieces):
        """As every token encoding, plus the tunes per type in `fit_stats["types"]` (the request guard's default:
        the dance types a corpus has, or whatever types it has when it names none)."""
        pieces = list(pieces)
        super().fit(pieces)
        types: dict[str, int] = {}
        for piece in pieces:
            kind = tune_form(piece).type
            types[kind] = types.get(kind, 0) + 1
        self.fit_stats["types"] = dict(sorted(types.items(), key=lambda kv: -kv[1]))
        return self

    def default_types(self) -> list[str]:
        """The types a tune is drawn among when none is asked for."""
        from .abc_form import OTHER_TYPE, UNKNOWN_TYPE

        seen = self.fit_stats.get("types") or {}
        dances = [t for t in seen if t not in (OTHER_TYPE, UNKNOWN_TYPE, "air")]
        return dances or list(seen)

    def constraint(self, controls: dict[str, Any] | None = None):
        """The bar guard plus the request's guard (`abc_request.RequestGuard`): type, parts, bars, meter, key."""
        from .abc_request import RequestGuard

        return RequestGuard(self, super().constraint(), controls or {})
