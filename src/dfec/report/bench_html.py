"""``dfec bench table ... --html``: the FEC-Bench leaderboard as one self-contained, sortable page.

The table has the paper's Table 1 columns (:data:`dfec.bench.table.COLUMNS`), one bar chart per
metric, and for every run a per-sample view: its caption beside the reference, with the judge's
events coloured from the per-sample relation matrix of ``results.json`` (TEM, Algorithm 1):

* a predicted event is **matched** when it is Same as some reference event, **opposite** when it
  contradicts one (and matches none), else **extra** (not in the reference);
* a reference event is **matched**, **opposite**, or **missed** (no predicted event covers it).

Captions come from the run folder's ``predictions.jsonl``; references from the file the run was
scored against (``results.json["bench"]["ref"]``, or ``--ref``), when it is still there.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..errors import DfecError
from ..userfiles import read_json

ASSETS = Path(__file__).with_name("assets")


def event_status(relations: list[list[str]], n_pred: int, n_ref: int) -> tuple[list[str], list[str]]:
    """(status of each predicted event, status of each reference event) from the relation matrix."""
    rel = [[str(v).strip().lower() for v in (relations[i] if i < len(relations) else [])] for i in range(n_pred)]

    def col(j):
        return [row[j] for row in rel if j < len(row)]

    pred = ["matched" if "same" in row else "opposite" if "opposite" in row else "extra" for row in rel]
    ref = ["matched" if "same" in col(j) else "opposite" if "opposite" in col(j) else "missed" for j in range(n_ref)]
    return pred, ref


def _predictions(folder: Path) -> dict[str, str]:
    p = folder / "predictions.jsonl"
    if not p.is_file():
        return {}
    from ..jsonl import read_jsonl

    return {str(r.get("id")): str(r.get("caption") or "") for r in read_jsonl(p, repair=True) if isinstance(r, dict)}


def _references(path) -> dict[str, str]:
    if not path or not Path(path).is_file():
        return {}
    from ..metrics.references import load_references

    try:
        return {r["id"]: r["caption"] for r in load_references(path)}
    except DfecError:
        return {}


def _rnd(v, nd=4):
    return None if v is None else round(float(v), nd)


def run_samples(results_path: str | Path, ref_file: str | Path | None = None) -> list[dict]:
    """Per-sample rows of one run: captions, scores and coloured events."""
    f = Path(results_path)
    res = read_json(f)
    per = res.get("per_sample") or {}
    preds = _predictions(f.parent)
    refs = _references(ref_file or (res.get("bench") or {}).get("ref"))
    out = []
    for rid, row in per.items():
        if not isinstance(row, dict):
            continue
        ev_p = [str(e) for e in row.get("events_pred") or []]
        ev_r = [str(e) for e in row.get("events_ref") or []]
        sp, sr = event_status(row.get("relations") or [], len(ev_p), len(ev_r))
        out.append({
            "id": str(rid), "pred": preds.get(str(rid)), "ref": refs.get(str(rid)), "failed": bool(row.get("failed")),
            "error": row.get("error"), "tem": _rnd(row.get("tem")), "autodq": _rnd(row.get("autodq")),
            "lcs": _rnd(row.get("lcs")), "cider": _rnd(row.get("cider")), "rouge_l": _rnd(row.get("rouge_l")),
            "scores": row.get("scores") or {},
            "events_pred": [{"text": t, "status": s} for t, s in zip(ev_p, sp)],
            "events_ref": [{"text": t, "status": s} for t, s in zip(ev_r, sr)],
        })
    return out


def build_page_data(rows, ref_file: str | Path | None = None) -> dict:
    """The page's JSON from :class:`dfec.bench.table.Row` objects."""
    from ..bench.table import COLUMNS, JUDGE_KEYS

    out_rows, samples = [], {}
    for i, r in enumerate(rows):
        key = f"r{i}"
        has = r.source == "run" and r.path and Path(r.path).is_file()
        if has:
            samples[key] = run_samples(r.path, ref_file)
        out_rows.append({"key": key, "label": r.label, "source": r.source, "n": r.n, "values": r.values,
                         "secondary": bool(r.extra.get("secondary_source")),
                         "has_samples": bool(has and samples[key])})
    return {"columns": [{"title": t, "key": k, "judge": k in JUDGE_KEYS} for t, k in COLUMNS],
            "rows": out_rows, "samples": samples}


def write_bench_html(rows, path: str | Path, ref_file: str | Path | None = None, note: str = "") -> Path:
    """Write the leaderboard page to ``path``; returns it."""
    import html

    data = build_page_data(rows, ref_file)
    if any(r.source == "paper" for r in rows):
        secondary = any(r.extra.get("secondary_source") for r in rows if r.source == "paper")
        note = (note + " " if note else "") + ("Rows marked (paper) are published numbers" +
                                               (", taken from a secondary source." if secondary else " (paper Table 1)."))
    css = (ASSETS / "bench.css").read_text(encoding="utf-8")
    js = (ASSETS / "bench.js").read_text(encoding="utf-8")
    blob = json.dumps(data, separators=(",", ":"), ensure_ascii=False).replace("</", "<\\/")
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>FEC-Bench leaderboard</title><style>{css}</style></head>
<body>
<header><h1>FEC-Bench leaderboard</h1>
<div class="meta">Columns as in the paper's Table 1: judge scores 0-5, then CIDEr, ROUGE-L, AutoDQ and TEM.
Click a column to sort; click a run to see its captions beside the references.{(" " + html.escape(note)) if note else ""}</div></header>
<section class="card"><table id="board"><thead></thead><tbody></tbody></table></section>
<section class="card"><h2>Per metric</h2><div id="charts"></div></section>
<section class="card" id="samplecard"><h2 id="sampletitle">Per-sample captions</h2>
<div class="legend"><span class="ev matched">matched</span><span class="ev opposite">opposite</span>
<span class="ev missed">missed (reference)</span><span class="ev extra">extra (prediction)</span></div>
<div class="tools"><input id="filter" placeholder="filter by id or text"> sort <select id="sort">
<option value="tem-asc">TEM, worst first</option><option value="tem-desc">TEM, best first</option>
<option value="id">id</option></select> <span id="count"></span></div>
<div id="samples"><p class="note">Click a run in the table (or its bar) to list its samples.</p></div>
<button id="more" style="display:none">show more</button></section>
<script id="bench-data" type="application/json">{blob}</script>
<script>{js}</script>
</body></html>
"""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out
