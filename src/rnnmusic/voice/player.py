"""Playing with a learned voice: load one (shipped or trained), and turn notes or a recording into its sound.

    voice = load_voice("fiddle")                       # a shipped voice's name or a voice run directory
    samples, rate = render_midi("tune.mid", voice)     # what `rnnmusic render --voice` and `generate --voice` call
    resynthesize_file("take.wav", voice, "out.wav")    # a recording's pitch and loudness in the voice's sound

Notes are played as `perform` describes (curves with attacks, releases, legato and vibrato); polyphonic music as
monophonic lines (`perform.lines_of`, at most `lines`, 4 by default, the top line first), each line a separate
instance of the voice, mixed. Audio is peak-normalized to -1 dBFS and lasts the piece plus `audio.TAIL_S`, as
SoundFont renders do. Loading reads safetensors and JSON only: no network, no pickle.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..checkpoint import load_checkpoint, save_checkpoint, split_prefix, write_atomic
from ..config import from_dict
from ..errors import CheckpointError, UserError
from ..models import is_voice
from ..render.audio import FADE_S, PEAK, TAIL_S
from .network import VoiceConfig, VoiceNet, network_inputs
from .perform import Note, Performance, line_features, lines_of, octave_shift

VOICE_LINES = 4
CHUNK_FRAMES = 1250  # synthesized this many frames (10 s at 125 frames/s) at a time: bounded memory


@dataclass
class Voice:
    name: str
    folder: Path
    cfg: VoiceConfig
    net: VoiceNet
    performance: Performance
    card: dict = field(default_factory=dict)


_LOADED: dict[tuple[str, float], Voice] = {}


def load_voice(spec: str | Path | Voice) -> Voice:
    """A shipped voice by name, or a voice run directory (best weights, else its newest checkpoint). Loaded once
    per process while its weights are unchanged."""
    from ..models import resolve_model

    if isinstance(spec, Voice):
        return spec
    folder = resolve_model(spec)
    weights = [folder / "best.safetensors", *sorted(folder.glob("checkpoints/*.safetensors"))]
    key = (str(folder.resolve()), max((p.stat().st_mtime for p in weights if p.is_file()), default=0.0))
    if key not in _LOADED:
        _LOADED.clear()
        _LOADED[key] = _load_voice(spec, folder)
    return _LOADED[key]


def _load_voice(spec: str | Path, folder: Path) -> Voice:
    from ..models import shipped_models

    if not folder.is_dir():
        known = [n for n, p in shipped_models().items() if is_voice(p)]
        raise UserError(f"{spec}: no such voice (shipped voices: {', '.join(known) or 'none'}; or a folder "
                        "made by `rnnmusic voice train`)")
    if not is_voice(folder):
        raise UserError(f"{folder}: not a voice (no config.json of kind 'voice'); voices come from "
                        "`rnnmusic voice train` or `rnnmusic models`")
    saved = json.loads((folder / "config.json").read_text())
    cfg = from_dict(VoiceConfig, saved.get("voice", {}))
    perf = from_dict(Performance, saved.get("performance", {}))
    if (folder / "best.safetensors").is_file():
        tensors, _ = load_checkpoint(folder / "best.safetensors")
    else:
        from ..run import RunDir

        found = RunDir(folder).latest_checkpoint()
        if found is None:
            raise CheckpointError(f"{folder}: no weights yet (train it first)")
        tensors = found[1]
    net = VoiceNet(cfg)
    try:
        net.load_state_dict({k: v.float() for k, v in split_prefix(tensors, "model").items()})
    except RuntimeError as e:
        raise CheckpointError(f"{folder}: weights do not match config.json ({str(e).splitlines()[0]})") from None
    net.eval()
    card = {}
    if (folder / "card.json").is_file():
        card = json.loads((folder / "card.json").read_text())
    return Voice(folder.name, folder, cfg, net, perf, card)


def _reverb_long(net: VoiceNet, dry: torch.Tensor, chunk: int) -> torch.Tensor:
    """The voice's reverb over a long signal, by overlap-added chunks."""
    ir = torch.cat([net.reverb.ir.new_zeros(1), net.reverb.ir[1:]])
    out = dry.clone()
    for s in range(0, dry.shape[-1], chunk):
        seg = dry[s:s + chunk]
        n_fft = 1 << (seg.shape[-1] + ir.shape[0] - 1).bit_length()
        wet = torch.fft.irfft(torch.fft.rfft(seg, n_fft) * torch.fft.rfft(ir, n_fft), n_fft)
        end = min(dry.shape[-1], s + seg.shape[-1] + ir.shape[0] - 1)
        out[s:end] += wet[: end - s]
    return out


