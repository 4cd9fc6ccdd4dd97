"""ABC tunebooks -> clean tunes: read files safely, split at X:, clean each tune, drop duplicates, report why.

Cleaning (`clean_tune`) keeps what a model should learn from and drops everything else:

* Header: only the musical fields are kept, rewritten as `M:6/8` (no space after the colon, inner runs of
  whitespace collapsed) in the fixed order M:, L:, Q:, R:, P:, V:..., K: -- K: always last. A tune without
  K: is dropped ("no K: field"); a missing M: or L: is left missing (the ABC defaults apply). When a field
  repeats in the header the last one wins. R: is kept only when it names a rhythm (one or two plain words,
  lowercased: `R:reel`, `R:slip jig`); free-text R: such as Essen's genre notes is dropped. Q: loses its
  quoted text ("Allegro") and is dropped when nothing is left. V: keeps the voice id and `key=value`
  properties only. Dropped: X:, T:, C:, S:, N:, H:, O:, Z:, B:, D:, F:, G:, A:,
  I:, U:, W:/w:, any other field, `%` comments, `%%` directives and stray text lines; each is counted by
  letter in the returned Counter ('%' for comments, '%%' for directives, 'free text' for stray lines).
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

Tunes are split at X: lines only (blank lines do not end a tune: several tunebooks have blank lines inside
tunes); text before the first X: is the file header and is not read. Exact duplicates (same cleaned text)
after the first are removed by `load_abc` and counted.
"""
from __future__ import annotations

import codecs
import glob
import os
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Sequence

from ..errors import UserError
from .builtin import builtin_names, find_builtin
from .report import DUPLICATE, CorpusReport
from .split import keyed_split

MAX_LINE_CHARS = 10_000
MAX_TUNE_CHARS = 20_000
MAX_FILE_BYTES = 100 * 1024 * 1024

NO_KEY = "no K: field"
EMPTY_BODY = "empty body (no notes)"
LONG_LINE = f"line longer than {MAX_LINE_CHARS} characters"
LONG_TUNE = f"tune longer than {MAX_TUNE_CHARS} characters after cleaning"
BINARY = "binary file, not ABC text"
NOT_ABC = "no X: or K: line, not ABC"

HEADER_ORDER = "MLQRP"  # then V: lines, then K:
BODY_FIELDS = frozenset("KMLQPV")  # kept in the body (as lines or inline [X:...])
FOLDABLE = frozenset("KMLQ")  # body fields before any music replace the header value
PERFORMANCE_MARKS = frozenset({"0", "1", "2", "3", "4", "5", "upbow", "downbow"})
DECORATION_NAMES = frozenset(
    "trill lowermordent uppermordent mordent pralltriller roll turn turnx invertedturn invertedturnx "
    "arpeggio accent emphasis fermata invertedfermata tenuto plus snap slide wedge upbow downbow open thumb "
    "breath pppp ppp pp p mp mf f ff fff ffff sfz segno coda D.S. D.C. dacoda dacapo fine "
    "shortphrase mediumphrase longphrase".split()
)

_X_LINE = re.compile(r"^X:", re.M)
_K_LINE = re.compile(r"^K:", re.M)
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


@dataclass(frozen=True)
class Tune:
    """One cleaned tune: musical header lines then body, '\\n'-separated, ending with '\\n'."""

    text: str
    source: str  # e.g. "/path/book1.abc:X:12", or "/path/tune.abc:line 1" for a file without X:


@dataclass
class Corpus:
    tunes: list[Tune]
    report: CorpusReport = field(default_factory=CorpusReport)

    def split(self, valid_fraction: float = 0.1, seed: int = 0) -> tuple[list[Tune], list[Tune]]:
        """(train, valid) by tune, both in corpus order.

        A tune's side depends only on the seed and its own text (a keyed hash, so it is the same in every
        process whatever PYTHONHASHSEED is, and a tune stays on its side when the corpus grows). With two or
        more tunes and a fraction above 0, at least one tune is held out and at least one is trained on.
        """
        return keyed_split(self.tunes, [t.text for t in self.tunes], valid_fraction, seed)

    def stats(self) -> dict:
        """Tune count, header values by frequency (most common first) and mean tune length."""
        meters, keys, units = Counter(), Counter(), Counter()
        for tune in self.tunes:
            head = header_fields(tune.text)
            meters[head.get("M", "(none)")] += 1
            keys[head.get("K", "(none)")] += 1
            units[head.get("L", "(default)")] += 1
        n = len(self.tunes)
        return {
            "tunes": n,
            "meters": dict(meters.most_common()),
            "keys": dict(keys.most_common()),
            "unit_lengths": dict(units.most_common()),
            "mean_length_chars": round(sum(len(t.text) for t in self.tunes) / n, 1) if n else 0.0,
        }


