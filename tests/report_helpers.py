"""Test helpers shared by the report, browser and demo tests (not a test module)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from dfec.dynamics.synthetic import bump, sequence
from dfec.video import write_video

FPS = 16.0


def synthetic_folder(tmp_path: Path, duration: float = 3.0, lead_in: float = 0.75) -> tuple[Path, Path]:
    """A drawn face video (white landmark dots on grey) and its caption output folder.

    The face is absent for the first ``lead_in`` seconds (no track there), blinks at 1.25 s and
    turns its head from 1.8 s; ``tracks.json`` holds the exact landmarks that were drawn, so an
    overlay drawn from it must land on the dots.
    """
    import cv2

    from dfec.dynamics.captioner import caption_video

    tr = sequence(duration, fps=FPS, frame_size=(320, 240),
                  eyes=lambda t: 1 - bump(t, 1.25, 1.4, 0.06), yaw=lambda t: 25 * bump(t, 1.8, 2.6, 0.3))
    t = tr.tracks[0]
    keep = [i for i, f in enumerate(t.frames) if f / FPS >= lead_in]
    t.frames = [t.frames[i] for i in keep]
    t.boxes, t.landmarks, t.scores = t.boxes[keep], t.landmarks[keep], t.scores[keep]
    t.interpolated = [False] * len(keep)
    t.mean_area, t.mean_similarity = 5000.0, 0.95
    frames = []
    for k in range(tr.n_frames):
        img = np.full((240, 320, 3), 70, np.uint8)
        i = t.index_of(k)
        if i is not None:
            for x, y in t.landmarks[i]:
                cv2.circle(img, (int(round(x)), int(round(y))), 2, (255, 255, 255), -1)
        cv2.putText(img, f"{k / FPS:.2f}", (4, 230), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (200, 200, 0), 1)
        frames.append(img)
    video = write_video(tmp_path / "face.mp4", frames, fps=FPS)
    out = tmp_path / "out"
    out.mkdir()
    tr.video = str(video)
    tr.save(out / "tracks.json")
    caption_video(video, out_dir=out, tracking=tr)
    return video, out


def page_data(html: str) -> dict:
    """The JSON a report page carries in its #dfec-data script."""
    start = html.index('<script id="dfec-data" type="application/json">') + len('<script id="dfec-data" type="application/json">')
    return json.loads(html[start:html.index("</script>", start)])


class TrackingEchoCaptioner:
    """A registry plug-in (``report_helpers:TrackingEchoCaptioner``) whose caption says what it was given."""

    name = "echo"

    def __init__(self, options=None):
        self.options = options

    def check(self) -> None:
        from dfec.errors import MissingDependencyError

        if not (self.options and self.options.extra.get("ready")):
            raise MissingDependencyError("the echo captioner's 'ready' option", "pass --opt ready=true")

    def caption(self, video, tracking=None):
        main = tracking.main_track if tracking is not None else None
        return f"Echo of {Path(video).name}: main track {main.track_id if main else None}, {getattr(tracking, 'n_frames', 0)} frames."
