"""`dfec train` on a tiny random FaceTrack-MM: CLI, outputs, exact resume, config errors."""
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
from dfec.train.trainer import LORA_TARGET, TrainConfig, train  # noqa: E402

CONFIGS = Path(__file__).resolve().parents[1] / "src" / "dfec" / "train" / "configs"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    from PIL import Image

    d = tmp_path_factory.mktemp("train")
    synthetic_video(d / "a.mp4")
    synthetic_video(d / "b.mp4", n_frames=12)
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(d / f"face{i}.png")
    fake_tracking(d / "b.mp4", n_frames=12, selected=[0, 3, 6, 9]).save(d / "b_tracks.json")
    records = [
        {"id": "a", "video": "a.mp4", "faces": ["face0.png", "face1.png", "face2.png"],
         "conversations": [{"from": "human", "value": "<video>\nDescribe the face."},
                           {"from": "gpt", "value": "She smiles and then blinks."}]},
        {"id": "b", "video": "b.mp4", "tracks": "b_tracks.json",
         "conversations": [{"from": "human", "value": "<video>\nWhat does the face do?"},
                           {"from": "gpt", "value": "He turns his head left and nods."}]},
    ]
    (d / "train.json").write_text(json.dumps(records))
    save_tiny_checkpoint(d / "base")
    return d


def _cfg(d: Path, out: str, **kw) -> Path:
    base = {"data": "train.json", "model": "base", "output_dir": out, "global_batch_size": 1, "num_workers": 0,
            "logging_steps": 1, "save_steps": 1, "save_total_limit": 10, "lora_r": 4, "lora_alpha": 8,
            "lora_dropout": 0.0, "learning_rate": 1e-2, "projector_lr": 1e-3, "warmup_ratio": 0.0}
    base.update(kw)
    import yaml

    p = d / f"{out}.yaml"
    p.write_text(yaml.safe_dump(base))
    return p


def _weights(out: Path) -> dict:
    from safetensors.torch import load_file

    w = load_file(str(out / "adapter_model.safetensors"))
    w.update(load_file(str(out / "non_lora_trainables.safetensors")))
    return w


