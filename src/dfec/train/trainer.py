"""Instruction tuning of FaceTrack-MM with LoRA (``dfec train --config cfg.yaml``).

Paper (implementation details): starting from the VideoLLaMA2-style model, the LLM is
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
    from ..model.files import loading

    with loading(adapter_dir):
        peft_model = load_trained(load_base_model(layout["base"], dtype=dtype), adapter_dir)
    merged = peft_model.merge_and_unload()
    out = Path(out_dir)
    merged.save_pretrained(str(out))
    FaceTrackProcessor.from_pretrained(adapter_dir).save_pretrained(out)
    return out


# ------------------------------------------------------------------------------------------------
# data
# ------------------------------------------------------------------------------------------------
def data_root_for(path, video_root=None) -> Path:
    """The folder relative ``video`` paths of the training file ``path`` are taken from.

    ``video_root`` when given; else the ``data_root`` that ``dfec data build`` recorded in the
    ``build_summary.json`` next to the file (its train.json holds root-relative paths, VideoLLaMA2's
    ``data_folder`` convention); else the data file's own folder.
    """
    p = Path(path)
    if video_root:
        return Path(video_root).expanduser()
    summary = p.parent / "build_summary.json"
    if summary.is_file():
        try:
            root = json.loads(summary.read_text(encoding="utf-8")).get("data_root")
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
            root = None
        if isinstance(root, str) and root:
            r = Path(root).expanduser()
            return r if r.is_absolute() else (p.parent / r)
    return p.parent


def _turns(conv) -> tuple[str | None, str | None, str | None]:
    """``(human, gpt, problem)`` of a VideoLLaMA2 ``conversations`` list (its first exchange)."""
    if not isinstance(conv, list) or not conv:
        return None, None, "must be a non-empty list of {from, value} turns"
    for k, c in enumerate(conv):
        if not isinstance(c, dict) or not isinstance(c.get("from"), str) or not isinstance(c.get("value"), str):
            return None, None, f"turn {k} must be an object with string 'from' and 'value'"
    human = next((c["value"] for c in conv if c["from"] in ("human", "user")), None)
    gpt = next((c["value"] for c in conv if c["from"] in ("gpt", "assistant")), None)
    return human, gpt, None


def load_samples(path, video_root=None, check_files: bool = True) -> list[dict]:
    """Read VideoLLaMA2-style conversation records (or ``{video, instruction, caption}``) from JSON/JSONL.

    Each sample becomes ``{id, video, instruction, answer, tracks?, faces?}``; ``tracks`` is a
    ``tracks.json`` from ``dfec track --out`` and ``faces`` a list of crop images. Relative paths
    are taken from :func:`data_root_for` (``dfec data build``'s data root for its train.json).
    Every record is checked before training starts; a malformed one (or, with ``check_files``, one
    whose video / tracks / face files are missing) raises one DfecError naming the record (index
    and id) and the field, with the count of further bad records.
    """
    from ..userfiles import read_json, read_jsonl, read_text, resolve_under_root

    p = Path(path)
    if not p.is_file():
        raise DfecError("no such training data file", p)
    if read_text(p, "a training data file").lstrip().startswith("["):
        recs = read_json(p)
    else:
        recs = [rec for _, rec in read_jsonl(p, "a training data file")]
    if isinstance(recs, dict):
        raise DfecError("expected a JSON list (or JSONL) of training records, got an object", p)
    root = data_root_for(p, video_root)
    out, problems = [], []

    def _abs(x) -> Path:
        # the shared data-root check of `dfec data build`: no `..` above the root, no absolute
        # path elsewhere, no symlink climb
        return resolve_under_root(x, root)[0]

    for i, r in enumerate(recs):
        rid = r.get("id", i) if isinstance(r, dict) else i

        def bad(fld, why):
            problems.append(f"record {i} (id {str(rid)!r}): field '{fld}': {why}")

        if not isinstance(r, dict):
            bad("-", "not a JSON object")
            continue
        if not isinstance(r.get("video"), str) or not r["video"].strip():
            bad("video", "missing or not a non-empty string")
            continue
        if "conversations" in r:
            human, gpt, why = _turns(r["conversations"])
            if why:
                bad("conversations", why)
                continue
            if not (gpt or "").strip():
                bad("conversations", "no non-empty 'gpt' turn (the target caption)")
                continue
        else:
            human, gpt = r.get("instruction"), r.get("caption") or r.get("answer")
            if not isinstance(gpt, str) or not gpt.strip():
                if "facial_changes" in r or "attributes" in r:
                    bad("conversations", "missing: this is an FDA annotation record; turn the file into "
                                         "training data with `dfec data build ANNOTATIONS --root DATA_ROOT --out DIR`")
                else:
                    bad("caption", "missing or empty (give 'conversations' or 'caption')")
                continue
            if human is not None and not isinstance(human, str):
                bad("instruction", "not a string")
                continue
        instr = (human or "").replace("<video>", "").strip() or None
        try:
            video = _abs(r["video"])
        except ValueError as exc:
            bad("video", str(exc))
            continue
        if check_files and not video.is_file():
            bad("video", f"no such file {video}")
            continue
        s = {"id": str(rid), "video": str(video), "instruction": instr, "answer": gpt}
        if r.get("tracks"):
            if not isinstance(r["tracks"], str):
                bad("tracks", "not a path string")
                continue
            try:
                s["tracks"] = str(_abs(r["tracks"]))
            except ValueError as exc:
                bad("tracks", str(exc))
                continue
            if check_files and not Path(s["tracks"]).is_file():
                bad("tracks", f"no such file {s['tracks']}")
                continue
        if r.get("faces"):
            faces = r["faces"]
            if not isinstance(faces, list) or not all(isinstance(f, str) for f in faces):
                bad("faces", "not a list of image paths")
                continue
            try:
                s["faces"] = [str(_abs(f)) for f in faces]
            except ValueError as exc:
                bad("faces", str(exc))
                continue
            gone = [f for f in s["faces"] if check_files and not Path(f).is_file()]
            if gone:
                bad("faces", f"no such file {gone[0]}")
                continue
        out.append(s)
    if problems:
        more = f" (and {len(problems) - 1} more bad record(s))" if len(problems) > 1 else ""
        raise DfecError(problems[0] + more, p)
    if not out:
        raise DfecError("no training records", p)
    return out


class FaceTrackDataset:
    """Map-style dataset: sample dict -> processor outputs (decodes the video on access).

    A record with neither ``tracks`` nor ``faces`` is tracked on the fly (paper: the face
    tracking module picks the main character and its crops); with ``cache_dir`` the result is kept
    as ``<cache_dir>/<hash of the video path>.json`` so later epochs (and a resumed run) reuse it
    instead of tracking every clip again.
    """

    def __init__(self, samples: list[dict], processor, track_on_the_fly: bool = True, cache_dir=None):
        self.samples = samples
        self.processor = processor
        self.track_on_the_fly = track_on_the_fly
        self.cache_dir = Path(cache_dir) if cache_dir else None

    def __len__(self) -> int:
        return len(self.samples)

    def _track(self, video: str):
        import hashlib

        from ..schema import TrackingResult
        from ..tracking import pipeline

        n = self.processor.config.num_frames
        cached = None
        if self.cache_dir is not None:
            try:
                st = os.stat(video)
                stamp = f"{st.st_size}|{st.st_mtime_ns}"    # an edited clip is tracked again
            except OSError:
                stamp = ""
            key = hashlib.sha1(f"{os.path.abspath(video)}|{n}|{stamp}".encode("utf-8")).hexdigest()[:20]
            cached = self.cache_dir / f"{key}.json"
            if cached.is_file():
                try:
                    tr = TrackingResult.load(cached)
                    tr.video = video
                    return tr
                except (ValueError, KeyError, TypeError, OSError):
                    pass  # a torn or stale file: track again
        tr = pipeline.track(video, n_frames=n)
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_name(f"{cached.name}.{os.getpid()}.tmp")
            tr.save(tmp)
            os.replace(tmp, cached)
        return tr

    def __getitem__(self, i: int) -> dict:
        from ..schema import TrackingResult

        s = self.samples[i]
        tracking = None
        if s.get("tracks"):
            tracking = TrackingResult.load(s["tracks"])
            tracking.video = s["video"]
        elif not s.get("faces") and self.track_on_the_fly:
            tracking = self._track(s["video"])
        return self.processor(s["video"], s["instruction"], s["answer"], tracking=tracking, face_images=s.get("faces"))


# ------------------------------------------------------------------------------------------------
# the loop
# ------------------------------------------------------------------------------------------------
def _truncate_log(log_path: Path, step: int) -> None:
    """Keep the log lines up to ``step`` (0 on a fresh start): the steps after the checkpoint a run
    resumes from are trained (and logged) again, so they must not appear twice."""
    if not log_path.is_file():
        return
    keep = []
    for line in log_path.read_text(encoding="utf-8").splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line torn by the interruption
        if isinstance(rec, dict) and isinstance(rec.get("step"), int) and rec["step"] <= step:
            keep.append(line)
    tmp = log_path.with_name(log_path.name + ".tmp")
    tmp.write_text("".join(k + "\n" for k in keep), encoding="utf-8")
    os.replace(tmp, log_path)


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


def make_scheduler(cfg: TrainConfig, optimizer, total_steps: int, num_processes: int = 1):
    """The learning-rate schedule over ``total_steps`` optimiser steps, for accelerate.

    accelerate's prepared scheduler advances ``num_processes`` times per optimiser step (it
    assumes a schedule written for one process), so the schedule is laid out over
    ``total_steps * num_processes`` scheduler steps; else warm-up and cosine decay would end after
    ``1 / num_processes`` of the run on several GPUs.
    """
    from transformers import get_scheduler

    n = max(1, int(num_processes))
    return get_scheduler(cfg.lr_scheduler, optimizer, num_warmup_steps=int(cfg.warmup_ratio * total_steps) * n,
                         num_training_steps=total_steps * n)


def train(cfg: TrainConfig, model=None, processor=None, progress: bool = True) -> dict:
    """Run LoRA instruction tuning; returns ``{"global_step", "final_loss", "output_dir", ...}``.

    ``model`` / ``processor`` may be passed in (tests, notebooks); else they are built from the
    config's base weights. Resumes from ``resume_from_checkpoint`` (``"auto"`` = the newest one).
    """
    import torch
    from accelerate import Accelerator
    from accelerate.utils import set_seed
    from tqdm import tqdm

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

    dataset = FaceTrackDataset(samples, processor, cfg.track_on_the_fly, cache_dir=out / "tracks_cache")
    batches_per_epoch = math.ceil(len(dataset) / (cfg.per_device_batch_size * world))
    steps_per_epoch = max(1, math.ceil(batches_per_epoch / accum))
    total_steps = cfg.max_steps if cfg.max_steps > 0 else int(math.ceil(steps_per_epoch * cfg.num_epochs))
    scheduler = make_scheduler(cfg, optimizer, total_steps, accelerator.num_processes)

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

    log_path = out / "train_log.jsonl"
    if accelerator.is_main_process:
        out.mkdir(parents=True, exist_ok=True)
        (out / "train_config.json").write_text(json.dumps(asdict(cfg), indent=2))
        _truncate_log(log_path, state["global_step"])
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
