"""One redaction step for every string dfec writes or prints that came from a server or an exception.

API keys must never reach a results file, a failures log, a cache or the terminal, even when a
proxy or gateway echoes the key back in its error text. :func:`redact` replaces

* every key registered with :func:`register_secret` (the judge's and the API adapters' keys, and
  ``OPENAI_API_KEY`` / ``DFEC_JUDGE_API_KEY`` from the environment), wherever it appears;
* anything shaped like an OpenAI-style key (``sk-...``) or an HTTP bearer token (``Bearer ...``).
"""
from __future__ import annotations

import os
import re
import threading

#: environment variables whose values are secrets
SECRET_ENV = ("OPENAI_API_KEY", "DFEC_JUDGE_API_KEY")
MASK = "[REDACTED]"

#: key shapes: OpenAI-style ``sk-...`` and HTTP ``Bearer <token>`` (long enough not to hit prose)
_SHAPES = re.compile(r"\bsk-[A-Za-z0-9_\-]{16,}|\b(?:Bearer|BEARER|bearer)\s+[A-Za-z0-9_\-.~+/=]{16,}")
_lock = threading.Lock()
_secrets: set[str] = set()


def is_secret_name(name) -> bool:
    """Whether a setting called ``name`` holds a secret (``api_key``, ``token``, ``password`` ...)."""
    n = str(name).lower()
    return any(w in n for w in ("key", "token", "secret", "password", "auth"))


def register_secret(value) -> None:
    """Redact ``value`` from now on (ignored when empty or too short to be a key)."""
    if isinstance(value, str) and len(value.strip()) >= 6:
        with _lock:
            _secrets.add(value.strip())


def _shape(match: re.Match) -> str:
    text = match.group(0)
    return ("Bearer " if text[:1] in "Bb" else "sk-") + MASK


def redact(text) -> str:
    """``text`` (any object, as a string) with every known secret and key-shaped token masked."""
    s = text if isinstance(text, str) else str(text)
    for name in SECRET_ENV:
        register_secret(os.environ.get(name))
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in s:
            s = s.replace(secret, MASK)
    return _SHAPES.sub(_shape, s)


def redact_json(value):
    """A copy of a JSON-like value with every string redacted (keys and values)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact_json(k): redact_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_json(v) for v in value]
    return value
