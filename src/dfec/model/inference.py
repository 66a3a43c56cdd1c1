"""FaceTrack-MM inference: ``load_captioner(path).caption(video)`` and the resumable list captioner.

Paper: a video is captioned by (1) the face tracking module (main character, 16 selected
frames, aligned face crops), (2) FaceTrack-MM on the frames + face crops with the instruction,
(3) greedy decoding of the caption.

``model_path`` may be any of these local folders (nothing is ever downloaded):

* a full FaceTrack-MM checkpoint: ``config.json`` (``model_type: facetrack_mm``), ``*.safetensors``
  and the tokenizer files (what ``save_pretrained`` / ``dfec train --merge`` write);
* a ``dfec train`` output: ``adapter_config.json`` + ``adapter_model.safetensors`` (LoRA),
  ``non_lora_trainables.safetensors`` and ``facetrack_base.json`` naming the base weights;
* a components folder: ``vision_tower/`` (CLIP ViT-L/14-336), ``llm/`` (Mistral-7B-Instruct) and
  optionally ``projector/`` (a VideoLLaMA2 checkpoint whose ``model.mm_projector.*`` is reused);
  the face branch then starts untrained, so this layout is for starting a fine-tune, not for
  good captions.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import DfecError

HOW_TO_GET = {
    "vision_tower": "get them with: huggingface-cli download openai/clip-vit-large-patch14-336 --local-dir {p}",
    "llm": "get them with: huggingface-cli download mistralai/Mistral-7B-Instruct-v0.2 --local-dir {p}",
    "projector": "get them with: huggingface-cli download DAMO-NLP-SG/VideoLLaMA2-7B-16F --local-dir {p}",
    "face_backbone": "get the FaceXFormer checkpoint with: huggingface-cli download kartiknarayan/facexformer "
                     "ckpts/model.pt --local-dir {p}.d (then point face_backbone at {p}.d/ckpts/model.pt), "
                     "or set face_backbone: null to start the face encoder from random weights",
    "model": "copy a FaceTrack-MM checkpoint there, or train one with `dfec train --config cfg.yaml` from base "
             "weights (huggingface-cli download openai/clip-vit-large-patch14-336 --local-dir {p}/vision_tower; "
             "huggingface-cli download mistralai/Mistral-7B-Instruct-v0.2 --local-dir {p}/llm)",
}


def _has_weights(p: Path) -> bool:
    return p.is_dir() and (p / "config.json").is_file() and any(p.glob("*.safetensors"))


def _missing(p: Path, what: str, key: str) -> DfecError:
    return DfecError(f"missing {what} weights (config.json + *.safetensors); {HOW_TO_GET[key].format(p=p)}",
                     p, exit_code=3)


def resolve_layout(model_path: str | Path) -> dict:
    """Which of the three layouts ``model_path`` holds; raises a one-line DfecError naming the gap
    or the broken file (:func:`dfec.model.files.check_layout`: JSON, config fields, safetensors
    headers and lengths, tokenizer)."""
    from .files import check_layout

    layout = _resolve(model_path)
    check_layout(layout)
    return layout


def _resolve(model_path: str | Path) -> dict:
    from .files import check_config, read_json_object

    p = Path(model_path).expanduser()
    if not p.exists():
        raise _missing(p, "FaceTrack-MM", "model")
    if not p.is_dir():
        raise DfecError("--model must be a folder, not a file", p)
    if (p / "adapter_config.json").is_file():
        base_file = p / "facetrack_base.json"
        if not base_file.is_file():
            raise DfecError("LoRA adapter folder lacks facetrack_base.json (written by `dfec train`)", p)
        base = read_json_object(base_file, "the base weights' paths")
        for key in ("model", "vision_tower", "llm", "projector", "face_backbone"):
            if base.get(key) is not None and not isinstance(base[key], str):
                raise DfecError(f"field '{key}' must be a folder path string", base_file)
        for key in ("model", "vision_tower", "llm"):
            if base.get(key) and not _has_weights(Path(base[key])):
                raise _missing(Path(base[key]), {"model": "FaceTrack-MM base", "vision_tower": "CLIP ViT-L/14-336",
                                                 "llm": "Mistral-7B-Instruct"}[key], key)
        if not (p / "adapter_model.safetensors").is_file():  # never a pickled adapter_model.bin, never the hub
            raise DfecError("missing adapter_model.safetensors (the LoRA weights `dfec train` writes) next to "
                            "adapter_config.json", p)
        if not (p / "non_lora_trainables.safetensors").is_file():
            raise DfecError("missing non_lora_trainables.safetensors (projector weights) next to the adapter", p)
        return {"kind": "adapter", "path": p, "base": base}
    cfg = p / "config.json"
    if cfg.is_file():
        model_type = check_config(cfg).get("model_type")
        if model_type != "facetrack_mm":
            raise DfecError(f"config.json is a '{model_type}' model, not FaceTrack-MM (facetrack_mm); for base "
                            "weights use a folder with vision_tower/ and llm/ sub-folders", p)
        if not any(p.glob("*.safetensors")):
            raise _missing(p, "FaceTrack-MM", "model")
        return {"kind": "full", "path": p}
    if (p / "vision_tower").exists() or (p / "llm").exists():
        for key, what in (("vision_tower", "CLIP ViT-L/14-336"), ("llm", "Mistral-7B-Instruct")):
            if not _has_weights(p / key):
                raise _missing(p / key, what, key)
        proj = p / "projector"
        if proj.exists() and not (any(proj.glob("*.safetensors")) or (proj / "mm_projector.bin").is_file()):
            raise _missing(proj, "VideoLLaMA2 projector", "projector")
        return {"kind": "components", "path": p, "vision_tower": p / "vision_tower", "llm": p / "llm",
                "projector": proj if proj.exists() else None}
    raise _missing(p, "FaceTrack-MM", "model")


def build_model(layout: dict, dtype=None):
    """Instantiate the model (and its processor) for a :func:`resolve_layout` result."""
    from .modeling_facetrack import FaceTrackForCausalLM
    from .processor import FaceTrackProcessor, ProcessorConfig

    kind = layout["kind"]
    if kind == "full":
        model = FaceTrackForCausalLM.from_pretrained(str(layout["path"]), local_files_only=True, use_safetensors=True,
                                                     dtype=dtype)
        return model, FaceTrackProcessor.from_pretrained(layout["path"])
    if kind == "components":
        model = FaceTrackForCausalLM.from_components(layout["vision_tower"], layout["llm"], layout["projector"],
                                                     dtype=dtype)
        proc = FaceTrackProcessor.from_pretrained(layout["path"], tokenizer_path=layout["llm"])
        proc.config = ProcessorConfig.from_model_config(model.config)
        return model, proc
    # adapter: rebuild the base, then apply LoRA and the saved projector weights
    from ..train.trainer import load_base_model, load_trained

    base = layout["base"]
    model = load_base_model(base, dtype=dtype)
    model = load_trained(model, layout["path"])
    return model, FaceTrackProcessor.from_pretrained(layout["path"])


class Captioner:
    """A loaded FaceTrack-MM with its processor; :meth:`caption` runs tracking -> inputs -> generate."""

    def __init__(self, model, processor, device=None):
        self.model = model.eval()
        self.processor = processor
        self.device = device or next(model.parameters()).device

    def caption(self, video_path, instruction: str | None = None, tracking=None, max_new_tokens: int = 256,
                **generate_kwargs) -> str:
        """Caption one video (tracking runs here unless ``tracking`` is given)."""
        import torch

        if tracking is None:
            from ..tracking.pipeline import track

            tracking = track(video_path, n_frames=self.processor.config.num_frames)
        sample = self.processor(video_path, instruction, tracking=tracking)
        batch = self.processor.collate([sample])
        batch = {k: v.to(self.device) for k, v in batch.items()}
        generate_kwargs.setdefault("do_sample", False)
        with torch.inference_mode():
            out = self.model.generate(**batch, max_new_tokens=max_new_tokens,
                                      eos_token_id=self.processor.tokenizer.eos_token_id, **generate_kwargs)
        return self.processor.tokenizer.decode(out[0], skip_special_tokens=True).strip()


def load_captioner(model_path, device=None, dtype=None) -> Captioner:
    """Load FaceTrack-MM from a local folder (see the module doc for the accepted layouts).

    ``device`` defaults to CUDA when available; ``dtype`` to bfloat16 on CUDA and float32 on CPU.
    Raises :class:`DfecError` (exit code 3) naming the missing folder and how to get its weights.
    """
    import torch

    layout = resolve_layout(model_path)
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if dtype is None:
        dtype = torch.bfloat16 if str(device).startswith("cuda") else torch.float32
    elif isinstance(dtype, str):
        dtype = getattr(torch, dtype)
    from .files import loading

    with loading(model_path):
        model, proc = build_model(layout, dtype=dtype)
    model.to(device)
    return Captioner(model, proc, torch.device(device))


def caption_list(list_file, model_path, out_jsonl, instruction: str | None = None, max_new_tokens: int = 256,
                 device=None, dtype=None, captioner=None, progress: bool = True) -> dict:
    """Caption every video of ``list_file`` into ``out_jsonl`` (one ``{"id","video","caption"}`` per line).

    Resumable: ids already in ``out_jsonl`` are skipped and each caption is flushed as soon as it
    is written. A video that fails (unreadable, ...) is reported on stderr and left for a rerun.
    Returns ``{"n_total", "n_done_before", "n_written", "n_failed", "failed"}``.
    """
    from ..jsonl import caption_to_jsonl, read_video_list

    if captioner is None:
        resolve_layout(model_path)  # missing weights: one error for the run, not one per video
    loaded = []

    def caption(path: str) -> str:
        if not loaded:  # load the model only when some video is left to caption
            try:
                loaded.append(captioner or load_captioner(model_path, device=device, dtype=dtype))
            except DfecError as exc:  # a broken model stops the run once, not once per video
                raise _ModelLoadFailed(exc) from None
        return loaded[0].caption(path, instruction=instruction, max_new_tokens=max_new_tokens)

    try:
        return caption_to_jsonl(read_video_list(list_file), caption, out_jsonl, progress=progress)
    except _ModelLoadFailed as failed:
        raise failed.error from None


class _ModelLoadFailed(Exception):
    def __init__(self, error: DfecError):
        super().__init__(error.message)
        self.error = error
