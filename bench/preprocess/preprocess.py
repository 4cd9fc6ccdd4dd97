"""Corpus preprocessing speed: `load_pieces` against the windowed pipeline, on the same MIDI files.

    .venv/bin/python bench/preprocess/preprocess.py       # writes results/preprocess.json and .md

The repository holds no MIDI files, so the script first writes the first N (default 60) Bach chorales of
music21's corpus as MIDI with music21 (`stream.write('midi')`) into a fresh temporary folder (removed at the
end). On those files it times, in one run:

* ours, cache off: `load_pieces(folder, cache=False)` (symusic; every non-drum track merged into a Piece);
* ours, warm cache: the same call with the on-disk cache filled by a first load (`RNNMUSIC_CACHE` pointed
  at a temporary folder);
* windowed, cold: what Classical-Piano-Composer did for each file: `music21.converter.parse(path)`, then
  `instrument.partitionByInstrument`, `.recurse()` of the first part (or `.flatten().notes` when that
  fails), collecting `str(pitch)` for notes and `'.'.join(normalOrder)` for chords. The MIDI paths are new,
  so music21 finds no pickles and, as by default, writes one per file;
* windowed, warm: the same again, now reading music21's own pickle cache (its default behaviour).

Notes/s divide the notes in the MIDI files (counted once with symusic) by each pipeline's time, so every row
shares one numerator. For reference it also times our pipeline on the chorales' original MusicXML files
(music21 parsing plus its MIDI writer) cold and from a warm cache. Ours is timed as the median of 5 runs,
the windowed pipeline as the median of 3 cold runs (music21's pickles removed before each) and 3 warm runs.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/: the shared helpers in bench/_common
from _common.machine import commit, machine_info, results_dir, write_results

RESULTS = results_dir("preprocess")  # bench/preprocess/results


def machine() -> dict:
    return machine_info() | {"music21": version("music21"), "symusic": version("symusic"), "numpy": version("numpy")}


def make_midis(folder: Path, n: int) -> list[Path]:
    """The first n chorales of music21's Bach collection (rnnmusic's `bach-chorales` order) as MIDI files."""
    from music21 import converter

    from rnnmusic.corpus import CLASSICAL_CORPORA

    sources = CLASSICAL_CORPORA["bach-chorales"].paths()[:n]
    out = []
    for src in sources:
        path = folder / (Path(src).stem + ".mid")
        converter.parse(src, forceSource=True).write("midi", fp=str(path))
        out.append(path)
    return out


def count_notes(paths: list[Path]) -> int:
    import symusic

    return sum(t.note_num() for p in paths for t in symusic.Score(str(p)).tracks)


def windowed(paths: list[Path]) -> tuple[float, int]:
    """Classical-Piano-Composer's get_notes() on each file: (seconds, tokens collected)."""
    from music21 import chord, converter, instrument, note

    tokens = 0
    t0 = time.perf_counter()
    for path in paths:
        notes = []
        midi = converter.parse(str(path))
        try:  # file has instrument parts
            s2 = instrument.partitionByInstrument(midi)
            notes_to_parse = s2.parts[0].recurse()
        except Exception:  # file has notes in a flat structure
            notes_to_parse = midi.flatten().notes
        for element in notes_to_parse:
            if isinstance(element, note.Note):
                notes.append(str(element.pitch))
            elif isinstance(element, chord.Chord):
                notes.append(".".join(str(n) for n in element.normalOrder))
        tokens += len(notes)
    return time.perf_counter() - t0, tokens


def remove_music21_pickles(paths: list[Path]) -> None:
    from music21 import converter

    for path in paths:
        converter.PickleFilter(str(path)).removePickle()


def ours(sources: list[str], repeats: int, cache: bool) -> tuple[float, int, object]:
    """(median seconds, pieces, report of the last run) of load_pieces."""
    from rnnmusic.corpus import load_pieces

    times, corpus = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        corpus = load_pieces(sources, cache=cache, progress=False)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), len(corpus.pieces), corpus.report


