"""MediaPipe FaceMesh (468 points in 3-D) and Iris (5 points per eye) on numpy/cv2.

How MediaPipe's face landmark graph runs, and what :class:`MediaPipeFaces` does:

1. A BlazeFace detection gives the first ROI: its box, rotated so the two eye keypoints are
   level, square on the longer side, times 1.5.
2. FaceMesh reads the ROI resampled to 192x192 (values in [0, 1]) and returns 468 (x, y, z)
   points in input pixels plus a face-presence logit; points are mapped back to the frame, z is
   scaled like x (MediaPipe's convention: z is depth relative to the face centre, in the same
   units as x, smaller = nearer the camera).
   With ``flip_average`` (the default) FaceMesh also reads the ROI mirrored left to right, and
   the two meshes are averaged, each vertex with its mirror vertex's point from the mirrored
   read (:data:`~dfec.faces.mesh68.MESH_MIRROR`): flip test-time augmentation, as landmark
   detectors are commonly evaluated. One read alone is not mirror-symmetric: on the dev clips
   mirrored (``benchmarks/caption_robustness.py``) its lip gap moved by 15 % and a smile's
   teeth, a blink and a speaking run came and went; the average is the same for a face and its
   mirror image, and steadier: the captions of the dev clips re-encoded at CRF 18 agree with the
   originals' at TEM 0.973 (one read: 0.946). Cost: one more FaceMesh run per face and frame
   (~1.1 ms; RAVDESS 6.5 -> 5.3x real time on one core), so it runs only on faces at least
   ``flip_min_face_px`` (44) tall: a smaller face's eyes, brows and mouth are not read
   (``DynamicsConfig.min_detail_px``), and a crowd of small faces (Hamilton's audience) would
   double the mesh's cost for nothing.
3. The mesh of frame t gives the ROI of frame t+1: the box of its points in the frame rotated
   so the outer eye corners (33, 263) are level, times 1.5. No detector runs while the
   presence score stays above ``min_presence``.
4. Iris: per eye, a square of 2.3 times the corner-to-corner distance, rotated level, read at
   64x64; the subject's left eye is mirrored so both look like the eye the model was trained
   on. Output: the iris centre then 4 points of the iris contour, (x, y, z) in frame pixels;
   and 71 eye-region points (eyelids, halo rings, brow) that replace the mesh's x, y there, as
   MediaPipe's iris graph does: the mesh alone hardly closes its eyelids in a blink (on the
   RAVDESS clip its eye opening stays at 0.27-0.30 while dlib's and the Iris model's drop to
   0.10-0.2 at each of the six blinks).

``iris`` arrays hold the subject's right eye first (mesh corners 33/133, on the image's left in
a frontal, unmirrored view: MediaPipe's refined points 468-472), then the subject's left eye
(corners 362/263: points 473-477).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .blazeface import BlazeFaceDetector, FaceBox
from .mesh68 import (LEFT_EYE_CORNERS, LEFT_EYE_OUTER, LEFT_EYE_REGION, MESH_MIRROR, RIGHT_EYE_CORNERS,
                     RIGHT_EYE_OUTER, RIGHT_EYE_REGION, mesh_to_68)
from .roi import Roi, level_angle, roi_around
from .tflite import TfliteModel

MESH_INPUT, IRIS_INPUT = 192, 64
FACE_ROI_SCALE, IRIS_ROI_SCALE = 1.5, 2.3


@dataclass
class MeshFace:
    """One face measured by FaceMesh in one frame (frame pixels).

    ``mesh`` (468, 3) float32; ``iris`` (10, 3) float32 or None (subject's right eye first, see
    the module doc); ``score`` the face-presence probability; ``roi`` the region it was read in.
    """

    mesh: np.ndarray
    score: float
    roi: Roi
    iris: np.ndarray | None = None

    @property
    def landmarks68(self) -> np.ndarray:
        return mesh_to_68(self.mesh)

    @property
    def box(self) -> np.ndarray:
        """Box of the 68 points (brows to chin, as a face detector's box), (x1, y1, x2, y2)."""
        p = self.landmarks68
        return np.array([p[:, 0].min(), p[:, 1].min(), p[:, 0].max(), p[:, 1].max()])

    def next_roi(self) -> Roi:
        """The ROI for the next frame (step 3)."""
        return roi_around(self.mesh, self.mesh[RIGHT_EYE_OUTER], self.mesh[LEFT_EYE_OUTER], FACE_ROI_SCALE)


def roi_from_detection(face: FaceBox) -> Roi:
    """Step 1: the FaceMesh ROI of a BlazeFace detection."""
    x1, y1, x2, y2 = face.box
    right_eye, left_eye = face.keypoints[0], face.keypoints[1]
    side = max(x2 - x1, y2 - y1) * FACE_ROI_SCALE
    return Roi((x1 + x2) / 2.0, (y1 + y2) / 2.0, float(side), level_angle(right_eye, left_eye))


def roi_from_box(box: np.ndarray) -> Roi:
    """An upright ROI for a face box from any detector (no keypoints)."""
    x1, y1, x2, y2 = np.asarray(box, dtype=np.float64)
    return Roi((x1 + x2) / 2.0, (y1 + y2) / 2.0, float(max(x2 - x1, y2 - y1)) * FACE_ROI_SCALE, 0.0)


class FaceMesh:
    def __init__(self, num_threads: int = 1, flip_average: bool = True, flip_min_face_px: float = 44.0):
        self.model = TfliteModel("face_mesh", num_threads)
        self.flip_average = bool(flip_average)
        self.flip_min_face_px = float(flip_min_face_px)

    def _read(self, rgb: np.ndarray, roi: Roi, flip: bool) -> tuple[np.ndarray, float]:
        """One FaceMesh read of ``roi`` (mirrored with ``flip``): 468 points in frame pixels, in
        the model's own labels (mirrored: the subject's right eye labels the image's right eye),
        and the presence probability."""
        outs = self.model.run_image(roi.crop(rgb, MESH_INPUT, flip=flip), 1.0 / 255.0)
        pts, logit = (outs[0], outs[1]) if outs[0].size == 1404 else (outs[1], outs[0])
        score = float(1.0 / (1.0 + np.exp(-float(np.ravel(logit)[0]))))
        return roi.to_frame(np.asarray(pts, dtype=np.float32).reshape(468, 3), MESH_INPUT, flip=flip), score

    def fit(self, rgb: np.ndarray, roi: Roi) -> MeshFace:
        face = MeshFace(*self._read(rgb, roi, flip=False), roi)
        # step 2, flip average (vertex i of the mirrored read is MESH_MIRROR[i]), on faces tall
        # enough for their details to be read (brows to chin, as the Iris gate measures them)
        if self.flip_average and face.box[3] - face.box[1] >= self.flip_min_face_px:
            mirrored, score = self._read(rgb, roi, flip=True)
            face.mesh = (face.mesh + mirrored[MESH_MIRROR]) * np.float32(0.5)
            face.score = 0.5 * (face.score + score)
        return face


class Iris:
    def __init__(self, num_threads: int = 1):
        self.model = TfliteModel("iris", num_threads)

    def eye(self, rgb: np.ndarray, p0: np.ndarray, p1: np.ndarray, flip: bool) -> tuple[np.ndarray, np.ndarray]:
        """The 5 iris points (5, 3) and the 71 eye-region points (71, 3) of the eye with corners
        ``p0`` (image-left) and ``p1``, in frame pixels."""
        d = float(np.hypot(*(np.asarray(p1[:2]) - p0[:2])))
        c = (np.asarray(p0[:2]) + p1[:2]) / 2.0
        roi = Roi(float(c[0]), float(c[1]), max(d * IRIS_ROI_SCALE, 1.0), level_angle(p0, p1))
        outs = self.model.run_image(roi.crop(rgb, IRIS_INPUT, flip=flip), 1.0 / 255.0)
        iris, region = (outs[1], outs[0]) if outs[1].size == 15 else (outs[0], outs[1])
        return (roi.to_frame(np.asarray(iris, dtype=np.float32).reshape(5, 3), IRIS_INPUT, flip=flip),
                roi.to_frame(np.asarray(region, dtype=np.float32).reshape(71, 3), IRIS_INPUT, flip=flip))

    def both(self, rgb: np.ndarray, mesh: np.ndarray) -> np.ndarray:
        """(10, 3): the subject's right eye, then the left eye (mirrored for the model). The
        eye-region points are written into ``mesh`` (x, y) in place."""
        r, r_region = self.eye(rgb, mesh[RIGHT_EYE_CORNERS[0]], mesh[RIGHT_EYE_CORNERS[1]], flip=False)
        left, l_region = self.eye(rgb, mesh[LEFT_EYE_CORNERS[0]], mesh[LEFT_EYE_CORNERS[1]], flip=True)
        mesh[RIGHT_EYE_REGION, :2] = r_region[:, :2]
        mesh[LEFT_EYE_REGION, :2] = l_region[:, :2]
        return np.concatenate([r, left]).astype(np.float32)


class MediaPipeFaces:
    """The MediaPipe face stack: BlazeFace (full + short range), FaceMesh and Iris.

    Follows :class:`~dfec.faces.base.FaceDetector` (``detect``) and
    :class:`~dfec.faces.base.LandmarkPredictor` (``predict``: the mesh's 68-point view), and
    adds :meth:`find` (detections with keypoints), :meth:`fit` (mesh in a ROI) and
    :meth:`iris` for the frame-to-frame tracking in :mod:`dfec.tracking.pipeline`.
    """

    n_points = 68

    def __init__(self, min_score: float = 0.5, min_presence: float = 0.5, with_iris: bool = True,
                 num_threads: int = 1, flip_average: bool = True, flip_min_face_px: float = 44.0):
        self.detector = BlazeFaceDetector(min_score, num_threads=num_threads)
        self.mesh = FaceMesh(num_threads, flip_average, flip_min_face_px)
        self._iris = Iris(num_threads) if with_iris else None
        self.min_presence = float(min_presence)

    def find(self, rgb: np.ndarray) -> list[FaceBox]:
        return self.detector.find(rgb)

    def detect(self, rgb: np.ndarray) -> list[tuple[np.ndarray, float]]:
        return self.detector.detect(rgb)

    def fit(self, rgb: np.ndarray, roi: Roi) -> MeshFace:
        return self.mesh.fit(rgb, roi)

    def iris(self, rgb: np.ndarray, face: MeshFace) -> MeshFace:
        """Add the iris points and refine the mesh's eye regions (step 4)."""
        if self._iris is not None:
            face.iris = self._iris.both(rgb, face.mesh)
        return face

    def predict(self, rgb: np.ndarray, box: np.ndarray) -> np.ndarray:
        return self.fit(rgb, roi_from_box(box)).landmarks68
