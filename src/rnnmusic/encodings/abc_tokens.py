"""`abc-tokens`: folk-rnn style tokens of a cleaned ABC tune (Sturm et al. 2016).

One token per musical unit instead of one per character:

===================  =====================================================================
kind                 examples (each line one token)
===================  =====================================================================
field line           ``M:6/8``  ``L:1/8``  ``K:G``  ``K:Ador``  ``P:B`` (header or body line)
inline field         ``[K:D]``  ``[M:3/4]``  ``[L:1/16]``
note                 accidental + letter + octave marks + duration: ``^c'2``  ``_B,/2``  ``G3/2``  ``=F``
rest                 ``z2``  ``x``  ``z/2``  ``Z4``
bar line / repeat    ``|``  ``||``  ``|]``  ``[|``  ``|:``  ``:|``  ``::``  ``:||:``  ``|1``  ``:|2``
ending               ``[1``  ``[2``  ``[1,2``
tuplet               ``(3``  ``(3:2:3``
chord                ``[`` notes ``]`` -- the closing bracket carries the chord's duration: ``]2``
grace group          ``{``  ``{/`` (acciaccatura)  ``}``
chord symbol         ``"Am"``  ``"D7"`` (any quoted annotation, one token)
decoration           ``!trill!``  ``~``  ``.``  ``T``  ``H``  ``u``  ``v`` (one-letter ones are one char)
others               ``(`` ``)`` slurs, ``-`` tie, ``>`` ``<`` ``>>`` broken rhythm, ``%...`` comment
layout               ``" "`` (a space: beaming), ``"\\n"`` (line break)
===================  =====================================================================

Any other character (``\\``, ``+``, ``:``, ``y``, letters outside the note names...) is its own token, so
nothing is ever lost and `tokenize` never raises. Chords are split (``[`` ``C`` ``E`` ``G`` ``]``) rather
than kept whole, so the vocabulary stays small and the model sees the notes it already knows.

Whitespace is kept, because where notes are separated by a space is the beaming, which makes generated
tunes readable. `tokenize` applies one small, documented normalisation (see `normalise`), and applies it
idempotently: ``tokenize(detokenize(tokenize(t))) == tokenize(t)`` for any text.

* a run of spaces/tabs becomes one space ``" "``; spaces at the start or end of a line (or of the text)
  are dropped;
* field lines and inline fields lose the blanks around their value (``K: G`` -> ``K:G``, ``M: 6/8`` ->
  ``M:6/8``), runs of blanks inside it become one space, ``M:``/``L:`` lose the blanks around ``/``
  (``M:6 / 8`` -> ``M:6/8``), and a key's mode is spelled one way: major
  (``maj``, ``major``) -> nothing, minor (``m``, ``min``, ``minor``) -> ``m``, other modes -> three
  lower-case letters (``K:AMix`` -> ``K:Amix``, ``K:E Dorian`` -> ``K:Edor``). Keys this does not
  recognise (``K:none``, ``K:HP``, extra clef words) are only stripped.

For cleaned tunes (single spaces, no trailing blanks, ``K:G``-style keys) the round trip is exact:
``detokenize(tokenize(t)) == t``; for any other text it is ``normalise(t)``, which music21 reads as the
same notes.

`detokenize` joins the tokens and accepts anything: for a model's free output it only makes sure that a
field line (``K:D``) or a ``%`` comment stands on its own line, inserting ``\\n`` where the sequence puts
one in mid-line (which never happens for a tokenized text, so the round trip is unaffected).
"""
from __future__ import annotations

import re
from collections.abc import Sequence

from .base import Encoding

__all__ = ["AbcTokens", "normalise", "normalise_field"]

_DUR = r"\d*(?:/+\d*)?"

# One alternation, tried left to right at each position: the order matters (fields before notes,
# "[K:" before "[|" before "[1" before "[", tuplet "(3" before slur "(").
_TOKEN_RE = re.compile(
    "|".join(
        [
            r"^[ \t]*[A-Za-z]:(?![ \t]*[|:])[^\n]*",  # field line: header field or body line like K:D, P:B
            r"\[[A-Za-z]:[^\]\n]*\]",  # inline field [K:D]
            r"(?:\^{1,2}|_{1,2}|=)?[A-Ga-g][,']*" + _DUR,  # note: accidental, letter, octave, duration
            r"[zxZX]" + _DUR,  # rest
            r":*\[?\|+\]?:*(?:\d+(?:[,-]\d+)*)?",  # bar lines, repeats, |1 :|2
            r":{2,}",  # ::
            r"\[\d+(?:[,-]\d+)*",  # ending [1 [2 [1,2
            r"\]" + _DUR,  # chord close with the chord's duration
            r"\(\d+(?::\d*){0,2}",  # tuplet (3 (3:2:3 (3::
            r'"[^"\n]*"',  # chord symbol / annotation
            r"![^!\s|\"]{1,30}!",  # decoration !trill!
            r">+|<+",  # broken rhythm
            r"\{/?",  # grace group start (acciaccatura)
            r"%[^\n]*",  # comment
            r"[ \t]+",  # blanks (beaming)
            r"[\s\S]",  # anything else: one character
        ]
    ),
    re.MULTILINE,
)

