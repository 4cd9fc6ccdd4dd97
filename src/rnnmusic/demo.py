"""`make demo`: tunes from the shipped folk model at once, then the same model fine-tuned on a small book.

1. Six tunes from the shipped `folk` model (no training): ABC, MIDI, WAV and sheet music, with a report and an
   evaluation against a random sample of the training corpus; the first also played by the shipped learned
   `fiddle` voice, beside the SoundFont and the built-in synthesizer, with their spectrograms.
2. The model fine-tuned briefly (at most 3 minutes) on a small built-in book, music21's `miscfolk` (American
   fife tunes and Northumbrian minstrelsy, 181 tunes), into runs/demo-finetune; six tunes from it.

Idempotent: a finished fine-tuning run is reused, an interrupted one is resumed. Without the shipped model (a
broken installation) it stops with a one-line error.
"""
from __future__ import annotations

import os
import sys
import time
import warnings
from pathlib import Path

from .errors import UserError, one_line_warnings
from .evaluation.compare import evaluate, write_report
from .generator import generate
from .models import shipped_models
from .run import RunDir, load_model
from .trainer import LN2, read_checkpoint_progress, resume

RUN = Path("runs/demo-finetune")
OUT = Path("out/demo")
BOOK = "miscfolk"
FINETUNE = {"epochs": 30, "max_minutes": 3.0, "batch_size": 16, "sample_every": 0, "seed": 1337}
SAMPLES = {"count": 6, "temperature": 0.9, "seed": 7, "max_length": 1000, "formats": "abc,mid,wav,svg"}


def _generate(model, out: Path, title: str, reference: list[str]) -> None:
    report = generate(model, out=out, title=title, **SAMPLES)
    print(report.table())
    ev = evaluate([t.files["abc"] for t in report.tunes], reference, max_reference=300)
    written = write_report(ev, out)
    s = ev.summary()
    print(f"{report.valid} of {len(report.tunes)} tunes valid; files: {out}/tune-001.abc .mid .wav .svg ...; "
          f"evaluation against 300 random tunes of {', '.join(reference)}: pitch-class entropy "
          f"{s['pitch_class_entropy']:.2f} bits, scale consistency {s['scale_consistency']:.2f}; "
          f"{sum(c.copied for c in ev.copies)} tunes copy more than 4 bars; report {written['html']}")


def _voice(midi: Path) -> None:
    """The first tune played by the shipped fiddle voice, beside the SoundFont and the built-in synthesizer."""
    if "fiddle" not in shipped_models() or not midi.is_file():
        print("(no shipped fiddle voice or no MIDI file: the learned-voice A/B is skipped)")
        return
    from .voice.compare import ab_files

    files = ab_files(midi, "fiddle", midi.with_suffix(""))
    print(f"tune-001 played by the learned fiddle voice: {files['voice']}; A/B with "
          f"{', '.join(Path(files[k]).name for k in files if k != 'voice')}")


def _finetuned() -> None:
    from .trainer import finetune

    run = RunDir(RUN)
    progress = read_checkpoint_progress(RUN) if run.exists() else None
    if progress and progress.done:
        print(f"reusing the fine-tuned model in {RUN} ({progress.epoch} epochs, finished: {progress.done})")
    elif run.exists() and run.step_checkpoints():
        print(f"resuming the interrupted fine-tuning in {RUN}")
        resume(RUN)
    else:
        print(f"fine-tuning the folk model on {BOOK} ({FINETUNE['max_minutes']:g} minutes at most) into {RUN}")
        finetune(RUN, "folk", [BOOK], **FINETUNE)


def main() -> int:
    warnings.showwarning = one_line_warnings
    t0 = time.monotonic()
    try:
        if "folk" not in shipped_models():
            raise UserError("the shipped folk model is missing from this installation (src/rnnmusic/models/folk); "
                            "reinstall rnnmusic")
        print("1. tunes from the shipped folk model (no training)")
        _generate(load_model("folk"), OUT / "folk", "folk", ["all-folk"])
        _voice(OUT / "folk" / "tune-001.mid")
        print(f"\n2. the folk model fine-tuned on a small book ({BOOK})")
        _finetuned()
        finetuned = load_model(RUN)
        _generate(finetuned, OUT / "finetuned", "fine-tuned", [BOOK])
    except UserError as e:
        print(f"rnnmusic demo: error: {e}", file=sys.stderr)
        return 2
    p = finetuned.meta["progress"]
    print(f"\nfine-tuned model: {RUN}/best.safetensors (epoch {p['epoch']}, validation "
          f"{p['best_valid'] / LN2:.3f} bits/token); loss curve {RUN}/loss.png")
    print(f"demo took {time.monotonic() - t0:.0f} s")
    print(f"browse, generate and listen in the web studio: {os.path.relpath(Path(sys.executable).parent / 'rnnmusic')} "
          f"serve --root {RUN.parent}  (then open http://127.0.0.1:8765/)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
