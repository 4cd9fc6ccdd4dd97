"""Are generated chorales four-part chorales? Issue #21's figures, real Bach chorales scored by the same code.

    python bench/chorale_quality/measure.py                                  # real chorales -> results/real.*
    python bench/chorale_quality/measure.py --generated FOLDER [--name NAME]  # + a row -> results/NAME.*
    python bench/chorale_quality/measure.py --write-midi FOLDER              # the held-out chorales as .mid

Every piece is scored by `rnnmusic.evaluation.voices.voice_report`. Rows: the held-out real chorales (the
trainer's split: `PieceCorpus.split(0.1, seed 0)`, as `train --corpus bach-chorales` leaves out), all real
chorales (music21's `bach-chorales`, every part merged into one Piece as the corpus loader does), and with
`--generated` the .mid files of a folder (all tracks merged, read as rnnmusic writes them; no deduplication, so a
model repeating itself is seen). The targets are issue #21's, judged on each row's figures.
"""
from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/: the shared helpers in bench/_common
from _common.machine import commit, machine_info, results_dir, write_results  # noqa: E402
from _common.tables import generated_row, stat_cell  # noqa: E402

from rnnmusic.evaluation.voices import voice_report  # noqa: E402
from rnnmusic.voicing import step_rows, voice_steps, window_hash, window_hashes  # noqa: E402

QUESTION = "chorale_quality"
VALID_FRACTION, SPLIT_SEED = 0.1, 0  # the trainer's defaults (TrainConfig.valid_fraction, split_seed)
FIGURES = [  # (key, what it is, shown as a percentage)
    ("mean_sounding", "notes sounding on a beat", False),
    ("beats_4", "beats with exactly 4 pitches", True),
    ("beats_4plus", "beats with 4 or more", True),
    ("range_s", "soprano in C4-G5 (60-79)", True),
    ("range_a", "alto in G3-D5 (55-74)", True),
    ("range_t", "tenor in C3-G4 (48-67)", True),
    ("range_b", "bass in E2-C4 (40-60)", True),
    ("parallels_per_100", "parallel 5ths+8ves per 100 beat transitions", False),
    ("top_median_interval", "top line: median interval (semitones)", False),
    ("top_leaps_over_octave", "top line: leaps over an octave", True),
    ("sixteenth_share", "notes a sixteenth or shorter", True),
    ("cadence", "final cadence V-I or IV-I", True),
    ("cadence_relative", "... of the key or its relative", True),
    ("ends_on_tonic", "final chord on the tonic", True),
    ("phrase_cadences", "phrase ends (fermatas, final) closing V-I or IV-I", True),
    ("phrase_cadences_with_half", "... or stopping on the dominant (half cadence)", True),
    ("copied_bars", "longest passage found in a training chorale (bars)", False),
]
VOCAL = "name:soprano,name:alto,name:tenor,name:bass"  # the four voices (some chorales add instruments)
COPY_BARS = 2  # a piece copies when more than this many bars (all four voices) appear in a training chorale


def summarise(reports: list[dict]) -> dict:
    """Per figure: mean, median, 5th and 95th percentile over pieces; plus pooled counts."""
    out: dict = {"pieces": len(reports)}
    for key, _, _ in FIGURES:
        v = np.array([r[key] for r in reports], dtype=np.float64)
        out[key] = {"mean": float(v.mean()), "median": float(np.median(v)),
                    "p5": float(np.percentile(v, 5)), "p95": float(np.percentile(v, 95))} if len(v) else {}
    fifths = sum(r["parallel_fifths"] for r in reports)
    octaves = sum(r["parallel_octaves"] for r in reports)
    transitions = sum(r["transitions"] for r in reports)
    phrases, closed = sum(r["phrases"] for r in reports), sum(r["phrases_closed"] for r in reports)
    half = sum(r["phrases_half"] for r in reports)
    out["pooled"] = {"parallel_fifths": fifths, "parallel_octaves": octaves, "transitions": transitions,
                     "parallels_per_100": 100.0 * (fifths + octaves) / transitions if transitions else 0.0,
                     "phrases": phrases, "phrases_closed": closed,
                     "phrase_cadences": closed / phrases if phrases else 0.0, "phrases_half": half,
                     "phrase_cadences_with_half": (closed + half) / phrases if phrases else 0.0}
    out["copying"] = sum(r["copied_bars"] > COPY_BARS for r in reports)
    out["collapsed"] = sum(int(r["collapsed"]) for r in reports)
    out["flagged"] = sum(bool(r["flags"]) for r in reports)
    out["flag_counts"] = dict(sorted(_flag_counts(reports).items(), key=lambda kv: -kv[1]))
    out["final_roots"] = dict(sorted(_counts(r["final_roots"] or "-" for r in reports).items(),
                                     key=lambda kv: -kv[1])[:8])
    return out


def _counts(items) -> dict[str, int]:
    out: dict[str, int] = {}
    for x in items:
        out[x] = out.get(x, 0) + 1
    return out


