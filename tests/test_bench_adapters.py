"""Bench adapters: the OpenAI-compatible endpoint adapter against a local fake server, frame sampling."""
from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import numpy as np
import pytest

from stub_server import ChatStub, chat_completion

from dfec.bench.adapters import AdapterOptions, OpenAIAdapter, load_adapter, sample_frames
from dfec.bench.runner import BenchConfig, load_predictions, read_jsonl, run_bench
from dfec.errors import DfecError, MissingDependencyError


def _clip(path: Path, n: int = 40, fps: int = 20) -> None:
    """A synthetic clip whose frame k has brightness 5*k, so sampled frames reveal their index."""
    import av

    with av.open(str(path), "w") as c:
        s = c.add_stream("mpeg4", rate=fps)
        s.width, s.height, s.pix_fmt = 128, 96, "yuv420p"
        for k in range(n):
            f = np.full((96, 128, 3), 5 * k, np.uint8)
            for p in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)


class FakeChat(ChatStub):
    """A minimal OpenAI-compatible /v1/chat/completions server; fails the first ``fail_first`` calls."""

    def __init__(self, fail_first: int = 0, status: int = 500):
        self.requests: list[dict] = []
        self.fail_left = fail_first
        self.status = status
        super().__init__(self._answer)

    def _answer(self, body: dict, request):
        self.requests.append({"path": request.path, "auth": request.headers.get("Authorization"), "body": body})
        if self.fail_left > 0:
            self.fail_left -= 1
            return self.status, {"error": {"message": "try again", "type": "server_error"}}
        n_img = sum(1 for part in body["messages"][-1]["content"] if part.get("type") == "image_url")
        return 200, chat_completion(f"At the beginning the eyebrows rise ({n_img} frames); then the mouth opens.",
                                    body["model"])


def test_uniform_frame_sampling(tmp_path):
    clip = tmp_path / "c.mp4"
    _clip(clip)  # 40 frames at 20 fps = 2 s -> 32 frames at 16 fps
    frames = sample_frames(clip, 8)
    assert len(frames) == 8
    means = [float(f.mean()) for f in frames]
    assert all(b > a for a, b in zip(means, means[1:]))  # in time order
    assert means[0] < 40 and means[-1] > 150  # spread over the whole clip
    big = sample_frames(clip, 4, max_side=64)
    assert max(big[0].shape[:2]) == 64
    with pytest.raises(DfecError, match="no such file"):
        sample_frames(tmp_path / "missing.mp4", 4)


def test_openai_adapter_frames_temperature_retry(tmp_path):
    clip = tmp_path / "c.mp4"
    _clip(clip)
    with FakeChat(fail_first=1) as srv:
        ad = load_adapter("openai", AdapterOptions(api_base=srv.url, api_key="sk-test", api_model="fake-vlm",
                                                   n_frames=6, max_retries=2))
        ad.check()
        text = ad.caption(clip).text  # the one interface returns a Caption
    assert text == "At the beginning the eyebrows rise (6 frames); then the mouth opens."
    assert len(srv.requests) == 2  # one 500, one retry
    req = srv.requests[-1]
    assert req["path"] == "/v1/chat/completions" and req["auth"] == "Bearer sk-test"
    body = req["body"]
    assert body["model"] == "fake-vlm" and body["temperature"] == 0
    parts = body["messages"][-1]["content"]
    assert parts[0]["type"] == "text" and "facial expression" in parts[0]["text"]
    imgs = [p["image_url"]["url"] for p in parts if p["type"] == "image_url"]
    assert len(imgs) == 6 and all(u.startswith("data:image/jpeg;base64,") for u in imgs)
    from PIL import Image

    first = Image.open(io.BytesIO(base64.b64decode(imgs[0].split(",", 1)[1])))
    last = Image.open(io.BytesIO(base64.b64decode(imgs[-1].split(",", 1)[1])))
    assert first.format == "JPEG" and np.asarray(last).mean() > np.asarray(first).mean() + 50
    assert ad.name == "openai-fake-vlm"


def test_openai_adapter_gives_up_after_bounded_retries(tmp_path):
    clip = tmp_path / "c.mp4"
    _clip(clip)
    with FakeChat(fail_first=10) as srv:
        ad = OpenAIAdapter(AdapterOptions(api_base=srv.url, api_key="k", n_frames=2, max_retries=1))
        with pytest.raises(DfecError, match="after 2 tries"):
            ad.caption(clip)
    assert len(srv.requests) == 2
    with FakeChat(fail_first=1, status=400) as srv:  # a client error is not retried
        ad = OpenAIAdapter(AdapterOptions(api_base=srv.url, api_key="k", n_frames=2, max_retries=3))
        with pytest.raises(DfecError, match="API error 400"):
            ad.caption(clip)
    assert len(srv.requests) == 1