def header_fields(text: str) -> dict[str, str]:
    """The header fields of a cleaned tune: {'M': '6/8', 'L': '1/8', 'K': 'G'} (V: lines left out)."""
    out: dict[str, str] = {}
    for line in text.split("\n"):
        if len(line) >= 2 and line[1] == ":" and line[0] in "MLQRPK":
            out[line[0]] = line[2:]
            if line[0] == "K":
                break
    return out


# -- splitting and cleaning ------------------------------------------------------------------------------
def split_tunebook(text: str) -> list[tuple[int, str]]:
    """[(line number, raw tune text)] cut at lines starting with X:, line numbers counting from 1.

    Text before the first X: is the file header and is left out. A text with no X: line but with a K:
    line is one tune starting at line 1; a text with neither gives [].
    """
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if text.startswith("\ufeff"):
        text = text[1:]
    starts = [m.start() for m in _X_LINE.finditer(text)]
    if not starts:
        return [(1, text)] if _K_LINE.search(text) else []
    tunes = []
    line, prev = 1, 0
    for i, start in enumerate(starts):
        line += text.count("\n", prev, start)
        prev = start
        end = starts[i + 1] if i + 1 < len(starts) else len(text)
        tunes.append((line, text[start:end]))
    return tunes


def tune_sources(path: str, tunes: list[tuple[int, str]]) -> list[str]:
    """A name per tune of `split_tunebook(text of path)`: `path#X:n`, or `path#line L` when the X: number is
    missing or repeats."""
    out, numbers = [], set()
    for line_no, raw in tunes:
        number = raw[2:raw.find("\n")].strip() if raw.startswith("X:") and "\n" in raw[:100] else ""
        out.append(f"{path}#X:{number}" if number and number not in numbers else f"{path}#line {line_no}")
        numbers.add(number)
    return out


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
        if _parse_field(music, in_body=True) is not None:  # e.g. 'uK:G': would read back as a field
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


# -- reading files ---------------------------------------------------------------------------------------
_TEXT_BYTES = bytes([9, 10, 11, 12, 13, *range(32, 127), *range(128, 256)])


def decode_abc_bytes(data: bytes) -> tuple[str | None, str | None]:
    """(text, None) for UTF-8 text (a BOM is dropped), (None, reason) for binary or non-UTF-8 bytes."""
    if b"\x00" in data:
        return None, BINARY
    controls = len(data.translate(None, _TEXT_BYTES))
    if data and controls / len(data) > 0.05:
        return None, BINARY
    base = 0
    if data.startswith(codecs.BOM_UTF8):
        data, base = data[len(codecs.BOM_UTF8):], len(codecs.BOM_UTF8)
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as e:
        high = len(data) - len(data.translate(None, bytes(range(128, 256))))
        if (high + controls) / len(data) > 0.3:
            return None, BINARY
        return None, f"not valid UTF-8 (byte 0x{data[e.start]:02x} at offset {e.start + base})"


