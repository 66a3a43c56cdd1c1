"""``dfec bench table``: the FEC-Bench leaderboard in the layout of the paper's Table 1.

Columns, in the paper's order: Correctness, Detail, Context, Temporal (LLM-judge scores, 0-5), CIDEr,
ROUGE-L, AutoDQ and TEM. Each run folder (``dfec bench run --out DIR``) contributes one row from its
``results.json``; ``--paper`` appends the published rows from ``paper_table1.json`` as labelled
reference rows. Writes ``table.md``, ``table.csv`` and one PNG bar chart per metric
(``charts/<metric>.png``).
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DfecError
from ..userfiles import read_json

#: (column title, key under results["metrics"]) in the order of the paper's Table 1
COLUMNS: list[tuple[str, str]] = [
    ("Correctness", "correctness"),
    ("Detail", "detail"),
    ("Context", "context"),
    ("Temporal", "temporal"),
    ("CIDEr", "cider"),
    ("ROUGE-L", "rouge_l"),
    ("AutoDQ", "autodq"),
    ("TEM", "tem"),
]
JUDGE_KEYS = {"correctness", "detail", "context", "temporal"}
PAPER_TABLE = Path(__file__).with_name("paper_table1.json")


@dataclass
class Row:
    label: str
    values: dict[str, float | None]
    source: str = "run"  # "run" or "paper"
    path: str | None = None
    n: int | None = None
    extra: dict = field(default_factory=dict)


def _num(v) -> float | None:
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def load_run(path: str | Path) -> Row:
    """One row from a run folder (or its ``results.json``)."""
    p = Path(path)
    f = p / "results.json" if p.is_dir() else p
    if not f.is_file():
        raise DfecError("no results.json (run `dfec bench run` to completion first)", p)
    res = read_json(f)
    if not isinstance(res, dict) or not isinstance(res.get("metrics"), dict):
        raise DfecError("no 'metrics' object in results", f)
    bench = res.get("bench") or {}
    label = str(bench.get("model") or (p.name if p.is_dir() else p.parent.name))
    if bench.get("icl_examples") and not label.endswith("*"):
        label += "*"
    vals = {k: _num(res["metrics"].get(k)) for _, k in COLUMNS}
    n = bench.get("n_predicted", res.get("n_scored"))
    return Row(label, vals, "run", str(f), n if isinstance(n, int) else None)


def load_paper_rows(path: str | Path = PAPER_TABLE) -> tuple[list[Row], dict]:
    """The published reference rows (may be an empty list when the numbers were not available)."""
    p = Path(path)
    if not p.is_file():
        raise DfecError("no such paper table file", p)
    data = read_json(p)
    meta = {k: v for k, v in data.items() if k != "rows"}
    secondary = bool(meta.get("secondary_source"))
    rows = []
    for r in data.get("rows", []):
        vals = {k: _num(r.get(k)) for _, k in COLUMNS}
        rows.append(Row(f"{r['model']} (paper)", vals, "paper",
                        extra={"group": r.get("group"), "secondary_source": secondary}))
    return rows, meta


def _paper_heading(rows: list[Row]) -> str:
    """How the reference rows are introduced: published numbers, and from where."""
    if any(r.extra.get("secondary_source") for r in rows if r.source == "paper"):
        return "published numbers, taken from a secondary source (see note)"
    return "published numbers (paper Table 1)"


def _unique_labels(rows: list[Row]) -> None:
    """Two runs with the same model name (e.g. two judges) get their folder name added."""
    seen: dict[str, int] = {}
    for r in rows:
        seen[r.label] = seen.get(r.label, 0) + 1
    for r in rows:
        if r.source == "run" and seen[r.label] > 1 and r.path:
            f = Path(r.path)
            r.label = f"{r.label} [{(f.parent if f.name == 'results.json' else f).name}]"


def fmt(key: str, v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:.2f}" if key in JUDGE_KEYS else f"{v:.3f}"


def to_markdown(rows: list[Row]) -> str:
    head = "| Model | " + " | ".join(t for t, _ in COLUMNS) + " |"
    sep = "|---|" + "|".join("---:" for _ in COLUMNS) + "|"
    best = _best(rows)
    lines = [head, sep]
    first_paper = next((i for i, r in enumerate(rows) if r.source == "paper"), None)
    for i, r in enumerate(rows):
        if i == first_paper:  # the reference rows are set apart and say where they come from
            lines.append(f"| *{_paper_heading(rows)}* |" + " |" * len(COLUMNS))
        cells = []
        for _, k in COLUMNS:
            s = fmt(k, r.values.get(k))
            if r.values.get(k) is not None and r.values.get(k) == best.get(k):
                s = f"**{s}**"
            cells.append(s)
        lines.append(f"| {r.label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _best(rows: list[Row]) -> dict[str, float]:
    out = {}
    for _, k in COLUMNS:
        vals = [r.values[k] for r in rows if r.values.get(k) is not None]
        if len(vals) > 1:
            out[k] = max(vals)
    return out


def write_csv(rows: list[Row], path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["model", "source"] + [t for t, _ in COLUMNS] + ["n_videos"])
        for r in rows:
            source = "paper (secondary source)" if r.extra.get("secondary_source") else r.source
            w.writerow([r.label, source] + ["" if r.values.get(k) is None else f"{r.values[k]:.4f}" for _, k in COLUMNS]
                       + ["" if r.n is None else r.n])


def plot_charts(rows: list[Row], out_dir: Path) -> list[Path]:
    """One horizontal bar chart per metric; runs in one colour, paper rows in grey."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for title, k in COLUMNS:
        data = [(r.label, r.values[k], r.source) for r in rows if r.values.get(k) is not None]
        path = out_dir / f"{k}.png"
        fig, ax = plt.subplots(figsize=(7, 0.35 * max(len(data), 2) + 1.2))
        if data:
            labels = [d[0] for d in data][::-1]
            vals = [d[1] for d in data][::-1]
            colors = ["#9e9e9e" if d[2] == "paper" else "#1f77b4" for d in data][::-1]
            ax.barh(range(len(vals)), vals, color=colors)
            ax.set_yticks(range(len(vals)), labels, fontsize=8)
            for i, v in enumerate(vals):
                ax.text(v, i, " " + fmt(k, v), va="center", fontsize=7)
            if k in JUDGE_KEYS:
                ax.set_xlim(0, 5.4)
            else:
                ax.set_xlim(0, max(max(vals) * 1.18, 0.05))
        else:
            ax.text(0.5, 0.5, "no values", ha="center", va="center", transform=ax.transAxes)
            ax.set_yticks([])
        ax.set_title(f"FEC-Bench: {title}")
        if any(d[2] == "paper" for d in data):  # say what the grey bars are, on the chart itself
            src = "published, secondary source" if any(r.extra.get("secondary_source") for r in rows) else "published"
            ax.set_title(f"FEC-Bench: {title}\n(blue: runs; grey: {src})", fontsize=9)
        ax.set_xlabel(title + (" (judge, 0-5)" if k in JUDGE_KEYS else ""))
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths


def build_table(run_paths: list[str | Path], out_dir: str | Path | None = None, paper: bool = False,
                paper_file: str | Path = PAPER_TABLE, charts: bool = True) -> tuple[str, list[Row]]:
    """Load runs (+ paper rows), write ``table.md``/``table.csv``/charts under ``out_dir``; return the Markdown."""
    if not run_paths and not paper:
        raise DfecError("no run folders given (e.g. dfec bench table runs/*)")
    rows = [load_run(p) for p in run_paths]
    _unique_labels(rows)
    note = ""
    if paper:
        prow, meta = load_paper_rows(paper_file)
        rows += prow
        note = meta.get("note") or ""
        if not prow:
            note = (note + " " if note else "") + "(no published rows in the paper table file)"
    md = "# FEC-Bench results (paper Table 1 layout)\n\n" + to_markdown(rows)
    if paper and note:
        md += f"\nPaper rows: {note}\n"
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "table.md").write_text(md, encoding="utf-8")
        write_csv(rows, out / "table.csv")
        if charts:
            plot_charts(rows, out / "charts")
    return md, rows
