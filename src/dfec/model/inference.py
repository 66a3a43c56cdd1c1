"""FaceTrack-MM inference: ``load_captioner(path).caption(video)`` and the resumable list captioner.

Paper: a video is captioned by (1) the face tracking module (main character, 16 selected
frames, aligned face crops), (2) FaceTrack-MM on the frames + face crops with the instruction,
(3) greedy decoding of the caption.

``model_path`` may be any of these local folders (nothing is ever downloaded):

* a full FaceTrack-MM checkpoint: ``config.json`` (``model_type: facetrack_mm``), ``*.safetensors``
  and the tokenizer files (what ``save_pretrained`` / ``dfec train --merge`` write);
* a ``dfec train`` output: ``adapter_config.json`` + ``adapter_model.safetensors`` (LoRA),
  ``non_lora_trainables.safetensors`` and ``facetrack_base.json`` naming the base weights;
* a components folder: ``vision_tower/`` (CLIP ViT-L/14-336), ``llm/`` (Mistral-7B-Instruct) and
  optionally ``projector/`` (a VideoLLaMA2 checkpoint whose ``model.mm_projector.*`` is reused);
  the face branch then starts untrained, so this layout is for starting a fine-tune, not for
  good captions.
"""
from __future__ import annotations

from ..errors import DfecError, FatalRunError
from .loading import (BASE_FILE, HOW_TO_GET, NON_LORA_FILE, _has_weights, _missing, build_model,  # noqa: F401
                      load_base_model, load_trained, resolve_layout)


class Captioner:
    """A loaded FaceTrack-MM with its processor; :meth:`caption` runs tracking -> inputs -> generate."""

    def __init__(self, model, processor, device=None):
        self.model = model.eval()
        self.processor = processor
        self.device = device or next(model.parameters()).device

    def caption(self, video_path, instruction: str | None = None, tracking=None, max_new_tokens: int = 256,
                **generate_kwargs) -> str:
        """Caption one video (tracking runs here unless ``tracking`` is given)."""
        import torch

        if tracking is None:
            from ..tracking.pipeline import track

            tracking = track(video_path, n_frames=self.processor.config.num_frames)
        sample = self.processor(video_path, instruction, tracking=tracking)
        batch = self.processor.collate([sample])
        batch = {k: v.to(self.device) for k, v in batch.items()}
        generate_kwargs.setdefault("do_sample", False)
        with torch.inference_mode():
            out = self.model.generate(**batch, max_new_tokens=max_new_tokens,
                                      eos_token_id=self.processor.tokenizer.eos_token_id, **generate_kwargs)
        return self.processor.tokenizer.decode(out[0], skip_special_tokens=True).strip()


def load_captioner(model_path, device=None, dtype=None) -> Captioner:
    """Load FaceTrack-MM from a local folder (see the module doc for the accepted layouts).

    ``device`` defaults to CUDA when available; ``dtype`` to bfloat16 on CUDA and float32 on CPU.
    Raises :class:`DfecError` (exit code 3) naming the missing folder and how to get its weights.
    """
    import torch

    layout = resolve_layout(model_path)
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if dtype is None:
        dtype = torch.bfloat16 if str(device).startswith("cuda") else torch.float32
    elif isinstance(dtype, str):
        dtype = getattr(torch, dtype)
    from .files import loader_errors

    with loader_errors(model_path):
        model, proc = build_model(layout, dtype=dtype)
    model.to(device)
    return Captioner(model, proc, torch.device(device))


def caption_list(list_file, model_path, out_jsonl, instruction: str | None = None, max_new_tokens: int = 256,
                 device=None, dtype=None, captioner=None, progress: bool = True) -> dict:
    """Caption every video of ``list_file`` into ``out_jsonl`` (one ``{"id","video","caption"}`` per line).

    Resumable: ids already in ``out_jsonl`` are skipped and each caption is flushed as soon as it
    is written. A video that fails (unreadable, ...) is reported on stderr and left for a rerun.
    Runs in this process (``dfec caption --list --workers N`` spreads the same work over processes).
    Returns ``{"n_total", "n_done_before", "n_written", "n_failed", "failed"}``.
    """
    from ..batch import caption_to_jsonl, text_handler
    from ..jsonl import read_video_list

    if captioner is None:
        resolve_layout(model_path)  # missing weights: one error for the run, not one per video
    loaded = []

    def caption(path: str) -> str:
        if not loaded:  # load the model only when some video is left to caption
            try:
                loaded.append(captioner or load_captioner(model_path, device=device, dtype=dtype))
            except DfecError as exc:  # a broken model stops the run once, not once per video
                raise FatalRunError.from_error(exc) from None
        return loaded[0].caption(path, instruction=instruction, max_new_tokens=max_new_tokens)

    return caption_to_jsonl(read_video_list(list_file), out_jsonl, setup=None, handler=text_handler(caption),
                            progress=progress)
