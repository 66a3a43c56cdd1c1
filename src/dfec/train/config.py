"""``dfec train`` settings (:class:`TrainConfig`): the paper's LoRA recipe as defaults."""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, fields
from pathlib import Path

from ..errors import DfecError

#: every linear layer of Mistral's decoder (attention + MLP), never CLIP's q/k/v projections
LORA_TARGET = r".*language_model\.model\.layers\.\d+\.(self_attn\.(q|k|v|o)_proj|mlp\.(gate|up|down)_proj)"


@dataclass
class TrainConfig:
    """``dfec train`` settings; defaults are the paper's recipe (see the module doc)."""

    data: str = ""                          # VideoLLaMA2-style JSON/JSONL (dfec data build's train.json)
    output_dir: str = "runs/facetrack-lora"
    video_root: str | None = None           # prefix for relative "video" paths (default: see data_root_for)
    # base weights: a FaceTrack-MM checkpoint folder, or the components below
    model: str | None = None
    vision_tower: str | None = None         # CLIP ViT-L/14-336 folder
    llm: str | None = None                  # Mistral-7B-Instruct folder
    projector: str | None = None            # VideoLLaMA2 checkpoint folder (its model.mm_projector.*)
    face_backbone: str | None = None        # transformers Swin folder for the FaceXFormer backbone
    use_face_branch: bool = True
    num_frames: int = 16
    # LoRA
    lora_r: int = 64
    lora_alpha: int = 128
    lora_dropout: float = 0.05
    lora_target: str = LORA_TARGET
    # optimisation
    learning_rate: float = 2e-4             # LoRA parameters
    projector_lr: float = 2e-5              # connectors (STC + face projector)
    weight_decay: float = 0.0
    warmup_ratio: float = 0.03
    lr_scheduler: str = "cosine"
    max_grad_norm: float = 1.0
    num_epochs: float = 3
    global_batch_size: int = 32
    per_device_batch_size: int = 1
    max_steps: int = -1                     # > 0 stops early (smoke tests)
    bf16: bool = True                       # used on CUDA; CPU runs stay float32
    gradient_checkpointing: bool = True
    train_face_encoder: bool = False
    # bookkeeping
    seed: int = 42
    logging_steps: int = 10
    save_steps: int = 500
    save_total_limit: int = 2
    resume_from_checkpoint: str | None = "auto"   # "auto": newest checkpoint-* in output_dir; a path; or null
    num_workers: int = 2
    track_on_the_fly: bool = True           # run face tracking when a record has neither "tracks" nor "faces"

    @classmethod
    def from_yaml(cls, path) -> "TrainConfig":
        from ..userfiles import check_known, read_mapping

        p = Path(path)
        d = read_mapping(p, "training settings")
        check_known(d, [f.name for f in fields(cls)], p)
        cfg = cls(**d)
        cfg.validate(p)
        base = p.parent
        for key in ("data", "output_dir", "video_root", "model", "vision_tower", "llm", "projector", "face_backbone"):
            v = getattr(cfg, key)
            if v and not Path(v).expanduser().is_absolute():
                setattr(cfg, key, str((base / v).resolve()))
        return cfg

    def validate(self, where="config") -> None:
        """One-line DfecError naming the first setting whose value has the wrong type or range."""
        for f in fields(self):
            v = getattr(self, f.name)
            kind_name = str(f.type).replace(" ", "")
            if v is None:
                if kind_name.endswith("|None"):
                    continue
                raise DfecError(f"setting '{f.name}' must not be empty (default {f.default!r})", where)
            base = kind_name.split("|")[0]
            if base == "bool":
                ok, kind = isinstance(v, bool), "true or false"
            elif base == "int":
                ok, kind = isinstance(v, int) and not isinstance(v, bool), "an integer"
            elif base == "float":
                if isinstance(v, str):  # YAML 1.1 reads "1e-4" (no dot) as a string
                    try:
                        v = float(v)
                        setattr(self, f.name, v)
                    except ValueError:
                        pass
                ok, kind = isinstance(v, (int, float)) and not isinstance(v, bool), "a number"
                if ok and not math.isfinite(v):
                    ok, kind = False, "a finite number"
            else:
                ok, kind = isinstance(v, str), "a string"
            if not ok:
                raise DfecError(f"setting '{f.name}' must be {kind}, got {v!r}", where)
        positive = ("lora_r", "lora_alpha", "global_batch_size", "per_device_batch_size", "num_frames",
                    "num_epochs", "logging_steps")
        for name in positive:
            if getattr(self, name) <= 0:
                raise DfecError(f"setting '{name}' must be positive, got {getattr(self, name)!r}", where)
        for name in ("learning_rate", "projector_lr", "weight_decay", "max_grad_norm", "num_workers", "save_steps"):
            if getattr(self, name) < 0:
                raise DfecError(f"setting '{name}' must not be negative, got {getattr(self, name)!r}", where)
        if not 0 <= self.lora_dropout < 1 or not 0 <= self.warmup_ratio < 1:
            bad = "lora_dropout" if not 0 <= self.lora_dropout < 1 else "warmup_ratio"
            raise DfecError(f"setting '{bad}' must be in [0, 1), got {getattr(self, bad)!r}", where)

    def base_spec(self) -> dict:
        """The base weights as absolute paths (written to ``facetrack_base.json``, read from anywhere)."""
        def a(v):
            return os.path.abspath(os.path.expanduser(v)) if v else v

        if self.model:
            return {"model": a(self.model)}
        if not (self.vision_tower and self.llm):
            raise DfecError("set `model` (a FaceTrack-MM checkpoint) or both `vision_tower` and `llm`", "config")
        return {"vision_tower": a(self.vision_tower), "llm": a(self.llm), "projector": a(self.projector),
                "face_backbone": a(self.face_backbone), "use_face_branch": self.use_face_branch,
                "num_frames": self.num_frames}
