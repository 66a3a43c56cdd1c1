"""Instruction tuning of FaceTrack-MM with LoRA (``dfec train --config cfg.yaml``).

Paper, Sec. 5.1 (implementation details): starting from the VideoLLaMA2-style model, the LLM is
tuned with LoRA (rank 64, alpha 128, dropout 0.05, on every linear layer of Mistral's attention and
MLP), the connectors (STC connector, face projector) are trained fully with their own learning
rate, the CLIP tower and the FaceXFormer encoder stay frozen; bf16, gradient checkpointing, a
global batch of 32 (per-device batch x accumulation x GPUs) and 3 epochs.

Runs on one device with plain ``python``/``dfec train`` and on several GPUs with
``python -m dfec.train.launch --gpus 8 --zero 2 --config cfg.yaml`` (= ``accelerate launch`` with the
shipped DeepSpeed ZeRO-2/3 or DDP configs; each process loads the base weights on CPU first, then
accelerate shards them).

Outputs in ``output_dir``: ``adapter_model.safetensors`` + ``adapter_config.json`` (LoRA),
``non_lora_trainables.safetensors`` (connectors, plus the face encoder so a randomly initialised
one is reproduced exactly), ``facetrack_base.json`` (the base weights), the tokenizer and
``processor_config.json``, ``train_log.jsonl`` and ``checkpoint-<step>/`` folders to resume from.
Only safetensors and ``torch.load(weights_only=True)`` are used for reading.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from ..errors import DfecError

#: every linear layer of Mistral's decoder (attention + MLP), never CLIP's q/k/v projections
LORA_TARGET = r".*language_model\.model\.layers\.\d+\.(self_attn\.(q|k|v|o)_proj|mlp\.(gate|up|down)_proj)"
NON_LORA_FILE = "non_lora_trainables.safetensors"
BASE_FILE = "facetrack_base.json"


@dataclass
class TrainConfig:
    """``dfec train`` settings; defaults are the paper's recipe (see the module doc)."""

    data: str = ""                          # VideoLLaMA2-style JSON/JSONL (dfec data build's train.json)
    output_dir: str = "runs/facetrack-lora"
    video_root: str | None = None           # prefix for relative "video" paths (default: the data file's folder)
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
        import yaml

        p = Path(path)
        if not p.is_file():
            raise DfecError("no such training config file", p)
        try:
            d = yaml.safe_load(p.read_text()) or {}
        except yaml.YAMLError as exc:
            raise DfecError(f"not valid YAML ({str(exc).splitlines()[0]})", p) from None
        if not isinstance(d, dict):
            raise DfecError("the training config must be a mapping of settings", p)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise DfecError(f"unknown setting(s): {', '.join(unknown)}", p)
        cfg = cls(**d)
        base = p.parent
        for key in ("data", "output_dir", "video_root", "model", "vision_tower", "llm", "projector", "face_backbone"):
            v = getattr(cfg, key)
            if v and not Path(v).expanduser().is_absolute():
                setattr(cfg, key, str((base / v).resolve()))
        return cfg

    def base_spec(self) -> dict:
        if self.model:
            return {"model": self.model}
        if not (self.vision_tower and self.llm):
            raise DfecError("set `model` (a FaceTrack-MM checkpoint) or both `vision_tower` and `llm`", "config")
        return {"vision_tower": self.vision_tower, "llm": self.llm, "projector": self.projector,
                "face_backbone": self.face_backbone, "use_face_branch": self.use_face_branch,
                "num_frames": self.num_frames}


# ------------------------------------------------------------------------------------------------
# model assembly
# ------------------------------------------------------------------------------------------------
def load_base_model(base: dict, dtype=None):
    """The frozen base (before LoRA) from a :meth:`TrainConfig.base_spec` dict."""
    from ..model.inference import _has_weights, _missing
    from ..model.modeling_facetrack import FaceTrackForCausalLM

    if base.get("model"):
        p = Path(base["model"])
        if not _has_weights(p):
            raise _missing(p, "FaceTrack-MM base", "model")
        return FaceTrackForCausalLM.from_pretrained(str(p), local_files_only=True, dtype=dtype)
    for key, what in (("vision_tower", "CLIP ViT-L/14-336"), ("llm", "Mistral-7B-Instruct")):
        if not _has_weights(Path(base[key])):
            raise _missing(Path(base[key]), what, key)
    kw = {k: base[k] for k in ("use_face_branch", "num_frames") if k in base}
    return FaceTrackForCausalLM.from_components(base["vision_tower"], base["llm"], base.get("projector"),
                                                base.get("face_backbone"), dtype=dtype, **kw)


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


