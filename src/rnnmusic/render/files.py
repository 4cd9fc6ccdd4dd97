"""`rnnmusic render`: any file rnnmusic reads (ABC tunebooks, MIDI, MusicXML) into any output it writes.

    render_files(["tunes.abc", "x.mid"], ["svg", "png", "wav", "roll"], Path("out"))

Each tune of an ABC file and each MIDI or MusicXML file is one item, written as OUT/<name>.<ext>:

* mid: ABC through abc2midi, as `generate` does; a MIDI file keeps its own tracks and programs (re-written by
  symusic); MusicXML gives a track per part (music21). `program` (`programs.parse_programs`: "40" for every
  track, "1=73,2=40" by track) is then set in the file; by default ABC plays fiddle (40), MIDI its own
  programs, a part naming no instrument piano (0).
* wav and flac: that MIDI played by FluidSynth or the built-in synthesizer (`audio.render_audio`), once for
  both, the same 16-bit samples in either container.
* musicxml: music21, ABC and MusicXML from their notation, MIDI quantized (`sheet.piece_to_musicxml`).
* svg: sheet music engraved by verovio in a child process from that MusicXML (OUT/<name>.svg, -2.svg ... per
  page); png and pdf: those pages through cairosvg (`pages`): <name>.png, -2.png ... and one <name>.pdf.
* abc: the tune itself; MIDI and MusicXML transcribed by abcmidi's midi2abc.
* roll: the piano-roll picture, <name>.roll.png (`plots.plot_piano_roll`); alias pianoroll.

Every file is read by the guarded reader (`corpus.reader`, as `corpus show`, `train` and `evaluate` read it): a
file it refuses is a UserError naming the file and the reason, a refused tune of a tunebook a `SkippedTune`
warning. A failure of one output of one item is reported and the rest still written.
"""
from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UserError, one_line

#: In the order they are made: audio needs the MIDI file, the pictures of the sheet music its SVG pages.
OUTPUTS = ("mid", "wav", "flac", "musicxml", "svg", "png", "pdf", "abc", "roll")
#: What an output is made from, when that is another output.
NEEDS = {"wav": "mid", "flac": "mid", "abc": "mid", "svg": "musicxml", "png": "svg", "pdf": "svg"}
#: The suffix of each output's file (after the item's name).
SUFFIXES = {o: f".{o}" for o in OUTPUTS} | {"roll": ".roll.png"}


