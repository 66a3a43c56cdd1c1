"""``dfec data build``: captions, conversations, the id-hash split and data-root path checks."""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from dfec.cli import main as cli_main
from dfec.data.build import BuildConfig, build, resolve_video, split_ids
from dfec.data.templates import INSTRUCTIONS, choose_template
from dfec.errors import DfecError


def _record(i: int, video: str | None = None) -> dict:
    return {"id": f"clip_{i:04d}", "video": video or f"SRC{i % 3}/v{i:04d}.mp4",
            "attributes": f"Person number {i}.", "facial_changes": ["They blink [inference: bored].", "They nod."],
            "summary": "They blink and nod."}


def _dataset(tmp_path: Path, n: int, extra: list[dict] = ()) -> tuple[Path, Path]:
    root = tmp_path / "root"
    recs = [_record(i) for i in range(n)] + list(extra)
    for r in recs:
        p = root / r["video"]
        if ".." not in r["video"] and not os.path.isabs(r["video"]):
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(b"")
    ann = tmp_path / "ann.jsonl"
    ann.write_text("".join(json.dumps(r) + "\n" for r in recs))
    return ann, root


def _sample_root(tmp_path: Path, test_data: Path) -> Path:
    root = tmp_path / "videos"
    for line in (test_data / "fda_sample.jsonl").read_text().splitlines():
        p = root / json.loads(line)["video"]
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"")
    return root


def test_build_writes_videollama2_conversations(tmp_path, test_data):
    root = _sample_root(tmp_path, test_data)
    expected = json.loads((test_data / "fda_sample_expected.json").read_text())
    res = build(test_data / "fda_sample.jsonl", root, tmp_path / "out", BuildConfig(test_size=2))
    assert res.errors == [] and len(res.train) == 6 and len(res.test) == 2
    for sample in res.train + res.test:
        assert set(sample) == {"id", "video", "conversations"}
        human, gpt = sample["conversations"]
        assert human["from"] == "human" and gpt["from"] == "gpt"
        assert human["value"].startswith("<video>\n") and human["value"][len("<video>\n"):] in INSTRUCTIONS
        assert human["value"][len("<video>\n"):] == choose_template(sample["id"], 0)
        assert gpt["value"] == expected[sample["id"]]
        assert (root / sample["video"]).is_file() and not os.path.isabs(sample["video"])
    on_disk = json.loads((tmp_path / "out" / "train.json").read_text())
    assert on_disk == res.train
    refs = json.loads((tmp_path / "out" / "test_refs.json").read_text())
    assert [(r["id"], r["caption"]) for r in refs] == [(s["id"], s["conversations"][1]["value"]) for s in res.test]
    summary = json.loads((tmp_path / "out" / "build_summary.json").read_text())
    assert (summary["n_train"], summary["n_test"], summary["n_errors"]) == (6, 2, 0)


def test_templates_seeded_and_varied():
    assert len(INSTRUCTIONS) == 20 and len(set(INSTRUCTIONS)) == 20
    ids = [f"id{i}" for i in range(400)]
    first = [choose_template(i, seed=0) for i in ids]
    assert first == [choose_template(i, seed=0) for i in ids]
    assert len(set(first)) == 20  # 400 draws cover all 20 templates
    assert first != [choose_template(i, seed=1) for i in ids]


def test_split_stable_across_runs_orders_and_processes(tmp_path):
    ids = [f"clip_{i:04d}" for i in range(300)]
    train, test = split_ids(ids, 40)
    assert len(test) == 40 and len(train) == 260 and not set(train) & set(test)
    shuffled = ids[:]
    random.Random(3).shuffle(shuffled)
    assert set(split_ids(shuffled, 40)[1]) == set(test)
    # a fresh interpreter with another hash seed gives the same split (no use of hash())
    code = ("import json,sys; from dfec.data.build import split_ids; "
            "ids=[f'clip_{i:04d}' for i in range(300)]; print(json.dumps(split_ids(ids, 40)[1]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONHASHSEED": "12345"})
    assert json.loads(out.stdout) == test
    # a changed test size moves only what it must: the smaller test set is inside the larger one
    test50 = split_ids(ids, 50)[1]
    assert set(test) < set(test50) and len(set(test50) - set(test)) == 10
    test30 = split_ids(ids, 30)[1]
    assert set(test30) < set(test) and len(set(test) - set(test30)) == 10
    assert len(split_ids(ids, 0.1)[1]) == 30 and set(split_ids(ids, 0.1)[1]) == set(test30)
    with pytest.raises(ValueError, match="larger than"):
        split_ids(ids, 301)


