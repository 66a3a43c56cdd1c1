"""FaceTrack-MM configuration (registered with ``AutoConfig`` as ``facetrack_mm``).

Paper: FaceTrack-MM = CLIP ViT-L/14-336 vision tower (penultimate layer, patch tokens,
frozen) + VideoLLaMA2's STC connector + a FaceXFormer face branch on the main-face crops + the
Mistral-7B-Instruct LLM. The defaults of :class:`FaceTrackConfig` are those of the paper's 7B model;
:func:`paper_config` returns the same explicitly.

Visual token budget per video (16 frames, 336 px, 24x24 patch grid):
STC video tokens = 9 * 13 * 13 = 1521, face tokens = min(16 * 2, 32) = 32, total 1553.
"""
from __future__ import annotations

from huggingface_hub.dataclasses import strict
from transformers import CLIPVisionConfig, MistralConfig, SwinConfig
from transformers.configuration_utils import PreTrainedConfig, SubConfigSpec

#: the sentinel id put in ``input_ids`` where the ``<video>`` placeholder was (VideoLLaMA2's -201)
VIDEO_TOKEN_INDEX = -201
IGNORE_INDEX = -100
VIDEO_PLACEHOLDER = "<video>"

CLIP_L14_336 = dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16,
                    image_size=336, patch_size=14, projection_dim=768, hidden_act="quick_gelu")
MISTRAL_7B = dict(vocab_size=32000, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
                  num_attention_heads=32, num_key_value_heads=8, max_position_embeddings=32768,
                  rms_norm_eps=1e-5, sliding_window=None, rope_parameters={"rope_type": "default", "rope_theta": 1e6})
SWIN_B = dict(image_size=224, patch_size=4, embed_dim=128, depths=[2, 2, 18, 2], num_heads=[4, 8, 16, 32],
              window_size=7, drop_path_rate=0.0, out_features=["stage1", "stage2", "stage3", "stage4"])


@strict
class FaceTrackConfig(PreTrainedConfig):
    """Configuration of :class:`~dfec.model.modeling_facetrack.FaceTrackForCausalLM`.

    ``vision_config`` (CLIPVisionConfig), ``text_config`` (MistralConfig) and
    ``face_backbone_config`` (SwinConfig) are sub-configs; the rest sets the connector and the
    face branch. ``stc_padding=1`` is VideoLLaMA2's released ``stc_connector`` (``0`` is its v3.5).
    """

    model_type = "facetrack_mm"
    sub_configs_defaults = {
        "vision_config": SubConfigSpec(config_class=CLIPVisionConfig, init_kwargs=CLIP_L14_336),
        "text_config": SubConfigSpec(config_class=MistralConfig, init_kwargs=MISTRAL_7B),
        "face_backbone_config": SubConfigSpec(config_class=SwinConfig, init_kwargs=SWIN_B),
    }

    vision_config: dict | PreTrainedConfig | None = None
    text_config: dict | PreTrainedConfig | None = None
    face_backbone_config: dict | PreTrainedConfig | None = None
    vision_feature_layer: int = -2
    vision_feature_select: str = "patch"
    num_frames: int = 16
    stc_depth: int = 4
    stc_downsample: list[int] | tuple[int, ...] = (2, 2, 2)
    stc_padding: int = 1
    stc_mlp_depth: int = 2
    use_face_branch: bool = True
    face_image_size: int = 224
    face_dim: int = 256
    face_decoder_depth: int = 2
    face_decoder_heads: int = 8
    face_mlp_dim: int = 2048
    face_num_mask_tokens: int = 11
    face_tokens_per_frame: int = 2
    face_max_tokens: int = 32
    video_token_index: int = VIDEO_TOKEN_INDEX
    ignore_index: int = IGNORE_INDEX
    tie_word_embeddings: bool = False

    @property
    def mm_hidden_size(self) -> int:
        return self.vision_config.hidden_size

    @property
    def patch_grid(self) -> int:
        return self.vision_config.image_size // self.vision_config.patch_size

    def video_token_count(self, num_frames: int | None = None) -> int:
        from .stc_connector import stc_token_count

        n = self.num_frames if num_frames is None else num_frames
        return stc_token_count(n, self.patch_grid, tuple(self.stc_downsample), self.stc_padding)

    def face_token_count(self, n_faces: int | None = None) -> int:
        if not self.use_face_branch:
            return 0
        n = self.num_frames if n_faces is None else n_faces
        return min(n * self.face_tokens_per_frame, self.face_max_tokens)

    def visual_token_count(self, num_frames: int | None = None) -> int:
        """Video tokens + face tokens spliced in place of ``<video>`` (1521 + 32 = 1553 by default)."""
        return self.video_token_count(num_frames) + self.face_token_count(num_frames)

    def get_text_config(self, *args, **kwargs):
        return self.text_config


def paper_config(**overrides) -> FaceTrackConfig:
    """The paper's FaceTrack-MM-7B configuration (CLIP-L/14-336, Mistral-7B-Instruct, Swin-B, 16 frames)."""
    return FaceTrackConfig(vision_config=dict(CLIP_L14_336), text_config=dict(MISTRAL_7B),
                           face_backbone_config=dict(SWIN_B), **overrides)


def tiny_config(vocab_size: int = 128, **overrides) -> FaceTrackConfig:
    """A few-hundred-thousand-parameter config of the same classes, for tests and smoke runs."""
    kw = dict(
        vision_config=dict(hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=2,
                           image_size=56, patch_size=14, projection_dim=16),
        text_config=dict(vocab_size=vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                         pad_token_id=0, bos_token_id=1, eos_token_id=2, sliding_window=None,
                         initializer_range=0.2),
        face_backbone_config=dict(image_size=32, patch_size=4, embed_dim=8, depths=[1, 1, 1, 1],
                                  num_heads=[1, 1, 1, 1], window_size=2, drop_path_rate=0.0,
                                  out_features=["stage1", "stage2", "stage3", "stage4"]),
        num_frames=4, stc_depth=1, face_image_size=32, face_dim=16, face_decoder_depth=1, face_decoder_heads=2,
        face_mlp_dim=32, face_num_mask_tokens=2,
        face_tokens_per_frame=2, face_max_tokens=4,
    )
    kw.update(overrides)
    return FaceTrackConfig(**kw)
