"""results.json of measure.py -> results.md: each figure beside its target, for every row."""
from __future__ import annotations

TARGETS = [  # (key, label, target, passes)
    ("abc2midi_clean", "abc2midi, no error lines", ">= 97%", lambda v: v >= 0.97),
    ("bars_ok", "every inner bar of the meter's length (abc2midi's count)", ">= 90%", lambda v: v >= 0.90),
    ("median_bars", "median written bars", ">= 16", lambda v: v >= 16),
    ("two_sections", "two or more sections", ">= 90%", lambda v: v >= 0.90),
    ("tonic_end", "ends on the tonic", ">= 85%", lambda v: v >= 0.85),
    ("copies_over_4_bars", "copy more than 4 bars of a training tune", "< 2%", lambda v: v < 0.02),
    ("share_4_bars", "tunes sharing 4 bars with another of the same row", "0", lambda v: v == 0),
]


def _fmt(key: str, v) -> str:
    if v is None:
        return "-"
    if key in ("median_bars", "share_4_bars"):
        return f"{v:g}"
    return f"{100 * v:.1f}%"


def markdown(results: dict) -> str:
    rows = [k for k in results if not k.startswith("_")]
    model = rows[-1]
    lines = ["# Folk tunes: generated against real", "",
             f"Command: `{results.get('_command', '')}` ({results.get('_seconds', '?')} s). "
             "Each row is measured by the same code (`tune_metrics.py`).", "",
             "| figure | target | " + " | ".join(rows) + " | model |",
             "|---|---|" + "---|" * len(rows) + "---|"]
    for key, label, target, ok in TARGETS:
        cells = [_fmt(key, results[r].get(key)) for r in rows]
        v = results[model].get(key)
        verdict = "-" if v is None else ("PASS" if ok(v) else "FAIL")
        lines.append(f"| {label} | {target} | " + " | ".join(cells) + f" | {verdict} |")
    lines += ["", "## Written bars by tune type (tunes, median bars)", "",
              "| type | " + " | ".join(rows) + " |", "|---|" + "---|" * len(rows)]
    types = []
    for r in rows:
        types += [t for t in results[r]["bars_by_type"] if t not in types]
    for t in types:
        cells = []
        for r in rows:
            n_med = results[r]["bars_by_type"].get(t)
            cells.append(f"{n_med[0]}, {n_med[1]:g}" if n_med else "-")
        lines.append(f"| {t} | " + " | ".join(cells) + " |")
    req = results.get("_requests") or {}
    if req:
        lines += ["", "## Requests: share of tunes that honour each (target >= 95%)", "",
                  "| request | honoured | verdict |", "|---|---|---|"]
        for name, r in req.items():
            if "error" in r:
                lines.append(f"| {name} | error: {r['error']} | FAIL |")
            else:
                lines.append(f"| {name} | {100 * r['honoured']:.0f}% | {'PASS' if r['honoured'] >= 0.95 else 'FAIL'} |")
    return "\n".join(lines) + "\n"