def row(name: str, seconds: float, files: int, notes: int, base: float | None, extra: dict | None = None) -> dict:
    r = {"pipeline": name, "seconds": round(seconds, 4), "files": files, "files_per_s": round(files / seconds, 1),
         "notes_per_s": round(notes / seconds), "speedup_vs_windowed_cold": round(base / seconds, 1) if base else None}
    return r | (extra or {})


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, default=60, help="number of chorales to convert to MIDI (at least 50)")
    ap.add_argument("--repeats", type=int, default=5, help="runs of our pipeline (the median is reported)")
    ap.add_argument("--windowed-repeats", type=int, default=3,
                    help="runs of the windowed pipeline, cold and warm each (the median is reported)")
    ap.add_argument("--quick", action="store_true", help="2 runs of ours, 1 of the windowed pipeline")
    args = ap.parse_args()
    if args.quick:
        args.repeats, args.windowed_repeats = 2, 1
    work = Path(tempfile.mkdtemp(prefix="rnnmusic-bench-preprocess-"))
    midi_dir, cache = work / "midi", work / "cache"
    midi_dir.mkdir()
    os.environ["RNNMUSIC_CACHE"] = str(cache)
    paths: list[Path] = []
    try:
        t0 = time.perf_counter()
        paths = make_midis(midi_dir, args.files)
        make_s = time.perf_counter() - t0
        notes = count_notes(paths)
        n = len(paths)
        print(f"{n} MIDI files, {notes:,} notes, written in {make_s:.1f} s", file=sys.stderr)

        colds, warms = [], []
        for _ in range(args.windowed_repeats):
            remove_music21_pickles(paths)  # cold: no pickle of these files exists (first run: fresh paths)
            f_cold, tokens = windowed(paths)  # music21 writes its pickles
            colds.append(f_cold)
        for _ in range(args.windowed_repeats):
            f_warm, tokens_warm = windowed(paths)  # music21 reads them
            warms.append(f_warm)
            assert tokens == tokens_warm
        f_cold, f_warm = statistics.median(colds), statistics.median(warms)
        o_cold, pieces, rep = ours([str(midi_dir)], args.repeats, cache=False)
        ours([str(midi_dir)], 1, cache=True)  # fill the cache
        o_warm, pieces_warm, rep_warm = ours([str(midi_dir)], args.repeats, cache=True)
        assert pieces == pieces_warm and rep_warm.files_cached == n and rep.files_parsed == n

        from rnnmusic.corpus import CLASSICAL_CORPORA
        from rnnmusic.corpus.scores import _default_workers

        xml = CLASSICAL_CORPORA["bach-chorales"].paths()[:n]
        workers = _default_workers()  # load_pieces starts a pool of these for this much music21 work
        shutil.rmtree(cache)
        x_cold, x_pieces, _ = ours(xml, 1, cache=True)  # parses and fills the cache
        x_warm, _, x_rep = ours(xml, args.repeats, cache=True)
        assert x_rep.files_cached == n

        rows = [
            row("ours: load_pieces, cache off", o_cold, n, notes, f_cold, {"pieces": pieces}),
            row("ours: load_pieces, warm cache", o_warm, n, notes, f_cold, {"pieces": pieces}),
            row("windowed: music21 parse + notes/chords, cold", f_cold, n, notes, f_cold, {"tokens": tokens}),
            row("windowed: same, music21 pickle cache warm", f_warm, n, notes, f_cold, {"tokens": tokens}),
        ]
        reference = [
            row(f"ours on the MusicXML originals, cold (music21 + its MIDI writer; {workers} worker processes)",
                x_cold, n, notes, f_cold,
                {"pieces": x_pieces}),
            row("ours on the MusicXML originals, warm cache", x_warm, n, notes, f_cold, {"pieces": x_pieces}),
        ]
    finally:
        if paths:
            remove_music21_pickles(paths)
        shutil.rmtree(work, ignore_errors=True)

    result = {"machine": machine(), "commit": commit(), "date": time.strftime("%Y-%m-%d"),
              "corpus": {"files": n, "notes": notes, "source": "first Bach chorales of music21's corpus, "
                                                                "written as MIDI by music21",
                         "seconds_to_write_midi": round(make_s, 1)},
              "repeats_ours": args.repeats, "repeats_windowed": args.windowed_repeats,
              "windowed_cold_runs_s": [round(x, 3) for x in colds],
              "windowed_warm_runs_s": [round(x, 3) for x in warms],
              "command": "python bench/preprocess/preprocess.py" + (" --quick" if args.quick else ""),
              "quick": args.quick,
              "midi": rows, "musicxml_reference": reference}
    name = "preprocess-quick" if args.quick else "preprocess"
    m = result["machine"]

    def ratio(r: dict) -> str:
        return f"{r['speedup_vs_windowed_cold']:,}x" if r["speedup_vs_windowed_cold"] else ""

    md = [
        "# Corpus preprocessing speed: `load_pieces` vs the windowed pipeline", "",
        f"Machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, music21 {m['music21']}, "
        f"symusic {m['symusic']}; commit {result['commit']}, {result['date']}.", "",
        f"Corpus: {n} MIDI files, {notes:,} notes (the first {n} Bach chorales of music21's corpus, written as "
        "MIDI by music21 into a fresh temporary folder). Notes/s = the files' notes / time, the same numerator "
        "for every row. All rows come from one run.", "",
        "| pipeline | seconds | files/s | notes/s | vs windowed (cold) |", "|---|---|---|---|---|",
        *[f"| {r['pipeline']} | {r['seconds']:.3f} | {r['files_per_s']:,} | {r['notes_per_s']:,} | {ratio(r)} |"
          for r in rows], "",
        f"Our pipeline keeps every note of every track ({rows[0]['pieces']} pieces, durations and onsets "
        f"included); the windowed pipeline keeps {tokens:,} note/chord tokens of the {notes:,} notes: pitches "
        "only, and only from the first part `partitionByInstrument` returns, which on these multi-track files "
        "is mostly an empty part named after a voice (all notes land in a 'Piano' part). Its time is almost all "
        "`converter.parse`. Ours: median of "
        f"{args.repeats} runs, cache off = `cache=False` (symusic parse + conversion to quarter-note arrays); "
        "warm cache = reading the `.npz` entries (sha256 of each file + load). Windowed: median of "
        f"{args.windowed_repeats} runs each (seconds of every run in the JSON); cold = no music21 pickles existed "
        "(removed before each cold run; it writes one per file, as it does by default), warm = music21 reading "
        "those pickles. On MIDI the cache gains little (symusic parses a file about as fast as the cache entry "
        "loads); it pays off on the music21 formats below.", "",
        "For reference, our pipeline on the same chorales' MusicXML originals (music21 parsing and its MIDI "
        "writer; what `bach-chorales` costs the first time, then from the cache):", "",
        "| pipeline | seconds | files/s | notes/s |", "|---|---|---|---|",
        *[f"| {r['pipeline']} | {r['seconds']:.3f} | {r['files_per_s']:,} | {r['notes_per_s']:,} |" for r in reference],
        "", f"Command: `{result['command']}`.", "",
    ]
    write_results(RESULTS, name, result, "\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
