"""`rnnmusic voice train`: a voice learns an instrument's sound from recordings of it.

    train_voice(["a.wav", "b.flac"], "voices/fiddle", VoiceTrainConfig(steps=6000))

The recordings are read by the guarded reader (`features.read_recording`: one refused file is skipped and
counted), trimmed of leading and trailing silence, their features extracted once (`features.frame_features`) and
kept in OUT/features.safetensors. Training draws random clips of `clip_s` (at least a fifth of each sounding),
renders them with the voice and lowers DDSP's multi-scale spectral loss (auraloss: L1 on linear and log
magnitudes, FFT sizes 2048 ... 64, hop a quarter of each) against the recording, with Adam. The last tenth of
each recording is held out for validation.

OUT is a run directory like every other model's (`run.RunDir`): config.json (kind "voice", the network, training
and performance settings), checkpoints/step-*.safetensors (weights, optimizer, random state; the newest few
kept), best.safetensors (lowest validation loss), metrics.csv and loss.png, data-report.json. `resume=True`
continues a killed run from its newest checkpoint.
"""
from __future__ import annotations

import math
import os
import signal
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..checkpoint import (
    load_checkpoint,
    optimizer_from_flat,
    optimizer_to_flat,
    save_checkpoint,
    split_prefix,
)
from ..config import from_dict, to_dict
from ..errors import UserError, one_line
from ..run import RunDir
from ..train_progress import read_metrics, write_metrics
from .features import Features, frame_features, read_recording
from .network import VoiceConfig, VoiceNet, network_inputs
from .perform import calibrate

METRIC_FIELDS = ["step", "train_loss", "valid_loss", "lr", "elapsed_s"]
KEEP_CHECKPOINTS = 3
FFT_SIZES = (2048, 1024, 512, 256, 128, 64)


@dataclass
class VoiceTrainConfig:
    steps: int = 6000
    batch: int = 8
    clip_s: float = 2.0
    lr: float = 1e-3
    lr_final: float = 1e-4  # exponential decay from lr to this over `steps`
    seed: int = 0
    checkpoint_every: int = 250
    valid_clips: int = 16


def check_settings(cfg: VoiceConfig, tcfg: VoiceTrainConfig) -> None:
    """A UserError naming the first setting out of its range."""
    limits = [("steps", tcfg.steps, 1, 10_000_000), ("batch", tcfg.batch, 1, 1024), ("clip-s", tcfg.clip_s, 0.1, 30),
              ("lr", tcfg.lr, 1e-7, 1.0), ("checkpoint-every", tcfg.checkpoint_every, 1, 10_000_000),
              ("hidden", cfg.hidden, 4, 4096), ("harmonics", cfg.n_harmonics, 1, 256),
              ("noise-bands", cfg.n_noise_bands, 3, 1025), ("reverb-s", cfg.reverb_s, 0.001, 5.0),
              ("sample-rate", cfg.sample_rate, 8000, 48000), ("fmin", cfg.fmin, 20, cfg.fmax - 1),
              ("fmax", cfg.fmax, cfg.fmin + 1, cfg.sample_rate / 2)]
    for name, value, low, high in limits:
        if not low <= value <= high:
            raise UserError(f"--{name} must be from {low:g} to {high:g}, got {value:g}")


