"""Measured vs estimated LoRA training memory of FaceTrack-MM-7B on one CUDA GPU.

Builds the paper's 7B configuration with random weights directly on the GPU in bf16 (no
checkpoint needed), applies the training recipe of ``dfec train`` (frozen towers, LoRA r 64 on
Mistral's linear layers, float32 connectors, bf16 autocast, AdamW), runs one optimisation step on
one synthetic sample (16 frames at 336 px, 16 face crops, ``--text-tokens`` prompt+answer tokens),
and prints the peak allocated GPU memory next to :func:`dfec.model.budget.estimate_training_memory`
for the same sample, with and without gradient checkpointing.

    python benchmarks/model_memory_cuda.py [--text-tokens 320] [--llm-layers 32]

Needs a CUDA GPU with about 60 GB free for the full 32 layers (use ``--llm-layers`` to scale the
LLM down; the estimate is computed for the same reduced configuration).
"""
from __future__ import annotations

import argparse
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--text-tokens", type=int, default=320)
    ap.add_argument("--llm-layers", type=int, default=32, help="Mistral decoder layers (paper: 32)")
    ap.add_argument("--lora-r", type=int, default=64)
    args = ap.parse_args()

    import warnings

    import torch

    warnings.filterwarnings("ignore", category=FutureWarning)
    if not torch.cuda.is_available():
        raise SystemExit("model_memory_cuda.py: needs a CUDA GPU (use benchmarks/model_budget.py for the estimate)")

    from dfec.model.budget import count_parameters, estimate_training_memory
    from dfec.model.configuration_facetrack import VIDEO_TOKEN_INDEX, paper_config
    from dfec.model.modeling_facetrack import FaceTrackForCausalLM
    from dfec.train.trainer import TrainConfig, apply_lora

    cfg = paper_config()
    cfg.text_config.num_hidden_layers = args.llm_layers
    counts = count_parameters(cfg, args.lora_r)
    dev = torch.device("cuda")

    t0 = time.perf_counter()
    torch.set_default_dtype(torch.bfloat16)
    with dev:
        model = FaceTrackForCausalLM(cfg)
    torch.set_default_dtype(torch.float32)
    model = apply_lora(model, TrainConfig(lora_r=args.lora_r, lora_alpha=2 * args.lora_r))
    base = model.get_base_model()
    base.language_model.config.use_cache = False
    build_s = time.perf_counter() - t0

    n_text = args.text_tokens
    ids = torch.randint(5, cfg.text_config.vocab_size, (1, n_text), device=dev)
    ids[0, 4] = VIDEO_TOKEN_INDEX
    labels = ids.clone()
    labels[0, : n_text // 2] = -100          # prompt half masked, answer half supervised
    batch = dict(
        input_ids=ids, attention_mask=torch.ones_like(ids), labels=labels,
        pixel_values=torch.randn(1, cfg.num_frames, 3, 336, 336, device=dev),
        face_pixel_values=torch.randn(1, cfg.num_frames, 3, cfg.face_image_size, cfg.face_image_size, device=dev),
        face_mask=torch.ones(1, cfg.num_frames, dtype=torch.bool, device=dev),
    )
    trainable = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(trainable, lr=1e-5)

    def step() -> tuple[float, float]:
        torch.cuda.synchronize()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        t = time.perf_counter()
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = model(**batch).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() / 2**30, time.perf_counter() - t

    rows = []
    for gc in (False, True):
        lm = base.language_model
        if gc:
            if hasattr(lm, "activation_checkpointing_enable"):
                lm.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
            else:
                lm.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        step()                                   # warm-up: allocates the AdamW states
        peak, sec = step()
        est = estimate_training_memory(cfg, counts, args.lora_r, 1, n_text - 1, gradient_checkpointing=gc)
        rows.append((gc, peak, est.total_gib, sec, est.seq_len))

    name = torch.cuda.get_device_name()
    print(f"FaceTrack-MM ({args.llm_layers} Mistral layers, LoRA r={args.lora_r}), random bf16 weights on {name}; "
          f"built in {build_s:.1f} s; {counts['trainable']:,} trainable parameters\n")
    print("| gradient checkpointing | sequence | measured peak GiB | estimated GiB | estimate / measured | step s |")
    print("|---|---:|---:|---:|---:|---:|")
    for gc, peak, est, sec, seq in rows:
        print(f"| {'on' if gc else 'off'} | {seq} | {peak:.1f} | {est:.1f} | {est / peak:.2f} | {sec:.2f} |")


if __name__ == "__main__":
    main()
