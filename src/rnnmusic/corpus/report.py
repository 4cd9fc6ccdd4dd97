"""What a corpus load read, skipped, kept and dropped, and why: `CorpusReport`."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

EXAMPLES_PER_REASON = 3
DUPLICATE = "duplicate"


@dataclass
class CorpusReport:
    sources: list[str] = field(default_factory=list)
    files_read: int = 0
    files_skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    tunes_found: int = 0
    tunes_kept: int = 0
    tunes_dropped: Counter = field(default_factory=Counter)  # reason -> count (duplicates included)
    drop_examples: dict[str, list[str]] = field(default_factory=dict)  # reason -> first examples, each naming a source
    # field letter ('%' comments, '%%' directives) -> lines dropped
    header_fields_dropped: Counter = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)  # "path: reason", one per skipped file or problem
    stopped_at_max_tunes: int | None = None  # set when loading stopped early because max_tunes tunes were kept
    seconds: float = 0.0

    @property
    def duplicates_removed(self) -> int:
        return self.tunes_dropped.get(DUPLICATE, 0)

    # -- recording ------------------------------------------------------------------------------------------
    def skip_file(self, path: str, reason: str) -> None:
        self.files_skipped.append((path, reason))
        self.warn(path, reason)

    def warn(self, path: str, reason: str) -> None:
        self.warnings.append(f"{path}: {reason}")

    def drop(self, reason: str, example: str) -> None:
        self.tunes_dropped[reason] += 1
        examples = self.drop_examples.setdefault(reason, [])
        if len(examples) < EXAMPLES_PER_REASON:
            examples.append(example)

    # -- output ---------------------------------------------------------------------------------------------
    def summary(self) -> str:
        """A few human-readable lines: counts first, then reasons, then examples."""
        lines = [
            f"read {self.files_read} files ({len(self.files_skipped)} skipped) from "
            f"{', '.join(self.sources) or 'nothing'}; "
            f"{self.tunes_found} tunes found, {self.tunes_kept} kept ({self.seconds:.1f} s)"
        ]
        if self.stopped_at_max_tunes is not None:
            lines.append(f"stopped after max_tunes={self.stopped_at_max_tunes} tunes")
        if self.tunes_dropped:
            lines.append("dropped: " + ", ".join(f"{n} {r}" for r, n in self.tunes_dropped.most_common()))
        else:
            lines.append("dropped: none")
        if self.header_fields_dropped:
            fields = ", ".join(f"{k} {n}" for k, n in self.header_fields_dropped.most_common())
            lines.append(f"header fields dropped: {fields}")
        if self.drop_examples:
            lines.append("first examples: " + "; ".join(
                f"{reason}: {', '.join(ex)}" for reason, ex in self.drop_examples.items()))
        for path, reason in self.files_skipped[:10]:
            lines.append(f"skipped {path}: {reason}")
        if len(self.files_skipped) > 10:
            lines.append(f"... and {len(self.files_skipped) - 10} more skipped files")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "sources": list(self.sources),
            "files_read": self.files_read,
            "files_skipped": [{"path": p, "reason": r} for p, r in self.files_skipped],
            "tunes_found": self.tunes_found,
            "tunes_kept": self.tunes_kept,
            "tunes_dropped": dict(self.tunes_dropped.most_common()),
            "drop_examples": {r: list(ex) for r, ex in self.drop_examples.items()},
            "header_fields_dropped": dict(self.header_fields_dropped.most_common()),
            "duplicates_removed": self.duplicates_removed,
            "warnings": list(self.warnings),
            "stopped_at_max_tunes": self.stopped_at_max_tunes,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class ScoreReport(CorpusReport):
    """A CorpusReport whose tunes_* counters count pieces, with cache counters."""

    files_cached: int = 0    # files whose result came from the cache
    files_parsed: int = 0    # files parsed in this load
    cache_rebuilt: int = 0   # cache entries that were unreadable and were parsed again
    notes_kept: int = 0
    files_unusable: list[tuple[str, str]] = field(default_factory=list)  # (path, reason): read, but no piece kept

    def summary(self) -> str:
        lines = super().summary().split("\n")
        lines[0] = lines[0].replace(" tunes found, ", " pieces found, ")
        lines = [line.replace("max_tunes=", "max_pieces=").replace(" tunes", " pieces")
                 if line.startswith("stopped after") else line for line in lines]
        rebuilt = f" ({self.cache_rebuilt} unreadable cache entries rebuilt)" if self.cache_rebuilt else ""
        lines.insert(1, f"{self.notes_kept:,} notes; {self.files_cached} files from the cache, "
                        f"{self.files_parsed} parsed{rebuilt}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "files_cached": self.files_cached, "files_parsed": self.files_parsed,
                "cache_rebuilt": self.cache_rebuilt, "notes_kept": self.notes_kept,
                "files_unusable": [{"path": p, "reason": r} for p, r in self.files_unusable]}
