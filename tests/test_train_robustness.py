"""`dfec train` robustness: typed config errors, bad data records, interrupted runs, safe weight files."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("peft")
pytest.importorskip("accelerate")

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from dfec.cli import main  # noqa: E402
from dfec.errors import DfecError  # noqa: E402
from dfec.model.tiny import fake_tracking, save_tiny_checkpoint, synthetic_video  # noqa: E402
from dfec.train import trainer  # noqa: E402
from dfec.train.trainer import TrainConfig, load_samples, train  # noqa: E402


def _conv(answer="she smiles ."):
    return [{"from": "human", "value": "<video>\ndescribe the face ."}, {"from": "gpt", "value": answer}]


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    d = tmp_path_factory.mktemp("robust")
    synthetic_video(d / "a.mp4", n_frames=12)
    synthetic_video(d / "b.mp4", n_frames=12)
    (d / "train.json").write_text(json.dumps([
        {"id": "a", "video": "a.mp4", "conversations": _conv("she smiles and then blinks .")},
        {"id": "b", "video": "b.mp4", "conversations": _conv("he turns his head left .")}]))
    save_tiny_checkpoint(d / "base")
    return d


def _yaml(d: Path, name: str, **kw) -> Path:
    import yaml

    cfg = {"data": "train.json", "model": "base", "output_dir": name, "global_batch_size": 1, "num_workers": 0,
           "logging_steps": 1, "lora_r": 4, "lora_alpha": 8, "lora_dropout": 0.0, "learning_rate": 1e-2,
           "warmup_ratio": 0.0}
    cfg.update(kw)
    p = d / f"{name}.yaml"
    p.write_text(yaml.safe_dump(cfg))
    return p


# ------------------------------------------------------------------------------------ config
@pytest.mark.parametrize("text,needle", [
    ("lora_r: sixty-four\n", "setting 'lora_r' must be an integer, got 'sixty-four'"),
    ("bf16: maybe\n", "setting 'bf16' must be true or false"),
    ("num_epochs: 0\n", "setting 'num_epochs' must be positive"),
    ("lora_dropout: 1.5\n", "setting 'lora_dropout' must be in [0, 1)"),
    ("model: [a, b]\n", "setting 'model' must be a string"),
    ("- data: x\n", "must be a mapping"),
    ("data: [unclosed\n", "not valid YAML"),
])
def test_malformed_training_yaml_gives_one_line_error(tmp_path, capsys, text, needle):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(text)
    assert main(["train", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(cfg) in err and needle in err


def test_yaml_exponent_without_dot_is_a_number_and_set_is_checked(tmp_path, capsys):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("data: d.json\nmodel: m\nlearning_rate: 1e-4\n")   # YAML 1.1 reads 1e-4 as a string
    assert TrainConfig.from_yaml(cfg).learning_rate == pytest.approx(1e-4)
    assert main(["train", "--config", str(cfg), "--set", "max_steps=ten"]) == 2
    assert "setting 'max_steps' must be an integer, got 'ten'" in capsys.readouterr().err


# ------------------------------------------------------------------------------------ data records
def test_bad_training_records_name_record_and_field(tmp_path):
    synthetic_video(tmp_path / "ok.mp4", n_frames=4)
    recs = [
        {"id": "fine", "video": "ok.mp4", "conversations": _conv()},
        {"id": "novideo", "conversations": _conv()},
        {"id": "badconv", "video": "ok.mp4", "conversations": "hello"},
        {"id": "noanswer", "video": "ok.mp4", "conversations": [{"from": "human", "value": "<video>\nx"}]},
        {"id": "gone", "video": "missing.mp4", "conversations": _conv()},
        {"id": "badfaces", "video": "ok.mp4", "faces": "crop.png", "conversations": _conv()},
        "not an object",
    ]
    data = tmp_path / "train.json"
    data.write_text(json.dumps(recs))
    with pytest.raises(DfecError) as exc:
        load_samples(data)
    msg = str(exc.value)
    assert "\n" not in msg and str(data) in msg
    assert "record 1 (id 'novideo'): field 'video'" in msg and "and 5 more bad record(s)" in msg
    # each problem is found on its own
    expect = {"badconv": "field 'conversations': must be a non-empty list",
              "noanswer": "field 'conversations': no non-empty 'gpt' turn",
              "gone": "field 'video': no such file",
              "badfaces": "field 'faces': not a list"}
    for rid, needle in expect.items():
        data.write_text(json.dumps([recs[0]] + [r for r in recs if isinstance(r, dict) and r["id"] == rid]))
        with pytest.raises(DfecError, match=needle.replace("(", r"\(")):
            load_samples(data)
    data.write_text(json.dumps([recs[0], recs[-1]]))
    with pytest.raises(DfecError, match=r"record 1 \(id '1'\): field '-': not a JSON object"):
        load_samples(data)
    # JSONL: the line number of an unparsable line
    data2 = tmp_path / "train.jsonl"
    data2.write_text(json.dumps(recs[0]) + "\n{broken\n")
    with pytest.raises(DfecError, match="line 2 is not valid JSON"):
        load_samples(data2)


def test_train_json_next_to_build_summary_resolves_videos_under_the_data_root(tmp_path):
    root = tmp_path / "root"
    (root / "SRC").mkdir(parents=True)
    synthetic_video(root / "SRC" / "v.mp4", n_frames=4)
    out = tmp_path / "built"
    out.mkdir()
    (out / "train.json").write_text(json.dumps([{"id": "v", "video": "SRC/v.mp4", "conversations": _conv()}]))
    (out / "build_summary.json").write_text(json.dumps({"data_root": str(root)}))
    assert load_samples(out / "train.json")[0]["video"] == str(root / "SRC" / "v.mp4")
    # an explicit video_root wins
    other = tmp_path / "other"
    (other / "SRC").mkdir(parents=True)
    synthetic_video(other / "SRC" / "v.mp4", n_frames=4)
    assert load_samples(out / "train.json", video_root=other)[0]["video"] == str(other / "SRC" / "v.mp4")


# ------------------------------------------------------------------------------------ resume
def test_interrupted_run_resumes_without_duplicate_log_lines_or_retracking(work, monkeypatch):
    from dfec.tracking import pipeline

    tracked = []

    def fake_track(path, config=None, n_frames=16, out_dir=None, progress=False):
        tracked.append(Path(path).name)
        return fake_tracking(path, n_frames=12)

    monkeypatch.setattr(pipeline, "track", fake_track)
    real_getitem = trainer.FaceTrackDataset.__getitem__
    calls = {"n": 0}

    def dying_getitem(self, i):
        calls["n"] += 1
        if calls["n"] == 6:  # 2 samples x 3 epochs, batch 1: dies fetching the last batch (after step 4)
            raise KeyboardInterrupt
        return real_getitem(self, i)

    cfg_path = _yaml(work, "cut", num_epochs=3, save_steps=3)
    monkeypatch.setattr(trainer.FaceTrackDataset, "__getitem__", dying_getitem)
    with pytest.raises(KeyboardInterrupt):
        train(TrainConfig.from_yaml(cfg_path), progress=False)
    out = work / "cut"
    assert [json.loads(l)["step"] for l in (out / "train_log.jsonl").read_text().splitlines()] == [1, 2, 3, 4]
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-3"]
    assert sorted(tracked) == ["a.mp4", "b.mp4"]            # epoch 2 used the tracks cache
    monkeypatch.setattr(trainer.FaceTrackDataset, "__getitem__", real_getitem)
    res = train(TrainConfig.from_yaml(cfg_path), progress=False)   # same command again: resumes
    assert res["resumed_from"].endswith("checkpoint-3") and res["global_step"] == 6
    log = [json.loads(l) for l in (out / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2, 3, 4, 5, 6] and all(np.isfinite(r["loss"]) for r in log)
    assert sorted(tracked) == ["a.mp4", "b.mp4"]            # nothing tracked again after the resume
    assert (out / "adapter_model.safetensors").is_file()


def test_second_run_into_a_busy_output_folder_is_refused(work, monkeypatch):
    """Two runs into one output folder would interleave train_log.jsonl and checkpoints."""
    from dfec.batch import output_lock
    from dfec.tracking import pipeline

    monkeypatch.setattr(pipeline, "track", lambda path, **kw: fake_tracking(path, n_frames=12))
    cfg = TrainConfig.from_yaml(_yaml(work, "busy", max_steps=1))
    real_load = trainer.load_base_model
    loads = []
    monkeypatch.setattr(trainer, "load_base_model", lambda *a, **k: loads.append(1) or real_load(*a, **k))
    with output_lock(work / "busy" / "train_log.jsonl"):  # the other run
        with pytest.raises(DfecError, match="another dfec process"):
            train(cfg, progress=False)
        assert not (work / "busy" / "train_log.jsonl").exists() and not loads  # refused before loading
    assert train(cfg, progress=False)["global_step"] == 1  # free again: runs


def test_adapter_folder_without_safetensors_is_refused(work, tmp_path):
    from dfec.model.inference import resolve_layout

    assert main(["train", "--config", str(_yaml(work, "tiny", max_steps=1, save_steps=0)), "--quiet"]) == 0
    run = work / "tiny"
    assert resolve_layout(run)["kind"] == "adapter"
    weights = (run / "adapter_model.safetensors").read_bytes()
    (run / "adapter_model.safetensors").unlink()
    (run / "adapter_model.bin").write_bytes(b"not loaded: pickles are never read")
    try:
        with pytest.raises(DfecError, match="missing adapter_model.safetensors"):
            resolve_layout(run)
    finally:
        (run / "adapter_model.bin").unlink()
        (run / "adapter_model.safetensors").write_bytes(weights)


def test_full_checkpoint_with_only_pickled_weights_is_refused(tmp_path):
    from dfec.model.inference import load_captioner

    ckpt = save_tiny_checkpoint(tmp_path / "ckpt")
    for f in ckpt.glob("*.safetensors"):
        f.unlink()
    torch.save({}, ckpt / "pytorch_model.bin")
    with pytest.raises(DfecError, match=r"missing FaceTrack-MM weights .*huggingface-cli download"):
        load_captioner(ckpt)


# ------------------------------------------------------------------------------------ multi-GPU schedule
@pytest.mark.parametrize("procs", [1, 2, 8])
def test_lr_schedule_spans_the_whole_run_on_several_processes(procs):
    """accelerate's scheduler steps once per process per optimiser step: the cosine must still end at the end."""
    from dfec.train.trainer import make_scheduler

    cfg = TrainConfig(learning_rate=1.0, warmup_ratio=0.1, lr_scheduler="cosine")
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=cfg.learning_rate)
    total = 100
    sched = make_scheduler(cfg, opt, total, procs)
    lrs = []
    for _ in range(total):               # one optimiser step = `procs` scheduler steps (AcceleratedScheduler)
        opt.step()
        for _ in range(procs):
            sched.step()
        lrs.append(sched.get_last_lr()[0])
    assert lrs[9] == pytest.approx(1.0)                       # warm-up is 10 % of the optimiser steps
    assert lrs[4] == pytest.approx(0.5)
    assert lrs[54] == pytest.approx(0.5, abs=1e-6)            # half-way through the decay: cos(pi/2)
    assert lrs[-1] == pytest.approx(0.0, abs=1e-9) and min(lrs[10:-1]) > 0


