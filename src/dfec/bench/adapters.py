"""Captioner adapters for FEC-Bench: one small interface, many models.

Paper, FEC-Bench (Table 1): every video MLLM is asked to describe the facial dynamics of the main
character of each test video, and its caption is scored against the reference. An adapter hides how
a model is loaded and called; the runner only needs :class:`Captioner`:

* ``name``: the label written into predictions and results;
* ``requires()``: what the adapter needs (packages, weight folders, keys), in words;
* ``check()``: raise :class:`~dfec.errors.MissingDependencyError` (one line) when a need is missing;
  the runner calls it once before any video is touched;
* ``caption(video_path) -> str``: the caption of one video (heavy models load lazily on first call).

Built-in adapters (``--model NAME``): ``landmark`` (the training-free landmark captioner),
``facetrack`` (FaceTrack-MM from a local folder), ``openai`` (any OpenAI-compatible vision chat
endpoint; frames are sent as images, optionally after in-context example captions, which gives the
paper's starred rows), ``qwen2-vl`` and ``llava-onevision`` (Hugging Face transformers models from a
local folder). A user's own captioner plugs in as ``--model package.module:ClassName`` or through the
``dfec.bench.adapters`` entry-point group; its class is called with the :class:`AdapterOptions`
(``cls(options)``) or, when it takes no argument, with nothing.

This module imports only light packages; torch, transformers and openai load inside the adapters.
"""
from __future__ import annotations

import base64
import importlib
import inspect
import io
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol, runtime_checkable

from ..errors import DfecError, MissingDependencyError
from ..redact import is_secret_name, redact, register_secret

#: The instruction given to instruction-following models (our wording of the DFEC task). It asks
#: for the main character's facial changes in time order, without guessing beyond what is visible.
DEFAULT_INSTRUCTION = (
    "Describe in detail how the facial expression of the main character in this video changes over "
    "time. Cover the eyes, eyebrows, mouth and head, describe the changes in the order they happen "
    "(beginning, middle, end), and do not mention anything that is not visible."
)

#: Frames per video for frame-based adapters: the paper samples N = 16 frames uniformly.
DEFAULT_N_FRAMES = 16

ENTRY_POINT_GROUP = "dfec.bench.adapters"


@runtime_checkable
class Captioner(Protocol):
    """What the FEC-Bench runner needs from a model."""

    name: str

    def requires(self) -> list[str]:
        """What this adapter needs, one short phrase each (for ``dfec bench run --help``/errors)."""
        ...

    def check(self) -> None:
        """Raise :class:`MissingDependencyError` (one line) when something required is missing."""
        ...

    def caption(self, video_path: str | Path) -> str:
        """Caption one video."""
        ...


@dataclass
class AdapterOptions:
    """Everything an adapter may be configured with; plain data so it crosses process boundaries.

    Defaults follow the paper: N = 16 uniformly sampled frames, greedy decoding (temperature 0),
    no in-context examples (the starred rows of Table 1 use ``icl_examples > 0``).
    """

    model_path: str | None = None
    n_frames: int = DEFAULT_N_FRAMES
    instruction: str | None = None  # None: DEFAULT_INSTRUCTION (FaceTrack-MM: its own training instruction)
    max_new_tokens: int = 256
    device: str | None = None
    dtype: str | None = None
    # OpenAI-compatible endpoints
    api_model: str | None = None
    api_base: str | None = None
    api_key: str | None = None
    icl_examples: int = 0
    icl_captions: list[str] = field(default_factory=list)
    max_retries: int = 3
    timeout_s: float = 120.0
    image_max_side: int = 512
    # anything else a custom adapter wants (``--opt key=value``)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        register_secret(self.api_key)
        for k, v in self.extra.items():
            if is_secret_name(k):
                register_secret(v)

    def to_json(self) -> dict:
        d = asdict(self)
        d["api_key"] = "***" if self.api_key else None  # never write a secret into results
        d["extra"] = {k: ("***" if is_secret_name(k) else v) for k, v in self.extra.items()}
        d["icl_captions"] = len(self.icl_captions)
        return d


# --------------------------------------------------------------------------------------------
# shared helpers
# --------------------------------------------------------------------------------------------


