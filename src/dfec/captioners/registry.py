"""Captioner names -> classes: the built-ins, ``package.module:Class`` and installed plug-ins.

Built-in names: ``landmark``, ``facetrack``, ``openai``, ``qwen2-vl``, ``llava-onevision``. A user's
own captioner plugs in as ``package.module:ClassName`` or through the ``dfec.captioners`` entry-point
group (the older ``dfec.bench.adapters`` group is read too). The class is called with the
:class:`~dfec.captioners.base.CaptionerOptions` (``cls(options)``) or, when it takes no argument,
with nothing. Built-in modules are imported only when their name is asked for.
"""
from __future__ import annotations

import importlib
import inspect
from typing import Callable

from ..errors import DfecError, FatalRunError
from ..redact import redact
from .base import CaptionerOptions, call_captioner

#: name -> "module:Class" (relative to this package), imported on first use
BUILTIN: dict[str, str] = {
    "landmark": "landmark:LandmarkCaptioner",
    "facetrack": "facetrack:FaceTrackCaptioner",
    "openai": "openai_chat:OpenAICaptioner",
    "qwen2-vl": "hf:Qwen2VLCaptioner",
    "llava-onevision": "hf:LlavaOneVisionCaptioner",
}
ENTRY_POINT_GROUPS = ("dfec.captioners", "dfec.bench.adapters")
#: built-ins that never load a torch model (the others spread their workers over the GPUs)
NO_TORCH = ("landmark", "openai")


def builtin_class(name: str) -> type:
    module, _, cls = BUILTIN[name].partition(":")
    return getattr(importlib.import_module(f".{module}", __package__), cls)


def resolve_class(spec: str) -> Callable:
    """Map a captioner name to a class: a built-in name, ``package.module:ClassName``, or an entry point."""
    if spec in BUILTIN:
        return builtin_class(spec)
    if ":" in spec:
        module_name, _, attr = spec.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise DfecError(f"cannot import captioner module '{module_name}' ({exc})", spec) from None
        obj = module
        for part in attr.split("."):
            obj = getattr(obj, part, None)
            if obj is None:
                raise DfecError(f"module '{module_name}' has no attribute '{attr}'", spec)
        if not callable(obj):  # a module, a constant...: not something that builds a captioner
            raise DfecError(f"'{attr}' in module '{module_name}' is a {type(obj).__name__}, "
                            "not a captioner class", spec)
        return obj
    try:
        from importlib.metadata import entry_points

        for group in ENTRY_POINT_GROUPS:
            for ep in entry_points(group=group):
                if ep.name == spec:
                    return ep.load()
    except Exception:  # a broken third-party entry point must not hide the real error below
        pass
    known = ", ".join(sorted(BUILTIN))
    raise DfecError(f"unknown captioner (known: {known}; or package.module:ClassName)", spec)


def load(spec: str, options: CaptionerOptions | None = None):
    """Instantiate the captioner named by ``spec`` and verify it has a ``caption`` method."""
    options = options or CaptionerOptions()
    cls = resolve_class(spec)
    try:
        n_params = len([p for p in inspect.signature(cls).parameters.values()
                        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)])
    except (TypeError, ValueError):
        n_params = 1
    try:
        captioner = cls(options) if n_params >= 1 else cls()
    except TypeError as exc:  # e.g. json:loads, a class whose __init__ wants other arguments
        raise DfecError(f"cannot construct captioner {spec} ({str(exc)[:200]})") from None
    if not callable(getattr(captioner, "caption", None)):
        raise DfecError("captioner has no caption(video) method", spec)
    if not getattr(captioner, "name", None):
        try:
            captioner.name = spec.rsplit(":", 1)[-1]
        except AttributeError:
            pass
    return captioner


def check(captioner) -> None:
    """Run the captioner's ``check()`` when it has one (a one-line error when a need is missing)."""
    fn = getattr(captioner, "check", None)
    if callable(fn):
        fn()


def requires(captioner) -> list[str]:
    fn = getattr(captioner, "requires", None)
    return list(fn()) if callable(fn) else []


# --------------------------------------------------------------------------------------------
# batch work items (dfec caption --list, dfec bench run): {"id", "video", "path"} -> result dict
# --------------------------------------------------------------------------------------------
def caption_item(captioner, item: dict) -> dict:
    """Caption one work item; never raises for a per-video problem (returns a failure record).

    ``item`` is ``{"id", "video", "path"}`` (``path`` None: the file was not found). The result is
    ``{"id", "video", "ok": True, "caption", "seconds"}`` or ``{"id", "video", "ok": False,
    "reason", "error"}``.
    """
    import time

    t0 = time.perf_counter()
    rid, video = item["id"], item.get("path")
    if not video:
        return {"id": rid, "video": item["video"], "ok": False, "reason": "video file not found",
                "error": "FileNotFoundError"}
    try:
        text = call_captioner(captioner, video).text
        if not isinstance(text, str):
            raise TypeError(f"captioner returned {type(text).__name__}, not str")
        text = text.strip()
        if not text:
            raise ValueError("empty caption")
        return {"id": rid, "video": item["video"], "ok": True, "caption": text,
                "seconds": round(time.perf_counter() - t0, 3)}
    except (KeyboardInterrupt, FatalRunError):  # the captioner cannot work at all: the run stops
        raise
    except DfecError as exc:
        return {"id": rid, "video": item["video"], "ok": False, "reason": redact(exc.message),
                "error": type(exc).__name__}
    except Exception as exc:  # one bad video must not stop a long run
        msg = redact(str(exc).strip().replace("\n", " "))[:300] or type(exc).__name__
        return {"id": rid, "video": item["video"], "ok": False, "reason": msg, "error": type(exc).__name__}


class ItemCaptioner:
    """A picklable ``item -> result`` handler around one loaded captioner (see :func:`caption_item`)."""

    def __init__(self, captioner):
        self.captioner = captioner

    def __call__(self, item: dict) -> dict:
        return caption_item(self.captioner, item)


def worker_handler(spec: str, options: CaptionerOptions) -> ItemCaptioner:
    """Build a worker's captioner once (the batch runner calls this in every worker process or actor).

    With several GPUs and no ``--device``, worker k of a process pool uses ``cuda:(k mod n)``
    instead of every worker piling onto ``cuda:0``.
    """
    from ..batch import worker_index

    k = worker_index()
    if k is not None and options.device is None and spec not in NO_TORCH:
        try:
            import torch

            n_gpu = torch.cuda.device_count()
        except ImportError:
            n_gpu = 0
        if n_gpu > 1:
            import dataclasses

            options = dataclasses.replace(options, device=f"cuda:{k % n_gpu}")
    return ItemCaptioner(load(spec, options))
