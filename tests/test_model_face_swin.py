"""FaceXFormer's Swin stage whose feature map fits in one window runs plain (unshifted) attention.

torchvision's Swin, which FaceXFormer was trained with, drops the window shift when the map fits in
one window (stage 4 at 224 px: 7 x 7, window 7). The reference here is written from the Swin
block's definition, not from transformers: LayerNorm, multi-head self-attention over ALL positions
of the map plus the learned relative-position bias, residual, LayerNorm, GELU MLP, residual.
"""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from dfec.model.face_encoder import FaceXFormerEncoder, swin_b_config, use_torchvision_window_shift  # noqa: E402


def small_swin(**kw):
    # stage 1: 14 x 14 (two windows per axis, shift kept); stage 2: 7 x 7 = one window (shift dropped)
    return swin_b_config(image_size=56, embed_dim=16, depths=[2, 2], num_heads=[2, 4],
                         out_features=["stage1", "stage2"], **kw)


def reference_full_attention_block(block, x: torch.Tensor, side: int) -> torch.Tensor:
    """One Swin block over a ``side x side`` map that is one window: full attention + bias."""
    n, d = x.shape[1], x.shape[2]
    att = block.attention
    heads = att.num_attention_heads
    hd = d // heads
    h = torch.nn.functional.layer_norm(x, (d,), block.layernorm_before.weight, block.layernorm_before.bias,
                                       block.layernorm_before.eps)

    def split(t):
        return t.reshape(x.shape[0], n, heads, hd).permute(0, 2, 1, 3)

    q, k, v = split(att.q_proj(h)), split(att.k_proj(h)), split(att.v_proj(h))
    # relative position bias: table row for (dy, dx) = (dy + s - 1) * (2s - 1) + (dx + s - 1)
    ys, xs = torch.div(torch.arange(n), side, rounding_mode="floor"), torch.arange(n) % side
    dy, dx = ys[:, None] - ys[None, :], xs[:, None] - xs[None, :]
    index = (dy + side - 1) * (2 * side - 1) + (dx + side - 1)
    table = att.relative_position_bias.relative_position_bias_table            # [(2s-1)^2, heads]
    bias = table[index].permute(2, 0, 1)                                        # heads, n, n
    scores = q @ k.transpose(-1, -2) / hd ** 0.5 + bias
    out = (scores.softmax(-1) @ v).permute(0, 2, 1, 3).reshape(x.shape[0], n, d)
    x = x + att.o_proj(out)
    h = torch.nn.functional.layer_norm(x, (d,), block.layernorm_after.weight, block.layernorm_after.bias,
                                       block.layernorm_after.eps)
    return x + block.mlp.fc2(torch.nn.functional.gelu(block.mlp.fc1(h)))


def _stage_io(backbone, stage: int, block: int, pixels: torch.Tensor):
    """(input, output) of one Swin block, captured by hooks during a forward pass."""
    seen = {}
    layer = backbone.swin.encoder.layers[stage].blocks[block]
    h = layer.register_forward_hook(lambda m, a, o: seen.update(x=a[0].detach(), y=o[0].detach()))
    try:
        with torch.no_grad():
            backbone(pixel_values=pixels)
    finally:
        h.remove()
    return seen["x"], seen["y"]


def _random_weights(module, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.2)