_NOTE_RE = re.compile(r"(?:\^{1,2}|_{1,2}|=)?[A-Ga-g][,']*" + _DUR)

_MODES = {
    "": "",
    "maj": "",
    "major": "",
    "m": "m",
    "min": "m",
    "minor": "m",
}
for _full in ("ionian", "aeolian", "mixolydian", "dorian", "phrygian", "lydian", "locrian"):
    _MODES[_full] = _MODES[_full[:3]] = _full[:3]
del _full

_KEY_RE = re.compile(r"([A-G])([#b]?)([ \t]*)([A-Za-z]*)(.*)", re.DOTALL)
_BLANKS = re.compile(r"[ \t]+")
_AROUND_SLASH = re.compile(r" ?/ ?")


def _normalise_key(value: str) -> str:
    m = _KEY_RE.fullmatch(value)
    if not m:  # K:none, K:HP, lower-case tonic...: leave as written
        return value
    tonic, acc, blanks, mode, rest = m.groups()
    canon = _MODES.get(mode.lower())
    if canon is None:  # not a mode word (K:Bn, K:Dmixm, K:G clef=bass): leave as written
        return value
    if rest and not (rest[0] in " \t" if mode else blanks):  # glued text (K:Gm7, K:G^f): leave as written
        return value
    rest = rest.strip(" \t")
    out = tonic + acc + canon
    return out + " " + rest if rest else out


def normalise_field(tok: str) -> str:
    """The canonical spelling of a field line (``K: G`` -> ``K:G``) or inline field (``[M: 3/4]``)."""
    inline = tok.startswith("[")
    body = tok[1:-1] if inline else tok.strip(" \t")
    letter, value = body[0], body[2:]
    value = _BLANKS.sub(" ", value.strip(" \t"))
    if letter == "M" or letter == "L":
        value = _AROUND_SLASH.sub("/", value)
    elif letter == "K":
        value = _normalise_key(value)
    out = letter + ":" + value
    return "[" + out + "]" if inline else out


def _tokenize(text: str) -> list[str]:
    out: list[str] = []
    append = out.append
    for tok in _TOKEN_RE.findall(text):
        c = tok[0]
        if c == " " or c == "\t":
            if tok.isspace():  # blanks: one space, never at a line start
                if out and out[-1] != "\n" and out[-1] != " ":
                    append(" ")
                continue
            append(normalise_field(tok))  # a field line with leading blanks
        elif c == "\n":
            if out and out[-1] == " ":
                out[-1] = "\n"
            else:
                append("\n")
        elif len(tok) > 2 and (tok[1] == ":" and c.isalpha() or c == "[" and tok[1].isalpha() and tok[2] == ":"):
            append(normalise_field(tok))
        else:
            append(tok)
    if out and out[-1] == " ":
        out.pop()
    return out


def _line_terminal(tok: str) -> bool:
    """Tokens that must end their line: field lines (``K:D``) and comments."""
    return (len(tok) >= 2 and tok[1] == ":" and "a" <= tok[0].lower() <= "z") or tok[:1] == "%"


def _detokenize(tokens: Sequence[str]) -> str:
    parts: list[str] = []
    need_newline = False
    for tok in tokens:
        if not isinstance(tok, str):
            tok = str(tok)
        if not tok:
            continue
        if need_newline and tok[0] != "\n":
            parts.append("\n")
        need_newline = False
        if _line_terminal(tok):
            if tok[0] != "%" and parts and not parts[-1].endswith("\n"):
                parts.append("\n")  # a field line starts its own line
            need_newline = True
        parts.append(tok)
    return "".join(parts)


def normalise(text: str) -> str:
    """The text `tokenize` actually represents: ``detokenize(tokenize(text))`` (see module docstring)."""
    return _detokenize(_tokenize(text))


class AbcTokens(Encoding):
    """folk-rnn style ABC tokens: a note with its accidental, octave and duration is one token."""

    name = "abc-tokens"

    def penalized(self, token: str) -> bool:
        """The repetition penalty applies to notes only, not to bar lines, spaces or fields."""
        return _NOTE_RE.fullmatch(token) is not None

    def constraint(self):
        """Bar-aware sampling: no bar runs longer than the meter (see `abc_bars.BarGuard`)."""
        from .abc_bars import BarGuard, bar_guard_tables

        if getattr(self, "_tables_for", None) is not self.vocab:
            self._tables, self._tables_for = bar_guard_tables(self.vocab), self.vocab
        return BarGuard(*self._tables)

    def tokenize(self, piece: str) -> list[str]:
        return _tokenize(piece)

    def detokenize(self, tokens: Sequence[str]) -> str:
        return _detokenize(tokens)

    @staticmethod
    def normalise(text: str) -> str:
        return normalise(text)
