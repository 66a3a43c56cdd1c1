"""The one captioner interface: ``caption(video, tracking=None) -> Caption``.

Paper, FEC-Bench (Table 1): every model is asked to describe the facial dynamics of the main
character of a video; its caption is then scored against the reference. A captioner hides how a
model is loaded and called. ``dfec caption`` (one video or a list), ``dfec bench run`` and the batch
runner only need :class:`Captioner`:

* ``name``: the label written into predictions and results;
* ``requires()``: what it needs (packages, weight folders, keys), in words;
* ``check()``: raise :class:`~dfec.errors.MissingDependencyError` (one line) when a need is missing;
  called once before any video is touched;
* ``caption(video, tracking=None) -> Caption``: the caption of one video. ``tracking`` (a
  :class:`~dfec.schema.TrackingResult`) is used by captioners that work from the face tracking
  module's output (landmark, facetrack) and ignored by the others. Heavy models load lazily.

A user's class may still return a plain ``str`` from ``caption(video_path)``; :func:`call_captioner`
turns that into a :class:`~dfec.schema.Caption`.
"""
from __future__ import annotations

import importlib
import inspect
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ..errors import DfecError, MissingDependencyError
from ..redact import is_secret_name, redact, register_secret
from ..schema import Caption, TrackingResult

#: The instruction given to instruction-following models (our wording of the DFEC task). It asks
#: for the main character's facial changes in time order, without guessing beyond what is visible.
DEFAULT_INSTRUCTION = (
    "Describe in detail how the facial expression of the main character in this video changes over "
    "time. Cover the eyes, eyebrows, mouth and head, describe the changes in the order they happen "
    "(beginning, middle, end), and do not mention anything that is not visible."
)

#: Frames per video for frame-based captioners: the paper samples N = 16 frames uniformly.
DEFAULT_N_FRAMES = 16


@runtime_checkable
class Captioner(Protocol):
    """What ``dfec caption``, ``dfec bench run`` and the batch runner need from a model."""

    name: str

    def requires(self) -> list[str]:
        """What this captioner needs, one short phrase each."""
        ...

    def check(self) -> None:
        """Raise :class:`MissingDependencyError` (one line) when something required is missing."""
        ...

    def caption(self, video: str | Path, tracking: TrackingResult | None = None) -> Caption:
        """Caption one video."""
        ...


@dataclass
class CaptionerOptions:
    """Everything a captioner may be configured with; plain data so it crosses process boundaries.

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
    # the landmark captioner: DynamicsConfig overrides (YAML/JSON file) and a folder for its side outputs
    dynamics_config: str | None = None
    out_dir: str | None = None
    progress: bool = False
    # anything else a custom captioner wants (``--opt key=value``)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        register_secret(self.api_key)  # redacted from every error text from now on
        for k, v in self.extra.items():
            if is_secret_name(k):
                register_secret(v)

    def to_json(self) -> dict:
        d = asdict(self)
        d["api_key"] = "***" if self.api_key else None  # never write a secret into results
        d["extra"] = {k: ("***" if is_secret_name(k) else v) for k, v in self.extra.items()}
        d["icl_captions"] = len(self.icl_captions)
        return d


def call_captioner(captioner, video: str | Path, tracking: TrackingResult | None = None) -> Caption:
    """``captioner.caption(video, tracking)`` as a :class:`Caption`, whatever the class returns.

    A plug-in written for the older ``caption(video_path) -> str`` interface is called without
    ``tracking`` and its text wrapped; anything other than a ``str`` or a ``Caption`` is a TypeError.
    """
    name = str(getattr(captioner, "name", "") or type(captioner).__name__)
    if tracking is not None and _takes_tracking(captioner.caption):
        out = captioner.caption(video, tracking=tracking)
    else:
        out = captioner.caption(video)
    if isinstance(out, Caption):
        if not out.captioner:
            out.captioner = name
        if not out.video:
            out.video = str(video)
        return out
    if isinstance(out, str):
        return Caption(text=out, captioner=name, video=str(video))
    raise TypeError(f"captioner returned {type(out).__name__}, not str or Caption")


def _takes_tracking(fn) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return "tracking" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def need_module(module: str, hint: str) -> None:
    """Raise a one-line :class:`MissingDependencyError` when ``module`` cannot be imported."""
    try:
        importlib.import_module(module)
    except ImportError:
        raise MissingDependencyError(f"Python package '{module}'", hint) from None


def need_dir(path: str | None, what: str, flag: str = "--model-path") -> Path:
    """The local folder ``path`` (expanded); a one-line error when it is not given or missing."""
    if not path:
        raise MissingDependencyError(what, f"pass {flag} DIR (a local folder; nothing is downloaded)")
    p = Path(path).expanduser()
    if not p.exists():
        raise MissingDependencyError(f"{what} {p}", f"no such folder; pass {flag} with a local weight folder")
    return p


def short(exc: Exception, n: int = 160) -> str:
    """An exception's text on one line, at most ``n`` characters, with keys redacted."""
    s = redact(str(exc).replace("\n", " "))
    return s if len(s) <= n else s[: n - 3] + "..."


__all__ = ["Caption", "Captioner", "CaptionerOptions", "DEFAULT_INSTRUCTION", "DEFAULT_N_FRAMES", "DfecError",
           "call_captioner", "need_dir", "need_module", "short"]
