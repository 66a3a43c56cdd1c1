"""Offline tracklet linking by motion within a shot and by appearance (in the spirit of
StrongSORT's AFLink, but using the identity embeddings that faces provide).

Motion (:func:`motion_groups`): in one shot (no cut between them), a tracklet that starts at most
``link_motion_gap`` frames after another ended, where that one ended (box centres within one face
height, heights within a factor 2.5: BlazeFace boxes of a profile jump in size), continues it
when each is the other's only such partner: a face the detector lost for a moment, not someone
else. No embedding is needed for that.

A face lost for longer than ``max_age`` (a long occlusion, a cut to another shot and back) comes
back as a new track. After tracking, identity groups are built by agglomerative clustering with
centroid linkage (:func:`link_groups`): the two groups whose mean embeddings (over ALL embeddings
of all their tracklets) are closest are joined when that cosine distance is at most
``max_distance``, they never hold a detection in the same frame, and every pair of their tracklets
that share a shot could be one moving face (:func:`reachable`); the group means are then recomputed
and the next closest pair is tried. The old rule joined pairs of tracklets greedily and took the
union (single linkage), so one poor embedding close to two people (a small, dark, blurred face)
chained both into one identity: in ghost__dirtydancing's crowd shot a blonde woman on the right and
a dark-haired person at the bottom left, 5 face heights apart one frame later, became one track
(best views 0.068 apart, the woman's other view 0.084). With the group's mean, a link must agree
with the group as a whole, not with its closest member; and a face cannot jump across the frame
within one shot.
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
                max_distance: float, reachable_pair=None) -> list[list[int]]:
    """Group tracklet indices that belong to one identity (see the module docstring).

    ``frames[k]`` is the set of frames where tracklet k was detected and ``embeddings[k]`` its
    embeddings; ``reachable_pair(i, j)`` (optional) says whether tracklets i and j could be one
    face by where and when they were seen (default: always). Returns groups as sorted index
    lists, ordered by their first index."""
    n = len(frames)
    groups = {k: [k] for k in range(n)}
    occupied = {k: set(f) for k, f in enumerate(frames)}
    pooled = {k: [np.asarray(e, dtype=np.float64) for e in embeddings[k]] for k in range(n)}
    means = {k: mean_embedding(pooled[k]) for k in range(n)}
    known: dict[tuple[int, int], bool] = {}

    def apart(i: int, j: int) -> bool:
        """Tracklets i and j cannot be one face (``reachable_pair``), asked only of a candidate link
        and remembered: the position test is the costly one, and most pairs never get that close."""
        key = (min(i, j), max(i, j))
        if key not in known:
            known[key] = reachable_pair is not None and not reachable_pair(*key)
        return known[key]

    have = [k for k in range(n) if means[k] is not None and np.isfinite(means[k]).all()]
    if not max_distance > 0 or len(have) < 2:
        return sorted((sorted(g) for g in groups.values()), key=lambda g: g[0])
    # the cosine distances of every pair of groups that have embeddings (row / column p is the
    # group whose first tracklet is have[p], so row order is tracklet order), inf for pairs
    # farther than ``max_distance``, gone or ruled out, rounded to 1e-12 so that equal distances
    # stay equal and the first pair in (i, j) order wins a tie. A join changes only the joined
    # group's row and column, so only they are recomputed (a full rescan at every join was cubic
    # in the number of tracklets and gathered n^2/2 embedding pairs). A pair ruled out stays ruled
    # out: a joined group holds every frame and tracklet of its parts, so their shared frame or
    # unreachable pair of tracklets is still there. Each row's minimum is kept, so the next pair
    # costs O(n), not a scan of the whole matrix.
    m = len(have)
    unit = np.stack([means[k] for k in have])
    live = np.ones(m, bool)
    ruled = np.zeros((m, m), bool)

    def near(d: np.ndarray) -> np.ndarray:
        d = np.round(d, 12)
        d[~(d <= max_distance)] = np.inf
        return d

    dist = near(1.0 - unit @ unit.T)
    np.fill_diagonal(dist, np.inf)
    row_min, row_arg = dist.min(axis=1), dist.argmin(axis=1)

    def refresh(rows) -> None:
        for r in rows:
            row_arg[r] = int(np.argmin(dist[r]))
            row_min[r] = dist[r, row_arg[r]]

    while True:
        # the closest pair; of equal ones the first in row order (pi < pj: the matrix is symmetric)
        pi = int(np.argmin(row_min))
        pj = int(row_arg[pi])
        if not np.isfinite(row_min[pi]):
            break
        gi, gj = have[pi], have[pj]
        if occupied[gi] & occupied[gj] or any(apart(i, j) for i in groups[gi] for j in groups[gj]):
            ruled[pi, pj] = ruled[pj, pi] = True
            dist[pi, pj] = dist[pj, pi] = np.inf
            refresh((pi, pj))
            continue
        groups[gi] += groups.pop(gj)
        occupied[gi] |= occupied.pop(gj)
        pooled[gi] += pooled.pop(gj)
        means[gi] = mean_embedding(pooled[gi])
        del means[gj]
        live[pj] = False
        ruled[pi] |= ruled[pj]
        ruled[:, pi] = ruled[pi]
        unit[pi] = means[gi]
        dist[pj, :] = dist[:, pj] = np.inf
        d = near(1.0 - unit @ unit[pi])
        d[~live | ruled[pi]] = np.inf
        d[pi] = np.inf
        dist[pi, :] = dist[:, pi] = d
        # rows whose minimum was at the joined pair are read again; the others can only gain
        # the joined group's new, closer distance
        stale = np.flatnonzero((row_arg == pi) | (row_arg == pj))
        closer = (d < row_min) | ((d == row_min) & (pi < row_arg))
        row_min[closer], row_arg[closer] = d[closer], pi
        refresh(set(stale.tolist()) | {pi, pj})
    return sorted((sorted(g) for g in groups.values()), key=lambda g: g[0])


def reachable(a: Sequence, b: Sequence, fps: float, max_speed: float) -> bool:
    """Could detections ``a`` and ``b`` (``(frame, shot, box)`` triples, two tracklets that never
    share a frame) be one moving face? At every hand-over between them within one shot (a
    detection of one followed by the next detection, of the other), the box centre may have moved
    at most ``1 + max_speed * gap`` face heights (the larger box's), gap in seconds: one face
    height for detector jitter and size jumps (as in :func:`_continues`) plus the fastest motion a
    face is seen to make. Across a cut position says nothing, so that hand-over always passes."""
    seq = sorted([(f, s, np.asarray(box, dtype=np.float64), 0) for f, s, box in a]
                 + [(f, s, np.asarray(box, dtype=np.float64), 1) for f, s, box in b], key=lambda r: r[0])
    for (f0, s0, b0, w0), (f1, s1, b1, w1) in zip(seq, seq[1:]):
        if w0 == w1 or s0 != s1:
            continue
        h = max(b0[3] - b0[1], b1[3] - b1[1], 1e-6)
        shift = float(np.linalg.norm((b0[:2] + b0[2:]) / 2.0 - (b1[:2] + b1[2:]) / 2.0))
        if shift > h * (1.0 + max_speed * (f1 - f0) / fps):
            return False
    return True


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
    tiny or turned-away face's embedding says little about who it is). Deferred embeddings are
    computed (:meth:`StrongSort.identify`, the chain's best view, and
    :meth:`StrongSort.identify_views`, up to ``link_views - 1`` more views per tracklet) only for a
    chain that has some other such chain it never shares a frame with: only then can appearance
    join it to anything. Groups are then formed by :func:`link_groups` on the mean of all views."""
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
            for i in c:  # the other views too: a link is decided on several views, not one
                tracker.identify_views(states[i])
    embeddings = [[e for i in c for e in states[i].embeddings] if ok[k] else [] for k, c in enumerate(chains)]
    seen = [[(d.frame, states[i].shot, d.box) for i in c for d in states[i].detections] for c in chains]

    def reachable_pair(i: int, j: int) -> bool:
        return reachable(seen[i], seen[j], cfg.fps, cfg.link_max_speed)

    groups = link_groups(frames, embeddings, cfg.link_max_distance, reachable_pair)
    out = [sorted(i for k in g for i in chains[k]) for g in groups]
    return states, sorted(out, key=lambda g: g[0])
