"""Sheet music pages as PNG and PDF: verovio's SVG pages converted by cairosvg (libcairo).

    svg_to_png([Path("x.svg"), Path("x-2.svg")], Path("x.png"))   # x.png, x-2.png: one picture per page
    svg_to_pdf([Path("x.svg"), Path("x-2.svg")], Path("x.pdf"))   # one PDF, one page per SVG page

PNG pages are drawn on white, `PNG_WIDTH` pixels wide (smaller for a very tall page, so no picture is over
`PNG_MAX_HEIGHT` pixels high); PDF keeps the SVG's size (96 SVG pixels to the inch, about A4 wide).

Verovio writes the few music symbols that stand in text (the note of a metronome mark, say) in its SMuFL
font, embedded in the SVG as a web font, which cairo cannot read from there: the font is handed to the
process' fontconfig instead (`_register_fonts`), and where that is impossible the symbol is drawn as a box.

When cairosvg cannot be imported (it needs the libcairo2 system library) each call raises a one-line
`UserError` saying so; the caller's other outputs are unaffected.
"""
from __future__ import annotations

import atexit
import base64
import hashlib
import re
import shutil
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

from ..errors import UserError

PNG_WIDTH = 2100
PNG_MAX_HEIGHT = 16000
BACKGROUND = "white"

_FONT_FACE = re.compile(r"@font-face\s*{[^}]*?font-family:\s*'([^']+)'[^}]*?base64,([A-Za-z0-9+/=]+)", re.S)
_SVG_SIZE = re.compile(r'<svg\b[^>]*?\bwidth="([\d.]+)(?:px)?"[^>]*?\bheight="([\d.]+)(?:px)?"')
_fonts_lock = threading.Lock()
_fonts_added: set[str] = set()
_font_dir: Path | None = None


def _cairosvg(path: Path):
    try:
        import cairosvg
    except (ImportError, OSError) as e:  # OSError: the libcairo2 system library is missing
        raise UserError(f"{path}: cannot write PNG or PDF sheet music: cairosvg cannot be loaded "
                        f"(install libcairo2 and cairosvg): {' '.join(str(e).split())[:160]}") from None
    return cairosvg


def page_name(first: Path, page: int) -> Path:
    """The file of page `page` (1, 2, ...): x.png, then x-2.png, x-3.png, as verovio's SVG pages are named."""
    return first if page == 1 else first.with_name(f"{first.stem}-{page}{first.suffix}")


def _register_fonts(svg: bytes) -> None:
    """Give fontconfig the web fonts embedded in an SVG page (once per font and process); best effort."""
    global _font_dir
    import ctypes
    import ctypes.util

    for family, data in _FONT_FACE.findall(svg.decode("utf-8", "replace")):
        digest = hashlib.sha1(data.encode()).hexdigest()[:16]
        with _fonts_lock:
            if digest in _fonts_added:
                continue
            _fonts_added.add(digest)
            try:
                lib = ctypes.util.find_library("fontconfig")
                if lib is None:
                    return
                if _font_dir is None:
                    _font_dir = Path(tempfile.mkdtemp(prefix="rnnmusic-fonts-"))
                    atexit.register(shutil.rmtree, _font_dir, True)
                font = _font_dir / f"{re.sub(r'[^A-Za-z0-9]', '', family)}-{digest}.font"
                font.write_bytes(base64.b64decode(data))
                fontconfig = ctypes.CDLL(lib)
                fontconfig.FcConfigAppFontAddFile.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
                fontconfig.FcConfigAppFontAddFile(None, str(font).encode())
            except (OSError, ValueError, AttributeError):
                pass  # the symbols are drawn as boxes; the music is unaffected


def _read_pages(pages: Sequence[Path], out: Path) -> list[bytes]:
    if not pages:
        raise UserError(f"{out}: no SVG page to convert")
    data = [Path(p).read_bytes() for p in pages]
    for d in data:
        _register_fonts(d)
    return data


def svg_to_png(pages: Sequence[str | Path], png: str | Path) -> list[Path]:
    """Each SVG page as a PNG on white: png, png-2, ... (written atomically); returns the files written."""
    from ..checkpoint import write_atomic

    png = Path(png)
    cairosvg = _cairosvg(png)
    written = []
    for n, svg in enumerate(_read_pages([Path(p) for p in pages], png), 1):
        out = page_name(png, n)
        size = _SVG_SIZE.search(svg[:2000].decode("utf-8", "replace"))
        width, height = (float(size[1]), float(size[2])) if size else (0.0, 0.0)
        scale = min(PNG_WIDTH / width, PNG_MAX_HEIGHT / height) if width > 0 and height > 0 else 1.0
        try:
            data = cairosvg.svg2png(bytestring=svg, scale=scale, background_color=BACKGROUND)
        except Exception as e:
            raise UserError(f"{out}: cairosvg cannot draw the sheet music: {' '.join(str(e).split())[:160]}") from None
        write_atomic(out, data)
        written.append(out)
    return written


def svg_to_pdf(pages: Sequence[str | Path], pdf: str | Path) -> Path:
    """All SVG pages as one PDF, a page each, written atomically; returns `pdf`."""
    import io

    from ..checkpoint import write_atomic

    pdf = Path(pdf)
    cairosvg = _cairosvg(pdf)
    import cairocffi

    buf = io.BytesIO()
    document = cairocffi.PDFSurface(buf, 1, 1)

    class Page(cairosvg.surface.PDFSurface):
        """One page of `document`: sized to the SVG page, then shown."""

        def _create_surface(self, width, height):
            document.set_size(width, height)
            return document, width, height

        def finish(self):
            document.show_page()

    try:
        for svg in _read_pages([Path(p) for p in pages], pdf):
            Page.convert(bytestring=svg, write_to=buf)
        document.finish()
    except Exception as e:
        raise UserError(f"{pdf}: cairosvg cannot draw the sheet music: {' '.join(str(e).split())[:160]}") from None
    write_atomic(pdf, buf.getvalue())
    return pdf
