"""The FaceXFormer face encoder of FaceTrack-MM's face branch, and the face-token pooler.

Paper: the aligned main-face crops of the selected frames are encoded by FaceXFormer
(Narayan et al., 2024). FaceXFormer is

1. a Swin-B backbone; the outputs of its four stages (strides 4/8/16/32, before patch merging,
   no final norm) are the multi-scale features;
2. a multi-scale fusion: one linear map per scale to 256 channels (``linear_c``), bilinear
   upsampling to the stride-4 grid (56 x 56 at 224 px), concatenation (coarsest first) and a 1x1
   convolution without bias (``linear_fuse``);
3. the FaceX decoder: task tokens (landmarks, head pose, attributes, visibility, age, gender, race,
   plus 11 parsing-mask tokens) that exchange information with the fused features in SAM's
   two-way transformer (depth 2, 8 heads, MLP 2048, attention downsample 2), with a random
   Fourier position encoding of the feature grid (``pe_layer``).

FaceTrack-MM uses the decoder's output tokens as the face descriptor (the task heads are not
needed). Module names follow FaceXFormer's checkpoint (``linear_c``, ``linear_fuse``, ``pe_layer``,
``face_decoder.*``), so :func:`convert_facexformer_state_dict` maps a released FaceXFormer checkpoint
onto this encoder.

Implementation choice (documented): FaceXFormer builds its backbone with torchvision's ``swin_b``;
torchvision and timm cannot be installed beside this project's torch, so the backbone here is
transformers' :class:`~transformers.SwinBackbone` configured as Swin-B (embed 128, depths 2-2-18-2,
heads 4-8-16-32, window 7, 224 px), randomly initialised ("weights=None") or loaded from a local
folder; its per-stage output LayerNorms are replaced by identities to match FaceXFormer's hooks.
The torchvision -> transformers Swin key mapping is in :func:`convert_facexformer_state_dict`.
torchvision drops the window shift of a block whose (padded) feature map fits in one window (stage 4
at 224 px: a 7 x 7 map, window 7, so its second block runs plain full attention); transformers'
``SwinBackbone`` keeps it (``always_partition=True``) and would run shifted, masked attention there.
:meth:`FaceXFormerEncoder.prepare_backbone` restores torchvision's rule on every backbone it holds.

:class:`FaceTokenPooler` turns each crop's decoder tokens into ``tokens_per_frame`` tokens with
learned-query attention, projects them to the LLM width with a 2-layer GELU MLP, and average pools
along time so that a video gets at most ``max_tokens`` face tokens (default 16 frames x 2 = 32).
"""
from __future__ import annotations

import math
import re
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

#: FaceXFormer's single task tokens, in its concatenation order (then ``mask_tokens``)
FACEX_TASK_TOKENS = ("landmarks", "pose", "attribute", "visibility", "age", "gender", "race")


def swin_b_config(**overrides):
    """transformers' SwinConfig for FaceXFormer's Swin-B backbone (224 px, 4 output stages)."""
    from transformers import SwinConfig

    kw = dict(image_size=224, patch_size=4, embed_dim=128, depths=[2, 2, 18, 2], num_heads=[4, 8, 16, 32],
              window_size=7, drop_path_rate=0.0, out_features=["stage1", "stage2", "stage3", "stage4"])
    kw.update(overrides)
    return SwinConfig(**kw)


