"""Named ABC corpora that ship inside music21 (no download): `essen`, `oneills`, `ryans`, `airds`, `miscfolk`,
`all-folk`.

The music21 package is located without importing it (importing music21 takes about a second).
"""
from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass

from ..errors import UserError


@dataclass(frozen=True)
class BuiltinCorpus:
    name: str
    description: str
    folders: tuple[str, ...]  # folders under music21/corpus
    approx_tunes: int

    @property
    def folder(self) -> str:
        """The music21 corpus folder (folders joined with '+' for `all-folk`)."""
        return "+".join(self.folders)

    def paths(self) -> list[str]:
        """Absolute folder paths inside the installed music21."""
        root = music21_corpus_dir()
        return [os.path.join(root, f) for f in self.folders]


_SINGLE = (
    BuiltinCorpus("essen", "Essen folksong collection (mostly German and Chinese songs)", ("essenFolksong",), 8514),
    BuiltinCorpus("oneills", "O'Neill's Music of Ireland (1850 tunes, 1903)", ("oneills1850",), 2009),
    BuiltinCorpus("ryans", "Ryan's Mammoth Collection of fiddle tunes (1883), one file per tune",
                  ("ryansMammoth",), 1059),
    BuiltinCorpus("airds", "Aird's Airs: Scottish, English, Irish and foreign airs (1778-1803)", ("airdsAirs",), 1180),
    BuiltinCorpus("miscfolk", "Miscellaneous folk: American fife music and Northumbrian minstrelsy",
                  ("miscFolk",), 185),
)
ALL_FOLK = BuiltinCorpus(
    "all-folk",
    "all of the above together",
    tuple(f for c in _SINGLE for f in c.folders),
    sum(c.approx_tunes for c in _SINGLE),
)
BUILTIN_CORPORA: dict[str, BuiltinCorpus] = {c.name: c for c in (*_SINGLE, ALL_FOLK)}


def builtin_names() -> list[str]:
    """Names accepted by `load_abc` as built-in corpora (case-insensitive), `all-folk` last."""
    return list(BUILTIN_CORPORA)


def find_builtin(source: str) -> BuiltinCorpus | None:
    """The built-in corpus named by `source` (case-insensitive, surrounding spaces ignored), or None."""
    return BUILTIN_CORPORA.get(source.strip().lower())


def music21_corpus_dir() -> str:
    """The `corpus` folder of the installed music21 package."""
    spec = importlib.util.find_spec("music21")
    if spec is None or not spec.origin:
        raise UserError("music21 is not installed, so the built-in corpora are unavailable (pip install music21)")
    return os.path.join(os.path.dirname(spec.origin), "corpus")
