"""ABC documents: a generated or cleaned tune body made into a complete, numbered tune."""
from __future__ import annotations


def tune_document(body: str, number: int = 1, title: str | None = None) -> str:
    """`X:` (and `T:`) lines followed by the tune (header fields M:/L:/K: then notes), newline-terminated."""
    lines = [f"X:{number}"]
    if title:
        lines.append(f"T:{title}")
    text = "\n".join(lines) + "\n" + body.strip("\n") + "\n"
    return text


def tunebook(bodies: list[str], title: str | None = None) -> str:
    """Several tunes in one .abc file, separated by blank lines."""
    return "\n".join(tune_document(b, i + 1, f"{title} {i + 1}" if title else None) for i, b in enumerate(bodies))


def midi_to_abc(midi_path, abc_path, *, title: str = "", timeout: float = 30.0):
    """Transcribe a MIDI file to ABC with abcmidi's midi2abc (key guessed, `title` as T:). UserError when
    midi2abc is missing (Debian package abcmidi; hidden with RNNMUSIC_NO_ABC2MIDI=1 like abc2midi), fails or
    times out. Returns the ABC path, written atomically."""
    import shutil
    import subprocess
    import tempfile
    from pathlib import Path

    from ..checkpoint import write_atomic
    from ..errors import UserError
    from .midi import ENV_NO_ABC2MIDI, env_flag

    midi_path, abc_path = Path(midi_path), Path(abc_path)
    exe = None if env_flag(ENV_NO_ABC2MIDI) else shutil.which("midi2abc")
    if exe is None:
        raise UserError(f"{abc_path}: midi2abc is not installed (Debian package abcmidi); no ABC written")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "tune.abc"
        try:
            proc = subprocess.run([exe, "-f", str(midi_path), "-gk", "-o", str(out)], capture_output=True, text=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            raise UserError(f"{midi_path}: midi2abc took more than {timeout:g} s") from None
        if proc.returncode != 0 or not out.is_file():
            why = (proc.stderr.strip() or proc.stdout.strip() or "no output").splitlines()[-1]
            raise UserError(f"{midi_path}: midi2abc cannot transcribe it: {why}")
        lines = out.read_text(errors="replace").splitlines()
    lines = [f"T:{title}" if ln.startswith("T:") and title else ln for ln in lines]
    write_atomic(abc_path, ("\n".join(lines) + "\n").encode())
    return abc_path
