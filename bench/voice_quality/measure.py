"""Does the learned voice sound like the instrument it learned, and is it fast enough to use?

On held-out tunes (MIDI + the reference audio made by `make_audio.py`), three renderings of the same notes are
compared with the reference: the voice playing the notes (`voice.player.render_midi`, what `render --voice` does),
the built-in additive synthesizer (`render.audio.synth_notes`, rnnmusic's fallback without FluidSynth), and, as the
voice's ceiling, the voice re-playing the reference's own tracked pitch and loudness (resynthesis). Each rendering
is gain-matched to the reference (the same RMS) and cut to the same length; the distance is DDSP's multi-scale
spectral loss (`voice.training.spectral_loss`: L1 on linear and log magnitudes, FFT 2048 ... 64), the loss the
voice trained on. Speed: seconds of audio rendered per second of wall clock, torch on 2 threads.

    python bench/voice_quality/measure.py --data data/fiddle --voice fiddle --name fiddle
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

BENCH = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BENCH))

from _common.machine import commit, machine_info, results_dir, write_results  # noqa: E402

from rnnmusic.render.audio import find_fluidsynth, midi_notes_seconds, render_audio, synth_notes  # noqa: E402
from rnnmusic.render.plots import plot_losses, plot_spectrograms  # noqa: E402
from rnnmusic.voice.features import read_recording  # noqa: E402
from rnnmusic.voice.player import load_voice, render_midi, resynthesize  # noqa: E402
from rnnmusic.voice.training import spectral_loss  # noqa: E402

RESULTS = results_dir("voice_quality")


def gain_matched(x: np.ndarray, ref: np.ndarray) -> np.ndarray:
    n = min(len(x), len(ref))
    x = np.pad(x[:n], (0, len(ref) - n))
    # the same energy as the reference (RMS): a least-squares gain would depend on the waveforms' phases, which
    # differ between any two renderings of a note, and shrink an unlucky rendering toward silence
    return (x * (np.sqrt(np.mean(ref ** 2)) / max(np.sqrt(np.mean(x ** 2)), 1e-9))).astype(np.float32)


def distance(loss_fn, x: np.ndarray, ref: np.ndarray) -> float:
    with torch.no_grad():
        return float(loss_fn(torch.from_numpy(gain_matched(x, ref))[None, None], torch.from_numpy(ref)[None, None]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="data/fiddle", help="folder written by make_audio.py")
    ap.add_argument("--voice", default="fiddle", help="shipped voice name or voice run directory")
    ap.add_argument("--name", default="fiddle")
    ap.add_argument("--resynth", type=int, default=4, help="held-out tunes also resynthesized (pYIN is slow)")
    ap.add_argument("--pictures", type=int, default=2, help="tunes drawn as spectrograms")
    args = ap.parse_args()
    torch.set_num_threads(2)
    voice = load_voice(args.voice)
    sr = voice.cfg.sample_rate
    loss_fn = spectral_loss()
    rows = []
    mids = sorted((Path(args.data) / "heldout").glob("*.mid"))
    if not mids:
        sys.exit(f"{args.data}/heldout: no held-out tunes (run make_audio.py)")
    render_time = audio_time = 0.0
    for i, mid in enumerate(mids):
        ref = read_recording(mid.with_suffix(".wav"), sr)
        t = time.perf_counter()
        played, _ = render_midi(mid, voice, sample_rate=sr)
        render_time += time.perf_counter() - t
        audio_time += len(played) / sr
        played = played[:, 0]
        synth = synth_notes(midi_notes_seconds(mid), sr)
        row = {"tune": mid.stem, "seconds": round(len(ref) / sr, 1), "voice": distance(loss_fn, played, ref),
               "synth": distance(loss_fn, synth, ref)}
        if find_fluidsynth():  # another sampled violin: FluidR3's, rnnmusic's default SoundFont
            row["fluidr3"] = distance(loss_fn, render_audio(mid, sample_rate=sr)[0].mean(axis=1), ref)
        if i < args.resynth:
            resynth = resynthesize(mid.with_suffix(".wav"), voice)[0][:, 0]
            row["resynthesis"] = distance(loss_fn, resynth, ref)
        rows.append(row)
        print(row, flush=True)
        if i < args.pictures:
            plot_spectrograms({"reference (MuseScore violin)": ref, f"voice {voice.name} (from the notes)":
                               gain_matched(played, ref), "built-in synthesizer": gain_matched(synth, ref)},
                              sr, RESULTS / f"{args.name}-spectrograms-{i + 1}.png", title=mid.stem)
    mean = {k: float(np.mean([r[k] for r in rows if k in r])) for k in ("voice", "synth", "resynthesis", "fluidr3")
            if any(k in r for r in rows)}
    ratio = mean["voice"] / mean["synth"]
    metrics = voice.folder / "metrics.csv"
    curve = []
    if metrics.is_file():
        import csv

        with open(metrics, newline="") as f:
            curve = list(csv.DictReader(f))
        plot_losses(curve, RESULTS / f"{args.name}-loss.png", "multi-scale spectral loss", x="step",
                    keys=("train_loss", "valid_loss"))
    result = {"voice": voice.name, "tunes": rows, "mean": mean, "voice_over_synth": ratio,
              "realtime_factor": audio_time / render_time, "training_curve": curve, "card": voice.card,
              "machine": machine_info(), "commit": commit(), "torch_threads": 2,
              "command": " ".join(["python", *sys.argv])}
    md = [f"# Voice `{voice.name}` against the reference audio ({len(rows)} held-out tunes)", "",
          f"`{result['command']}` at {commit()}, torch on 2 threads, {machine_info()['cpu']}", "",
          "| tune | seconds | voice (from notes) | built-in synth | voice resynthesis | FluidR3 violin |",
          "|---|---|---|---|---|---|"]

    def cell(r: dict, k: str, bold: bool = False) -> str:
        return "" if k not in r else f"**{r[k]:.3f}**" if bold else f"{r[k]:.3f}"

    for r in rows:
        md.append(f"| {r['tune']} | {r['seconds']} | {cell(r, 'voice')} | {cell(r, 'synth')} | "
                  f"{cell(r, 'resynthesis')} | {cell(r, 'fluidr3')} |")
    md += [f"| **mean** | | {cell(mean, 'voice', True)} | {cell(mean, 'synth', True)} | "
           f"{cell(mean, 'resynthesis')} | {cell(mean, 'fluidr3')} |", "",
           f"- voice / synth distance: **{ratio:.2f}** (target <= 0.5)",
           f"- rendering speed: **{result['realtime_factor']:.0f}x real time** ({audio_time:.0f} s of audio in "
           f"{render_time:.1f} s; target >= 20x)"]
    if curve:
        md.append(f"- training: {curve[-1]['step']} steps in {float(curve[-1]['elapsed_s']) / 60:.1f} min of steps "
                  f"(the voice's metrics.csv; feature extraction on top: see the card); validation loss "
                  f"{curve[0]['valid_loss']} at step {curve[0]['step']} -> "
                  f"{min(float(r['valid_loss']) for r in curve)}")
    md.append(f"- pictures: `{args.name}-spectrograms-*.png`, `{args.name}-loss.png`")
    write_results(RESULTS, args.name, result, "\n".join(md) + "\n")


if __name__ == "__main__":
    main()
