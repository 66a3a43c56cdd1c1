"""The Spatial-Temporal Convolution (STC) connector of VideoLLaMA2, written without timm.

FaceTrack-MM (paper) keeps VideoLLaMA2's video branch: CLIP patch tokens of T frames go
through ``s1`` (a RegNet stage of depth 4), ``sampler`` (a Conv3d with kernel = stride = 2x2x2 and
padding 1, then SiLU), ``s2`` (another RegNet stage of depth 4) and ``readout`` (a 2-layer GELU MLP).

timm is not a dependency of dfec, so the RegNet stage is rebuilt here with the same module names
and parameter shapes as ``timm.models.regnet.RegStage`` (blocks ``b1..b4``, each ``conv1`` /
``conv2`` / ``se`` / ``conv3`` / ``downsample`` with ``.conv`` and ``.bn`` children), so a
VideoLLaMA2 checkpoint's ``model.mm_projector.{s1,sampler,s2,readout}.*`` tensors load unchanged
(see :func:`load_videollama2_projector`).

Token count (VideoLLaMA2's formula): with an ``H x W`` patch grid (24 x 24 for CLIP ViT-L/14 at
336 px), T frames, kernel k = stride s = 2 and padding p = 1 on every axis, each axis becomes
``floor((n + 2p - k) / s) + 1``, so the connector emits ``T' * H' * W'`` tokens:
8 frames -> 5 * 13 * 13 = 845 tokens, 16 frames -> 9 * 13 * 13 = 1521 tokens.
"""
from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F


def conv_out_len(n: int, kernel: int = 2, stride: int = 2, padding: int = 1) -> int:
    """Output length of one Conv3d axis: ``floor((n + 2p - k) / s) + 1``."""
    return (n + 2 * padding - kernel) // stride + 1


def stc_token_count(num_frames: int, grid: int = 24, downsample=(2, 2, 2), padding: int = 1) -> int:
    """Number of video tokens the STC connector emits for ``num_frames`` frames (see module doc)."""
    t = conv_out_len(num_frames, downsample[0], downsample[0], padding)
    h = conv_out_len(grid, downsample[1], downsample[1], padding)
    w = conv_out_len(grid, downsample[2], downsample[2], padding)
    return t * h * w


class LayerNormAct2d(nn.LayerNorm):
    """Channel LayerNorm on NCHW maps followed by an activation (timm's ``LayerNormAct2d``)."""

    def __init__(self, num_channels: int, eps: float = 1e-5, act: bool = True):
        super().__init__(num_channels, eps=eps)
        self.act = nn.SiLU() if act else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.layer_norm(x.permute(0, 2, 3, 1), self.normalized_shape, self.weight, self.bias, self.eps)
        return self.act(x.permute(0, 3, 1, 2))


