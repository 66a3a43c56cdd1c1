"""FaceTrack-MM on tiny random configs: connector, splicing, LoRA training, generation, I/O."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("peft")

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from dfec.errors import DfecError  # noqa: E402
from dfec.model.configuration_facetrack import (IGNORE_INDEX, VIDEO_TOKEN_INDEX, FaceTrackConfig,  # noqa: E402
                                                paper_config, tiny_config)
from dfec.model.modeling_facetrack import FaceTrackForCausalLM  # noqa: E402
from dfec.model.processor import FaceTrackProcessor, ProcessorConfig  # noqa: E402
from dfec.model.stc_connector import STCConnector, load_videollama2_projector, stc_token_count  # noqa: E402
from dfec.model.tiny import fake_tracking, save_tiny_checkpoint, synthetic_video, tiny_model, tiny_tokenizer  # noqa: E402


@pytest.fixture(scope="module")
def tok():
    return tiny_tokenizer()


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return synthetic_video(tmp_path_factory.mktemp("vid") / "clip.mp4")


@pytest.fixture(scope="module")
def proc(tok):
    model_cfg = tiny_config()
    return FaceTrackProcessor(tok, ProcessorConfig.from_model_config(model_cfg))


def _sample(proc, video, answer="she smiles and then blinks .", instruction="describe the face ."):
    return proc(video, instruction, answer, tracking=fake_tracking(video))


# ------------------------------------------------------------------------------------------ STC
@pytest.mark.parametrize("frames,expected", [(8, 5 * 13 * 13), (16, 9 * 13 * 13)])
def test_stc_token_count_matches_formula_and_module(frames, expected):
    assert stc_token_count(frames, grid=24) == expected
    conn = STCConnector(in_dim=4, hidden=6, out_dim=5, depth=1)
    with torch.no_grad():
        out = conn(torch.randn(1, frames, 24 * 24, 4))
    assert out.shape == (1, expected, 5)


def test_paper_config_token_budget():
    cfg = paper_config()
    assert cfg.video_token_count(8) == 845 and cfg.video_token_count() == 1521
    assert cfg.face_token_count() == 32
    assert cfg.visual_token_count() == 1553
    assert cfg.vision_feature_layer == -2 and cfg.text_config.hidden_size == 4096
    assert cfg.face_backbone_config.depths == [2, 2, 18, 2]


def test_stc_key_layout_matches_videollama2():
    keys = set(STCConnector(8, 16, 16, depth=4).state_dict())
    for k in ("s1.b1.conv1.conv.weight", "s1.b1.conv1.bn.weight", "s1.b1.conv2.conv.weight", "s1.b1.se.fc1.weight",
              "s1.b1.se.fc2.bias", "s1.b1.conv3.bn.bias", "s1.b1.downsample.conv.weight", "s1.b4.conv3.conv.weight",
              "sampler.0.weight", "sampler.0.bias", "s2.b1.conv1.conv.weight", "s2.b4.se.fc1.weight",
              "readout.0.weight", "readout.2.bias"):
        assert k in keys, k
    assert "s2.b1.downsample.conv.weight" not in keys  # same width in s2 -> identity shortcut, as in timm
    # timm's RegNet-Y: depthwise 3x3 (group size 1) and SE width = 0.25 * block input channels
    sd = STCConnector(8, 16, 16, depth=4).state_dict()
    assert sd["s1.b1.conv2.conv.weight"].shape == (16, 1, 3, 3)
    assert sd["s1.b1.se.fc1.weight"].shape == (2, 16, 1, 1) and sd["s1.b2.se.fc1.weight"].shape == (4, 16, 1, 1)
    assert sd["sampler.0.weight"].shape == (16, 16, 2, 2, 2)


def test_videollama2_checkpoint_projector_loads(tmp_path):
    from safetensors.torch import save_file

    src = STCConnector(8, 16, 16, depth=4)
    ckpt = {f"model.mm_projector.{k}": v.clone() + 0.5 for k, v in src.state_dict().items()}
    ckpt["model.layers.0.self_attn.q_proj.weight"] = torch.zeros(4, 4)  # unrelated LLM tensors are ignored
    ckpt["model.vision_tower.vision_tower.vision_model.post_layernorm.weight"] = torch.zeros(4)
    folder = tmp_path / "VideoLLaMA2-7B-16F"
    folder.mkdir()
    half = len(ckpt) // 2
    items = list(ckpt.items())
    save_file(dict(items[:half]), str(folder / "model-00001-of-00002.safetensors"))
    save_file(dict(items[half:]), str(folder / "model-00002-of-00002.safetensors"))
    dst = STCConnector(8, 16, 16, depth=4)
    assert load_videollama2_projector(dst, folder) == []
    for k, v in dst.state_dict().items():
        assert torch.equal(v, ckpt[f"model.mm_projector.{k}"]), k
    # the pre-training release's mm_projector.bin, read with weights_only=True
    bin_dir = tmp_path / "pretrain"
    bin_dir.mkdir()
    torch.save({f"model.mm_projector.{k}": v * 2 for k, v in src.state_dict().items()}, bin_dir / "mm_projector.bin")
    dst2 = STCConnector(8, 16, 16, depth=4)
    load_videollama2_projector(dst2, bin_dir)
    assert torch.equal(dst2.state_dict()["readout.2.weight"], src.state_dict()["readout.2.weight"] * 2)
    with pytest.raises(DfecError, match="shape mismatch"):
        load_videollama2_projector(STCConnector(8, 32, 32, depth=4), folder)
    with pytest.raises(DfecError, match="no such VideoLLaMA2"):
        load_videollama2_projector(dst, tmp_path / "absent")


# ------------------------------------------------------------------------------------ processor
def test_processor_frames_faces_and_prompt(proc, video):
    tr = fake_tracking(video, selected=[0, 6, 12, 18], present=[0, 6, 18])
    vis = proc.visual_inputs(video, tr)
    assert vis.pixel_values.shape == (4, 3, 56, 56) and vis.pixel_values.dtype == np.float32
    assert vis.face_pixel_values.shape == (4, 3, 32, 32)
    assert vis.face_mask.tolist() == [True, True, False, True]          # no main face in frame 12
    assert (vis.face_pixel_values[2] == vis.face_pixel_values[2][:, :1, :1]).all()  # an empty slot stays blank
    assert vis.frame_indices == [0, 6, 12, 18]
    # without tracking: uniformly spaced frames of the 16-fps decode (20 frames -> centres of 4 segments)
    vis2 = proc.visual_inputs(video)
    assert vis2.frame_indices == [2, 7, 12, 17] and not vis2.face_mask.any()
    # frames padded to square: the 64x48 frame gets CLIP-mean bands top and bottom
    assert abs(float(vis2.pixel_values[0, :, 0, :].mean())) < 0.05
    prompt = proc.prompt_text("describe the face .")
    assert prompt.startswith("<s>[INST] <video>\n") and prompt.endswith("[/INST]")


def test_processor_rejects_missing_video(proc, tmp_path):
    with pytest.raises(DfecError, match="no such file"):
        proc.visual_inputs(tmp_path / "nope.mp4")


def test_token_splicing_and_label_masking(proc, video, tok):
    model = tiny_model().eval()
    s1 = _sample(proc, video)
    s2 = _sample(proc, video, answer="he nods .", instruction="what does the face do ?")
    ids = s1["input_ids"].tolist()
    p = ids.index(VIDEO_TOKEN_INDEX)
    n_answer = len(tok("she smiles and then blinks .", add_special_tokens=False)["input_ids"]) + 1  # + </s>
    assert s1["labels"].tolist()[: len(ids) - n_answer] == [IGNORE_INDEX] * (len(ids) - n_answer)
    assert s1["labels"].tolist()[-n_answer:] == ids[-n_answer:] and ids[-1] == tok.eos_token_id
    batch = proc.collate([s1, s2])
    with torch.no_grad():
        emb, mask, labels = model.prepare_multimodal_inputs(**{k: batch[k] for k in (
            "input_ids", "attention_mask", "labels", "pixel_values", "face_pixel_values", "face_mask")})
        video_tok = model.encode_video(batch["pixel_values"])
        faces = model.encode_faces(batch["face_pixel_values"], batch["face_mask"])
    n_vis = model.config.visual_token_count()           # 3*3*3 video + min(4*2, 4) face tokens
    assert video_tok.shape[1] == 27 and faces[0].shape[0] == 4 and n_vis == 31
    len1, len2 = len(s1["input_ids"]) - 1 + n_vis, len(s2["input_ids"]) - 1 + n_vis
    assert emb.shape[:2] == (2, max(len1, len2))
    assert mask[0].sum() == len1 and mask[1].sum() == len2 and mask[1, :len2].all()  # right padding
    # visual block sits where <video> was: video tokens then face tokens, labels ignored there
    assert torch.allclose(emb[0, p:p + 27], video_tok[0])
    assert torch.allclose(emb[0, p + 27:p + 31], faces[0])
    assert (labels[0, : len1 - n_answer] == IGNORE_INDEX).all()
    assert labels[0, len1 - n_answer:len1].tolist() == ids[-n_answer:]
    assert (labels[1, len2:] == IGNORE_INDEX).all()
    text_emb = model.get_input_embeddings()(torch.tensor(ids[p + 1:]))
    assert torch.allclose(emb[0, p + 31:len1], text_emb)
    # left padding for generation keeps the same content, shifted
    emb_l, mask_l, _ = model.prepare_multimodal_inputs(batch["input_ids"], batch["attention_mask"], None,
                                                       batch["pixel_values"], batch["face_pixel_values"],
                                                       batch["face_mask"], padding_side="left")
    short = 1 if len2 < len1 else 0
    pad = emb.shape[1] - min(len1, len2)
    assert mask_l[short, :pad].sum() == 0 and torch.allclose(emb_l[short, pad:], emb[short, : min(len1, len2)], atol=1e-6)


def test_no_face_video_uses_video_tokens_only(proc, video):
    model = tiny_model().eval()
    s = proc(video, "describe the face .", "he nods .")  # no tracking, no faces: face_mask all False
    assert not s["face_mask"].any()
    batch = proc.collate([s])
    emb, mask, _ = model.prepare_multimodal_inputs(batch["input_ids"], batch["attention_mask"], batch["labels"],
                                                   batch["pixel_values"], batch["face_pixel_values"], batch["face_mask"])
    assert emb.shape[1] == len(s["input_ids"]) - 1 + model.config.video_token_count()


# ------------------------------------------------------------------------------------- training
def _lora_model(seed=0):
    from dfec.train.trainer import TrainConfig, apply_lora

    return apply_lora(tiny_model(seed), TrainConfig(lora_r=4, lora_alpha=8))


def test_forward_loss_finite_and_grads_reach_only_lora_and_projectors(proc, video):
    model = _lora_model()
    model.train()
    batch = proc.collate([_sample(proc, video)])
    out = model(**batch)
    assert torch.isfinite(out.loss)
    out.loss.backward()
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all(("lora_" in n) or (".mm_projector." in n) or (".face_projector." in n) for n in trainable)
    n_lora_modules = sum(1 for n in trainable if n.endswith("lora_A.default.weight"))
    assert n_lora_modules == 7 * model.get_base_model().config.text_config.num_hidden_layers
    assert not any("vision_tower" in n or "face_encoder" in n or "embed_tokens" in n for n in trainable)
    for n, p in model.named_parameters():
        if p.requires_grad:
            assert p.grad is not None, f"no gradient reached {n}"
        else:
            assert p.grad is None, f"frozen {n} got a gradient"
    # LoRA A gets signal through B only after B moves; the projectors get a non-zero gradient at once
    assert any(p.grad.abs().sum() > 0 for n, p in model.named_parameters() if ".mm_projector." in n)
    assert any(p.grad.abs().sum() > 0 for n, p in model.named_parameters() if "lora_B" in n)


def test_overfit_one_sample(proc, video):
    torch.manual_seed(0)
    model = _lora_model()
    model.train()
    batch = proc.collate([_sample(proc, video)])
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=5e-3)
    losses = []
    for _ in range(15):
        loss = model(**batch).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses


def test_generate_returns_new_tokens(proc, video):
    model = tiny_model().eval()
    s = proc(video, "describe the face .", tracking=fake_tracking(video))
    batch = proc.collate([s, proc(video, "what does the face do ?", tracking=fake_tracking(video))])
    out = model.generate(**batch, max_new_tokens=5, do_sample=False, eos_token_id=None)
    assert out.shape == (2, 5) and out.dtype == torch.long
    assert ((out >= 0) & (out < model.config.text_config.vocab_size)).all()
    # batched (left padded) generation equals the single-sample one
    single = model.generate(**proc.collate([s]), max_new_tokens=5, do_sample=False, eos_token_id=None)
    assert torch.equal(single[0], out[0])


def test_adapter_save_load_roundtrip_identical_logits(proc, video, tmp_path):
    from dfec.train.trainer import load_base_model, load_trained, save_trained

    base_dir = save_tiny_checkpoint(tmp_path / "base", seed=3)
    base = load_base_model({"model": str(base_dir)})
    from dfec.train.trainer import TrainConfig, apply_lora

    model = apply_lora(base, TrainConfig(lora_r=4, lora_alpha=8))
    batch = proc.collate([_sample(proc, video)])
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    for _ in range(3):  # move LoRA B and the projectors away from their initial values
        model(**batch).loss.backward()
        opt.step()
        opt.zero_grad()
    model.eval()
    with torch.no_grad():
        ref = model(**batch).logits
    save_trained(model, tmp_path / "adapter", {"model": str(base_dir)}, proc)
    for f in ("adapter_model.safetensors", "adapter_config.json", "non_lora_trainables.safetensors", "facetrack_base.json"):
        assert (tmp_path / "adapter" / f).is_file(), f
    assert not list((tmp_path / "adapter").glob("*.bin"))
    fresh = load_trained(load_base_model({"model": str(base_dir)}), tmp_path / "adapter").eval()
    with torch.no_grad():
        got = fresh(**batch).logits
    assert torch.equal(got, ref)
    untrained = load_base_model({"model": str(base_dir)}).eval()
    with torch.no_grad():
        assert not torch.allclose(untrained(**batch).logits, ref)


def test_auto_classes_and_save_pretrained_roundtrip(tmp_path, proc, video):
    from transformers import AutoConfig, AutoModelForCausalLM

    path = save_tiny_checkpoint(tmp_path / "ckpt")
    assert json.loads((path / "config.json").read_text())["model_type"] == "facetrack_mm"
    assert isinstance(AutoConfig.from_pretrained(str(path)), FaceTrackConfig)
    m1 = AutoModelForCausalLM.from_pretrained(str(path)).eval()
    m2 = FaceTrackForCausalLM.from_pretrained(str(path)).eval()
    assert isinstance(m1, FaceTrackForCausalLM)
    assert list(path.glob("*.safetensors")) and not list(path.glob("*.bin"))
    batch = proc.collate([_sample(proc, video)])
    with torch.no_grad():
        assert torch.equal(m1(**batch).logits, m2(**batch).logits)


def test_from_components_loads_clip_mistral_and_projector(tmp_path, proc, video):
    from safetensors.torch import save_file
    from transformers import CLIPConfig, CLIPModel, CLIPVisionModel, MistralForCausalLM

    cfg = tiny_config(vocab_size=128)
    torch.manual_seed(1)
    # the released openai/clip-vit-large-patch14-336 folder is a full CLIPModel (text + vision)
    clip_cfg = CLIPConfig(vision_config=cfg.vision_config.to_dict(),
                          text_config=dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                           num_attention_heads=2, vocab_size=64), projection_dim=16)
    CLIPModel(clip_cfg).save_pretrained(str(tmp_path / "clip"))
    MistralForCausalLM(cfg.text_config).save_pretrained(str(tmp_path / "llm"))
    stc = STCConnector(cfg.vision_config.hidden_size, cfg.text_config.hidden_size, depth=4)
    save_file({f"model.mm_projector.{k}": v for k, v in stc.state_dict().items()}, str(tmp_path / "vl2.safetensors"))
    model = FaceTrackForCausalLM.from_components(tmp_path / "clip", tmp_path / "llm", tmp_path / "vl2.safetensors",
                                                 num_frames=4, face_image_size=32, face_dim=16, face_decoder_depth=1,
                                                 face_decoder_heads=2, face_max_tokens=4,
                                                 face_backbone_config=cfg.face_backbone_config.to_dict())
    llm = MistralForCausalLM.from_pretrained(str(tmp_path / "llm"))
    assert torch.equal(model.language_model.lm_head.weight, llm.lm_head.weight)
    clip = CLIPModel.from_pretrained(str(tmp_path / "clip"))
    assert torch.equal(model.model.vision_tower.post_layernorm.weight,
                       clip.vision_model.post_layernorm.weight)
    assert torch.equal(model.model.vision_tower.embeddings.patch_embedding.weight,
                       clip.vision_model.embeddings.patch_embedding.weight)
    assert torch.equal(model.model.mm_projector.state_dict()["s2.b4.conv3.conv.weight"],
                       stc.state_dict()["s2.b4.conv3.conv.weight"])
    with torch.no_grad():
        out = model.eval()(**proc.collate([_sample(proc, video)]))
    assert torch.isfinite(out.loss)


# ------------------------------------------------------------------------------------ inference
def test_load_captioner_names_missing_path_in_one_line(tmp_path):
    from dfec.model.inference import load_captioner

    with pytest.raises(DfecError) as e:
        load_captioner(tmp_path / "FaceTrack-MM-7B")
    msg = e.value.message
    assert str(tmp_path / "FaceTrack-MM-7B") in msg and "\n" not in msg and e.value.exit_code == 3
    comp = tmp_path / "components"
    (comp / "vision_tower").mkdir(parents=True)
    (comp / "vision_tower" / "config.json").write_text("{}")
    (comp / "vision_tower" / "model.safetensors").write_bytes(b"")
    with pytest.raises(DfecError) as e:
        load_captioner(comp)
    assert str(comp / "llm") in e.value.message and "Mistral-7B-Instruct" in e.value.message
    assert "huggingface-cli download mistralai/Mistral-7B-Instruct-v0.2" in e.value.message
    wrong = tmp_path / "wrong"
    wrong.mkdir()
    (wrong / "config.json").write_text(json.dumps({"model_type": "llama"}))
    with pytest.raises(DfecError, match="not FaceTrack-MM"):
        load_captioner(wrong)


def test_caption_and_resumable_caption_list(tmp_path, video, monkeypatch):
    from dfec.model import inference
    from dfec.tracking import pipeline

    calls = []

    def fake_track(path, config=None, n_frames=16, out_dir=None, progress=False):
        calls.append(str(path))
        if "broken" in str(path):
            raise DfecError("no such file", path)
        return fake_tracking(path)

    monkeypatch.setattr(pipeline, "track", fake_track)
    ckpt = save_tiny_checkpoint(tmp_path / "ckpt")
    cap = inference.load_captioner(ckpt)
    text = cap.caption(video, max_new_tokens=6)
    assert isinstance(text, str) and text
    lst = tmp_path / "videos.txt"
    lst.write_text(f"a\t{video}\nb\t{video}\n# comment\n\n{tmp_path / 'broken.mp4'}\n")
    out = tmp_path / "preds" / "pred.jsonl"
    out.parent.mkdir()
    out.write_text(json.dumps({"id": "a", "video": str(video), "caption": "kept"}) + "\n" + '{"id": "b", "vid')
    res = inference.caption_list(lst, ckpt, out, max_new_tokens=6, captioner=cap, progress=False)
    assert res == {"n_total": 3, "n_done_before": 1, "n_written": 1, "n_failed": 1, "failed": ["broken"]}
    recs = [json.loads(l) for l in out.read_text().splitlines() if l.startswith('{"id"') and l.endswith("}")]
    assert [r["id"] for r in recs] == ["a", "b"] and recs[0]["caption"] == "kept" and recs[1]["caption"]
    n_calls = len(calls)
    res2 = inference.caption_list(lst, ckpt, out, captioner=cap, progress=False)
    assert res2["n_written"] == 0 and res2["n_done_before"] == 2 and len(calls) == n_calls + 1  # only the failed one


@pytest.mark.gpu
def test_tiny_model_on_cuda_bf16(proc, video):
    model = tiny_model().to("cuda", torch.bfloat16).eval()
    batch = {k: v.to("cuda") for k, v in proc.collate([_sample(proc, video)]).items()}
    with torch.no_grad():
        out = model(**batch)
    assert torch.isfinite(out.loss.float())
    gen = model.generate(**batch, max_new_tokens=4, do_sample=False, eos_token_id=None)
    assert gen.shape == (1, 4)


# ---------------------------------------------------------------------------------------- budget
def test_budget_counts_match_built_modules():
    from dfec.model.budget import count_parameters, estimate_training_memory, lora_param_count

    cfg = tiny_config()
    counts = count_parameters(cfg, lora_r=4)
    model = FaceTrackForCausalLM(cfg)
    assert counts["total"] == sum(p.numel() for p in model.parameters())
    assert counts["mm_projector"] == sum(p.numel() for p in model.model.mm_projector.parameters())
    peft_model = _lora_model()
    n_lora = sum(p.numel() for n, p in peft_model.named_parameters() if "lora_" in n)
    assert lora_param_count(cfg.text_config, 4) == n_lora == counts["lora"]
    n_trainable = sum(p.numel() for p in peft_model.parameters() if p.requires_grad)
    assert counts["trainable"] == n_trainable
    no_gc = estimate_training_memory(cfg, counts, 4, gradient_checkpointing=False)
    gc = estimate_training_memory(cfg, counts, 4, gradient_checkpointing=True)
    assert gc.total_gib < no_gc.total_gib and gc.seq_len == cfg.visual_token_count() + 320


def test_budget_report_for_the_7b_config_on_meta():
    from dfec.model.budget import budget_report, format_report

    rep = budget_report()
    p = rep["params"]
    assert 7.2e9 < p["language_model"] < 7.3e9 and 3.0e8 < p["vision_tower"] < 3.1e8
    assert p["lora"] == 167_772_160            # r=64 on all 7 projections of Mistral-7B's 32 layers
    assert rep["tokens"]["visual_tokens_per_video"] == 1553 and rep["tokens"]["video_tokens_8_frames"] == 845
    no_gc, gc = rep["memory"]
    assert 14 < gc["weights_gib"] < 16 and gc["total_gib"] < no_gc["total_gib"]
    assert "| total |" in format_report(rep)


# ------------------------------------------------------------------------------------ FaceXFormer
def _to_torchvision_layout(sd: dict) -> dict:
    """The inverse key mapping: our encoder's tensors written the way FaceXFormer's checkpoint names them."""
    import re

    inv = {"layernorm_before": "norm1", "layernorm_after": "norm2", "attention.o_proj": "attn.proj",
           "attention.relative_position_bias.relative_position_bias_table": "attn.relative_position_bias_table",
           "mlp.fc1": "mlp.0", "mlp.fc2": "mlp.3"}
    out = {}
    for k, v in sd.items():
        if k.startswith("backbone.swin.embeddings.patch_embeddings.projection."):
            out["backbone.0.0.0." + k.rsplit(".", 1)[1]] = v
        elif k.startswith("backbone.swin.embeddings.norm."):
            out["backbone.0.0.2." + k.rsplit(".", 1)[1]] = v
        elif m := re.match(r"backbone\.swin\.encoder\.layers\.(\d+)\.downsample\.(.*)", k):
            out[f"backbone.0.{2 * int(m.group(1)) + 2}.{m.group(2)}"] = v
        elif m := re.match(r"backbone\.swin\.encoder\.layers\.(\d+)\.blocks\.(\d+)\.(.*)", k):
            pre = f"backbone.0.{2 * int(m.group(1)) + 1}.{m.group(2)}."
            name = m.group(3)
            if name.startswith("attention.q_proj."):
                kind = name.rsplit(".", 1)[1]
                base = k.rsplit("attention.", 1)[0]
                out[pre + "attn.qkv." + kind] = torch.cat([sd[base + f"attention.{x}_proj.{kind}"] for x in "qkv"])
            elif name.startswith(("attention.k_proj.", "attention.v_proj.")):
                continue
            else:
                for ours, theirs in inv.items():
                    if name.startswith(ours):
                        out[pre + theirs + name[len(ours):]] = v
        elif not k.startswith("backbone."):
            out[k] = v
    # tensors FaceXFormer has and FaceTrack-MM does not use
    out["backbone.1.weight"] = torch.ones(4)
    out["face_decoder.landmarks_prediction_head.layers.0.weight"] = torch.zeros(3, 3)
    out["face_decoder.output_upscaling.0.weight"] = torch.zeros(3, 3)
    return out


def test_facexformer_checkpoint_converts_and_loads(tmp_path):
    from dfec.model.face_encoder import FaceXFormerEncoder, load_facexformer_checkpoint

    cfg = tiny_config()
    kw = dict(dim=16, depth=2, heads=2, mlp_dim=32, n_mask_tokens=11)
    torch.manual_seed(0)
    src = FaceXFormerEncoder(cfg.face_backbone_config, **kw).eval()
    torch.manual_seed(1)
    dst = FaceXFormerEncoder(cfg.face_backbone_config, **kw).eval()
    ckpt = tmp_path / "facexformer.pt"
    torch.save({"state_dict_backbone": _to_torchvision_layout(src.state_dict()), "epoch": 12}, ckpt)
    missing = load_facexformer_checkpoint(dst, ckpt)
    assert all(m.startswith("backbone.swin.layernorm.") or "relative_position_index" in m for m in missing), missing
    for k, v in src.state_dict().items():
        if k not in missing:
            assert torch.equal(dst.state_dict()[k], v), k
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        out = dst(x)
        assert torch.equal(out, src(x))
    assert out.shape == (2, 7 + 11, 16)
    with pytest.raises(DfecError, match="does not fit"):
        load_facexformer_checkpoint(FaceXFormerEncoder(cfg.face_backbone_config, **{**kw, "dim": 32, "heads": 2}), ckpt)


def test_real_video_tracking_to_model_inputs(shared_data):
    """Real media: the tracking module's result feeds the processor and a tiny model end to end."""
    pytest.importorskip("dlib")
    from dfec.tracking.pipeline import track

    video = shared_data / "01-01-08-02-01-01-19.mp4"
    tr = track(video, n_frames=16)
    proc = FaceTrackProcessor(tiny_tokenizer(), ProcessorConfig(image_size=56, face_size=32))
    vis = proc.visual_inputs(tracking=tr)
    assert vis.pixel_values.shape == (16, 3, 56, 56) and vis.face_mask.sum() >= 12  # a single frontal speaker
    assert vis.frame_indices == sorted(tr.selected_frames)
    model = tiny_model(num_frames=16, face_max_tokens=32).eval()
    batch = proc.collate([proc(instruction="describe the face .", answer="he opens his mouth .", tracking=tr)])
    with torch.no_grad():
        out = model(**batch)
    assert torch.isfinite(out.loss)
    assert out.logits.shape[1] == len(batch["input_ids"][0]) - 1 + model.config.visual_token_count()


