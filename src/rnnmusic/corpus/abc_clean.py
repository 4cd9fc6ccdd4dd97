"""One ABC tune -> its clean text (`clean_tune`), or the reason it is dropped.

Cleaning keeps what a model should learn from and drops everything else:

* Header: only the musical fields are kept, rewritten as `M:6/8` (no space after the colon, inner runs of
  whitespace collapsed) in the fixed order M:, L:, Q:, R:, P:, V:..., K: -- K: always last. A tune without
  K: is dropped ("no K: field"); a missing M: or L: is left missing (the ABC defaults apply). When a field
  repeats in the header the last one wins. R: is kept only when it names a rhythm (one or two plain words,
  lowercased: `R:reel`, `R:slip jig`); free-text R: such as Essen's genre notes is dropped. Q: loses its
  quoted text ("Allegro") and is dropped when nothing is left. V: keeps the voice id and `key=value`
  properties only. Dropped: X:, T:, C:, S:, N:, H:, O:, Z:, B:, D:, F:, G:, A:, I:, U:, W:/w:, any other
  field, `%` comments, `%%` directives and stray text lines (lines starting with an HTML or XML tag too,
  anywhere in the tune); each is counted by letter in the returned Counter ('%' for comments, '%%' for
  directives, 'free text' for stray lines).
* Body: field lines that change the music (K:, M:, L:, Q:, P: part markers, V: voices) are kept in place;
  other field lines (T: section titles, W:/w: lyrics, N:, I:, ...) are dropped and counted. M:, L:, Q: or
  K: lines that come right after the header, before any music or voice, replace the header value (the
  meaning is the same, and the header then says what the tune really is in); so does R:. Before the first
  music line every ``X:value`` line is a field, even one named by a note letter (``C:Trad.``, ``B:book``),
  which are header fields written after K: and dropped as such, not music. Inline fields follow the
  same rule: `[K:D]`, `[M:3/4]`, `[L:..]`, `[Q:..]`, `[P:..]`, `[V:..]` stay, `[I:..]`, `[r:..]`... go.
* Music lines: comments (`%...`, not `\\%`) are removed, a line ending in `\\` is joined to the next
  music line, tabs become spaces, runs of spaces collapse to one, line ends are stripped, empty lines
  go. Quoted strings are kept only when they are chord symbols ("Am", "D7", "G/B", "Bbmaj7", "F#m7b5",
  "(E7)", "N.C.") and `keep_chords` is true; annotations ("^text", "_text", "<text", ">text", "@text"),
  fingerings ("4") and any other text are always removed. Decorations `!...!` are kept, and old-style
  `+trill+` becomes `!trill!`; performance marks are removed: fingering (`!0!`..`!5!`) and bowing
  (`u`, `v`, `!upbow!`, `!downbow!`). Backquotes (ABC's ignorable beam spacers) are removed.
* A tune is dropped when a raw line is longer than 10,000 characters, when it has no notes left, or when
  it is longer than 20,000 characters after cleaning.

"""
from __future__ import annotations

import re
from collections import Counter

MAX_LINE_CHARS = 10_000
MAX_TUNE_CHARS = 20_000

NO_KEY = "no K: field"
EMPTY_BODY = "empty body (no notes)"
LONG_LINE = f"line longer than {MAX_LINE_CHARS} characters"
LONG_TUNE = f"tune longer than {MAX_TUNE_CHARS} characters after cleaning"

HEADER_ORDER = "MLQRP"  # then V: lines, then K:
BODY_FIELDS = frozenset("KMLQPV")  # kept in the body (as lines or inline [X:...])
FOLDABLE = frozenset("KMLQ")  # body fields before any music replace the header value
PERFORMANCE_MARKS = frozenset({"0", "1", "2", "3", "4", "5", "upbow", "downbow"})
DECORATION_NAMES = frozenset(
    [
        "trill",
        "lowermordent",
        "uppermordent",
        "mordent",
        "pralltriller",
        "roll",
        "turn",
        "turnx",
        "invertedturn",
        "invertedturnx",
        "arpeggio",
        "accent",
        "emphasis",
        "fermata",
        "invertedfermata",
        "tenuto",
        "plus",
        "snap",
        "slide",
        "wedge",
        "upbow",
        "downbow",
        "open",
        "thumb",
        "breath",
        "pppp",
        "ppp",
        "pp",
        "p",
        "mp",
        "mf",
        "f",
        "ff",
        "fff",
        "ffff",
        "sfz",
        "segno",
        "coda",
        "D.S.",
        "D.C.",
        "dacoda",
        "dacapo",
        "fine",
        "shortphrase",
        "mediumphrase",
        "longphrase",
    ]
)