def sample_frames(path: str | Path, n: int, max_side: int | None = None):
    """The paper's uniform sampling: ``n`` frames spread evenly over the video decoded at 16 fps.

    Returns a list of HxWx3 uint8 RGB arrays (shrunk so the longer side is at most ``max_side``).
    Raises :class:`DfecError` for a missing or unreadable video.
    """
    from ..video.reader import iter_frames, uniform_indices

    # FEC-Bench clips are short (a few seconds): keep every 16-fps frame (shrunk) and pick after,
    # so the choice does not depend on a container's possibly wrong duration field.
    allf = [_shrink(rgb, max_side) for _, _, rgb in iter_frames(path, 16)]
    return [allf[i] for i in uniform_indices(len(allf), n)]


def _shrink(rgb, max_side):
    if not max_side:
        return rgb
    h, w = rgb.shape[:2]
    s = max(h, w)
    if s <= max_side:
        return rgb
    from PIL import Image

    scale = max_side / s
    img = Image.fromarray(rgb).resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.BILINEAR)
    import numpy as np

    return np.asarray(img)


def jpeg_base64(rgb, quality: int = 90) -> str:
    """Encode one RGB frame as a base64 JPEG string (for image parts of chat messages)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=quality)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _need_module(module: str, hint: str) -> None:
    try:
        importlib.import_module(module)
    except ImportError:
        raise MissingDependencyError(f"Python package '{module}'", hint) from None


def _need_dir(path: str | None, what: str, flag: str = "--model-path") -> Path:
    if not path:
        raise MissingDependencyError(what, f"pass {flag} DIR (a local folder; nothing is downloaded)")
    p = Path(path).expanduser()
    if not p.exists():
        raise MissingDependencyError(f"{what} {p}", f"no such folder; pass {flag} with a local weight folder")
    return p


# --------------------------------------------------------------------------------------------
# built-in adapters
# --------------------------------------------------------------------------------------------


class LandmarkAdapter:
    """The training-free landmark captioner (``dfec.dynamics.captioner.caption_video``)."""

    name = "landmark"

    def __init__(self, options: AdapterOptions | None = None):
        self.options = options or AdapterOptions()

    def requires(self) -> list[str]:
        return ["the dfec.dynamics module (face tracking + landmark dynamics)", "dlib"]

    def check(self) -> None:
        try:
            importlib.import_module("dfec.dynamics.captioner")
        except ImportError as exc:
            raise MissingDependencyError("the landmark captioner (dfec.dynamics.captioner)", f"import failed: {exc}") from None

    def caption(self, video_path: str | Path) -> str:
        from dfec.dynamics.captioner import caption_video

        return caption_video(str(video_path)).caption


class FaceTrackAdapter:
    """FaceTrack-MM (the paper's model) loaded from a local weight folder via ``dfec.model.inference``."""

    name = "facetrack"

    def __init__(self, options: AdapterOptions | None = None):
        self.options = options or AdapterOptions()
        self._model = None

    def requires(self) -> list[str]:
        return ["a local FaceTrack-MM weight folder (--model-path)", "torch", "transformers"]

    def check(self) -> None:
        _need_dir(self.options.model_path, "the FaceTrack-MM weight folder")
        _need_module("torch", "install torch")
        try:
            importlib.import_module("dfec.model.inference")
        except ImportError as exc:
            raise MissingDependencyError("FaceTrack-MM inference (dfec.model.inference)", f"import failed: {exc}") from None

    def _load(self):
        if self._model is None:
            from dfec.model.inference import load_captioner

            self._model = load_captioner(self.options.model_path, device=self.options.device, dtype=self.options.dtype)
        return self._model

    def caption(self, video_path: str | Path) -> str:
        return self._load().caption(
            str(video_path), instruction=self.options.instruction, max_new_tokens=self.options.max_new_tokens
        )


class OpenAIAdapter:
    """Any OpenAI-compatible vision chat endpoint (GPT-4o, Claude via a proxy, vLLM, ...).

    The video is given as N uniformly sampled frames (base64 JPEG ``image_url`` parts) after the
    instruction; with ``icl_examples = K > 0`` the prompt first shows K reference-style captions of
    *other* videos (the in-context setting, starred rows in the paper's Table 1). Decoding is greedy
    (temperature 0); transient API errors are retried ``max_retries`` times with exponential backoff.
    """

    name = "openai"

    def __init__(self, options: AdapterOptions | None = None):
        self.options = options or AdapterOptions()
        o = self.options
        self.model = o.api_model or os.environ.get("OPENAI_MODEL") or "gpt-4o"
        self.base_url = o.api_base or os.environ.get("OPENAI_BASE_URL") or None
        self.api_key = o.api_key or os.environ.get("OPENAI_API_KEY") or None
        register_secret(self.api_key)
        if o.icl_examples > 0:
            self.name = f"openai-{self.model}*"
        else:
            self.name = f"openai-{self.model}"
        self._client = None

    def requires(self) -> list[str]:
        return ["the 'openai' package", "OPENAI_API_KEY (or --api-key) and optionally OPENAI_BASE_URL (or --api-base)"]

    def check(self) -> None:
        _need_module("openai", "pip install openai")
        if not self.api_key and not self.base_url:
            raise MissingDependencyError("an OpenAI API key", "set OPENAI_API_KEY or pass --api-key (or --api-base for a local server)")
        if self.options.icl_examples > len(self.options.icl_captions):
            raise MissingDependencyError(
                f"{self.options.icl_examples} in-context example captions",
                f"only {len(self.options.icl_captions)} available; pass --icl-file or lower --icl",
            )

    def _get_client(self):
        if self._client is None:
            import openai

            self._client = openai.OpenAI(
                api_key=self.api_key or "EMPTY", base_url=self.base_url, max_retries=0, timeout=self.options.timeout_s
            )
        return self._client

    def build_messages(self, frames) -> list[dict]:
        o = self.options
        system = (
            "You are an expert in facial expression analysis. You watch a video given as frames in "
            "time order and describe the facial dynamics of its main character."
        )
        instruction = o.instruction or DEFAULT_INSTRUCTION
        text = instruction
        if o.icl_examples > 0:
            shots = "\n\n".join(f"Example {i + 1}:\n{c.strip()}" for i, c in enumerate(o.icl_captions[: o.icl_examples]))
            text = (
                f"Here are example descriptions of other videos, showing the expected style and level of detail:\n\n"
                f"{shots}\n\nNow, for the video below: {instruction}"
            )
        content: list[dict] = [{"type": "text", "text": f"{text}\nThe {len(frames)} frames below are in time order."}]
        for rgb in frames:
            content.append({"type": "image_url", "image_url": {"url": f"data:image/jpeg;base64,{jpeg_base64(rgb)}"}})
        return [{"role": "system", "content": system}, {"role": "user", "content": content}]

    def caption(self, video_path: str | Path) -> str:
        frames = sample_frames(video_path, self.options.n_frames, self.options.image_max_side)
        messages = self.build_messages(frames)
        return self.complete(messages)

    def complete(self, messages: list[dict]) -> str:
        import openai

        client = self._get_client()
        retryable = (openai.APIConnectionError, openai.APITimeoutError, openai.RateLimitError, openai.InternalServerError)
        delay = 1.0
        for attempt in range(self.options.max_retries + 1):
            try:
                resp = client.chat.completions.create(
                    model=self.model, messages=messages, temperature=0, max_tokens=self.options.max_new_tokens
                )
                text = (resp.choices[0].message.content or "").strip()
                if not text:
                    raise DfecError("the endpoint returned an empty caption", self.base_url or "api.openai.com")
                return redact(text)
            except retryable as exc:
                if attempt >= self.options.max_retries:
                    raise DfecError(
                        f"API call failed after {attempt + 1} tries ({type(exc).__name__})", self.base_url or "api.openai.com"
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 30.0)
            except openai.APIStatusError as exc:  # 4xx other than 429: not worth retrying
                raise DfecError(f"API error {exc.status_code}: {_short(exc)}", self.base_url or "api.openai.com") from None
        raise AssertionError("unreachable")


def _short(exc: Exception, n: int = 160) -> str:
    s = redact(str(exc).replace("\n", " "))
    return s if len(s) <= n else s[: n - 3] + "..."


class _HFVideoAdapter:
    """Shared code for Hugging Face transformers video MLLMs loaded from a local folder.

    The video is sampled to N frames (paper: 16). With torchvision installed the processor's video
    path is used; without it (this project's default install) the frames go in as an ordered image
    sequence through the PIL image processor, which both Qwen2-VL and LLaVA-OneVision support.
    Greedy decoding, ``local_files_only=True`` (never downloads).
    """

    name = "hf"
    model_class = ""  # transformers class name
    what = ""

    def __init__(self, options: AdapterOptions | None = None):
        self.options = options or AdapterOptions()
        self._model = None
        self._processor = None
        self._use_video = False

    def requires(self) -> list[str]:
        return [f"a local {self.what} folder (--model-path)", "torch", f"transformers with {self.model_class}"]

    def check(self) -> None:
        p = _need_dir(self.options.model_path, f"the {self.what} weight folder")
        if not (p / "config.json").exists():
            raise MissingDependencyError(f"the {self.what} weight folder {p}", "it has no config.json (a Hugging Face model folder is needed)")
        _need_module("torch", "install torch")
        try:
            tf = importlib.import_module("transformers")
        except ImportError:
            raise MissingDependencyError("Python package 'transformers'", "pip install 'transformers>=4.45'") from None
        if not hasattr(tf, self.model_class):
            raise MissingDependencyError(f"transformers.{self.model_class}", f"installed transformers {tf.__version__} lacks it; upgrade transformers")

    # -- loading --------------------------------------------------------------------------
    def _load(self):
        if self._model is not None:
            return
        import torch
        import transformers

        path = str(Path(self.options.model_path).expanduser())
        device = self.options.device or ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = getattr(torch, self.options.dtype) if self.options.dtype else (torch.bfloat16 if device.startswith("cuda") else torch.float32)
        cls = getattr(transformers, self.model_class)
        self._model = cls.from_pretrained(path, local_files_only=True, dtype=dtype).to(device).eval()
        self._processor, self._use_video = self._load_processor(path)
        self._device = device

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
    def caption(self, video_path: str | Path) -> str:
        import torch

        self._load()
        frames = sample_frames(video_path, self.options.n_frames, 768)
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
        return proc.batch_decode(new, skip_special_tokens=True)[0].strip()


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


class Qwen2VLAdapter(_HFVideoAdapter):
    """Qwen2-VL (2B/7B/72B Instruct) from a local folder."""

    name = "qwen2-vl"
    model_class = "Qwen2VLForConditionalGeneration"
    what = "Qwen2-VL"


class LlavaOneVisionAdapter(_HFVideoAdapter):
    """LLaVA-OneVision (transformers ``-hf`` checkpoints) from a local folder."""

    name = "llava-onevision"
    model_class = "LlavaOnevisionForConditionalGeneration"
    what = "LLaVA-OneVision"


BUILTIN: dict[str, type] = {
    "landmark": LandmarkAdapter,
    "facetrack": FaceTrackAdapter,
    "openai": OpenAIAdapter,
    "qwen2-vl": Qwen2VLAdapter,
    "llava-onevision": LlavaOneVisionAdapter,
}


# --------------------------------------------------------------------------------------------
# resolution
# --------------------------------------------------------------------------------------------


def resolve_adapter_class(spec: str) -> Callable:
    """Map ``--model`` to a class: a built-in name, ``package.module:ClassName``, or an entry point."""
    if spec in BUILTIN:
        return BUILTIN[spec]
    if ":" in spec:
        module_name, _, attr = spec.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise DfecError(f"cannot import adapter module '{module_name}' ({exc})", spec) from None
        obj = module
        for part in attr.split("."):
            obj = getattr(obj, part, None)
            if obj is None:
                raise DfecError(f"module '{module_name}' has no attribute '{attr}'", spec)
        return obj
    try:
        from importlib.metadata import entry_points

        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if ep.name == spec:
                return ep.load()
    except Exception:  # a broken third-party entry point must not hide the real error below
        pass
    known = ", ".join(sorted(BUILTIN))
    raise DfecError(f"unknown model adapter (known: {known}; or package.module:ClassName)", spec)


def load_adapter(spec: str, options: AdapterOptions | None = None) -> Captioner:
    """Instantiate the adapter named by ``spec`` and verify it has the Captioner methods."""
    options = options or AdapterOptions()
    cls = resolve_adapter_class(spec)
    try:
        n_params = len([p for p in inspect.signature(cls).parameters.values()
                        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)])
    except (TypeError, ValueError):
        n_params = 1
    adapter = cls(options) if n_params >= 1 else cls()
    if not callable(getattr(adapter, "caption", None)):
        raise DfecError("adapter has no caption(video_path) method", spec)
    if not getattr(adapter, "name", None):
        try:
            adapter.name = spec.rsplit(":", 1)[-1]
        except AttributeError:
            pass
    return adapter


def check_adapter(adapter) -> None:
    """Run the adapter's ``check()`` when it has one."""
    fn = getattr(adapter, "check", None)
    if callable(fn):
        fn()
