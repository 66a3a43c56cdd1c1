"""``dfec bench table``: paper Table 1 layout from run folders, CSV, charts, paper rows."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dfec.bench.table import COLUMNS, PAPER_TABLE, build_table, load_paper_rows
from dfec.errors import DfecError

ORDER = ["Correctness", "Detail", "Context", "Temporal", "CIDEr", "ROUGE-L", "AutoDQ", "TEM"]


def _write_run(folder: Path, model: str, metrics: dict, icl: int = 0) -> None:
    folder.mkdir(parents=True)
    (folder / "results.json").write_text(json.dumps({
        "metrics": metrics, "n_scored": 10, "n_failed": 0, "per_sample": {},
        "bench": {"model": model, "icl_examples": icl, "n_predicted": 10},
    }))


@pytest.fixture()
def two_runs(tmp_path):
    runs = tmp_path / "runs"
    _write_run(runs / "a", "landmark", {"correctness": 3.1, "detail": 2.5, "context": 3.95, "temporal": 2.0,
                                        "cider": 0.1234, "rouge_l": 0.2, "autodq": 0.3, "tem": 0.41,
                                        "consistency": 3.0})
    # an offline-judge run: judge scores absent / None
    _write_run(runs / "b", "openai-gpt-4o", {"correctness": None, "cider": 0.25, "rouge_l": 0.15,
                                             "autodq": None, "tem": 0.5}, icl=3)
    return runs


def test_table_order_values_csv_and_charts(two_runs, tmp_path):
    (two_runs / "table").mkdir()  # an earlier output folder matched by runs/* must be ignored
    (two_runs / "table" / "table.md").write_text("old")
    out = tmp_path / "tbl"
    env = dict(os.environ)
    res = subprocess.run([sys.executable, "-m", "dfec.cli", "bench", "table", str(two_runs / "a"), str(two_runs / "b"),
                          str(two_runs / "table"), "--out", str(out)], env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    md = (out / "table.md").read_text()
    assert md in res.stdout
    header = [c.strip() for c in md.splitlines()[2].strip("|").split("|")]
    assert header == ["Model"] + ORDER
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.strip().strip("|").split("|")[1:]]
            for line in md.splitlines()[4:] if line.startswith("| ")}
    assert list(rows) == ["landmark", "openai-gpt-4o*"]  # starred: in-context examples
    assert rows["landmark"] == ["3.10", "2.50", "3.95", "2.00", "0.123", "**0.200**", "0.300", "0.410"]
    assert rows["openai-gpt-4o*"] == ["-", "-", "-", "-", "**0.250**", "0.150", "-", "**0.500**"]

    with open(out / "table.csv", newline="") as fh:
        data = list(csv.reader(fh))
    assert data[0] == ["model", "source"] + ORDER + ["n_videos"]
    assert data[1][:2] == ["landmark", "run"] and float(data[1][6]) == pytest.approx(0.1234)
    assert float(data[2][9]) == pytest.approx(0.5) and data[2][2] == ""

    from PIL import Image

    for _, key in COLUMNS:
        png = out / "charts" / f"{key}.png"
        with Image.open(png) as im:
            assert im.format == "PNG" and im.size[0] > 300


def test_paper_rows_are_labelled_and_real(two_runs, tmp_path):
    md, rows = build_table([two_runs / "a"], tmp_path / "t", paper=True, charts=False)
    paper = [r for r in rows if r.source == "paper"]
    meta_rows, meta = load_paper_rows()
    assert len(paper) == len(meta_rows)
    assert "source" in meta and "note" in meta
    if paper:
        assert all(r.label.endswith("(paper)") for r in paper)
        ft = next(r for r in paper if r.label.startswith("FaceTrack-MM"))
        # the published FaceTrack-MM row (correctness .. autodq); TEM is not in the text source
        assert [ft.values[k] for _, k in COLUMNS[:7]] == [4.42, 4.30, 4.60, 4.26, 0.418, 0.473, 0.483]
        assert "| FaceTrack-MM (paper) |" in md
        assert md.index("| landmark |") < md.index("(paper) |")  # runs first, reference rows after
        assert "Paper rows:" in md
    data = json.loads(PAPER_TABLE.read_text())
    assert data["columns"] == [k for _, k in COLUMNS]


def test_table_errors(tmp_path):
    with pytest.raises(DfecError, match="no results.json"):
        build_table([tmp_path], None)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "results.json").write_text("{not json")
    with pytest.raises(DfecError, match="not valid JSON"):
        build_table([bad], None)
    with pytest.raises(DfecError, match="no run folders"):
        build_table([], None)


def test_same_model_twice_and_secondary_source_rows_are_told_apart(tmp_path):
    """Two runs of one model (say offline vs API judge) must not share a label; the published rows
    come from a secondary source and the table, CSV and charts say so."""
    runs = tmp_path / "runs"
    _write_run(runs / "landmark_offline", "landmark", {"cider": 0.1, "rouge_l": 0.2, "autodq": 0.3, "tem": 0.3})
    _write_run(runs / "landmark_api", "landmark", {"correctness": 4.0, "cider": 0.1, "rouge_l": 0.2, "autodq": 0.1,
                                                   "tem": 0.1})
    md, rows = build_table([runs / "landmark_offline", runs / "landmark_api"], tmp_path / "t", paper=True)
    labels = [r.label for r in rows if r.source == "run"]
    assert labels == ["landmark [landmark_offline]", "landmark [landmark_api]"]
    _, meta = load_paper_rows()
    assert meta["secondary_source"] is True and "secondary source" in meta["note"]
    lines = md.splitlines()
    sep = [i for i, line in enumerate(lines) if "secondary source" in line and line.startswith("| *")]
    first_paper = next(i for i, line in enumerate(lines) if "(paper) |" in line)
    assert sep and sep[0] == first_paper - 1  # a labelled divider right above the published rows
    with open(tmp_path / "t" / "table.csv", newline="") as fh:
        data = list(csv.reader(fh))
    assert {row[1] for row in data[1:]} == {"run", "paper (secondary source)"}
    # a single run keeps its plain model name
    _, rows1 = build_table([runs / "landmark_api"], None)
    assert rows1[0].label == "landmark"