@dataclass
class Rendered:
    name: str
    source: str
    files: dict[str, list[str]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    measures: int | None = None


ALIASES = {"midi": "mid", "xml": "musicxml", "mxl": "musicxml", "pianoroll": "roll", "piano-roll": "roll"}


def format_names(spec: str | Sequence[str]) -> list[str]:
    """Output format names from a comma list (or a list): trimmed, lower case, aliases (midi, xml, mxl,
    pianoroll) resolved."""
    items = [t.strip().lower() for t in (spec.split(",") if isinstance(spec, str) else spec) if t.strip()]
    return [ALIASES.get(t, t) for t in items]


def parse_outputs(text: str) -> list[str]:
    wanted = format_names(text)
    bad = [t for t in wanted if t not in OUTPUTS]
    if bad or not wanted:
        raise UserError(f"--to takes a comma list of {', '.join(OUTPUTS)}; got {text!r}")
    return list(dict.fromkeys(wanted))


class SkippedTune(UserWarning):
    """A tune of a tunebook that the reader refused (the others are rendered)."""


def _items(path: Path) -> list[tuple[str, dict]]:
    """(name, what `render_item` is given: abc=, piece= or stream=) for each tune / piece in the file, read by the
    guarded reader (`corpus.reader`): a file it refuses is a UserError naming it, a refused tune a warning."""
    import warnings

    from ..corpus.formats import kind_of
    from ..corpus.reader import read_music, read_tunebook, refuse

    kind = kind_of(str(path))
    if kind is None:
        raise UserError(f"{path}: not an ABC, MIDI, MusicXML or kern file (by its name)")
    if kind == "abc":
        book = read_tunebook(str(path))
        if book.skip is not None:
            raise refuse(path, book.skip)
        tunes = list(book.judged())
        if all(t.cleaned is None for t in tunes):
            raise refuse(path, book.refusal() or "no usable tunes")
        out = []
        for tune in tunes:
            if tune.cleaned is None:
                warnings.warn(f"{tune.source}: not rendered ({tune.reason})", SkippedTune, stacklevel=2)
                continue
            n = tune.source.rsplit("#", 1)[1].replace("X:", "").replace("line ", "line")
            out.append((f"{path.stem}-{n}" if len(tunes) > 1 else path.stem, {"abc": tune.raw}))
        return out
    result = read_music(path)
    if result.refusal() is not None:
        raise refuse(path, result.refusal())
    if kind == "midi":
        return [(path.stem, {"piece": result.pieces[0], "midi": path})]
    from music21 import converter

    from ..music21_compat import quiet

    try:
        with quiet():
            return [(path.stem, {"stream": converter.parse(str(path), forceSource=True)})]
    except Exception as e:
        raise refuse(path, f"music21 cannot read it ({one_line(e, 120, named=True)})") from None


def render_files(paths: Sequence[str | Path], outputs: Sequence[str], out_dir: Path, *,
                 soundfont: str | None = None, program: int | str | dict | None = None,
                 sample_rate: int = 44100, voice=None) -> list[Rendered]:
    """Render every item of every file; a missing or unreadable file or a bad `program` spec is an error,
    a failed output is recorded. `voice` (a `voice.choice.VoiceChoice`): audio played by that learned voice."""
    from .programs import parse_programs

    programs = parse_programs(program)
    out_dir.mkdir(parents=True, exist_ok=True)
    done = []
    for p in map(Path, paths):
        if not p.is_file():
            raise UserError(f"{p}: no such file")
        for name, given in _items(p):
            done.append(render_item(out_dir / name, outputs, **given, source=str(p), soundfont=soundfont,
                                    program=programs, sample_rate=sample_rate, voice=voice))
    return done


def render_item(stem: Path, outputs: Sequence[str], *, abc: str | None = None, piece=None, stream=None,
                midi: str | Path | None = None, source: str = "", title: str | None = None,
                soundfont: str | None = None, program: int | str | dict | None = None,
                sample_rate: int = 44100, voice=None) -> Rendered:
    """Write one piece, given as ABC text, a Piece (with `midi`, the MIDI file it was read from, whose tracks
    `mid` keeps) or a music21 stream, as stem<suffix> for each of `outputs` (see OUTPUTS, SUFFIXES).
    `program` sets the MIDI programs (see `programs`). The notation (music21) is only parsed when an output
    needs it. With `voice` (a `voice.choice.VoiceChoice`) the audio is that learned voice playing the MIDI file
    instead of a SoundFont. Failures are recorded in the result's `errors`, never raised: what could be written
    is written."""
    from ..checkpoint import write_atomic
    from ..piece import piece_from_music21, read_midi_piece
    from .abc import midi_to_abc
    from .abc_score import parse_abc_quietly
    from .audio import render_audio, write_audio
    from .midi import abc_to_midi, copy_midi, write_stream_midi
    from .pages import svg_to_pdf, svg_to_png
    from .plots import plot_piano_roll
    from .programs import set_programs
    from .sheet import musicxml_to_svg, piece_to_musicxml, write_musicxml

    def write_text(path: Path, text: str) -> Path:
        write_atomic(path, text.encode())
        return path

    r = Rendered(stem.name, source)
    cache: dict[str, object] = {}

    def notation():
        if "stream" not in cache:
            try:
                cache["stream"] = stream if stream is not None else parse_abc_quietly(abc) if abc else None
            except Exception as e:
                raise UserError(f"{source or stem}: music21 cannot read it: {one_line(e, 160)}") from None
        return cache["stream"]

    def the_piece():
        """The notes as a Piece: given, or read back from the MIDI written (what is heard), else from music21."""
        if piece is not None:
            return piece
        if "piece" not in cache:
            try:
                written = cache.get("mid")
                cache["piece"] = read_midi_piece(written) if written else piece_from_music21(notation(), source=source)
            except UserError:
                raise
            except Exception as e:
                raise UserError(f"{source or stem}: cannot read its notes: {one_line(e, 160)}") from None
        return cache["piece"]

    def write_mid(path: Path) -> Path:
        """The MIDI file with the source's own tracks and programs, then `program` set in it."""
        if abc is not None:
            abc_to_midi(abc, path)
        elif midi is not None:
            copy_midi(Path(midi), path)
        elif stream is not None:
            write_stream_midi(stream, path)
        else:
            piece.write_midi(path)
        try:
            return set_programs(path, program, name=source or path)
        except UserError:
            path.unlink(missing_ok=True)  # audio must not be made with the programs not asked for
            raise

    def audio():
        if "audio" not in cache:
            cache["audio"] = render_audio(mid, soundfont=Path(soundfont) if soundfont else None,
                                          sample_rate=sample_rate, voice=voice)
        return cache["audio"]

    def sheet_pages() -> list[Path]:
        pages, r.measures = musicxml_to_svg(xml, svg)
        return pages

    with tempfile.TemporaryDirectory() as tmp:

        def path(what: str) -> Path:
            """Where an output goes: next to `stem` when asked for, in the scratch folder when only needed."""
            return (
                stem.with_name(stem.name + SUFFIXES[what]) if what in outputs else Path(tmp) / f"piece{SUFFIXES[what]}"
            )

        mid, xml, svg = path("mid"), path("musicxml"), path("svg")
        steps = {
            "mid": lambda: write_mid(mid),
            "wav": lambda: write_audio(path("wav"), *audio()),
            "flac": lambda: write_audio(path("flac"), *audio()),
            "musicxml": lambda: (
                write_musicxml(notation(), xml)
                if abc is not None or stream is not None
                else piece_to_musicxml(piece, xml, title=stem.name if title is None else title)
            ),
            "svg": sheet_pages,
            "png": lambda: svg_to_png(cache["svg"], path("png")),
            "pdf": lambda: svg_to_pdf(cache["svg"], path("pdf")),
            "abc": lambda: (
                write_text(path("abc"), abc) if abc is not None else midi_to_abc(mid, path("abc"), title=stem.name)
            ),
            "roll": lambda: plot_piano_roll(the_piece(), path("roll"), title=stem.name if title is None else title),
        }
        needed = set(outputs)
        for what in reversed(OUTPUTS):  # a need's own need comes earlier in OUTPUTS
            if what in needed and what in NEEDS and not (what == "abc" and abc is not None):
                needed.add(NEEDS[what])
        for what in OUTPUTS:
            if what not in needed:
                continue
            if NEEDS.get(what) in r.errors and not (what == "abc" and abc is not None):
                r.errors[what] = f"not written: it is made from the {NEEDS[what]} output, which failed"
                continue
            try:
                result = steps[what]()
            except UserError as e:
                r.errors[what] = str(e)
                continue
            except Exception as e:  # a library failing on one odd piece costs that output, not the others
                r.errors[what] = f"{source or stem}: {what} failed: {one_line(e, 180, named=True)}"
                continue
            cache[what] = result
            if what in outputs:
                r.files[what] = [str(x) for x in (result if isinstance(result, list) else [result])]
    return r
