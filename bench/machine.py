"""What machine a benchmark ran on (committed next to every result)."""
from __future__ import annotations

import json
import os
import platform
import subprocess
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def machine_info() -> dict:
    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
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


def write_results(name: str, result: dict, markdown: str) -> None:
    """results/NAME.json (the numbers) and results/NAME.md (the table people read), which is also printed."""
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / f"{name}.md").write_text(markdown)
    print(markdown)