def merge_adapter(adapter_dir, out_dir, dtype=None):
    """Fold a trained LoRA adapter into the base weights and save a full FaceTrack-MM checkpoint."""
    from ..model.inference import resolve_layout
    from ..model.processor import FaceTrackProcessor

    layout = resolve_layout(adapter_dir)
    if layout["kind"] != "adapter":
        raise DfecError("not a `dfec train` output folder (no adapter_config.json)", adapter_dir)
    peft_model = load_trained(load_base_model(layout["base"], dtype=dtype), adapter_dir)
    merged = peft_model.merge_and_unload()
    out = Path(out_dir)
    merged.save_pretrained(str(out))
    FaceTrackProcessor.from_pretrained(adapter_dir).save_pretrained(out)
    return out


# ------------------------------------------------------------------------------------------------
# data
# ------------------------------------------------------------------------------------------------
def load_samples(path, video_root=None) -> list[dict]:
    """Read VideoLLaMA2-style conversation records (or ``{video, instruction, caption}``) from JSON/JSONL.

    Each sample becomes ``{id, video, instruction, answer, tracks?, faces?}``; ``tracks`` is a
    ``tracks.json`` from ``dfec track --out`` and ``faces`` a list of crop images.
    """
    p = Path(path)
    if not p.is_file():
        raise DfecError("no such training data file", p)
    text = p.read_text(encoding="utf-8")
    try:
        recs = json.loads(text) if text.lstrip().startswith("[") else [json.loads(l) for l in text.splitlines() if l.strip()]
    except json.JSONDecodeError as exc:
        raise DfecError(f"not valid JSON/JSONL ({exc.msg} at line {exc.lineno})", p) from None
    root = Path(video_root) if video_root else p.parent
    out = []
    for i, r in enumerate(recs):
        if not isinstance(r, dict) or "video" not in r:
            raise DfecError(f"record {i} has no 'video'", p)
        if "conversations" in r:
            conv = r["conversations"]
            human = next((c["value"] for c in conv if c.get("from") in ("human", "user")), None)
            gpt = next((c["value"] for c in conv if c.get("from") in ("gpt", "assistant")), None)
        else:
            human, gpt = r.get("instruction"), r.get("caption") or r.get("answer")
        if not gpt:
            raise DfecError(f"record {i} ({r.get('id', '?')}) has no answer/caption", p)
        instr = (human or "").replace("<video>", "").strip() or None
        video = Path(r["video"])
        video = video if video.is_absolute() else root / video

        def _rel(x):
            return str(x if Path(x).is_absolute() else root / x)

        s = {"id": str(r.get("id", i)), "video": str(video), "instruction": instr, "answer": gpt}
        if r.get("tracks"):
            s["tracks"] = _rel(r["tracks"])
        if r.get("faces"):
            s["faces"] = [_rel(f) for f in r["faces"]]
        out.append(s)
    if not out:
        raise DfecError("no training records", p)
    return out


class FaceTrackDataset:
    """Map-style dataset: sample dict -> processor outputs (decodes the video on access)."""

    def __init__(self, samples: list[dict], processor, track_on_the_fly: bool = True):
        self.samples = samples
        self.processor = processor
        self.track_on_the_fly = track_on_the_fly

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> dict:
        from ..schema import TrackingResult

        s = self.samples[i]
        tracking = None
        if s.get("tracks"):
            tracking = TrackingResult.load(s["tracks"])
            tracking.video = s["video"]
        elif not s.get("faces") and self.track_on_the_fly:
            from ..tracking.pipeline import track

            tracking = track(s["video"], n_frames=self.processor.config.num_frames)
        return self.processor(s["video"], s["instruction"], s["answer"], tracking=tracking, face_images=s.get("faces"))


# ------------------------------------------------------------------------------------------------
# the loop
# ------------------------------------------------------------------------------------------------
def _latest_checkpoint(out_dir: Path) -> Path | None:
    cks = [p for p in out_dir.glob("checkpoint-*") if (p / "trainer_state.json").is_file()]
    return max(cks, key=lambda p: int(p.name.split("-")[1])) if cks else None