class Attention(nn.Module):
    """SAM-style attention whose inner width is ``dim / downsample_rate``."""

    def __init__(self, dim: int, heads: int, downsample_rate: int = 1):
        super().__init__()
        inner = dim // downsample_rate
        if inner % heads:
            raise ValueError(f"{heads} heads do not divide the attention width {inner}")
        self.heads = heads
        self.q_proj = nn.Linear(dim, inner)
        self.k_proj = nn.Linear(dim, inner)
        self.v_proj = nn.Linear(dim, inner)
        self.out_proj = nn.Linear(inner, dim)

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        def split(x):
            b, n, c = x.shape
            return x.reshape(b, n, self.heads, c // self.heads).transpose(1, 2)

        out = F.scaled_dot_product_attention(split(self.q_proj(q)), split(self.k_proj(k)), split(self.v_proj(v)))
        b, h, n, c = out.shape
        return self.out_proj(out.transpose(1, 2).reshape(b, n, h * c))


class MLPBlock(nn.Module):
    def __init__(self, dim: int, mlp_dim: int):
        super().__init__()
        self.lin1 = nn.Linear(dim, mlp_dim)
        self.lin2 = nn.Linear(mlp_dim, dim)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.lin2(self.act(self.lin1(x)))


class TwoWayAttentionBlock(nn.Module):
    """Token self-attention, token->image cross-attention, MLP, image->token cross-attention."""

    def __init__(self, dim: int, heads: int, mlp_dim: int, downsample_rate: int = 2, skip_first_layer_pe: bool = False):
        super().__init__()
        self.self_attn = Attention(dim, heads)
        self.norm1 = nn.LayerNorm(dim)
        self.cross_attn_token_to_image = Attention(dim, heads, downsample_rate)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = MLPBlock(dim, mlp_dim)
        self.norm3 = nn.LayerNorm(dim)
        self.norm4 = nn.LayerNorm(dim)
        self.cross_attn_image_to_token = Attention(dim, heads, downsample_rate)
        self.skip_first_layer_pe = skip_first_layer_pe

    def forward(self, queries, keys, query_pe, key_pe):
        if self.skip_first_layer_pe:
            queries = self.self_attn(queries, queries, queries)
        else:
            q = queries + query_pe
            queries = queries + self.self_attn(q, q, queries)
        queries = self.norm1(queries)
        q, k = queries + query_pe, keys + key_pe
        queries = self.norm2(queries + self.cross_attn_token_to_image(q, k, keys))
        queries = self.norm3(queries + self.mlp(queries))
        q, k = queries + query_pe, keys + key_pe
        keys = self.norm4(keys + self.cross_attn_image_to_token(k, q, queries))
        return queries, keys


class TwoWayTransformer(nn.Module):
    def __init__(self, depth: int, dim: int, heads: int, mlp_dim: int, downsample_rate: int = 2):
        super().__init__()
        self.layers = nn.ModuleList(TwoWayAttentionBlock(dim, heads, mlp_dim, downsample_rate, i == 0)
                                    for i in range(depth))
        self.final_attn_token_to_image = Attention(dim, heads, downsample_rate)
        self.norm_final_attn = nn.LayerNorm(dim)

    def forward(self, image, image_pe, tokens):
        keys = image.flatten(2).transpose(1, 2)
        key_pe = image_pe.flatten(2).transpose(1, 2)
        queries = tokens
        for layer in self.layers:
            queries, keys = layer(queries, keys, tokens, key_pe)
        queries = queries + self.final_attn_token_to_image(queries + tokens, keys + key_pe, keys)
        return self.norm_final_attn(queries), keys


class PositionEmbeddingRandom(nn.Module):
    """Random Fourier features of the normalised (x, y) grid (SAM / FaceXFormer ``pe_layer``)."""

    def __init__(self, num_pos_feats: int):
        super().__init__()
        self.register_buffer("positional_encoding_gaussian_matrix", torch.randn(2, num_pos_feats))

    def forward(self, h: int, w: int) -> torch.Tensor:
        m = self.positional_encoding_gaussian_matrix
        ys = (torch.arange(h, device=m.device, dtype=torch.float32) + 0.5) / h
        xs = (torch.arange(w, device=m.device, dtype=torch.float32) + 0.5) / w
        grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), -1)          # h, w, 2 as (x, y)
        c = 2 * math.pi * ((2 * grid - 1) @ m.float())
        return torch.cat([c.sin(), c.cos()], -1).permute(2, 0, 1)              # C, h, w


class FaceDecoder(nn.Module):
    """FaceXFormer's decoder without its task heads: returns the ``7 + n_mask`` output tokens."""

    def __init__(self, dim: int, depth: int, heads: int, mlp_dim: int, n_mask_tokens: int = 11):
        super().__init__()
        for name in FACEX_TASK_TOKENS:
            setattr(self, f"{name}_token", nn.Embedding(1, dim))
        self.mask_tokens = nn.Embedding(n_mask_tokens, dim)
        self.transformer = TwoWayTransformer(depth, dim, heads, mlp_dim)

    def forward(self, image: torch.Tensor, image_pe: torch.Tensor) -> torch.Tensor:
        tokens = torch.cat([getattr(self, f"{n}_token").weight for n in FACEX_TASK_TOKENS] + [self.mask_tokens.weight])
        tokens = tokens.unsqueeze(0).expand(image.shape[0], -1, -1)
        out, _ = self.transformer(image, image_pe.unsqueeze(0).expand(image.shape[0], -1, -1, -1), tokens)
        return out


class _ScaleProj(nn.Module):
    def __init__(self, c: int, dim: int):
        super().__init__()
        self.proj = nn.Linear(c, dim)

    def forward(self, x):
        return self.proj(x.flatten(2).transpose(1, 2))


