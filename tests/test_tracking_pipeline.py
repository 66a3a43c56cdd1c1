"""The face tracking module end to end: synthetic clips built from real face photos, the real
test clips, the outputs on disk, and the ``dfec track`` command on good and bad input."""
from __future__ import annotations

import json

import numpy as np
import pytest

from dfec.cli import main
from dfec.schema import TrackingResult
from dfec.tracking.config import TrackConfig
from dfec.tracking.pipeline import track
from dfec.video import write_video

skimage_data = pytest.importorskip("skimage.data")
W, H, N = 640, 360, 32  # 2 s at 16 fps


# --------------------------------------------------------------------------- scene helpers
def face_sprite(img, box, face_px, margin=0.3):
    """A face cut from ``img`` around ``box``, scaled so the face is ``face_px`` tall, with a soft
    elliptical alpha mask."""
    import skimage.transform

    x1, y1, x2, y2 = box
    m = margin * (y2 - y1)
    cx1, cy1 = int(max(0, x1 - m)), int(max(0, y1 - 1.3 * m))
    cx2, cy2 = int(min(img.shape[1], x2 + m)), int(min(img.shape[0], y2 + m))
    crop = skimage.transform.rescale(img[cy1:cy2, cx1:cx2], face_px / float(y2 - y1), channel_axis=2,
                                     anti_aliasing=True)
    h, w = crop.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    r = ((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2
    alpha = np.clip((1.0 - r) / 0.15, 0, 1)[..., None]
    return (crop * 255).astype(np.float32), alpha.astype(np.float32)


def background():
    yy, xx = np.mgrid[0:H, 0:W]
    g = 90 + 60 * xx / W + 30 * yy / H
    return np.stack([g, g * 0.95, g * 0.85], -1).astype(np.float32)


def paste(frame, sprite, cx, cy):
    img, a = sprite
    h, w = img.shape[:2]
    x0, y0 = int(round(cx - w / 2)), int(round(cy - h / 2))
    fx0, fy0, fx1, fy1 = max(0, x0), max(0, y0), min(W, x0 + w), min(H, y0 + h)
    if fx1 > fx0 and fy1 > fy0:
        sub = (slice(fy0 - y0, fy1 - y0), slice(fx0 - x0, fx1 - x0))
        frame[fy0:fy1, fx0:fx1] = a[sub] * img[sub] + (1 - a[sub]) * frame[fy0:fy1, fx0:fx1]


def render(path, placements):
    """``placements(i)`` -> list of (sprite, cx, cy) drawn in order (later ones in front)."""
    frames = []
    for i in range(N):
        f = background()
        for sprite, cx, cy in placements(i):
            paste(f, sprite, cx, cy)
        frames.append(np.clip(f, 0, 255).astype(np.uint8))
    return write_video(path, frames, fps=16)


@pytest.fixture(scope="module")
def astronaut_big():
    return face_sprite(skimage_data.astronaut(), (175, 76, 265, 166), 130)


@pytest.fixture(scope="module")
def astronaut_small():
    return face_sprite(skimage_data.astronaut(), (175, 76, 265, 166), 92)


def _centre_x(track, i):
    return 0.5 * (track.boxes[i, 0] + track.boxes[i, 2])


def _observed(track):
    return [i for i, v in enumerate(track.interpolated) if not v]


# --------------------------------------------------------------------------- synthetic clips
def bx(i):
    """x centre of the crossing face B in frame i."""
    return 80 + (560 - 80) * i / (N - 1)


def grace_hopper():
    """matplotlib's bundled portrait of Grace Hopper (600x512): a second real face that needs
    nothing outside the installed packages."""
    import matplotlib.cbook
    from PIL import Image

    with Image.open(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)) as im:
        return np.asarray(im.convert("RGB"))


@pytest.fixture(scope="module", params=["two_people", "grace_hopper"])
def crossing_video(request, tmp_path_factory, astronaut_big):
    """Face B (a real photo, smaller: from ../shared/data/two_people.jpg, or matplotlib's Grace
    Hopper so the test also runs without the shared media) walks across in front of face A (the
    astronaut, larger and steady), hiding it for about a dozen frames."""
    if request.param == "two_people":
        import skimage.io

        shared_data = request.getfixturevalue("shared_data")
        b_sprite = face_sprite(skimage.io.imread(shared_data / "two_people.jpg"), (778, 57, 964, 242), 95)
    else:
        b_sprite = face_sprite(grace_hopper(), (161, 137, 377, 353), 95)
    return render(tmp_path_factory.mktemp("cross") / f"cross_{request.param}.mp4",
                  lambda i: [(astronaut_big, 320 + 2 * np.sin(i), 170), (b_sprite, bx(i), 200)])


def test_crossing_faces_keep_identity_and_the_steady_one_is_main(tmp_path, crossing_video):
    """Both ids survive the crossing and A, the larger steady face, is the main character."""
    video = crossing_video
    out = tmp_path / "out"
    res = track(video, n_frames=16, out_dir=out)
    assert res.n_frames == N and res.fps == 16 and res.frame_size == (W, H)
    assert len(res.tracks) == 2, [t.frames for t in res.tracks]
    a, b = sorted(res.tracks, key=lambda t: abs(_centre_x(t, _observed(t)[0]) - 320))
    # A: every detection near x = 320, before and after B passes; B: always moving right
    assert all(abs(_centre_x(a, i) - 320) < 40 for i in _observed(a))
    obs_a = [a.frames[i] for i in _observed(a)]
    assert min(obs_a) <= 3 and max(obs_a) >= N - 4  # the same id before and after the crossing
    xb = [_centre_x(b, i) for i in _observed(b)]
    assert len(xb) >= N - 4 and np.all(np.diff(xb) > 0)
    for i in _observed(b):
        assert abs(_centre_x(b, i) - bx(b.frames[i])) < 30
    # main character: the larger, steady face
    assert a.is_main and not b.is_main and res.main_track is a
    assert res.selection_rule == "two-tracks-larger-area"
    assert a.mean_area > b.mean_area and 0.9 < a.mean_similarity <= 1.0
    # outputs
    assert len(res.selected_frames) == 16
    assert all(res.selected_frames[i] in obs_a for i in range(16))  # occluded frames were replaced
    loaded = TrackingResult.load(out / "tracks.json")
    assert [t.track_id for t in loaded.tracks] == [t.track_id for t in res.tracks]
    assert loaded.selected_frames == res.selected_frames and loaded.selection_rule == res.selection_rule
    cfg = json.loads((out / "tracks.json").read_text())["config"]
    assert cfg["ema_alpha"] == 0.9 and cfg["mc_lambda"] == 0.98
    assert len(res.crops) == 16 and all(p.endswith(".png") for p in res.crops)
    from PIL import Image

    assert res.crops[0].startswith("faces/")  # relative to the folder holding tracks.json
    assert Image.open(out / res.crops[0]).size == (224, 224)
    sheet = Image.open(out / "contact_sheet.png")
    assert sheet.size[0] == 4 * 320 and sheet.size[1] > 0


def test_linking_rejoins_a_face_lost_longer_than_max_age(crossing_video):
    """With max_age = 3 the hidden face A comes back as a new tracklet; linking joins the two
    pieces (and without linking, A would be split and K-means would be misled). Either link does
    it alone: by appearance, or by motion (A comes back where it was, in the same shot)."""
    res = track(crossing_video, n_frames=16, max_age=3)
    assert len(res.tracks) == 2
    a = res.main_track
    assert a.frames == list(range(N)) and sum(a.interpolated) >= 5
    for kw in ({"link_max_distance": 0.0}, {"link_motion_gap": 0}):
        one = track(crossing_video, n_frames=16, max_age=3, **kw)
        assert len(one.tracks) == 2 and one.main_track.frames == list(range(N))
    split = track(crossing_video, n_frames=16, max_age=3, link_max_distance=0.0, link_motion_gap=0)
    assert len(split.tracks) == 3


def test_largest_steady_face_wins_kmeans_with_three_tracks(tmp_path, astronaut_big, astronaut_small):
    """One large steady face and two smaller moving ones: three tracks, K-means on (A, S)."""
    def place(i):
        return [(astronaut_big, 320, 180), (astronaut_small, 85, 120 + 2 * i), (astronaut_small, 560, 250 - 2 * i)]

    res = track(render(tmp_path / "three.mp4", place), n_frames=8)
    assert len(res.tracks) == 3
    assert res.selection_rule == "kmeans"
    main = res.main_tracks
    assert len(main) == 1 and abs(_centre_x(main[0], 0) - 320) < 30
    assert len(main[0]) == N
    assert res.selected_frames == [2, 6, 10, 14, 18, 22, 26, 30]


def test_single_moving_face(tmp_path, astronaut_big):
    import dfec

    res = dfec.track(render(tmp_path / "one.mp4", lambda i: [(astronaut_big, 150 + 10 * i, 180)]), n_frames=16)
    assert len(res.tracks) == 1 and res.selection_rule == "single-track"
    t = res.main_track
    assert len(t) == N and t.landmarks.shape == (N, 68, 2)
    xs = [_centre_x(t, i) for i in range(N)]
    assert np.all(np.diff(xs) > 0)


# --------------------------------------------------------------------------- real clips
def _landmarks_on_face(t, tol=0.2):
    """Share of landmark sets lying inside their face box grown by ``tol`` on each side."""
    ok = 0
    for box, lm in zip(t.boxes, t.landmarks):
        x1, y1, x2, y2 = box
        dx, dy = tol * (x2 - x1), tol * (y2 - y1)
        ok += bool(np.all((lm[:, 0] >= x1 - dx) & (lm[:, 0] <= x2 + dx) & (lm[:, 1] >= y1 - dy) & (lm[:, 1] <= y2 + dy)))
    return ok / max(1, len(t))


def test_ravdess_clip_one_main_track(shared_data):
    res = track(shared_data / "01-01-08-02-01-01-19.mp4")
    assert res.n_frames == 65 and res.frame_size == (720, 720)
    assert len(res.main_tracks) == 1
    t = res.main_track
    assert len(t) >= 0.9 * res.n_frames
    assert t.landmarks.shape == (len(t), 68, 2)
    assert _landmarks_on_face(t) > 0.95
    assert t.mean_similarity > 0.9
    assert len(res.selected_frames) == 16


def test_hamilton_clip_one_main_performer(shared_data):
    """Shots (checked by eye): 0-10 the performer in a wide stage shot (face ~25 px), 11-43 the
    audience, 44-112 the performer in close-up, 113-146 the audience. The MediaPipe default
    finds the performer in the wide shot too; the tracklets end at each cut, so no audience face
    inherits his id, and the two shots of him are linked by appearance into one main track."""
    res = track(shared_data / "short_hamilton_clip.mp4")
    assert res.n_frames == 147
    assert len(res.main_tracks) == 1
    t = res.main_track
    observed = [f for f, i in zip(t.frames, t.interpolated) if not i]
    assert min(observed) <= 4 and 44 in observed and max(observed) <= 112
    assert sum(44 <= f <= 112 for f in observed) >= 0.95 * 69
    assert not any(11 < f < 44 for f in observed)  # the audience shot between is not him
    assert _landmarks_on_face(t) > 0.9
    assert np.isfinite(t.mesh[[t.frames.index(f) for f in observed]]).all()


def test_hamilton_clip_hog_option(shared_data):
    """``detector="hog"`` still runs dlib: frontal faces only, so the performer's track starts
    with the first close-up (about 2.75 s) and no track has a mesh."""
    res = track(shared_data / "short_hamilton_clip.mp4", detector="hog")
    t = res.main_track
    assert len(res.main_tracks) == 1 and len(t) >= 50
    assert 30 <= t.frames[0] <= 60
    assert all(np.isnan(tr.mesh).all() for tr in res.tracks)


# --------------------------------------------------------------------------- the command
def _cli(capsys, *argv, quiet=True):
    rc = main(["track", *map(str, argv), *(["-q"] if quiet else [])])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def test_cli_writes_outputs(tmp_path, capsys, astronaut_big):
    video = render(tmp_path / "one.mp4", lambda i: [(astronaut_big, 200 + 5 * i, 180)])
    rc, out, err = _cli(capsys, video, "--out", tmp_path / "o", "--frames", 8)
    assert rc == 0, err
    assert "main: track 1 on 32/32 frames (rule: single-track)" in out
    res = TrackingResult.load(tmp_path / "o" / "tracks.json")
    assert len(res.selected_frames) == 8 and len(list((tmp_path / "o" / "faces").glob("*.png"))) == 8
    assert (tmp_path / "o" / "contact_sheet.png").stat().st_size > 1000


def test_full_disk_is_one_line_and_leaves_no_open_temp_files(tmp_path, capsys, monkeypatch, astronaut_big):
    """ENOSPC while the per-frame rows are written: one line naming the output folder, exit 2,
    and the temporary row files are closed."""
    import errno

    from dfec.tracking import rows

    video = render(tmp_path / "one.mp4", lambda i: [(astronaut_big, 200 + 5 * i, 180)])
    closed, real_close = [], rows.RowSpill.close

    def full(self, det):
        raise OSError(errno.ENOSPC, "No space left on device")

    def close(self):
        closed.append(self)
        real_close(self)

    monkeypatch.setattr(rows.RowSpill, "keep", full)
    monkeypatch.setattr(rows.RowSpill, "close", close)
    rc, out, err = _cli(capsys, video, "--out", tmp_path / "o")
    assert rc == 2 and len(err.strip().splitlines()) == 1
    assert "no space left on the disk" in err and str(tmp_path / "o") in err
    assert len(closed) == 1 and closed[0]._lm.closed and closed[0]._mesh.closed


def test_rerun_into_a_folder_removes_the_previous_runs_crops(tmp_path, capsys, astronaut_big):
    video = render(tmp_path / "one.mp4", lambda i: [(astronaut_big, 200 + 5 * i, 180)])
    assert _cli(capsys, video, "--out", tmp_path / "o", "--frames", 8)[0] == 0
    assert _cli(capsys, video, "--out", tmp_path / "o", "--frames", 4)[0] == 0
    res = TrackingResult.load(tmp_path / "o" / "tracks.json")
    on_disk = sorted(p.relative_to(tmp_path / "o").as_posix() for p in (tmp_path / "o" / "faces").glob("*.png"))
    assert on_disk == sorted(res.crops) and len(on_disk) == 4


def test_cli_no_face_is_not_an_error(tmp_path, capsys):
    rng = np.random.default_rng(0)
    frames = [np.clip(background() + rng.normal(0, 8, (H, W, 3)), 0, 255).astype(np.uint8) for _ in range(20)]
    video = write_video(tmp_path / "empty_room.mp4", frames, fps=16)
    rc, out, err = _cli(capsys, video, "--out", tmp_path / "o")
    assert rc == 0, err
    assert "no face found" in out and "Traceback" not in err
    res = TrackingResult.load(tmp_path / "o" / "tracks.json")
    assert res.tracks == [] and res.selection_rule == "no-tracks" and res.crops == []
    assert res.n_frames == 20
    assert (tmp_path / "o" / "contact_sheet.png").is_file()
    # --json prints the result on stdout (summary moves to stderr); without -q a progress bar runs
    rc, out, err = _cli(capsys, video, "--json", quiet=False)
    assert rc == 0 and TrackingResult.from_json(json.loads(out)).n_frames == 20
    assert "no face found" in err and "frame" in err and "Traceback" not in err


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    good = write_video(d / "good.mp4", [np.full((64, 64, 3), 10 * k, np.uint8) for k in range(20)], fps=16)
    data = good.read_bytes()
    (d / "notes.mp4").write_text("not a video\n" * 50)
    (d / "empty.mp4").write_bytes(b"")
    (d / "truncated.mp4").write_bytes(data[: len(data) // 2])
    corrupt = bytearray(data)
    s, e = data.index(b"mdat") + 4, data.index(b"moov") - 4
    corrupt[s:e] = np.random.default_rng(0).integers(0, 256, e - s, dtype=np.uint8).tobytes()
    (d / "corrupt.mp4").write_bytes(bytes(corrupt))
    return d


@pytest.mark.parametrize("name,reason", [
    ("missing.mp4", "no such file"),
    ("notes.mp4", "not a readable video"),
    ("empty.mp4", "empty file (0 bytes)"),
    ("truncated.mp4", "not a readable video"),
    ("corrupt.mp4", "corrupt video: no frame could be decoded"),
])
def test_cli_bad_input_one_line(bad_inputs, capsys, name, reason):
    rc, out, err = _cli(capsys, bad_inputs / name)
    assert rc != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("dfec: error: ") and name in lines[0] and reason in lines[0]
    assert "Traceback" not in err


def test_cli_rejects_bad_options(capsys, bad_inputs):
    rc, _, err = _cli(capsys, bad_inputs / "good.mp4", "--frames", 0)
    assert rc != 0 and "--frames" in err and len(err.strip().splitlines()) == 1


def test_track_config_defaults_follow_the_paper_and_strongsort():
    c = TrackConfig()
    assert (c.fps, c.n_frames, c.kmeans_clusters) == (16.0, 16, 2)
    assert (c.ema_alpha, c.mc_lambda, c.max_age, c.n_init, c.max_iou_distance) == (0.9, 0.98, 30, 3, 0.7)
    assert c.gating_threshold == pytest.approx(9.4877) and c.gsi_max_gap == 20
    with pytest.raises(TypeError):
        track("x.mp4", not_a_field=1)