def _save_checkpoint(accelerator, model, optimizer, scheduler, ckpt: Path, state: dict, cfg: TrainConfig) -> None:
    import torch
    from safetensors.torch import save_file

    ckpt.mkdir(parents=True, exist_ok=True)
    if accelerator.distributed_type.name == "DEEPSPEED":
        accelerator.save_state(str(ckpt))          # DeepSpeed's own (partitioned) format
    elif accelerator.is_main_process:
        m = accelerator.unwrap_model(model)
        trainable = {n: p.detach().cpu().contiguous() for n, p in m.named_parameters() if p.requires_grad}
        save_file(trainable, str(ckpt / "trainables.safetensors"))
        torch.save(optimizer.state_dict(), ckpt / "optimizer.pt")        # read back with weights_only=True
        torch.save(scheduler.state_dict(), ckpt / "scheduler.pt")
    if accelerator.is_main_process:
        (ckpt / "trainer_state.json").write_text(json.dumps(state, indent=2))
    if accelerator.is_main_process and cfg.save_total_limit > 0:
        cks = sorted((p for p in ckpt.parent.glob("checkpoint-*") if p != ckpt), key=lambda p: int(p.name.split("-")[1]))
        import shutil

        for old in cks[: max(0, len(cks) - (cfg.save_total_limit - 1))]:
            shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()


def _load_checkpoint(accelerator, model, optimizer, scheduler, ckpt: Path) -> dict:
    import torch
    from safetensors.torch import load_file

    if accelerator.distributed_type.name == "DEEPSPEED":
        accelerator.load_state(str(ckpt))
    else:
        m = accelerator.unwrap_model(model)
        sd = load_file(str(ckpt / "trainables.safetensors"))
        missing = [n for n, p in m.named_parameters() if p.requires_grad and n not in sd]
        if missing:
            raise DfecError(f"checkpoint does not match this model (no {missing[0]})", ckpt)
        m.load_state_dict(sd, strict=False)
        optimizer.load_state_dict(torch.load(ckpt / "optimizer.pt", map_location="cpu", weights_only=True))
        scheduler.load_state_dict(torch.load(ckpt / "scheduler.pt", map_location="cpu", weights_only=True))
    return json.loads((ckpt / "trainer_state.json").read_text())