def play_features(voice: Voice, inputs: torch.Tensor, f0_hz: torch.Tensor, seed: int = 0) -> np.ndarray:
    """Audio (mono, float32, not normalized) of L lines of features: inputs (L, F, 4), f0 (L, F), mixed."""
    net, hop = voice.net, voice.cfg.hop
    gen = torch.Generator().manual_seed(seed)
    threads = torch.get_num_threads()
    try:  # one sequence through a GRU gains nothing from threads, and loses much when the cores are busy
        torch.set_num_threads(1)
        with torch.no_grad():
            amplitudes, noise, _ = net.controls(inputs, f0_hz)
    finally:
        torch.set_num_threads(threads)
    with torch.no_grad():
        phase, parts = None, []
        for s in range(0, f0_hz.shape[1], CHUNK_FRAMES):
            take = slice(s, s + CHUNK_FRAMES)
            dry, phase = net.synthesize(f0_hz[:, take], amplitudes[:, take], noise[:, take], phase, gen)
            parts.append(dry.sum(0))
        mix = _reverb_long(net, torch.cat(parts), CHUNK_FRAMES * hop)
    return mix.numpy().astype(np.float32)


def _finish(audio: np.ndarray, sample_rate: int, out_rate: int) -> np.ndarray:
    """Resampled to `out_rate`, faded out over FADE_S, peak at -1 dBFS; shape (frames, 1)."""
    if out_rate != sample_rate:
        import soxr

        audio = soxr.resample(audio, sample_rate, out_rate).astype(np.float32)
    fade = min(len(audio), int(FADE_S * out_rate))
    if fade:
        audio[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    peak = float(np.abs(audio).max(initial=0.0))
    if peak > 0:
        audio = audio * np.float32(PEAK / peak)
    return audio[:, None]


def render_notes(notes: list[Note], voice: Voice | str | Path, *, sample_rate: int | None = None,
                 lines: int = VOICE_LINES, perform: dict | None = None) -> tuple[np.ndarray, int, dict]:
    """(samples (frames, 1) float32, sample rate, what was played) for notes (start s, end s, pitch, velocity)."""
    voice = load_voice(voice)
    if not notes:
        raise UserError("no notes to play")
    if not 1 <= int(lines) <= 16:
        raise UserError(f"--voice-lines must be from 1 to 16, got {lines}")
    perf = voice.performance.adjusted(**(perform or {}))
    cfg = voice.cfg
    end = max(n[1] for n in notes) + TAIL_S
    n_frames = max(1, int(math.ceil(end * cfg.frame_rate)))
    found, dropped = lines_of(notes, int(lines))
    feats, shifts = [], []
    for line in found:
        shift = octave_shift(line, perf)
        shifts.append(shift)
        moved = [(a, b, p + shift, v) for a, b, p, v in line]
        feats.append(line_features(moved, perf, cfg.frame_rate, n_frames))
    inputs = torch.cat([network_inputs(f.f0_hz, f.loudness_db, f.sounding, f.onset) for f in feats])
    f0 = torch.from_numpy(np.stack([f.f0_hz for f in feats]))
    audio = play_features(voice, inputs, f0)[: int(round(end * cfg.sample_rate))]
    rate = sample_rate or cfg.sample_rate
    report = {"voice": voice.name, "lines": len(found), "notes_left_out": dropped,
              "octave_shifts": shifts, "performance": perf.__dict__}
    return _finish(audio, cfg.sample_rate, rate), rate, report


def render_midi(midi_path: str | Path, voice: Voice | str | Path, *, sample_rate: int = 44100,
                lines: int = VOICE_LINES, perform: dict | None = None) -> tuple[np.ndarray, int]:
    """A MIDI file played by the voice: (samples (frames, 1), sample rate), as `audio.render_audio` returns."""
    from ..render.audio import notes_to_play

    notes = notes_to_play(Path(midi_path))
    samples, rate, _ = render_notes(notes, voice, sample_rate=sample_rate, lines=lines, perform=perform)
    return samples, rate


def resynthesize(recording: str | Path, voice: Voice | str | Path, *, transpose: int = 0) -> tuple[np.ndarray, int]:
    """A recording's pitch and loudness (tracked as in training) played by the voice: (samples (frames, 1), rate)."""
    from .features import frame_features, read_recording

    voice = load_voice(voice)
    cfg = voice.cfg
    feats = frame_features(read_recording(recording, cfg.sample_rate), cfg, source=str(recording))
    f0 = feats.f0_hz * np.float32(2 ** (transpose / 12))
    inputs = network_inputs(f0, feats.loudness_db, feats.sounding, feats.onset)
    audio = play_features(voice, inputs, torch.from_numpy(f0)[None])
    return _finish(audio, cfg.sample_rate, cfg.sample_rate), cfg.sample_rate


def resynthesize_file(recording: str | Path, voice: Voice | str | Path, out: str | Path, *,
                      transpose: int = 0) -> str:
    """`resynthesize`, written to `out` (WAV or FLAC)."""
    from ..render.audio import write_audio

    voice = load_voice(voice)
    samples, rate = resynthesize(recording, voice, transpose=transpose)
    write_audio(Path(out), samples, rate)
    return f"{out}: {len(samples) / rate:.1f} s of {recording} played by {voice.name}"


def export_voice(run: str | Path, name: str, card_path: str | Path, into: str | Path | None = None) -> Path:
    """A trained voice's best weights (fp16) with its config, metrics and card, as a shipped voice folder."""
    from ..models import CARD_FIELDS, MODELS_DIR, card_markdown

    run = Path(run)
    if not is_voice(run):
        raise UserError(f"{run}: not a voice run directory")
    if not (run / "best.safetensors").is_file():
        raise UserError(f"{run}: no best.safetensors yet: train it first")
    try:
        card = json.loads(Path(card_path).read_text())
    except (OSError, ValueError) as e:
        raise UserError(f"{card_path}: cannot read the card ({' '.join(str(e).split())[:120]})") from None
    missing = [k for k in CARD_FIELDS if not card.get(k)]
    if missing:
        raise UserError(f"voice card for {name!r} lacks {', '.join(missing)}")
    tensors, meta = load_checkpoint(run / "best.safetensors")
    weights = {f"model.{k}": v.to(torch.float16) for k, v in split_prefix(tensors, "model").items()}
    folder = Path(into or MODELS_DIR) / name
    folder.mkdir(parents=True, exist_ok=True)
    save_checkpoint(folder / "best.safetensors", weights, {"kind": "voice", "shipped": name, "dtype": "float16",
                                                           "step": meta.get("step")})
    for part in ("config.json", "metrics.csv"):
        if (run / part).is_file():
            write_atomic(folder / part, (run / part).read_bytes())
    if (run / "data-report.json").is_file():  # which recordings, without this machine's folders
        report = json.loads((run / "data-report.json").read_text())
        for item in report.get("read", []) + report.get("skipped", []):
            item["file"] = Path(item["file"]).name
        write_atomic(folder / "data-report.json", (json.dumps(report, indent=2) + "\n").encode())
    write_atomic(folder / "card.json", (json.dumps(card, indent=2) + "\n").encode())
    write_atomic(folder / "card.md", card_markdown(card).encode())
    return folder


def init_voice(folder: str | Path, cfg: VoiceConfig | None = None, *, seed: int = 0,
               performance: Performance | None = None) -> Path:
    """An untrained voice folder (seeded weights, default performance): a stand-in for tests and demos."""
    from ..config import to_dict

    folder = Path(folder)
    cfg = cfg or VoiceConfig()
    torch.manual_seed(seed)
    net = VoiceNet(cfg)
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / "config.json", (json.dumps({"kind": "voice", "voice": to_dict(cfg),
                                                      "performance": to_dict(performance or Performance())},
                                                     indent=2) + "\n").encode())
    save_checkpoint(folder / "best.safetensors", {f"model.{k}": v for k, v in net.state_dict().items()},
                    {"kind": "voice", "step": 0})
    return folder
