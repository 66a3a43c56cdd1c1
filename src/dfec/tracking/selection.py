"""Main-character selection (paper, Eq. 3) and frame selection (paper).

For every track k the paper computes the mean face area A_k and the mean pairwise cosine
similarity of its identity embeddings S_k, standardises the (A_k, S_k) pairs over the tracks of
the video and splits them with K-means (k = 2); the cluster whose mean area is larger holds the
main character. Few tracks make K-means meaningless, so:

* 0 tracks  -> no main character (rule ``"no-tracks"``);
* 1 track   -> that track (``"single-track"``);
* 2 tracks  -> K-means puts one track in each cluster, which is exactly "the larger mean area
  wins" (``"two-tracks-larger-area"``);
* 3+ tracks -> K-means on standardised (A, S) (``"kmeans"``); when every track has the same
  (A, S) the clusters are undefined and all tracks are main (``"kmeans-degenerate"``).

Frame selection: N frames are taken uniformly over the video; one without a main face is
replaced by the nearest frame that has one (the earlier one on a tie).
"""
from __future__ import annotations

import bisect

import numpy as np

from ..schema import Track
from ..video.reader import uniform_indices


def mean_area(track: Track) -> float:
    """A_k: mean box area (pixels^2) over the frames where the face was detected."""
    observed = [i for i, v in enumerate(track.interpolated) if not v] or list(range(len(track)))
    b = track.boxes[observed]
    return float(np.mean(np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None))) if len(b) else 0.0


def screen_time_area(track: Track, n_frames: int) -> float:
    """A_k weighted by screen time: the mean detected area times the share of the video's
    ``n_frames`` in which the face was detected (``TrackConfig.area_by_screen_time``)."""
    return mean_area(track) * sum(not i for i in track.interpolated) / max(1, int(n_frames))


def neutral_similarity(similarities) -> np.ndarray:
    """S_k with "no evidence" made neutral: a track with fewer than two embeddings has S_k = 1.0
    by convention, which in Eq. 3's standardised K-means reads as the most consistent identity
    and can decide the clusters on its own; such tracks get the mean S_k of the others."""
    s = np.asarray(similarities, dtype=np.float64).copy()
    none = s >= 1.0
    if none.any() and (~none).any():
        s[none] = s[~none].mean()
    return s


def mean_pairwise_similarity(embeddings: list[np.ndarray] | np.ndarray, max_items: int = 64) -> float:
    """S_k: mean cosine similarity over all pairs of a track's embeddings (1.0 with fewer than two:
    nothing contradicts the identity). At most ``max_items`` evenly spaced embeddings are used."""
    e = np.asarray(embeddings, dtype=np.float64)
    if e.ndim != 2 or len(e) < 2:
        return 1.0
    if len(e) > max_items:
        e = e[np.linspace(0, len(e) - 1, max_items).round().astype(int)]
    e = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
    sim = e @ e.T
    iu = np.triu_indices(len(e), k=1)
    return float(sim[iu].mean())


def select_main(areas: np.ndarray | list[float], similarities: np.ndarray | list[float],
                n_clusters: int = 2, seed: int = 0, min_similarity_std: float = 0.0) -> tuple[np.ndarray, str]:
    """Paper Eq. 3: which tracks are main. Returns a boolean mask and the rule that decided.

    ``min_similarity_std`` floors the standard deviation S_k is divided by when standardised: a
    spread of S_k smaller than the embedding noise (``TrackConfig.similarity_std_floor``) would
    otherwise weigh as much as the areas and decide the clusters on noise."""
    a = np.asarray(areas, dtype=np.float64).reshape(-1)
    s = np.asarray(similarities, dtype=np.float64).reshape(-1)
    n = len(a)
    if n == 0:
        return np.zeros(0, dtype=bool), "no-tracks"
    if n == 1:
        return np.ones(1, dtype=bool), "single-track"
    if n == 2 and n_clusters == 2:
        mask = np.zeros(2, dtype=bool)
        mask[int(np.argmax(a))] = True
        return mask, "two-tracks-larger-area"
    x = np.stack([a, s], axis=1)
    std = x.std(axis=0)
    if std[1] > 1e-12:
        std[1] = max(std[1], float(min_similarity_std))
    z = np.where(std > 1e-12, (x - x.mean(axis=0)) / np.where(std > 1e-12, std, 1.0), 0.0)
    if np.allclose(z, z[0]):
        return np.ones(n, dtype=bool), "kmeans-degenerate"
    from sklearn.cluster import KMeans

    k = min(n_clusters, len(np.unique(z, axis=0)))
    labels = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(z)
    means = [a[labels == c].mean() for c in range(k)]
    return labels == int(np.argmax(means)), "kmeans"


def select_frames(n_total: int, n: int, face_frames: list[int] | set[int]) -> list[int]:
    """N uniformly spaced frame indices; each one without a main face is replaced by the nearest
    frame in ``face_frames`` (earlier on a tie). With no face frame at all, the uniform frames."""
    base = uniform_indices(n_total, n)
    have = sorted(set(int(f) for f in face_frames))
    if not have:
        return base
    present = set(have)
    out = []
    for f in base:
        if f in present:
            out.append(f)
            continue
        i = bisect.bisect_left(have, f)
        cands = [have[j] for j in (i - 1, i) if 0 <= j < len(have)]
        out.append(min(cands, key=lambda c: (abs(c - f), c)))
    return out
