"""The polyphonic benchmark (Boulanger-Lewandowski et al. 2012): our models beside the published table.

    .venv/bin/python bench/polyphonic/polyphonic.py run [--only LABEL ...] [--runs DIR]   # train + score each row
    .venv/bin/python bench/polyphonic/polyphonic.py table [--runs DIR]                   # writes results/polyphonic.md

Every row is one `rnnmusic benchmark polyphonic` command (listed in ROWS, printed in the table), run with
one thread per process so two rows can share the two cores of the reference machine. `run` skips rows
whose run folder already holds a benchmark.json and resumes interrupted ones (the command resumes a run
folder that exists). `table` reads RUNS/<label>/benchmark.json and writes bench/polyphonic/results/polyphonic.md and
polyphonic.json; rows not yet run are listed as such. The data folder is ../shared/data/polyphonic_boulanger2012
unless --data says otherwise.
"""
from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/: the shared helpers in bench/_common
from _common.machine import machine_info, results_dir

RESULTS = results_dir("polyphonic")  # bench/polyphonic/results

ROOT = Path(__file__).resolve().parents[2]  # the repository
DATA = ROOT.parent / "shared" / "data" / "polyphonic_boulanger2012"
DATASETS = ("jsb", "nottingham", "musedata", "piano")
NAMES = {"jsb": "JSB", "nottingham": "Nottingham", "musedata": "MuseData", "piano": "Piano-midi"}

# Published test NLL (nats per frame): Boulanger-Lewandowski et al. 2012 Table 1; Chung et al. 2014 (GRU,
# LSTM on JSB); Bai et al. 2018 (TCN, LSTM on Nottingham).
PUBLISHED = [
    ("Note 1-gram (Boulanger 2012)", {"jsb": 11.06, "nottingham": 10.25, "musedata": 11.51, "piano": 11.05}),
    ("RNN (Boulanger 2012)", {"jsb": 8.71, "nottingham": 4.46, "musedata": 8.13, "piano": 8.37}),
    ("RNN-RBM (Boulanger 2012)", {"jsb": 6.27, "nottingham": 2.39, "musedata": 6.01, "piano": 7.09}),
    ("RNN-NADE, HF (Boulanger 2012)", {"jsb": 5.56, "nottingham": 2.31, "musedata": 5.60, "piano": 7.05}),
    ("GRU (Chung 2014)", {"jsb": 8.54}),
    ("LSTM (Chung 2014)", {"jsb": 8.67}),
    ("TCN (Bai 2018)", {"jsb": 8.10, "nottingham": 3.07}),
    ("LSTM (Bai 2018)", {"nottingham": 3.29}),
]
GOAL = {"jsb": 5.5, "nottingham": 2.3, "musedata": 5.6, "piano": 7.0}

_COMMON = ("--epochs 300 --lr 1e-3 --seq-len 200 --lr-schedule plateau --warmup-steps 0 --sample-every 0 "
           "--threads 1 --dropout 0.3 --embed 128 --layers 1 --lr-patience 3")
_NADE = f"{_COMMON} --head nade --hidden 256 --nade-hidden 150"
_SIG = f"{_COMMON} --head sigmoid --batch-size 8 --patience 25 --max-minutes 10"
# label -> (dataset, what it is, flags after `--dataset D --data FOLDER --out RUN`)
ROWS: dict[str, tuple[str, str, str]] = {
    "jsb_nade": ("jsb", "LSTM 1x256 + NADE(150)", f"{_NADE} --batch-size 8 --patience 25"),
    "jsb_nade_aug": ("jsb", "LSTM 1x256 + NADE(150), +/-6 semitone copies",
                     f"{_NADE} --batch-size 8 --patience 20 --augment-keys 6 --max-minutes 25"),
    "jsb_lstm_sig": ("jsb", "LSTM 1x256 + sigmoid", f"{_SIG} --cell lstm --hidden 256"),
    "jsb_gru_sig": ("jsb", "GRU 1x300 + sigmoid", f"{_SIG} --cell gru --hidden 300"),
    "jsb_rnn_sig": ("jsb", "RNN (tanh) 1x550 + sigmoid", f"{_SIG} --cell rnn --hidden 550"),
    "jsb_mse1024": ("jsb", "preset roll-mse-1024 (LSTM 1x1024, MSE, RMSprop)",
                    "--preset roll-mse-1024 --epochs 300 --patience 15 --sample-every 0 --threads 1 --max-minutes 15"),
    "nott_nade": ("nottingham", "LSTM 1x256 + NADE(150)", f"{_NADE} --batch-size 16 --patience 10 --max-minutes 40"),
    "muse_nade": ("musedata", "LSTM 1x256 + NADE(150)", f"{_NADE} --batch-size 16 --patience 10 --max-minutes 35"),
    "piano_nade": ("piano", "LSTM 1x256 + NADE(150)", f"{_NADE} --batch-size 8 --patience 10 --max-minutes 30"),
    "nott_nade_aug": ("nottingham", "LSTM 1x256 + NADE(150), +/-6 semitone copies",
                      f"{_NADE} --batch-size 16 --patience 10 --augment-keys 6 --max-minutes 30"),
    "muse_nade_aug": ("musedata", "LSTM 1x256 + NADE(150), +/-6 semitone copies",
                      f"{_NADE} --batch-size 16 --patience 10 --augment-keys 6 --max-minutes 30"),
    "piano_nade_aug": ("piano", "LSTM 1x256 + NADE(150), +/-6 semitone copies",
                       f"{_NADE} --batch-size 8 --patience 10 --augment-keys 6 --max-minutes 30"),
}


