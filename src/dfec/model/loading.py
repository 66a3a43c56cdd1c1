"""Loading FaceTrack-MM from local folders: which layout a folder holds, and building the model from it.

Three layouts (see :mod:`dfec.model.inference`): a full checkpoint, a ``dfec train`` LoRA output
(``adapter_config.json`` + ``adapter_model.safetensors`` + ``non_lora_trainables.safetensors`` +
``facetrack_base.json``) and a components folder (``vision_tower/``, ``llm/``, optional
``projector/``). Only safetensors (and ``torch.load(weights_only=True)`` inside the components
loaders) are read; nothing is downloaded. Training (:mod:`dfec.train`) builds on these functions;
this module never imports training code.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import DfecError

#: files of a ``dfec train`` output folder (written by :func:`dfec.train.lora.save_trained`)
NON_LORA_FILE = "non_lora_trainables.safetensors"
BASE_FILE = "facetrack_base.json"

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
        base_file = p / BASE_FILE
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
        if not (p / NON_LORA_FILE).is_file():
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
    base = layout["base"]
    model = load_base_model(base, dtype=dtype)
    model = load_trained(model, layout["path"])
    return model, FaceTrackProcessor.from_pretrained(layout["path"])


def load_base_model(base: dict, dtype=None):
    """The frozen base (before LoRA) from a :meth:`TrainConfig.base_spec` dict."""
    from .modeling_facetrack import FaceTrackForCausalLM

    if base.get("model"):
        p = Path(base["model"])
        if not _has_weights(p):
            raise _missing(p, "FaceTrack-MM base", "model")
        return FaceTrackForCausalLM.from_pretrained(str(p), local_files_only=True, use_safetensors=True, dtype=dtype)
    for key, what in (("vision_tower", "CLIP ViT-L/14-336"), ("llm", "Mistral-7B-Instruct")):
        if not _has_weights(Path(base[key])):
            raise _missing(Path(base[key]), what, key)
    # the optional parts are checked before the 7B weights load, so a typo costs seconds, not minutes
    proj = base.get("projector")
    if proj and not (Path(proj).is_file() or any(Path(proj).glob("*.safetensors"))
                     or (Path(proj) / "mm_projector.bin").is_file()):
        raise _missing(Path(proj), "VideoLLaMA2 projector", "projector")
    face = base.get("face_backbone")
    if face and base.get("use_face_branch", True) and not (Path(face).is_file() or _has_weights(Path(face))):
        raise _missing(Path(face), "FaceXFormer / Swin face backbone", "face_backbone")
    kw = {k: base[k] for k in ("use_face_branch", "num_frames") if k in base}
    return FaceTrackForCausalLM.from_components(base["vision_tower"], base["llm"], base.get("projector"),
                                                base.get("face_backbone"), dtype=dtype, **kw)


def load_trained(model, adapter_dir):
    """Apply a saved adapter + non-LoRA trainables to a freshly built base model (inference)."""
    from peft import PeftModel
    from safetensors.torch import load_file

    d = Path(adapter_dir)
    peft_model = PeftModel.from_pretrained(model, str(d), is_trainable=False)
    sd = load_file(str(d / NON_LORA_FILE))
    base = peft_model.get_base_model()
    own = base.state_dict()
    bad = [k for k in sd if k not in own]
    if bad:
        raise DfecError(f"non-LoRA weights do not fit this base model (unexpected {bad[0]})", d / NON_LORA_FILE)
    base.load_state_dict({k: v.to(own[k].dtype) for k, v in sd.items()}, strict=False)
    return peft_model
