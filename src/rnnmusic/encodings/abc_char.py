"""`abc-char`: one token per character of the cleaned tune text (the char-RNN approach of folk-rnn)."""
from __future__ import annotations

from collections.abc import Sequence

from .base import Encoding


class AbcChar(Encoding):
    name = "abc-char"

    def tokenize(self, piece: str) -> list[str]:
        return list(piece)

    def detokenize(self, tokens: Sequence[str]) -> str:
        return "".join(tokens)
