"""FaceTrack-MM: CLIP video tokens (STC connector) + FaceXFormer face tokens spliced into Mistral.

Paper: for one video with prompt ``[INST] <video>\\n{instruction} [/INST]``:

1. the T = 16 frames (padded to square, 336 px) go through the frozen CLIP ViT-L/14-336; the
   penultimate layer's 24x24 patch tokens form ``[T, 576, 1024]``;
2. the STC connector maps them to ``9 * 13 * 13 = 1521`` tokens of the LLM width;
3. the main-face crops go through FaceXFormer; its task tokens are pooled to at most 32 face tokens
   and projected to the LLM width;
4. the ``<video>`` placeholder (sentinel id ``-201`` in ``input_ids``) is replaced by the video tokens
   followed by the face tokens, and the labels at all prompt and visual positions are ``-100``.

Module names: ``model.vision_tower`` (CLIPVisionModel), ``model.mm_projector`` (STC connector, the
same key layout as VideoLLaMA2's checkpoints), ``model.face_encoder``, ``model.face_projector`` and
``language_model`` (MistralForCausalLM).
"""
from __future__ import annotations

import torch
import torch.nn as nn
from transformers import CLIPVisionModel, MistralForCausalLM, PreTrainedModel
from transformers.modeling_outputs import CausalLMOutputWithPast

from .configuration_facetrack import FaceTrackConfig
from .face_encoder import FaceTokenPooler, FaceXFormerEncoder
from .stc_connector import STCConnector

#: VideoLLaMA2's image and audio placeholder ids, which FaceTrack-MM refuses instead of embedding
IMAGE_TOKEN_INDEX, AUDIO_TOKEN_INDEX = -200, -202

#: parameter-name prefixes of the trainable connectors ("projectors" in the paper's recipe)
PROJECTOR_PREFIXES = ("model.mm_projector.", "model.face_projector.")


class FaceTrackVisual(nn.Module):
    """The visual side: CLIP tower, STC connector, face encoder and face projector."""

    def __init__(self, config: FaceTrackConfig, vision_tower: nn.Module | None = None):
        super().__init__()
        self.vision_tower = vision_tower if vision_tower is not None else CLIPVisionModel(config.vision_config)
        hidden = config.text_config.hidden_size
        self.mm_projector = STCConnector(config.vision_config.hidden_size, hidden, hidden, depth=config.stc_depth,
                                         downsample=tuple(config.stc_downsample), padding=config.stc_padding,
                                         mlp_depth=config.stc_mlp_depth)
        if config.use_face_branch:
            self.face_encoder = FaceXFormerEncoder(config.face_backbone_config, dim=config.face_dim,
                                                   depth=config.face_decoder_depth, heads=config.face_decoder_heads,
                                                   mlp_dim=config.face_mlp_dim,
                                                   n_mask_tokens=config.face_num_mask_tokens)
            self.face_projector = FaceTokenPooler(config.face_dim, hidden, config.face_tokens_per_frame,
                                                  config.face_max_tokens, heads=config.face_decoder_heads)


class FaceTrackPreTrainedModel(PreTrainedModel):
    config_class = FaceTrackConfig
    config: FaceTrackConfig
    base_model_prefix = "model"
    supports_gradient_checkpointing = True
    _supports_sdpa = True
    _no_split_modules = ["MistralDecoderLayer", "CLIPEncoderLayer", "RegBottleneck", "TwoWayAttentionBlock"]

    def _init_weights(self, module):
        super()._init_weights(module)
        if isinstance(module, FaceTokenPooler):
            from transformers import initialization as init

            init.normal_(module.queries, mean=0.0, std=0.02)


