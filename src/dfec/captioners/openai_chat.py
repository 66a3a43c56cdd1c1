"""``openai``: any OpenAI-compatible vision chat endpoint (GPT-4o, Claude via a proxy, vLLM, ...)."""
from __future__ import annotations

import os
import time
from pathlib import Path

from ..errors import DfecError, MissingDependencyError
from ..redact import redact, register_secret
from ..schema import Caption
from .base import DEFAULT_INSTRUCTION, CaptionerOptions, need_module, short
from .frames import jpeg_base64, sample_frames


class OpenAICaptioner:
    """Any OpenAI-compatible vision chat endpoint (GPT-4o, Claude via a proxy, vLLM, ...).

    The video is given as N uniformly sampled frames (base64 JPEG ``image_url`` parts) after the
    instruction; with ``icl_examples = K > 0`` the prompt first shows K reference-style captions of
    *other* videos (the in-context setting, starred rows in the paper's Table 1). Decoding is greedy
    (temperature 0); transient API errors are retried ``max_retries`` times with exponential backoff.
    """

    name = "openai"

    def __init__(self, options: CaptionerOptions | None = None):
        self.options = options or CaptionerOptions()
        o = self.options
        self.model = o.api_model or os.environ.get("OPENAI_MODEL") or "gpt-4o"
        self.base_url = o.api_base or os.environ.get("OPENAI_BASE_URL") or None
        self.api_key = o.api_key or os.environ.get("OPENAI_API_KEY") or None
        register_secret(self.api_key)  # also in a worker process, where the options arrive pickled
        if o.icl_examples > 0:
            self.name = f"openai-{self.model}*"
        else:
            self.name = f"openai-{self.model}"
        self._client = None

    def requires(self) -> list[str]:
        return ["the 'openai' package", "OPENAI_API_KEY (or --api-key) and optionally OPENAI_BASE_URL (or --api-base)"]

    def check(self) -> None:
        need_module("openai", "pip install openai")
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

    def caption(self, video: str | Path, tracking=None) -> Caption:
        """Caption one video from its N uniformly sampled frames (``tracking`` is not used)."""
        frames = sample_frames(video, self.options.n_frames, self.options.image_max_side)
        text = self.complete(self.build_messages(frames))
        return Caption(text=text, captioner=self.name, video=str(video),
                       metadata={"api_model": self.model, "n_frames": len(frames), "icl_examples": self.options.icl_examples})

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
                raise DfecError(f"API error {exc.status_code}: {short(exc)}", self.base_url or "api.openai.com") from None
        raise AssertionError("unreachable")
