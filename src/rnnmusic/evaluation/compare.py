"""`rnnmusic evaluate`: musical metrics of a set of pieces, compared with a reference corpus, as a report.

    ev = evaluate(["out/"], reference=["bach-chorales"])      # files, folders, globs; corpus names
    write_report(ev, Path("out"))   # out/evaluation.{json,md,html,png}

For every readable piece (MIDI, MusicXML, kern, ABC tunebooks: read by `corpus.load_pieces`, unreadable
files skipped with their reason) it computes `metrics.piece_metrics` and the pitch-class and note-length
histograms; every ABC tune also gets `abc_check.tune_verdict` (header, abc2midi acceptance, bar durations, at
least `min_bars` bars: the verdict `generate` gives the same tune). With a reference corpus (the training data,
say; a seeded random sample of `max_reference` of its pieces, see `read_reference`) the same metrics are
computed on it and each metric's distribution is compared (`metrics.distribution_distance`: histogram overlap
area and KL), and each piece is searched for its longest run copied from a reference piece
(`novelty.TrainingIndex`, transpositions included); pieces copying more than `max_copy_bars` bars are flagged.
"""
from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import metrics as M
from .novelty import Copy, TrainingIndex, flag_copies

HISTOGRAMS = ("pitch_classes", "note_lengths")
PITCH_CLASS_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
#: The seed of the reference sample (`read_reference`): fixed, so every evaluation compares with the same pieces.
REFERENCE_SEED = 19


@dataclass
class Measured:
    """One set of pieces measured: per-piece metrics and histograms, plus what could not be read."""
    names: list[str]
    metrics: list[dict[str, float]]
    pitch_classes: np.ndarray   # (pieces, 12)
    note_lengths: np.ndarray    # (pieces, bins)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def values(self, key: str) -> list[float]:
        return [m[key] for m in self.metrics]

    def histogram(self, which: str) -> np.ndarray:
        """The set's histogram: each piece's normalized histogram weighted by its note count."""
        h, w = getattr(self, which), np.array(self.values("notes"), dtype=np.float64)
        total = (h * w[:, None]).sum(0) if len(h) else np.zeros(h.shape[1])
        return total / total.sum() if total.sum() else total


def measure(pieces, names: Sequence[str] | None = None, skipped=()) -> Measured:
    pieces = list(pieces)
    names = list(names) if names is not None else [p.source or f"piece {i + 1}" for i, p in enumerate(pieces)]
    return Measured(
        names, [M.piece_metrics(p) for p in pieces],
        np.array([M.pitch_class_histogram(p) for p in pieces]).reshape(len(pieces), 12),
        np.array([M.note_length_histogram(p) for p in pieces]).reshape(len(pieces), len(M.NOTE_LENGTH_NAMES)),
        list(skipped))


def generated_files(sources: Sequence[str]) -> list[str]:
    """Folders expanded into their score files, leaving out a .mid beside an .abc of the same name (what
    `generate` writes: the MIDI is the ABC tune rendered, not another piece); other sources unchanged."""
    from ..corpus.formats import READABLE_SUFFIXES, files_in

    out: list[str] = []
    for s in sources:
        if not Path(s).is_dir():
            out.append(str(s))
            continue
        files = files_in(str(s), READABLE_SUFFIXES)
        abc = {str(Path(f).with_suffix("")) for f in files if f.lower().endswith(".abc")}
        out += [f for f in files if not (f.lower().endswith((".mid", ".midi")) and str(Path(f).with_suffix("")) in abc)]
    return out


def read_pieces(sources: Sequence[str], max_pieces: int | None = None, workers: int | None = None):
    """(pieces, skipped (source, reason) pairs) of files, folders, globs or corpus names, read by the guarded reader
    (`corpus.load_pieces`); skipped holds the files refused and the files none of whose pieces could be used."""
    from ..corpus import load_pieces

    corpus = load_pieces(list(sources), max_pieces=max_pieces, workers=workers)
    return corpus.pieces, list(corpus.report.files_skipped) + list(getattr(corpus.report, "files_unusable", []))


def read_reference(sources: Sequence[str], max_pieces: int | None = None, workers: int | None = None):
    """(pieces, skipped) of the reference corpus: a random sample of `max_pieces` of its pieces (all of them when
    there are fewer or max_pieces is None), drawn with `REFERENCE_SEED`, so always the same sample, in corpus
    order. ABC tunes are drawn from the whole cleaned corpus (`load_abc`: text only, fast) and only the drawn
    ones are parsed into pieces; O'Neill's first 300 tunes, say, are all slow airs, a sample has every type.
    MIDI, MusicXML and kern pieces are all read (cached), then drawn from."""
    import random

    from ..corpus import is_score_source, load_abc

    scores = [str(s) for s in sources if is_score_source(s)]
    abc = [str(s) for s in sources if not is_score_source(s)]
    pieces, skipped = read_pieces(scores, workers=workers) if scores else ([], [])
    pool = [(p, None) for p in pieces] + [(None, t) for t in (load_abc(abc).tunes if abc else [])]
    if max_pieces is not None and len(pool) > max_pieces:
        pool = [pool[i] for i in sorted(random.Random(REFERENCE_SEED).sample(range(len(pool)), max_pieces))]
    tunes = [t for _, t in pool if t is not None]
    return [p for p, _ in pool if p is not None] + _tune_pieces(tunes, workers, skipped), skipped