_MARKUP = re.compile(r"<[/!?]?[A-Za-z][^>]*>")  # an HTML or XML tag starting a line (a web page's tunebook)
_FIELD = re.compile(r"([A-Za-z+]):(.*)", re.S)
_MUSIC_NOT_FIELD = re.compile(r"[A-Ga-g]:[|:]")  # "A:|" is a note then a repeat, not an A: field
_COMMENT = re.compile(r'("[^"]*")|(?<!\\)%.*', re.S)
_SPACES = re.compile(r" {2,}")
_MUSIC_TOKEN = re.compile(
    r"""(?P<quote>"[^"]*")
      | (?P<field>\[[A-Za-z]:[^\]]*\])
      | (?P<deco>![^!\s|"]{1,40}!)
      | (?P<plus>\+[A-Za-z][A-Za-z.]*\+)
      | (?P<bow>[uv])
      | (?P<stray>["!`\t\x00-\x08\x0b-\x1f\x7f-\x9f])""",
    re.X,
)
_CHORD = re.compile(
    r"""\(?
        [A-G][#b\u266f\u266d]?
        (?:maj|min|dim|aug|sus|add|mi|ma|m|M|d|o|\u00f8|\u00b0|\+|-)?
        (?:[0-9]{1,2}|[#b+-][0-9]{1,2}|maj[0-9]*|sus[0-9]*|add[0-9]+|dim[0-9]*|aug|alt|\((?:[#b+-]?[0-9]{1,2},?)+\))*
        (?:/[A-Ga-g][#b\u266f\u266d]?[+,']*)?
        \)?
      | N\.?C\.?""",
    re.X,
)
_RHYTHM = re.compile(r"[A-Za-z]+(?: [A-Za-z]+)?")
_QUOTED = re.compile(r'"[^"]*"')
_VOICE_PROPERTY = re.compile(r'\b\w+=(?:"[^"]*"|\S+)')
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_NOT_NOTES = re.compile(r'"[^"]*"|![^!]*!|\[[A-Za-z]:[^\]]*\]')
_NOTE = re.compile(r"[A-Ga-g]")
_NOTE_LETTERS = frozenset("ABCDEFGabcdefg")


def clean_tune(raw: str, *, keep_chords: bool = True) -> tuple[str | None, str | None, Counter]:
    """Raw text of one tune (from its X: line) -> (cleaned text or None, drop reason or None, fields dropped).

    See the module docstring for the rules. The Counter maps field letters (and '%', '%%', 'free text')
    to the number of lines dropped, header and body together.
    """
    dropped: Counter = Counter()
    lines = raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if max(map(len, lines), default=0) > MAX_LINE_CHARS:
        return None, LONG_LINE, dropped
    if lines and lines[0].startswith("X:"):
        lines = lines[1:]
    logical = _logical_lines(lines, dropped)

    header: dict[str, str] = {}
    voices: list[str] = []
    key: str | None = None
    i = 0
    while i < len(logical) and key is None:
        line = logical[i]
        i += 1
        if not line:
            continue
        parsed = _parse_field(line)
        if parsed is None:
            dropped["free text"] += 1
            continue
        letter, value = parsed
        value = _header_value(letter, value)
        if letter == "K":
            key = value
        elif letter in HEADER_ORDER and value:
            if letter in header:
                dropped[letter] += 1
            header[letter] = value
        elif letter == "V" and value:
            voices.append(value)
        else:
            dropped[letter] += 1
    if key is None:
        return None, NO_KEY, dropped

    body: list[str] = []
    has_notes = music_started = False
    for line in logical[i:]:
        # before any music, a line like "C:Trad." or "B:O'Neill's" is a header field written after K:, not notes
        parsed = _parse_field(line, in_body=music_started) if line else None
        if parsed is not None:
            letter, value = parsed
            value = _header_value(letter, value)
            if letter == "R" and value and not music_started:
                header["R"] = value  # a header field written after K: is still a header field
            elif letter not in BODY_FIELDS or not (value or letter == "K"):
                dropped[letter] += 1
            elif letter in FOLDABLE and not music_started:
                if letter == "K":
                    key = value
                elif value:
                    header[letter] = value
            else:
                music_started = music_started or letter == "V"
                body.append(f"{letter}:{value}")
            continue
        music = _clean_music(line, keep_chords, dropped)
        if _parse_field(music, in_body=music_started) is not None or _parse_field(music, in_body=True) is not None:
            # e.g. 'uK:G', or 'A":' without its chord quote: it would read back as a field
            dropped["free text"] += 1
            continue
        if music:
            body.append(music)
            music_started = True
            has_notes = has_notes or bool(_NOTE.search(_NOT_NOTES.sub("", music)))
    if not has_notes:
        return None, EMPTY_BODY, dropped

    head = [f"{letter}:{header[letter]}" for letter in HEADER_ORDER if letter in header]
    head += [f"V:{v}" for v in voices] + [f"K:{key}"]
    text = "\n".join(head + body) + "\n"
    if len(text) > MAX_TUNE_CHARS:
        return None, LONG_TUNE, dropped
    return text, None, dropped


