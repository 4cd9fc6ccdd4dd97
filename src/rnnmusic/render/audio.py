"""MIDI file -> audio: WAV or FLAC.

`render_audio` renders with FluidSynth and a General MIDI SoundFont when both are installed, then trims
or pads the result to the piece's length plus a short release tail (`TAIL_S`) and peak-normalizes it to
-1 dBFS. `write_audio` writes those samples as 16-bit PCM, choosing the container by the file's suffix:
.wav (the stdlib `wave` module) or .flac (lossless, `soundfile`); the same samples give both.
`midi_to_audio` (also known as `midi_to_wav`) does the two in one call. When FluidSynth or a SoundFont is missing
(or FluidSynth fails) it emits ONE Python warning (category `MissingToolWarning`, a `UserWarning`) and
uses `synth_notes`, a small additive numpy synthesizer (harmonic partials, ADSR envelope), instead.

Environment variables
---------------------
``RNNMUSIC_NO_FLUIDSYNTH=1``
    Behave as if fluidsynth were not installed (forces the built-in synthesizer). Meant for tests.
``RNNMUSIC_FLUIDSYNTH=/path/to/fluidsynth``
    Use this fluidsynth executable instead of the one on ``$PATH``.
``RNNMUSIC_SOUNDFONT=/path/to/font.sf2``
    SoundFont to use when none is passed explicitly (see `find_soundfont`).

Every external program is run with an argument list (never a shell string) and a timeout.
"""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
import warnings
import wave
from pathlib import Path

import numpy as np

from ..errors import UserError
from .midi import MissingToolWarning, env_flag, temp_sibling

__all__ = [
    "ENV_NO_FLUIDSYNTH",
    "ENV_FLUIDSYNTH",
    "ENV_SOUNDFONT",
    "TAIL_S",
    "find_fluidsynth",
    "find_soundfont",
    "midi_to_audio",
    "midi_to_wav",
    "render_audio",
    "synth_notes",
    "read_wav",
    "write_audio",
    "midi_notes_seconds",
]

ENV_NO_FLUIDSYNTH = "RNNMUSIC_NO_FLUIDSYNTH"
ENV_FLUIDSYNTH = "RNNMUSIC_FLUIDSYNTH"
ENV_SOUNDFONT = "RNNMUSIC_SOUNDFONT"

#: Debian/Ubuntu places for a General MIDI SoundFont, searched in this order.
SOUNDFONT_PATHS = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
)
SOUNDFONT_GLOB = "/usr/share/soundfonts/*.sf2"

#: Seconds of release/reverb kept after the last note ends; the WAV is exactly piece end + TAIL_S long.
TAIL_S = 0.5
#: Fade-out applied to the end of the kept tail so trimming never leaves a click.
FADE_S = 0.05
#: Peak level after normalization: -1 dBFS.
PEAK = 10 ** (-1 / 20)
FLUIDSYNTH_GAIN = 0.6

# Fallback synthesizer voice.
_PARTIALS = (1.0, 0.5, 0.3, 0.18, 0.1)  # relative amplitudes of harmonics 1..5
_ATTACK_S, _DECAY_S, _SUSTAIN, _RELEASE_S = 0.01, 0.08, 0.7, 0.15


def find_fluidsynth() -> str | None:
    """Path of the fluidsynth executable, or None when absent or hidden by ``RNNMUSIC_NO_FLUIDSYNTH=1``."""
    if env_flag(ENV_NO_FLUIDSYNTH):
        return None
    explicit = os.environ.get(ENV_FLUIDSYNTH, "").strip()
    if explicit:
        return shutil.which(explicit)
    return shutil.which("fluidsynth")


def find_soundfont(explicit: str | Path | None = None) -> Path | None:
    """The SoundFont to render with: `explicit`, then ``$RNNMUSIC_SOUNDFONT``, then the Debian paths
    /usr/share/sounds/sf2/FluidR3_GM.sf2, /usr/share/sounds/sf2/default-GM.sf2, /usr/share/soundfonts/*.sf2.

    Returns None when none is found. A path the user named (argument or environment variable) that is
    not a file raises UserError instead of being skipped silently.
    """
    if explicit is not None and str(explicit) != "":
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise UserError(f"{path}: SoundFont not found")
        return path
    from_env = os.environ.get(ENV_SOUNDFONT, "").strip()
    if from_env:
        path = Path(from_env).expanduser()
        if not path.is_file():
            raise UserError(f"{path}: SoundFont not found (set by ${ENV_SOUNDFONT})")
        return path
    for candidate in SOUNDFONT_PATHS:
        if Path(candidate).is_file():
            return Path(candidate)
    for candidate in sorted(glob.glob(SOUNDFONT_GLOB)):
        if Path(candidate).is_file():
            return Path(candidate)
    return None