def test_videollama2_folder_serves_as_llm_and_projector(tmp_path):
    """A local VideoLLaMA2-7B(-16F) folder (model_type videollama2_mistral, one safetensors set
    holding model.layers.*, lm_head and model.mm_projector.*) initialises both the LLM and the STC."""
    from safetensors.torch import load_file, save_file
    from transformers import CLIPVisionModel, MistralForCausalLM

    cfg = tiny_config()
    CLIPVisionModel(cfg.vision_config).save_pretrained(str(tmp_path / "clip"))
    vl2 = tmp_path / "VideoLLaMA2-7B-16F"
    llm = MistralForCausalLM(cfg.text_config)
    llm.save_pretrained(str(vl2))
    conf = json.loads((vl2 / "config.json").read_text())
    conf.update(model_type="videollama2_mistral", mm_projector_type="stc_connector",
                mm_hidden_size=cfg.vision_config.hidden_size)
    (vl2 / "config.json").write_text(json.dumps(conf))
    sd = load_file(str(vl2 / "model.safetensors"))
    stc = STCConnector(cfg.vision_config.hidden_size, cfg.text_config.hidden_size, depth=4)
    sd.update({f"model.mm_projector.{k}": v.clone() for k, v in stc.state_dict().items()})
    save_file(sd, str(vl2 / "model.safetensors"), metadata={"format": "pt"})
    model = FaceTrackForCausalLM.from_components(tmp_path / "clip", vl2, vl2, use_face_branch=False, num_frames=4)
    assert not model.has_face_branch
    assert torch.equal(model.language_model.model.layers[1].mlp.up_proj.weight, llm.model.layers[1].mlp.up_proj.weight)
    assert torch.equal(model.model.mm_projector.state_dict()["sampler.0.weight"], stc.state_dict()["sampler.0.weight"])


