"""The face tracking module on awkward real-world input: a portrait phone clip (display rotation),
a clip slower than 16 fps, clips of one or two frames, a small face in a 1080p frame, and the
``dfec track`` options that used to fail silently."""
from __future__ import annotations

import numpy as np
import pytest

from dfec.cli import main
from dfec.schema import Detection, TrackingResult
from dfec.tracking.config import TrackConfig
from dfec.tracking.pipeline import track
from dfec.video import probe, write_video

av = pytest.importorskip("av")
skimage_data = pytest.importorskip("skimage.data")
from test_tracking_pipeline import face_sprite  # noqa: E402  (tests/ is on sys.path)

ASTRONAUT_BOX = (175, 76, 265, 166)


def _scene(w, h, sprite, cx, cy):
    f = np.zeros((h, w, 3), np.float32)
    f[:] = (110, 105, 95)
    img, a = sprite
    sh, sw = img.shape[:2]
    x0, y0 = int(round(cx - sw / 2)), int(round(cy - sh / 2))
    f[y0:y0 + sh, x0:x0 + sw] = a * img + (1 - a) * f[y0:y0 + sh, x0:x0 + sw]
    return np.clip(f, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def face130():
    return face_sprite(skimage_data.astronaut(), ASTRONAUT_BOX, 130)


def test_portrait_phone_clip_is_tracked_upright(tmp_path, face130, capsys):
    """A phone clip stored landscape (640x360) with a -90 degree display matrix, as phones write
    portrait video: decoded as stored the face lies on its side and HOG finds nothing."""
    path = tmp_path / "phone.mp4"
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=30)
        s.width, s.height, s.pix_fmt = 640, 360, "yuv420p"
        s.set_display_rotation(-90)  # shown rotated 90 degrees clockwise
        for i in range(30):
            upright = _scene(360, 640, face130, 180, 300 + i)
            stored = np.ascontiguousarray(np.rot90(upright, 1))  # what the sensor wrote
            for p in s.encode(av.VideoFrame.from_ndarray(stored, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    info = probe(path)
    assert (info.width, info.height, info.rotation) == (360, 640, 270)
    rc = main(["track", str(path), "--out", str(tmp_path / "o"), "-q"])
    assert rc == 0, capsys.readouterr().err
    res = TrackingResult.load(tmp_path / "o" / "tracks.json")
    assert res.frame_size == (360, 640) and len(res.tracks) == 1
    t = res.tracks[0]
    assert len(t) == res.n_frames == 16
    lm = t.landmarks[0]
    assert lm[36:48, 1].mean() < lm[30, 1] < lm[8, 1]  # eyes above nose above chin: upright
    assert abs(0.5 * (t.boxes[0, 0] + t.boxes[0, 2]) - 180) < 25
    assert len(res.crops) == 16


def test_slow_source_keeps_the_16fps_clock(tmp_path, face130):
    """An 8 fps clip of 2 s: 32 analysis frames (each source frame twice), so frame index / 16 is
    the time in the video and ``duration`` is right; detection is not run twice on a repeat."""
    frames = [_scene(480, 320, face130, 150 + 12 * i, 160) for i in range(16)]
    res = track(write_video(tmp_path / "slow.mp4", frames, fps=8), n_frames=8)
    assert res.n_frames == 32 and res.duration == pytest.approx(2.0)
    t = res.main_track
    assert len(t) == 32
    x = 0.5 * (t.boxes[:, 0] + t.boxes[:, 2])
    # frame k shows source frame round(k / 2) (nearest, earlier on a tie): x ~ 150 + 12 * (k // 2)
    assert np.all(np.abs(x - (150 + 12 * (np.arange(32) // 2))) < 15)


@pytest.mark.parametrize("n_src,n_out", [(1, 1), (2, 2)])
def test_one_and_two_frame_clips_find_the_face(tmp_path, face130, n_src, n_out):
    """Shorter than n_init (3): a face seen in every frame still makes a track."""
    frames = [_scene(320, 240, face130, 160, 120)] * n_src
    res = track(write_video(tmp_path / "short.mp4", frames, fps=16), out_dir=tmp_path / "o")
    assert res.n_frames == n_out and len(res.tracks) == 1 and res.selection_rule == "single-track"
    assert res.main_track.landmarks.shape == (n_out, 68, 2) and len(res.crops) == n_out


def test_full_pass_on_a_large_frame_keeps_a_small_tracked_face():
    """A 110 px face in a 1920x1080 frame is below HOG's window once the frame is shrunk to 640 px;
    the whole-frame pass also searches around the tracked face at full resolution."""
    from dfec.faces.detector import HogDetector
    from dfec.tracking.pipeline import _detect
    from dfec.tracking.strongsort import StrongSort

    sprite = face_sprite(skimage_data.astronaut(), ASTRONAUT_BOX, 110)
    rgb = _scene(1920, 1080, sprite, 1200, 500)
    cfg = TrackConfig()
    det = HogDetector(max_side=cfg.detect_max_side)
    assert det.detect(rgb) == []  # the shrunk whole frame alone misses it
    tracker = StrongSort(TrackConfig(n_init=1))
    roi = _detect(det, rgb, 1, tracker, cfg)  # no track yet: whole frame
    assert roi == []
    box = np.array([1145.0, 445, 1255, 555])
    tracker.step(0, [Detection(0, box, 0.9)], lambda j: np.eye(128)[0])
    found = _detect(det, rgb, 4, tracker, cfg)  # frame 4: a whole-frame pass
    assert len(found) == 1
    x1, y1, x2, y2 = found[0][0]
    assert abs((x1 + x2) / 2 - 1200) < 20 and abs((y1 + y2) / 2 - 500) < 25


@pytest.mark.parametrize("opts,msg", [
    (["--max-side", "-5"], "--max-side must be 0"),
    (["--upsample", "9"], "--upsample must be between 0 and 3"),
    (["--frames", "-3"], "--frames must be at least 1"),
])
def test_cli_rejects_options_that_would_fail_silently(tmp_path, capsys, opts, msg):
    video = write_video(tmp_path / "v.mp4", [np.zeros((64, 64, 3), np.uint8)] * 4, fps=16)
    rc = main(["track", str(video), *opts, "-q"])
    err = capsys.readouterr().err
    assert rc != 0 and len(err.strip().splitlines()) == 1 and msg in err and "Traceback" not in err


def test_cli_out_is_an_existing_file(tmp_path, capsys):
    video = write_video(tmp_path / "v.mp4", [np.zeros((64, 64, 3), np.uint8)] * 4, fps=16)
    (tmp_path / "taken").write_text("x")
    rc = main(["track", str(video), "--out", str(tmp_path / "taken"), "-q"])
    err = capsys.readouterr().err.strip()
    assert rc != 0 and len(err.splitlines()) == 1
    assert err.startswith("dfec: error: ") and "taken" in err and "exists and is not a folder" in err
    rc = main(["track", str(video), "--out", str(tmp_path / "taken" / "sub"), "-q"])
    err = capsys.readouterr().err.strip()
    assert rc != 0 and len(err.splitlines()) == 1 and "cannot create output folder" in err


def test_no_face_in_a_large_frame_says_how_to_find_small_faces(tmp_path, capsys):
    video = write_video(tmp_path / "room.mp4", [np.full((720, 1280, 3), 90, np.uint8)] * 3, fps=16)
    assert main(["track", str(video), "-q"]) == 0
    out = capsys.readouterr().out
    assert "no face found" in out and "--max-side 0" in out
