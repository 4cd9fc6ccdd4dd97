"""What a generation asks for, checked against the model, with one table of defaults per kind of output.

    req = GenerationRequest(count=4, type="reel", formats="abc,mid,wav")
    kind = output_kind(enc)                  # "tunes", "pieces" or "lead"
    req = resolve(req, enc)                  # the kind's defaults filled in; UserError for what does not apply
    cfg = sample_config(req, enc, prime)     # what the one sampler (`sampler.sample`) is given

Every caller (the CLI's `generate`, the studio's jobs, Python's `rnnmusic.generate`) builds a request and hands
it to `generator.generate`; no caller keeps defaults of its own.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

from .errors import UserError
from .sampler import SampleConfig

# per kind of output: files written, tokens (frames) drawn at most, bars below which a piece is a fragment,
# and how many draws `only_valid` may spend per piece asked for
KIND_DEFAULTS: dict[str, dict[str, Any]] = {
    "tunes": {"formats": "abc,mid", "max_length": 1000, "min_bars": 8.0, "attempts": 10},
    "pieces": {"formats": "mid,wav,roll", "max_length": 1000, "min_bars": 4.0, "attempts": 5},
    "frames": {"formats": "mid,wav,roll", "max_length": 256, "min_bars": 4.0, "attempts": 5},
    "lead": {"formats": "mid,wav,musicxml,svg", "max_length": 4000, "min_bars": 0.0, "attempts": 1},
}


@dataclass
class GenerationRequest:
    """One request for every kind of model; None means the kind's default (`KIND_DEFAULTS`)."""

    count: int = 5
    seed: int = 0
    temperature: float | None = None   # None: the model's default (`generation_defaults`), else 0.9
    top_k: int = SampleConfig.top_k
    top_p: float = SampleConfig.top_p
    max_length: int | None = None      # tokens per piece (frames for piano rolls)
    prime: str = ""                    # ABC models: the opening of every tune, e.g. "M:6/8\nK:G\n"
    prime_file: str | None = None      # start every piece with the opening of this .mid/.abc/.xml/.krn file
    prime_bars: float = 4.0
    constrain: bool = SampleConfig.constrain
    repetition_penalty: float = SampleConfig.repetition_penalty
    repetition_window: int = SampleConfig.repetition_window
    # abc-folk models: honoured while sampling (encodings.abc_request)
    type: str | None = None
    parts: int | None = None
    bars_per_part: int | None = None
    meter: str | None = None           # abc-folk: the tune's M:; lead sheets: the progression's metre
    key: str | None = None             # abc-folk: K:; MIDI side: transpose to it; lead sheets: the key
    # MIDI side and lead sheets
    tempo: float | None = None
    program: int | str | dict | None = None
    # lead sheets: melody over chords
    chords: str | None = None          # progression text, or a file holding one (when chord_files)
    chord_files: bool = True           # the studio passes False: text from a web form is never a path
    bars: int | None = None
    swing: float = 0.5
    accompaniment: str = "comp"
    # files
    formats: str | Sequence[str] | None = None
    only_valid: bool = False           # draw more (bounded) until `count` pieces pass the checks
    min_bars: float | None = None
    max_attempts: int | None = None
    soundfont: str | None = None
    voice: str | None = None           # play the audio with this learned voice (name or folder), not a SoundFont
    voice_lines: int | None = None     # with voice: at most this many lines, each its own instance (default 4)
    perform: str | None = None         # with voice: "attack_s=0.02,vibrato_cents=20" (`voice.perform.Performance`)
    title: str | None = None

    @property
    def voice_choice(self):
        """The learned voice asked for (`voice.choice.VoiceChoice`), or None: audio from the SoundFont."""
        from .voice.choice import VoiceChoice

        return VoiceChoice.parse(self.voice, self.voice_lines, self.perform)


def request_fields() -> set[str]:
    return {f.name for f in fields(GenerationRequest)}


