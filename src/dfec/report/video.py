"""How the report gets its video: embedded in the page, or referenced by a relative path.

``auto`` (the default) embeds a video up to :data:`EMBED_LIMIT_MB` (the page then opens anywhere,
offline, on its own) and links a larger one by its path relative to the report (it opens from
disk as long as the two keep their places). A video whose codec browsers do not play (anything but
H.264, VP8, VP9 and AV1 in MP4/WebM/MOV) is first re-encoded to H.264 (``report_video.mp4``, in
display orientation, without sound) beside the report.
"""
from __future__ import annotations

import base64
import os
from pathlib import Path
from urllib.parse import quote

from ..errors import DfecError

EMBED_LIMIT_MB = 40.0
MODES = ("auto", "embed", "link")
_PLAYABLE_CODECS = {"h264", "vp8", "vp9", "av1"}
_PLAYABLE_CONTAINERS = {".mp4", ".m4v", ".mov", ".webm"}
_MIME = {".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/mp4", ".webm": "video/webm"}


def find_video(recorded: str | None, out_dir: Path, given: str | Path | None = None) -> Path | None:
    """The video file: ``given``, else the path recorded in tracks.json/events.json as written
    (relative to the working folder the command ran in), or relative to the output folder."""
    if given:
        p = Path(given)
        if not p.is_file():
            raise DfecError("no such video file", p)
        return p
    if not recorded:
        return None
    for p in (Path(recorded), out_dir / recorded, out_dir / Path(recorded).name):
        if p.is_file():
            return p
    return None


def _codec_and_start(path: Path) -> tuple[str | None, float]:
    """The video codec's name and the time stamp (s) of the first video frame.

    dfec counts time from the first video frame (:mod:`dfec.video.reader`); a browser's
    ``currentTime`` is the frame's own time stamp, which is later when the container starts the
    video after another stream (an audio track that begins first). The page adds this offset."""
    try:
        import av

        with av.open(str(path)) as c:
            s = next((s for s in c.streams if s.type == "video"), None)
            if s is None:
                return None, 0.0
            start = 0.0
            for frame in c.decode(s):
                start = float(frame.time or 0.0)
                break
            return s.codec_context.name, max(0.0, start)
    except Exception:  # undecodable: the page says the video could not be loaded
        return None, 0.0


def transcode(path: Path, dest: Path) -> Path:
    """Re-encode ``path`` to H.264 MP4 at its own frame rate, in display orientation."""
    from ..video.reader import iter_frames, probe
    from ..video.writer import write_video

    fps = probe(path).fps or 25.0
    return write_video(dest, (rgb for _, _, rgb in iter_frames(path, fps=None)), fps=fps)


def video_source(video: Path | None, report_dir: Path, mode: str = "auto",
                 embed_limit_mb: float = EMBED_LIMIT_MB) -> dict:
    """``{"mode": "embed"|"link"|"none", "src" (link), "data" (base64, embed), "mime", "name",
    "offset"}``; ``offset`` is the media time (s) of dfec's t = 0."""
    if mode not in MODES:
        raise DfecError(f"unknown video mode '{mode}' (choose from {', '.join(MODES)})")
    if video is None:
        return {"mode": "none", "name": ""}
    name = video.name
    codec, offset = _codec_and_start(video)
    if video.suffix.lower() not in _PLAYABLE_CONTAINERS or codec not in _PLAYABLE_CODECS:
        video, offset = transcode(video, report_dir / "report_video.mp4"), 0.0
    size_mb = video.stat().st_size / 1e6
    mime = _MIME.get(video.suffix.lower(), "video/mp4")
    if mode == "embed" or (mode == "auto" and size_mb <= embed_limit_mb):
        return {"mode": "embed", "mime": mime, "name": name, "offset": round(offset, 4),
                "data": base64.b64encode(video.read_bytes()).decode("ascii")}
    rel = os.path.relpath(video.resolve(), report_dir.resolve())
    return {"mode": "link", "src": quote(Path(rel).as_posix()), "mime": mime, "name": name, "offset": round(offset, 4)}
