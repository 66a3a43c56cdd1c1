"""What a report shows, gathered from one output folder into one JSON-ready dict.

Inputs (all optional except that at least one must be there): ``tracks.json`` (face tracking
module: every track's boxes and 68 landmarks per 16-fps frame, A_k and S_k of Eq. 3, the
main-character rule), ``events.json`` (landmark captioner: caption, caption events, the full event
timeline and the per-frame signals) and ``caption.txt`` (any captioner, e.g. FaceTrack-MM).

Caption clauses are linked to the events they came from. A captioner that writes
``clauses: [{"text", "events": [indices into "events"]}]`` in ``events.json`` is used as is (the
caption is the clause texts joined with spaces). Without it, the landmark captioner's documented
contract is used: ``events`` are in caption order and each ``Event.text`` is its clause verbatim,
so the clause is found in the caption text; if any clause cannot be found in order, the caption
is shown unlinked rather than linked by guesswork.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DfecError
from ..userfiles import read_json


def _r(v: Any, nd: int = 2) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return round(f, nd) if math.isfinite(f) else None


def load_folder(out_dir: str | Path) -> dict:
    """The raw files of an output folder: ``{"tracks", "events", "caption"}`` (None when absent)."""
    out = Path(out_dir)
    if not out.is_dir():
        raise DfecError("no such folder", out)
    tracks = events = None
    if (out / "tracks.json").is_file():
        from ..schema import TrackingResult

        tracks = TrackingResult.load(out / "tracks.json")
    if (out / "events.json").is_file():
        events = read_json(out / "events.json", "events.json", allow_nonfinite=True)  # our own output, like tracks.json
        if not isinstance(events, dict):
            raise DfecError("not an events.json file (expected a JSON object)", out / "events.json")
        for key in ("events", "clauses", "timeline"):
            value = events.get(key)
            if value is not None and not (isinstance(value, list) and all(isinstance(x, dict) for x in value)):
                raise DfecError(f"not an events.json file ({key!r} must be a list of objects, got "
                                f"{type(value).__name__})", out / "events.json")
    caption = None
    if (out / "caption.txt").is_file():
        caption = (out / "caption.txt").read_text(encoding="utf-8", errors="replace").strip()
    if tracks is None and events is None and caption is None:
        raise DfecError("no tracks.json, events.json or caption.txt here (run `dfec track` or `dfec caption` first)",
                        out)
    return {"tracks": tracks, "events": events, "caption": caption}


# ------------------------------------------------------------------------------------ tracks
def overlay_payload(tracking) -> dict:
    """Per-frame boxes and landmarks of every track, rounded to 0.1 px (drawn over the video)."""
    tracks = []
    for t in tracking.tracks:
        tracks.append({
            "id": int(t.track_id),
            "main": bool(t.is_main),
            "frames": [int(f) for f in t.frames],
            "boxes": [[round(float(v), 1) for v in b] for b in t.boxes],
            # flat [x0, y0, x1, y1, ...] per frame keeps the page small
            "landmarks": [[round(float(v), 1) for v in lm.reshape(-1)] for lm in t.landmarks],
            "interpolated": [bool(v) for v in t.interpolated],
        })
    return {"fps": float(tracking.fps or 16.0), "frame_size": [int(v) for v in tracking.frame_size],
            "n_frames": int(tracking.n_frames), "tracks": tracks}


def track_summary(tracking) -> dict:
    """Every track with A_k (mean face area), S_k (mean identity similarity) and the rule used."""
    fps = float(tracking.fps or 16.0)
    main = tracking.main_track
    rows = []
    for t in sorted(tracking.tracks, key=lambda t: (not t.is_main, t.track_id)):
        detected = sum(1 for v in t.interpolated if not v)
        rows.append({
            "id": int(t.track_id), "main": bool(t.is_main),
            "shown": main is not None and t.track_id == main.track_id,
            "n_frames": len(t.frames), "n_detected": detected,
            "start": _r(t.frames[0] / fps) if t.frames else None,
            "end": _r((t.frames[-1] + 1) / fps) if t.frames else None,
            "mean_area": _r(t.mean_area, 1), "mean_similarity": _r(t.mean_similarity, 3),
        })
    return {"rule": tracking.selection_rule or "", "tracks": rows,
            "selected_frames": [int(f) for f in tracking.selected_frames]}


# ------------------------------------------------------------------------------------ signals
def lanes_payload(signals: dict | None, voice_active: float | None = None) -> list[dict]:
    """The timeline lanes from ``events.json["signals"]``: the panels of timeline.png
    (:mod:`dfec.dynamics.panels`), values as drawn there. A lane scales to its own values unless
    it gives a fixed ``range`` [lo, hi]; the sound lane does (the voice score, 0-1) and gives its
    ``threshold``, the score at which a frame is voiced (``voice_active``: the captioner's
    ``voice_active_score``, :data:`~dfec.dynamics.panels.VOICE_ACTIVE` when not given)."""
    if not signals or not signals.get("times"):
        return []
    from ..dynamics.panels import VOICE_ACTIVE, panels_for
    from ..dynamics.signals import NORMALISATION

    values, neutral = signals.get("values") or {}, signals.get("neutral") or {}
    lanes = []
    for region, title, series in panels_for(values):
        out = []
        for name, label, as_dev in series:
            v = values.get(name)
            if v is None:
                continue
            m = neutral.get(name)
            ys = []
            for x in v:
                if x is None or (as_dev and m is None):
                    ys.append(None)
                elif not as_dev:
                    ys.append(_r(x, 4))
                elif NORMALISATION.get(name) == "relative":
                    ys.append(_r((x - m) / max(abs(m), 1e-6), 4))
                else:
                    ys.append(_r(x - m, 4))
            out.append({"name": name, "label": label, "y": ys})
        lanes.append({"region": region, "title": title, "series": out})
    voice = signals.get("voice")
    if voice and voice.get("score"):
        lanes.append({"region": "sound", "title": f"voice score of the sound (noise floor {voice.get('floor_db')} dBFS)",
                      "series": [{"name": "voice", "label": "voice score",
                                  "y": [None if x is None else _r(x, 3) for x in voice["score"]]}],
                      "range": [0.0, 1.0], "threshold": VOICE_ACTIVE if voice_active is None else float(voice_active)})
    return lanes


# ------------------------------------------------------------------------------------ events
def _event(e: dict, in_caption: bool) -> dict:
    return {"kind": str(e.get("kind", "")), "start": _r(e.get("start"), 4) or 0.0,
            "end": _r(e.get("end"), 4) or _r(e.get("start"), 4) or 0.0, "region": str(e.get("region") or ""),
            "text": str(e.get("text") or ""), "intensity": _r(e.get("intensity"), 3), "in_caption": in_caption}


def events_payload(ev: dict) -> list[dict]:
    """The caption's events (indices 0..n-1, the order clauses refer to) followed by the detected
    timeline events that no caption event covers (left out by the per-phase clause limit)."""
    caption_events = [_event(e, True) for e in ev.get("events") or [] if isinstance(e, dict)]
    for i, e in enumerate(caption_events):
        e["index"] = i
    extra = []
    for e in ev.get("timeline") or []:
        if not isinstance(e, dict):
            continue
        x = _event(e, False)
        covered = any(c["kind"] == x["kind"] and c["start"] - 1e-6 <= x["start"] <= c["end"] + 1e-6
                      for c in caption_events)
        if not covered:
            x["index"] = len(caption_events) + len(extra)
            extra.append(x)
    return caption_events + extra


def _link_by_clauses(caption: str, clauses: list, n: int) -> list[dict] | None:
    """Segments from the ``clauses`` contract, or None when a clause is not found (in order) in the
    caption: the texts between and after clauses are kept as unlinked segments, nothing is invented."""
    segs, pos = [], 0
    for c in clauses:
        if not isinstance(c, dict) or not isinstance(c.get("text"), str) or not c["text"]:
            continue
        j = caption.find(c["text"], pos) if caption else -1
        if j < 0:
            return None
        if j > pos:  # the caption's own separators (spaces, paragraph newlines) between clauses
            segs.append({"text": caption[pos:j], "events": []})
        idx = [int(i) for i in c.get("events") or [] if isinstance(i, int) and 0 <= i < n]
        segs.append({"text": c["text"], "events": idx})
        pos = j + len(c["text"])
    if not segs:
        return None
    if pos < len(caption):  # text after the last clause (e.g. an "Overall ..." paragraph)
        segs.append({"text": caption[pos:], "events": []})
    return segs


def link_clauses(caption: str, ev: dict | None) -> tuple[list[dict], str]:
    """Caption segments ``[{"text", "events": [indices]}]`` whose texts concatenate exactly to the
    shown caption, and how they were linked: "clauses" (the ``clauses`` contract, when every clause
    is found in order in the caption), else "event-text" (each event's verbatim text), else "unlinked"."""
    if ev and isinstance(ev.get("clauses"), list) and ev["clauses"]:
        segs = _link_by_clauses(caption, ev["clauses"], len(ev.get("events") or []))
        if segs:
            return segs, "clauses"
    events = (ev or {}).get("events") or []
    texts = [str(e.get("text") or "") for e in events if isinstance(e, dict)]
    if caption and texts and all(texts):
        segs, pos = [], 0
        for i, t in enumerate(texts):
            j = caption.find(t, pos)
            if j < 0:
                break
            if j > pos:
                segs.append({"text": caption[pos:j], "events": []})
            segs.append({"text": t, "events": [i]})
            pos = j + len(t)
        else:
            if pos < len(caption):
                segs.append({"text": caption[pos:], "events": []})
            return segs, "event-text"
    return ([{"text": caption, "events": []}] if caption else []), "unlinked"


def masks_payload(signals: dict | None) -> dict:
    """The spans the captioner read nothing across, from ``events.json["signals"]``, as drawn on
    timeline.png (:func:`dfec.dynamics.plot.timeline_figure`): ``mouth_hidden``, the (start, end)
    seconds of the frames whose mouth was hidden (``mouth_occluded``: no mouth movement is read
    there), hatched on the mouth lanes; ``shot_changes``, the tracker's cuts and dissolves (no head
    movement is read across one), dark on every lane, each at least one frame wide."""
    out: dict = {"mouth_hidden": [], "shot_changes": []}
    if not isinstance(signals, dict) or not isinstance(signals.get("times"), list) or not signals["times"]:
        return out
    from ..video.audio import mask_runs

    times = np.asarray([t if isinstance(t, (int, float)) else np.nan for t in signals["times"]], float)
    fps = signals.get("fps")
    if isinstance(fps, (int, float)) and not isinstance(fps, bool) and np.isfinite(fps) and fps > 0:
        step = 1.0 / float(fps)
    else:
        gaps = np.diff(times)
        gaps = gaps[np.isfinite(gaps) & (gaps > 0)]
        step = float(np.median(gaps)) if len(gaps) else 1.0 / 16.0
    occ = signals.get("mouth_occluded")
    if (isinstance(occ, list) and len(occ) == len(times) and np.isfinite(times).all()
            and all(isinstance(x, (bool, int, float)) for x in occ)):
        out["mouth_hidden"] = [[_r(a, 4), _r(b, 4)] for a, b in mask_runs(np.asarray(occ, float) > 0, times)]
    changes = signals.get("shot_changes")
    for span in changes if isinstance(changes, list) else []:
        if isinstance(span, (list, tuple)) and len(span) == 2 and all(
                isinstance(x, (int, float)) and math.isfinite(x) for x in span):
            a, b = float(span[0]), float(span[1])
            out["shot_changes"].append([_r(a, 4), _r(max(b, a + step), 4)])
    return out


# ------------------------------------------------------------------------------------ all
def build_payload(folder: dict, video: dict) -> dict:
    """The JSON the page's script reads (``video`` is the :func:`dfec.report.video.video_source`
    description without the bytes)."""
    tracking, ev = folder["tracks"], folder["events"]
    caption = (ev or {}).get("caption") or folder["caption"] or ""
    if not caption and ev and isinstance(ev.get("clauses"), list) and ev["clauses"]:
        caption = " ".join(str(c.get("text", "")) for c in ev["clauses"] if isinstance(c, dict))
    segments, link_mode = link_clauses(caption, ev)
    duration = (ev or {}).get("duration") or (tracking.duration if tracking is not None else None) \
        or video.get("duration") or 0.0
    signals = (ev or {}).get("signals")
    active = ((ev or {}).get("config") or {}).get("voice_active_score")
    return {
        "title": Path(str(video.get("name") or (tracking.video if tracking else "") or "video")).name,
        "video": {k: v for k, v in video.items() if k != "data"},
        "duration": _r(duration, 4) or 0.0,
        "overlay": overlay_payload(tracking) if tracking is not None else None,
        "tracks": track_summary(tracking) if tracking is not None else None,
        "main_track": (ev or {}).get("main_track"),
        "lanes": lanes_payload(signals, active if isinstance(active, (int, float)) else None),
        "masks": masks_payload(signals),
        "times": [_r(t, 4) for t in (signals or {}).get("times") or []],
        "segments_bounds": list(((ev or {}).get("config") or {}).get("segments") or []),
        "events": events_payload(ev) if ev else [],
        "caption": caption,
        "clauses": segments,
        "link_mode": link_mode,
        "has_events": ev is not None,
    }


def payload_json(payload: dict) -> str:
    """JSON safe to place inside a ``<script>`` element."""
    return json.dumps(payload, separators=(",", ":")).replace("</", "<\\/")