def _tune_pieces(tunes, workers: int | None, skipped: list) -> list:
    """Pieces of cleaned tunes (`corpus.Tune`), read as one tunebook, each keeping its tune's source."""
    import tempfile

    if not tunes:
        return []
    with tempfile.TemporaryDirectory(prefix="rnnmusic-reference-") as tmp:
        book = Path(tmp) / "reference.abc"
        book.write_text("".join(f"X:{i}\n{t.text}\n" for i, t in enumerate(tunes, 1)), encoding="utf-8")
        pieces, dropped = read_pieces([str(book)], workers=workers)

    def original(source: str) -> str:
        _, _, number = source.partition("#X:")
        if not number.isdigit():
            return source
        path, sep, where = tunes[int(number) - 1].source.rpartition(":X:")  # load_abc's book.abc:X:12
        return f"{path}#X:{where}" if sep else tunes[int(number) - 1].source  # as load_pieces names it

    for p in pieces:
        p.source = original(p.source)
    skipped += [(original(s.split(" ", 1)[0]), r) for s, r in dropped]
    return pieces


def abc_checks(files: Sequence[str], min_bars: int | None = None) -> list[tuple[str, Any]]:
    """(tune source `file.abc#X:n`, TuneCheck) for every tune the reader accepts of every .abc file among `files`
    (folders already expanded by `generated_files`): `abc_check.tune_verdict`, the verdict `generate` gives a tune (at
    least `min_bars` bars, default `abc_check.MIN_BARS`)."""
    from ..corpus.reader import read_tunebook
    from .abc_check import MIN_BARS, tune_verdict

    out = []
    for f in (s for s in files if s.lower().endswith(".abc") and Path(s).is_file()):
        book = read_tunebook(f)  # the guarded reader: tunes it refuses are not checked (read_pieces skips them)
        out += [(t.source, tune_verdict(t.raw, min_bars=MIN_BARS if min_bars is None else min_bars))
                for t in book.judged() if t.cleaned is not None]
    return out


