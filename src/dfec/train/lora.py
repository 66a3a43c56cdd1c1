"""LoRA on FaceTrack-MM: wrap the LLM, save the trained parts, fold them back into full weights.

Paper (implementation details): LoRA rank 64 / alpha 128 / dropout 0.05 on Mistral's attention and
MLP linear layers; the connectors are trained fully; the towers stay frozen.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..errors import DfecError
from ..model.loading import BASE_FILE, NON_LORA_FILE, load_base_model, load_trained, resolve_layout
from .config import TrainConfig


def apply_lora(model, cfg: TrainConfig):
    """Freeze the towers, wrap Mistral's linear layers with LoRA, keep the connectors trainable."""
    from peft import LoraConfig, get_peft_model

    from ..model.modeling_facetrack import PROJECTOR_PREFIXES

    model.freeze_for_finetuning()
    lcfg = LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                      target_modules=cfg.lora_target, bias="none")
    peft_model = get_peft_model(model, lcfg)
    prefixes = PROJECTOR_PREFIXES + (("model.face_encoder.",) if cfg.train_face_encoder else ())
    for name, p in model.named_parameters():
        if name.startswith(prefixes):
            p.requires_grad_(True)
    # trainable connectors keep float32 master weights (the LoRA weights are float32 in peft too);
    # bf16 autocast still runs their matmuls in bf16
    for name in ("mm_projector", "face_projector") + (("face_encoder",) if cfg.train_face_encoder else ()):
        if hasattr(model.model, name):
            getattr(model.model, name).float()
    return peft_model


def non_lora_state(model, include_face_encoder: bool = True) -> dict:
    """Connector (and face encoder) tensors of the base model, keyed as in the base model."""
    base = _base(model)
    keep = ("model.mm_projector.", "model.face_projector.") + (("model.face_encoder.",) if include_face_encoder else ())
    return {k: v.detach().cpu().contiguous() for k, v in base.state_dict().items() if k.startswith(keep)}


def _base(model):
    """The FaceTrackForCausalLM inside a PeftModel / DDP wrapper."""
    m = getattr(model, "module", model)
    if hasattr(m, "get_base_model"):
        m = m.get_base_model()
    return m


def save_trained(model, out_dir, base: dict, processor=None, state_dict=None) -> None:
    """Write the LoRA adapter, the non-LoRA trainables and ``facetrack_base.json`` (safetensors only)."""
    from safetensors.torch import save_file

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    m = getattr(model, "module", model)
    m.save_pretrained(str(out), safe_serialization=True, state_dict=state_dict)
    if state_dict is not None:
        keep = ("model.mm_projector.", "model.face_projector.", "model.face_encoder.")
        sd = {}
        for k, v in state_dict.items():
            k2 = k.split("base_model.model.", 1)[-1]
            if k2.startswith(keep) and "lora_" not in k2:
                sd[k2] = v.detach().cpu().contiguous()
    else:
        sd = non_lora_state(m)
    save_file(sd, str(out / NON_LORA_FILE), metadata={"format": "pt"})
    (out / BASE_FILE).write_text(json.dumps(base, indent=2))
    if processor is not None:
        processor.save_pretrained(out)


def merge_adapter(adapter_dir, out_dir, dtype=None):
    """Fold a trained LoRA adapter into the base weights and save a full FaceTrack-MM checkpoint."""
    from ..model.processor import FaceTrackProcessor

    layout = resolve_layout(adapter_dir)
    if layout["kind"] != "adapter":
        raise DfecError("not a `dfec train` output folder (no adapter_config.json)", adapter_dir)
    from ..model.files import loader_errors

    with loader_errors(adapter_dir):
        peft_model = load_trained(load_base_model(layout["base"], dtype=dtype), adapter_dir)
    merged = peft_model.merge_and_unload()
    out = Path(out_dir)
    merged.save_pretrained(str(out))
    FaceTrackProcessor.from_pretrained(adapter_dir).save_pretrained(out)
    return out
