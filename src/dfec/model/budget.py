"""Parameter, token and training-memory budget of FaceTrack-MM (no weights needed).

The model is built on PyTorch's ``meta`` device (shapes only), so the 7B configuration is counted
exactly in a few seconds on a CPU. Training memory is an *estimate* for LoRA fine-tuning at batch
1 with bf16 weights, float32 trainables and AdamW, per GPU without ZeRO sharding:

* frozen weights: 2 bytes per parameter (bf16);
* trainable parameters (LoRA + connectors): 4 (fp32 weight) + 4 (grad) + 8 (Adam moments) = 16 bytes;
* LLM activations per token and decoder layer: ``LLM_ACT_H * h + LLM_ACT_I * i + LLM_ACT_R * r``
  bytes. These coefficients were *measured* (:func:`measure_llm_activation_bytes`: the storages
  autograd saves during a forward of small Mistral configs under bf16 autocast with SDPA attention
  and LoRA on the 7 projections, parameters excluded, fitted over h, i and r; transformers 5.24,
  peft 0.21, torch 2.13 CPU); SDPA keeps no seq^2 term. With gradient checkpointing only the layer
  input is kept (measured: exactly 2h bytes), plus one layer's activations during recomputation;
* logits: sequence x vocab x 4 bytes x 3 (bf16 logits, fp32 upcast, its gradient);
* STC connector activations (trainable, not checkpointed): ``STC_ACT_BYTES`` = 22 bytes per
  (T x H x W x hidden) element per RegNet block, for s1 (before) and s2 (after the 2x2x2
  sampler), measured like the LLM coefficients (bf16 convolutions, fp32 LayerNorms);
* 1 GiB of CUDA context / allocator slack.

The frozen CLIP tower and FaceXFormer encoder run without autograd, so they add only a transient
inference peak, which is smaller than the training activations and not counted.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

GIB = 1024 ** 3
#: measured saved-activation bytes per token per decoder layer (see the module doc)
LLM_ACT_H, LLM_ACT_I, LLM_ACT_R = 49.6, 12.2, 54.0
#: the same without LoRA (frozen or fully trained LLM): for reference
LLM_ACT_H_NO_LORA, LLM_ACT_I_NO_LORA = 13.0, 6.0
#: measured saved-activation bytes per element per RegNet block of the STC connector
STC_ACT_BYTES = 22.0


def measure_llm_activation_bytes(hidden: int = 256, intermediate: int = 896, lora_r: int | None = 8,
                                 seq: int = 256, gradient_checkpointing: bool = False) -> float:
    """Bytes autograd saves per token per Mistral decoder layer (bf16 autocast, SDPA, CPU).

    Builds 2- and 4-layer Mistral models, records every storage saved for backward (parameters
    excluded) with ``torch.autograd.graph.saved_tensors_hooks`` and returns the per-layer, per-token
    difference, so embedding/head costs cancel.
    """
    import torch
    from transformers import MistralConfig, MistralForCausalLM

    def saved(layers: int) -> int:
        cfg = MistralConfig(vocab_size=512, hidden_size=hidden, intermediate_size=intermediate,
                            num_hidden_layers=layers, num_attention_heads=8, num_key_value_heads=2,
                            sliding_window=None, attn_implementation="sdpa")
        torch.manual_seed(0)
        m = MistralForCausalLM(cfg).to(torch.bfloat16)
        m.requires_grad_(False)
        if lora_r:
            from peft import LoraConfig, get_peft_model

            m = get_peft_model(m, LoraConfig(r=lora_r, lora_alpha=2 * lora_r, lora_dropout=0.05,
                                             target_modules=["q_proj", "k_proj", "v_proj", "o_proj",
                                                             "gate_proj", "up_proj", "down_proj"]))
        base = m.get_base_model() if lora_r else m
        if gradient_checkpointing:
            base.config.use_cache = False
            fn = getattr(base, "activation_checkpointing_enable", None)
            if fn is not None:
                fn(activation_checkpointing_kwargs={"use_reentrant": False})
            else:
                base.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        m.train()
        params = {p.untyped_storage().data_ptr() for p in m.parameters()}
        seen: dict = {}

        def pack(t):
            st = t.untyped_storage()
            if st.data_ptr() not in params:
                seen[(st.data_ptr(), st.nbytes())] = st.nbytes()
            return t

        x = torch.randn(1, seq, hidden, dtype=torch.bfloat16, requires_grad=True)
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), torch.autocast("cpu", dtype=torch.bfloat16):
            m(inputs_embeds=x, use_cache=False)
        return sum(seen.values())

    return (saved(4) - saved(2)) / 2 / seq


def lora_param_count(text_config, r: int = 64) -> int:
    """LoRA parameters on every q/k/v/o/gate/up/down projection: ``r * (in + out)`` each."""
    h = text_config.hidden_size
    i = text_config.intermediate_size
    hd = getattr(text_config, "head_dim", None) or h // text_config.num_attention_heads
    q = text_config.num_attention_heads * hd
    kv = text_config.num_key_value_heads * hd
    per_layer = r * ((h + q) + (h + kv) * 2 + (q + h) + (h + i) * 2 + (i + h))
    return per_layer * text_config.num_hidden_layers


def count_parameters(config, lora_r: int = 64) -> dict:
    """Exact parameter counts per component (built on the meta device) and the LoRA-trainable total."""
    import torch

    from .modeling_facetrack import FaceTrackForCausalLM

    with torch.device("meta"):
        model = FaceTrackForCausalLM(config)
    comp = {
        "vision_tower": model.model.vision_tower,
        "mm_projector": model.model.mm_projector,
        "face_encoder": getattr(model.model, "face_encoder", None),
        "face_projector": getattr(model.model, "face_projector", None),
        "language_model": model.language_model,
    }
    counts = {k: (sum(p.numel() for p in m.parameters()) if m is not None else 0) for k, m in comp.items()}
    counts["total"] = sum(counts.values())
    counts["lora"] = lora_param_count(config.text_config, lora_r)
    counts["trainable"] = counts["lora"] + counts["mm_projector"] + counts["face_projector"]
    counts["total_with_lora"] = counts["total"] + counts["lora"]
    return counts


@dataclass
class MemoryEstimate:
    gradient_checkpointing: bool
    seq_len: int
    weights_gib: float
    trainable_states_gib: float
    llm_activations_gib: float
    logits_gib: float
    connector_activations_gib: float
    overhead_gib: float
    total_gib: float


def estimate_training_memory(config, counts: dict | None = None, lora_r: int = 64, batch: int = 1,
                             text_tokens: int = 320, gradient_checkpointing: bool = True) -> MemoryEstimate:
    """Per-GPU training memory for LoRA at ``batch`` (see the module doc for the model of it)."""
    from .stc_connector import conv_out_len

    counts = counts or count_parameters(config, lora_r)
    tc = config.text_config
    h, i, n_layers = tc.hidden_size, tc.intermediate_size, tc.num_hidden_layers
    seq = config.visual_token_count() + text_tokens
    tokens = seq * batch
    frozen = counts["total"] - counts["mm_projector"] - counts["face_projector"]
    weights = frozen * 2
    states = counts["trainable"] * 16
    per_layer_per_token = LLM_ACT_H * h + LLM_ACT_I * i + LLM_ACT_R * lora_r
    full_layers = per_layer_per_token * tokens * n_layers
    if gradient_checkpointing:
        llm_act = 2 * h * tokens * n_layers + per_layer_per_token * tokens
    else:
        llm_act = full_layers
    logits = tokens * tc.vocab_size * 4 * 3
    t, g = config.num_frames, config.patch_grid
    ds = tuple(config.stc_downsample)
    t2 = conv_out_len(t, ds[0], ds[0], config.stc_padding)
    g2 = conv_out_len(g, ds[1], ds[1], config.stc_padding)
    blocks = config.stc_depth
    conn = STC_ACT_BYTES * h * blocks * (t * g * g + t2 * g2 * g2) * batch
    overhead = GIB
    total = weights + states + llm_act + logits + conn + overhead
    return MemoryEstimate(gradient_checkpointing, seq, weights / GIB, states / GIB, llm_act / GIB, logits / GIB,
                          conn / GIB, overhead / GIB, total / GIB)


def budget_report(config=None, lora_r: int = 64, text_tokens: int = 320) -> dict:
    """Everything ``benchmarks/model_budget.py`` prints, as a dict."""
    from .configuration_facetrack import paper_config

    config = config or paper_config()
    counts = count_parameters(config, lora_r)
    mem = [asdict(estimate_training_memory(config, counts, lora_r, 1, text_tokens, gc)) for gc in (False, True)]
    return {
        "params": counts,
        "tokens": {
            "video_tokens_8_frames": config.video_token_count(8),
            "video_tokens_16_frames": config.video_token_count(16),
            "face_tokens": config.face_token_count(),
            "visual_tokens_per_video": config.visual_token_count(),
            "text_tokens_assumed": text_tokens,
        },
        "memory": mem,
    }


def format_report(rep: dict) -> str:
    """Markdown tables of :func:`budget_report`."""
    p, t = rep["params"], rep["tokens"]
    lines = ["| component | parameters |", "|---|---:|"]
    for k in ("vision_tower", "mm_projector", "face_encoder", "face_projector", "language_model", "total", "lora",
              "trainable", "total_with_lora"):
        lines.append(f"| {k} | {p[k]:,} ({p[k] / 1e9:.3f} B) |")
    lines.append(f"| trainable share | {100 * p['trainable'] / p['total_with_lora']:.2f} % |")
    lines += ["", "| visual tokens | count |", "|---|---:|"]
    for k, v in t.items():
        lines.append(f"| {k} | {v} |")
    lines += ["", "| LoRA batch 1 | seq | weights | trainable+Adam | LLM act. | logits | STC act. | overhead | total GiB |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for m in rep["memory"]:
        name = "with grad. checkpointing" if m["gradient_checkpointing"] else "no grad. checkpointing"
        lines.append(f"| {name} | {m['seq_len']} | {m['weights_gib']:.1f} | {m['trainable_states_gib']:.1f} | "
                     f"{m['llm_activations_gib']:.1f} | {m['logits_gib']:.1f} | {m['connector_activations_gib']:.1f} | "
                     f"{m['overhead_gib']:.1f} | **{m['total_gib']:.1f}** |")
    return "\n".join(lines)