class FaceTrackForCausalLM(FaceTrackPreTrainedModel):
    """FaceTrack-MM for training (``forward`` with ``labels``) and captioning (``generate``)."""

    def __init__(self, config: FaceTrackConfig, vision_tower: nn.Module | None = None,
                 language_model: nn.Module | None = None):
        super().__init__(config)
        for tower in (vision_tower, language_model):  # already-loaded weights: never re-initialise
            if tower is not None:
                for m in tower.modules():
                    m._is_hf_initialized = True
        self.model = FaceTrackVisual(config, vision_tower)
        self.language_model = language_model if language_model is not None else MistralForCausalLM(config.text_config)
        self.post_init()

    # -- plumbing ---------------------------------------------------------------------------------
    def get_input_embeddings(self):
        return self.language_model.get_input_embeddings()

    def set_input_embeddings(self, value):
        self.language_model.set_input_embeddings(value)

    def get_output_embeddings(self):
        return self.language_model.get_output_embeddings()

    @property
    def has_face_branch(self) -> bool:
        return hasattr(self.model, "face_encoder")

    def freeze_for_finetuning(self, train_projectors: bool = True) -> None:
        """The paper's recipe: vision tower, face encoder and LLM frozen; connectors trainable."""
        for name, p in self.named_parameters():
            p.requires_grad_(train_projectors and name.startswith(PROJECTOR_PREFIXES))

    # -- visual tokens ----------------------------------------------------------------------------
    def encode_video(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """``[B, T, 3, S, S]`` -> STC tokens ``[B, T'*H'*W', D]`` (CLIP layer -2 patch features)."""
        b, t = pixel_values.shape[:2]
        tower = self.model.vision_tower
        dtype = next(tower.parameters()).dtype
        with torch.set_grad_enabled(torch.is_grad_enabled() and any(p.requires_grad for p in tower.parameters())):
            out = tower(pixel_values=pixel_values.flatten(0, 1).to(dtype), output_hidden_states=True)
            feats = out.hidden_states[self.config.vision_feature_layer]
            if self.config.vision_feature_select == "patch":
                feats = feats[:, 1:]
        feats = feats.reshape(b, t, feats.shape[1], feats.shape[2])
        proj_dtype = next(self.model.mm_projector.parameters()).dtype
        return self.model.mm_projector(feats.to(proj_dtype))

    def encode_faces(self, face_pixel_values: torch.Tensor | None, face_mask: torch.Tensor | None) -> list[torch.Tensor]:
        """``[B, F, 3, s, s]`` crops (``face_mask [B, F]`` marks real ones) -> per-video face tokens."""
        if not self.has_face_branch or face_pixel_values is None:
            b = 0 if face_pixel_values is None else face_pixel_values.shape[0]
            return [None] * b
        b, f = face_pixel_values.shape[:2]
        if face_mask is None:
            face_mask = torch.ones(b, f, dtype=torch.bool, device=face_pixel_values.device)
        face_mask = face_mask.bool()
        enc = self.model.face_encoder
        dtype = next(enc.parameters()).dtype
        valid = face_pixel_values[face_mask]
        if valid.shape[0] == 0:
            return [None] * b
        with torch.set_grad_enabled(torch.is_grad_enabled() and any(p.requires_grad for p in enc.parameters())):
            tokens = enc(valid.to(dtype))
        pdtype = next(self.model.face_projector.parameters()).dtype
        counts = face_mask.sum(1).tolist()
        out, i = [], 0
        for n in counts:
            out.append(self.model.face_projector(tokens[i:i + n].to(pdtype)) if n else None)
            i += n
        return out

    def prepare_multimodal_inputs(self, input_ids, attention_mask=None, labels=None, pixel_values=None,
                                  face_pixel_values=None, face_mask=None, padding_side: str = "right"):
        """Splice visual tokens at the ``<video>`` sentinel; returns ``(inputs_embeds, attention_mask, labels)``.

        Each sequence's padding (``attention_mask == 0``) is dropped, the sentinel is replaced by
        ``[video tokens; face tokens]`` (labels ``-100`` there), and the batch is re-padded on
        ``padding_side`` (right for training, left for generation).
        """
        cfg = self.config
        embed = self.get_input_embeddings()
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        video = self.encode_video(pixel_values) if pixel_values is not None else None
        faces = self.encode_faces(face_pixel_values, face_mask) if face_pixel_values is not None else [None] * len(input_ids)
        seqs, labs = [], []
        for b in range(input_ids.shape[0]):
            keep = attention_mask[b].bool()
            ids = input_ids[b][keep]
            lab = labels[b][keep] if labels is not None else torch.full_like(ids, cfg.ignore_index)
            pos = (ids == cfg.video_token_index).nonzero().flatten().tolist()
            other = ids[(ids < 0) & (ids != cfg.video_token_index)]
            if other.numel():  # e.g. VideoLLaMA2's image (-200) or audio (-202) placeholder
                bad = int(other[0])
                what = {IMAGE_TOKEN_INDEX: "an image placeholder (<image>)",
                        AUDIO_TOKEN_INDEX: "an audio placeholder (<audio>)"}.get(bad, "a negative token id")
                raise ValueError(f"sample {b}: input_ids hold {what}, id {bad}; FaceTrack-MM takes only the "
                                 f"<video> placeholder ({cfg.video_token_index}) and real token ids")
            text_emb = embed(ids.clamp(min=0))
            if not pos or video is None:
                seqs.append(text_emb)
                labs.append(lab)
                continue
            if len(pos) > 1:
                raise ValueError(f"sample {b} has {len(pos)} <video> placeholders; FaceTrack-MM takes one video")
            p = pos[0]
            vis = [video[b].to(text_emb.dtype)]
            if faces[b] is not None:
                vis.append(faces[b].to(text_emb.dtype))
            vis = torch.cat(vis, 0)
            seqs.append(torch.cat([text_emb[:p], vis, text_emb[p + 1:]], 0))
            labs.append(torch.cat([lab[:p], lab.new_full((vis.shape[0],), cfg.ignore_index), lab[p + 1:]], 0))
        n = max(s.shape[0] for s in seqs)
        d = seqs[0].shape[1]
        emb = seqs[0].new_zeros(len(seqs), n, d)
        mask = attention_mask.new_zeros(len(seqs), n)
        new_labels = torch.full((len(seqs), n), cfg.ignore_index, dtype=torch.long, device=emb.device)
        for b, (s, l) in enumerate(zip(seqs, labs)):
            sl = slice(0, s.shape[0]) if padding_side == "right" else slice(n - s.shape[0], n)
            emb[b, sl] = s
            mask[b, sl] = 1
            new_labels[b, sl] = l
        return emb, mask, (new_labels if labels is not None else None)

    # -- forward / generate -----------------------------------------------------------------------
    def forward(self, input_ids=None, attention_mask=None, labels=None, pixel_values=None, face_pixel_values=None,
                face_mask=None, inputs_embeds=None, **kwargs) -> CausalLMOutputWithPast:
        if inputs_embeds is None:
            inputs_embeds, attention_mask, labels = self.prepare_multimodal_inputs(
                input_ids, attention_mask, labels, pixel_values, face_pixel_values, face_mask)
        return self.language_model(inputs_embeds=inputs_embeds, attention_mask=attention_mask, labels=labels, **kwargs)

    @torch.no_grad()
    def generate(self, input_ids=None, attention_mask=None, pixel_values=None, face_pixel_values=None,
                 face_mask=None, **generate_kwargs) -> torch.Tensor:
        """Generate the answer; returns only the new token ids ``[B, n_new]``."""
        embeds, mask, _ = self.prepare_multimodal_inputs(input_ids, attention_mask, None, pixel_values,
                                                         face_pixel_values, face_mask, padding_side="left")
        generate_kwargs.setdefault("pad_token_id", self.config.text_config.pad_token_id
                                   if self.config.text_config.pad_token_id is not None
                                   else self.config.text_config.eos_token_id)
        return self.language_model.generate(inputs_embeds=embeds, attention_mask=mask, **generate_kwargs)

    # -- building from separately downloaded parts --------------------------------------------------
    @classmethod
    def from_components(cls, vision_path, llm_path, projector_path=None, face_backbone_path=None,
                        dtype: torch.dtype | None = None, **config_overrides) -> "FaceTrackForCausalLM":
        """Assemble FaceTrack-MM from local CLIP and Mistral folders (+ a VideoLLaMA2 checkpoint's projector).

        The STC connector is loaded from ``projector_path`` when given (VideoLLaMA2 key layout); the
        face encoder from ``face_backbone_path`` when given: a released FaceXFormer checkpoint file
        (``.pt``/``.safetensors``, converted from its torchvision Swin layout) or a transformers Swin
        folder (backbone only). The rest starts random.
        """
        from transformers import AutoConfig

        from .stc_connector import load_videollama2_projector

        vcfg = AutoConfig.from_pretrained(vision_path, local_files_only=True)
        vcfg = getattr(vcfg, "vision_config", vcfg)
        vision = CLIPVisionModel.from_pretrained(vision_path, config=vcfg, local_files_only=True, use_safetensors=True,
                                                 dtype=dtype)
        llm = MistralForCausalLM.from_pretrained(llm_path, local_files_only=True, use_safetensors=True, dtype=dtype)
        config = FaceTrackConfig(vision_config=vision.config.to_dict(), text_config=llm.config.to_dict(),
                                 **config_overrides)
        model = cls(config, vision_tower=vision, language_model=llm)
        if dtype is not None:
            model.model.mm_projector.to(dtype)
            if model.has_face_branch:
                model.model.face_encoder.to(dtype)
                model.model.face_projector.to(dtype)
        if projector_path:
            load_videollama2_projector(model.model.mm_projector, projector_path)
        if face_backbone_path and model.has_face_branch:
            from pathlib import Path

            enc = model.model.face_encoder
            if Path(face_backbone_path).is_file():
                from .face_encoder import load_facexformer_checkpoint

                load_facexformer_checkpoint(enc, face_backbone_path)
            else:
                from transformers import SwinBackbone

                enc.backbone = SwinBackbone.from_pretrained(
                    str(face_backbone_path), local_files_only=True, use_safetensors=True, dtype=dtype,
                    out_features=list(config.face_backbone_config.out_features))
                enc.prepare_backbone()
        return model


def register_auto_classes() -> None:
    """Register ``facetrack_mm`` with ``AutoConfig`` and ``AutoModelForCausalLM`` (idempotent)."""
    from transformers import AutoConfig, AutoModelForCausalLM

    try:
        AutoConfig.register(FaceTrackConfig.model_type, FaceTrackConfig)
    except ValueError:
        pass
    try:
        AutoModelForCausalLM.register(FaceTrackConfig, FaceTrackForCausalLM)
    except ValueError:
        pass


register_auto_classes()
