"""Requests for `abc-folk` tunes (type, meter, key, parts, bars per part), honoured while sampling.

`RequestGuard` is the sampling constraint of `abc-folk` (see `Encoding.constraint`). It wraps the bar guard
(`abc_bars.BarGuard`: no bar longer than the meter) and adds, token by token:

* the conditioning tokens: only the requested ``<type:..>``, ``<parts:..>``, ``<bars:..>`` may be drawn; with
  no request the model chooses among the dance types (not ``?`` or ``other``), two or more parts and the usual
  bar counts (4, 8, 12, 16), as the tunes of a fiddler's book are;
* a prime (the opening of a tune, as text) is then forced token by token;
* in the header, only the requested ``M:`` (or one of the type's meters, `abc_form.TYPES`) and ``K:`` lines;
  conditioning tokens never again;
* in the body, the form the conditioning tokens chose, counted as `abc_form.tune_form` counts it: a section
  may close (repeat sign, double bar) once it has at least bars-per-part - 1 bars and must close when a plain
  bar line would give it more than bars-per-part + 1 (room for a pickup); a second ending (``:|2``, ``[2``)
  runs free until the next section boundary; the tune may end only after a boundary that completes the last
  part, and must end then (a second ending of the last part first).

Every mask keeps at least one token the model can draw; where it would keep none the guard stands aside.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .abc_form import BAR_CLASSES, MAX_PARTS, TYPES, is_boundary
from .abc_grammar import _BAR, _ENDING, AbcSyntax
from .abc_tokens import _tokenize, normalise_field

CONTROLS = ("type", "parts", "bars_per_part", "meter", "key", "prime")


def request_problems(enc, controls: dict[str, Any]) -> list[str]:
    """What in a request this model's vocabulary cannot give ([] when all of it can)."""
    out = []
    for name, tok in _wanted_tokens(controls).items():
        if tok not in enc._index:
            choices = sorted({t for t in enc.vocab if _same_kind(t, tok)})
            shown = ", ".join(c.strip("<>").split(":", 1)[1] if c.startswith("<") else c[2:] for c in choices)
            out.append(f"{name} {tok.strip('<>').split(':', 1)[1] if tok.startswith('<') else tok[2:]!r} is not "
                       f"known to this model (it knows: {shown})")
    return out


def _same_kind(tok: str, wanted: str) -> bool:
    return tok[: wanted.index(":") + 1] == wanted[: wanted.index(":") + 1]


def _wanted_tokens(controls: dict[str, Any]) -> dict[str, str]:
    out = {}
    if controls.get("type"):
        out["type"] = f"<type:{controls['type']}>"
    if controls.get("parts"):
        out["parts"] = f"<parts:{min(int(controls['parts']), MAX_PARTS)}>"
    if controls.get("bars_per_part"):
        out["bars_per_part"] = f"<bars:{int(controls['bars_per_part'])}>"
    if controls.get("meter"):
        out["meter"] = normalise_field(f"M:{controls['meter']}")
    if controls.get("key"):
        out["key"] = normalise_field(f"K:{controls['key']}")
    return out