def test_dfec_train_cli_writes_adapter_and_resumes_exactly(workdir, capsys):
    d = workdir
    # uninterrupted reference run: 2 samples x 2 epochs, batch 1 -> 4 optimiser steps
    assert main(["train", "--config", str(_cfg(d, "ref", num_epochs=2)), "--quiet"]) == 0
    ref = d / "ref"
    for f in ("adapter_model.safetensors", "adapter_config.json", "non_lora_trainables.safetensors",
              "facetrack_base.json", "tokenizer.json", "processor_config.json", "train_log.jsonl"):
        assert (ref / f).is_file(), f
    assert not list(ref.rglob("*.bin"))
    log = [json.loads(l) for l in (ref / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2, 3, 4] and all(np.isfinite(r["loss"]) for r in log)
    assert sorted(p.name for p in ref.glob("checkpoint-*")) == ["checkpoint-1", "checkpoint-2", "checkpoint-3"]
    assert json.loads((ref / "checkpoint-3" / "trainer_state.json").read_text())["batches_in_epoch"] == 1
    assert "trained 4 steps" in capsys.readouterr().err

    # a run interrupted after step 1 (mid-epoch) resumes from that checkpoint and ends where the
    # uninterrupted run ended: same weights (fixed per-epoch data order, skipped batches, optimiser
    # and scheduler state restored)
    cut = _cfg(d, "cut", num_epochs=2)
    assert main(["train", "--config", str(cut), "--quiet", "--set", f"resume_from_checkpoint={ref / 'checkpoint-1'}"]) == 0
    assert "resuming from" in capsys.readouterr().out
    log_cut = [json.loads(l) for l in (d / "cut" / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log_cut] == [2, 3, 4]
    got, want = _weights(d / "cut"), _weights(ref)
    assert got.keys() == want.keys()
    for k in want:
        assert torch.allclose(got[k], want[k], atol=1e-6), k
    # the trained weights moved away from the base and the loss went down
    assert log[-1]["loss"] < log[0]["loss"]

    # "auto" resume from the newest checkpoint of a finished run continues training to a larger budget
    res2 = train(TrainConfig.from_yaml(_cfg(d, "ref", num_epochs=3)), progress=False)
    assert res2["resumed_from"].endswith("checkpoint-3") and res2["global_step"] == 6


def test_trained_adapter_loads_for_captioning(workdir, monkeypatch):
    from dfec.model.inference import load_captioner, resolve_layout

    d = workdir
    out = d / "cap"
    assert main(["train", "--config", str(_cfg(d, "cap", max_steps=2)), "--quiet"]) == 0
    assert resolve_layout(out)["kind"] == "adapter"
    cap = load_captioner(out)
    text = cap.caption(d / "a.mp4", tracking=fake_tracking(d / "a.mp4"), max_new_tokens=5)
    assert isinstance(text, str)
    # the base named in facetrack_base.json must exist
    base = json.loads((out / "facetrack_base.json").read_text())
    (out / "facetrack_base.json").write_text(json.dumps({"model": str(d / "gone")}))
    with pytest.raises(DfecError, match="gone"):
        load_captioner(out)
    (out / "facetrack_base.json").write_text(json.dumps(base))


def test_lora_targets_only_mistral_linears():
    import re

    names = ["language_model.model.layers.0.self_attn.q_proj", "language_model.model.layers.11.mlp.down_proj",
             "model.vision_tower.vision_model.encoder.layers.0.self_attn.q_proj", "language_model.lm_head",
             "model.mm_projector.readout.0", "model.face_encoder.blocks.0.mlp.0"]
    hit = [n for n in names if re.fullmatch(LORA_TARGET, n)]
    assert hit == names[:2]


def test_config_defaults_are_the_paper_recipe():
    c = TrainConfig()
    assert (c.lora_r, c.lora_alpha, c.lora_dropout) == (64, 128, 0.05)
    assert (c.global_batch_size, c.num_epochs, c.bf16, c.gradient_checkpointing) == (32, 3, True, True)
    assert c.projector_lr != c.learning_rate and c.num_frames == 16
    import yaml

    shipped = yaml.safe_load((CONFIGS / "lora_default.yaml").read_text())
    for k, v in shipped.items():
        assert k in TrainConfig.__dataclass_fields__, k
        if k in ("lora_r", "lora_alpha", "lora_dropout", "global_batch_size", "num_epochs", "learning_rate"):
            assert v == getattr(c, k), k


def test_shipped_deepspeed_and_accelerate_configs_are_consistent():
    import yaml

    for z in (2, 3):
        ds = json.loads((CONFIGS / f"zero{z}.json").read_text())
        assert ds["zero_optimization"]["stage"] == z
        assert ds["gradient_accumulation_steps"] == "auto"
        acc = yaml.safe_load((CONFIGS / f"accelerate_zero{z}.yaml").read_text())
        assert acc["distributed_type"] == "DEEPSPEED"
        assert (CONFIGS / acc["deepspeed_config"]["deepspeed_config_file"]).is_file()
    assert yaml.safe_load((CONFIGS / "accelerate_ddp.yaml").read_text())["distributed_type"] == "MULTI_GPU"


def test_bad_configs_give_one_line_errors(workdir, tmp_path, capsys):
    assert main(["train", "--config", str(tmp_path / "none.yaml")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("dfec: error:") and "none.yaml" in err and "\n" not in err
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: x.json\nlora_rank: 8\n")
    assert main(["train", "--config", str(bad)]) == 2
    assert "unknown setting 'lora_rank' (did you mean 'lora_r'?)" in capsys.readouterr().err
    nodata = _cfg(workdir, "nodata", data="missing.json")
    assert main(["train", "--config", str(nodata)]) == 2
    assert "no such training data file" in capsys.readouterr().err
    noweights = tmp_path / "nw.yaml"
    noweights.write_text(f"data: {workdir / 'train.json'}\nvision_tower: clip\nllm: mistral\nmax_steps: 1\n")
    assert main(["train", "--config", str(noweights)]) == 3
    err = capsys.readouterr().err
    assert str(tmp_path / "clip") in err and "huggingface-cli download openai/clip-vit-large-patch14-336" in err
    assert main(["train", "--config", str(nodata), "--print-config"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["lora_r"] == 4 and printed["data"] == str(workdir / "missing.json")


@pytest.mark.gpu
def test_train_tiny_on_cuda_bf16(workdir):
    res = train(TrainConfig.from_yaml(_cfg(workdir, "gpu", max_steps=2, bf16=True)), progress=False)
    assert res["global_step"] == 2 and np.isfinite(res["final_loss"])


def test_merge_adapter_gives_same_logits(workdir, tmp_path):
    from dfec.model.inference import load_captioner
    from dfec.model.processor import FaceTrackProcessor

    d = workdir
    assert main(["train", "--config", str(_cfg(d, "tomerge", max_steps=2)), "--quiet"]) == 0
    assert main(["train", "--merge", str(d / "tomerge"), "--out", str(tmp_path / "merged")]) == 0
    assert json.loads((tmp_path / "merged" / "config.json").read_text())["model_type"] == "facetrack_mm"
    a, m = load_captioner(d / "tomerge", device="cpu"), load_captioner(tmp_path / "merged", device="cpu")
    assert type(m.model).__name__ == "FaceTrackForCausalLM"
    proc = FaceTrackProcessor.from_pretrained(tmp_path / "merged")
    batch = proc.collate([proc(d / "a.mp4", "describe the face .", "he nods .", tracking=fake_tracking(d / "a.mp4"))])
    with torch.no_grad():
        assert torch.allclose(a.model(**batch).logits, m.model(**batch).logits, atol=1e-4)


@pytest.mark.slow
def test_accelerate_launch_two_cpu_processes(workdir):
    """The multi-process path (`accelerate launch`, DDP on gloo): each process takes half of the data."""
    import subprocess
    import sys

    d = workdir
    recs = json.loads((d / "train.json").read_text())
    (d / "train4.json").write_text(json.dumps([dict(r, id=f"{r['id']}{i}") for i in range(2) for r in recs]))
    cfg = _cfg(d, "ddp", data="train4.json", max_steps=2, global_batch_size=2)
    env = dict(os.environ, HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--cpu", "--num_processes", "2", "--num_machines", "1",
           "--mixed_precision", "no", "--dynamo_backend", "no", "-m", "dfec.cli", "train", "--config", str(cfg), "--quiet"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    log = [json.loads(l) for l in (d / "ddp" / "train_log.jsonl").read_text().splitlines()]
    # 4 samples, 2 processes x batch 1, accumulation 1 -> 2 optimiser steps per epoch
    assert [(r["step"], r["epoch"]) for r in log] == [(1, 0.5), (2, 1.0)]
    assert (d / "ddp" / "adapter_model.safetensors").is_file()


def test_launch_helper_points_accelerate_at_the_shipped_deepspeed_json(capsys, tmp_path):
    import yaml

    from dfec.train.launch import accelerate_config, main as launch_main

    cfg = accelerate_config(gpus=4, zero=3)
    assert cfg["num_processes"] == 4 and cfg["distributed_type"] == "DEEPSPEED"
    ds = Path(cfg["deepspeed_config"]["deepspeed_config_file"])
    assert ds.is_absolute() and ds.name == "zero3.json" and ds.is_file()
    assert accelerate_config(gpus=2, zero=0)["distributed_type"] == "MULTI_GPU"
    assert launch_main(["--config", "cfg.yaml", "--gpus", "2", "--zero", "2", "--set", "max_steps=5", "--dry-run"]) == 0
    out = capsys.readouterr().out
    first, rest = out.split("\n", 1)
    assert "accelerate.commands.launch" in first and "dfec.cli train --config" in first and "--set max_steps=5" in first
    printed = yaml.safe_load(rest)
    assert printed["num_processes"] == 2 and printed["deepspeed_config"]["deepspeed_config_file"].endswith("zero2.json")
