"""``dfec bench table --html``: leaderboard page data, event colouring from the judge's relations."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from dfec.report.bench_html import build_page_data, event_status, run_samples

PRED = "The person smiles, and their head turns left. Their eyes close."
REF = "The person smiles, their head turns right and nods slowly."


def write_runs(tmp_path: Path) -> list[Path]:
    """Two run folders ('good', 'weak') scored against one reference file."""
    ref = tmp_path / "refs.json"
    ref.write_text(json.dumps([{"id": "1", "video": "1.mp4", "caption": REF},
                               {"id": "2", "video": "2.mp4", "caption": "Their eyes widen."}]))
    runs = []
    for name, tem in (("good", 0.6), ("weak", 0.2)):
        d = tmp_path / "runs" / name
        d.mkdir(parents=True)
        (d / "predictions.jsonl").write_text(
            json.dumps({"id": "1", "caption": PRED}) + "\n" + json.dumps({"id": "2", "caption": "Nothing."}) + "\n")
        per = {
            "1": {"failed": False, "tem": tem, "autodq": 0.5, "lcs": 0.33, "cider": 0.1, "rouge_l": 0.4,
                  "events_pred": ["the person smiles", "their head turns left", "their eyes close"],
                  "events_ref": ["the person smiles", "their head turns right", "nods slowly"],
                  "relations": [["same", "none", "none"], ["none", "Opposite", "none"], ["none", "none", "none"]]},
            "2": {"failed": True, "error": "judge timed out"},
        }
        (d / "results.json").write_text(json.dumps({
            "metrics": {"cider": 0.1, "rouge_l": 0.4, "autodq": 0.5, "tem": tem}, "per_sample": per,
            "bench": {"model": name, "n_predicted": 2, "ref": str(ref)}}))
        runs.append(d)
    return runs


def test_event_status_from_relations():
    rel = [["same", "opposite"], ["none", "opposite"], ["none", "none"]]
    assert event_status(rel, 3, 3) == (["matched", "opposite", "extra"], ["matched", "opposite", "missed"])
    assert event_status([], 0, 2) == ([], ["missed", "missed"])


def test_run_samples_pair_captions_with_references(tmp_path):
    good = write_runs(tmp_path)[0]
    s = {x["id"]: x for x in run_samples(good / "results.json")}
    assert s["1"]["pred"] == PRED and s["1"]["ref"] == REF and s["1"]["tem"] == 0.6
    assert [e["status"] for e in s["1"]["events_pred"]] == ["matched", "opposite", "extra"]
    assert [e["status"] for e in s["1"]["events_ref"]] == ["matched", "opposite", "missed"]
    assert s["2"]["failed"] and s["2"]["error"] == "judge timed out"


def test_bench_table_html_command(tmp_path):
    runs = write_runs(tmp_path)
    out = tmp_path / "table"
    res = subprocess.run([sys.executable, "-m", "dfec.cli", "bench", "table", *map(str, runs), "--paper", "--html",
                          "--no-charts", "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    html = (out / "table.html").read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    blob = html.split('<script id="bench-data" type="application/json">', 1)[1].split("</script>", 1)[0]
    data = json.loads(blob)
    labels = [r["label"] for r in data["rows"]]
    assert labels[:2] == ["good", "weak"] and any(label.endswith("(paper)") for label in labels)
    assert [c["title"] for c in data["columns"]] == ["Correctness", "Detail", "Context", "Temporal", "CIDEr",
                                                     "ROUGE-L", "AutoDQ", "TEM"]
    assert data["rows"][0]["has_samples"] and not data["rows"][-1]["has_samples"]
    assert "Rows marked (paper) are published numbers" in html
    assert len(data["samples"]["r0"]) == 2


def test_page_data_without_per_sample(tmp_path):
    from dfec.bench.table import Row

    f = tmp_path / "results.json"
    f.write_text(json.dumps({"metrics": {"tem": 0.1}}))
    data = build_page_data([Row("x", {"tem": 0.1}, "run", str(f))])
    assert data["rows"][0]["has_samples"] is False
