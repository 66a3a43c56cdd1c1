"""``qwen2-vl`` and ``llava-onevision``: Hugging Face transformers video MLLMs from a local folder."""
from __future__ import annotations

import importlib
import inspect
import json
from pathlib import Path

from ..errors import DfecError, FatalRunError, MissingDependencyError
from ..schema import Caption
from .base import DEFAULT_INSTRUCTION, CaptionerOptions, need_dir, need_module
from .frames import sample_frames


class _HFVideoCaptioner:
    """Shared code for Hugging Face transformers video MLLMs loaded from a local folder.

    The video is sampled to N frames (paper: 16). With torchvision installed the processor's video
    path is used; without it (this project's default install) the frames go in as an ordered image
    sequence through the PIL image processor, which both Qwen2-VL and LLaVA-OneVision support.
    Greedy decoding, ``local_files_only=True`` (never downloads).
    """

    name = "hf"
    model_class = ""  # transformers class name
    what = ""

    def __init__(self, options: CaptionerOptions | None = None):
        self.options = options or CaptionerOptions()
        self._model = None
        self._processor = None
        self._use_video = False

    def requires(self) -> list[str]:
        return [f"a local {self.what} folder (--model-path)", "torch", f"transformers with {self.model_class}"]

    def check(self) -> None:
        p = need_dir(self.options.model_path, f"the {self.what} weight folder")
        if not (p / "config.json").exists():
            raise MissingDependencyError(f"the {self.what} weight folder {p}", "it has no config.json (a Hugging Face model folder is needed)")
        from ..model.files import check_weights_folder

        # JSON objects, whole safetensors, shard index; config.json field types are FaceTrack-MM's
        check_weights_folder(p, config_types=False)
        need_module("torch", "install torch")
        try:
            tf = importlib.import_module("transformers")
        except ImportError:
            raise MissingDependencyError("Python package 'transformers'", "pip install 'transformers>=4.45'") from None
        if not hasattr(tf, self.model_class):
            raise MissingDependencyError(f"transformers.{self.model_class}", f"installed transformers {tf.__version__} lacks it; upgrade transformers")

    # -- loading --------------------------------------------------------------------------
    def _load(self):
        """Load once; a folder the loaders refuse stops a list run once (:class:`FatalRunError`)."""
        if self._model is not None:
            return
        from ..model.files import loader_errors

        path = Path(self.options.model_path).expanduser()
        try:
            with loader_errors(path, f"the {self.what} model"):
                self._load_model(str(path))
        except FatalRunError:
            raise
        except DfecError as exc:
            raise FatalRunError.from_error(exc) from None

    def _load_model(self, path: str):
        import torch
        import transformers

        device = self.options.device or ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = getattr(torch, self.options.dtype) if self.options.dtype else (torch.bfloat16 if device.startswith("cuda") else torch.float32)
        cls = getattr(transformers, self.model_class)
        model = cls.from_pretrained(path, local_files_only=True, dtype=dtype).to(device).eval()
        self._processor, self._use_video = self._load_processor(path)
        self._model, self._device = model, device

    def _load_processor(self, path: str):
        import transformers

        try:
            import torchvision  # noqa: F401

            return transformers.AutoProcessor.from_pretrained(path, local_files_only=True), True
        except ImportError:
            pass
        # no torchvision: build the processor from its PIL image processor and the tokenizer
        tok = transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
        image_proc = self._pil_image_processor(path)
        proc_cls = getattr(transformers, self.model_class.replace("ForConditionalGeneration", "Processor"))
        kwargs = {}
        chat_template = getattr(tok, "chat_template", None)
        tmpl_file = Path(path) / "chat_template.json"
        if tmpl_file.exists():
            chat_template = json.loads(tmpl_file.read_text()).get("chat_template", chat_template)
        elif (Path(path) / "chat_template.jinja").exists():
            chat_template = (Path(path) / "chat_template.jinja").read_text()
        if chat_template:
            kwargs["chat_template"] = chat_template
        sig = inspect.signature(proc_cls.__init__).parameters
        extra = {}
        pcfg = Path(path) / "processor_config.json"
        if pcfg.exists():
            cfg = json.loads(pcfg.read_text())
            extra = {k: v for k, v in cfg.items() if k in sig and k not in ("image_processor", "tokenizer", "video_processor", "chat_template")}
        return _image_only(proc_cls)(image_processor=image_proc, tokenizer=tok, **kwargs, **extra), False

    def _pil_image_processor(self, path: str):
        import transformers

        name = self.model_class.replace("ForConditionalGeneration", "ImageProcessorPil")
        cls = getattr(transformers, name, None) or getattr(transformers, name.replace("Pil", ""))
        cfg_file = Path(path) / "preprocessor_config.json"
        if cfg_file.exists():
            return cls.from_pretrained(path, local_files_only=True)
        return cls()

    # -- prompting ------------------------------------------------------------------------
    def caption(self, video: str | Path, tracking=None) -> Caption:
        """Caption one video from its N uniformly sampled frames (``tracking`` is not used)."""
        import torch

        self._load()
        frames = sample_frames(video, self.options.n_frames, 768)
        proc = self._processor
        instruction = self.options.instruction or DEFAULT_INSTRUCTION
        if self._use_video:
            content = [{"type": "video"}, {"type": "text", "text": instruction}]
        else:
            content = [{"type": "image"} for _ in frames] + [{"type": "text", "text": instruction}]
        messages = [{"role": "user", "content": content}]
        prompt = proc.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        if self._use_video:
            import numpy as np

            inputs = proc(text=[prompt], videos=[np.stack(frames)], return_tensors="pt")
        else:
            from PIL import Image

            inputs = proc(text=[prompt], images=[Image.fromarray(f) for f in frames], return_tensors="pt")
        inputs = {k: (v.to(self._device) if hasattr(v, "to") else v) for k, v in inputs.items()}
        if "pixel_values" in inputs and inputs["pixel_values"].is_floating_point():
            inputs["pixel_values"] = inputs["pixel_values"].to(self._model.dtype)
        with torch.inference_mode():
            out = self._model.generate(**inputs, max_new_tokens=self.options.max_new_tokens, do_sample=False)
        new = out[:, inputs["input_ids"].shape[1]:]
        text = proc.batch_decode(new, skip_special_tokens=True)[0].strip()
        return Caption(text=text, captioner=self.name, video=str(video),
                       metadata={"model_path": str(self.options.model_path), "n_frames": len(frames)})


def _image_only(proc_cls):
    """The processor class without its video sub-processor (transformers' video processors need
    torchvision, which is not installable beside this project's torch); frames go in as images."""

    class ImageOnlyProcessor(proc_cls):
        @classmethod
        def get_attributes(cls):
            return [a for a in proc_cls.get_attributes() if a != "video_processor"]

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.video_processor = None

    ImageOnlyProcessor.__name__ = proc_cls.__name__
    return ImageOnlyProcessor


class Qwen2VLCaptioner(_HFVideoCaptioner):
    """Qwen2-VL (2B/7B/72B Instruct) from a local folder."""

    name = "qwen2-vl"
    model_class = "Qwen2VLForConditionalGeneration"
    what = "Qwen2-VL"


class LlavaOneVisionCaptioner(_HFVideoCaptioner):
    """LLaVA-OneVision (transformers ``-hf`` checkpoints) from a local folder."""

    name = "llava-onevision"
    model_class = "LlavaOnevisionForConditionalGeneration"
    what = "LLaVA-OneVision"
