"""Frame-to-frame face following with the MediaPipe stack (how MediaPipe and OpenFace track).

Per frame: every face kept in the previous frame is measured again by FaceMesh inside the ROI
its previous mesh gives (no detector). A face whose mesh presence drops below
``mesh_min_presence`` (turned away, occluded) is looked for by BlazeFace in a crop around its last
box (below). BlazeFace runs on the whole frame only at start-up and after a cut, when a face is
lost in its crop too, and every ``mesh_redetect_every`` frames to pick up new faces; a detection
whose centre lies inside a face already measured is not measured twice. The Iris model then
runs on each kept face. The faces become :class:`~dfec.schema.Detection` records for StrongSORT,
which keeps identities across several faces.

A face BlazeFace finds but FaceMesh rejects (full profile, deep shadow; ``keep_unmeshed``) is
followed the same way by the detector: in the next frame BlazeFace runs on a square crop of
``weak_roi_scale`` times the face's size around its last box, where the face is large enough for
the detector even when the whole-frame pass misses it (a toddler in profile: found in 38 of 39
sampled frames this way by the short-range model, 24 of 39 on the whole frame); when the crop
shows no face it is searched again for up to ``weak_patience`` frames. FaceMesh is tried on it
again every ``weak_mesh_every`` frames (it may turn back to the camera); in between, its rough 68
points (those of the rejected fit, kept only as a guess: ``Track.has_mesh`` is False there) move
with the box. Iris runs only on faces at least ``iris_min_face_px`` tall (smaller eyes hold an
iris of a few pixels; their rows stay NaN).

A shot cut would let a ROI land on whoever now stands there (FaceMesh happily fits any face), so
cuts are detected on a 32x32 grey thumbnail (mean absolute change and grey-histogram change):
at a cut every ROI is dropped, BlazeFace runs, and :attr:`cut` tells the pipeline to end every
tracklet there (:meth:`StrongSort.cut`; the offline linker joins a face's tracklets by appearance).
A gradual transition (cross-dissolve, :mod:`dfec.video.transitions`) has no such one-frame jump:
the same thumbnails go to a :class:`~dfec.video.transitions.TransitionFinder`, and the frame that
completes a blend window is treated like a cut (during a dissolve FaceMesh slides from the old
face to the new one, so the tracklet must end and the linker decide by appearance).
:meth:`MeshFollower.shot_changes` lists the cuts and transitions found, for
:attr:`~dfec.schema.TrackingResult.shot_changes`.
"""
from __future__ import annotations

import time

import numpy as np

from ..schema import Detection
from ..video.transitions import TransitionConfig, TransitionFinder
from .config import TrackConfig
from .strongsort import iou_matrix


#: a face found in the crop around a followed face may be at most this much larger or smaller
MAX_GROWTH = 1.4


def _follow(lm: np.ndarray, old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """Move 68 points with their box (shift of the centre, scale of the height)."""
    k = (new[3] - new[1]) / max(old[3] - old[1], 1e-6)
    c0, c1 = (old[:2] + old[2:]) / 2.0, (new[:2] + new[2:]) / 2.0
    return (np.asarray(lm, dtype=np.float64) - c0) * k + c1


def _inside(point: np.ndarray, box: np.ndarray) -> bool:
    return bool(box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3])


