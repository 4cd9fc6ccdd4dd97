"""Every ```python example in README.md and docs/**/*.md runs as written: each block, verbatim, in a fresh
interpreter in an empty temporary folder, must exit 0. Blocks fenced as ```python no-run are shown, not run."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TIMEOUT = 120
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<ticks>`{3,}|~{3,})[ \t]*(?P<info>[^`\n]*)$")


def python_blocks(path: Path) -> list[tuple[int, str]]:
    """(line number of the opening fence, code) of each ```python block in a Markdown file, but ```python no-run."""
    blocks, lines = [], path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        info, start, indent = m["info"].strip().split(), i + 1, len(m["indent"])
        end = i + 1
        while end < len(lines) and not re.match(rf"^[ \t]*{re.escape(m['ticks'])}[`~]*[ \t]*$", lines[end]):
            end += 1
        if info[:1] == ["python"] and "no-run" not in info[1:]:
            blocks.append((start, "\n".join(line[indent:] for line in lines[i + 1:end]) + "\n"))
        i = end + 1
    return blocks


def _markdown_files() -> list[Path]:
    files = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
    return [f for f in files if f.is_file()]


EXAMPLES = [(f, line, code) for f in _markdown_files() for line, code in python_blocks(f)]


def test_the_block_reader(tmp_path):
    md = tmp_path / "x.md"
    md.write_text("text\n```python\nprint(1)\n```\n```python no-run\nraise SystemExit(1)\n```\n"
                  "```bash\nls\n```\n  ```python\n  x = 2\n  ```\n````markdown\n```python\nnested\n```\n````\n")
    assert python_blocks(md) == [(2, "print(1)\n"), (11, "x = 2\n")]


@pytest.mark.slow
@pytest.mark.parametrize("path, line, code", EXAMPLES,
                         ids=[f"{f.relative_to(REPO)}:{line}" for f, line, _ in EXAMPLES])
def test_example_runs(path, line, code, tmp_path):
    env = dict(os.environ, PYTHONUNBUFFERED="1")  # PYTHONPATH and the rest as the tests run
    try:
        r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                           timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{path.relative_to(REPO)}:{line}: still running after {TIMEOUT} s")
    assert r.returncode == 0, f"{path.relative_to(REPO)}:{line} exited {r.returncode}:\n{r.stderr[-3000:]}"
