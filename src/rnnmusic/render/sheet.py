"""Sheet music: MusicXML through music21, SVG engraved by verovio in a child process.

Verovio is a C++ library: a bad input can crash the whole process (its ABC import did, on a Nottingham tune).
So rnnmusic never loads verovio in the caller's process: `musicxml_to_svg` runs this module as a separate
Python process (`python -m rnnmusic.render.sheet IN.musicxml OUT.svg`), with a timeout, and turns a crash,
a timeout or a refusal into a one-line `UserError`. Verovio only ever sees MusicXML written by music21,
never ABC.

The SVG pages become PNG pictures and a PDF in `pages` (cairosvg, in the caller's process: drawing them is safe).

MIDI has no notation, so `piece_to_musicxml` quantizes it (music21's `quantizePost`, to sixteenths and
eighth-note triplets) and writes the piece's key signature when it has one.
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from ..errors import UserError
from ..music21_compat import music21_key_name, stream_of_midi

SHEET_TIMEOUT_S = 120.0
# one tall page (verovio's largest), so a piece is one SVG; longer pieces continue in OUT-2.svg, OUT-3.svg ...
VEROVIO_OPTIONS = {"pageHeight": 60000, "pageWidth": 2100, "adjustPageHeight": True, "scale": 40,
                   "breaks": "auto", "footer": "none"}


def piece_to_musicxml(piece, path: str | Path, *, title: str | None = None) -> Path:
    """Write a Piece as MusicXML: its notes quantized to sixteenths and eighth triplets, its metre, its key,
    and `title` (default: the file's name) as the title engraved above it. A four-part chorale
    (`meta["layout"] == "satb"`) is written on two staves, soprano and alto above, tenor and bass below; piano
    music (`"keyboard"`) on a grand staff."""
    from music21 import key as m21key
    from music21 import metadata

    path = Path(path)
    if piece.meta.get("layout") == "satb":  # a four-part chorale: SA / TB on two staves
        from .chorale_score import satb_score

        score = satb_score(piece, title or path.name.split(".")[0])
    elif piece.meta.get("layout") == "keyboard" and len(piece.notes):  # piano music: a grand staff
        from .keyboard_score import grand_staff

        score = grand_staff(piece, title or path.name.split(".")[0])
    else:
        score = stream_of_midi(bytes(piece.to_score().dumps_midi()))
        score.metadata = score.metadata or metadata.Metadata()
        score.metadata.title = score.metadata.movementName = title or path.name.split(".")[0]
    if piece.key and piece.meta.get("layout") != "satb":
        try:
            k = m21key.Key(*music21_key_name(piece.key))
            for part in score.parts:
                part.insert(0, k)
        except Exception:  # an unparsable key name only costs the key signature
            pass
    write_musicxml(score, path)
    return path


def write_musicxml(stream, path: str | Path) -> Path:
    path = Path(path)
    try:
        stream.write("musicxml", fp=str(path))
    except Exception as e:
        raise UserError(f"{path}: music21 cannot write this as MusicXML: {' '.join(str(e).split())[:200]}") from None
    return path


def musicxml_to_svg(xml: str | Path, svg: str | Path, *, timeout: float = SHEET_TIMEOUT_S) -> tuple[list[Path], int]:
    """Engrave a MusicXML file as SVG in a child process; returns (the SVG pages written, measures engraved).

    UserError (one line, naming the file) when verovio crashes, times out or refuses the file; the caller's
    process is never at risk."""
    xml, svg = Path(xml), Path(svg)
    if not xml.is_file():
        raise UserError(f"{xml}: MusicXML file not found")
    try:
        proc = subprocess.run([sys.executable, "-m", "rnnmusic.render.sheet", str(xml), str(svg)],
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise UserError(f"{xml}: verovio took more than {timeout:g} s to engrave it; no sheet music written") from None
    if proc.returncode < 0:
        raise UserError(f"{xml}: verovio crashed (signal {-proc.returncode}) engraving it; no sheet music written")
    if proc.returncode != 0:
        why = (proc.stderr.strip().splitlines() or ["no reason given"])[-1]
        raise UserError(f"{xml}: verovio cannot engrave it: {why}")
    pages = [Path(p) for p in proc.stdout.split()]
    return pages, sum(count_measures(p.read_text()) for p in pages)


def count_measures(svg_text: str) -> int:
    """Measures in a verovio SVG page (its <g class="measure"> groups)."""
    return len(re.findall(r'class="measure[" ]', svg_text))


def _engrave(xml: str, svg: str) -> int:
    """The child process: load the MusicXML into verovio, write one SVG per page, print their paths."""
    import verovio

    verovio.enableLog(verovio.LOG_OFF)
    tk = verovio.toolkit()
    tk.setOptions(VEROVIO_OPTIONS)
    if not tk.loadFile(xml):
        print("verovio does not read it as MusicXML", file=sys.stderr)
        return 2
    out = Path(svg)
    pages = []
    for page in range(1, tk.getPageCount() + 1):
        path = out if page == 1 else out.with_name(f"{out.stem}-{page}{out.suffix}")
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(tk.renderToSVG(page))
        tmp.replace(path)
        pages.append(str(path))
    if not pages:
        print("verovio engraved no page", file=sys.stderr)
        return 2
    print("\n".join(pages))
    return 0


if __name__ == "__main__":
    sys.exit(_engrave(sys.argv[1], sys.argv[2]))
