"""Turn (video or TrackingResult, instruction[, answer]) into FaceTrack-MM inputs.

Paper: the video is decoded at 16 fps and N = 16 frames are used: the frames the
tracking module selected (uniform sampling with nearest-main-face replacement) when a
:class:`~dfec.schema.TrackingResult` is given, else 16 uniformly spaced frames. Each frame is padded
to a square with the CLIP mean colour and resized to 336 px (VideoLLaMA2's ``pad`` aspect mode),
then normalised with the CLIP mean/std. The main character's face in each selected frame is
aligned (``dfec.faces.align.align_face``, eyes level, 224 px) and normalised with the ImageNet
mean/std that FaceXFormer uses; ``face_mask`` marks the frames where the main face is present.

Text: the user turn is ``"<video>\\n" + instruction`` rendered with the tokenizer's (Mistral) chat
template; the prompt is tokenized around ``<video>``, which becomes the sentinel id -201. For
training the answer tokens (+ EOS) follow, and ``labels`` are -100 on every prompt position.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DfecError
from ..schema import TrackingResult
from .configuration_facetrack import IGNORE_INDEX, VIDEO_PLACEHOLDER, VIDEO_TOKEN_INDEX

DEFAULT_INSTRUCTION = "Describe the dynamic facial expression of the main character in the video in detail."
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: Mistral-7B-Instruct's chat format, used when the tokenizer carries no chat template
MISTRAL_CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}"
    "{{ '[INST] ' + message['content'] + ' [/INST]' }}{% else %}{{ message['content'] + eos_token }}"
    "{% endif %}{% endfor %}"
)


@dataclass
class ProcessorConfig:
    """Input settings; defaults are the paper's (16 frames, 336 px frames, 224 px faces, 16 fps)."""

    num_frames: int = 16
    image_size: int = 336
    face_size: int = 224
    fps: float = 16.0
    face_margin: float = 0.08
    image_mean: tuple = CLIP_MEAN
    image_std: tuple = CLIP_STD
    face_mean: tuple = IMAGENET_MEAN
    face_std: tuple = IMAGENET_STD
    max_answer_tokens: int = 1024
    default_instruction: str = DEFAULT_INSTRUCTION

    @classmethod
    def from_model_config(cls, config) -> "ProcessorConfig":
        return cls(num_frames=config.num_frames, image_size=config.vision_config.image_size,
                   face_size=config.face_image_size)


def pad_fill(mean) -> tuple[int, int, int]:
    """The 0-255 colour frames are padded with: the CLIP mean truncated as VideoLLaMA2 does
    (``int(m * 255)`` in its ``expand2square`` call: (122, 116, 104), not rounded (123, 117, 104))."""
    return tuple(int(m * 255) for m in mean)


def pad_to_square(rgb: np.ndarray, fill) -> np.ndarray:
    """Pad an HxWx3 uint8 image to a centred square filled with ``fill`` (0-255 RGB)."""
    h, w = rgb.shape[:2]
    s = max(h, w)
    out = np.empty((s, s, 3), dtype=np.uint8)
    out[:] = np.asarray(fill, dtype=np.uint8)
    y, x = (s - h) // 2, (s - w) // 2
    out[y:y + h, x:x + w] = rgb
    return out


def resize(rgb: np.ndarray, size: int) -> np.ndarray:
    from PIL import Image

    if rgb.shape[0] == size and rgb.shape[1] == size:
        return rgb
    return np.asarray(Image.fromarray(rgb).resize((size, size), Image.BICUBIC))