def test_openai_in_context_examples_through_the_runner(tmp_path):
    vids = tmp_path / "v"
    vids.mkdir()
    _clip(vids / "7.mp4")
    ref = tmp_path / "ref.json"
    ref.write_text(json.dumps([{"id": "7", "video": "somewhere/else/clip7.mp4", "caption": "r"}]))  # found as <id>.mp4
    shots = ["EXAMPLE-ONE: the man frowns, then smiles.", "EXAMPLE-TWO: she blinks twice.", "EXAMPLE-THREE: unused."]
    with FakeChat() as srv:
        opts = AdapterOptions(api_base=srv.url, api_key="k", api_model="m", n_frames=4, icl_examples=2, icl_captions=shots)
        summary = run_bench(BenchConfig(model="openai", videos=str(vids), ref=str(ref), out=str(tmp_path / "o"),
                                        options=opts, score=False, progress=False))
    assert summary["model"] == "openai-m*" and summary["n_new"] == 1
    text = srv.requests[0]["body"]["messages"][-1]["content"][0]["text"]
    assert "EXAMPLE-ONE" in text and "EXAMPLE-TWO" in text and "EXAMPLE-THREE" not in text
    assert load_predictions(tmp_path / "o" / "predictions.jsonl")["7"].endswith("(4 frames); then the mouth opens.")
    run = json.loads((tmp_path / "o" / "run.json").read_text())
    assert run["options"]["api_key"] == "***"  # the secret is not written to disk
    assert "k" not in json.dumps(run["options"]["api_key"])