def strip_markup(raw: str) -> str:
    """The tune without its lines that start with an HTML or XML tag (what `clean_tune` drops as free text)."""
    if "<" not in raw:
        return raw
    return "\n".join(line for line in raw.split("\n") if not _MARKUP.match(line.strip()))


def _parse_field(line: str, in_body: bool = False) -> tuple[str, str] | None:
    """('M', '6/8') for a field line, None for music or text.

    In the body a line starting with a note letter and a colon ("A:", "e:|") is music: no field that may
    appear in a tune body is named by a note letter.
    """
    if len(line) < 2 or line[1] != ":" or _MUSIC_NOT_FIELD.match(line):
        return None
    if in_body and line[0] in _NOTE_LETTERS:
        return None
    m = _FIELD.match(line)
    if m is None:
        return None
    return m.group(1), " ".join(m.group(2).split())


def _header_value(letter: str, value: str) -> str:
    """A kept field's value in canonical form ('' when nothing worth keeping is left)."""
    value = _CONTROL.sub("", value)
    if letter == "R":
        return value.lower() if _RHYTHM.fullmatch(value) else ""
    if letter == "Q":
        return " ".join(_QUOTED.sub("", value).replace(" =", "=").replace("= ", "=").split())
    if letter == "V" and value:
        voice, _, rest = value.partition(" ")
        return " ".join([voice, *_VOICE_PROPERTY.findall(rest)])
    return value


def _strip_comment(line: str) -> tuple[str, bool]:
    if "%" not in line:
        return line, False
    found = False

    def keep_quotes(m: re.Match) -> str:
        nonlocal found
        if m.group(1) is not None:
            return m.group(1)
        found = True
        return ""

    return _COMMENT.sub(keep_quotes, line), found


def _logical_lines(lines: list[str], dropped: Counter) -> list[str]:
    """Comments removed (and counted), continuation lines joined, each line stripped."""
    out: list[str] = []
    pending: str | None = None  # a music line that ended in a backslash
    directive_continues = False  # a %% directive that ended in a backslash swallows the next line
    in_body = False  # after the first K: line
    for line in lines:
        if directive_continues:
            directive_continues = line.rstrip().endswith("\\")
            continue
        stripped = line.strip()
        if _MARKUP.match(stripped):
            dropped["free text"] += 1
            continue
        if stripped.startswith("%"):
            dropped["%%" if stripped.startswith("%%") else "%"] += 1
            directive_continues = stripped.startswith("%%") and stripped.endswith("\\")
            continue
        code, had_comment = _strip_comment(stripped)
        if had_comment:
            dropped["%"] += 1
        code = code.strip()
        parsed = _parse_field(code, in_body)
        is_field = parsed is not None
        in_body = in_body or (is_field and parsed[0] == "K")
        if pending is not None:
            if not code:
                continue
            if is_field:
                out.append(pending)
            else:
                code = pending + code
            pending = None
        if not is_field and code.endswith("\\"):
            pending = code[:-1]
            continue
        out.append(code)
    if pending is not None:
        out.append(pending)
    return out


def _clean_music(line: str, keep_chords: bool, dropped: Counter) -> str:
    def token(m: re.Match) -> str:
        kind, s = m.lastgroup, m.group(0)
        if kind == "quote":
            content = s[1:-1].strip()
            return f'"{content}"' if keep_chords and _CHORD.fullmatch(content) else ""
        if kind == "field":
            letter, value = s[1], _header_value(s[1], " ".join(s[3:-1].split()))
            if letter in BODY_FIELDS and (value or letter == "K"):
                return f"[{letter}:{value}]"
            dropped[letter] += 1
            return ""
        if kind == "deco":
            return "" if s[1:-1] in PERFORMANCE_MARKS else s
        if kind == "plus":
            name = s[1:-1]
            if name in PERFORMANCE_MARKS:
                return ""
            return f"!{name}!" if name in DECORATION_NAMES else s
        if kind == "stray":
            return " " if s == "\t" else ""
        return ""  # bowing marks u, v

    music = _SPACES.sub(" ", _MUSIC_TOKEN.sub(token, line)).strip()
    return music.rstrip("\\ ")  # a backslash left at the end would read as a continuation next time