def command(label: str, data: Path, runs: Path) -> list[str]:
    dataset, _, flags = ROWS[label]
    return ["rnnmusic", "benchmark", "polyphonic", "--dataset", dataset, "--data", str(data),
            "--out", str(runs / label), *shlex.split(flags)]


def run(labels: list[str], data: Path, runs: Path) -> None:
    exe = Path(sys.executable).parent / "rnnmusic"
    for label in labels:
        if (runs / label / "benchmark.json").exists():
            print(f"{label}: done already ({runs / label}/benchmark.json)")
            continue
        cmd = command(label, data, runs)
        print(" ".join(cmd), flush=True)
        subprocess.run([str(exe), *cmd[1:]], check=True)


def _fmt(x: float | None) -> str:
    return "" if x is None else f"{x:.2f}"


def _shown(path: Path) -> str:
    """The path relative to the repository when it is near it (as the README's commands write it)."""
    import os

    rel = os.path.relpath(path.resolve(), ROOT)
    return rel if rel.count("..") <= 1 else str(path)


def table(runs: Path, data: Path) -> str:
    rows, missing = [], []
    for label, (_dataset, what, _flags) in ROWS.items():
        path = runs / label / "benchmark.json"
        if not path.exists():
            missing.append(label)
            continue
        r = json.loads(path.read_text())
        rows.append({"label": label, "what": what, **r,
                     "command": " ".join(command(label, Path("DATA"), Path("RUNS")))})
    lines = ["# Polyphonic benchmark: test NLL (nats per frame, lower is better)", "",
             "Metric as Boulanger-Lewandowski et al. (2012) define it: the negative log-likelihood of each test "
             "frame (88 pitches), averaged over all test frames pooled across pieces, first frame included, no "
             "padding counted. Our note 1-gram reproduces the paper's to two decimals (tests/test_polyphonic.py). "
             "Early stopping on the standard validation split; the test split is scored once, with the best "
             "validation weights.", "",
             "| model | params | JSB | Nottingham | MuseData | Piano-midi |", "|---|---|---|---|---|---|"]
    for name, nll in PUBLISHED:
        lines.append(f"| {name} | | " + " | ".join(_fmt(nll.get(d)) for d in DATASETS) + " |")
    lines.append("| **goal (issue 4)** | | " + " | ".join(f"<= {GOAL[d]}" for d in DATASETS) + " |")
    merged: dict[str, dict] = {}  # one line per configuration, its datasets side by side
    for r in rows:
        merged.setdefault(r["what"], {"parameters": r["parameters"]})[r["dataset"]] = r["test_nll"]
    for what, m in merged.items():
        cells = [(f"**{m[d]:.2f}**" + (" (goal met)" if m[d] <= GOAL[d] else "")) if d in m else "" for d in DATASETS]
        lines.append(f"| ours: {what} | {m['parameters']:,} | " + " | ".join(cells) + " |")
    lines += ["", "## Our runs", "",
              "| row | dataset | test NLL | test acc. | valid NLL | params | best epoch / epochs | stopped | "
              "train time | threads |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        epochs = r.get("epochs", "")
        lines.append(
            f"| {r['label']} | {NAMES[r['dataset']]} | {r['test_nll']:.3f} | {r['test_frame_accuracy']:.3f} | "
            f"{r['valid_nll']:.3f} | {r['parameters']:,} | {r['best_epoch']} / {epochs} | {r['stopped']} | "
            f"{r.get('train_seconds', r['session_seconds']) / 60:.1f} min | {r.get('threads', 1)} |")
    lines += ["", "Frame accuracy is TP/(TP+FP+FN) of each head's most likely frame (threshold 0.5; NADE decides "
              "pitches low to high). The mse head is scored by reading its outputs as probabilities clipped to "
              "[0.001, 0.999] (`MseHead.nll`).", "", "## Commands", "",
              f"DATA = {_shown(data)}; RUNS = the run folders (`bench/polyphonic/polyphonic.py run --runs RUNS`).", ""]
    for r in rows:
        lines += [f"- `{r['label']}`: `{r['command']}`"]
    if missing:
        lines += ["", "Not run yet: " + ", ".join(f"`{m}`" for m in missing)]
    info = machine_info()
    lines += ["", f"Machine: {info['cpu']}, {info['cores']} cores, {info['platform']}, Python {info['python']}; "
              "no GPU; each run one thread."]
    (RESULTS / "polyphonic.json").write_text(json.dumps({"machine": info, "rows": rows}, indent=2) + "\n")
    text = "\n".join(lines) + "\n"
    (RESULTS / "polyphonic.md").write_text(text)
    return text


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=["run", "table"])
    ap.add_argument("--only", nargs="*", choices=list(ROWS), help="rows to run (default all)")
    ap.add_argument("--runs", type=Path, default=ROOT / "runs" / "polyphonic", help="folder of run folders")
    ap.add_argument("--data", type=Path, default=DATA)
    a = ap.parse_args()
    if a.what == "run":
        run(a.only or list(ROWS), a.data, a.runs)
    print(table(a.runs, a.data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
