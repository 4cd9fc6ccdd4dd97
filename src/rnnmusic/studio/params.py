"""Request parameters of the studio, checked and bounded before any work is queued.

Every value arrives as text from a form or JSON; `generate_request` turns it into a `GenerateRequest` or
raises UserError with a message the page shows as is ("count must be 1..8, got 500"). Nothing from a
request ever reaches a shell or a path without passing through here or `catalog.inside`.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from ..accompaniment import ACCOMPANIMENTS
from ..config import TEMPERATURE as DEFAULT_TEMPERATURE
from ..errors import UserError

MAX_COUNT = 8
TOKEN_LENGTH = (16, 3000)      # tokens per piece (ABC and event encodings)
FRAME_LENGTH = (16, 1024)      # frames per piece (piano roll)
TEMPERATURE = (0.05, 5.0)
TOP_K = (0, 1000)
TOP_P = (0.05, 1.0)
SEED = (0, 2**31 - 1)
TEMPO = (20.0, 320.0)
MAX_PRIME = 2000               # characters of ABC opening
METER_RE = re.compile(r"^(C\|?|[1-9]\d?/(1|2|4|8|16|32))$")
LEAD_METER_RE = re.compile(r"^[1-9]\d?/(1|2|4|8|16)$")
BARS = (1, 512)
SWING = (0.5, 0.75)
MAX_CHORDS = 2000              # characters of chord progression
ABC_KEY_RE = re.compile(r"^[A-G][#b]?(m|min|maj|dor|mix|lyd|phr|loc|ion|aeo)?$", re.IGNORECASE)


@dataclass
class GenerateRequest:
    run: str
    count: int = 2
    length: int = 1000
    temperature: float = DEFAULT_TEMPERATURE
    top_k: int = 0
    top_p: float = 1.0
    seed: int = 0
    key: str = ""
    meter: str = ""
    tempo: float | None = None
    prime: str = ""
    only_valid: bool = False   # draw more (up to 10x count for ABC, 5x for MIDI) until `count` pass the checks
    # abc-folk models (the shipped folk model): requests honoured while sampling (encodings.abc_request)
    tune_type: str = ""        # reel, jig, slip-jig, hornpipe, polka, slide, waltz, march, air
    parts: int | None = None
    bars_per_part: int | None = None
    # lead-sheet models (melody over chords)
    chords: str = ""           # progression text; empty: the model proposes the chords
    bars: int | None = None    # None: the progression's length (16 when the model proposes)
    swing: float = 0.5
    accompaniment: str = "comp"
    # audio: a learned voice's folder (set by the server from an offered voice id, never from the form), or ""
    voice: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def default_length(kind: str) -> int:
    """Tokens (frames for piano rolls) per piece unless the form says otherwise: the generator's default."""
    from ..generation_request import KIND_DEFAULTS

    return KIND_DEFAULTS["frames" if kind == "frames" else "tunes"]["max_length"]


def _number(form: Mapping[str, Any], name: str, kind, bounds, default):
    raw = form.get(name, "")
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        return default
    try:
        value = kind(str(raw).strip()) if kind is int else kind(raw)
    except (TypeError, ValueError):
        raise UserError(f"{name.replace('_', '-')} must be a number, got {str(raw)[:40]!r}") from None
    lo, hi = bounds
    if not lo <= value <= hi or value != value:
        raise UserError(f"{name.replace('_', '-')} must be {lo}..{hi}, got {value}")
    return value


def _text(form: Mapping[str, Any], name: str, limit: int) -> str:
    raw = form.get(name, "")
    if not isinstance(raw, str):
        raise UserError(f"{name} must be text")
    if len(raw) > limit:
        raise UserError(f"{name} is limited to {limit} characters, got {len(raw)}")
    return raw.strip()


def _flag(form: Mapping[str, Any], name: str) -> bool:
    raw = str(form.get(name, "")).strip().lower()
    if raw not in ("", "on", "1", "true", "0", "false", "off"):
        raise UserError(f"{name.replace('_', '-')} is a yes/no choice, got {raw[:20]!r}")
    return raw in ("on", "1", "true")


