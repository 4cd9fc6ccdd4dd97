"""Bar-aware sampling for `abc-tokens`: never let a bar run longer than the meter.

While a tune is generated, `BarGuard` follows the tokens: the meter (`M:`) and unit note length (`L:`),
notes, rests, chords, tuplets, broken rhythm and grace groups, and so knows how much of the current bar is
filled. Before each token is drawn, `allowed()` masks out every note or rest that would overflow the bar,
and once the bar is exactly full, every token that takes time: the model then has to close the bar with a
bar line (or a space, a decoration, a line break first). Inside a tuplet it also masks a second tuplet
(abc2midi rejects nested tuplets). Short bars stay possible (pickups, the bars around
repeats), so the model still decides where bars end inside the meter.

The guard stands aside (allows everything) before the tune body, without a meter (`M:none`, missing), and
after anything it does not follow exactly (nested tuplets, unusual tuplet ratios, an inline meter it cannot
read): then it only says nothing rather than something wrong.

It also bounds what takes no time -- decorations (``!trill!``, ``~``, ``.``, ``T``, ``H``...), grace groups
(``{...}``, one item each), slurs ``(`` ``)`` and chord symbols ``"Am"`` -- so a model cannot loop on ornaments
(abc2midi's "Malformed note"): at most `MAX_ZERO_TIME_RUN` of them between two notes (or rests, or chords) and
`MAX_ZERO_TIME_PER_BAR` in a bar (a stray ``}`` counts too), at most `MAX_GRACE_NOTES` notes in a grace group, no
grace group straight after or inside another, and no third slur opened straight after two (spaces between do
not count; real tunes nest two, O'Neill's ``((ba)(gf))``). Once a bound is reached those tokens are masked;
notes, rests and bar lines stay allowed. This holds in the body even where the bar guard stands aside. Of
13,900 real tunes (every built-in collection and Nottingham) the bounds would block 3: two grace groups of
five notes, one grace group after another.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from fractions import Fraction

import numpy as np

_NOTE = re.compile(r"^(?:\^{1,2}|_{1,2}|=)?[A-Ga-g][,']*(\d*)(/*)(\d*)$")
_REST = re.compile(r"^[zx](\d*)(/*)(\d*)$")
_CHORD_END = re.compile(r"^\](\d*)(/*)(\d*)$")
_BAR = re.compile(r"^:*\[?\|+\]?:*(?:\d+(?:[,-]\d+)*)?$|^:{2,}$")
_TUPLET = re.compile(r"^\((\d+)(?::(\d*))?(?::(\d*))?$")
_FRACTION = re.compile(r"^(\d+)/(\d+)$")
# broken rhythm: (change to the bar fill, as a share of the previous note; factor for the next note)
_BROKEN = {">": (Fraction(1, 2), Fraction(1, 2)), "<": (Fraction(-1, 2), Fraction(3, 2)),
           ">>": (Fraction(3, 4), Fraction(1, 4)), "<<": (Fraction(-3, 4), Fraction(7, 4))}
MAX_ZERO_TIME_RUN = 6       # decorations, grace groups, slurs, chord symbols between two timed tokens
MAX_ZERO_TIME_PER_BAR = 24
MAX_GRACE_NOTES = 4
_ONE_CHAR_DECORATIONS = frozenset(".~HLMOPSTuv")
_GRACE_OPEN = ("{", "{/")


def _zero_time(token: str) -> bool:
    """A decoration, grace group opening, slur or chord symbol: takes no time."""
    return (token in _ONE_CHAR_DECORATIONS or token in _GRACE_OPEN or token in ("(", ")")
            or (len(token) > 2 and token[0] == "!" == token[-1]) or (len(token) > 1 and token[0] == '"' == token[-1]))


def _length(num: str, slashes: str, den: str) -> Fraction:
    n = Fraction(int(num)) if num else Fraction(1)
    if slashes:
        n /= int(den) if den else 2 ** len(slashes)
    return n


def _meter(value: str) -> Fraction | None:
    value = value.strip()
    if value in ("C", "C|"):  # common time 4/4 and cut time 2/2: both one whole note per bar
        return Fraction(1)
    m = _FRACTION.match(value)
    return Fraction(int(m.group(1)), int(m.group(2))) if m and int(m.group(2)) else None


class BarGuard:
    """Tracks one tune being generated; `allowed()` gives the vocabulary mask for the next token."""

    def __init__(self, durations: np.ndarray, tuplets: np.ndarray, kinds: dict[str, np.ndarray] | None = None):
        self.durations = durations    # written length of each vocabulary token (see `bar_guard_tables`)
        self.tuplets = tuplets        # which tokens open a tuplet "(3"
        kinds = kinds or {}
        none = np.zeros(len(durations), dtype=bool)
        self.zero_time, self.grace_opens, self.grace_closes, self.slur_opens = (
            kinds.get(k, none) for k in ("zero_time", "grace_open", "grace_close", "slur_open"))
        self.notes = durations > 0    # inside a grace group: grace notes
        self.zero_run = self.zero_bar = self.grace_notes = self.slurs_opened = 0
        self.prev = ""               # the last token that is not a space or line break
        self.meter: Fraction | None = None
        self.unit: Fraction | None = None
        self.in_body = False
        self.lost = False            # something it cannot follow: stand aside for the rest of the tune
        self.fill = Fraction(0)      # of the current bar, in units of L
        self.tuplet_left = 0
        self.tuplet_factor = Fraction(1)
        self.in_grace = False
        self.chord_first: Fraction | None = None  # duration of the chord's first note
        self.in_chord = False
        self.last = Fraction(0)      # duration of the last note (for broken rhythm)
        self.broken_next = Fraction(1)

    # -- following the tune ------------------------------------------------------------------------
    @property
    def bar_length(self) -> Fraction | None:
        if self.meter is None or self.lost or not self.in_body:
            return None
        unit = self.unit or (Fraction(1, 16) if self.meter < Fraction(3, 4) else Fraction(1, 8))
        return self.meter / unit

    def _field(self, key: str, value: str) -> None:
        if key == "M":
            self.meter = _meter(value)
            if self.in_body and self.meter is None:
                self.lost = True
        elif key == "L":
            self.unit = _meter(value)
            if self.unit is None:
                self.lost = True
        elif key == "K":
            self.in_body = True

    def _take(self, d: Fraction) -> Fraction:
        """The sounding length of a note of written length d (tuplet and broken rhythm applied)."""
        d = d * self.broken_next
        self.broken_next = Fraction(1)
        if self.tuplet_left:
            d *= self.tuplet_factor
            self.tuplet_left -= 1
        return d

    def _count_zero_time(self, token: str) -> None:
        """Follow what takes no time (for the bounds in the module docstring)."""
        if token.isspace():
            return
        if self.in_grace and _NOTE.match(token):
            self.grace_notes += 1
        elif _zero_time(token) or (token == "}" and not self.in_grace):  # a stray } is junk that takes no time
            self.zero_run += 1
            self.zero_bar += 1
            if token in _GRACE_OPEN:
                self.grace_notes = 0
        elif not self.in_grace and (_NOTE.match(token) or _REST.match(token) or _CHORD_END.match(token)):
            self.zero_run = 0
        elif _BAR.match(token):
            self.zero_bar = 0
        self.slurs_opened = self.slurs_opened + 1 if token == "(" else 0
        self.prev = token

    def advance(self, token: str) -> None:
        if self.in_body:
            self._count_zero_time(token)
        if self.lost:
            if token in _GRACE_OPEN or token == "}":  # the zero-time bounds still follow grace groups
                self.in_grace = token != "}"
            return
        if len(token) > 2 and token[1] == ":" and token[0].isalpha() and "\n" not in token:
            self._field(token[0], token[2:])
            return
        if token.startswith("[") and len(token) > 3 and token[2] == ":" and token.endswith("]"):
            self._field(token[1], token[3:-1])
            return
        if not self.in_body:
            return
        if token in ("{", "{/"):
            self.in_grace = True
        elif token == "}":
            self.in_grace = False
        elif self.in_grace:
            return
        elif token == "[":
            self.in_chord, self.chord_first = True, None
        elif (m := _CHORD_END.match(token)) and self.in_chord:
            self.in_chord = False
            if self.chord_first is not None:
                d = self._take(self.chord_first * _length(*m.groups()))
                self.fill += d
                self.last = d
        elif (m := _NOTE.match(token) or _REST.match(token)):
            d = _length(*m.groups())
            if self.in_chord:
                if self.chord_first is None:
                    self.chord_first = d
                return
            d = self._take(d)
            self.fill += d
            self.last = d
        elif _BAR.match(token):
            self.fill = Fraction(0)
            self.tuplet_left = 0
        elif token in _BROKEN:
            shift, self.broken_next = _BROKEN[token]
            self.fill += self.last * shift
        elif (m := _TUPLET.match(token)):
            p = int(m.group(1))
            q = {2: 3, 3: 2, 4: 3, 6: 2, 8: 3}.get(p)
            if m.group(2):
                q = int(m.group(2))
            if not q or self.tuplet_left:
                self.lost = True
                return
            self.tuplet_factor = Fraction(q, p)
            self.tuplet_left = int(m.group(3)) if m.group(3) else p

    # -- masking -----------------------------------------------------------------------------------
    def allowed(self) -> np.ndarray | None:
        """Boolean mask over the vocabulary for the next token (None = no constraint now)."""
        mask, bounds = self._bar_mask(), self._zero_time_mask()
        if bounds is None:
            return mask
        if mask is None:
            return bounds if bounds.any() else None
        both = mask & bounds
        return both if both.any() else mask

    def _zero_time_mask(self) -> np.ndarray | None:
        """What the zero-time bounds allow next (None: no bound reached)."""
        if not self.in_body:
            return None
        banned = np.zeros_like(self.zero_time)
        if self.zero_run >= MAX_ZERO_TIME_RUN or self.zero_bar >= MAX_ZERO_TIME_PER_BAR:
            banned |= self.zero_time if self.in_grace else self.zero_time | self.grace_closes
        if self.in_grace:
            banned |= self.grace_opens  # no grace group inside one
            if self.grace_notes >= MAX_GRACE_NOTES:
                banned |= self.notes
        elif self.prev == "}":
            banned |= self.grace_opens
        if self.slurs_opened >= 2:
            banned |= self.slur_opens
        return ~banned if banned.any() else None

    def _bar_mask(self) -> np.ndarray | None:
        bar = self.bar_length
        if bar is None or self.in_grace or self.in_chord or self.fill > bar:
            return None
        left = float(bar - self.fill)
        factor = float(self.broken_next * (self.tuplet_factor if self.tuplet_left else 1))
        mask = self.durations * factor <= left + 1e-9
        if self.tuplet_left:
            mask &= ~self.tuplets  # abc2midi rejects nested tuplets
        return mask if mask.any() else None


def bar_guard_tables(vocab: Sequence[str]) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """`BarGuard`'s arguments, per vocabulary token: written length in units of L (notes and rests; 0
    otherwise), whether it opens a tuplet, and masks by kind: takes no time (`_zero_time`), opens or closes a
    grace group, opens a slur. Computed once per vocabulary, shared by every `BarGuard`."""
    durations = np.zeros(len(vocab), dtype=np.float64)
    for i, tok in enumerate(vocab):
        m = _NOTE.match(tok) or _REST.match(tok)
        if m:
            durations[i] = float(_length(*m.groups()))
    tuplets = np.array([bool(_TUPLET.match(t)) for t in vocab], dtype=bool)
    kinds = {name: np.array([test(t) for t in vocab], dtype=bool) for name, test in (
        ("zero_time", _zero_time), ("grace_open", lambda t: t in _GRACE_OPEN), ("grace_close", lambda t: t == "}"),
        ("slur_open", lambda t: t == "("))}
    return durations, tuplets, kinds
