"""The train/validation split shared by every corpus: by item, from a keyed hash of each item's key."""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TypeVar

from ..errors import UserError

T = TypeVar("T")


def keyed_split(items: Sequence[T], keys: Sequence[str], valid_fraction: float, seed: int) -> tuple[list[T], list[T]]:
    """(train, valid), both in the items' order. An item's side depends only on the seed and its key (a keyed
    hash: the same in every process whatever PYTHONHASHSEED is, and whatever else is in the corpus). With two
    or more items and a fraction above 0, at least one item is held out and at least one is trained on."""
    if not 0.0 <= valid_fraction < 1.0:
        raise UserError(f"valid fraction must be at least 0 and below 1, got {valid_fraction}")
    n = len(items)
    if n < 2 or valid_fraction == 0.0:
        return list(items), []
    n_valid = min(n - 1, max(1, round(n * valid_fraction)))
    ranks = sorted((hashlib.blake2b(f"{seed}\0{k}".encode(), digest_size=8).digest(), k, i)
                   for i, k in enumerate(keys))
    valid_idx = {i for _, _, i in ranks[:n_valid]}
    return ([x for i, x in enumerate(items) if i not in valid_idx],
            [x for i, x in enumerate(items) if i in valid_idx])