@pytest.mark.parametrize("key,needle", [("projector", "DAMO-NLP-SG/VideoLLaMA2-7B-16F"),
                                        ("face_backbone", "kartiknarayan/facexformer")])
def test_missing_optional_weights_are_named_before_the_big_ones_load(tmp_path, capsys, key, needle):
    for part in ("clip", "mistral"):                    # present (the check runs before anything loads)
        (tmp_path / part).mkdir()
        (tmp_path / part / "config.json").write_text("{}")
        (tmp_path / part / "model.safetensors").write_bytes(b"")
    (tmp_path / "d.json").write_text(json.dumps([{"id": "a", "video": "a.mp4", "conversations": _conv()}]))
    synthetic_video(tmp_path / "a.mp4", n_frames=4)
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(f"data: d.json\nvision_tower: clip\nllm: mistral\n{key}: weights/absent\n")
    assert main(["train", "--config", str(cfg)]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(tmp_path / "weights" / "absent") in err and needle in err


def test_base_spec_paths_are_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = TrainConfig(data="d.json", vision_tower="w/clip", llm="~/w/mistral", projector=None).base_spec()
    assert spec["vision_tower"] == str(tmp_path / "w" / "clip") and spec["projector"] is None
    assert spec["llm"] == str(Path("~/w/mistral").expanduser())
    assert TrainConfig(model="base").base_spec() == {"model": str(tmp_path / "base")}


def test_raw_fda_annotations_given_to_train_point_at_data_build(tmp_path):
    synthetic_video(tmp_path / "v.mp4", n_frames=4)
    ann = tmp_path / "ann.json"
    ann.write_text(json.dumps([{"id": "x", "video": "v.mp4", "attributes": "A man.", "facial_changes": "He nods.",
                                "summary": "He nods."}]))
    with pytest.raises(DfecError, match=r"record 0 \(id 'x'\): field 'conversations'.*dfec data build"):
        load_samples(ann)