def train(cfg: TrainConfig, model=None, processor=None, progress: bool = True) -> dict:
    """Run LoRA instruction tuning; returns ``{"global_step", "final_loss", "output_dir", ...}``.

    ``model`` / ``processor`` may be passed in (tests, notebooks); else they are built from the
    config's base weights. Resumes from ``resume_from_checkpoint`` (``"auto"`` = the newest one).
    """
    import torch
    from accelerate import Accelerator
    from accelerate.utils import set_seed
    from tqdm import tqdm
    from transformers import get_scheduler

    from ..model.processor import FaceTrackProcessor, ProcessorConfig

    out = Path(cfg.output_dir)
    samples = load_samples(cfg.data, cfg.video_root)
    use_cuda = torch.cuda.is_available()
    mixed = "bf16" if (cfg.bf16 and use_cuda) else "no"
    world = int(os.environ.get("WORLD_SIZE", "1"))
    accum = max(1, cfg.global_batch_size // (cfg.per_device_batch_size * world))
    from accelerate.utils import DistributedDataParallelKwargs

    # a batch without any face leaves the face projector unused: DDP must allow that
    accelerator = Accelerator(mixed_precision=mixed, gradient_accumulation_steps=accum,
                              kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)])
    if accelerator.state.deepspeed_plugin is not None:
        ds = accelerator.state.deepspeed_plugin.deepspeed_config
        ds["gradient_accumulation_steps"] = accum
        ds["train_micro_batch_size_per_gpu"] = cfg.per_device_batch_size
        ds["train_batch_size"] = cfg.per_device_batch_size * accum * world
        ds["gradient_clipping"] = cfg.max_grad_norm
    set_seed(cfg.seed)

    base_spec = cfg.base_spec()
    if model is None:
        model = load_base_model(base_spec, dtype=torch.bfloat16 if mixed == "bf16" else None)
    if processor is None:
        src = base_spec.get("model") or base_spec["llm"]
        processor = FaceTrackProcessor.from_pretrained(src)
        processor.config = ProcessorConfig.from_model_config(model.config)
    model = apply_lora(model, cfg)
    if cfg.gradient_checkpointing:
        lm = _base(model).language_model
        if hasattr(lm, "activation_checkpointing_enable"):      # transformers >= 5.2 name
            lm.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
        else:
            lm.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        _base(model).language_model.config.use_cache = False

    lora_params = [p for n, p in model.named_parameters() if p.requires_grad and "lora_" in n]
    other_params = [p for n, p in model.named_parameters() if p.requires_grad and "lora_" not in n]
    optimizer = torch.optim.AdamW([
        {"params": lora_params, "lr": cfg.learning_rate, "weight_decay": cfg.weight_decay},
        {"params": other_params, "lr": cfg.projector_lr, "weight_decay": cfg.weight_decay},
    ], lr=cfg.learning_rate)

    dataset = FaceTrackDataset(samples, processor, cfg.track_on_the_fly)
    batches_per_epoch = math.ceil(len(dataset) / (cfg.per_device_batch_size * world))
    steps_per_epoch = max(1, math.ceil(batches_per_epoch / accum))
    total_steps = cfg.max_steps if cfg.max_steps > 0 else int(math.ceil(steps_per_epoch * cfg.num_epochs))
    scheduler = get_scheduler(cfg.lr_scheduler, optimizer, num_warmup_steps=int(cfg.warmup_ratio * total_steps),
                              num_training_steps=total_steps)

    def loader(epoch: int):
        g = torch.Generator().manual_seed(cfg.seed + epoch)  # a fixed order per epoch, so a resume is exact
        return torch.utils.data.DataLoader(dataset, batch_size=cfg.per_device_batch_size, shuffle=True, generator=g,
                                           collate_fn=processor.collate, num_workers=cfg.num_workers)

    model, optimizer, scheduler = accelerator.prepare(model, optimizer, scheduler)
    state = {"global_step": 0, "epoch": 0, "batches_in_epoch": 0}
    ckpt = None
    if cfg.resume_from_checkpoint == "auto":
        ckpt = _latest_checkpoint(out)
    elif cfg.resume_from_checkpoint:
        ckpt = Path(cfg.resume_from_checkpoint)
        if not (ckpt / "trainer_state.json").is_file():
            raise DfecError("not a training checkpoint (no trainer_state.json)", ckpt)
    if ckpt is not None:
        state = _load_checkpoint(accelerator, model, optimizer, scheduler, ckpt)
        accelerator.print(f"resuming from {ckpt} at step {state['global_step']}")

    if accelerator.is_main_process:
        out.mkdir(parents=True, exist_ok=True)
        (out / "train_config.json").write_text(json.dumps(asdict(cfg), indent=2))
    log_path = out / "train_log.jsonl"
    model.train()
    bar = tqdm(total=total_steps, initial=state["global_step"], desc="train", disable=not (progress and accelerator.is_main_process))
    losses: list[float] = []
    last_loss = float("nan")
    step = state["global_step"]
    epoch = state["epoch"]
    done = step >= total_steps
    while not done:
        dl = accelerator.prepare(loader(epoch))
        skip = state["batches_in_epoch"] if epoch == state["epoch"] else 0
        it = accelerator.skip_first_batches(dl, skip) if skip else dl
        n_batch = skip
        for batch in it:
            with accelerator.accumulate(model):
                loss = model(**batch).loss
                accelerator.backward(loss)
                if accelerator.sync_gradients and cfg.max_grad_norm:
                    accelerator.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], cfg.max_grad_norm)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad()
            n_batch += 1
            losses.append(float(loss.detach().float()))
            if accelerator.sync_gradients:
                step += 1
                last_loss = sum(losses) / len(losses)
                losses = []
                bar.update(1)
                bar.set_postfix(loss=f"{last_loss:.4f}")
                state = {"global_step": step, "epoch": epoch, "batches_in_epoch": n_batch, "loss": last_loss}
                if accelerator.is_main_process and (step % cfg.logging_steps == 0 or step == total_steps):
                    with log_path.open("a") as fh:
                        fh.write(json.dumps({"step": step, "epoch": epoch + n_batch / batches_per_epoch,
                                             "loss": last_loss, "lr": scheduler.get_last_lr()[0]}) + "\n")
                if cfg.save_steps > 0 and step % cfg.save_steps == 0 and step < total_steps:
                    _save_checkpoint(accelerator, model, optimizer, scheduler, out / f"checkpoint-{step}", state, cfg)
                if step >= total_steps:
                    done = True
                    break
        if not done:
            epoch += 1
            state = {"global_step": step, "epoch": epoch, "batches_in_epoch": 0, "loss": last_loss}
    bar.close()
    accelerator.wait_for_everyone()
    state_dict = accelerator.get_state_dict(model) if accelerator.distributed_type.name == "DEEPSPEED" else None
    if accelerator.is_main_process:
        save_trained(accelerator.unwrap_model(model), out, base_spec, processor, state_dict=state_dict)
    accelerator.wait_for_everyone()
    return {"global_step": step, "final_loss": last_loss, "output_dir": str(out), "total_steps": total_steps,
            "resumed_from": str(ckpt) if ckpt else None}
