"""`rnnmusic render`: any file rnnmusic reads (ABC tunebooks, MIDI, MusicXML) into any output it writes.

    render_files(["tunes.abc", "x.mid"], ["svg", "wav", "png"], Path("out"))

Each tune of an ABC file and each MIDI or MusicXML file is one item, written as OUT/<name>.<ext>:
mid (ABC through abc2midi, as `generate` does; others re-written by symusic), abc (the tune itself; MIDI and
MusicXML transcribed by abcmidi's midi2abc), wav (FluidSynth or the
built-in synthesizer, `audio.midi_to_wav`), png (piano roll), musicxml (music21: ABC and MusicXML from their
notation, MIDI quantized, `sheet.piece_to_musicxml`) and svg (verovio in a child process, from that
MusicXML). A failure of one output of one item is reported and the rest still written.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from ..errors import UserError

OUTPUTS = ("mid", "wav", "png", "musicxml", "svg", "abc")


@dataclass
class Rendered:
    name: str
    source: str
    files: dict[str, list[str]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    measures: int | None = None


ALIASES = {"midi": "mid", "xml": "musicxml", "mxl": "musicxml"}


def format_names(spec: str | Sequence[str]) -> list[str]:
    """Output format names from a comma list (or a list): trimmed, lower case, aliases (midi, xml, mxl) resolved."""
    items = [t.strip().lower() for t in (spec.split(",") if isinstance(spec, str) else spec) if t.strip()]
    return [ALIASES.get(t, t) for t in items]


def parse_outputs(text: str) -> list[str]:
    wanted = format_names(text)
    bad = [t for t in wanted if t not in OUTPUTS]
    if bad or not wanted:
        raise UserError(f"--to takes a comma list of {', '.join(OUTPUTS)}; got {text!r}")
    return list(dict.fromkeys(wanted))


def _items(path: Path) -> list[tuple[str, dict]]:
    """(name, what `render_item` is given: abc=, piece= or stream=) for each tune / piece in the file."""
    from music21 import converter

    from ..corpus.abc import decode_abc_bytes, split_tunebook, tune_sources
    from ..piece import read_midi_piece

    suffix = path.suffix.lower()
    if suffix == ".abc":
        text, why = decode_abc_bytes(path.read_bytes())
        tunes = split_tunebook(text or "")
        if not tunes:
            raise UserError(f"{path}: no ABC tunes in it ({why or 'no X: line'})")
        names = [s.split("#", 1)[1].replace("X:", "").replace("line ", "line") for s in tune_sources(str(path), tunes)]
        return [(f"{path.stem}-{n}" if len(tunes) > 1 else path.stem, {"abc": tune}) for (_, tune), n in zip(tunes, names)]
    if suffix in (".mid", ".midi"):
        try:
            return [(path.stem, {"piece": read_midi_piece(path)})]
        except Exception as e:
            raise UserError(f"{path}: not a readable MIDI file ({' '.join(str(e).split())[:120]})") from None
    if suffix in (".xml", ".musicxml", ".mxl"):
        try:
            return [(path.stem, {"stream": converter.parse(str(path))})]
        except Exception as e:
            raise UserError(f"{path}: music21 cannot read it ({' '.join(str(e).split())[:120]})") from None
    raise UserError(f"{path}: not an ABC, MIDI or MusicXML file (by its name)")


def render_files(paths: Sequence[str | Path], outputs: Sequence[str], out_dir: Path, *,
                 soundfont: str | None = None, program: int | None = None, sample_rate: int = 44100) -> list[Rendered]:
    """Render every item of every file; a missing or unreadable file is an error, a failed output is recorded."""
    out_dir.mkdir(parents=True, exist_ok=True)
    done = []
    for p in map(Path, paths):
        if not p.is_file():
            raise UserError(f"{p}: no such file")
        for name, given in _items(p):
            done.append(render_item(out_dir / name, outputs, **given, source=str(p), soundfont=soundfont,
                                    program=program, sample_rate=sample_rate))
    return done


def render_item(stem: Path, outputs: Sequence[str], *, abc: str | None = None, piece=None, stream=None,
                source: str = "", title: str | None = None, soundfont: str | None = None,
                program: int | None = None, sample_rate: int = 44100) -> Rendered:
    """Write one piece, given as ABC text, a Piece or a music21 stream, as stem.<ext> for each of `outputs`
    (see OUTPUTS). The notation (music21) is only parsed when an output needs it. Failures are recorded in
    the result's `errors`, never raised: what could be written is written."""
    from music21 import converter

    from ..piece import piece_from_music21
    from ..checkpoint import write_atomic
    from .abc import midi_to_abc
    from .audio import midi_to_wav
    from .midi import abc_to_midi
    from .plots import plot_piano_roll
    from .sheet import musicxml_to_svg, piece_to_musicxml, write_musicxml

    def write_text(path: Path, text: str) -> Path:
        write_atomic(path, text.encode())
        return path

    r = Rendered(stem.name, source)
    cache: dict[str, object] = {}

    def notation():
        if "stream" not in cache:
            try:
                cache["stream"] = stream if stream is not None else converter.parse(abc, format="abc") if abc else None
            except Exception as e:
                raise UserError(f"{source or stem}: music21 cannot read it: {' '.join(str(e).split())[:160]}") from None
        return cache["stream"]

    def the_piece():
        if piece is not None:
            return piece
        if "piece" not in cache:
            cache["piece"] = piece_from_music21(notation(), source=source)
        return cache["piece"]

    with tempfile.TemporaryDirectory() as tmp:
        mid = stem.with_suffix(".mid") if "mid" in outputs else Path(tmp) / "piece.mid"
        xml = stem.with_suffix(".musicxml") if "musicxml" in outputs else Path(tmp) / "piece.musicxml"
        steps = {
            "mid": lambda: abc_to_midi(abc, mid, program=program) if abc is not None
            else the_piece().write_midi(mid, program=program),
            "wav": lambda: midi_to_wav(mid, stem.with_suffix(".wav"), soundfont=Path(soundfont) if soundfont else None,
                                       sample_rate=sample_rate),
            "png": lambda: plot_piano_roll(the_piece(), stem.with_suffix(".png"), title=stem.name if title is None else title),
            "musicxml": lambda: write_musicxml(notation(), xml) if abc is not None or stream is not None
            else piece_to_musicxml(piece, xml),
            "svg": lambda: musicxml_to_svg(xml, stem.with_suffix(".svg")),
            "abc": lambda: write_text(stem.with_suffix(".abc"), abc) if abc is not None
            else midi_to_abc(mid, stem.with_suffix(".abc"), title=stem.name),
        }
        needed = set(outputs) | ({"mid"} if {"wav", "abc"} & set(outputs) else set()) | \
            ({"musicxml"} if "svg" in outputs else set())
        for what in OUTPUTS:
            if what not in needed:
                continue
            try:
                result = steps[what]()
            except UserError as e:
                r.errors[what] = str(e)
                continue
            if what == "svg":
                pages, r.measures = result
                r.files["svg"] = [str(x) for x in pages]
            elif what in outputs:
                r.files[what] = [str(result)]
    return r