class ConvNormAct(nn.Module):
    """``conv`` (no bias) then ``bn`` (LayerNorm2d + optional SiLU): timm's ``ConvNormAct`` layout."""

    def __init__(self, in_chs: int, out_chs: int, kernel_size: int = 1, groups: int = 1, act: bool = True):
        super().__init__()
        self.conv = nn.Conv2d(in_chs, out_chs, kernel_size, padding=kernel_size // 2, groups=groups, bias=False)
        self.bn = LayerNormAct2d(out_chs, act=act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


class SqueezeExcite(nn.Module):
    """timm's ``SEModule``: ``fc1`` -> SiLU -> ``fc2`` -> sigmoid gate."""

    def __init__(self, channels: int, rd_channels: int):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, rd_channels, 1, bias=True)
        self.act = nn.SiLU()
        self.fc2 = nn.Conv2d(rd_channels, channels, 1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.fc2(self.act(self.fc1(x.mean((2, 3), keepdim=True))))
        return x * torch.sigmoid(s)


class RegBottleneck(nn.Module):
    """RegNet Y bottleneck (bottle ratio 1, group size 1 = depthwise 3x3, SE ratio 0.25 of ``in_chs``)."""

    def __init__(self, in_chs: int, out_chs: int, se_ratio: float = 0.25):
        super().__init__()
        self.conv1 = ConvNormAct(in_chs, out_chs, 1)
        self.conv2 = ConvNormAct(out_chs, out_chs, 3, groups=out_chs)
        self.se = SqueezeExcite(out_chs, int(round(in_chs * se_ratio))) if se_ratio else nn.Identity()
        self.conv3 = ConvNormAct(out_chs, out_chs, 1, act=False)
        self.downsample = ConvNormAct(in_chs, out_chs, 1, act=False) if in_chs != out_chs else nn.Identity()
        self.act3 = nn.SiLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = self.downsample(x)
        x = self.conv3(self.se(self.conv2(self.conv1(x))))
        return self.act3(x + shortcut)


class RegStage(nn.Sequential):
    """A stride-1 RegNet stage of ``depth`` bottlenecks named ``b1 .. b{depth}`` (timm key layout)."""

    def __init__(self, depth: int, in_chs: int, out_chs: int):
        super().__init__()
        for i in range(depth):
            self.add_module(f"b{i + 1}", RegBottleneck(in_chs if i == 0 else out_chs, out_chs))


class STCConnector(nn.Module):
    """VideoLLaMA2's STC connector: ``s1`` -> ``sampler`` -> ``s2`` -> ``readout``.

    Input ``[B, T, L, D_vis]`` (L = H*W patch tokens) or ``[B, T, H, W, D_vis]``; output
    ``[B, T'*H'*W', D_llm]`` (see :func:`stc_token_count`).
    """

    def __init__(self, in_dim: int, hidden: int, out_dim: int | None = None, depth: int = 4,
                 downsample=(2, 2, 2), padding: int = 1, mlp_depth: int = 2):
        super().__init__()
        out_dim = out_dim or hidden
        self.downsample = tuple(downsample)
        self.padding = padding
        self.s1 = RegStage(depth, in_dim, hidden) if depth else nn.Identity()
        self.sampler = nn.Sequential(
            nn.Conv3d(hidden, hidden, kernel_size=self.downsample, stride=self.downsample, padding=padding, bias=True),
            nn.SiLU(),
        )
        self.s2 = RegStage(depth, hidden, hidden) if depth else nn.Identity()
        layers: list[nn.Module] = [nn.Linear(hidden, out_dim)]
        for _ in range(1, mlp_depth):
            layers += [nn.GELU(), nn.Linear(out_dim, out_dim)]
        self.readout = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim == 4:
            b, t, l, d = x.shape
            h = int(math.isqrt(l))
            if h * h != l:
                raise ValueError(f"STC connector needs a square patch grid, got {l} tokens per frame")
            x = x.reshape(b, t, h, h, d)
        b, t, h, w, d = x.shape
        x = x.permute(0, 1, 4, 2, 3).reshape(b * t, d, h, w)
        x = self.s1(x)
        c = x.shape[1]
        x = x.reshape(b, t, c, h, w).permute(0, 2, 1, 3, 4)          # b c t h w
        x = self.sampler(x)
        _, c, t2, h2, w2 = x.shape
        x = x.permute(0, 2, 1, 3, 4).reshape(b * t2, c, h2, w2)
        x = self.s2(x)
        x = x.reshape(b, t2, c, h2 * w2).permute(0, 1, 3, 2).reshape(b, t2 * h2 * w2, c)
        return self.readout(x)


PROJECTOR_PREFIX = "model.mm_projector."


def read_videollama2_projector(path: str | Path) -> dict[str, torch.Tensor]:
    """Read the STC connector tensors of a local VideoLLaMA2 checkpoint (keys without prefix).

    ``path`` may be a folder holding ``*.safetensors`` shards (a full VideoLLaMA2 model),
    ``mm_projector.safetensors``, or ``mm_projector.bin`` (the pre-training release; read with
    ``torch.load(weights_only=True)``), or one of those files directly.
    """
    from safetensors import safe_open

    from ..errors import DfecError

    p = Path(path)
    if not p.exists():
        raise DfecError("no such VideoLLaMA2 checkpoint (download e.g. DAMO-NLP-SG/VideoLLaMA2-7B-16F to this folder)", p)
    files = [p] if p.is_file() else sorted(p.glob("*.safetensors"))
    if p.is_dir() and not files and (p / "mm_projector.bin").exists():
        files = [p / "mm_projector.bin"]
    out: dict[str, torch.Tensor] = {}
    for f in files:
        if f.suffix == ".bin":
            try:
                sd = torch.load(f, map_location="cpu", weights_only=True)
            except Exception as exc:  # a pickle with code in it is refused, never run
                raise DfecError(f"not a weights-only torch file ({type(exc).__name__}); "
                                "use the safetensors release of the checkpoint", f) from None
            if not isinstance(sd, dict):
                raise DfecError("expected a dict of tensors", f)
            items = sd.items()
        else:
            with safe_open(str(f), framework="pt") as fh:
                items = [(k, fh.get_tensor(k)) for k in fh.keys() if "mm_projector." in k]
        for k, v in items:
            if "mm_projector." in k:
                out[k.split("mm_projector.", 1)[1]] = v
    if not out:
        raise DfecError("no model.mm_projector.* tensors found in this checkpoint", p)
    return out


def load_videollama2_projector(connector: STCConnector, path: str | Path, strict: bool = True) -> list[str]:
    """Load VideoLLaMA2's ``model.mm_projector.*`` weights into ``connector``; returns missing keys."""
    from ..errors import DfecError

    sd = read_videollama2_projector(path)
    own = connector.state_dict()
    bad = [k for k, v in sd.items() if k in own and tuple(own[k].shape) != tuple(v.shape)]
    if bad:
        raise DfecError(f"projector shape mismatch for {bad[0]}: checkpoint {tuple(sd[bad[0]].shape)} vs model "
                        f"{tuple(own[bad[0]].shape)} (wrong mm_hidden_size/hidden_size?)", path)
    sd = {k: v.to(own[k].dtype) for k, v in sd.items() if k in own}
    missing, _ = connector.load_state_dict(sd, strict=False)
    if strict and missing:
        raise DfecError(f"checkpoint lacks {len(missing)} projector tensors (first: {missing[0]})", path)
    return list(missing)
