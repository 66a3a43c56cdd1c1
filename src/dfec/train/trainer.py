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

import contextlib
import json
import math
import os
from dataclasses import asdict
from pathlib import Path

from ..batch import output_lock
from ..errors import DfecError
from ..model.loading import BASE_FILE, NON_LORA_FILE, load_base_model, load_trained  # noqa: F401
from .config import LORA_TARGET, TrainConfig  # noqa: F401
from .lora import _base, apply_lora, merge_adapter, non_lora_state, save_trained  # noqa: F401
from .samples import FaceTrackDataset, _turns, data_root_for, load_samples  # noqa: F401


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
    log_path = out / "train_log.jsonl"
    lock = contextlib.ExitStack()
    if accelerator.is_main_process:
        # one run per output folder: a second run into it (log, checkpoints) fails at once, in one
        # line, before any weights are loaded
        lock.enter_context(output_lock(log_path))
    with lock:
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