def _flag_counts(reports: list[dict]) -> dict[str, int]:
    return _counts(f.split()[0] for r in reports for f in r["flags"])


def targets(row: dict, bach: dict, *, generated: bool) -> list[tuple[str, str, bool]]:
    """Issue #21's targets on one row: (target, the row's figure, met). Parallels are judged against `bach`
    (the held-out real chorales), by the pooled count."""
    rate, bach_rate = row["pooled"]["parallels_per_100"], bach["pooled"]["parallels_per_100"]
    out = [
        ("four voices sounding on >= 85% of beats (mean share of beats with 4+)",
         _pct(row["beats_4plus"]["mean"]), row["beats_4plus"]["mean"] >= 0.85),
        *[(f"{name} in its range for >= 95% of its notes", _pct(row[key]["mean"]), row[key]["mean"] >= 0.95)
          for key, name in (("range_s", "soprano"), ("range_a", "alto"), ("range_t", "tenor"), ("range_b", "bass"))],
        (f"parallel 5ths and 8ves at most twice Bach's rate (<= {2 * bach_rate:.2f} per 100 transitions, pooled)",
         f"{rate:.2f}", rate <= 2 * bach_rate),
        ("soprano: median interval <= 3 semitones (median of the pieces' medians)",
         f"{row['top_median_interval']['median']:g}", row["top_median_interval"]["median"] <= 3),
        ("soprano: leaps over an octave < 3%", _pct(row["top_leaps_over_octave"]["mean"]),
         row["top_leaps_over_octave"]["mean"] < 0.03),
        ("final cadence V-I or IV-I in >= 80%", _pct(row["cadence"]["mean"]), row["cadence"]["mean"] >= 0.80),
        ("... the same, V-I or IV-I of the key or of its relative", _pct(row["cadence_relative"]["mean"]),
         row["cadence_relative"]["mean"] >= 0.80),
        ("phrases close on V-I or IV-I (each fermata and the final chord) in >= 80%, pooled",
         _pct(row["pooled"]["phrase_cadences"]), row["pooled"]["phrase_cadences"] >= 0.80),
        ("... on a cadence, half cadences (on the dominant) counted, in >= 80%, pooled",
         _pct(row["pooled"]["phrase_cadences_with_half"]), row["pooled"]["phrase_cadences_with_half"] >= 0.80),
        ("none collapsed", str(row["collapsed"]), row["collapsed"] == 0),
    ]
    if generated:
        out.insert(0, ("at least 100 pieces", str(row["pieces"]), row["pieces"] >= 100))
        out.append((f"none copying more than {COPY_BARS} bars of a training chorale", str(row["copying"]),
                    row["copying"] == 0))
    return out


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _fmt(x: float, pct: bool) -> str:
    return _pct(x) if pct else f"{x:.2f}"


