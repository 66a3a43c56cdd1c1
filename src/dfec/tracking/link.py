"""Offline tracklet linking by motion within a shot and by appearance (in the spirit of
StrongSORT's AFLink, but using the identity embeddings that faces provide).

Motion (:func:`motion_groups`): in one shot (no cut between them), a tracklet that starts at most
``link_motion_gap`` frames after another ended, where that one ended (box centres within one face
height, heights within a factor 2.5: BlazeFace boxes of a profile jump in size), continues it
when each is the other's only such partner: a face the detector lost for a moment, not someone
else. No embedding is needed for that.

A face lost for longer than ``max_age`` (a long occlusion, a cut to another shot and back) comes
back as a new track. After tracking, two tracklets are joined when they never hold a detection in
the same frame and the cosine distance between their mean embeddings is at most
``max_distance``; pairs are joined greedily from the closest, and a joined group must still have
no two detections in one frame.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from .config import TrackConfig
    from .strongsort import StrongSort, TrackState


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


def _continues(a, b, max_gap: int) -> bool:
    """Tracklet ``b`` starts where ``a`` ended, a short gap later, in the same shot."""
    if a.shot != b.shot:
        return False
    gap = b.detections[0].frame - a.detections[-1].frame
    if not 0 < gap <= max_gap:
        return False
    ba, bb = a.detections[-1].box, b.detections[0].box
    ha, hb = max(ba[3] - ba[1], 1e-6), max(bb[3] - bb[1], 1e-6)
    if not 1 / 2.5 <= hb / ha <= 2.5:
        return False
    ca, cb = (ba[:2] + ba[2:]) / 2.0, (bb[:2] + bb[2:]) / 2.0
    return float(np.linalg.norm(ca - cb)) <= max(ha, hb)


def motion_groups(states: Sequence["TrackState"], max_gap: int) -> list[list[int]]:
    """Chains of tracklets that continue one another (see the module docstring), as index lists."""
    n = len(states)
    succ: dict[int, list[int]] = {i: [] for i in range(n)}
    pred: dict[int, list[int]] = {i: [] for i in range(n)}
    if max_gap > 0:
        for i in range(n):
            for j in range(n):
                if i != j and _continues(states[i], states[j], max_gap):
                    succ[i].append(j)
                    pred[j].append(i)
    nxt = {i: s[0] for i, s in succ.items() if len(s) == 1 and len(pred[s[0]]) == 1}
    heads = [i for i in range(n) if i not in nxt.values()]
    groups = []
    for h in heads:
        g = [h]
        while g[-1] in nxt:
            g.append(nxt[g[-1]])
        groups.append(g)
    return groups


def _meshed(st: "TrackState") -> float:
    return float(np.mean([d.has_mesh for d in st.detections])) if st.detections else 0.0


def link_tracklets(tracker: "StrongSort", cfg: "TrackConfig") -> tuple[list["TrackState"], list[list[int]]]:
    """The confirmed tracklets of ``tracker`` and their identity groups (index lists into them).

    Tracklets are first chained by motion within a shot (:func:`motion_groups`). A chain takes
    part in appearance linking when it has embeddings or a deferred one (lazy identity) and, with
    the mesh backend, a mesh on at least half its frames (FaceMesh rejects profiles and shadows,
    whose rough 68 points make dlib's aligned chip unreliable) and, for a deferred one, a best
    view of :func:`~dfec.tracking.strongsort.identity_quality` at least ``link_min_quality`` (a
    tiny or turned-away face's embedding says little about who it is). A deferred embedding is computed
    (:meth:`StrongSort.identify`, the chain's best one) only for a chain that has some other such
    chain it never shares a frame with: only then can appearance join it to anything."""
    states = tracker.tracks(confirmed_only=True)
    chains = motion_groups(states, cfg.link_motion_gap)
    frames = [{d.frame for i in c for d in states[i].detections} for c in chains]

    mesh_backend = any(d.has_mesh for st in states for d in st.detections)

    def eligible(c: list[int]) -> bool:
        n = sum(len(states[i].detections) for i in c)
        meshed = sum(_meshed(states[i]) * len(states[i].detections) for i in c) / n if mesh_backend else 1.0
        return meshed >= 0.5 and any(states[i].embeddings or (states[i].pending is not None and
                                                              states[i].pending_quality >= cfg.link_min_quality)
                                     for i in c)

    ok = [eligible(c) for c in chains]
    for k, c in enumerate(chains):
        if not ok[k] or any(states[i].embeddings for i in c):
            continue
        if cfg.link_max_distance > 0 and any(ok[j] and not frames[k] & frames[j] for j in range(len(chains)) if j != k):
            best = max((i for i in c if states[i].pending is not None), key=lambda i: states[i].pending_quality)
            tracker.identify(states[best])
    embeddings = [[e for i in c for e in states[i].embeddings] if ok[k] else [] for k, c in enumerate(chains)]
    groups = link_groups(frames, embeddings, cfg.link_max_distance)
    out = [sorted(i for k in g for i in chains[k]) for g in groups]
    return states, sorted(out, key=lambda g: g[0])
