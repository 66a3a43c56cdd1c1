"""FaceTrack-MM-7B budget: parameters, visual tokens and estimated LoRA training memory per GPU.

Builds the paper's configuration (CLIP ViT-L/14-336 + STC connector + FaceXFormer/Swin-B +
Mistral-7B) on PyTorch's meta device (no weights, no GPU) and prints Markdown tables.

    python benchmarks/model_budget.py [--lora-r 64] [--text-tokens 320] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lora-r", type=int, default=64)
    ap.add_argument("--text-tokens", type=int, default=320, help="prompt + answer tokens assumed per sample")
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--json", help="also write the numbers to this JSON file")
    ap.add_argument("--measure", action="store_true",
                    help="re-measure the per-token activation bytes of small Mistral layers on this CPU")
    args = ap.parse_args()
    import warnings

    warnings.filterwarnings("ignore", category=FutureWarning)  # peft's use of a renamed transformers API

    from dfec.model.budget import budget_report, format_report
    from dfec.model.configuration_facetrack import paper_config

    t0 = time.perf_counter()
    rep = budget_report(paper_config(num_frames=args.frames), args.lora_r, args.text_tokens)
    print(f"FaceTrack-MM-7B ({args.frames} frames, LoRA r={args.lora_r}), built on the meta device "
          f"in {time.perf_counter() - t0:.1f} s\n")
    print(format_report(rep))
    if args.measure:
        from dfec.model.budget import LLM_ACT_H, LLM_ACT_I, LLM_ACT_R, measure_llm_activation_bytes

        print("\n| h | i | LoRA r | measured bytes/token/layer | model (coefficients) | with grad. ckpt |")
        print("|---:|---:|---:|---:|---:|---:|")
        for h, i, r in ((256, 896, 8), (512, 1792, 16), (384, 1344, 64)):
            got = measure_llm_activation_bytes(h, i, r)
            gc = measure_llm_activation_bytes(h, i, r, gradient_checkpointing=True)
            print(f"| {h} | {i} | {r} | {got:,.0f} | {LLM_ACT_H * h + LLM_ACT_I * i + LLM_ACT_R * r:,.0f} | {gc:,.0f} |")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rep, fh, indent=2)


if __name__ == "__main__":
    main()
