"""The public API: every name in `rnnmusic.__all__` is a function or a class, never a module, both right after
`import rnnmusic` and after every submodule has been imported (a submodule named like a function would replace
it on the package). Checked in fresh interpreters, so no other test's imports matter."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

CHECK = r"""
import importlib, inspect, json, pkgutil
import rnnmusic

def problems():
    out = []
    for name in rnnmusic.__all__:
        try:
            obj = getattr(rnnmusic, name)
        except Exception as e:
            out.append(f"{name}: does not resolve ({type(e).__name__}: {e})")
            continue
        if inspect.ismodule(obj):
            out.append(f"{name}: is the module {obj.__name__}")
        elif not (inspect.isclass(obj) or inspect.isfunction(obj) or inspect.isbuiltin(obj)):
            out.append(f"{name}: is a {type(obj).__name__}, not a function or class")
    return out

report = {"fresh": problems(), "import_errors": []}  # first, right after `import rnnmusic`
for info in pkgutil.walk_packages(rnnmusic.__path__, "rnnmusic."):
    if info.name.rsplit(".", 1)[-1] == "__main__":
        continue
    try:
        importlib.import_module(info.name)
    except Exception as e:
        report["import_errors"].append(f"{info.name}: {type(e).__name__}: {e}")
report["after_all"] = problems()
try:
    from rnnmusic import evaluate, generate, load_model, resume, sample, train
    wanted = dict(train=train, generate=generate, evaluate=evaluate, sample=sample, load_model=load_model,
                  resume=resume)
    report["named"] = [f"{k}: is a {type(v).__name__}" for k, v in wanted.items() if not inspect.isfunction(v)]
except ImportError as e:
    report["named"] = [f"from rnnmusic import ...: {e}"]
print(json.dumps(report))
"""


@pytest.fixture(scope="module")
def findings() -> dict:
    """The checks' findings, from one fresh interpreter: right after `import rnnmusic`, then after every import."""
    r = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_all_names_are_functions_or_classes_after_import_rnnmusic(findings):
    assert not findings["fresh"], "\n".join(findings["fresh"])


def test_every_submodule_imports(findings):
    assert not findings["import_errors"], "\n".join(findings["import_errors"])


def test_all_names_are_still_functions_or_classes_after_importing_every_submodule(findings):
    assert not findings["after_all"], "\n".join(findings["after_all"])


def test_the_entry_points_are_functions(findings):
    assert not findings["named"], "\n".join(findings["named"])
