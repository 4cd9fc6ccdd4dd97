"""What machine a benchmark ran on (committed next to every result)."""
from __future__ import annotations

import contextlib
import json
import os
import platform
import subprocess
from pathlib import Path

#: bench/: each benchmark question is a folder below it, with its script(s) and a results/ folder
BENCH = Path(__file__).resolve().parent.parent


def machine_info() -> dict:
    cpu = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    return {"cpu": cpu or platform.processor(), "cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform()}


def commit() -> str:
    """The commit measured: $RNNMUSIC_COMMIT where set (a copy of the tree on a GPU machine, whose own git
    metadata, if any, is not this checkout's), else `git rev-parse`, else ''."""
    if os.environ.get("RNNMUSIC_COMMIT"):
        return os.environ["RNNMUSIC_COMMIT"]
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             cwd=Path(__file__).parent).stdout.strip()
    except OSError:
        out = ""
    return out


def results_dir(question: str) -> Path:
    """bench/QUESTION/results: where the scripts of one question write, and where the summary reads."""
    return BENCH / question / "results"


def write_results(folder: Path, name: str, result: dict, markdown: str) -> None:
    """FOLDER/NAME.json (the numbers) and FOLDER/NAME.md (the table people read), which is also printed."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    (folder / f"{name}.md").write_text(markdown)
    print(markdown)
