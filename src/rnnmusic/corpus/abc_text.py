"""ABC text without its music: bytes -> text (`decode_abc_bytes`), a tunebook cut into tunes at X:
(`split_tunebook`), each tune's name (`tune_sources`), a clean tune's header (`header_fields`)."""
from __future__ import annotations

import codecs
import re

BINARY = "binary file, not ABC text"
NOT_ABC = "no X: or K: line, not ABC"

_X_LINE = re.compile(r"^X:", re.M)
_K_LINE = re.compile(r"^K:", re.M)


def header_fields(text: str) -> dict[str, str]:
    """The header fields of a cleaned tune: {'M': '6/8', 'L': '1/8', 'K': 'G'} (V: lines left out)."""
    out: dict[str, str] = {}
    for line in text.split("\n"):
        if len(line) >= 2 and line[1] == ":" and line[0] in "MLQRPK":
            out[line[0]] = line[2:]
            if line[0] == "K":
                break
    return out


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
