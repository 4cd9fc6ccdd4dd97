"""`make demo`: train a small folk-tune model on a built-in corpus, then write tunes as ABC, MIDI and WAV.

Idempotent: a finished run in runs/demo is reused, an interrupted one is resumed.
"""
from __future__ import annotations

import os
import sys
import time
import warnings
from pathlib import Path

from .cli import _one_line_warnings
from .config import ModelConfig, TrainConfig
from .errors import UserError
from .evaluate.evaluation import evaluate, write_report
from .generate import generate_tunes
from .run import RunDir, load_model
from .sample import SampleConfig
from .train import LN2, read_checkpoint_progress, resume, train

RUN = Path("runs/demo")
OUT = Path("out/demo")
TRAIN = TrainConfig(
    corpus=["oneills"], encoding="abc-tokens", epochs=20, batch_size=32, seq_len=128, lr=3e-3,
    patience=4, sample_every=5, sample_count=4, max_minutes=7.0, seed=1337,
)
MODEL = ModelConfig(cell="lstm", layers=2, hidden=256, embed=64, dropout=0.2)


def main() -> int:
    warnings.showwarning = _one_line_warnings
    t0 = time.monotonic()
    try:
        run = RunDir(RUN)
        progress = read_checkpoint_progress(RUN) if run.exists() else None
        if progress and progress.done:
            print(f"reusing the trained model in {RUN} ({progress.epoch} epochs, finished: {progress.done})")
        elif run.exists():
            print(f"resuming the interrupted demo run in {RUN}")
            resume(RUN)
        else:
            print(f"training a {MODEL.layers}-layer {MODEL.cell.upper()} ({MODEL.hidden} units) on O'Neill's 1850 "
                  f"folk tunes (music21's built-in copy) into {RUN}; at most {TRAIN.max_minutes:g} minutes")
            train(RUN, TRAIN, MODEL)
        model, enc, meta = load_model(RUN)
        report = generate_tunes(model, enc, SampleConfig(count=6, temperature=0.8, seed=7, max_length=800), OUT,
                                formats="abc,mid,wav,svg", only_valid=True, title="rnnmusic demo")
        # musical metrics beside 300 of the training tunes, and a search for runs copied from them
        ev = evaluate([t.files["abc"] for t in report.tunes], ["oneills"], max_reference=300)
        written = write_report(ev, OUT)
    except UserError as e:
        print(f"rnnmusic demo: error: {e}", file=sys.stderr)
        return 2
    print(report.table())
    p = meta["progress"]
    print(f"\nmodel: {RUN}/best.safetensors (epoch {p['epoch']}, validation {p['best_valid'] / LN2:.3f} bits/token)")
    print(f"{report.valid} of {len(report.tunes)} tunes valid ({report.attempts} generated to find them)")
    print(f"files: {OUT}/tune-001.abc .mid .wav .svg (sheet music) ... and {OUT}/report.json; loss curve {RUN}/loss.png")
    s = ev.summary()
    print(f"evaluation against 300 O'Neill tunes: pitch-class entropy {s['pitch_class_entropy']:.2f} bits, scale "
          f"consistency {s['scale_consistency']:.2f}, repeated bars {s['repeated_bars']:.2f}; "
          f"{sum(c.copied for c in ev.copies)} tunes copy more than 4 bars; report {written['html']}")
    print(f"demo took {time.monotonic() - t0:.0f} s")
    print(f"browse, generate and listen in the web studio: {os.path.relpath(Path(sys.executable).parent / 'rnnmusic')} serve --root "
          f"{RUN.parent}  (then open http://127.0.0.1:8765/)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