def test_activation_coefficients_match_a_fresh_measurement():
    from dfec.model.budget import LLM_ACT_H, LLM_ACT_I, LLM_ACT_R, measure_llm_activation_bytes

    h, i, r = 384, 1344, 16          # a shape not used for the fit
    got = measure_llm_activation_bytes(h, i, r, seq=128)
    want = LLM_ACT_H * h + LLM_ACT_I * i + LLM_ACT_R * r
    assert abs(got - want) / want < 0.15, (got, want)
    assert measure_llm_activation_bytes(h, i, r, seq=128, gradient_checkpointing=True) == 2 * h


def test_processor_subsamples_a_longer_selection_and_pads_short_videos(proc, tmp_path):
    long_sel = fake_tracking(tmp_path / "x.mp4", n_frames=20, selected=list(range(0, 16, 2)))  # 8 selected, N=4
    v = synthetic_video(tmp_path / "x.mp4")
    vis = proc.visual_inputs(v, long_sel)
    assert vis.frame_indices == [2, 6, 10, 14]          # uniform over the 8 selected frames
    short = synthetic_video(tmp_path / "short.mp4", n_frames=2)
    vis2 = proc.visual_inputs(short)
    assert vis2.frame_indices == [0, 1, 1, 1] and vis2.pixel_values.shape[0] == 4