class FaceXFormerEncoder(nn.Module):
    """Swin backbone -> multi-scale fusion -> FaceX decoder; ``[N, 3, 224, 224]`` -> ``[N, 7 + n_mask, dim]``."""

    def __init__(self, backbone_config, dim: int = 256, depth: int = 2, heads: int = 8, mlp_dim: int = 2048,
                 n_mask_tokens: int = 11):
        super().__init__()
        from transformers import SwinBackbone

        self.backbone = SwinBackbone(backbone_config)
        self.prepare_backbone()
        chans = [self.backbone.num_features[self.backbone.stage_names.index(s)] for s in self.backbone.out_features]
        self.linear_c = nn.ModuleList(_ScaleProj(c, dim) for c in chans)
        self.linear_fuse = nn.Conv2d(dim * len(chans), dim, kernel_size=1, bias=False)
        self.pe_layer = PositionEmbeddingRandom(dim // 2)
        self.face_decoder = FaceDecoder(dim, depth, heads, mlp_dim, n_mask_tokens)
        self.dim = dim

    def prepare_backbone(self) -> None:
        """Make ``self.backbone`` (a transformers ``SwinBackbone``) compute what FaceXFormer's does:
        raw stage outputs (:meth:`identity_stage_norms`) and torchvision's window-shift rule
        (:func:`use_torchvision_window_shift`). Call it again after replacing the backbone."""
        self.identity_stage_norms()
        use_torchvision_window_shift(self.backbone)

    def identity_stage_norms(self) -> None:
        """FaceXFormer hooks the raw stage outputs: drop SwinBackbone's per-stage LayerNorms."""
        self.backbone.hidden_states_norms = nn.ModuleDict({k: nn.Identity() for k in self.backbone.out_features})

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        maps = self.backbone(pixel_values=pixel_values).feature_maps
        size = maps[0].shape[-2:]
        ups = []
        for m, proj in zip(maps, self.linear_c):
            y = proj(m).transpose(1, 2).reshape(m.shape[0], self.dim, *m.shape[-2:])
            ups.append(F.interpolate(y, size=size, mode="bilinear", align_corners=False))
        fused = self.linear_fuse(torch.cat(ups[::-1], 1))
        pe = self.pe_layer(*fused.shape[-2:]).to(fused.dtype)
        return self.face_decoder(fused, pe)


def _torchvision_shift_hook(layer, args, kwargs):
    height, width = args[1] if len(args) > 1 else kwargs["input_dimensions"]
    # torchvision: no shift along an axis whose padded length fits in one window. transformers' shift
    # is one number for both axes, so the shift is dropped when the whole map fits in one window
    # (the only case on square inputs, e.g. stage 4 at 224 px).
    fits = int(height) <= layer.window_size and int(width) <= layer.window_size
    layer.shift_size = 0 if fits else layer._dfec_shift_size


def use_torchvision_window_shift(backbone: nn.Module) -> int:
    """Give every shifted Swin block of ``backbone`` torchvision's rule: run it unshifted when the
    feature map it sees fits in one window. Idempotent; returns the number of shifted blocks."""
    n = 0
    for layer in backbone.modules():
        if not (hasattr(layer, "shift_size") and hasattr(layer, "window_size") and hasattr(layer, "cyclic_shift")):
            continue
        if not hasattr(layer, "_dfec_shift_size"):
            layer._dfec_shift_size = int(layer.shift_size)
            layer.register_forward_pre_hook(_torchvision_shift_hook, with_kwargs=True)
        n += layer._dfec_shift_size > 0
    return n


class FaceTokenPooler(nn.Module):
    """Per-frame learned-query pooling of decoder tokens, MLP to the LLM width, time pooling to a budget."""

    def __init__(self, face_dim: int, out_dim: int, tokens_per_frame: int = 2, max_tokens: int = 32, heads: int = 8):
        super().__init__()
        self.queries = nn.Parameter(torch.randn(tokens_per_frame, face_dim) * 0.02)
        self.attn = nn.MultiheadAttention(face_dim, heads if face_dim % heads == 0 else 1, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(face_dim, out_dim), nn.GELU(), nn.Linear(out_dim, out_dim))
        self.tokens_per_frame = tokens_per_frame
        self.max_tokens = max_tokens

    def forward(self, task_tokens: torch.Tensor) -> torch.Tensor:
        """``task_tokens [F, n_tokens, d]`` of one video's valid face crops -> ``[<=max_tokens, out_dim]``."""
        q = self.queries.unsqueeze(0).expand(task_tokens.shape[0], -1, -1).to(task_tokens.dtype)
        pooled = self.attn(q, task_tokens, task_tokens, need_weights=False)[0] + q   # F, k, d
        x = self.mlp(pooled.reshape(-1, pooled.shape[-1]))                          # F*k, out
        if x.shape[0] > self.max_tokens:
            x = F.adaptive_avg_pool1d(x.t().unsqueeze(0), self.max_tokens).squeeze(0).t()
        return x


# ------------------------------------------------------------------------------------------------
# FaceXFormer checkpoint (torchvision swin_b backbone) -> this encoder
# ------------------------------------------------------------------------------------------------
_TV_BLOCK = {
    "norm1": "layernorm_before", "norm2": "layernorm_after", "attn.proj": "attention.o_proj",
    "attn.relative_position_bias_table": "attention.relative_position_bias.relative_position_bias_table",
    "mlp.0": "mlp.fc1", "mlp.3": "mlp.fc2",
}


def convert_facexformer_state_dict(sd: dict) -> dict:
    """Map FaceXFormer's ``state_dict_backbone`` keys (torchvision Swin) onto :class:`FaceXFormerEncoder`.

    torchvision ``backbone.0.{2s+1}.{j}.*`` (stage s, block j) -> ``backbone.swin.encoder.layers.{s}.blocks.{j}.*``
    (fused ``attn.qkv`` split into q/k/v), ``backbone.0.{2s+2}.*`` (patch merging) ->
    ``...layers.{s}.downsample.*``, ``backbone.0.0.{0,2}`` -> patch embedding conv / norm. The task
    heads, the mask upscaling and torchvision's final norm are not used and are dropped.
    """
    out: dict = {}
    for key, v in sd.items():
        k = key[len("module."):] if key.startswith("module.") else key
        m = re.match(r"backbone\.0\.(\d+)\.(.*)", k)
        if m:
            idx, rest = int(m.group(1)), m.group(2)
            if idx == 0:
                sub = {"0.weight": "patch_embeddings.projection.weight", "0.bias": "patch_embeddings.projection.bias",
                       "2.weight": "norm.weight", "2.bias": "norm.bias"}.get(rest)
                if sub:
                    out[f"backbone.swin.embeddings.{sub}"] = v
                continue
            if idx % 2 == 0:                               # patch merging after stage idx/2 - 1
                out[f"backbone.swin.encoder.layers.{idx // 2 - 1}.downsample.{rest}"] = v
                continue
            stage = (idx - 1) // 2
            bm = re.match(r"(\d+)\.(.*)", rest)
            if not bm:
                continue
            j, name = bm.group(1), bm.group(2)
            prefix = f"backbone.swin.encoder.layers.{stage}.blocks.{j}."
            if name.startswith("attn.qkv."):
                q, kk, vv = v.chunk(3, dim=0)
                kind = name.rsplit(".", 1)[1]
                out[prefix + f"attention.q_proj.{kind}"] = q.clone()
                out[prefix + f"attention.k_proj.{kind}"] = kk.clone()
                out[prefix + f"attention.v_proj.{kind}"] = vv.clone()
                continue
            if name == "attn.relative_position_index":
                continue
            for src, dst in _TV_BLOCK.items():
                if name == src or name.startswith(src + "."):
                    out[prefix + dst + name[len(src):]] = v
                    break
            continue
        if k.startswith(("linear_c.", "linear_fuse.", "pe_layer.")):
            out[k] = v
        elif k.startswith("face_decoder.") and not re.match(
                r"face_decoder\.(\w+_prediction_head|output_upscaling|output_hypernetwork_mlps)\.", k):
            out[k] = v
    return out


def load_facexformer_checkpoint(encoder: FaceXFormerEncoder, path: str | Path) -> list[str]:
    """Load a released FaceXFormer checkpoint (``.pt`` with ``state_dict_backbone``, or safetensors).

    Reads pickled files with ``torch.load(weights_only=True)`` only. Returns the encoder keys the
    checkpoint did not provide (e.g. transformers' unused final Swin norm).
    """
    from ..errors import DfecError

    p = Path(path)
    if not p.is_file():
        raise DfecError("no such FaceXFormer checkpoint (download it from the FaceXFormer release)", p)
    if p.suffix == ".safetensors":
        from safetensors.torch import load_file

        sd = load_file(str(p))
    else:
        try:
            sd = torch.load(p, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise DfecError(f"not a weights-only torch checkpoint ({type(exc).__name__})", p) from None
    sd = sd.get("state_dict_backbone", sd.get("state_dict", sd)) if isinstance(sd, dict) else sd
    conv = convert_facexformer_state_dict(sd)
    own = encoder.state_dict()
    bad = [k for k, v in conv.items() if k not in own or own[k].shape != v.shape]
    if bad or not conv:
        what = bad[0] if bad else "no FaceXFormer tensors found"
        raise DfecError(f"checkpoint does not fit the FaceXFormer encoder ({what})", p)
    encoder.load_state_dict({k: v.to(own[k].dtype) for k, v in conv.items()}, strict=False)
    return sorted(set(own) - set(conv))