def midi_notes_seconds(midi_path: Path) -> list[tuple[float, float, int, int]]:
    """(start_s, end_s, pitch, velocity) of every pitched (non-drum) note in a MIDI file, via symusic."""
    import symusic

    score = symusic.Score.from_midi(Path(midi_path).read_bytes()).to("second")
    notes: list[tuple[float, float, int, int]] = []
    for track in score.tracks:
        if track.is_drum or len(track.notes) == 0:
            continue
        arr = track.notes.numpy()
        starts = arr["time"].astype(np.float64)
        ends = starts + arr["duration"].astype(np.float64)
        pitches = arr["pitch"].astype(np.int64)
        velocities = arr["velocity"].astype(np.int64)
        notes.extend(zip(starts.tolist(), ends.tolist(), pitches.tolist(), velocities.tolist()))
    notes.sort()
    return notes


def notes_to_play(midi_path: Path) -> list[tuple[float, float, int, int]]:
    """`midi_notes_seconds`, or a UserError naming the file when it is missing, unreadable or holds no notes."""
    midi_path = Path(midi_path)
    if not midi_path.is_file():
        raise UserError(f"{midi_path}: MIDI file not found")
    try:
        notes = midi_notes_seconds(midi_path)
    except Exception as exc:
        raise UserError(f"{midi_path}: cannot read MIDI file: {' '.join(str(exc).split())[:200]}") from None
    if not notes:
        raise UserError(f"{midi_path}: no notes to render")
    return notes


def _adsr(n_hold: int, n_release: int, sample_rate: int) -> np.ndarray:
    """Envelope: attack, decay to sustain during the held part, then release to zero."""
    n_attack = max(1, int(_ATTACK_S * sample_rate))
    n_decay = max(1, int(_DECAY_S * sample_rate))
    held = np.full(n_hold, _SUSTAIN, dtype=np.float64)
    a = min(n_attack, n_hold)
    held[:a] = np.linspace(0.0, 1.0, n_attack, endpoint=False)[:a]
    d_end = min(n_attack + n_decay, n_hold)
    if d_end > n_attack:
        held[n_attack:d_end] = np.linspace(1.0, _SUSTAIN, n_decay, endpoint=False)[: d_end - n_attack]
    last = held[-1] if n_hold else 0.0
    release = last * np.linspace(1.0, 0.0, n_release, endpoint=True) if n_release else np.empty(0)
    return np.concatenate([held, release])


def synth_notes(notes: list[tuple[float, float, int, int]], sample_rate: int) -> np.ndarray:
    """The fallback synthesizer: (start_s, end_s, pitch, velocity) notes -> float32 mono samples.

    Each note is a few harmonic partials under an ADSR envelope, scaled by velocity/127; notes are
    mixed and, if the mix would exceed full scale, scaled down so |sample| <= 1 (never clipped).
    Length: last note end + the release time. An empty list gives an empty array.
    """
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    if not notes:
        return np.zeros(0, dtype=np.float32)
    n_release = int(_RELEASE_S * sample_rate)
    total_end = max(float(end) for _, end, _, _ in notes)
    out = np.zeros(int(np.ceil(total_end * sample_rate)) + n_release + 1, dtype=np.float64)
    nyquist = sample_rate / 2
    for start, end, pitch, velocity in notes:
        i0 = max(0, int(round(float(start) * sample_rate)))
        n_hold = max(1, int(round((float(end) - float(start)) * sample_rate)))
        env = _adsr(n_hold, n_release, sample_rate)
        t = np.arange(env.size, dtype=np.float64) / sample_rate
        freq = 440.0 * 2.0 ** ((int(pitch) - 69) / 12.0)
        wave_ = np.zeros(env.size, dtype=np.float64)
        for k, amp in enumerate(_PARTIALS, start=1):
            if k * freq >= nyquist:
                break
            wave_ += amp * np.sin(2 * np.pi * k * freq * t)
        amp_note = 0.25 * max(0, min(int(velocity), 127)) / 127.0
        seg = amp_note * env * wave_
        i1 = min(out.size, i0 + seg.size)
        out[i0:i1] += seg[: i1 - i0]
    peak = float(np.max(np.abs(out))) if out.size else 0.0
    if peak > 1.0:
        out /= peak
    return out.astype(np.float32)


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """Read a 16-bit PCM WAV: (float32 samples in [-1, 1], shape (frames, channels)), sample rate)."""
    with wave.open(str(path), "rb") as w:
        channels, width, rate, frames = w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()
        raw = w.readframes(frames)
    if width != 2:
        raise ValueError(f"{path}: expected 16-bit PCM, got {8 * width}-bit samples")
    data = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    return data.reshape(-1, channels), rate