def test_build_split_stable_between_runs_and_default_size(tmp_path):
    ann, root = _dataset(tmp_path, 1200)
    a = build(ann, root, tmp_path / "a")
    b = build(ann, root, tmp_path / "b")
    assert len(a.test) == 1000 and len(a.train) == 200  # paper default: 1,000 test clips
    assert (tmp_path / "a" / "test.json").read_bytes() == (tmp_path / "b" / "test.json").read_bytes()
    assert (tmp_path / "a" / "train.json").read_bytes() == (tmp_path / "b" / "train.json").read_bytes()
    with pytest.raises(DfecError, match="larger than the 1200"):
        build(ann, root, None, BuildConfig(test_size=1201))


def test_path_escape_refused(tmp_path):
    outside = tmp_path / "secret.mp4"
    outside.write_bytes(b"")
    root = tmp_path / "root"
    escapes = [
        {**_record(900), "video": "../secret.mp4"},
        {**_record(901), "video": "SRC0/../../secret.mp4"},
        {**_record(902), "video": str(outside)},
        {**_record(903), "video": "..\\secret.mp4"},
    ]
    ann, root = _dataset(tmp_path, 10, escapes)
    inside_abs = {**_record(904), "video": str(root / "SRC0" / "v0000.mp4")}
    ann.write_text(ann.read_text() + json.dumps(inside_abs) + "\n")
    res = build(ann, root, tmp_path / "out", BuildConfig(test_size=2))
    bad = {e.record_id: e for e in res.errors}
    assert set(bad) == {"clip_0900", "clip_0901", "clip_0902", "clip_0903"}
    for e in bad.values():
        assert e.field == "video" and "escapes the data root" in e.reason
    written = res.train + res.test
    assert len(written) == 11 and all(".." not in s["video"] and not os.path.isabs(s["video"]) for s in written)
    assert next(s for s in written if s["id"] == "clip_0904")["video"] == "SRC0/v0000.mp4"
    with pytest.raises(ValueError):
        resolve_video("a/../../b.mp4", root)
    assert resolve_video("a/./b/../c.mp4", root)[1] == "a/c.mp4"


def test_missing_videos_reported_and_optional(tmp_path):
    ann, root = _dataset(tmp_path, 6)
    (root / "SRC1" / "v0001.mp4").unlink()
    res = build(ann, root, None, BuildConfig(test_size=1))
    assert [(e.record_id, e.field) for e in res.errors] == [("clip_0001", "video")]
    assert "no such video file" in res.errors[0].reason
    res = build(ann, root, None, BuildConfig(test_size=1, check_videos=False))
    assert res.errors == [] and len(res.train) + len(res.test) == 6


def test_cli_build_reports_bad_records_and_keeps_going(tmp_path, test_data, capsys):
    root = _sample_root(tmp_path, test_data)
    for i in (1, 10):
        (root / f"DFEW/videos/{i:04d}.mp4").parent.mkdir(parents=True, exist_ok=True)
        (root / f"DFEW/videos/{i:04d}.mp4").write_bytes(b"")
    rc = cli_main(["data", "build", str(test_data / "fda_sample_bad.json"), "--root", str(root),
                   "--out", str(tmp_path / "out"), "--test-size", "1"])
    err = capsys.readouterr().err
    assert rc == 0
    assert "id='no_summary': field 'summary': missing" in err
    assert "id='nested': field 'attributes'" in err
    assert len(json.loads((tmp_path / "out" / "train.json").read_text())) == 1
    rc = cli_main(["data", "build", str(test_data / "fda_sample_bad.json"), "--root", str(root),
                   "--out", str(tmp_path / "out2"), "--test-size", "1", "--strict"])
    assert rc == 2 and "dfec: error:" in capsys.readouterr().err
    rc = cli_main(["data", "build", str(tmp_path / "nope.json"), "--root", str(root), "--out", str(tmp_path / "o3")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and err == [f"dfec: error: {tmp_path / 'nope.json'}: no such file"]