class RequestGuard(AbcSyntax):
    """One tune being sampled: `advance(token)` follows it, `allowed()` masks the next token."""

    def __init__(self, enc, bar_guard, controls: dict[str, Any]):
        super().__init__(enc, bar_guard)
        wanted = _wanted_tokens(controls)
        self.wanted = {k: self.index[tok] for k, tok in wanted.items() if tok in self.index}
        self.type_wanted = controls.get("type") or ""
        self.type_meters = TYPES.get(self.type_wanted, ())
        self.meter_read = False
        self.prime = [self.index[t] for t in _tokenize(controls.get("prime") or "") if t in self.index]
        self.phase = "type"  # type -> parts -> bars -> prime -> header -> body -> done
        self.parts_want = self.bars_want = 0
        self.section_bars = 0       # bars closed in the current section
        self.parts_done = 0
        self.free_section = False   # a second ending: no length rule until the next boundary
        self.last_part_closed = False
        self.header_letters: set[str] = set()

    # -- following ---------------------------------------------------------------------------------
    def advance(self, token: str) -> None:
        if not self.key_read and len(token) > 2 and token[1] == ":":
            self.header_letters.add(token[0])
        self.follow_syntax(token)
        if self.phase in ("type", "parts", "bars"):
            if token.startswith("<type:") and not self.type_wanted and token[6:-1] in TYPES:
                self.type_wanted = token[6:-1]  # the model's own choice, held to as a request would be
                self.type_meters = TYPES[self.type_wanted]
            elif token.startswith("<parts:"):
                self.parts_want = int(token[7:-1]) if token[7:-1].isdigit() else 0
            elif token.startswith("<bars:"):
                self.bars_want = int(token[6:-1]) if token[6:-1].isdigit() else 0
            self.phase = {"type": "parts", "parts": "bars", "bars": "prime"}[self.phase]
            if self.phase == "prime" and not self.prime:
                self.phase = "header"
            return
        in_body = self.phase == "body" or (self.phase == "prime" and self.key_read)
        if in_body:
            self._follow_body(token)
        elif token.startswith("K:"):
            self.key_read = True
        elif token.startswith("M:"):
            self.meter_read = True
        if self.phase == "prime":
            self.prime.pop(0)
            if not self.prime:
                self.phase = "body" if self.key_read else "header"
        elif self.phase == "header" and self.key_read:
            self.phase = "body"

    def _follow_body(self, token: str) -> None:
        if _BAR.match(token):
            if self.bar_closed:
                self.section_bars += 1
            if is_boundary(token):
                self._close_section(token)
            elif _ENDING.search(token):
                self.free_section = True
        elif token.startswith("P:") or token.startswith("[P:"):
            self._close_section(token)
        elif _ENDING.match(token):
            self.free_section = True

    def _close_section(self, token: str) -> None:
        if self.section_bars >= 3 and not self.free_section:
            self.parts_done += 1
            if self.parts_want and self.parts_done >= self.parts_want:
                self.last_part_closed = True
        elif self.free_section and self.last_part_closed:
            self.phase = "done"
        self.section_bars = 0
        self.free_section = bool(_ENDING.search(token))
        if self.last_part_closed and not self.free_section:
            self.phase = "done"

    # -- masking -----------------------------------------------------------------------------------
    def _only(self, ids) -> np.ndarray:
        mask = np.zeros(self.t["n"], dtype=bool)
        mask[ids] = True
        return mask

    def _choice(self, kind: str, control: str, default_ok) -> np.ndarray:
        if control in self.wanted:
            return self._only([self.wanted[control]])
        ids = self.t["kinds"].get(kind, np.zeros(0, np.int64))
        keep = [i for i in ids if default_ok(self.enc.vocab[i])]
        return self._only(keep or ids)

    def allowed(self) -> np.ndarray | None:
        if self.phase == "type":
            usual = set(self.enc.default_types()) or set(TYPES)
            return self._choice("type", "type", lambda t: t[6:-1] in usual)
        if self.phase == "parts":
            return self._choice("parts", "parts", lambda t: t[7:-1].isdigit() and int(t[7:-1]) >= 2)
        if self.phase == "bars":
            usual = {str(b) for b in BAR_CLASSES[:4]}
            return self._choice("bars", "bars_per_part", lambda t: t[6:-1] in usual)
        if self.phase == "prime":
            return self._only([self.prime[0]])
        if self.phase == "done":
            return self._only([self.t["eos"]]) if self.t["eos"] is not None else None
        mask = np.ones(self.t["n"], dtype=bool)
        for kind in ("type", "parts", "bars"):
            mask[self.t["kinds"].get(kind, [])] = False
        if self.phase == "header":
            self.syntax_mask(mask)
            self._header_mask(mask)
        else:
            self._body_mask(mask)
            self.syntax_mask(mask)
        inner = self.bars_guard.allowed()
        if inner is not None and (mask & inner).any():
            mask &= inner
        if self.phase == "body" and not (mask & self.t["progress"]).any():  # rules that left nothing to go on
            notes = (self.t["note"] | self.t["rest"]) & (inner if inner is not None else True)
            mask |= notes if notes.any() and not self.bars_guard.fill >= (self.bars_guard.bar_length or 0) else \
                self.t["plain_bar"] | self.t["boundary"]
        return mask if mask.any() else None

    def _overtime(self) -> int:
        return max(0, self.section_bars - self.bars_want) if self.bars_want and not self.free_section else 0

    def _may_end(self) -> bool:
        if self.free_section:
            return self.last_part_closed  # the second ending of the last part
        if not self.parts_want or self.parts_done < self.parts_want - 1:
            return False
        return self.section_bars + 1 >= max(3, self.bars_want - 1)

    def _header_mask(self, mask: np.ndarray) -> None:
        """Before K:, only header field lines and line breaks; the requested meter (or one of the type's) and
        key; an R: line that names the requested type; M: before K: when a meter is asked for."""
        kinds, vocab = self.t["kinds"], self.enc.vocab
        fields = np.zeros_like(mask)
        fields[kinds["field"]] = True
        if self.t["newline"] is not None:
            fields[self.t["newline"]] = True
        mask &= fields
        if self.header_letters:  # each header field once
            mask[[i for i in kinds["field"] if vocab[i][0] in self.header_letters]] = False
        if "meter" in self.wanted or self.type_meters:
            meters = kinds["M"]
            mask[meters] = False
            if "meter" in self.wanted:
                mask[self.wanted["meter"]] = True
            else:
                ok = [i for i in meters if vocab[i][2:] in self.type_meters]
                mask[ok or meters] = True
            if not self.meter_read:
                mask[kinds["K"]] = False
        if "key" in self.wanted:
            mask[kinds["K"]] = False
            mask[self.wanted["key"]] = self.meter_read or not ("meter" in self.wanted or self.type_meters)
        if self.type_wanted:
            mask[kinds["R"][self.t["r_type"] != self.type_wanted]] = False
        # abc2midi swings R:hornpipe tunes itself and rejects them with written broken rhythm or in C|: the type
        # stays in the conditioning token and the meter, not in an R: line
        mask[kinds["R"][self.t["r_type"] == "hornpipe"]] = False

    def _body_mask(self, mask: np.ndarray) -> None:
        eos = self.t["eos"]
        if eos is not None:
            mask[eos] = False
        if not self.parts_want and eos is not None:
            mask[eos] = True
        if self.free_section or not self.bars_want:
            return
        closes = self.section_bars + (1 if self.music else 0)  # the bar count a bar line would make
        if closes < self.bars_want - 1:
            mask[self.t["boundary"]] = False
        if closes > self.bars_want:
            mask[self.t["plain_bar"]] = False
        if self.section_bars or self.music:
            mask[self.t["kinds"]["P"]] = False


