"""Rendering: ABC -> MIDI (`abc_to_midi`), track programs (`programs`), MIDI -> WAV or FLAC (`midi_to_audio`,
also `midi_to_wav`), MusicXML and SVG sheet music (`sheet`) and its PNG and PDF pages (`pages`), pictures
(`plots`); `files.render_files` is `rnnmusic render`.

External tools (abc2midi, fluidsynth, a General MIDI SoundFont) are used when installed; without them
the code degrades to music21 / a built-in numpy synthesizer with one `MissingToolWarning`. Set
``RNNMUSIC_NO_ABC2MIDI=1`` or ``RNNMUSIC_NO_FLUIDSYNTH=1`` to hide a tool (see the submodules).
"""
from .audio import find_fluidsynth, find_soundfont, midi_to_audio, midi_to_wav, read_wav, synth_notes
from .midi import DEFAULT_PROGRAM, MissingToolWarning, abc_to_midi, find_abc2midi
from .programs import parse_programs, set_programs

__all__ = [
    "DEFAULT_PROGRAM",
    "MissingToolWarning",
    "abc_to_midi",
    "find_abc2midi",
    "find_fluidsynth",
    "find_soundfont",
    "midi_to_audio",
    "midi_to_wav",
    "parse_programs",
    "read_wav",
    "set_programs",
    "synth_notes",
]
