"""StrongSORT (Du et al., 2023) for faces, on numpy/scipy.

Per frame: Kalman predict; stage 1 matches confirmed tracks to detections with the cost
``lambda * d_app + (1 - lambda) * d_mot`` (cosine distance of the EMA feature to the detection's
embedding, squared Mahalanobis distance of the box), infinite where the motion distance exceeds
the chi-square gate, and rejects pairs whose cost exceeds ``max_cosine_distance``; stage 2 matches
unconfirmed tracks and the confirmed tracks missed in stage 1 (lost for one frame) by IoU. Tracks
are confirmed after ``n_init`` hits and dropped after ``max_age`` missed frames (tentative ones on
their first miss). The appearance bank is an EMA, ``f_t = alpha f_{t-1} + (1 - alpha) e_t``.

Embeddings are expensive (dlib ResNet, ~80 ms per face) so they are requested lazily through a
callback: a detection that overlaps exactly one confirmed track (and that track no other
detection) whose feature is fresher than ``embed_every`` frames borrows that track's feature;
every other detection (new, unconfirmed, ambiguous, or due for a refresh) is embedded. With
``borrow_tentative`` (the mesh backend, where each face is followed by its own ROI) an unconfirmed
track's feature is borrowed the same way, so a new face costs one embedding, not ``n_init``.

Lazy identity (``step(..., defer=...)``, the mesh backend): a frame is unambiguous unless two
faces meet (a detection overlaps two tracks that overlap each other, or a track two detections
that overlap each other; with the mesh backend only faces with a mesh count, as the embedding of
a face FaceMesh rejected is unreliable). An unambiguous frame computes no embedding: detections
continue tracks by IoU with their predicted boxes (Hungarian, IoU above ``OVERLAP_IOU``) and new
faces start tracks. Each track keeps one deferred embedding (a closure over a copy of the face
region) of its best detection so far (:func:`identity_quality`: large, frontal, meshed), and a
few candidate views from other moments (:meth:`StrongSort._spare`). Only an ambiguous frame
computes embeddings: the deferred ones of the active tracks (:meth:`materialize`) and the frame's
own, and the frame goes through the StrongSORT stages above. After tracking,
:func:`dfec.tracking.link.link_tracklets` computes the deferred embeddings (the best view and up to
``link_views - 1`` spaced others) only of the tracklets that appearance linking can use. A
one-face clip, or several faces that never meet, costs no embedding while tracking (Hamilton: 8
embeddings in all, all for linking, instead of 18).

Storage: with ``store`` set (a :class:`dfec.tracking.rows.RowSpill`), a tracklet keeps each
detection as ``store.keep(det)``, a light record whose landmarks / mesh / iris rows are on disk.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..schema import Detection
from .config import TrackConfig
from .kalman import KalmanFilter, xyah_to_xyxy, xyxy_to_xyah

INF_COST = 1e5
TENTATIVE, CONFIRMED, DELETED = 1, 2, 3

#: IoU above which a detection is counted as overlapping a predicted track box
OVERLAP_IOU = 0.2


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of boxes ``a`` (N, 4) and ``b`` (M, 4) in (x1, y1, x2, y2)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    ix1 = np.maximum(a[:, None, 0], b[None, :, 0])
    iy1 = np.maximum(a[:, None, 1], b[None, :, 1])
    ix2 = np.minimum(a[:, None, 2], b[None, :, 2])
    iy2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(ix2 - ix1, 0, None) * np.clip(iy2 - iy1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def _unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    n = np.linalg.norm(v)
    return v / n if n > 0 else v


def min_cost_matching(cost: np.ndarray, max_cost: float) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """Hungarian assignment on ``cost`` (rows x cols); pairs costing more than ``max_cost`` are
    left unmatched. Returns ``(matches, unmatched_rows, unmatched_cols)``."""
    n_rows, n_cols = cost.shape
    if n_rows == 0 or n_cols == 0:
        return [], list(range(n_rows)), list(range(n_cols))
    c = np.where(cost > max_cost, max_cost + 1e-5, cost)
    rows, cols = linear_sum_assignment(c)
    matches = [(int(r), int(k)) for r, k in zip(rows, cols) if cost[r, k] <= max_cost]
    mr = {r for r, _ in matches}
    mc = {k for _, k in matches}
    return matches, [r for r in range(n_rows) if r not in mr], [k for k in range(n_cols) if k not in mc]


def identity_quality(det: Detection) -> float:
    """How good a detection is for an identity embedding: face height (saturating at 112 px, dlib's
    150 px chip holds the face at about that size) times frontality, times 0.5 for a face without
    mesh (its 68 points are a rough guess, so the aligned chip is too). Frontality is
    ``1 - (|yaw| + |pitch|) / 60 deg`` from the 3-D mesh (eye corners 33-263 for yaw, forehead 10
    to chin 152 for pitch: a head thrown back gave an embedding 0.11 from the same woman's, against
    0.02 when she faced the camera), else from the nose tip's offset from the eye-corner midpoint
    along the eye line (68-point indices 30, 36, 45)."""
    x1, y1, x2, y2 = det.box
    size = min(max(y2 - y1, 0.0), 112.0) / 112.0
    frontal = 0.5
    lm = det.landmarks
    if det.mesh is not None and np.isfinite(det.mesh).all():
        m = np.asarray(det.mesh, dtype=np.float64)
        e, v = m[263] - m[33], m[152] - m[10]
        yaw = abs(np.degrees(np.arctan2(e[2], np.hypot(e[0], e[1]))))
        pitch = abs(np.degrees(np.arctan2(v[2], np.hypot(v[0], v[1]))))
        frontal = max(0.0, 1.0 - (yaw + pitch) / 60.0)
    elif lm is not None and len(lm) == 68:
        axis = lm[45] - lm[36]
        d = float(np.linalg.norm(axis))
        if d > 1e-6:
            off = abs(float((lm[30] - (lm[36] + lm[45]) / 2.0) @ axis)) / d
            frontal = max(0.0, 1.0 - off / (0.5 * d))
    return size * (0.25 + 0.75 * frontal) * (1.0 if det.mesh is not None else 0.5)


def _ambiguous(overlap: np.ndarray, tracks_overlap: np.ndarray, dets_overlap: np.ndarray) -> bool:
    """Identity is in question: a detection overlaps two tracks that overlap each other, or a
    track overlaps two detections that overlap each other (two faces meet)."""
    for j in range(overlap.shape[1]):
        ts = np.flatnonzero(overlap[:, j])
        if len(ts) > 1 and tracks_overlap[np.ix_(ts, ts)].any():
            return True
    for i in range(overlap.shape[0]):
        ds = np.flatnonzero(overlap[i])
        if len(ds) > 1 and dets_overlap[np.ix_(ds, ds)].any():
            return True
    return False


@dataclass
class TrackState:
    """One tracklet inside the tracker (internal; exported as :class:`dfec.schema.Track`)."""

    track_id: int
    mean: np.ndarray
    cov: np.ndarray
    feature: np.ndarray | None
    state: int = TENTATIVE
    hits: int = 1
    age: int = 1
    time_since_update: int = 0
    feature_age: int = 0  # frames since the feature was last refreshed by a real embedding
    detections: list[Detection] = field(default_factory=list)
    embeddings: list[np.ndarray] = field(default_factory=list)  # real (not borrowed) embeddings
    pending: Callable[[], np.ndarray] | None = None  # lazy identity: the best detection's embedding, deferred
    pending_quality: float = 0.0  # identity_quality of the detection behind ``pending``
    pending_frame: int = -1  # the frame of that detection
    #: lazy identity: candidate views for appearance linking, ``(quality, frame, closure)``, the
    #: best of each stretch of ``link_view_spacing`` frames (StrongSort._spare)
    views: list = field(default_factory=list)
    shot: int = 0  # shot index (cuts seen before the track started)

    @property
    def box(self) -> np.ndarray:
        return xyah_to_xyxy(self.mean)

    @property
    def confirmed(self) -> bool:
        return self.state == CONFIRMED


class StrongSort:
    """Online multi-face tracker; feed frames in order with :meth:`step`, then :meth:`tracks`."""

    def __init__(self, config: TrackConfig | None = None, borrow_tentative: bool = False):
        self.cfg = config or TrackConfig()
        self.borrow_tentative = bool(borrow_tentative)

        self.kf = KalmanFilter(self.cfg.std_weight_position, self.cfg.std_weight_velocity, self.cfg.nsa)
        self.active: list[TrackState] = []
        self.finished: list[TrackState] = []
        self._next_id = 1
        self.n_embedded = 0
        self.n_borrowed = 0
        self.n_steps = 0
        self.n_cuts = 0
        self.n_lazy = 0  # frames associated without any embedding (lazy identity)
        self.meshed = False  # a detection with a FaceMesh was seen (the mesh backend runs)
        self.store = None  # where tracklets keep their detections' heavy rows (module docstring)

    # -- association costs -------------------------------------------------------------------
    def motion_cost(self, tracks: list[TrackState], dets: list[Detection]) -> np.ndarray:
        """Squared Mahalanobis distances (tracks x detections)."""
        meas = np.array([xyxy_to_xyah(d.box) for d in dets]).reshape(-1, 4)
        out = np.zeros((len(tracks), len(dets)))
        for i, t in enumerate(tracks):
            out[i] = self.kf.gating_distance(t.mean, t.cov, meas)
        return out

    def appearance_cost(self, tracks: list[TrackState], feats: list[np.ndarray]) -> np.ndarray:
        """Cosine distances between the tracks' EMA features and detection embeddings."""
        if not tracks or not feats:
            return np.zeros((len(tracks), len(feats)))
        a = np.array([_unit(t.feature) for t in tracks])
        b = np.array([_unit(f) for f in feats])
        return 1.0 - a @ b.T

    def combined_cost(self, tracks: list[TrackState], dets: list[Detection], feats: list[np.ndarray]) -> np.ndarray:
        """StrongSORT's stage-1 cost with chi-square gating (gated pairs cost INF_COST)."""
        lam = self.cfg.mc_lambda
        motion = self.motion_cost(tracks, dets)
        cost = lam * self.appearance_cost(tracks, feats) + (1.0 - lam) * motion
        cost[motion > self.cfg.gating_threshold] = INF_COST
        return cost

    # -- one frame ---------------------------------------------------------------------------
    def step(self, frame: int, dets: list[Detection], embed: Callable[[int], np.ndarray],
             defer: Callable[[int], Callable[[], np.ndarray]] | None = None) -> None:
        """Advance by one frame. ``embed(j)`` returns the embedding of ``dets[j]`` (called only
        for detections that need a fresh one); ``defer(j)``, when given, returns a closure that
        computes it later (lazy identity, see the module docstring)."""
        cfg = self.cfg
        self.n_steps += 1
        for t in self.active:
            t.mean, t.cov = self.kf.predict(t.mean, t.cov)
            t.age += 1
            t.time_since_update += 1
        if defer is not None and self._lazy_step(dets, defer):
            self.n_lazy += 1
            return
        self.materialize()

        feats, real = self._features(dets, embed)
        # an embedding of a face overlapping another face (one walks in front of the other) is
        # used for matching but kept out of the track's identity record (S_k of Eq. 3, linking)
        if len(dets) > 1:
            dd = iou_matrix(np.array([d.box for d in dets]), np.array([d.box for d in dets]))
            np.fill_diagonal(dd, 0.0)
            clean = list((dd <= OVERLAP_IOU).all(axis=1))
        else:
            clean = [True] * len(dets)

        confirmed = [i for i, t in enumerate(self.active) if t.confirmed]
        unconfirmed = [i for i, t in enumerate(self.active) if not t.confirmed]

        # stage 1: appearance + motion with gating, confirmed tracks
        matches: list[tuple[int, int]] = []
        unmatched_dets = list(range(len(dets)))
        if confirmed and dets:
            cost = self.combined_cost([self.active[i] for i in confirmed], dets, feats)
            m, um_t, unmatched_dets = min_cost_matching(cost, cfg.max_cosine_distance)
            matches += [(confirmed[r], c) for r, c in m]
            unmatched_confirmed = [confirmed[r] for r in um_t]
        else:
            unmatched_confirmed = confirmed

        # stage 2: IoU for unconfirmed tracks and confirmed ones lost only in this frame
        iou_tracks = unconfirmed + [i for i in unmatched_confirmed if self.active[i].time_since_update == 1]
        late = [i for i in unmatched_confirmed if self.active[i].time_since_update != 1]
        if iou_tracks and unmatched_dets:
            ious = iou_matrix(np.array([self.active[i].box for i in iou_tracks]),
                              np.array([dets[j].box for j in unmatched_dets]))
            m, um_t, um_d = min_cost_matching(1.0 - ious, cfg.max_iou_distance)
            matches += [(iou_tracks[r], unmatched_dets[c]) for r, c in m]
            unmatched_tracks = late + [iou_tracks[r] for r in um_t]
            unmatched_dets = [unmatched_dets[c] for c in um_d]
        else:
            unmatched_tracks = late + iou_tracks

        for ti, dj in matches:
            self._update(self.active[ti], dets[dj], feats[dj], real[dj], clean[dj])
        self._miss(unmatched_tracks)
        for dj in unmatched_dets:
            f = feats[dj] if real[dj] else self._embed(embed, dj)
            self._start(dets[dj], f)
        self._sweep()

    def _lazy_step(self, dets: list[Detection], defer) -> bool:
        """One unambiguous frame without embeddings; False (nothing done) when the frame is ambiguous."""
        pairs: list[tuple[int, int]] = []
        if self.active and dets:
            tb, db = np.array([t.box for t in self.active]), np.array([d.box for d in dets])
            ious = iou_matrix(tb, db)
            overlap = ious > OVERLAP_IOU
            self.meshed = self.meshed or any(d.mesh is not None for d in dets)
            if self.meshed:  # faces without mesh: their embeddings (rough 68 points) cannot decide
                overlap[:, [d.mesh is None for d in dets]] = False
                overlap[[not t.detections[-1].has_mesh for t in self.active], :] = False
            if _ambiguous(overlap, iou_matrix(tb, tb) > OVERLAP_IOU, iou_matrix(db, db) > OVERLAP_IOU):
                return False
            pairs, _, _ = min_cost_matching(1.0 - ious, 1.0 - OVERLAP_IOU)
        for i, j in pairs:
            t = self.active[i]
            self._update(t, dets[j], None, False)
            self._offer(t, dets[j], j, defer)
        matched_t, matched_d = {i for i, _ in pairs}, {j for _, j in pairs}
        self._miss(i for i in range(len(self.active)) if i not in matched_t)
        for j, d in enumerate(dets):
            if j not in matched_d:
                self._start(d, None, defer(j))
        self._sweep()
        return True

    def _offer(self, t: TrackState, det: Detection, j: int, defer) -> None:
        """Keep the deferred embedding of the track's best detection (10% better to replace), and
        candidate views for appearance linking (:meth:`_spare`)."""
        if t.embeddings or t.feature is not None:
            return
        q = identity_quality(det)
        made = []

        def make():  # one closure (a copy of the face region) per detection, made only if kept
            if not made:
                made.append(defer(j))
            return made[0]

        if q > 1.1 * t.pending_quality:
            t.pending, t.pending_quality, t.pending_frame = make(), q, det.frame
        self._spare(t, q, det.frame, make)

    def _spare(self, t: TrackState, q: float, frame: int, make) -> None:
        """Candidate views for linking: the best detection (10% better to replace) of each stretch
        of ``link_view_spacing`` frames, at least ``link_min_quality``, at most ``2 * (link_views -
        1)`` stretches (the poorest goes); :meth:`identify_views` picks from them. ``make()`` gives
        the deferred embedding and is called only for a kept view."""
        cap = 2 * (self.cfg.link_views - 1)
        if cap <= 0 or q < self.cfg.link_min_quality:
            return
        b = frame // self.cfg.link_view_spacing
        views = t.views
        k = next((i for i, v in enumerate(views) if v[1] // self.cfg.link_view_spacing == b), None)
        if k is not None:
            if q <= 1.1 * views[k][0]:
                return
            del views[k]
        elif len(views) >= cap:
            worst = min(range(len(views)), key=lambda i: views[i][0])
            if q <= views[worst][0]:
                return
            del views[worst]
        views.append((q, frame, make()))

    def identify(self, t: TrackState) -> bool:
        """Compute ``t``'s deferred embedding (if it has one and no real embedding yet)."""
        if t.pending is None:
            return False
        f = np.asarray(t.pending(), dtype=np.float64)
        self.n_embedded += 1
        t.pending = None
        if t.feature is None:
            t.feature, t.feature_age = _unit(f), 0
        t.embeddings.append(f)
        return True

    def identify_views(self, t: TrackState) -> int:
        """Compute up to ``link_views - 1`` more views of ``t`` into ``t.embeddings`` (best first,
        each at least ``link_view_spacing`` frames from the best view and from each other), so
        that appearance linking compares several views of each tracklet, not one; returns how many."""
        gap, chosen = self.cfg.link_view_spacing, []
        for q, frame, compute in sorted(t.views, key=lambda v: -v[0]):
            taken = [t.pending_frame] + [c[0] for c in chosen]
            if len(chosen) < self.cfg.link_views - 1 and all(abs(frame - f) >= gap for f in taken):
                chosen.append((frame, compute))
        t.views = []
        for _, compute in sorted(chosen, key=lambda c: c[0]):
            t.embeddings.append(np.asarray(compute(), dtype=np.float64))
            self.n_embedded += 1
        return len(chosen)

    def materialize(self) -> None:
        """An ambiguous frame: compute the deferred embeddings of the active tracks that have no
        feature yet (the appearance stage needs one per track)."""
        for t in self.active:
            if t.feature is None:
                self.identify(t)

    def cut(self) -> None:
        """A shot cut: every active tracklet ends here (position and motion say nothing across a
        cut); the same face in the next shot starts a new tracklet, and the offline linker
        (:mod:`.link`) joins the two by appearance."""
        for t in self.active:
            t.state = DELETED
        self.finished += self.active
        self.active = []
        self.n_cuts += 1

    def _embed(self, embed: Callable[[int], np.ndarray], j: int) -> np.ndarray:
        self.n_embedded += 1
        return np.asarray(embed(j), dtype=np.float64)

    def _features(self, dets: list[Detection], embed) -> tuple[list[np.ndarray], list[bool]]:
        """Embedding per detection: borrowed from an unambiguous, fresh confirmed track or
        computed. Returns the features and whether each was computed."""
        feats: list[np.ndarray | None] = [None] * len(dets)
        real = [False] * len(dets)
        if self.active and dets:
            ious = iou_matrix(np.array([t.box for t in self.active]), np.array([d.box for d in dets]))
            overlap = ious > OVERLAP_IOU
            for j in range(len(dets)):
                ts = np.flatnonzero(overlap[:, j])
                if len(ts) != 1:
                    continue
                t = self.active[ts[0]]
                if ((t.confirmed or self.borrow_tentative) and t.feature is not None and overlap[ts[0]].sum() == 1
                        and t.feature_age + 1 < self.cfg.embed_every):
                    feats[j] = t.feature
                    self.n_borrowed += 1
        for j in range(len(dets)):
            if feats[j] is None:
                feats[j] = self._embed(embed, j)
                real[j] = True
        return feats, real  # type: ignore[return-value]

    def _update(self, t: TrackState, det: Detection, feat: np.ndarray, real: bool, clean: bool = True) -> None:
        t.mean, t.cov = self.kf.update(t.mean, t.cov, xyxy_to_xyah(det.box), det.score)
        t.hits += 1
        t.time_since_update = 0
        if real:
            a = self.cfg.ema_alpha
            t.feature = _unit(a * _unit(t.feature) + (1.0 - a) * _unit(feat)) if t.feature is not None else _unit(feat)
            if clean:
                t.embeddings.append(np.asarray(feat, dtype=np.float64))
            t.feature_age = 0
            det.embedding = np.asarray(feat)
        else:
            t.feature_age += 1
        t.detections.append(self._keep(det))
        if t.state == TENTATIVE and t.hits >= self.cfg.n_init:
            t.state = CONFIRMED

    def _keep(self, det: Detection) -> Detection:
        return det if self.store is None else self.store.keep(det)

    def _miss(self, indices) -> None:
        """Active tracks ``indices`` got no detection this frame: a tentative one or one lost too long is deleted."""
        for i in indices:
            t = self.active[i]
            if t.state == TENTATIVE or t.time_since_update > self.cfg.max_age:
                t.state = DELETED

    def _sweep(self) -> None:
        self.finished += [t for t in self.active if t.state == DELETED]
        self.active = [t for t in self.active if t.state != DELETED]

    def _start(self, det: Detection, feat: np.ndarray | None, pending=None) -> None:
        """A new track from ``det``: with its embedding ``feat``, or (lazy identity) a deferred one."""
        mean, cov = self.kf.initiate(xyxy_to_xyah(det.box))
        if feat is not None:
            det.embedding = np.asarray(feat)
        t = TrackState(self._next_id, mean, cov, None if feat is None else _unit(feat), detections=[self._keep(det)],
                       embeddings=[] if feat is None else [np.asarray(feat)], pending=pending,
                       pending_quality=identity_quality(det) if pending is not None else 0.0,
                       pending_frame=det.frame if pending is not None else -1, shot=self.n_cuts)
        if self.cfg.n_init <= 1:
            t.state = CONFIRMED
        self._next_id += 1
        self.active.append(t)

    def tracks(self, confirmed_only: bool = True) -> list[TrackState]:
        """All tracklets seen so far (finished and active), in order of creation; by default only
        those that were ever confirmed (a deleted track keeps ``hits >= n_init``). A video shorter
        than ``n_init`` frames cannot confirm anything, so there a track detected in every frame
        counts as confirmed (a 1-3 frame clip, a still image)."""
        every = sorted(self.finished + self.active, key=lambda t: t.track_id)
        if confirmed_only:
            need = max(1, min(self.cfg.n_init, self.n_steps))
            every = [t for t in every if t.hits >= need]
        return every