def spectral_loss():
    """DDSP's multi-scale spectral loss (auraloss's multi-resolution STFT loss with DDSP's settings)."""
    from auraloss.freq import MultiResolutionSTFTLoss

    return MultiResolutionSTFTLoss(fft_sizes=list(FFT_SIZES), hop_sizes=[n // 4 for n in FFT_SIZES],
                                   win_lengths=list(FFT_SIZES), w_sc=0.0, w_log_mag=1.0, w_lin_mag=1.0)


def _trim(f: Features, frame_rate: float) -> Features:
    """Leading and trailing silence cut to a quarter second."""
    on = np.flatnonzero(f.sounding > 0.5)
    pad = int(0.25 * frame_rate)
    a, b = max(0, on[0] - pad), min(len(f), on[-1] + pad + 1)
    hop = len(f.audio) // len(f)
    return Features(f.f0_hz[a:b], f.loudness_db[a:b], f.sounding[a:b], f.onset[a:b], f.audio[a * hop: b * hop])


def read_training_audio(recordings: Sequence[str | Path], cfg: VoiceConfig) -> tuple[list[Features], dict]:
    """Features of every usable recording, and a report of what was read and skipped (with reasons)."""
    parts, report = [], {"read": [], "skipped": []}
    for path in map(str, recordings):
        try:
            audio = read_recording(path, cfg.sample_rate)
            feats = _trim(frame_features(audio, cfg, source=path), cfg.frame_rate)
        except UserError as e:
            report["skipped"].append({"file": path, "reason": str(e)})
            continue
        parts.append(feats)
        report["read"].append({"file": path, "seconds": round(len(feats) / cfg.frame_rate, 2),
                               "sounding": round(float(feats.sounding.mean()), 3)})
    report["seconds"] = round(sum(r["seconds"] for r in report["read"]), 1)
    skipped = report["skipped"]
    if not parts:
        if len(skipped) == 1:
            raise UserError(skipped[0]["reason"])
        raise UserError(f"no usable recordings among the {len(skipped)} given (the first: {skipped[0]['reason']})"
                        if skipped else "no recordings given")
    for s in skipped:
        warnings.warn(f"skipped: {s['reason']}", stacklevel=2)
    return parts, report


def _save_features(path: Path, parts: list[Features], report: dict) -> None:
    tensors = {}
    for i, p in enumerate(parts):
        for k in ("f0_hz", "loudness_db", "sounding", "onset", "audio"):
            tensors[f"{i}.{k}"] = torch.from_numpy(np.ascontiguousarray(getattr(p, k)))
    save_checkpoint(path, tensors, {"parts": len(parts), "report": report})


def _load_features(path: Path) -> tuple[list[Features], dict]:
    tensors, meta = load_checkpoint(path)
    parts = [Features(*(tensors[f"{i}.{k}"].numpy() for k in ("f0_hz", "loudness_db", "sounding", "onset", "audio")))
             for i in range(int(meta["parts"]))]
    return parts, meta["report"]


class Clips:
    """Random training clips and fixed validation clips from the recordings' features."""

    def __init__(self, parts: list[Features], cfg: VoiceConfig, tcfg: VoiceTrainConfig):
        self.hop, self.n = cfg.hop, max(2, int(tcfg.clip_s * cfg.frame_rate))
        self.train, valid = [], []
        for p in parts:
            cut = len(p) - max(self.n, len(p) // 10) if len(p) >= 4 * self.n else len(p)
            self.train.append((p, 0, cut))
            if cut < len(p):
                valid.append((p, cut, len(p)))
        self.train = [t for t in self.train if t[2] - t[1] >= self.n] or [(p, 0, len(p)) for p in parts]
        if not valid:  # short recordings: validate on the training clips' start
            valid = [(p, a, b) for p, a, b in self.train]
        self.valid = []
        for p, a, b in valid:
            for s in range(a, b - self.n + 1, self.n):
                if len(self.valid) < tcfg.valid_clips:
                    self.valid.append((p, s))
        self.valid = self.valid or [(valid[0][0], 0)]
        self.weights = np.array([b - a - self.n + 1 for _, a, b in self.train], float).clip(min=1)
        self.weights /= self.weights.sum()

    def _clip(self, p: Features, s: int):
        n = min(self.n, len(p) - s)
        take = slice(s, s + n)
        return (network_inputs(p.f0_hz[take], p.loudness_db[take], p.sounding[take], p.onset[take])[0],
                torch.from_numpy(p.f0_hz[take]), torch.from_numpy(p.audio[s * self.hop:(s + n) * self.hop]))

    def batch(self, size: int, gen: torch.Generator):
        out = []
        for _ in range(size):
            i = int(torch.multinomial(torch.from_numpy(self.weights), 1, generator=gen))
            p, a, b = self.train[i]
            for _try in range(10):
                s = a + int(torch.randint(0, max(1, b - a - self.n + 1), (1,), generator=gen))
                if p.sounding[s:s + self.n].mean() >= 0.2:
                    break
            out.append(self._clip(p, s))
        return [torch.stack(x) for x in zip(*out)]

    def valid_batches(self, size: int):
        for i in range(0, len(self.valid), size):
            yield [torch.stack(x) for x in zip(*(self._clip(p, s) for p, s in self.valid[i:i + size]))]


def _evaluate(net: VoiceNet, clips: Clips, loss_fn, batch: int) -> float:
    net.eval()
    total, n = 0.0, 0
    with torch.no_grad():
        gen = torch.Generator().manual_seed(1234)
        for inputs, f0, audio in clips.valid_batches(batch):
            total += float(loss_fn(net(inputs, f0, gen)[:, None], audio[:, None])) * len(inputs)
            n += len(inputs)
    net.train()
    return total / max(n, 1)


def train_voice(recordings: Sequence[str | Path], out: str | Path, cfg: VoiceConfig | None = None,
                tcfg: VoiceTrainConfig | None = None, *, resume: bool = False, progress: bool = True,
                init_from: str | Path | None = None) -> dict:
    """Train (or with `resume`, continue) a voice in run directory `out`; returns a summary dict. `init_from`: start
    from that voice's weights and network settings (a shipped voice's name or a voice folder): fine-tuning."""
    run = RunDir(Path(out))
    start = None
    if resume:
        if not run.config_path.is_file():
            raise UserError(f"{run.root}: nothing to resume (no config.json)")
        saved = run.read_json(run.config_path)
        if saved.get("kind") != "voice":
            raise UserError(f"{run.root}: not a voice run directory")
        steps = tcfg.steps if tcfg is not None else None
        cfg, tcfg = from_dict(VoiceConfig, saved["voice"]), from_dict(VoiceTrainConfig, saved["train"])
        tcfg.steps = max(tcfg.steps, steps or 0)
        run.remove_temp_files()
    else:
        cfg, tcfg = cfg or VoiceConfig(), tcfg or VoiceTrainConfig()
        check_settings(cfg, tcfg)
        if init_from is not None:
            from .player import load_voice

            start = load_voice(init_from)
            cfg = start.cfg
        if run.step_checkpoints() or run.best_path.exists():
            raise UserError(f"{run.root}: already holds a trained voice; --resume to continue it, or another --out")
        if not recordings:
            raise UserError("voice train needs recordings (WAV, FLAC or OGG of one monophonic instrument)")
    features_path = run.root / "features.safetensors"
    t0 = time.time()
    if features_path.is_file():
        parts, report = _load_features(features_path)
    else:
        parts, report = read_training_audio(recordings, cfg)
        run.root.mkdir(parents=True, exist_ok=True)
        _save_features(features_path, parts, report)
        run.write_json(run.root / "data-report.json", report)
    feature_s = time.time() - t0
    perf = calibrate(parts, cfg.frame_rate)
    saved = {"kind": "voice", "voice": to_dict(cfg), "train": to_dict(tcfg), "performance": to_dict(perf)}
    if start is not None:
        saved["init_from"] = str(init_from)
    run.write_json(run.config_path, saved)
    torch.manual_seed(tcfg.seed)
    net = VoiceNet(cfg)
    if not resume and start is not None:
        net.load_state_dict(start.net.state_dict())
    opt = torch.optim.Adam(net.parameters(), lr=tcfg.lr)
    gen = torch.Generator().manual_seed(tcfg.seed)
    loss_fn = spectral_loss()
    clips = Clips(parts, cfg, tcfg)
    step, elapsed, best = 0, 0.0, math.inf
    rows = read_metrics(run.metrics_path) if resume else []
    found = run.latest_checkpoint() if resume else None
    if found is not None:
        _, tensors, meta = found
        net.load_state_dict(split_prefix(tensors, "model"))
        opt.load_state_dict(optimizer_from_flat(split_prefix(tensors, "optim"), meta["optim"]))
        gen.set_state(tensors["rng"])
        step, elapsed, best = int(meta["step"]), float(meta["elapsed"]), float(meta["best_valid"])
        rows = [r for r in rows if int(r["step"]) <= step]

    def lr_at(s: int) -> float:
        return tcfg.lr * (tcfg.lr_final / tcfg.lr) ** (s / max(1, tcfg.steps))

    def checkpoint() -> None:
        flat, js = optimizer_to_flat(opt.state_dict())
        tensors = {f"model.{k}": v for k, v in net.state_dict().items()}
        tensors |= {f"optim.{k}": v for k, v in flat.items()} | {"rng": gen.get_state()}
        meta = {"kind": "voice", "step": step, "elapsed": elapsed, "best_valid": best, "optim": js}
        save_checkpoint(run.step_path(step), tensors, meta)
        for old in run.step_checkpoints()[KEEP_CHECKPOINTS:]:
            old.unlink(missing_ok=True)

    stop = {"signal": None}

    def on_signal(signum, frame):
        stop["signal"] = signal.Signals(signum).name

    previous = signal.signal(signal.SIGTERM, on_signal) if _main_thread() else None
    bar = _progress_bar(tcfg.steps, step, progress)
    window: list[float] = []
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    try:
        while step < tcfg.steps and stop["signal"] is None:
            start = time.time()
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
            inputs, f0, audio = clips.batch(tcfg.batch, gen)
            loss = loss_fn(net(inputs, f0, gen)[:, None], audio[:, None])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 3.0)
            opt.step()
            step += 1
            elapsed += time.time() - start
            window.append(float(loss))
            bar.update(1)
            bar.set_postfix(loss=f"{np.mean(window[-50:]):.3f}")
            if step % tcfg.checkpoint_every == 0 or step == tcfg.steps:
                valid = _evaluate(net, clips, loss_fn, tcfg.batch)
                rows.append({"step": step, "train_loss": round(float(np.mean(window)), 4),
                             "valid_loss": round(valid, 4), "lr": f"{lr_at(step):.3g}",
                             "elapsed_s": round(elapsed, 1)})
                window = []
                if valid < best:
                    best = valid
                    save_checkpoint(run.best_path, {f"model.{k}": v for k, v in net.state_dict().items()},
                                    {"kind": "voice", "step": step, "valid_loss": valid})
                checkpoint()
                write_metrics(run.metrics_path, rows, METRIC_FIELDS)
                _plot(rows, run)
    except KeyboardInterrupt:
        stop["signal"] = "SIGINT"
    finally:
        bar.close()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    if stop["signal"] is not None and step and not run.step_path(step).exists():
        checkpoint()
    return {"run": str(run.root), "step": step, "steps": tcfg.steps, "best_valid": best, "train_s": round(elapsed, 1),
            "feature_s": round(feature_s, 1), "seconds_of_audio": report.get("seconds"),
            "skipped": len(report.get("skipped", [])), "stopped": stop["signal"] or "finished",
            "performance": to_dict(perf)}


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _progress_bar(total: int, done: int, show: bool):
    from tqdm import tqdm

    return tqdm(total=total, initial=done, disable=not show, unit="step", desc="voice", dynamic_ncols=True)


def _plot(rows: list[dict[str, Any]], run: RunDir) -> None:
    from ..render.plots import plot_losses

    try:
        plot_losses(rows, run.plot_path, "multi-scale spectral loss", x="step", keys=("train_loss", "valid_loss"))
    except OSError as e:
        warnings.warn(f"{run.plot_path}: cannot write loss plot: {one_line(e)}", stacklevel=2)