def test_one_window_stage_runs_full_attention_like_torchvision():
    from transformers import SwinBackbone

    torch.manual_seed(0)
    enc = FaceXFormerEncoder(small_swin(), dim=16, depth=1, heads=2, mlp_dim=32).eval()
    _random_weights(enc.backbone)
    pixels = torch.randn(2, 3, 56, 56)
    x, y = _stage_io(enc.backbone, 1, 1, pixels)                 # stage 2, second (shifted) block
    ref = reference_full_attention_block(enc.backbone.swin.encoder.layers[1].blocks[1], x, 7)
    assert (y - ref).abs().max() < 1e-4
    # the first (unshifted) block agrees too, and the multi-window stage keeps its shift
    x0, y0 = _stage_io(enc.backbone, 1, 0, pixels)
    assert (y0 - reference_full_attention_block(enc.backbone.swin.encoder.layers[1].blocks[0], x0, 7)).abs().max() < 1e-4
    assert enc.backbone.swin.encoder.layers[0].blocks[1].shift_size == 3

    # transformers' own SwinBackbone (always_partition=True) keeps the shift: the reference catches it
    plain = SwinBackbone(small_swin()).eval()
    plain.load_state_dict(enc.backbone.state_dict(), strict=False)
    xp, yp = _stage_io(plain, 1, 1, pixels)
    assert torch.allclose(xp, x, atol=1e-5)
    assert (yp - ref).abs().max() > 1e-2


def test_fix_is_idempotent_and_follows_the_input_size():
    enc = FaceXFormerEncoder(small_swin(), dim=16, depth=1, heads=2, mlp_dim=32).eval()
    assert use_torchvision_window_shift(enc.backbone) == 2      # one shifted block per stage, hooked once
    with torch.no_grad():
        enc.backbone(pixel_values=torch.randn(1, 3, 112, 112))  # stage 2 is now 14 x 14: shift kept
    assert enc.backbone.swin.encoder.layers[1].blocks[1].shift_size == 3
    with torch.no_grad():
        enc.backbone(pixel_values=torch.randn(1, 3, 56, 56))
    assert enc.backbone.swin.encoder.layers[1].blocks[1].shift_size == 0


def test_from_components_swin_folder_gets_the_fix(tmp_path):
    from transformers import CLIPVisionConfig, CLIPVisionModel, MistralConfig, MistralForCausalLM, SwinBackbone

    from dfec.model.modeling_facetrack import FaceTrackForCausalLM

    torch.manual_seed(0)
    CLIPVisionModel(CLIPVisionConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=2,
                                     image_size=28, patch_size=14)).save_pretrained(str(tmp_path / "clip"))
    MistralForCausalLM(MistralConfig(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                     num_attention_heads=2, num_key_value_heads=1, head_dim=8)
                       ).save_pretrained(str(tmp_path / "llm"))
    swin = SwinBackbone(small_swin()).eval()
    _random_weights(swin, seed=3)
    swin.save_pretrained(str(tmp_path / "swin"))
    model = FaceTrackForCausalLM.from_components(
        tmp_path / "clip", tmp_path / "llm", face_backbone_path=tmp_path / "swin", num_frames=4, stc_depth=1,
        face_image_size=56, face_dim=16, face_decoder_depth=1, face_decoder_heads=2, face_max_tokens=4,
        face_backbone_config=small_swin().to_dict())
    backbone = model.model.face_encoder.backbone.eval()
    x, y = _stage_io(backbone, 1, 1, torch.randn(1, 3, 56, 56))
    ref = reference_full_attention_block(backbone.swin.encoder.layers[1].blocks[1], x, 7)
    assert (y - ref).abs().max() < 1e-4


def test_image_and_audio_placeholders_are_refused():
    from dfec.model.configuration_facetrack import VIDEO_TOKEN_INDEX, tiny_config
    from dfec.model.modeling_facetrack import FaceTrackForCausalLM

    model = FaceTrackForCausalLM(tiny_config()).eval()
    for bad, what in ((-200, "image placeholder"), (-202, "audio placeholder"), (-7, "negative token id")):
        ids = torch.tensor([[1, 5, bad, 6]])
        with pytest.raises(ValueError, match=what):
            model.prepare_multimodal_inputs(ids)
    emb, mask, _ = model.prepare_multimodal_inputs(torch.tensor([[1, 5, 6]]))  # plain text still works
    assert emb.shape[:2] == (1, 3) and VIDEO_TOKEN_INDEX == -201