def markdown(rows: dict[str, dict], bach: str, seconds: float, command: str) -> str:
    names = list(rows)
    lines = ["# Four-part chorale figures (issue #21)", "",
             f"`{command}`; {seconds:.0f} s. Each cell: mean over pieces, then median and the 5th-95th percentile "
             "of the per-piece figures. How each figure is measured: `src/rnnmusic/evaluation/voices.py`.", "",
             "| figure | " + " | ".join(f"{n} ({rows[n]['pieces']} pieces)" for n in names) + " |",
             "|---|" + "---|" * len(names)]
    for key, label, pct in FIGURES:
        cells = [stat_cell(rows[n][key], lambda x, k=pct: _fmt(x, k)) for n in names]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    pooled = [rows[n]["pooled"] for n in names]
    lines += ["| parallels pooled: 5ths / 8ves / transitions | " + " | ".join(
                  f"{p['parallel_fifths']} / {p['parallel_octaves']} / {p['transitions']}" for p in pooled) + " |",
              "| parallels pooled, per 100 transitions | " + " | ".join(
                  f"{p['parallels_per_100']:.2f}" for p in pooled) + " |",
              "| phrase ends pooled: closing / all | " + " | ".join(
                  f"{p['phrases_closed']} / {p['phrases']} ({_pct(p['phrase_cadences'])}); with half cadences "
                  f"{_pct(p['phrase_cadences_with_half'])}" for p in pooled) + " |",
              "| collapsed pieces | " + " | ".join(str(rows[n]["collapsed"]) for n in names) + " |",
              f"| pieces copying more than {COPY_BARS} bars | " + " | ".join(str(rows[n]["copying"]) for n in names)
              + " |",
              "| pieces with a flag | " + " | ".join(str(rows[n]["flagged"]) for n in names) + " |",
              "| final chord roots, most common | " + " | ".join(
                  ", ".join(f"{k} {v}" for k, v in rows[n]["final_roots"].items()) for n in names) + " |",
              "| flags (figure: pieces) | " + " | ".join(
                  ", ".join(f"{k} {v}" for k, v in rows[n]["flag_counts"].items()) or "-" for n in names) + " |",
              "", f"## Issue #21's targets (parallels against `{bach}`)", "",
              "| target | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    judged = {n: targets(rows[n], rows[bach], generated=not n.startswith("real")) for n in names}
    labels = list(dict.fromkeys(t for n in names for t, _, _ in judged[n]))
    for label in labels:
        cells = []
        for n in names:
            hit = [(v, ok) for t, v, ok in judged[n] if t == label]
            cells.append(f"{hit[0][0]} {'yes' if hit[0][1] else 'NO'}" if hit else "-")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def real_sets() -> tuple[dict[str, list], list]:
    """The held-out real chorales (the trainer's split) and all of them, as Pieces (their four voices); and the
    training split, which the copy check searches."""
    from rnnmusic.corpus import load_pieces

    corpus = load_pieces(["bach-chorales"], tracks=VOCAL)
    train, held_out = corpus.split(VALID_FRACTION, SPLIT_SEED)
    return {"real, held out": held_out, "real, all": corpus.pieces}, train


class CopyIndex:
    """Every passage of `bars` bars of 4/4 and one eighth more of the training chorales (four voices, any key:
    `voicing.step_row`, hashed by `voicing.window_hash`, as the `satb` guard checks them); `longest` finds, per
    piece, the longest passage (in bars) that also appears in a training chorale."""

    def __init__(self, pieces: list, bars: int = COPY_BARS, grid: int = 2):
        self.grid, self.window = grid, bars * 4 * grid + 1
        self.seen = set().union(*(window_hashes(step_rows(voice_steps(p, grid)), self.window) for p in pieces))

    def longest(self, piece) -> float:
        rows = step_rows(voice_steps(piece, self.grid))
        hits = [window_hash(rows[i:i + self.window]) in self.seen for i in range(len(rows) - self.window + 1)]
        best = run = 0
        for hit in hits:  # consecutive matching windows: a longer copied passage
            run = run + 1 if hit else 0
            best = max(best, run)
        return (self.window - 1 + best) / (4 * self.grid) if best else 0.0


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--generated", type=Path, help="a folder of .mid files (searched recursively): one more row")
    ap.add_argument("--name", help="the generated row's name and results file (default: the folder's name)")
    ap.add_argument("--write-midi", type=Path, help="write the held-out real chorales as .mid files there, then stop")
    ap.add_argument("--out", type=Path, default=results_dir(QUESTION), help="results folder")
    args = ap.parse_args(argv)
    started = time.perf_counter()
    sets, train = real_sets()
    if args.write_midi:
        args.write_midi.mkdir(parents=True, exist_ok=True)
        for i, piece in enumerate(sets["real, held out"]):
            piece.write_midi(args.write_midi / f"{i:03d}-{Path(piece.source).stem}.mid")
        print(f"wrote {len(sets['real, held out'])} chorales to {args.write_midi}")
        return
    name = "real"
    if args.generated:
        name, generated = generated_row(args.generated, args.name)
        sets = {"real, held out": sets["real, held out"], name: generated}
    t = time.perf_counter()
    copies = CopyIndex(train)
    reports = {row: [voice_report(p) | {"copied_bars": copies.longest(p)} for p in pieces]
               for row, pieces in sets.items()}
    scoring, n = time.perf_counter() - t, max(1, sum(len(p) for p in sets.values()))
    rows = {row: summarise(r) for row, r in reports.items()}
    seconds = time.perf_counter() - started
    command = " ".join(["python bench/chorale_quality/measure.py", *(argv if argv is not None else sys.argv[1:])])
    md = markdown(rows, "real, held out", seconds, command)
    result = {"question": "Are generated chorales four-part chorales? (issue #21)", "command": command,
              "split": {"valid_fraction": VALID_FRACTION, "seed": SPLIT_SEED}, "rows": rows,
              "targets": {row: [{"target": t, "value": v, "met": ok}
                                for t, v, ok in targets(rows[row], rows["real, held out"],
                                                        generated=not row.startswith("real"))] for row in rows},
              "per_piece": f"{name}-pieces.csv", "seconds": round(seconds, 1),
              "ms_per_piece": round(1000 * scoring / n, 2),
              "machine": machine_info(), "commit": commit()}
    write_results(args.out, name, result, md)
    write_pieces(args.out / f"{name}-pieces.csv", sets, reports)


def write_pieces(path: Path, sets: dict[str, list], reports: dict[str, list[dict]]) -> None:
    """One line per piece and row (held-out chorales are in both real rows): every figure of its report."""
    columns = [k for k in reports[next(iter(reports))][0] if k != "flags"] if any(reports.values()) else []
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["row", "source", *columns, "flags"])
        for row, pieces in sets.items():
            for p, r in zip(pieces, reports[row]):
                w.writerow([row, _short(p.source), *(_round(r[k]) for k in columns), "; ".join(r["flags"])])


def _round(v):
    return round(v, 4) if isinstance(v, float) else v


def _short(source: str) -> str:
    """music21's corpus files from the corpus folder on (bach/bwv1.6.mxl), other files by name."""
    marker = "/corpus/"
    return source.split(marker, 1)[1] if marker in source else Path(source).name


if __name__ == "__main__":
    main()