def generate_request(form: Mapping[str, Any], *, piece_format: str, kind: str, encoding: str = "") -> GenerateRequest:
    """Validate a generation request for a model whose encoding writes `piece_format` ("abc" or "midi") and
    is of `kind` ("tokens", "frames" or "lead"); `encoding` (its name) enables abc-folk's requests."""
    lengths = FRAME_LENGTH if kind == "frames" else TOKEN_LENGTH
    req = GenerateRequest(
        run=_text(form, "run", 300),
        count=_number(form, "count", int, (1, MAX_COUNT), 2),
        length=_number(form, "length", int, lengths, default_length(kind)),
        temperature=_number(form, "temperature", float, TEMPERATURE, DEFAULT_TEMPERATURE),
        top_k=_number(form, "top_k", int, TOP_K, 0),
        top_p=_number(form, "top_p", float, TOP_P, 1.0),
        seed=_number(form, "seed", int, SEED, 0),
        key=_text(form, "key", 20),
        meter=_text(form, "meter", 8),
        tempo=_number(form, "tempo", float, TEMPO, None),
        prime=_text(form, "prime", MAX_PRIME),
        only_valid=_flag(form, "only_valid"),
    )
    if kind == "lead":
        return _lead_request(req, form)
    if encoding == "abc-folk":
        return _folk_request(req, form)
    if any(str(form.get(name) or "").strip() for name in ("tune_type", "parts", "bars_per_part")):
        raise UserError("type, parts and bars per part apply to abc-folk models (such as the shipped folk model)")
    if any(str(form.get(name) or "").strip() for name in ("chords", "bars", "swing", "accompaniment")):
        raise UserError("chords, bars, swing and accompaniment apply to lead-sheet models "
                        "(trained with --encoding lead)")
    if piece_format == "abc":
        if req.tempo is not None:
            raise UserError("tempo applies to MIDI-side models; an ABC tune's tempo is part of the tune")
        _check_abc_fields(req)
        if req.key and not req.meter:
            raise UserError("choose a meter too when choosing a key (a tune's header gives M: before K:)")
        own = {ln[:2] for ln in req.prime.splitlines()}
        if (req.key and "K:" in own) or (req.meter and "M:" in own):
            raise UserError("the prime has its own K:/M: line: leave key and meter empty, or take them out of it")
    else:
        if req.prime or req.meter:
            raise UserError("prime and meter apply to ABC models; a MIDI-side model takes key and tempo")
        if req.key:
            req.key = _parse_key(req.key)
    return req


def _folk_request(req: GenerateRequest, form: Mapping[str, Any]) -> GenerateRequest:
    """An abc-folk model's request: type, meter, key, parts and bars per part become sampling controls."""
    from ..encodings.abc_form import TYPES

    req.tune_type = _text(form, "tune_type", 20).lower()
    req.parts = _number(form, "parts", int, (1, 5), None)
    req.bars_per_part = _number(form, "bars_per_part", int, (4, 32), None)
    if req.tune_type and req.tune_type not in TYPES:
        raise UserError(f"type must be one of {', '.join(TYPES)}, got {req.tune_type!r}")
    if req.tempo is not None or any(
        str(form.get(n) or "").strip() for n in ("chords", "bars", "swing", "accompaniment")
    ):
        raise UserError("tempo, chords, bars, swing and accompaniment do not apply to folk tune models")
    _check_abc_fields(req)
    return req


def _check_abc_fields(req: GenerateRequest) -> None:
    """An ABC model's key, meter and prime as ABC writes them."""
    if req.key and not ABC_KEY_RE.match(req.key):
        raise UserError(f"key must be an ABC key such as G, Em, Ador or Bb, got {req.key!r}")
    if req.meter and not METER_RE.match(req.meter):
        raise UserError(f"meter must be like 6/8, 4/4 or C, got {req.meter!r}")
    if req.prime and not all(ch == "\n" or 32 <= ord(ch) < 127 for ch in req.prime.replace("\r", "")):
        raise UserError("prime must be plain ABC text (printable ASCII)")


