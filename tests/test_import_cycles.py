"""The package's import graph has no cycles, its modules stay short, and the model knows nothing of encodings.

Read from the source with `ast` (nothing is imported): every import of another rnnmusic module is an edge,
relative or absolute, at module level or inside a function or class. `from X import y` is an edge to the
module X.y when y is a submodule, else to X; an edge to a package is an edge to its `__init__`. Imports under
`if TYPE_CHECKING:` never run and are not edges.
"""
from __future__ import annotations

import ast
from collections import deque
from functools import cache
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "rnnmusic"
MAX_LINES = 420


def _module_files() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package (a package is named by its __init__)."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """ids of the nodes inside `if TYPE_CHECKING:` blocks."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                skip.update(id(n) for n in ast.walk(child))
    return skip


def _edges(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The rnnmusic modules that module `name` (its source at `path`) imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    skip = _type_checking_nodes(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
    edges = set()
    for target in found:
        while target and target not in modules:  # `import rnnmusic.a.b.name`-style leftovers: the nearest module
            target = target.rpartition(".")[0]
        if target and target != name:
            edges.add(target)
    return edges


@cache
def import_graph() -> dict[str, set[str]]:
    """Module -> the rnnmusic modules it imports (read once per test session; do not modify)."""
    modules = _module_files()
    return {name: _edges(name, path, modules) for name, path in modules.items()}


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's components with more than one module (iterative, so deep graphs are fine)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    comp.append(top)
                    if top == node:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return sorted(out)


def _shortest_cycle(graph: dict[str, set[str]], start: str, members: set[str]) -> list[str]:
    """The shortest path start -> ... -> start inside one component."""
    parent = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for nxt in sorted(graph[node] & members):
            if nxt == start:
                path = [node]
                while parent[path[-1]] is not None:
                    path.append(parent[path[-1]])
                return path[::-1] + [start]
            if nxt not in parent:
                parent[nxt] = node
                queue.append(nxt)
    return [start]


def import_cycles(graph: dict[str, set[str]]) -> list[str]:
    """One line per distinct cycle: the shortest cycle through each module of each cyclic component."""
    lines = []
    for comp in _strongly_connected(graph):
        seen = set()
        for start in comp:
            cycle = _shortest_cycle(graph, start, set(comp))[:-1]
            i = cycle.index(min(cycle))
            key = tuple(cycle[i:] + cycle[:i])
            if key not in seen:
                seen.add(key)
                lines.append(" -> ".join(key + key[:1]))
    return lines


def test_the_graph_reader_sees_every_kind_of_import(tmp_path):
    graph = import_graph()
    assert "rnnmusic" in graph and "rnnmusic.corpus" in graph and "rnnmusic.corpus.abc" in graph
    assert "rnnmusic.config" in graph["rnnmusic.trainer"]  # plain relative imports are edges
    src = tmp_path / "mod.py"
    src.write_text("from typing import TYPE_CHECKING\nfrom . import sub, CONSTANT\nfrom ..corpus import load_abc\n"
                   "if TYPE_CHECKING:\n    from ..model import MusicRNN\n"
                   "def f():\n    import rnnmusic.render.abc\n    from rnnmusic.keys import parse_key\n")
    modules = dict.fromkeys(["rnnmusic", "rnnmusic.pkg", "rnnmusic.pkg.mod", "rnnmusic.pkg.sub", "rnnmusic.corpus",
                             "rnnmusic.model", "rnnmusic.render", "rnnmusic.render.abc", "rnnmusic.keys"], src)
    assert _edges("rnnmusic.pkg.mod", src, modules) == {
        "rnnmusic.pkg.sub", "rnnmusic.pkg", "rnnmusic.corpus", "rnnmusic.render.abc", "rnnmusic.keys"}
    fake = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"f"}, "f": {"e"}}
    assert import_cycles(fake) == ["a -> b -> c -> a", "e -> f -> e"]


def test_no_import_cycles():
    cycles = import_cycles(import_graph())
    assert not cycles, f"{len(cycles)} import cycle(s) in src/rnnmusic:\n" + "\n".join(cycles)


def test_no_module_over_420_lines():
    long = {str(p.relative_to(SRC.parent)): n for p in sorted(PACKAGE.rglob("*.py"))
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: " + ", ".join(f"{p} ({n})" for p, n in long.items())


def test_the_model_imports_no_encoding():
    graph = import_graph()
    model = {m for m in graph if m == "rnnmusic.model" or m.startswith("rnnmusic.model.")}
    assert model, "src/rnnmusic/model.py not found"
    bad = sorted((m, t) for m in model for t in graph[m]
                 if t == "rnnmusic.encodings" or t.startswith("rnnmusic.encodings."))
    assert not bad, "the model imports encodings: " + ", ".join(f"{m} -> {t}" for m, t in bad)