def test_openai_missing_key_or_examples(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(MissingDependencyError, match="OPENAI_API_KEY"):
        OpenAIAdapter(AdapterOptions()).check()
    with pytest.raises(MissingDependencyError, match="--icl-file"):
        OpenAIAdapter(AdapterOptions(api_key="k", icl_examples=2)).check()


# ------------------------------------------------------------------------------------------
# Hugging Face video models: tiny random Qwen2-VL / LLaVA-OneVision folders built here
# ------------------------------------------------------------------------------------------

WORDS = ("describe in detail how the facial expression of main character this video changes over time . cover eyes , "
         "eyebrows mouth and head order they happen ( beginning middle end ) do not mention anything that is visible "
         "user assistant smile frown").split()


def _tiny_tokenizer(out: Path, special: list[str], image_tpl: str, video_tpl: str):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {t: i for i, t in enumerate(special + sorted(set(WORDS)))}
    tk = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation()])
    tk.decoder = decoders.WordPiece(prefix="##")
    tok = PreTrainedTokenizerFast(tokenizer_object=tk, unk_token="<unk>", eos_token="<|im_end|>", pad_token="<|endoftext|>")
    tok.add_special_tokens({"additional_special_tokens": special[2:]})
    tok.chat_template = (
        "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{% for c in m['content'] %}"
        "{% if c['type'] == 'image' %}" + image_tpl + "{% elif c['type'] == 'video' %}" + video_tpl +
        "{% else %}{{ c['text'] }}{% endif %}{% endfor %}<|im_end|>\n"
        "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
    tok.save_pretrained(out)
    return tok, {t: tok.convert_tokens_to_ids(t) for t in special}, len(vocab)


def _tiny_qwen2_vl(out: Path) -> None:
    import torch
    from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration

    special = ["<unk>", "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
               "<|image_pad|>", "<|video_pad|>"]
    _, ids, n = _tiny_tokenizer(out, special, "<|vision_start|><|image_pad|><|vision_end|>",
                                "<|vision_start|><|video_pad|><|vision_end|>")
    cfg = Qwen2VLConfig(
        text_config=dict(vocab_size=n, hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                         num_key_value_heads=1, rope_scaling={"type": "mrope", "mrope_section": [2, 3, 3]},
                         eos_token_id=ids["<|im_end|>"], pad_token_id=ids["<|endoftext|>"], bos_token_id=ids["<|endoftext|>"]),
        vision_config=dict(depth=1, embed_dim=32, hidden_size=32, num_heads=2, mlp_ratio=2, patch_size=14,
                           spatial_merge_size=2, temporal_patch_size=2),
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"])
    torch.manual_seed(0)
    m = Qwen2VLForConditionalGeneration(cfg)
    m.generation_config.eos_token_id, m.generation_config.pad_token_id = ids["<|im_end|>"], ids["<|endoftext|>"]
    m.generation_config.suppress_tokens = sorted(ids.values())  # random weights: keep the output to words
    m.save_pretrained(out)
    (out / "preprocessor_config.json").write_text(json.dumps({
        "image_processor_type": "Qwen2VLImageProcessor", "min_pixels": 3136, "max_pixels": 12544, "patch_size": 14,
        "temporal_patch_size": 2, "merge_size": 2, "image_mean": [0.5] * 3, "image_std": [0.5] * 3}))


def _tiny_llava_onevision(out: Path) -> None:
    import torch
    from transformers import LlavaOnevisionConfig, LlavaOnevisionForConditionalGeneration

    special = ["<unk>", "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<image>", "<video>"]
    _, ids, n = _tiny_tokenizer(out, special, "<image>", "<video>")
    pins = [[56, 56], [56, 112], [112, 56], [112, 112]]
    cfg = LlavaOnevisionConfig(
        vision_config=dict(model_type="siglip_vision_model", hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                           num_attention_heads=2, image_size=56, patch_size=14),
        text_config=dict(model_type="qwen2", vocab_size=n, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=1, eos_token_id=ids["<|im_end|>"],
                         pad_token_id=ids["<|endoftext|>"], bos_token_id=ids["<|endoftext|>"]),
        image_token_index=ids["<image>"], video_token_index=ids["<video>"], vision_feature_select_strategy="full",
        vision_feature_layer=-1, image_grid_pinpoints=pins)
    torch.manual_seed(0)
    m = LlavaOnevisionForConditionalGeneration(cfg)
    m.generation_config.eos_token_id, m.generation_config.pad_token_id = ids["<|im_end|>"], ids["<|endoftext|>"]
    m.generation_config.suppress_tokens = sorted(ids.values())  # random weights: keep the output to words
    m.save_pretrained(out)
    (out / "preprocessor_config.json").write_text(json.dumps({
        "image_processor_type": "LlavaOnevisionImageProcessor", "size": {"height": 56, "width": 56},
        "image_grid_pinpoints": pins, "image_mean": [0.5] * 3, "image_std": [0.5] * 3}))
    (out / "processor_config.json").write_text(json.dumps({
        "processor_class": "LlavaOnevisionProcessor", "num_image_tokens": 16, "vision_feature_select_strategy": "full"}))


@pytest.mark.parametrize("spec, build", [("qwen2-vl", _tiny_qwen2_vl), ("llava-onevision", _tiny_llava_onevision)])
def test_hf_video_model_adapters_run_offline(tmp_path, monkeypatch, spec, build):
    import importlib.util

    import torch

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model_dir = tmp_path / "weights"
    build(model_dir)
    vids = tmp_path / "v"
    vids.mkdir()
    _clip(vids / "s.mp4")
    _clip(vids / "t.mp4", n=24, fps=12)
    ref = tmp_path / "ref.json"
    ref.write_text(json.dumps([{"id": "s", "video": "s.mp4", "caption": "x"}, {"id": "t", "video": "t.mp4", "caption": "y"}]))
    device = "cuda" if torch.cuda.is_available() else "cpu"  # on a GPU: bfloat16 by default
    opts = AdapterOptions(model_path=str(model_dir), n_frames=4, max_new_tokens=6, device=device)
    summary = run_bench(BenchConfig(model=spec, videos=str(vids), ref=str(ref), out=str(tmp_path / "o"), options=opts,
                                    score=False, progress=False))
    assert summary["model"] == spec
    assert summary["n_new"] == 2, read_jsonl(tmp_path / "o" / "failures.jsonl")
    preds = load_predictions(tmp_path / "o" / "predictions.jsonl")
    vocab = set(WORDS) | {".", ",", "(", ")"}
    for caption in preds.values():  # a random model: words from its tiny vocabulary, greedy so deterministic
        toks = caption.replace(".", " . ").replace(",", " , ").split()
        assert toks and set(toks) <= vocab
    again = load_adapter(spec, opts)
    assert again.caption(vids / "s.mp4").text == preds["s"]
    # the processor's video path with torchvision, frames as an image sequence without it
    assert again._use_video == (importlib.util.find_spec("torchvision") is not None)


def test_openai_captioner_through_dfec_caption_on_one_clip_and_a_list(tmp_path, capsys):
    """The bench's captioners are `dfec caption --captioner` names too: one clip, then a list over 2 workers."""
    from dfec.cli import main

    _clip(tmp_path / "a.mp4")
    _clip(tmp_path / "b.mp4", n=20)
    lst = tmp_path / "videos.txt"
    lst.write_text("a.mp4\nb.mp4\n")
    with FakeChat() as srv:
        common = ["--captioner", "openai", "--api-base", srv.url, "--api-key", "sk-test", "--api-model", "fake-vlm",
                  "--n-frames", "5"]
        assert main(["caption", str(tmp_path / "a.mp4"), "--out", str(tmp_path / "one"), *common]) == 0
        assert capsys.readouterr().out.strip() == "At the beginning the eyebrows rise (5 frames); then the mouth opens."
        assert (tmp_path / "one" / "caption.txt").read_text().startswith("At the beginning the eyebrows rise (5 frames)")
        out = tmp_path / "preds.jsonl"
        assert main(["caption", "--list", str(lst), "--out", str(out), "--quiet", "--workers", "2", *common]) == 0
    recs = {r["id"]: r for r in (json.loads(x) for x in out.read_text().splitlines())}
    assert sorted(recs) == ["a", "b"] and all(r["caption"].endswith("(5 frames); then the mouth opens.") for r in recs.values())
    assert len(srv.requests) == 3 and all(r["body"]["model"] == "fake-vlm" for r in srv.requests)