def files_in(folder: str, suffixes: tuple[str, ...] = (".abc",)) -> list[str]:
    """Files under `folder` (recursively, in sorted order) whose names end with one of `suffixes`."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        found += [os.path.join(root, f) for f in sorted(files) if f.lower().endswith(suffixes)]
    return found


def folk_files(builtin, report: CorpusReport) -> list[str]:
    """The .abc files of a built-in folk corpus; a folder missing from music21 is a warning."""
    files = []
    for folder in builtin.paths():
        if not os.path.isdir(folder):
            report.warn(folder, f"built-in corpus {builtin.name!r} is missing from this music21 installation")
            continue
        files += files_in(folder)
    return files


def _expand_source(source: str, report: CorpusReport) -> list[str]:
    """The files a source names; problems go to report.warnings."""
    builtin = find_builtin(source)
    if builtin is not None:
        return folk_files(builtin, report)
    path = os.path.expanduser(source)
    if os.path.isdir(path):
        files = files_in(path)
        if not files:
            report.warn(source, "no .abc files")
        return files
    if os.path.isfile(path):
        return [path]
    if os.path.exists(path):
        report.warn(source, "not a regular file or directory")
        return []
    if any(c in path for c in "*?["):
        files = []
        for match in sorted(glob.glob(path, recursive=True)):
            files += files_in(match) if os.path.isdir(match) else [match] if os.path.isfile(match) else []
        if not files:
            report.warn(source, "no .abc files")
        return files
    hint = ""
    if os.sep not in source and not source.lower().endswith(".abc"):
        hint = f", and not a built-in corpus ({', '.join(builtin_names())})"
    report.warn(source, "no such file or directory" + hint)
    return []


def _read_file(path: str, report: CorpusReport) -> str | None:
    try:
        size = os.path.getsize(path)
        if size > MAX_FILE_BYTES:
            report.skip_file(path, f"file larger than {MAX_FILE_BYTES // 2**20} MB ({size / 2**20:.0f} MB)")
            return None
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        report.skip_file(path, f"cannot read: {e.strerror or e}")
        return None
    text, reason = decode_abc_bytes(data)
    if reason is not None:
        report.skip_file(path, reason)
    return text


class _Loader:
    """One load_abc call: files in order, tunes cleaned and deduplicated, everything counted in the report."""

    def __init__(self, sources: Sequence[str], max_tunes: int | None, keep_chords: bool):
        self.max_tunes, self.keep_chords = max_tunes, keep_chords
        self.report = CorpusReport(sources=list(sources))
        self.tunes: list[Tune] = []
        self.first_source: dict[str, str] = {}  # cleaned text -> source of its first copy

    def full(self) -> bool:
        return self.max_tunes is not None and len(self.tunes) >= self.max_tunes

    def load_file(self, path: str) -> None:
        text = _read_file(path, self.report)
        if text is None:
            return
        pieces = split_tunebook(text)
        del text
        if not pieces:
            self.report.skip_file(path, NOT_ABC)
            return
        self.report.files_read += 1
        kept, drops, numbers = 0, Counter(), set()
        for line_no, raw in pieces:
            self.report.tunes_found += 1
            number = raw[2:raw.find("\n")].strip() if raw.startswith("X:") and "\n" in raw[:100] else ""
            source = f"{path}:X:{number}" if number and number not in numbers else f"{path}:line {line_no}"
            numbers.add(number)
            cleaned, reason, fields = clean_tune(raw, keep_chords=self.keep_chords)
            self.report.header_fields_dropped.update(fields)
            if cleaned is None:
                reason = reason or EMPTY_BODY
                self.report.drop(reason, source)
                drops[reason] += 1
            elif cleaned in self.first_source:
                self.report.drop(DUPLICATE, f"{source} (same as {self.first_source[cleaned]})")
                drops[DUPLICATE] += 1
            else:
                self.first_source[cleaned] = source
                self.tunes.append(Tune(cleaned, source))
                self.report.tunes_kept += 1
                kept += 1
                if self.full():
                    self.report.stopped_at_max_tunes = self.max_tunes
                    break
        if not kept and set(drops) != {DUPLICATE}:
            self.report.warn(path, "no usable tunes (" + ", ".join(f"{n} {r}" for r, n in drops.most_common()) + ")")


def load_abc(sources: Sequence[str], *, max_tunes: int | None = None, keep_chords: bool = True) -> Corpus:
    """Read ABC from built-in corpus names (see `builtin_names`), files, folders (recursive *.abc) or globs.

    Bad files and tunes are skipped and recorded in `Corpus.report`; UserError is raised only when no
    tune at all is left, naming each source tried and why it gave nothing. Identical files reached twice
    (say `all-folk` and `essen`) are read once.
    """
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    sources = [os.fspath(s) for s in sources]
    if not sources:
        raise UserError(f"no corpus given: name a built-in corpus ({', '.join(builtin_names())}) or ABC files/folders")
    if max_tunes is not None and max_tunes < 1:
        raise UserError(f"max_tunes must be at least 1, got {max_tunes}")
    started = time.perf_counter()
    loader = _Loader(sources, max_tunes, keep_chords)
    seen_files: set[str] = set()
    for source in sources:
        for path in _expand_source(source, loader.report):
            real = os.path.realpath(path)
            if real in seen_files or loader.full():
                continue
            seen_files.add(real)
            loader.load_file(path)
    report = loader.report
    report.seconds = time.perf_counter() - started
    if not loader.tunes:
        why = "; ".join(report.warnings[:8]) or "nothing to read"
        if len(report.warnings) > 8:
            why += f"; ... and {len(report.warnings) - 8} more problems"
        if report.tunes_found:
            dropped = ", ".join(f"{n} {r}" for r, n in report.tunes_dropped.most_common())
            why += f" ({report.tunes_found} tunes found, all dropped: {dropped})"
        raise UserError(f"no usable ABC tunes in {', '.join(map(str, sources))}: {why}")
    return Corpus(loader.tunes, report)
