"""The grammar of ABC tunes while sampling: what `abc2midi` accepts, held token by token.

`AbcSyntax` follows a tune's tokens (with the bar guard, `abc_bars.BarGuard`, that knows how full the bar is)
and masks what would make the tune malformed or its bars wrong as abc2midi counts them:

* layout: no blank line (it ends an ABC tune), no blank at a line start, no bar line straight after another,
  no empty bar (only a section may open after a section boundary);
* groups: a chord or grace group holds 1-4 notes (a chord's notes of one length), closes only when open,
  grace notes lead to a note, a decoration marks a note or chord, a slur starts on a note;
* rhythm: a bar line only once the bar is full (except after a pickup, the first bar, and in the tune's last
  part), a full bar takes a bar line next; broken rhythm only between notes of one length that fit the bar;
  a tie only onto the same pitch.

`RequestGuard` (`abc_request`) adds the requested form on top.
"""
from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

import numpy as np

from .abc_bars import _BAR, _NOTE, _REST
from .abc_form import _TIMED, is_boundary, normalise_type
from .base import EOS

_PITCH = re.compile(r"^(\^{1,2}|_{1,2}|=)?([A-Ga-g])([,']*)\d*/*\d*$")
_SHORT_DECORATIONS = frozenset(".~THLMPSOuv")
_FERMATAS = frozenset({"H", "!fermata!", "!invertedfermata!"})  # abc2midi lengthens the note: the bar overflows
_ABC_CHARACTERS = frozenset("ABCDEFGabcdefgzx|[](){}<>- \n") | _SHORT_DECORATIONS  # one-character tokens
_ENDING = re.compile(r"(?:^\[|\|)([2-9])")  # a second (or later) ending: ":|2", "|2", "[2"


def vocab_tables(enc) -> dict[str, Any]:
    """Index sets over the vocabulary, computed once per vocabulary."""
    if getattr(enc, "_request_tables_for", None) is enc.vocab:
        return enc._request_tables
    v = enc.vocab
    kinds = {"type": [], "parts": [], "bars": [], "M": [], "K": [], "P": [], "R": [], "field": []}
    for i, tok in enumerate(v):
        if tok.startswith("<") and tok.endswith(">") and ":" in tok:
            kinds.setdefault(tok[1:tok.index(":")], []).append(i)
        elif len(tok) > 2 and tok[1] == ":" and tok[0].isalpha():
            kinds["field"].append(i)
            if tok[0] in "MKPR":
                kinds[tok[0]].append(i)
        elif tok.startswith("[P:"):
            kinds["P"].append(i)
    n = len(v)
    bars = np.array([bool(_BAR.match(t)) for t in v])
    boundary = bars & np.array([is_boundary(t) for t in v])
    tables = {
        "n": n,
        "kinds": {k: np.array(ix, dtype=np.int64) for k, ix in kinds.items()},
        "r_type": np.array([normalise_type(v[i][2:]) for i in kinds["R"]], dtype=str),  # of each R: line
        "plain_bar": bars & ~boundary,
        "boundary": boundary,
        "timed": np.array([bool(_TIMED.match(t)) for t in v]),
        "eos": enc._index.get(EOS),
        "newline": enc._index.get("\n"),
        "space": enc._index.get(" "),
        "opens": np.array([bool(re.match(r"^\[?\|+:+$", t)) for t in v]),
        "closes": np.array([t.startswith(":") for t in v]),
        "opens_repeat": np.array([t.rstrip("0123456789,-").endswith(":") for t in v]),
        "first_ending": np.array([bool(re.match(r"^(?:\[|\|+)1$", t)) for t in v]),
        "later_ending": np.array([bool(re.search(r"(?:^\[|\|)[2-9]", t)) for t in v]),
        "chord_symbol": np.array([t.startswith('"') for t in v]),
        "junk": np.array([(len(t) == 1 and t not in _ABC_CHARACTERS) or t in _FERMATAS or "[|]" in t
                          or (t.startswith('"') and (not re.match(r'^"\(?[A-G]', t)  # abc2midi knows no "Dd"
                                                     or bool(re.match(r'^"\(?[A-G][#b]?d(?!im)', t))))
                          or t in ("<s>", "<unk>") or any(not (" " <= c <= "~") for c in t if c != "\n") for t in v]),
        "body_field_banned": np.array([len(t) > 2 and (t[1] == ":" and t[0].isalpha() or t[0] == "[" and t[2:3] == ":")
                                       and t.lstrip("[")[0] != "P" for t in v]),
        "chord_open": np.array([t == "[" for t in v]),
        "chord_close": np.array([bool(re.match(r"^\]\d*/*\d*$", t)) for t in v]),
        "grace_open": np.array([t in ("{", "{/") for t in v]),
        "grace_close": np.array([t == "}" for t in v]),
        "broken": np.array([t in (">", "<", ">>", "<<") for t in v]),
        "tuplet": np.array([bool(re.match(r"^\(\d", t)) for t in v]),
        "slur": np.array([t == "(" for t in v]),
        "rest": np.array([bool(_REST.match(t)) for t in v]),
        "pitch": np.array([_PITCH.match(t).group(2) + _PITCH.match(t).group(3) if _PITCH.match(t) else "" for t in v]),
        "accidental": [(_PITCH.match(t).group(1) or "") if _PITCH.match(t) else "" for t in v],
        "tie": enc._index.get("-"),
        "decoration": np.array([t in _SHORT_DECORATIONS or (len(t) > 2 and t[0] == "!" == t[-1]) for t in v]),
        "note": np.array([bool(_NOTE.match(t)) for t in v]),
    }
    tables["progress"] = tables["note"] | tables["rest"] | tables["plain_bar"] | tables["boundary"]
    if tables["eos"] is not None:
        tables["progress"][tables["eos"]] = True
    enc._request_tables, enc._request_tables_for = tables, enc.vocab
    return tables



