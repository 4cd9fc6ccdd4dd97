"""Rendering: ABC -> MIDI (`abc_to_midi`), MIDI -> WAV (`midi_to_wav`), MusicXML and SVG sheet music
(`sheet`), pictures (`plots`); `files.render_files` is `rnnmusic render`.

External tools (abc2midi, fluidsynth, a General MIDI SoundFont) are used when installed; without them
the code degrades to music21 / a built-in numpy synthesizer with one `MissingToolWarning`. Set
``RNNMUSIC_NO_ABC2MIDI=1`` or ``RNNMUSIC_NO_FLUIDSYNTH=1`` to hide a tool (see the submodules).
"""
from .audio import find_fluidsynth, find_soundfont, midi_to_wav, read_wav, synth_notes
from .midi import DEFAULT_PROGRAM, MissingToolWarning, abc_to_midi, find_abc2midi

__all__ = [
    "DEFAULT_PROGRAM",
    "MissingToolWarning",
    "abc_to_midi",
    "find_abc2midi",
    "find_fluidsynth",
    "find_soundfont",
    "midi_to_wav",
    "read_wav",
    "synth_notes",
]