@dataclass
class Evaluation:
    generated: Measured
    reference: Measured | None = None
    reference_name: str = ""
    distances: dict[str, dict[str, float]] = field(default_factory=dict)
    copies: list[Copy] = field(default_factory=list)
    max_copy_bars: float = 4.0
    abc: list[tuple[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, float]:
        """Mean of each metric over the generated pieces (plus ABC validity and copy shares when known)."""
        g = self.generated
        out = {k: float(np.mean(g.values(k))) if g.metrics else float("nan") for k in M.METRIC_INFO}
        if self.abc:
            out |= {"abc_valid": _share(c.valid for _, c in self.abc),
                    "abc_header_ok": _share(c.header_ok for _, c in self.abc),
                    "abc2midi_ok": _share(c.abc2midi_ok is not False for _, c in self.abc),
                    "abc_bars_ok": _share(c.bars_wrong == 0 for _, c in self.abc)}
        if self.copies:
            out["copied"] = _share(c.copied for c in self.copies)
        return out

    def metric_rows(self) -> list[list[str]]:
        head = ["metric", "generated mean (sd)"]
        if self.reference:
            head += ["reference mean (sd)", "overlap", "KL (bits)"]
        rows = [head]
        for k, info in M.METRIC_INFO.items():
            v = self.generated.values(k)
            row = [f"{k}: {info}", _mean_sd(v)]
            if self.reference:
                d = self.distances[k]
                row += [_mean_sd(self.reference.values(k)), f"{d['overlap']:.2f}", f"{d['kl']:.2f}"]
            rows.append(row)
        if self.reference:
            for h in HISTOGRAMS:
                d = self.distances[h]
                rows.append([f"{h} (histogram over all notes)", "", "", f"{d['overlap']:.2f}", f"{d['kl']:.2f}"])
        return rows

    def piece_rows(self) -> list[list[str]]:
        keys = ("notes", "bars", "pitch_range", "pitch_class_entropy", "scale_consistency", "polyphony",
                "empty_beat_rate", "groove_consistency", "repeated_bars")
        head = ["piece", *keys] + (["longest copy (bars)", "copied from"] if self.copies else [])
        rows = [head]
        for i, (name, m) in enumerate(zip(self.generated.names, self.generated.metrics)):
            row = [Path(name).name, *(_num(m[k]) for k in keys)]
            if self.copies:
                c = self.copies[i]
                row += [f"{c.bars:.1f}" + (" COPIED" if c.copied else "") + (" (transposed)" if c.transposed else ""),
                        Path(c.source).name if c.events else ""]
            rows.append(row)
        return rows

    def abc_rows(self) -> list[list[str]]:
        rows = [["tune", "header", "music21", "abc2midi", "bars right", "valid", "problem"]]
        for name, c in self.abc:
            rows.append([Path(name).name, _yes(c.header_ok), _yes(c.music21_ok),
                         "n/a" if c.abc2midi_ok is None else _yes(c.abc2midi_ok),
                         f"{c.bars_total - c.bars_wrong}/{c.bars_total}", _yes(c.valid), c.first_problem() or ""])
        return rows

    def to_dict(self) -> dict[str, Any]:
        g = self.generated
        return {
            "summary": self.summary(),
            "pieces": [{"name": n, **m, "pitch_classes": pc.round(4).tolist(), "note_lengths": nl.round(4).tolist()}
                       | ({"copy": vars(self.copies[i])} if self.copies else {})
                       for i, (n, m, pc, nl) in enumerate(zip(g.names, g.metrics, g.pitch_classes, g.note_lengths))],
            "skipped": [{"source": s, "reason": r} for s, r in g.skipped],
            "reference": ({"name": self.reference_name, "pieces": len(self.reference.metrics),
                           "distances": self.distances} if self.reference else None),
            "abc": [{"tune": n, **c.to_dict()} for n, c in self.abc],
            "max_copy_bars": self.max_copy_bars,
            "metric_info": M.METRIC_INFO,
        }


def compare(generated: Measured, reference: Measured) -> dict[str, dict[str, float]]:
    d = {k: M.distribution_distance(generated.values(k), reference.values(k)) for k in M.METRIC_INFO}
    for h in HISTOGRAMS:
        d[h] = M.histogram_distance(generated.histogram(h), reference.histogram(h))
    return d


def evaluate(sources: Sequence[str], reference: Sequence[str] = (), *, max_reference: int | None = 300,
             max_copy_bars: float = 4.0, workers: int | None = None, min_bars: int | None = None,
             out: str | Path | None = None) -> Evaluation:
    """Measure the pieces in `sources`; with `reference` (corpus names, files, or run directories standing for the
    corpus they were trained on; a seeded sample of `max_reference` pieces, see `read_reference`), compare
    distributions and look for copies. `min_bars`: for the ABC verdict (`abc_checks`). With `out`, the report is
    written there too (`write_report`: evaluation.md/.html/.json/.png)."""
    from ..errors import UserError
    from .reference import reference_sources

    reference = reference_sources(reference)

    files = generated_files(sources)
    if not files:
        raise UserError(", ".join(map(str, sources)) + ": no MIDI, MusicXML, kern or ABC files")
    pieces, skipped = read_pieces(files, workers=workers)
    if not pieces:
        reasons = "; ".join(f"{s}: {r}" for s, r in skipped[:3])
        raise UserError("no readable pieces in " + ", ".join(map(str, sources)) + (f" ({reasons})" if reasons else ""))
    ev = Evaluation(measure(pieces, skipped=skipped), max_copy_bars=max_copy_bars, abc=abc_checks(files, min_bars))
    if reference:
        ref_pieces, ref_skipped = read_reference(reference, max_reference, workers=workers)
        if not ref_pieces:
            raise UserError("no readable pieces in the reference " + ", ".join(map(str, reference)))
        ev.reference, ev.reference_name = measure(ref_pieces, skipped=ref_skipped), ", ".join(map(str, reference))
        ev.distances = compare(ev.generated, ev.reference)
        ev.copies = flag_copies(pieces, TrainingIndex(ref_pieces, transpositions=True), max_copy_bars)
    if out is not None:
        write_report(ev, Path(out))
    return ev


def summary_line(ev: Evaluation) -> str:
    """The evaluation in one line: the main metrics, and the overlap with the reference and copies when compared."""
    s = ev.summary()
    line = (f"evaluation: pitch-class entropy {s['pitch_class_entropy']:.2f} bits, scale consistency "
            f"{s['scale_consistency']:.2f}, repeated bars {s['repeated_bars']:.2f}, "
            f"empty beats {s['empty_beat_rate']:.2f}")
    if ev.reference:
        mean_overlap = sum(d["overlap"] for d in ev.distances.values()) / len(ev.distances)
        line += f"; mean overlap with the reference {mean_overlap:.2f}, {sum(c.copied for c in ev.copies)} copied"
    return line


# -- report ------------------------------------------------------------------------------------------------
def write_report(ev: Evaluation, folder: Path, stem: str = "evaluation") -> dict[str, Path]:
    """folder/stem.json, .md, .html and .png (the metric distributions); returns their paths."""
    from ..checkpoint import write_atomic
    from ..render.plots import plot_metric_distributions

    folder.mkdir(parents=True, exist_ok=True)
    paths = {ext: folder / f"{stem}.{ext}" for ext in ("json", "md", "html", "png")}
    ref = ev.reference
    plot_metric_distributions(
        {k: ev.generated.values(k) for k in M.METRIC_INFO},
        {k: ref.values(k) for k in M.METRIC_INFO} if ref else None,
        {
            "pitch classes": (
                PITCH_CLASS_NAMES,
                ev.generated.histogram("pitch_classes"),
                ref.histogram("pitch_classes") if ref else None,
            ),
            "note lengths": (
                M.NOTE_LENGTH_NAMES,
                ev.generated.histogram("note_lengths"),
                ref.histogram("note_lengths") if ref else None,
            ),
        },
        paths["png"],
        reference_label=ev.reference_name,
    )
    write_atomic(paths["json"], (json.dumps(ev.to_dict(), indent=2, default=_jsonable) + "\n").encode())
    write_atomic(paths["md"], _markdown(ev, paths["png"].name).encode())
    write_atomic(paths["html"], _html(ev, paths["png"].name).encode())
    return paths


def _sections(ev: Evaluation) -> list[tuple[str, str, list[list[str]]]]:
    """(title, text, table) of every report section, shared by the markdown and HTML forms."""
    g, s = ev.generated, ev.summary()
    intro = f"{len(g.metrics)} pieces measured"
    if g.skipped:
        intro += (
            f", {len(g.skipped)} files skipped (" + "; ".join(f"{Path(a).name}: {b}" for a, b in g.skipped[:5]) + ")"
        )
    if ev.reference:
        intro += (
            f"; reference: {ev.reference_name} ({len(ev.reference.metrics)} pieces). Overlap: shared area of the "
            "two smoothed distributions (1 = the same); KL(reference || generated) in bits (0 = the same)"
        )
    out = [("Metrics", intro + ".", ev.metric_rows())]
    if ev.abc:
        out.append(
            (
                "ABC checks",
                f"{s['abc_valid']:.0%} valid; header {s['abc_header_ok']:.0%}, abc2midi "
                f"{s['abc2midi_ok']:.0%}, bar durations right {s['abc_bars_ok']:.0%}.",
                ev.abc_rows(),
            )
        )
    text = ""
    if ev.copies:
        n = sum(c.copied for c in ev.copies)
        text = (
            f"Longest run of onset events found in one reference piece (transpositions included); {n} of "
            f"{len(ev.copies)} pieces copy more than {ev.max_copy_bars:g} bars and are flagged COPIED."
        )
    out.append(("Pieces", text, ev.piece_rows()))
    return out


def _markdown(ev: Evaluation, png: str) -> str:
    lines = ["# Evaluation", "", f"![metric distributions]({png})", ""]
    for title, text, table in _sections(ev):
        lines += [f"## {title}", "", text, "", *_md_table(table), ""]
    return "\n".join(lines)


def _html(ev: Evaluation, png: str) -> str:
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>rnnmusic evaluation</title><style>"
        "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;font-size:13px}"
        "td,th{border:1px solid #ccc;padding:3px 6px;text-align:left}img{max-width:100%}</style></head><body>",
        "<h1>Evaluation</h1>",
        f"<img src='{html.escape(png)}' alt='metric distributions'>",
    ]
    for title, text, table in _sections(ev):
        parts += [f"<h2>{html.escape(title)}</h2>", f"<p>{html.escape(text)}</p>", "<table>"]
        parts += ["<tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in table[0]) + "</tr>"]
        parts += ["<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in table[1:]]
        parts.append("</table>")
    return "\n".join(parts + ["</body></html>"]) + "\n"


def _md_table(rows: list[list[str]]) -> list[str]:
    esc = [[c.replace("|", "\\|") for c in r] for r in rows]
    return ["| " + " | ".join(esc[0]) + " |", "|" + "---|" * len(esc[0])] + [
        "| " + " | ".join(r) + " |" for r in esc[1:]
    ]


def _share(flags) -> float:
    flags = list(flags)
    return sum(map(bool, flags)) / len(flags) if flags else float("nan")


def _mean_sd(v: Sequence[float]) -> str:
    return f"{np.mean(v):.3g} ({np.std(v):.2g})" if len(v) else ""


def _num(x: float) -> str:
    return f"{x:.3g}" if isinstance(x, float) else str(x)


def _yes(b: bool) -> str:
    return "yes" if b else "NO"


def _jsonable(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)
