"""``dfec bench table``: the FEC-Bench leaderboard in the layout of the paper's Table 1.

Columns, in the paper's order: Correctness, Detail, Context, Temporal (LLM-judge scores, 0-5), CIDEr,
ROUGE-L, AutoDQ and TEM. Each run folder (``dfec bench run --out DIR``) contributes one row from its
``results.json``; ``--paper`` appends the paper's Table 1 as printed (``paper_tables.json``, with TEM),
its plain rows and its in-context-learning rows (``*``) set apart. Writes ``table.md``, ``table.csv``
and one PNG bar chart per metric (``charts/<metric>.png``); with ``--paper`` also ``ablation.md``:
the runs beside the paper's Table 2 (ablation: VC avg, AutoDQ, TEM).
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
JUDGE_KEYS = {"correctness", "detail", "context", "temporal", "vc_avg"}
#: the paper's Table 1 and Table 2 as printed (a copy of the figures, packaged as data)
PAPER_TABLE = Path(__file__).with_name("paper_tables.json")
#: Table 2 (ablation) columns; VC avg is the mean of the four judge scores (the paper's "Ours" row:
#: 4.42, 4.30, 4.60, 4.26 in Table 1 -> 4.40 in Table 2)
ABLATION_COLUMNS: list[tuple[str, str]] = [("VC avg", "vc_avg"), ("AutoDQ", "autodq"), ("TEM", "tem")]
#: the paper's name for its own model, as printed in its tables
PAPER_OURS = "Ours"


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


def _paper_label(model: str) -> str:
    return ("FaceTrack-MM (Ours)" if model == PAPER_OURS else model) + " (paper)"


def _paper_tables(path: str | Path) -> dict:
    p = Path(path)
    if not p.is_file():
        raise DfecError("no such paper table file", p)
    data = read_json(p)
    if not isinstance(data, dict) or not isinstance(data.get("table1"), list):
        raise DfecError("expected a 'table1' list (the format of dfec/bench/paper_tables.json)", p)
    return data


def load_paper_rows(path: str | Path = PAPER_TABLE) -> tuple[list[Row], dict]:
    """The paper's Table 1 as printed: its plain rows, then its in-context-learning (``*``) rows.

    Returns ``(rows, meta)``; ``meta`` holds ``source`` and ``notes``.
    """
    data = _paper_tables(path)
    meta = {k: v for k, v in data.items() if not k.startswith("table")}
    rows = []
    for i, r in enumerate(data["table1"]):
        if not isinstance(r, dict) or not isinstance(r.get("model"), str):
            raise DfecError(f"table1 row {i} needs a 'model' name", path)
        icl = bool(r.get("in_context_learning"))
        rows.append(Row(_paper_label(r["model"]), {k: _num(r.get(k)) for _, k in COLUMNS}, "paper",
                        extra={"group": "icl" if icl else "plain", "llm_size": r.get("llm_size")}))
    rows.sort(key=lambda r: r.extra["group"] == "icl")  # stable: printed order within each group
    return rows, meta


def load_paper_ablation(path: str | Path = PAPER_TABLE) -> list[Row]:
    """The paper's Table 2 (ablation): one row per variant with VC avg, AutoDQ and TEM."""
    data = _paper_tables(path)
    rows = []
    for r in data.get("table2_ablation") or []:
        if isinstance(r, dict) and isinstance(r.get("variant"), str):
            rows.append(Row(_paper_label(r["variant"]), {k: _num(r.get(k)) for _, k in ABLATION_COLUMNS}, "paper"))
    return rows


_PAPER_HEADINGS = {"plain": "published: paper Table 1", "icl": "published: paper Table 1, in-context learning (*)"}


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
    group = None
    for r in rows:
        if r.source == "paper" and r.extra.get("group", "plain") != group:
            group = r.extra.get("group", "plain")  # each published group set apart, with its heading
            lines.append(f"| *{_PAPER_HEADINGS.get(group, 'published')}* |" + " |" * len(COLUMNS))
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
            source = "paper (in-context learning)" if r.extra.get("group") == "icl" else r.source
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
            ax.set_title(f"FEC-Bench: {title}\n(blue: runs; grey: published, paper Table 1)", fontsize=9)
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
    runs = list(rows)
    if paper:
        rows += load_paper_rows(paper_file)[0]
    md = "# FEC-Bench results (paper Table 1 layout)\n\n" + to_markdown(rows)
    ablation = ablation_markdown(runs, load_paper_ablation(paper_file)) if paper else ""
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "table.md").write_text(md, encoding="utf-8")
        write_csv(rows, out / "table.csv")
        if ablation:
            (out / "ablation.md").write_text(ablation, encoding="utf-8")
        if charts:
            plot_charts(rows, out / "charts")
    return md, rows


def vc_average(values: dict) -> float | None:
    """Table 2's "VC avg": the mean of the four judge scores (None unless all four are there)."""
    scores = [values.get(k) for k in ("correctness", "detail", "context", "temporal")]
    return None if any(v is None for v in scores) else sum(scores) / 4


def ablation_markdown(runs: list[Row], paper_rows: list[Row]) -> str:
    """Runs beside the paper's Table 2 (ablation), in its columns: VC avg, AutoDQ, TEM."""
    if not paper_rows:
        return ""
    lines = ["# FEC-Bench ablation (paper Table 2 layout)", "",
             "| Variant | " + " | ".join(t for t, _ in ABLATION_COLUMNS) + " |",
             "|---|" + "|".join("---:" for _ in ABLATION_COLUMNS) + "|"]
    for r in runs:
        vals = {"vc_avg": vc_average(r.values), "autodq": r.values.get("autodq"), "tem": r.values.get("tem")}
        lines.append(f"| {r.label} | " + " | ".join(fmt(k, vals[k]) for _, k in ABLATION_COLUMNS) + " |")
    lines.append("| *published: paper Table 2* |" + " |" * len(ABLATION_COLUMNS))
    for r in paper_rows:
        lines.append(f"| {r.label} | " + " | ".join(fmt(k, r.values.get(k)) for _, k in ABLATION_COLUMNS) + " |")
    return "\n".join(lines) + "\n"
