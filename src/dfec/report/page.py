"""``report.html``: one self-contained page per output folder (no server, no network, no CDN).

The page holds its data as JSON (:mod:`.data`), its script and style inline (``assets/``), and
the video either embedded or linked relatively (:mod:`.video`), so it opens from disk offline.
"""
from __future__ import annotations

import html
from pathlib import Path

from .data import build_payload, load_folder, payload_json
from .video import EMBED_LIMIT_MB, find_video, video_source

ASSETS = Path(__file__).with_name("assets")

#: what each main-character rule of the face tracking module (paper Eq. 3) means
RULES = {
    "kmeans": "K-means (k = 2) on the standardised (A_k, S_k) of every track; the cluster with the larger "
              "mean area is the main character (paper Eq. 3)",
    "kmeans-degenerate": "every track has the same (A_k, S_k), so K-means cannot split them: all tracks are main",
    "two-tracks-larger-area": "two tracks: K-means puts one in each cluster, so the larger mean area A_k wins",
    "single-track": "only one face track: it is the main character",
    "no-tracks": "no face was tracked",
}


def _tracks_table(summary: dict | None) -> str:
    if not summary:
        return '<p class="note">No tracks.json in this folder: no face tracks to show.</p>'
    rule = summary["rule"] or "unknown"
    rows = []
    for t in summary["tracks"]:
        role = '<span class="badge main">main</span>' if t["main"] else '<span class="badge">other</span>'
        if t["shown"]:
            role += ' <span class="badge">drawn</span>'
        span = "-" if t["start"] is None else f"{t['start']:.2f}–{t['end']:.2f} s"
        area = "-" if t["mean_area"] is None else f"{t['mean_area']:.0f}"
        sim = "-" if t["mean_similarity"] is None else f"{t['mean_similarity']:.3f}"
        rows.append(
            f'<tr class="{"main" if t["main"] else ""}"><td>#{t["id"]}</td><td class="l">{role}</td>'
            f'<td>{t["n_detected"]} / {t["n_frames"]}</td><td>{span}</td>'
            f'<td>{area}</td><td>{sim}</td></tr>')
    return (f'<p>Main-character rule: <b>{html.escape(rule)}</b> — {html.escape(RULES.get(rule, "see dfec.tracking.selection"))}.</p>'
            '<table><thead><tr><th>track</th><th class="l">role</th><th>frames detected / tracked</th>'
            '<th>time</th><th>A<sub>k</sub> (px²)</th><th>S<sub>k</sub></th></tr></thead><tbody>'
            + "".join(rows) + "</tbody></table>"
            '<p class="note">A<sub>k</sub>: mean face-box area over the frames where the face was detected; '
            'S<sub>k</sub>: mean cosine similarity of the track\'s identity embeddings. Frames are counted at the '
            'analysis rate; "tracked" includes frames filled by gap interpolation (dashed box in the video).</p>')


def render(payload: dict, video: dict) -> str:
    """The complete HTML page for ``payload`` (:func:`.data.build_payload`) and its video source."""
    css = (ASSETS / "report.css").read_text(encoding="utf-8")
    js = (ASSETS / "report.js").read_text(encoding="utf-8")
    title = html.escape(payload["title"] or "video")
    meta = [f"{payload['duration']:.2f} s"]
    if payload["tracks"]:
        meta.append(f"{len(payload['tracks']['tracks'])} face track(s), main-character rule "
                    f"{html.escape(payload['tracks']['rule'] or '-')}")
    if payload["has_events"]:
        n_cap = sum(e["in_caption"] for e in payload["events"])
        meta.append(f"{n_cap} caption event(s), {len(payload['events']) - n_cap} more detected")
    if video.get("mode") == "link":
        meta.append(f"video linked: {html.escape(video['src'])}")
    blob = (f'<script id="dfec-video" type="application/octet-stream">{video["data"]}</script>'
            if video.get("mode") == "embed" else "")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>dfec report: {title}</title>
<style>{css}</style></head>
<body>
<header><h1>{title}</h1><div class="meta">{" · ".join(meta)}</div></header>
<div id="top">
  <section class="card" id="player">
    <div id="stage"><video id="video" controls playsinline preload="auto"></video><canvas id="overlay"></canvas>
      <div id="novideo"></div></div>
    <div class="controls">
      <label><input type="checkbox" id="show-box" checked> box</label>
      <label><input type="checkbox" id="show-landmarks" checked> landmarks</label>
      <label><input type="checkbox" id="show-others" checked> other faces</label>
      <span id="clock"></span>
    </div>
    <h2 class="sub">Timeline <span class="note">(main face's signals; click to seek)</span></h2>
    <div id="timeline"><canvas id="tl"></canvas><div id="span"></div><div id="cursor"></div></div>
    <div class="legend" id="legend"></div>
  </section>
  <section class="card" id="side">
    <h2>Caption</h2>
    <div id="caption"></div>
    <p class="note" id="linknote"></p>
    <h2>Events <span class="note">(time order; click to jump to the onset)</span></h2>
    <ol id="events"></ol>
  </section>
</div>
<section class="card" id="trackcard"><h2>Face tracks</h2>{_tracks_table(payload["tracks"])}</section>
<script id="dfec-data" type="application/json">{payload_json(payload)}</script>
{blob}
<script>{js}</script>
</body></html>
"""


def write_report(out_dir: str | Path, video: str | Path | None = None, out: str | Path | None = None,
                 video_mode: str = "auto", embed_limit_mb: float = EMBED_LIMIT_MB) -> Path:
    """Write ``report.html`` for an output folder of ``dfec track`` / ``dfec caption``.

    ``video`` overrides the video path recorded in ``tracks.json``/``events.json``; ``out`` the
    page's path (default ``OUT_DIR/report.html``); ``video_mode`` is ``auto``, ``embed`` or ``link``
    (see :mod:`dfec.report.video`). Returns the page's path.
    """
    folder_dir = Path(out_dir)
    folder = load_folder(folder_dir)
    page = Path(out) if out else folder_dir / "report.html"
    page.parent.mkdir(parents=True, exist_ok=True)
    recorded = (folder["events"] or {}).get("video") or (folder["tracks"].video if folder["tracks"] else None)
    src = video_source(find_video(recorded, folder_dir, video), page.parent, video_mode, embed_limit_mb)
    payload = build_payload(folder, src)
    tmp = page.with_name(page.name + ".tmp")
    tmp.write_text(render(payload, src), encoding="utf-8")
    tmp.replace(page)
    return page
