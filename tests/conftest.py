import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import music21
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


ONEILLS = Path(music21.__file__).parent / "corpus" / "oneills1850" / "0001-0050.abc"
needs_abc2midi = pytest.mark.skipif(shutil.which("abc2midi") is None, reason="abc2midi (Debian abcmidi) not installed")


def oneills(number: int) -> str:
    """Tune `number` of O'Neill's 1850 as shipped with music21 (one complete tune starting with X:)."""
    text = ONEILLS.read_text(encoding="utf-8", errors="replace")
    for chunk in re.split(r"\n\s*\n(?=X:)", text):
        chunk = chunk.strip()
        if re.match(rf"X:\s*{number}\s*$", chunk.splitlines()[0]):
            return chunk + "\n"
    raise LookupError(number)


def run_cli(*args: str, timeout: float = 300, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the real `rnnmusic` command in a subprocess (as a user would)."""
    e = dict(os.environ, PYTHONUNBUFFERED="1", **(env or {}))
    return subprocess.run([sys.executable, "-m", "rnnmusic", *args], capture_output=True, text=True,
                          timeout=timeout, env=e, cwd=cwd)


@pytest.fixture
def cli():
    return run_cli
