"""Write scoring results: a results JSON and a Markdown table in the paper's column order."""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Iterable

from ..errors import DfecError

__all__ = ["write_results", "markdown_table", "COLUMNS"]

#: (results key, column title) in the paper's FEC-Bench table order
COLUMNS = (
    ("correctness", "Correctness"),
    ("detail", "Detail"),
    ("context", "Context"),
    ("temporal", "Temporal"),
    ("consistency", "Consistency"),
    ("cider", "CIDEr"),
    ("rouge_l", "ROUGE-L"),
    ("autodq", "AutoDQ"),
    ("tem", "TEM"),
)


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{v:.3f}"


def markdown_table(rows: Iterable[dict], names: Iterable[str] | None = None) -> str:
    """A Markdown table with one row per results dict (name from ``results["name"]``)."""
    rows = list(rows)
    names = list(names) if names is not None else [r.get("name") or f"model {i + 1}" for i, r in enumerate(rows)]
    head = "| Model | " + " | ".join(t for _, t in COLUMNS) + " | n scored | n failed |"
    sep = "|---|" + "---:|" * (len(COLUMNS) + 2)
    lines = [head, sep]
    for name, r in zip(names, rows):
        m = r.get("metrics", {})
        lines.append(
            f"| {name} | " + " | ".join(_fmt(m.get(k)) for k, _ in COLUMNS)
            + f" | {r.get('n_scored', '-')} | {r.get('n_failed', '-')} |"
        )
    return "\n".join(lines) + "\n"


def _markdown(results: dict) -> str:
    j = results.get("judge", {}) or {}
    ex = results.get("extra_metrics", {}) or {}
    out = ["# FEC-Bench scores", "", markdown_table([results]), ""]
    out.append(
        f"Judge: {j.get('name', '-')} ({j.get('model', '-')}); prompt versions: "
        + ", ".join(f"{k}={v}" for k, v in (j.get("prompt_versions") or {}).items())
    )
    if j.get("name") != "offline":
        out.append(
            f"Judge calls: {j.get('api_calls', 0)} API, {j.get('cache_hits', 0)} cache hits; tokens: "
            f"{j.get('prompt_tokens', 0)} prompt + {j.get('completion_tokens', 0)} completion"
            + (f"; cost ${j['cost_usd']:.4f}" if j.get("cost_usd") is not None else "")
        )
    out.append(
        f"LCS/|E_G| (paper) {_fmt(ex.get('lcs'))}; LCS/|E_R| (variant) {_fmt(ex.get('lcs_ref'))}; "
        f"TEM with LCS/|E_R| {_fmt(ex.get('tem_ref'))}; AutoDQ P {_fmt(ex.get('autodq_precision'))}, "
        f"R {_fmt(ex.get('autodq_recall'))}"
    )
    out.append(
        f"References {results.get('n_references')}, predictions {results.get('n_predictions')}, scored "
        f"{results.get('n_scored')}, failed {results.get('n_failed')}, missing {results.get('n_missing')}, "
        f"extra {results.get('n_extra')}"
    )
    for key in ("missing_ids", "extra_ids", "failed_ids"):
        ids = results.get(key) or []
        if ids:
            shown = ", ".join(map(str, ids[:20])) + (f", ... ({len(ids)} in all)" if len(ids) > 20 else "")
            out.append(f"{key.replace('_', ' ')}: {shown}")
    return "\n".join(out) + "\n"


def write_results(results: dict, out_path) -> tuple[Path, Path]:
    """Write ``results`` to ``out_path`` (JSON) and the Markdown table beside it (same stem, ``.md``).

    Files are written atomically (temporary file + rename). Returns (json path, markdown path).
    """
    path = Path(out_path)
    md_path = path.with_suffix(".md") if path.suffix.lower() != ".md" else path.with_name(path.stem + ".table.md")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        for p, text in ((path, json.dumps(results, indent=2, ensure_ascii=False, default=_default)),
                        (md_path, _markdown(results))):
            tmp = p.with_name(p.name + ".tmp")
            tmp.write_text(text)
            os.replace(tmp, p)
    except OSError as exc:
        raise DfecError(f"cannot write results ({exc.strerror or exc})", path) from None
    return path, md_path


def _default(o):
    try:
        import numpy as np

        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"{type(o).__name__} is not JSON serialisable")
