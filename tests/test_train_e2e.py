"""End to end as a researcher runs it: dfec data build -> dfec train -> dfec caption -> dfec score.

The annotation file points at small synthetic clips (and the RAVDESS clip from the shared data when
present) under a data root; the build's train.json goes to `dfec train --config` unchanged, the
trained run folder to `dfec caption --model`, and the captions to `dfec score` against the build's
test_refs.json. A tiny random FaceTrack-MM stands in for the 7B weights.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("peft")
pytest.importorskip("accelerate")

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from dfec.cli import main  # noqa: E402
from dfec.data.templates import INSTRUCTIONS  # noqa: E402
from dfec.model.configuration_facetrack import VIDEO_TOKEN_INDEX  # noqa: E402
from dfec.model.processor import DEFAULT_INSTRUCTION, FaceTrackProcessor  # noqa: E402
from dfec.model.tiny import fake_tracking, save_tiny_checkpoint, synthetic_video  # noqa: E402
from dfec.train.trainer import load_samples  # noqa: E402

REAL_CLIP = "01-01-08-02-01-01-19.mp4"


def _annotations(root: Path, shared: Path | None) -> list[dict]:
    from PIL import Image

    (root / "SYN").mkdir(parents=True)
    recs = []
    for i in range(4):
        synthetic_video(root / "SYN" / f"c{i}.mp4", n_frames=12 + i)
        recs.append({"id": f"syn{i}", "video": f"SYN/c{i}.mp4", "source": "SYN",
                     "attributes": "A young woman with glasses.",
                     "facial_changes": ["She smiles [inference: she is happy] and blinks.", "Then she frowns."],
                     "summary": "She smiles and frowns."})
    # per-record face inputs: a tracks.json (dfec track --out) and a list of face crops
    (root / "tracks").mkdir()
    fake_tracking(root / "SYN" / "c0.mp4", n_frames=12, selected=[0, 3, 6, 9]).save(root / "tracks" / "c0.json")
    recs[0]["tracks"] = "tracks/c0.json"
    rng = np.random.default_rng(0)
    (root / "faces").mkdir()
    for k in range(2):
        Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(root / "faces" / f"c3_{k}.png")
    recs[3]["faces"] = ["faces/c3_0.png", "faces/c3_1.png"]
    if shared is not None and (shared / REAL_CLIP).is_file():
        (root / "RAVDESS").mkdir()
        shutil.copyfile(shared / REAL_CLIP, root / "RAVDESS" / "r.mp4")  # a link out of the root is refused
        recs.append({"id": "ravdess_19", "video": "RAVDESS/r.mp4", "attributes": "A man with short hair.",
                     "facial_changes": "He raises his eyebrows [inf: surprised] and opens his mouth.",
                     "summary": "He looks surprised."})
    return recs


def test_build_train_caption_score_end_to_end(tmp_path, request, monkeypatch, capsys):
    import yaml

    from dfec.tracking import pipeline

    try:
        shared = request.getfixturevalue("shared_data")
    except pytest.skip.Exception:
        shared = None
    root = tmp_path / "data_root"
    recs = _annotations(root, shared)
    ann = tmp_path / "annotations.json"
    ann.write_text(json.dumps(recs))

    # 1. dfec data build (the work folder is elsewhere: relative paths must not depend on it)
    built = tmp_path / "built"
    assert main(["data", "build", str(ann), "--root", str(root), "--out", str(built), "--test-size", "2"]) == 0
    train_json = json.loads((built / "train.json").read_text())
    refs = json.loads((built / "test_refs.json").read_text())
    assert len(train_json) + len(refs) == len(recs) and len(refs) == 2
    by_id = {s["id"]: s for s in train_json}
    for s in train_json:
        assert s["conversations"][0]["value"].startswith("<video>\n")
        assert "[inf" not in s["conversations"][1]["value"]
    # the id-hash split keeps syn0 and syn3 in train (with or without the RAVDESS record)
    assert by_id["syn0"]["tracks"] == "tracks/c0.json"
    assert by_id["syn3"]["faces"] == ["faces/c3_0.png", "faces/c3_1.png"]

    # the training loader reads train.json as written: videos, tracks and faces under the data root
    samples = load_samples(built / "train.json")
    for s in samples:
        assert Path(s["video"]).is_file() and Path(s["video"]).resolve().is_relative_to(root.resolve())
        assert s["instruction"] in INSTRUCTIONS and "<video>" not in s["instruction"]
        assert all(Path(f).is_file() for f in s.get("faces", [])) and Path(s.get("tracks", s["video"])).is_file()
    assert DEFAULT_INSTRUCTION in INSTRUCTIONS  # dfec caption asks what training asked

    # 2. dfec train --config on the build's train.json; tracking runs only for records without tracks/faces
    tracked = []
    real_track = pipeline.track

    def spy_track(path, *a, **kw):
        tracked.append(Path(path).name)
        return real_track(path, *a, **kw)

    monkeypatch.setattr(pipeline, "track", spy_track)
    save_tiny_checkpoint(tmp_path / "base")
    cfg = {"data": "built/train.json", "model": "base", "output_dir": "run", "global_batch_size": 1,
           "num_workers": 0, "num_epochs": 1, "lora_r": 4, "lora_alpha": 8, "lora_dropout": 0.0,
           "logging_steps": 1, "save_steps": 0, "learning_rate": 1e-2}
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump(cfg))
    assert main(["train", "--config", str(tmp_path / "cfg.yaml"), "--quiet"]) == 0
    run = tmp_path / "run"
    log = [json.loads(l) for l in (run / "train_log.jsonl").read_text().splitlines()]
    assert len(log) == len(train_json) and all(np.isfinite(r["loss"]) for r in log)
    assert sorted(tracked) == sorted(Path(s["video"]).name for s in train_json if "tracks" not in s and "faces" not in s)

    # the prompt the model trains on holds exactly one <video> slot, in Mistral's [INST] format
    proc = FaceTrackProcessor.from_pretrained(run)
    ids, labels = proc.tokenize(samples[0]["instruction"], samples[0]["answer"])
    assert ids.count(VIDEO_TOKEN_INDEX) == 1 and labels[: ids.index(VIDEO_TOKEN_INDEX) + 1] == [-100] * (ids.index(VIDEO_TOKEN_INDEX) + 1)
    assert proc.prompt_text(samples[0]["instruction"]).startswith("<s>[INST] <video>\n")

    # 3. dfec caption VIDEO --model RUN and dfec caption --list (videos as the refs name them)
    video = root / refs[0]["video"]
    capsys.readouterr()
    assert main(["caption", str(video), "--model", str(run), "--out", str(tmp_path / "one")]) == 0
    assert capsys.readouterr().out.strip() == (tmp_path / "one" / "caption.txt").read_text().strip() != ""
    lst = tmp_path / "test_videos.txt"
    lst.write_text("".join(f"{r['id']}\t{root / r['video']}\n" for r in refs))
    preds = tmp_path / "preds.jsonl"
    assert main(["caption", "--list", str(lst), "--model", str(run), "--out", str(preds), "--quiet"]) == 0
    got = [json.loads(l) for l in preds.read_text().splitlines()]
    assert [g["id"] for g in got] == [r["id"] for r in refs] and all(g["caption"] for g in got)

    # 4. dfec score against the build's test_refs.json
    out = tmp_path / "scores" / "results.json"
    assert main(["score", "--pred", str(preds), "--ref", str(built / "test_refs.json"), "--out", str(out), "--quiet"]) == 0
    res = json.loads(out.read_text())
    assert res["n_scored"] == 2 and res["n_failed"] == 0
    assert 0.0 <= res["metrics"]["rouge_l"] <= 1.0


def test_caption_list_with_missing_weights_fails_once(tmp_path, capsys):
    synthetic_video(tmp_path / "a.mp4")
    synthetic_video(tmp_path / "b.mp4")
    lst = tmp_path / "v.txt"
    lst.write_text("a.mp4\nb.mp4\n")
    rc = main(["caption", "--list", str(lst), "--model", str(tmp_path / "nowhere"), "--out", str(tmp_path / "p.jsonl")])
    err = capsys.readouterr().err
    assert rc == 3 and err.count("\n") == 1 and str(tmp_path / "nowhere") in err and "huggingface-cli download" in err
