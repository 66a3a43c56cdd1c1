"""MediaPipe BlazeFace face detection on numpy (anchors, box/keypoint decoding, weighted NMS).

Two models: the full-range one (192x192 input, one anchor per cell of a 48x48 grid, faces up to
~5 m and non-frontal poses) and the short-range one (128x128, 896 anchors on 16x16 and 8x8
grids, made for faces filling much of the picture). The frame is letterboxed to a square (the
aspect ratio kept, black bars), scaled to [-1, 1], and each anchor regresses 16 numbers:
box centre offset, width and height, and six keypoints (x, y) in input pixels. Keypoints, in the
model's order: the subject's right eye, left eye, nose tip, mouth centre, right ear tragion,
left ear tragion. Scores are logistic; overlapping boxes are merged by MediaPipe's weighted NMS
(the score-weighted mean of every box overlapping the best one by IoU > 0.3).

The full-range model misses some face-filling close-ups (a 256x256 crop), so when it finds
nothing the short-range model runs too (``fallback_short``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .tflite import TfliteModel

#: keypoint order of the detector output
KEYPOINTS = ("right_eye", "left_eye", "nose_tip", "mouth_centre", "right_ear", "left_ear")


@dataclass
class FaceBox:
    """One BlazeFace detection in frame pixels: ``box`` (x1, y1, x2, y2), ``score`` in [0, 1],
    ``keypoints`` (6, 2) in :data:`KEYPOINTS` order."""

    box: np.ndarray
    score: float
    keypoints: np.ndarray


def ssd_anchors(size: int, strides: list[int], per_layer: list[int]) -> np.ndarray:
    """Anchor centres (N, 2) in [0, 1] for MediaPipe's SSD anchor options with fixed anchor size:
    consecutive layers of equal stride share one grid; each cell repeats its centre once per
    anchor of those layers (row-major cells, y outer)."""
    out = []
    i = 0
    while i < len(strides):
        j, n = i, 0
        while j < len(strides) and strides[j] == strides[i]:
            n += per_layer[j]
            j += 1
        g = int(np.ceil(size / strides[i]))
        ys, xs = np.mgrid[0:g, 0:g]
        centres = np.stack([(xs.ravel() + 0.5) / g, (ys.ravel() + 0.5) / g], axis=1)
        out.append(np.repeat(centres, n, axis=0))
        i = j
    return np.concatenate(out).astype(np.float32)


#: name -> (input size, anchors) ; full range: 1 layer stride 4, one aspect ratio (no
#: interpolated scale); short range: strides 8, 16, 16, 16 with 2 anchors per layer
SPECS = {
    "full_range": (192, lambda: ssd_anchors(192, [4], [1])),
    "short_range": (128, lambda: ssd_anchors(128, [8, 16, 16, 16], [2, 2, 2, 2])),
}


def weighted_nms(boxes: np.ndarray, scores: np.ndarray, kps: np.ndarray, iou_threshold: float = 0.3):
    """MediaPipe's WEIGHTED non-max suppression: returns ``[(box, score, keypoints)]`` where each
    box/keypoint set is the score-weighted mean of the candidates overlapping the best remaining
    one by more than ``iou_threshold``, and the score is the best one's."""
    order = np.argsort(-scores)
    boxes, scores, kps = boxes[order], scores[order], kps[order]
    area = np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0, None)
    alive = np.ones(len(boxes), dtype=bool)
    out = []
    for i in range(len(boxes)):
        if not alive[i]:
            continue
        b = boxes[i]
        ix = np.clip(np.minimum(b[2], boxes[:, 2]) - np.maximum(b[0], boxes[:, 0]), 0, None)
        iy = np.clip(np.minimum(b[3], boxes[:, 3]) - np.maximum(b[1], boxes[:, 1]), 0, None)
        inter = ix * iy
        iou = inter / np.maximum(area[i] + area - inter, 1e-9)
        group = alive & (iou > iou_threshold)
        group[i] = True
        w = scores[group][:, None]
        out.append(((boxes[group] * w).sum(0) / w.sum(), float(scores[i]),
                    (kps[group] * w[:, :, None]).sum(0) / w.sum()))
        alive &= ~group
    return out


class BlazeFace:
    """One BlazeFace model: :meth:`run` returns :class:`FaceBox` records in frame pixels."""

    def __init__(self, name: str = "full_range", min_score: float = 0.5, num_threads: int = 1):
        self.name = name
        self.size, anchors = SPECS[name][0], SPECS[name][1]()
        self.anchors = anchors
        self.min_score = float(min_score)
        self.model = TfliteModel(name, num_threads)

    def run(self, rgb: np.ndarray) -> list[FaceBox]:
        import cv2

        h, w = rgb.shape[:2]
        side = max(h, w)
        n = self.size
        scale = n / side
        nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
        small = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        ox, oy = (n - nw) // 2, (n - nh) // 2
        # letterboxed: the image scaled to [-1, 1], the bars 0
        outs = self.model.run_image(small, 2.0 / 255.0, -1.0, at=(oy, ox))
        reg, cls = (outs[0], outs[1]) if outs[0].shape[-1] == 16 else (outs[1], outs[0])
        reg, logits = reg[0], cls[0, :, 0]
        keep = np.flatnonzero(logits > np.log(self.min_score / (1.0 - self.min_score)))
        if not len(keep):
            return []
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits[keep], -100, 100)))
        r = reg[keep] / n
        a = self.anchors[keep]
        cx, cy = a[:, 0] + r[:, 0], a[:, 1] + r[:, 1]
        bw, bh = r[:, 2], r[:, 3]
        boxes = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], axis=1)
        kps = r[:, 4:16].reshape(-1, 6, 2) + a[:, None, :]
        out = []
        for box, score, kp in weighted_nms(boxes, scores, kps):
            # input [0, 1] -> frame pixels (undo the letterbox)
            box = (box * n - np.array([ox, oy, ox, oy])) / scale
            kp = (kp * n - np.array([ox, oy])) / scale
            box = np.array([max(0.0, box[0]), max(0.0, box[1]), min(float(w), box[2]), min(float(h), box[3])])
            if box[2] - box[0] > 1 and box[3] - box[1] > 1:
                out.append(FaceBox(box.astype(np.float64), score, kp.astype(np.float64)))
        return out


class BlazeFaceDetector:
    """The default face detector (:class:`~dfec.faces.base.FaceDetector`): BlazeFace full range,
    then short range when the full-range model finds nothing (close-ups, selfies)."""

    def __init__(self, min_score: float = 0.5, fallback_short: bool = True, num_threads: int = 1):
        self.full = BlazeFace("full_range", min_score, num_threads)
        self.short = BlazeFace("short_range", min_score, num_threads) if fallback_short else None

    def find(self, rgb: np.ndarray) -> list[FaceBox]:
        found = self.full.run(rgb)
        if not found and self.short is not None:
            found = self.short.run(rgb)
        return found

    def detect(self, rgb: np.ndarray) -> list[tuple[np.ndarray, float]]:
        return [(f.box, f.score) for f in self.find(rgb)]
