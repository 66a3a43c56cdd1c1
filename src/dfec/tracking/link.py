"""Offline tracklet linking by appearance (in the spirit of StrongSORT's AFLink, but using the
identity embeddings that faces provide).

A face lost for longer than ``max_age`` (a long occlusion, a cut to another shot and back) comes
back as a new track. After tracking, two tracklets are joined when they never hold a detection in
the same frame and the cosine distance between their mean embeddings is at most
``max_distance``; pairs are joined greedily from the closest, and a joined group must still have
no two detections in one frame.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np


def mean_embedding(embeddings: Sequence[np.ndarray]) -> np.ndarray | None:
    """Normalised mean of unit-normalised embeddings (None when there are none)."""
    if not len(embeddings):
        return None
    e = np.asarray(embeddings, dtype=np.float64)
    e = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
    m = e.mean(0)
    return m / max(np.linalg.norm(m), 1e-12)


def link_groups(frames: Sequence[set[int]], embeddings: Sequence[Sequence[np.ndarray]],
                max_distance: float) -> list[list[int]]:
    """Group tracklet indices that belong to one identity (see the module docstring).

    ``frames[k]`` is the set of frames where tracklet k was detected and ``embeddings[k]`` its
    embeddings. Returns groups as sorted index lists, ordered by their first index."""
    n = len(frames)
    groups = {k: [k] for k in range(n)}
    owner = list(range(n))
    occupied = [set(f) for f in frames]
    means = [mean_embedding(e) for e in embeddings]
    if max_distance > 0:
        pairs = []
        for i in range(n):
            for j in range(i + 1, n):
                if means[i] is None or means[j] is None:
                    continue
                d = 1.0 - float(means[i] @ means[j])
                if d <= max_distance:
                    pairs.append((d, i, j))
        for _, i, j in sorted(pairs):
            gi, gj = owner[i], owner[j]
            if gi == gj or occupied[gi] & occupied[gj]:
                continue
            groups[gi] += groups.pop(gj)
            occupied[gi] |= occupied[gj]
            for k in groups[gi]:
                owner[k] = gi
    return sorted((sorted(g) for g in groups.values()), key=lambda g: g[0])
