"""From notes to what the voice hears: continuous pitch and loudness curves, as a player would make them.

A note (start s, end s, MIDI pitch, velocity) becomes, per frame:

* pitch: the note's, gliding from the previous note over `glide_s` when the two touch (legato), with vibrato
  (`vibrato_cents` deep at `vibrato_hz`) fading in after `vibrato_delay_s`; between notes it holds the last pitch.
* loudness: silence (`floor_db`) rising over `attack_s` to the note's level (`level_db` at velocity 100, +-
  `velocity_db` per doubling of velocity), falling over `release_s` after the note ends; notes less than
  `legato_gap_s` apart are joined with only an `articulation_db` dip between them.
* sounding (0/1) and the onset envelope, exactly as `features` derives them from recordings.

`level_db`, `floor_db`, `release_s` and the voice's range are measured on its training recordings (`calibrate`);
the rest are a player's defaults, all adjustable. `lines_of` splits polyphonic music into monophonic lines: each line is
played by its own instance of the voice, and a line outside the voice's range moves by octaves into it.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from ..errors import UserError
from .features import Features, onset_envelope
from .network import hz_to_midi, midi_to_hz

Note = tuple[float, float, int, int]  # start s, end s, MIDI pitch, velocity
#: Notes of one line that start within this long of the previous note's end still follow it.
OVERLAP_S = 0.02


@dataclass
class Performance:
    level_db: float = -35.0
    floor_db: float = -95.0
    velocity_db: float = 4.0
    attack_s: float = 0.04
    release_s: float = 0.12
    legato_gap_s: float = 0.04
    articulation_db: float = 4.0
    glide_s: float = 0.03
    vibrato_cents: float = 12.0
    vibrato_hz: float = 5.5
    vibrato_delay_s: float = 0.25
    low_pitch: float = 55.0  # the voice's range (MIDI), 1st and 99th percentile of its recordings
    high_pitch: float = 88.0

    def adjusted(self, **changes: float | None) -> Performance:
        """A copy with the given settings changed (None leaves one as it is); unknown names are an error."""
        names = {f.name for f in fields(self)}
        bad = sorted(set(changes) - names)
        if bad:
            raise UserError(f"unknown performance setting(s) {', '.join(bad)}; known: {', '.join(sorted(names))}")
        for k, v in changes.items():
            if v is not None and not np.isfinite(v):
                raise UserError(f"performance setting {k} must be a number, got {v}")
            if v is not None and k.endswith("_s") and not 0 <= v <= 10:
                raise UserError(f"performance setting {k} must be from 0 to 10 seconds, got {v}")
        return replace(self, **{k: float(v) for k, v in changes.items() if v is not None})


def release_time(parts: list[Features], level_db: float, frame_rate: float) -> float | None:
    """How long the instrument (with its room) takes to fall 60 dB after a note, from the recordings' loudness
    alone: before each fall from within 3 dB of `level_db` to 15 dB under it, the time that fall took; the median,
    scaled to 60 dB. None with fewer than 5 falls."""
    times = []
    for p in parts:
        loud = p.loudness_db
        high, low = loud >= level_db - 3, loud <= level_db - 15
        t = 0
        while t < len(loud):
            if not low[t]:
                t += 1
                continue
            start = max(0, t - int(frame_rate))
            before = np.flatnonzero(high[start:t])
            if before.size:
                times.append((t - start - before[-1]) / frame_rate)
            while t < len(loud) and not high[t]:
                t += 1
    if len(times) < 5:
        return None
    return float(np.clip(np.median(times) * 60 / 12, 0.05, 1.0))


def calibrate(parts: list[Features], frame_rate: float) -> Performance:
    """The levels, release and range of the recordings a voice learned from."""
    loud = np.concatenate([p.loudness_db for p in parts])
    on = np.concatenate([p.sounding for p in parts]) > 0.5
    pitch = hz_to_midi(np.concatenate([p.f0_hz for p in parts])[on])
    level = float(np.median(loud[on])) if on.any() else -35.0
    floor = float(np.median(loud[~on])) if (~on).sum() > 50 else level - 60.0
    low, high = (np.percentile(pitch, [1, 99]) if on.any() else (55.0, 88.0))
    release = release_time(parts, level, frame_rate)
    return Performance(level_db=round(level, 2), floor_db=round(min(floor, level - 30.0), 2),
                       release_s=round(release, 3) if release else Performance.release_s,
                       low_pitch=round(float(low), 2), high_pitch=round(float(high), 2))


def lines_of(notes: list[Note], max_lines: int) -> tuple[list[list[Note]], int]:
    """Monophonic lines of notes (highest first) and how many notes were left out (more than `max_lines` at once).
    Each note joins the free line whose last pitch is nearest, or starts a new one; of notes starting together the
    highest and the lowest are placed first, so a full texture loses inner notes, not its tune or its bass."""
    lines: list[list[Note]] = []
    dropped = 0
    ordered: list[Note] = []
    for start in sorted({n[0] for n in notes}):
        chord = sorted((n for n in notes if n[0] == start), key=lambda n: -n[2])
        ordered += chord[:1] + chord[-1:] + chord[1:-1] if len(chord) > 1 else chord
    for note in ordered:
        free = [line for line in lines if line[-1][1] <= note[0] + OVERLAP_S]
        if free:
            min(free, key=lambda line: abs(line[-1][2] - note[2])).append(note)
        elif len(lines) < max_lines:
            lines.append([note])
        else:
            dropped += 1
    lines.sort(key=lambda line: -np.mean([n[2] for n in line]))
    return lines, dropped


def octave_shift(line: list[Note], perf: Performance) -> int:
    """Semitones (a multiple of 12) that bring the line's middle into the voice's range."""
    middle = float(np.median([n[2] for n in line]))
    shift = 0
    while middle + shift < perf.low_pitch + 3 and shift < 48:
        shift += 12
    while middle + shift > perf.high_pitch - 3 and shift > -48:
        shift -= 12
    return shift


def line_features(line: list[Note], perf: Performance, frame_rate: float, n_frames: int) -> Features:
    """The per-frame features of one monophonic line played with `perf`."""
    t = np.arange(n_frames) / frame_rate
    pitch = np.full(n_frames, float(line[0][2]) if line else 69.0)
    amp = np.zeros(n_frames)  # linear amplitude relative to the note level
    level = np.full(n_frames, perf.level_db)
    sounding = np.zeros(n_frames, np.float32)
    onsets = np.zeros(n_frames, bool)
    floor = 10 ** ((perf.floor_db - perf.level_db) / 20)
    for i, (start, end, p, vel) in enumerate(line):
        nxt = line[i + 1] if i + 1 < len(line) else None
        joined = nxt is not None and nxt[0] - end < perf.legato_gap_s
        prev_joined = i > 0 and start - line[i - 1][1] < perf.legato_gap_s
        a, b = int(round(start * frame_rate)), int(round(end * frame_rate))
        b = max(b, a + 1)
        if a >= n_frames:
            break
        stop = n_frames if nxt is None else min(n_frames, int(round(nxt[0] * frame_rate)))
        span = slice(a, stop)
        ts = t[span] - start
        vib = perf.vibrato_cents / 100 * np.clip((ts - perf.vibrato_delay_s) / 0.2, 0, 1) \
            * np.sin(2 * np.pi * perf.vibrato_hz * np.maximum(ts - perf.vibrato_delay_s, 0))
        target = float(p) + vib
        if prev_joined and perf.glide_s > 0:
            before = float(line[i - 1][2])
            target = target + (before - p) * np.clip(1 - ts / perf.glide_s, 0, 1)
        pitch[span] = target
        level[span] = perf.level_db + perf.velocity_db * np.log2(max(int(vel), 1) / 100)
        env = np.ones(stop - a)
        if prev_joined:
            dip = 10 ** (-perf.articulation_db / 20)
            env = np.minimum(env, dip + (1 - dip) * np.clip(ts / max(perf.attack_s, 1e-3), 0, 1))
        else:
            env = np.minimum(env, np.clip(ts / max(perf.attack_s, 1e-3), floor, 1))
        if not joined:
            after = t[span] - end
            env = np.where(after > 0, env * 10 ** (-60 / 20 * after / max(perf.release_s, 1e-3)), env)
        amp[span] = env
        sounding[a:min(b, n_frames)] = 1.0
        onsets[a] = True
    loud = np.where(amp > floor, level + 20 * np.log10(np.maximum(amp, 1e-9)), perf.floor_db)
    return Features(midi_to_hz(pitch).astype(np.float32), loud.astype(np.float32), sounding,
                    onset_envelope(onsets, frame_rate))