class AbcSyntax:
    """The syntax state of one tune being sampled (see the module docstring)."""

    def __init__(self, enc, bar_guard):
        self.enc, self.bars_guard = enc, bar_guard
        self.t = vocab_tables(enc)
        self.index = enc._index
        self.key_read = False       # a K: line has been read (the body has begun)
        self.music = False          # notes since the last bar line
        self.bar_closed = False     # the last token was a bar line that closed some music
        self.prev = ""              # the last token
        self.line_empty = True      # nothing but blanks on the current line so far
        self.group_notes = 0        # notes in the open chord or grace group
        self.tune_bars = 0          # bars closed so far in the body
        self.last_bar: str | None = None  # the last bar-line token
        self.last_length = 0.0      # written length (units of L) of the last note or rest, 0 after anything else
        self.broken_length = 0.0    # after > or <: the length the next note must have
        self.tied_pitch = ""        # after a tie: the pitch (letter and octave) the next note must have
        self.repeat_open = False    # a "|:" waits for its ":|"
        self.first_ending = False   # a "|1" waits for its ":|2"
        self.decorations = 0        # decorations in a row just before the next token
        self.key: str | None = None  # the K: value in force
        self.last_note = ""         # the last note token of the body
        self.tuplet_length = 0.0    # written length of the open tuplet's first note
        self._tonic_for: str | None = None
        self._tonic: np.ndarray | None = None

    def follow_syntax(self, token: str) -> None:
        """Follow one token (every token of the tune, conditioning tokens included)."""
        if token == "\n":
            self.line_empty = True
        elif token != " " and not (token.startswith("<") and token.endswith(">")):
            self.line_empty = False
        idx = self.index.get(token)
        timed_note = idx is not None and bool(self.t["note"][idx] or self.t["rest"][idx])
        if token in (">", "<", ">>", "<<"):
            self.broken_length = self.last_length
        elif timed_note:
            self.broken_length = 0.0
        if token == "-" and self.t["note"][self.index.get(self.prev, 0)]:
            self.tied_pitch = self.t["pitch"][self.index[self.prev]]
        elif timed_note or token in ("[", "{", "{/"):
            self.tied_pitch = ""
        self.last_length = float(self.bars_guard.durations[idx]) if timed_note else 0.0
        if idx is not None and self.t["tuplet"][idx]:
            self.tuplet_length = 0.0
        elif timed_note and not self.tuplet_length and not self.bars_guard.in_grace:
            self.tuplet_length = self.last_length
        self.decorations = self.decorations + 1 if idx is not None and self.t["decoration"][idx] else 0
        self.prev = token
        if token in ("[", "{", "{/"):
            self.group_notes = 0
        elif _TIMED.match(token) and not token.startswith("]"):
            self.group_notes += 1
        if token.startswith("<") and token.endswith(">"):
            return
        self.bars_guard.advance(token)
        self.bar_closed = False
        if token.startswith("K:") or token.startswith("[K:"):
            self.key = token.strip("[]")[2:]
        if idx is not None and self.t["first_ending"][idx]:
            self.first_ending = True
        elif idx is not None and self.t["later_ending"][idx]:
            self.first_ending = False
        if not self.key_read:
            self.key_read = token.startswith("K:")
        elif _TIMED.match(token):
            self.music = True
            if idx is not None and self.t["note"][idx] and not self.bars_guard.in_grace:
                self.last_note = token
        elif _BAR.match(token):
            self.last_bar = token
            if token.startswith(":"):
                self.repeat_open = False
            if token.rstrip("0123456789,-").endswith(":"):
                self.repeat_open = True
            self.bar_closed = self.music
            self.tune_bars += self.music
            self.music = False

    def _may_end(self) -> bool:
        """Whether a section boundary now would end the tune (its last bar may be short); `RequestGuard` knows."""
        return False

    def _overtime(self) -> int:
        """Bars the last section has run past its length looking for the tonic (one is allowed)."""
        return 0

    def syntax_mask(self, mask: np.ndarray) -> None:
        self._layout_mask(mask)
        if self.key_read:
            self._grammar_mask(mask)
            self._rhythm_mask(mask)

    def _layout_mask(self, mask: np.ndarray) -> None:
        """No blank line (it would end the tune), no blank at a line start, no bar line straight after another
        (``|`` ``|`` reads back as ``||``: a section boundary the guard did not count)."""
        if self.line_empty:
            for name in ("newline", "space"):
                if self.t[name] is not None:
                    mask[self.t[name]] = False
        if _BAR.match(self.prev):
            mask[self.t["plain_bar"] | self.t["boundary"]] = False
        elif self.key_read and not self.music:  # an empty bar: only a section may open ("|:" after ":|", at the start)
            banned = self.t["plain_bar"] | self.t["boundary"]
            if self.last_bar is None or is_boundary(self.last_bar):
                banned &= ~self.t["opens"]
            mask[banned] = False

    def _grammar_mask(self, mask: np.ndarray) -> None:
        """Brackets that match: a chord closes only inside a chord and holds notes only; a grace group closes only
        inside one and holds notes only; broken rhythm only right after a note, rest or chord; no bar line,
        tuplet or new group inside a group."""
        g, t = self.bars_guard, self.t
        if g.lost or not g.in_body:
            return
        if g.in_chord or g.in_grace:
            close = t["chord_close"] if g.in_chord else t["grace_close"]
            mask &= (t["note"] | close) if self.group_notes < 4 else close
            if g.in_chord and g.chord_first is not None:  # abc2midi times a chord by its notes: one length
                mask[t["note"] & (np.abs(g.durations - float(g.chord_first)) > 1e-9)] = False
            if not self.group_notes:
                mask &= t["note"]  # an empty chord or grace group is malformed
            return
        if t["chord_symbol"][self.index.get(self.prev, 0)]:  # a chord symbol stands over a note, rest or chord
            mask &= t["note"] | t["rest"] | t["chord_open"] | t["decoration"] | t["slur"] | t["grace_open"]
        if self.prev == "}":
            mask &= t["note"] | t["chord_open"]  # grace notes lead to a note
        elif t["decoration"][self.index.get(self.prev, 0)]:  # a decoration marks a note (abc2midi: not a chord)
            mask &= t["note"] | (t["decoration"] if self.decorations < 2 else False)
        if self.key_read:  # in the body no field lines but part markers (no key or meter changes)
            mask[t["body_field_banned"]] = False
        elif self.prev == "(":
            mask &= t["note"] | t["chord_open"] | t["grace_open"] | t["decoration"]  # a slur starts on a note
        mask[t["chord_close"] | t["grace_close"] | t["junk"]] = False
        if self.repeat_open:  # an open repeat is closed by the next section boundary (":|", "::"), not by "||"
            mask[t["boundary"] & ~t["closes"]] = False
        if not self.repeat_open or self.first_ending:
            mask[t["first_ending"]] = False  # "|1" / "[1" only inside a repeat, once
        if not self.first_ending:
            mask[t["later_ending"]] = False  # ":|2" / "[2" only after a first ending
        if not (_TIMED.match(self.prev) or self.prev in ("]",)):
            mask[t["broken"]] = False

    def _rhythm_mask(self, mask: np.ndarray) -> None:
        """Bars abc2midi counts as whole: a bar line only once the bar is full, except after a pickup (the first
        bar) and at the tune's end; a full bar takes a bar line next. Broken rhythm only between notes of one
        length that fit the bar; a tie only onto the same pitch."""
        g, t = self.bars_guard, self.t
        if g.lost or not g.in_body or g.in_chord or g.in_grace:
            return
        bars = t["plain_bar"] | t["boundary"]
        if self.tied_pitch:  # a tie leads to its note, across a plain bar line at most
            same = t["pitch"] == self.tied_pitch
            mask[(t["note"] & ~same) | t["rest"] | t["chord_open"] | t["grace_open"] | t["tuplet"] | t["boundary"]
                 | t["decoration"] | t["slur"]] = False
            if self.t["tie"] is not None:
                mask[self.t["tie"]] = False
        elif self.t["tie"] is not None and not t["note"][self.index.get(self.prev, 0)]:
            mask[self.t["tie"]] = False  # a tie follows a note
        if self.broken_length:  # the second note of a broken pair comes at once, of the first one's length
            same = (t["note"] | t["rest"]) & (np.abs(g.durations - self.broken_length) < 1e-9)
            mask &= same
        if t["tuplet"][self.index.get(self.prev, 0)]:
            mask &= t["note"] | t["rest"]  # a tuplet's notes follow it
        if g.tuplet_left:  # a tuplet completes inside its bar, its notes of one length, no chord
            mask[bars | t["chord_open"] | t["broken"]] = False
            if self.tuplet_length:
                mask[(t["note"] | t["rest"]) & (np.abs(g.durations - self.tuplet_length) > 1e-9)] = False
        bar = g.bar_length
        if bar is None:
            return
        fill = g.fill
        if not self.last_length or g.tuplet_left or fill + Fraction(self.last_length).limit_denominator(64) > bar:
            mask[t["broken"]] = False
        if g.tuplet_left:  # the rest of the tuplet fits the bar
            room = float(bar - fill)
            factor = float(g.tuplet_factor) * g.tuplet_left
            mask[(t["note"] | t["rest"]) & (g.durations * factor > room + 1e-9)] = False
        elif float(bar - fill) < 1.5:
            mask[t["tuplet"]] = False  # no room for a tuplet
        if fill >= bar:
            timed = t["note"] | t["rest"] | t["chord_open"] | t["grace_open"] | t["tuplet"] | t["broken"]
            mask[timed | t["decoration"] | t["slur"]] = False
        else:
            if self.music and self.tune_bars:  # a short bar: only the pickup, or the one that ends the tune
                mask[t["plain_bar"] if self._may_end() else bars] = False
            if self._may_end() and self._overtime() < 1 and not g.tuplet_left and not self.broken_length \
                    and g.broken_next == 1:
                self._tonic_close(mask, float(bar - fill))
        if self._may_end():
            mask[t["boundary"] & t["opens_repeat"]] = False  # the tune does not end by opening a repeat
        if self._may_end() and self._overtime() < 1 and self.last_note and not self._is_tonic(self.last_note):
            mask[t["boundary"]] = False  # the tune ends on its tonic
            if fill >= bar:
                mask[t["plain_bar"]] = True  # a full bar that missed it: one bar more

    def _tonic_close(self, mask: np.ndarray, room: float) -> None:
        """In a bar that may end the tune, the note that fills it is the key's tonic (a rest or chord cannot)."""
        t = self.t
        fills = (t["note"] | t["rest"]) & (np.abs(self.bars_guard.durations - room) < 1e-9)
        tonic = self._tonic_tokens()
        if tonic is not None and (mask & fills & tonic).any():
            mask[(fills & ~tonic) | t["chord_open"]] = False

    def _is_tonic(self, token: str) -> bool:
        tonic = self._tonic_tokens()
        idx = self.index.get(token)
        return tonic is None or idx is None or bool(tonic[idx])

    def _tonic_tokens(self) -> np.ndarray | None:
        """Notes spelling the tonic of the key in force (K:Dmix: D or d in any octave, no accidental or =)."""
        m = re.match(r"([A-G])([#b]?)", self.key or "")
        if not m:
            return None
        if self._tonic_for != self.key:
            letter, acc = m.group(1), {"#": "^", "b": "_", "": "="}[m.group(2)]
            self._tonic = np.array([bool(p) and p[0].upper() == letter and (a == "" or a == acc)
                                    for p, a in zip(self.t["pitch"], self.t["accidental"])])
            self._tonic_for = self.key
        return self._tonic