def output_kind(enc) -> str:
    """"tunes" (ABC encodings), "lead" (melody over chords), "frames" (piano rolls) or "pieces" (MIDI tokens)."""
    if enc.piece_format == "abc":
        return "tunes"
    return "lead" if enc.kind == "lead" else "frames" if enc.kind == "frames" else "pieces"


def resolve(req: GenerationRequest, enc) -> GenerationRequest:
    """The request with its kind's defaults filled in; UserError naming what does not apply to this model."""
    kind = output_kind(enc)
    folk = enc.name == "abc-folk"
    if req.prime and req.prime_file:
        raise UserError("give --prime or --prime-file, not both")
    if kind == "lead":
        from .accompaniment import ACCOMPANIMENTS

        if req.prime or req.prime_file or req.only_valid:
            raise UserError("--prime/--prime-file/--only-valid do not apply to lead-sheet models: give --chords "
                            "(and --key)")
        if req.accompaniment not in ACCOMPANIMENTS:
            raise UserError(f"unknown accompaniment {req.accompaniment!r}; choose one of {', '.join(ACCOMPANIMENTS)}")
        if not 0.5 <= req.swing <= 0.75:
            raise UserError(f"--swing is the share of the beat before the off-beat eighth, 0.5 (straight) to 0.75, "
                            f"got {req.swing}")
        if req.bars is not None and not 1 <= req.bars <= 512:
            raise UserError(f"--bars must be 1..512, got {req.bars}")
    elif (req.chords or req.bars or (req.meter and not (folk or hasattr(enc, "request_controls"))) or req.swing != 0.5
          or req.accompaniment != "comp"):
        raise UserError("--chords, --bars, --swing, --accompaniment and --meter need a model trained on lead sheets "
                        f"(--encoding lead); this one uses {enc.name}")
    if kind in ("pieces", "frames") and req.prime:
        raise UserError(f"--prime takes ABC text; the {enc.name} encoding is primed with --prime-file x.mid")
    if kind == "tunes" and ((req.key and not folk) or req.tempo):
        raise UserError("--key and --tempo apply to MIDI-side encodings and abc-folk models; ABC tunes take their "
                        r"key from the model (prime one with --prime 'K:G\n')")
    d = generation_defaults(enc)
    return replace(req, formats=req.formats or d["formats"], max_length=req.max_length or d["max_length"],
                   min_bars=d["min_bars"] if req.min_bars is None else req.min_bars,
                   max_attempts=req.max_attempts or d["attempts"] * req.count)


def generation_defaults(enc) -> dict[str, Any]:
    """The defaults of the encoding's kind (`KIND_DEFAULTS`), the encoding's own (`generation_defaults`) over them."""
    return KIND_DEFAULTS[output_kind(enc)] | getattr(enc, "generation_defaults", {})


def sample_config(req: GenerationRequest, enc, prime: Any = "", controls: dict | None = None) -> SampleConfig:
    """What the sampler is given: the request's sampling parameters, its prime and the encoding's controls (abc-folk:
    type, meter, key, parts, bars per part; lead sheets: the chords, see `lead_pieces.plan_lead`)."""
    if controls is None and hasattr(enc, "request_controls"):  # an encoding that reads the request itself (satb)
        controls = enc.request_controls(req)
    if controls is None:
        from .encodings.abc_request import request_controls

        folk = enc.name == "abc-folk"
        controls = request_controls(enc, type=req.type, meter=req.meter if folk else None,
                                    key=req.key if folk else None, parts=req.parts, bars_per_part=req.bars_per_part)
    temperature = req.temperature if req.temperature is not None else \
        generation_defaults(enc).get("temperature", SampleConfig.temperature)
    cfg = SampleConfig(count=req.count, temperature=temperature, top_k=req.top_k, top_p=req.top_p, seed=req.seed,
                       prime=prime, max_length=req.max_length or generation_defaults(enc)["max_length"],
                       constrain=req.constrain, repetition_penalty=req.repetition_penalty,
                       repetition_window=req.repetition_window, controls=controls)
    cfg.validate()
    return cfg
