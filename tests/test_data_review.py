"""Data tooling edge cases: inference cuts repaired locally, symlink escapes, face inputs in the build."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from dfec.data.build import BuildConfig, build, resolve_video
from dfec.data.schema import strip_inferences


@pytest.mark.parametrize("text,want", [
    # text away from the cut stays exactly as written
    ("e.g. he smiles [inf: happy].", "e.g. he smiles."),
    ("He frowns... [inf: annoyed] then looks up.", "He frowns... then looks up."),
    ("The man (aged 40) [inference: a teacher] nods.", "The man (aged 40) nods."),
    ("He said:\"no\" [inf: angry].", "He said:\"no\"."),
    # repairs at the cut
    ("She looks (or so [inf: it seems]) tired.", "She looks (or so) tired."),
    ("She looks ([inf: it seems]) tired.", "She looks tired."),
    ("She smiles, [inf: relieved].", "She smiles."),
    ("She smiles [inf: a][inf: b] and nods.", "She smiles and nods."),
    ("Smiles.[inf: happy]Then nods.", "Smiles. Then nods."),
    ("He blinks [inf: tired]. [inf: bored] She yawns.", "He blinks. She yawns."),
    ("[inf: a] [inf: b], she nods.", "she nods."),
    ("He frowns [inf: a]\n[inf: b] then smiles.", "He frowns\nthen smiles."),
])
def test_strip_inferences_repairs_only_around_the_cut(text, want):
    assert strip_inferences(text) == want


def test_symlinks_out_of_the_root_are_refused_inside_ones_work(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    (outside / "deep").mkdir(parents=True)
    (outside / "secret.mp4").write_bytes(b"x")
    (outside / "deep" / "clip.mp4").write_bytes(b"x")
    root.mkdir()
    os.symlink(outside / "deep", root / "DFEW")          # a linked folder whose target is outside the root
    with pytest.raises(ValueError, match="through a symlink"):
        resolve_video("DFEW/clip.mp4", root)
    # lexically "root/secret.mp4", but the OS climbs from the link's target to outside/secret.mp4
    with pytest.raises(ValueError, match="escapes the data root"):
        resolve_video("DFEW/../../outside/secret.mp4", root)
    with pytest.raises(ValueError, match="through a symlink"):
        resolve_video("DFEW/../secret.mp4", root)
    # a plain ".." that stays inside the root is still fine, and so is a link inside the root
    (root / "a").mkdir()
    (root / "b.mp4").write_bytes(b"x")
    assert resolve_video("a/../b.mp4", root)[1] == "b.mp4"
    os.symlink(root / "a", root / "alias")
    assert resolve_video("alias/../b.mp4", root)[1] == "b.mp4"


def _rec(i, **kw):
    r = {"id": f"c{i}", "video": f"v/c{i}.mp4", "attributes": "A man.", "facial_changes": "He nods.",
         "summary": "He nods."}
    r.update(kw)
    return r


def test_build_passes_tracks_and_faces_through_and_checks_them(tmp_path, monkeypatch):
    root = tmp_path / "root"
    (root / "v").mkdir(parents=True)
    (root / "t").mkdir()
    for i in range(5):
        (root / "v" / f"c{i}.mp4").write_bytes(b"")
    (root / "t" / "c0.json").write_text("{}")
    (root / "t" / "c1_0.png").write_bytes(b"")
    recs = [_rec(0, tracks="t/c0.json"), _rec(1, faces=["t/c1_0.png"]), _rec(2, tracks="../evil.json"),
            _rec(3, faces="t/c1_0.png"), _rec(4, tracks="t/missing.json")]
    ann = tmp_path / "ann.json"
    ann.write_text(json.dumps(recs))
    monkeypatch.chdir(tmp_path)
    res = build(ann, "root", tmp_path / "out", BuildConfig(test_size=0))   # a relative data root
    by_id = {s["id"]: s for s in res.train}
    assert set(by_id) == {"c0", "c1"}
    assert by_id["c0"]["tracks"] == "t/c0.json" and "faces" not in by_id["c0"]
    assert by_id["c1"]["faces"] == ["t/c1_0.png"]
    problems = {e.record_id: (e.field, e.reason) for e in res.errors}
    assert problems["c2"][0] == "tracks" and "escapes the data root" in problems["c2"][1]
    assert problems["c3"] == ("faces", "must be a list of image path strings")
    assert problems["c4"][0] == "tracks" and "no such file" in problems["c4"][1]
    # the summary records the data root as an absolute path, for `dfec train` to resolve train.json's paths
    summary = json.loads((tmp_path / "out" / "build_summary.json").read_text())
    assert summary["data_root"] == str(root) and Path(summary["data_root"]).is_absolute()


def test_curate_row_after_a_torn_line_survives_a_second_interruption(tmp_path, monkeypatch):
    from dfec.data import curate as cur
    from dfec.model.tiny import synthetic_video

    clips = tmp_path / "clips"
    clips.mkdir()
    for i in range(4):
        synthetic_video(clips / f"c{i}.mp4", n_frames=8)
    cfg = cur.CurateConfig(workers=1, check_shots=False, check_face=False, check_people=False)
    out = tmp_path / "out"
    first = cur.curate(clips, out, cfg, progress=False)
    jsonl = out / "curation.jsonl"
    lines = jsonl.read_text().splitlines()
    jsonl.write_text("\n".join(lines[:-2]) + "\n" + lines[-2][: len(lines[-2]) // 2])   # killed mid-write
    real, calls = cur._work, []

    def dies_second(item):
        calls.append(item[1])
        if len(calls) == 2:
            raise KeyboardInterrupt          # killed again, after one more verdict was written
        return real(item)

    monkeypatch.setattr(cur, "_work", dies_second)
    with pytest.raises(KeyboardInterrupt):
        cur.curate(clips, out, cfg, progress=False)
    monkeypatch.undo()
    rows = []
    for line in jsonl.read_text().splitlines():
        try:
            rows.append(json.loads(line)["clip"])
        except json.JSONDecodeError:
            pass
    assert calls[0] in rows                  # the verdict written after the torn line is readable
    third = cur.curate(clips, out, cfg, progress=False)
    assert third.n_resumed == len(first.rows) - 1
    assert [r["kept"] for r in third.rows] == [r["kept"] for r in first.rows]
