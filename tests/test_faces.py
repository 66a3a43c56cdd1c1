"""dfec.faces: dlib backends on real face images, and the aligned crop geometry."""
from __future__ import annotations

import conftest
import numpy as np
import pytest

from dfec.faces import FaceDetector, FaceEmbedder, LandmarkPredictor, align_face, alignment_matrix
from dfec.faces.align import LEFT_EYE, RIGHT_EYE, transform_points
from dfec.faces.models import MODEL_FILES, model_path

skimage_data = pytest.importorskip("skimage.data")
ASTRONAUT_FACE = np.array(conftest.ASTRONAUT_FACE)


@pytest.fixture(scope="module")
def backends():
    from dfec.faces.detector import HogDetector
    from dfec.faces.embedder import DlibResNetEmbedder
    from dfec.faces.landmarks import DlibLandmarks

    return HogDetector(upsample=0), DlibLandmarks(), DlibResNetEmbedder()


def _iou(a, b):
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_model_files_found_without_importing_the_package():
    import sys

    for name in MODEL_FILES:
        assert model_path(name).endswith(MODEL_FILES[name])
    assert "face_recognition_models" not in sys.modules  # its __init__ needs pkg_resources


def test_backends_follow_the_protocols(backends):
    det, lm, emb = backends
    assert isinstance(det, FaceDetector) and isinstance(lm, LandmarkPredictor) and isinstance(emb, FaceEmbedder)


def test_hog_finds_the_astronaut_face(backends, astronaut):
    det, lm, emb = backends
    found = det.detect(astronaut)
    best = max(found, key=lambda bs: _iou(bs[0], ASTRONAUT_FACE))
    assert _iou(best[0], ASTRONAUT_FACE) > 0.7 and 0.5 < best[1] < 1.0
    pts = lm.predict(astronaut, best[0])
    assert pts.shape == (68, 2)
    x1, y1, x2, y2 = best[0]
    inside = (pts[:, 0] >= x1 - 10) & (pts[:, 0] <= x2 + 10) & (pts[:, 1] >= y1 - 10) & (pts[:, 1] <= y2 + 15)
    assert inside.mean() > 0.95
    # anatomy: eyes above the nose tip (30) above the mouth (48-67) above the chin (8)
    assert pts[36:48, 1].mean() < pts[30, 1] < pts[48:68, 1].mean() < pts[8, 1]
    e = emb.embed(astronaut, best[0], pts)
    assert e.shape == (128,) and np.isfinite(e).all()


def test_downscaled_detection_maps_boxes_back(astronaut):
    from dfec.faces.detector import HogDetector

    big = np.kron(astronaut, np.ones((2, 2, 1), np.uint8))  # 1024 x 1024
    found = HogDetector(max_side=512).detect(big)
    assert max(_iou(b, 2 * ASTRONAUT_FACE) for b, _ in found) > 0.7


def test_region_detection_matches_full_frame(backends, astronaut):
    from dfec.faces.detector import detect_in_regions, nms

    det = backends[0]
    found = detect_in_regions(det, astronaut, [ASTRONAUT_FACE.astype(float)], expand=0.75, face_px=100)
    assert len(found) == 1 and _iou(found[0][0], ASTRONAUT_FACE) > 0.6
    b = np.array([0.0, 0, 10, 10])
    kept = nms([(b, 0.6), (b + 1, 0.9), (b + 50, 0.7)])
    assert [s for _, s in kept] == [0.9, 0.7]


@pytest.mark.parametrize("other_face", ["two_people", "grace_hopper"])
def test_embeddings_separate_identities(backends, astronaut, request, other_face):
    """Same face (shifted and rescaled) is far closer than a different person's face (from
    ../shared/data/two_people.jpg, or matplotlib's bundled Grace Hopper portrait, which needs no
    shared media)."""
    import skimage.io
    import skimage.transform

    det, lm, emb = backends
    if other_face == "two_people":
        other = skimage.io.imread(request.getfixturevalue("shared_data") / "two_people.jpg")[0:300, 700:1040]
    else:
        import matplotlib.cbook
        from PIL import Image

        with Image.open(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)) as im:
            other = np.asarray(im.convert("RGB"))

    def one(img):
        box = max(det.detect(img), key=lambda bs: bs[1])[0]
        return emb.embed(img, box, lm.predict(img, box))

    a = one(astronaut)
    a2 = one((skimage.transform.rescale(astronaut, 0.8, channel_axis=2) * 255).astype(np.uint8))
    b = one(np.ascontiguousarray(other))
    cos = lambda u, v: float(u @ v / np.linalg.norm(u) / np.linalg.norm(v))  # noqa: E731
    assert 1 - cos(a, a2) < 0.05
    assert 1 - cos(a, b) > 0.1


def test_align_face_levels_the_eyes():
    rng = np.random.default_rng(0)
    # a synthetic landmark set: eyes at y=100, rotated by 20 degrees about (150, 150)
    base = np.zeros((68, 2))
    base[:, 0] = np.linspace(80, 220, 68)
    base[:, 1] = 100 + 80 * np.sin(np.linspace(0, np.pi, 68))
    base[LEFT_EYE] = [110, 100] + rng.normal(0, 1, (6, 2))
    base[RIGHT_EYE] = [190, 100] + rng.normal(0, 1, (6, 2))
    th = np.deg2rad(20)
    rot = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    pts = (base - 150) @ rot.T + 150
    m = alignment_matrix(pts, size=224, margin=0.08)
    out = transform_points(pts, m)
    le, re = out[LEFT_EYE].mean(0), out[RIGHT_EYE].mean(0)
    assert abs(le[1] - re[1]) < 1e-6 and le[0] < re[0]
    # the landmark box fills the crop up to the margin on its longest side
    span = out.max(0) - out.min(0)
    assert span.max() == pytest.approx(224 / 1.16, rel=1e-6)
    assert out.min() >= 224 * 0.08 / 1.16 - 1e-6 and out.max() <= 224 - 224 * 0.08 / 1.16 + 1e-6
    img = rng.integers(0, 255, (300, 300, 3), dtype=np.uint8)
    crop = align_face(img, pts, size=112)
    assert crop.shape == (112, 112, 3) and crop.dtype == np.uint8
    with pytest.raises(ValueError):
        align_face(img, pts[:5])


def test_align_real_face_crop(backends, astronaut):
    det, lm, _ = backends
    box = det.detect(astronaut)[0][0]
    crop = align_face(astronaut, lm.predict(astronaut, box), size=224, margin=0.08)
    assert crop.shape == (224, 224, 3)
    # the crop is a face: HOG finds a face covering most of it
    found = det.detect(crop)
    assert found and max((b[2] - b[0]) for b, _ in found) > 224 * 0.5


def test_cnn_detector_option(astronaut):
    from dfec.faces.detector import CnnDetector, HogDetector, make_detector

    crop = np.ascontiguousarray(astronaut[20:276, 100:356])  # 256 x 256 around the face
    found = CnnDetector(max_side=None).detect(crop)
    assert len(found) == 1
    assert _iou(found[0][0], ASTRONAUT_FACE - [100, 20, 100, 20]) > 0.6 and 0.5 < found[0][1] < 1
    assert isinstance(make_detector("hog"), HogDetector) and isinstance(make_detector("cnn"), CnnDetector)
    with pytest.raises(ValueError):
        make_detector("retinaface")