def generation_request(req: GenerateRequest, enc, *, title: str, formats) -> Any:
    """The one generator's request (`generation_request.GenerationRequest`) for a checked studio request: a plain
    ABC model's key and meter become its prime's header; an abc-folk model's are requests; lead sheets take
    their own formats and length."""
    from ..generation_request import GenerationRequest

    kind = "lead" if enc.kind == "lead" else enc.piece_format
    folk = enc.name == "abc-folk"
    common = {
        "count": req.count,
        "temperature": req.temperature,
        "top_k": req.top_k,
        "top_p": req.top_p,
        "seed": req.seed,
        "only_valid": req.only_valid,
        "title": title,
        "voice": req.voice or None,
    }
    if kind == "lead":
        return GenerationRequest(
            **common,
            chords=req.chords or None,
            chord_files=False,
            bars=req.bars,
            key=req.key or None,
            meter=req.meter or None,
            tempo=req.tempo,
            swing=req.swing,
            accompaniment=req.accompaniment,
        )
    common |= {"max_length": req.length, "formats": formats}
    if kind == "midi":
        return GenerationRequest(**common, key=req.key or None, tempo=req.tempo)
    if folk:
        return GenerationRequest(
            **common,
            prime=req.prime,
            type=req.tune_type or None,
            meter=req.meter or None,
            key=req.key or None,
            parts=req.parts,
            bars_per_part=req.bars_per_part,
        )
    return GenerationRequest(**common, prime=abc_prime(req))


def _parse_key(text: str) -> str:
    from ..keys import parse_key

    try:
        return str(parse_key(text))
    except (UserError, ValueError):
        raise UserError(f"key must be like G, Em, Bb major or F# minor, got {text!r}") from None


def _lead_request(req: GenerateRequest, form: Mapping[str, Any]) -> GenerateRequest:
    """A lead-sheet model's request: the chords are parsed here as text (never as a file name), so a bad
    symbol is refused before any work is queued, with the symbol and its bar named."""
    from ..chords import ChordError
    from ..piece import bar_quarters
    from ..progressions import parse_progression

    req.chords = _text(form, "chords", MAX_CHORDS)
    req.bars = _number(form, "bars", int, BARS, None)
    req.swing = _number(form, "swing", float, SWING, 0.5)
    req.accompaniment = _text(form, "accompaniment", 20) or "comp"
    if req.prime or req.only_valid:
        raise UserError("prime and only-valid do not apply to lead-sheet models: give chords (and a key)")
    if req.accompaniment not in ACCOMPANIMENTS:
        raise UserError(f"accompaniment must be one of {', '.join(ACCOMPANIMENTS)}, got {req.accompaniment!r}")
    if req.meter and not LEAD_METER_RE.match(req.meter):
        raise UserError(f"meter must be like 4/4, 3/4 or 6/8, got {req.meter!r}")
    if req.key:
        req.key = _parse_key(req.key)
    if req.chords:
        try:
            parse_progression(req.chords, bar_quarters(req.meter.split("/") if req.meter else (4, 4)))
        except ChordError as e:
            raise UserError(f"chords: {e}") from None
    return req


def unit_length(meter: str) -> str:
    """ABC's default note length for a meter: 1/16 below 3/4, else 1/8."""
    if meter in ("C", "C|"):
        return "1/8"
    num, den = (int(x) for x in meter.split("/"))
    return "1/16" if num / den < 0.75 else "1/8"


def abc_prime(req: GenerateRequest) -> str:
    """The ABC opening a request asks for: the header in the corpus' order (M:, then with a key L: and K:),
    then the prime's own text."""
    head = f"M:{req.meter}\n" if req.meter else ""
    if req.key:
        head += f"L:{unit_length(req.meter)}\nK:{req.key}\n"
    prime = req.prime.replace("\r\n", "\n")
    return head + (prime + ("" if prime.endswith("\n") else "\n") if prime else "")