def request_controls(enc, **asked: Any) -> dict[str, Any]:
    """A request's controls for `SampleConfig.controls`, checked against the model (UserError naming what it cannot
    give). `asked`: type, meter, key, parts, bars_per_part (None = the model's choice)."""
    from ..errors import UserError

    asked = {k: v for k, v in asked.items() if v not in (None, "")}
    if not asked:
        return {}
    if getattr(enc, "name", "") != "abc-folk":
        raise UserError(f"--{'/--'.join(k.replace('_', '-') for k in asked)} need a model trained with the abc-folk "
                        f"encoding (such as the shipped `folk`); this one uses {enc.name}")
    if "type" in asked:
        asked["type"] = str(asked["type"]).strip().lower().replace(" ", "-")
        if asked["type"] not in TYPES:
            raise UserError(f"unknown tune type {asked['type']!r}; choose one of {', '.join(TYPES)}")
    for name in ("parts", "bars_per_part"):
        if name in asked and (not str(asked[name]).isdigit() or int(asked[name]) < 1):
            raise UserError(f"--{name.replace('_', '-')} must be a whole number of at least 1, got {asked[name]!r}")
    problems = request_problems(enc, {k: v for k, v in asked.items() if k != "type" or f"<type:{v}>" in enc._index
                                      or not TYPES.get(v)})
    if problems:
        raise UserError("; ".join(problems))
    return asked
