"""Tiny random FaceTrack-MM checkpoints for tests and smoke runs (no download, seconds on a CPU).

:func:`tiny_tokenizer` builds an offline word-level tokenizer (``tokenizers`` WordLevel wrapped in
``PreTrainedTokenizerFast``) with Mistral's special tokens and chat format; :func:`save_tiny_checkpoint`
writes a complete FaceTrack-MM folder (config, safetensors weights, tokenizer, processor config)
with the same classes as the 7B model, so every code path (training, LoRA, inference) runs on it.
"""
from __future__ import annotations

from pathlib import Path

SPECIALS = ["<pad>", "<s>", "</s>", "<unk>", "[INST]", "[/INST]"]
WORDS = (
    "a the of and in to at is are his her their he she they it this that then while with from "
    "man woman person character main face video expression eyes eyebrows brows mouth lips head "
    "smiles smile frowns frown blinks blink raises raised opens open closes closed turns turn nods "
    "looks down up left right slightly widely quickly slowly begins beginning end middle finally "
    "describe dynamic facial detail please what does do how change changes young old hair glasses "
    ". , ? ! : ' -"
).split()


def tiny_tokenizer():
    """A ~130-token word-level tokenizer with Mistral's chat template (ids: pad 0, bos 1, eos 2)."""
    from tokenizers import Tokenizer, normalizers, pre_tokenizers
    from tokenizers.models import WordLevel
    from transformers import PreTrainedTokenizerFast

    from .processor import MISTRAL_CHAT_TEMPLATE

    vocab = {tok: i for i, tok in enumerate(SPECIALS)}
    for w in WORDS:
        vocab.setdefault(w, len(vocab))
    tk = Tokenizer(WordLevel(vocab, unk_token="<unk>"))
    tk.normalizer = normalizers.Lowercase()
    tk.pre_tokenizer = pre_tokenizers.Whitespace()
    tok = PreTrainedTokenizerFast(tokenizer_object=tk, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                                  pad_token="<pad>", additional_special_tokens=["[INST]", "[/INST]"])
    tok.chat_template = MISTRAL_CHAT_TEMPLATE
    return tok


def tiny_model(seed: int = 0, **overrides):
    """A FaceTrackForCausalLM built from :func:`~dfec.model.configuration_facetrack.tiny_config`."""
    import torch

    from .configuration_facetrack import tiny_config
    from .modeling_facetrack import FaceTrackForCausalLM

    torch.manual_seed(seed)
    vocab = len(tiny_tokenizer())
    return FaceTrackForCausalLM(tiny_config(vocab_size=max(128, vocab), **overrides))


def save_tiny_checkpoint(path: str | Path, seed: int = 0, **overrides) -> Path:
    """Write a tiny FaceTrack-MM checkpoint folder (config.json, model.safetensors, tokenizer)."""
    from .processor import FaceTrackProcessor, ProcessorConfig

    p = Path(path)
    model = tiny_model(seed, **overrides)
    model.save_pretrained(str(p))
    FaceTrackProcessor(tiny_tokenizer(), ProcessorConfig.from_model_config(model.config)).save_pretrained(p)
    return p


def synthetic_video(path: str | Path, n_frames: int = 20, width: int = 64, height: int = 48, fps: int = 16) -> Path:
    """Write a small MPEG-4 clip with a moving textured square (no face; for smoke runs)."""
    import av
    import numpy as np

    p = Path(path)
    rng = np.random.default_rng(0)
    patch = rng.integers(0, 255, (20, 20, 3), dtype=np.uint8)
    with av.open(str(p), "w") as c:
        s = c.add_stream("mpeg4", rate=fps)
        s.width, s.height, s.pix_fmt = width, height, "yuv420p"
        for i in range(n_frames):
            img = np.full((height, width, 3), (i * 10) % 255, np.uint8)
            x = 4 + i % max(1, width - 28)
            img[10:30, x:x + 20] = patch
            for pkt in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)
    return p


def fake_tracking(video: str | Path, n_frames: int = 20, selected=None, present=None, frame_size=(64, 48)):
    """A TrackingResult with one main track whose box covers the square of :func:`synthetic_video`.

    ``present`` lists the 16-fps frames where the face is found (default: all).
    """
    import numpy as np

    from ..schema import Track, TrackingResult

    frames = list(range(n_frames)) if present is None else list(present)
    boxes = np.tile([16.0, 8.0, 44.0, 32.0], (len(frames), 1))
    tr = Track(track_id=0, frames=frames, boxes=boxes, landmarks=np.zeros((len(frames), 68, 2)),
               scores=np.ones(len(frames)), is_main=True)
    sel = list(selected) if selected is not None else list(range(0, n_frames, max(1, n_frames // 4)))[:4]
    return TrackingResult(video=str(video), fps=16.0, n_frames=n_frames, frame_size=tuple(frame_size), tracks=[tr],
                          selected_frames=sel, selection_rule="single-track")