def _thumb(rgb: np.ndarray) -> np.ndarray:
    """32x32 grey thumbnail from a strided view (a full-frame resize cost ~2 ms a 720p frame)."""
    import cv2

    h, w = rgb.shape[:2]
    small = rgb[::max(1, h // 64), ::max(1, w // 64)]
    g = small.mean(axis=2, dtype=np.float32)
    return cv2.resize(g, (32, 32), interpolation=cv2.INTER_AREA)


def is_cut(prev: np.ndarray | None, cur: np.ndarray, mad: float = 18.0, hist: float = 0.15,
           mad_alone: float = 25.0) -> bool:
    """A shot change between two thumbnails: the mean absolute grey change exceeds ``mad_alone``,
    or exceeds ``mad`` while the 16-bin grey histogram moved by more than ``hist`` (L1).
    (Measured at 16 fps: within a shot the change is 0.5-4 grey levels, at the cuts of the
    Hamilton and Dirty Dancing clips 26-46.)"""
    if prev is None:
        return False
    d = float(np.abs(cur - prev).mean())
    if d >= mad_alone:
        return True
    if d < mad:
        return False
    h0 = np.histogram(prev, bins=16, range=(0, 256))[0] / prev.size
    h1 = np.histogram(cur, bins=16, range=(0, 256))[0] / cur.size
    return float(np.abs(h1 - h0).sum()) >= hist


class MeshFollower:
    """Keeps the ROIs between frames; :meth:`step` returns the frame's detections."""

    def __init__(self, stack, cfg: TrackConfig, clock=time.perf_counter,
                 transitions: TransitionConfig | None = None):
        self.stack, self.cfg, self.clock = stack, cfg, clock
        self.rois: list = []
        self.boxes: list[np.ndarray] = []  # the meshed faces' boxes (where to look when a ROI loses one)
        #: followed faces without mesh: (box, frames missed, rough 68 points, frames since FaceMesh was tried)
        self.weak_boxes: list[tuple] = []
        self.n_detect = 0
        self.n_cuts = 0
        self.n_transitions = 0
        self.cut = False
        self._thumb: np.ndarray | None = None
        self._prev_idx: int | None = None
        self._cuts: list[tuple[int, int]] = []  # hard cuts: (last frame before, first frame after)
        #: gradual-transition detection (``TrackConfig.transitions``; off: hard cuts only)
        self.finder = TransitionFinder(transitions) if getattr(cfg, "transitions", True) else None
        self.timings = {"detect": 0.0, "mesh": 0.0, "iris": 0.0}

    def step(self, rgb: np.ndarray, idx: int) -> list[Detection]:
        from ..faces.facemesh import roi_from_detection

        cfg, st, tm = self.cfg, self.stack, self.timings
        t0 = self.clock()
        weak: list = []
        thumb = _thumb(rgb)
        hard = is_cut(self._thumb, thumb)
        self._thumb = thumb
        found = self.finder.push(thumb, idx) if self.finder is not None else None
        if hard:
            if self.finder is not None:
                self.finder.cut()
            self._cuts.append((self._prev_idx if self._prev_idx is not None else idx - 1, idx))
            self.n_cuts += 1
        elif found is not None:
            self.n_transitions += 1
        self._prev_idx = idx
        # a dissolve ends the tracklets like a cut (the frame that completes its blend window)
        self.cut = hard or found is not None
        if self.cut:
            self.rois, self.boxes, self.weak_boxes = [], [], []
        fits = [st.fit(rgb, r) for r in self.rois]
        faces = [f for f in fits if f.score >= cfg.mesh_min_presence]
        # faces FaceMesh lost in their ROI, and faces without mesh: BlazeFace on a crop around them
        search = [(b, 0, None, 0) for f, b in zip(fits, self.boxes) if f.score < cfg.mesh_min_presence]
        t1 = self.clock()
        tm["mesh"] += t1 - t0
        missed: list[tuple] = []
        for box, miss, lm, since in search + self.weak_boxes:
            fb = self._find_near(rgb, box)
            t2 = self.clock()
            tm["detect"] += t2 - t1
            if fb is None and miss + 1 < cfg.weak_patience:
                missed.append((box, miss + 1, lm, since))  # searched there again next frame
            elif fb is not None and lm is not None and since + 1 < cfg.weak_mesh_every:
                weak.append((fb, _follow(lm, box, fb.box), since + 1))  # FaceMesh not tried this frame
            elif fb is not None:
                f = st.fit(rgb, roi_from_detection(fb))
                if f.score >= cfg.mesh_min_presence:
                    faces.append(f)
                elif cfg.keep_unmeshed:
                    weak.append((fb, f.landmarks68, 0))
            t1 = self.clock()
            tm["mesh"] += t1 - t2
        # the whole frame: at start-up and after a cut (nothing followed), when a face was just
        # lost (not in its crop either: it may have moved far), and every mesh_redetect_every frames
        if (not faces and not weak) or any(w[1] == 1 for w in missed) or idx % cfg.mesh_redetect_every == 0:
            found = st.find(rgb)
            self.n_detect += 1
            t2 = self.clock()
            tm["detect"] += t2 - t1
            boxes = [f.box for f in faces] + [w[0].box for w in weak]
            for fb in found:
                centre = (fb.box[:2] + fb.box[2:]) / 2.0
                if any(_inside(centre, b) for b in boxes):
                    continue
                f = st.fit(rgb, roi_from_detection(fb))
                if f.score >= cfg.mesh_min_presence:
                    faces.append(f)
                elif cfg.keep_unmeshed:
                    weak.append((fb, f.landmarks68, 0))
            tm["mesh"] += self.clock() - t2
        faces = self._dedupe(faces)
        t3 = self.clock()
        for f in faces:
            if f.box[3] - f.box[1] >= cfg.iris_min_face_px:
                st.iris(rgb, f)
        tm["iris"] += self.clock() - t3
        self.rois, self.boxes = [f.next_roi() for f in faces], [f.box for f in faces]
        dets = [Detection(idx, f.box, f.score, landmarks=f.landmarks68, mesh=f.mesh, iris=f.iris) for f in faces]
        # faces BlazeFace found but FaceMesh rejects (full profile, deep shadow): the detector's box,
        # the rejected fit's 68 points as a rough guess, and no mesh/iris (NaN rows in the track)
        self.weak_boxes = []
        for fb, lm, since in sorted(weak, key=lambda w: -w[0].score):
            c = (fb.box[:2] + fb.box[2:]) / 2.0
            if all(iou_matrix(fb.box, d.box)[0, 0] < 0.3 and not _inside(c, d.box)
                   and not _inside((d.box[:2] + d.box[2:]) / 2.0, fb.box) for d in dets):
                dets.append(Detection(idx, fb.box, fb.score, landmarks=lm))
                self.weak_boxes.append((fb.box, 0, lm, since))
        # a face without mesh missed in its crop is looked for there for a few more frames (a
        # hand passing, motion blur), unless a face was found at that place meanwhile
        self.weak_boxes += [w for w in missed if not any(_inside((w[0][:2] + w[0][2:]) / 2.0, d.box) for d in dets)]
        return dets

    def shot_changes(self) -> list[list[int]]:
        """The hard cuts ``[k_before, k_after]`` and the gradual transitions ``[first, last]``
        found so far (frame indices), in time order."""
        spans = self.finder.spans if self.finder is not None else []
        return sorted([list(c) for c in self._cuts] + [list(t) for t in spans])

    def _find_near(self, rgb: np.ndarray, box: np.ndarray):
        """BlazeFace on a square crop of ``weak_roi_scale`` face sizes around ``box``: the found
        face (in frame pixels) whose centre lies inside ``box`` grown by half and whose height is
        within a factor :data:`MAX_GROWTH` of the box's (a face does not change size that fast; a
        search that did drifted from a crowd face onto a red dress), best score first; None when
        there is none."""
        from ..faces.blazeface import FaceBox

        h, w = rgb.shape[:2]
        c = (box[:2] + box[2:]) / 2.0
        half = self.cfg.weak_roi_scale * max(box[2] - box[0], box[3] - box[1]) / 2.0
        x1, y1 = int(max(0, c[0] - half)), int(max(0, c[1] - half))
        x2, y2 = int(min(w, c[0] + half)), int(min(h, c[1] + half))
        if x2 - x1 < 16 or y2 - y1 < 16:
            return None
        grown = np.concatenate([box[:2] - (box[2:] - box[:2]) / 2.0, box[2:] + (box[2:] - box[:2]) / 2.0])
        best = None
        for fb in self._find_in_crop(np.ascontiguousarray(rgb[y1:y2, x1:x2])):
            off = np.array([x1, y1], dtype=np.float64)
            moved = FaceBox(np.asarray(fb.box, dtype=np.float64) + np.tile(off, 2), float(fb.score),
                            np.asarray(fb.keypoints, dtype=np.float64) + off)
            ratio = (moved.box[3] - moved.box[1]) / max(box[3] - box[1], 1e-6)
            if (_inside((moved.box[:2] + moved.box[2:]) / 2.0, grown) and 1 / MAX_GROWTH <= ratio <= MAX_GROWTH
                    and (best is None or moved.score > best.score)):
                best = moved
        return best

    def _find_in_crop(self, crop: np.ndarray) -> list:
        """BlazeFace's short-range model, made for faces filling the picture as in a crop two
        faces wide (on the toddler in profile it found 38 of 39 sampled crops, the full-range
        model 10, at 2 ms a call against 5); the stack's whole search where it has none."""
        short = getattr(getattr(self.stack, "detector", None), "short", None)
        return short.run(crop) if short is not None else self.stack.find(crop)

    @staticmethod
    def _dedupe(faces: list) -> list:
        """Two ROIs that converged on one face: keep the more confident mesh."""
        keep: list = []
        for f in sorted(faces, key=lambda f: -f.score):
            if all(iou_matrix(f.box, k.box)[0, 0] < 0.5 for k in keep):
                keep.append(f)
        return keep
