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


def test_paper_rows_are_table1_as_printed(two_runs, tmp_path):
    md, rows = build_table([two_runs / "a"], tmp_path / "t", paper=True, charts=False)
    paper = [r for r in rows if r.source == "paper"]
    assert len(paper) == 18 and all(r.label.endswith("(paper)") for r in paper)
    ours = next(r for r in paper if r.label.startswith("FaceTrack-MM (Ours)"))
    assert [ours.values[k] for _, k in COLUMNS] == [4.42, 4.30, 4.60, 4.26, 0.418, 0.473, 0.483, 0.364]
    assert all(r.values["tem"] is not None for r in paper)  # TEM printed for every row
    # the in-context rows (*) come after all plain rows, under their own heading; plain GPT4-O keeps its own figures
    groups = [r.extra["group"] for r in paper]
    assert groups == ["plain"] * 16 + ["icl"] * 2
    gpt = {r.label: r.values for r in paper if r.label.startswith("GPT4-O")}
    assert gpt["GPT4-O (OpenAI 2024) (paper)"]["cider"] == 0.225
    assert gpt["GPT4-O* (OpenAI 2024) (paper)"]["cider"] == 0.264
    lines = md.splitlines()
    plain_head = lines.index(next(line for line in lines if line.startswith("| *published: paper Table 1* |")))
    icl_head = lines.index(next(line for line in lines if "in-context learning (*)* |" in line))
    assert lines[plain_head + 1].startswith("| GPT4-O (OpenAI 2024) (paper) |")
    assert lines[icl_head + 1].startswith("| GPT4-O* (OpenAI 2024) (paper) |")
    assert lines.index(next(line for line in lines if line.startswith("| landmark |"))) < plain_head < icl_head
    assert "secondary" not in md and "Qwen2-VL-72B" not in md
    with open(tmp_path / "t" / "table.csv", newline="") as fh:
        data = list(csv.reader(fh))
    assert {row[1] for row in data[1:]} == {"run", "paper", "paper (in-context learning)"}


def test_paper_table2_beside_the_runs(two_runs, tmp_path):
    _write_run(tmp_path / "abl", "facetrack", {"correctness": 4.0, "detail": 4.2, "context": 4.4, "temporal": 4.2,
                                               "cider": 0.3, "rouge_l": 0.3, "autodq": 0.45, "tem": 0.33})
    out = tmp_path / "t"
    res = subprocess.run([sys.executable, "-m", "dfec.cli", "bench", "table", str(tmp_path / "abl"), "--paper",
                          "--out", str(out), "--no-charts"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    abl = (out / "ablation.md").read_text()
    assert abl in res.stdout
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.strip().strip("|").split("|")[1:]]
            for line in abl.splitlines() if line.startswith("| ") and not line.startswith("| *")}
    assert rows["facetrack"] == ["4.20", "0.450", "0.330"]  # VC avg = mean of the four judge scores
    assert rows["FaceTrack-MM (Ours) (paper)"] == ["4.40", "0.483", "0.364"]
    assert rows["with Dynamic Face Tracking (paper)"] == ["4.37", "0.471", "0.357"]
    assert len(rows) == 1 + 1 + 5  # header, the run, the five published variants


def test_packaged_paper_figures_equal_the_shared_file(shared_data):
    shared = shared_data / "paper_tables.json"
    if not shared.is_file():
        pytest.skip("no paper_tables.json in the shared data")
    assert json.loads(PAPER_TABLE.read_text(encoding="utf-8")) == json.loads(shared.read_text(encoding="utf-8"))


def test_paper_file_errors(tmp_path):
    bad = tmp_path / "old.json"
    bad.write_text(json.dumps({"rows": []}))
    with pytest.raises(DfecError, match="table1"):
        load_paper_rows(bad)


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


def test_same_model_twice_is_told_apart(tmp_path):
    """Two runs of one model (say offline vs API judge) must not share a label."""
    runs = tmp_path / "runs"
    _write_run(runs / "landmark_offline", "landmark", {"cider": 0.1, "rouge_l": 0.2, "autodq": 0.3, "tem": 0.3})
    _write_run(runs / "landmark_api", "landmark", {"correctness": 4.0, "cider": 0.1, "rouge_l": 0.2, "autodq": 0.1,
                                                   "tem": 0.1})
    md, rows = build_table([runs / "landmark_offline", runs / "landmark_api"], tmp_path / "t", paper=True)
    labels = [r.label for r in rows if r.source == "run"]
    assert labels == ["landmark [landmark_offline]", "landmark [landmark_api]"]
    # a single run keeps its plain model name
    _, rows1 = build_table([runs / "landmark_api"], None)
    assert rows1[0].label == "landmark"