#: Audio containers `write_audio` writes, by file suffix.
AUDIO_SUFFIXES = (".wav", ".flac")


def _pcm16(samples: np.ndarray) -> np.ndarray:
    """Float samples (frames,) or (frames, channels) in [-1, 1] as 16-bit PCM, shape (frames, channels)."""
    if samples.ndim == 1:
        samples = samples[:, None]
    return np.clip(np.round(samples * 32767.0), -32768, 32767).astype("<i2")


def write_audio(path: Path, samples: np.ndarray, sample_rate: int) -> Path:
    """Write float samples in [-1, 1] as 16-bit PCM, atomically: WAV or FLAC by `path`'s suffix.

    UserError (one line, naming the file) for another suffix, a folder that cannot be made, or FLAC
    when the `soundfile` package (libsndfile) cannot be loaded."""
    path = Path(path)
    kind = path.suffix.lower()
    if kind not in AUDIO_SUFFIXES:
        raise UserError(f"{path}: audio is written as {' or '.join(AUDIO_SUFFIXES)}, not {kind or 'no suffix'}")
    pcm = _pcm16(samples)
    tmp = temp_sibling(path)
    try:
        if kind == ".flac":
            try:
                import soundfile
            except (ImportError, OSError) as exc:
                raise UserError(f"{path}: cannot write FLAC: the soundfile package (libsndfile) cannot be "
                                f"loaded ({' '.join(str(exc).split())})") from None
            soundfile.write(str(tmp), pcm, sample_rate, format="FLAC", subtype="PCM_16")
        else:
            with wave.open(str(tmp), "wb") as w:
                w.setnchannels(pcm.shape[1])
                w.setsampwidth(2)
                w.setframerate(sample_rate)
                w.writeframes(pcm.tobytes())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def _fit_length(samples: np.ndarray, n_frames: int, sample_rate: int) -> np.ndarray:
    """Trim (with a short fade-out) or zero-pad `samples` (frames, channels) to exactly `n_frames`."""
    if samples.shape[0] > n_frames:
        samples = samples[:n_frames].copy()
        n_fade = min(n_frames, int(FADE_S * sample_rate))
        if n_fade > 0:
            samples[-n_fade:] *= np.linspace(1.0, 0.0, n_fade, dtype=np.float32)[:, None]
    elif samples.shape[0] < n_frames:
        pad = np.zeros((n_frames - samples.shape[0], samples.shape[1]), dtype=samples.dtype)
        samples = np.concatenate([samples, pad])
    return samples