def normalize(images: np.ndarray, mean, std) -> np.ndarray:
    """``[N, H, W, 3]`` uint8 -> ``[N, 3, H, W]`` float32, (x/255 - mean) / std."""
    x = images.astype(np.float32) / 255.0
    x = (x - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def box_crop(rgb: np.ndarray, box, size: int, margin: float = 0.08) -> np.ndarray:
    """A square crop around ``box`` (used when a track has no landmarks to align with)."""
    x1, y1, x2, y2 = [float(v) for v in box]
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    half = max(x2 - x1, y2 - y1) * (0.5 + margin)
    h, w = rgb.shape[:2]
    xs = np.clip(np.arange(int(cx - half), int(cx + half) + 1), 0, w - 1)
    ys = np.clip(np.arange(int(cy - half), int(cy + half) + 1), 0, h - 1)
    return resize(np.ascontiguousarray(rgb[ys][:, xs]), size)


def _load_image(path: str | Path) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except FileNotFoundError:
        raise DfecError("no such face crop image", path) from None
    except Exception as exc:
        raise DfecError(f"not a readable image ({type(exc).__name__})", path) from None


@dataclass
class VisualInputs:
    """Frames ``[T, 3, S, S]``, face crops ``[T, 3, s, s]`` and ``face_mask [T]`` (numpy)."""

    pixel_values: np.ndarray
    face_pixel_values: np.ndarray
    face_mask: np.ndarray
    frame_indices: list[int] = field(default_factory=list)


class FaceTrackProcessor:
    """Tokenizer + frame/face preprocessing for :class:`~dfec.model.modeling_facetrack.FaceTrackForCausalLM`."""

    def __init__(self, tokenizer, config: ProcessorConfig | None = None):
        self.tokenizer = tokenizer
        self.config = config or ProcessorConfig()
        if getattr(tokenizer, "chat_template", None) is None:
            tokenizer.chat_template = MISTRAL_CHAT_TEMPLATE
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.unk_token or tokenizer.eos_token

    # -- persistence --------------------------------------------------------------------------------
    def save_pretrained(self, path: str | Path) -> None:
        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        self.tokenizer.save_pretrained(str(p))
        (p / "processor_config.json").write_text(json.dumps(asdict(self.config), indent=2))

    @classmethod
    def from_pretrained(cls, path: str | Path, tokenizer_path: str | Path | None = None, **overrides) -> "FaceTrackProcessor":
        from transformers import AutoTokenizer

        p = Path(path)
        tok = AutoTokenizer.from_pretrained(str(tokenizer_path or p), local_files_only=True)
        cfg = ProcessorConfig()
        f = p / "processor_config.json"
        if f.is_file():
            d = json.loads(f.read_text())
            cfg = ProcessorConfig(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items()
                                     if k in ProcessorConfig.__dataclass_fields__})
        for k, v in overrides.items():
            setattr(cfg, k, v)
        return cls(tok, cfg)

    # -- text ---------------------------------------------------------------------------------------
    def prompt_text(self, instruction: str | None = None) -> str:
        instruction = (instruction or self.config.default_instruction).strip()
        content = instruction if VIDEO_PLACEHOLDER in instruction else f"{VIDEO_PLACEHOLDER}\n{instruction}"
        return self.tokenizer.apply_chat_template([{"role": "user", "content": content}], tokenize=False,
                                                  add_generation_prompt=True)

    def _encode(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"]) if text else []

    def tokenize(self, instruction: str | None = None, answer: str | None = None) -> tuple[list[int], list[int]]:
        """``(input_ids, labels)``: the prompt with -201 at ``<video>``; labels -100 on the prompt."""
        prompt = self.prompt_text(instruction)
        pieces = prompt.split(VIDEO_PLACEHOLDER)
        ids: list[int] = []
        for i, piece in enumerate(pieces):
            if i:
                ids.append(VIDEO_TOKEN_INDEX)
            ids += self._encode(piece)
        labels = [IGNORE_INDEX] * len(ids)
        if answer is not None:
            msgs = [{"role": "user", "content": "x"}]
            head = self.tokenizer.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
            full = self.tokenizer.apply_chat_template(msgs + [{"role": "assistant", "content": answer.strip()}],
                                                      tokenize=False)
            tail = full[len(head):] if full.startswith(head) else answer.strip() + (self.tokenizer.eos_token or "")
            ans = self._encode(tail)
            eos = self.tokenizer.eos_token_id
            if eos is not None and (not ans or ans[-1] != eos):
                ans.append(eos)
            ans = ans[: self.config.max_answer_tokens]
            ids += ans
            labels += ans
        return ids, labels

    # -- pixels -------------------------------------------------------------------------------------
    def _frame(self, rgb: np.ndarray) -> np.ndarray:
        fill = pad_fill(self.config.image_mean)
        return resize(pad_to_square(rgb, fill), self.config.image_size)

    def _face(self, rgb: np.ndarray, track, i: int) -> np.ndarray:
        lm = track.landmarks[i] if len(track.landmarks) > i else None
        if lm is not None and np.isfinite(lm).all() and np.ptp(lm[:, 0]) > 1:
            try:
                from ..faces.align import align_face

                return resize(align_face(rgb, lm, size=self.config.face_size, margin=self.config.face_margin),
                              self.config.face_size)
            except ImportError:  # the faces stage is optional for the model; fall back to the box
                pass
        return box_crop(rgb, track.boxes[i], self.config.face_size, self.config.face_margin)

    def visual_inputs(self, video: str | Path | None = None, tracking: TrackingResult | None = None,
                      face_images: list | None = None) -> VisualInputs:
        """Decode the N frames (and the main-face crops) of ``video`` / ``tracking.video``.

        ``face_images`` (paths or HxWx3 arrays) overrides the crops taken from ``tracking``.
        """
        from ..video.reader import iter_frames, uniform_indices

        cfg = self.config
        path = video if video is not None else (tracking.video if tracking is not None else None)
        if path is None:
            raise DfecError("FaceTrack-MM needs a video path or a TrackingResult")
        fps = tracking.fps if tracking is not None and tracking.fps else cfg.fps
        wanted: list[int] | None = None
        if tracking is not None and tracking.selected_frames:
            sel = sorted(int(f) for f in tracking.selected_frames)
            wanted = [sel[k] for k in uniform_indices(len(sel), cfg.num_frames)]  # tracked with another N
        elif tracking is not None and tracking.n_frames:
            wanted = uniform_indices(tracking.n_frames, cfg.num_frames)
        track = tracking.main_track if tracking is not None else None
        frames: dict[int, np.ndarray] = {}
        faces: dict[int, np.ndarray] = {}
        all_small: list[np.ndarray] = []
        want_set = set(wanted) if wanted is not None else None
        for idx, _, rgb in iter_frames(path, fps, only=want_set):  # unwanted frames are not converted
            if want_set is None:
                all_small.append(self._frame(rgb))     # keep only the 336-px copy of every frame
                continue
            if idx in want_set:
                frames[idx] = self._frame(rgb)
                if track is not None and face_images is None:
                    j = track.index_of(idx)
                    if j is not None:
                        faces[idx] = self._face(rgb, track, j)
            if idx >= max(want_set):
                break
        if want_set is None:
            wanted = uniform_indices(len(all_small), cfg.num_frames)
            frames = {i: all_small[i] for i in wanted}
        else:
            got = sorted(frames)
            if not got:
                raise DfecError("none of the tracked frames could be decoded", path)
            wanted = [i for i in wanted if i in frames]
        # always give the model num_frames frames: repeat the last decoded one for short videos
        order = list(wanted) + [wanted[-1]] * (cfg.num_frames - len(wanted))
        pixel = normalize(np.stack([frames[i] for i in order]), cfg.image_mean, cfg.image_std)
        n, s = cfg.num_frames, cfg.face_size
        face_arr = np.zeros((n, s, s, 3), np.uint8)
        mask = np.zeros(n, bool)
        if face_images is not None:
            for k, img in enumerate(list(face_images)[:n]):
                img = _load_image(img) if isinstance(img, (str, Path)) else np.asarray(img, np.uint8)
                face_arr[k] = resize(img, s)
                mask[k] = True
        else:
            for k, i in enumerate(order[: len(wanted)]):
                if i in faces:
                    face_arr[k] = faces[i]
                    mask[k] = True
        return VisualInputs(pixel, normalize(face_arr, cfg.face_mean, cfg.face_std), mask, order)

    # -- everything ---------------------------------------------------------------------------------
    def __call__(self, video: str | Path | None = None, instruction: str | None = None, answer: str | None = None,
                 tracking: TrackingResult | None = None, face_images: list | None = None,
                 visual: VisualInputs | None = None) -> dict:
        """One sample as tensors without a batch axis; see :meth:`collate` to batch."""
        import torch

        ids, labels = self.tokenize(instruction, answer)
        vis = visual or self.visual_inputs(video, tracking, face_images)
        out = {
            "input_ids": torch.tensor(ids, dtype=torch.long),
            "pixel_values": torch.from_numpy(vis.pixel_values),
            "face_pixel_values": torch.from_numpy(vis.face_pixel_values),
            "face_mask": torch.from_numpy(vis.face_mask),
        }
        if answer is not None:
            out["labels"] = torch.tensor(labels, dtype=torch.long)
        return out

    def collate(self, samples: list[dict]) -> dict:
        """Right-pad ``input_ids``/``labels`` and stack the pixel tensors into a batch."""
        import torch

        n = max(len(s["input_ids"]) for s in samples)
        pad = self.tokenizer.pad_token_id or 0
        ids = torch.full((len(samples), n), pad, dtype=torch.long)
        mask = torch.zeros((len(samples), n), dtype=torch.long)
        labels = torch.full((len(samples), n), IGNORE_INDEX, dtype=torch.long)
        for b, s in enumerate(samples):
            k = len(s["input_ids"])
            ids[b, :k] = s["input_ids"]
            mask[b, :k] = 1
            if "labels" in s:
                labels[b, :k] = s["labels"]
        batch = {"input_ids": ids, "attention_mask": mask,
                 "pixel_values": torch.stack([s["pixel_values"] for s in samples]),
                 "face_pixel_values": torch.stack([s["face_pixel_values"] for s in samples]),
                 "face_mask": torch.stack([s["face_mask"] for s in samples])}
        if any("labels" in s for s in samples):
            batch["labels"] = labels
        return batch