def _render_fluidsynth(exe: str, soundfont: Path, midi_path: Path, sample_rate: int, seconds: float) -> np.ndarray:
    """Render with FluidSynth; returns (frames, channels) float32. Raises RuntimeError on failure.

    FluidSynth gets a copy of the MIDI file rewritten by symusic: some files music21 writes make its
    fast-render mode run forever (gigabytes of silence). As a second guard the render is killed when
    its output grows past `seconds` + 10 s of audio or it runs past its time limit.
    """
    import symusic

    with tempfile.TemporaryDirectory(prefix="rnnmusic-fluidsynth-") as tmp:
        clean_mid = Path(tmp) / "in.mid"
        raw = Path(tmp) / "render.wav"
        log = Path(tmp) / "fluidsynth.log"
        clean_mid.write_bytes(symusic.Score.from_midi(midi_path.read_bytes()).dumps_midi())
        cmd = [
            exe, "-ni", "-q",
            "-g", str(FLUIDSYNTH_GAIN),
            "-r", str(sample_rate),
            "-F", str(raw), "-T", "wav", "-O", "s16",
            str(soundfont), str(clean_mid),
        ]
        timeout = 60.0 + 2.0 * seconds
        max_bytes = 1_000_000 + int((seconds + 10.0) * sample_rate) * 2 * 2  # stereo, 16-bit
        with open(log, "wb") as log_file:
            try:
                proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT)
            except OSError as exc:
                raise RuntimeError(f"cannot run fluidsynth: {exc}") from None
            deadline = time.monotonic() + timeout
            problem = None
            while proc.poll() is None:
                if time.monotonic() > deadline:
                    problem = f"fluidsynth timed out after {timeout:g} s"
                elif raw.exists() and raw.stat().st_size > max_bytes:
                    problem = f"fluidsynth kept rendering past the end of the piece ({seconds:.1f} s)"
                if problem:
                    proc.kill()
                    proc.wait()
                    raise RuntimeError(problem)
                time.sleep(0.02)
        if proc.returncode != 0:
            tail = log.read_text(errors="replace").strip().splitlines()
            raise RuntimeError(f"fluidsynth exited with status {proc.returncode}" + (f": {tail[-1]}" if tail else ""))
        if not raw.is_file() or raw.stat().st_size <= 44:
            raise RuntimeError("fluidsynth wrote no audio")
        try:
            samples, rate = read_wav(raw)
        except (ValueError, EOFError, wave.Error) as exc:
            raise RuntimeError(f"cannot read fluidsynth's WAV: {exc}") from None
    if rate != sample_rate:
        raise RuntimeError(f"fluidsynth wrote {rate} Hz instead of {sample_rate} Hz")
    if samples.shape[0] == 0:
        raise RuntimeError("fluidsynth wrote no audio")
    return samples


def render_audio(
    midi_path: Path,
    *,
    soundfont: Path | None = None,
    sample_rate: int = 44100,
    normalize: bool = True,
    voice=None,
) -> tuple[np.ndarray, int]:
    """Render `midi_path` as float32 samples, shape (frames, channels), with their sample rate.

    The audio lasts exactly the piece (last note end, in seconds) plus `TAIL_S` of release. FluidSynth
    output is stereo; the built-in synthesizer's is mono. With `normalize` the peak is set to -1 dBFS;
    without it FluidSynth's level is kept (the built-in synth only guarantees no clipping). Never above 1.
    With `voice` (a `voice.choice.VoiceChoice`) that learned voice plays it instead: mono, always at -1 dBFS.
    """
    midi_path = Path(midi_path)
    if not isinstance(sample_rate, int) or isinstance(sample_rate, bool) or not 8000 <= sample_rate <= 96000:
        raise UserError(f"sample rate must be an integer from 8000 to 96000 Hz, got {sample_rate!r}")
    if voice is not None:
        return voice.render(midi_path, sample_rate)
    notes = notes_to_play(midi_path)
    piece_end = max(end for _, end, _, _ in notes)
    n_frames = int(round((piece_end + TAIL_S) * sample_rate))

    exe = find_fluidsynth()
    font = find_soundfont(soundfont)
    samples: np.ndarray | None = None
    problem: str | None = None
    if exe is None:
        problem = "fluidsynth not found"
    elif font is None:
        problem = f"no General MIDI SoundFont found (set ${ENV_SOUNDFONT})"
    else:
        try:
            samples = _render_fluidsynth(exe, font, midi_path, sample_rate, piece_end)
        except RuntimeError as exc:
            problem = f"fluidsynth failed: {exc}"
    if samples is None:
        warnings.warn(f"{problem}: using the built-in synthesizer (lower quality)", MissingToolWarning, stacklevel=3)
        samples = synth_notes(notes, sample_rate)[:, None]

    samples = _fit_length(samples.astype(np.float32, copy=False), n_frames, sample_rate)
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    if normalize and peak > 0:
        samples = samples * np.float32(PEAK / peak)
    elif peak > 1.0:
        samples = samples / np.float32(peak)
    return samples, sample_rate


def midi_to_audio(
    midi_path: Path,
    out_path: Path,
    *,
    soundfont: Path | None = None,
    sample_rate: int = 44100,
    normalize: bool = True,
    voice=None,
) -> Path:
    """Render `midi_path` (`render_audio`, with a SoundFont or a learned `voice`) to a 16-bit WAV or FLAC file at
    `out_path`, by its suffix (`write_audio`, atomic); returns `out_path`."""
    samples, rate = render_audio(midi_path, soundfont=soundfont, sample_rate=sample_rate, normalize=normalize,
                                 voice=voice)
    return write_audio(out_path, samples, rate)


#: The name the rest of rnnmusic has long used; it writes FLAC too when given a .flac path.
midi_to_wav = midi_to_audio
