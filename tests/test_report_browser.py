"""report.html and table.html in a real headless Chromium (Debian ``chromium``; skipped without it).

Driven over the DevTools protocol (``dfec.report.headless``): real mouse clicks, the page's own
video element and canvases, and a screenshot checked for content.
"""
from __future__ import annotations

import io
import json
import time
from pathlib import Path

import numpy as np
import pytest
from report_helpers import synthetic_folder

from dfec.report import write_report
from dfec.report.headless import Browser, BrowserError, find_chromium

pytestmark = pytest.mark.skipif(find_chromium() is None, reason="chromium is not installed")

READY = "document.getElementById('video').readyState >= 2"
SEEKED = ("new Promise(r => { const v = document.getElementById('video'); "
          "if (!v.seeking) r(true); else v.addEventListener('seeked', () => r(true), {once: true}); })")


@pytest.fixture(scope="module")
def browser():
    try:
        b = Browser(width=1280, height=1000)
    except BrowserError as exc:  # installed but cannot start here
        pytest.skip(f"chromium does not start: {exc}")
    yield b
    b.close()


def _open(browser, page_path: Path):
    page = browser.new_page(page_path.resolve().as_uri())
    page.wait_for(READY, timeout=30)
    return page


def _seek(page, t_media: float) -> None:
    page.eval(f"document.getElementById('video').currentTime = {t_media}")
    page.eval(SEEKED)
    page.eval("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def _green_pixels(page) -> int:
    """Pixels of the overlay canvas drawn in the main-face green."""
    return page.eval("""(() => { const c = document.getElementById('overlay');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0;
        for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 100 && d[i + 1] > 150 && d[i] < 150 && d[i + 2] < 150) n++;
        return n; })()""")


def _check_page(page, out: Path) -> None:
    """The checks every report must pass: seek by event click, by clause click, by timeline click;
    cursor follows playback; overlay follows tracks.json."""
    d = page.eval("dfecReport.data")
    off = d["video"]["offset"]
    ev = json.loads((out / "events.json").read_text())
    # 1. the video loaded and has the length of the clip
    dur = page.eval("document.getElementById('video').duration")
    assert dur == pytest.approx(d["duration"] + off, abs=1.0)
    # 2. a real click on an event (not the first) seeks to its onset and highlights its span
    target = max(d["events"], key=lambda e: (e["end"] - e["start"], e["start"]))
    page.click_element(f'#events li[data-index="{target["index"]}"]')
    page.eval(SEEKED)
    assert page.eval("document.getElementById('video').currentTime") == pytest.approx(target["start"] + off, abs=0.01)
    assert page.eval(f"""document.querySelector('#events li[data-index="{target["index"]}"]').classList.contains('selected')""")
    span = page.eval("(() => { const s = document.getElementById('span'); return [s.style.display, parseFloat(s.style.left), parseFloat(s.style.width)]; })()")
    assert span[0] == "block"
    assert span[1] == pytest.approx(page.eval(f"dfecReport.timeToX({target['start']})"), abs=1.0)
    assert span[2] >= page.eval(f"dfecReport.timeToX({target['end']}) - dfecReport.timeToX({target['start']})") - 1.0
    # ... and the cursor sits at the onset
    cur = page.eval("parseFloat(document.getElementById('cursor').style.left)")
    assert cur == pytest.approx(page.eval(f"dfecReport.timeToX({target['start']})"), abs=1.0)
    # 3. clicking a linked caption clause seeks to its event's onset
    clause = page.eval("""(() => { const s = [...document.querySelectorAll('.clause.linked')].pop();
        if (!s) return null; s.id = 'target-clause'; return s.dataset.events.split(' ').map(Number); })()""")
    assert clause, "no linked clause in the caption"
    page.click_element("#target-clause")
    page.eval(SEEKED)
    onset = min(ev["events"][i]["start"] for i in clause)
    assert page.eval("document.getElementById('video').currentTime") == pytest.approx(onset + off, abs=0.01)
    assert page.eval(".0 + document.querySelectorAll('.clause.selected').length") >= 1
    # 4. a click on the timeline seeks there
    t_click = 0.6 * d["duration"]
    page.eval("document.getElementById('timeline').scrollIntoView({block: 'center'})")
    box = page.eval("(() => { const r = document.getElementById('timeline').getBoundingClientRect(); return [r.left, r.top]; })()")
    page.click(box[0] + page.eval(f"dfecReport.timeToX({t_click})"), box[1] + 30)
    page.eval(SEEKED)
    assert page.eval("document.getElementById('video').currentTime") == pytest.approx(t_click + off, abs=0.05)
    # 5. the cursor follows playback
    _seek(page, off + 0.05)
    x0 = page.eval("parseFloat(document.getElementById('cursor').style.left)")
    page.eval("document.getElementById('video').play()")
    time.sleep(1.2)
    t, x1 = page.eval("[document.getElementById('video').currentTime, parseFloat(document.getElementById('cursor').style.left)]")
    page.eval("document.getElementById('video').pause()")
    assert t > off + 0.3, "the video did not play"
    assert x1 > x0 + 5
    assert x1 == pytest.approx(page.eval(f"dfecReport.timeToX({t - off})"), abs=12)  # one frame of lag at most
    # 6. the overlay is drawn where tracks.json has the main face, and only there
    main = [t for t in d["overlay"]["tracks"] if t["main"]][0]
    fps = d["overlay"]["fps"]
    mid = main["frames"][len(main["frames"]) // 2]
    _seek(page, mid / fps + off)
    assert _green_pixels(page) > 100
    absent = [k for k in range(d["overlay"]["n_frames"]) if k not in set(main["frames"])]
    if absent:
        _seek(page, absent[len(absent) // 2] / fps + off)
        assert _green_pixels(page) == 0


def test_synthetic_report_in_chromium(browser, tmp_path):
    video, out = synthetic_folder(tmp_path)
    page = _open(browser, write_report(out))
    _check_page(page, out)
    # the overlay lands on the dots drawn into the video: sample the video frame itself under the
    # drawn landmarks (white dots) and beside them (grey background)
    d = page.eval("dfecReport.data")
    main = d["overlay"]["tracks"][0]
    i = len(main["frames"]) // 2
    _seek(page, main["frames"][i] / 16.0)
    lum = page.eval("""((pts) => { const v = document.getElementById('video'); const c = document.createElement('canvas');
        c.width = v.videoWidth; c.height = v.videoHeight; const g = c.getContext('2d'); g.drawImage(v, 0, 0);
        return pts.map(([x, y]) => { const p = g.getImageData(Math.round(x), Math.round(y), 1, 1).data; return (p[0] + p[1] + p[2]) / 3; });
        })(%s)""" % json.dumps([[main["landmarks"][i][2 * j], main["landmarks"][i][2 * j + 1]] for j in range(68)]))
    assert np.median(lum) > 150  # on the white dots, not the grey (70) background


def test_bundled_clip_report_in_chromium(browser, shared_data, tmp_path):
    from dfec.dynamics.captioner import caption_video

    out = tmp_path / "hamilton"
    caption_video(shared_data / "short_hamilton_clip.mp4", out_dir=out)
    page_path = write_report(out)
    page = _open(browser, page_path)
    _check_page(page, out)
    # dfec time t is shown at media time t + offset: the picture the browser shows for an event's
    # onset is the frame dfec's decoder gives for that time (so the overlay sits on the right face)
    import base64

    from PIL import Image

    from dfec.video import iter_frames

    small = lambda rgb: np.asarray(Image.fromarray(rgb).resize((160, 90)), float)  # noqa: E731
    decoded = [(t, small(rgb)) for _, t, rgb in iter_frames(shared_data / "short_hamilton_clip.mp4", fps=None)]
    off = page.eval("dfecReport.data.video.offset")
    for t in (3.0, 5.5):
        _seek(page, t + off)
        url = page.eval("""(() => { const c = document.createElement('canvas'); c.width = 160; c.height = 90;
            c.getContext('2d').drawImage(document.getElementById('video'), 0, 0, 160, 90); return c.toDataURL(); })()""")
        shown = np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGB"), float)
        best = min(decoded, key=lambda d: np.abs(d[1] - shown).mean())[0]
        assert abs(best - t) <= 1 / 16, f"browser shows the frame of {best:.3f} s for dfec time {t} s"
    # a screenshot that is not blank: the page has text, the video shows a picture, the timeline is drawn
    from PIL import Image

    page.eval("window.scrollTo(0, 0)")
    _seek(page, page.eval("dfecReport.data.video.offset") + 4.0)
    png = page.screenshot(full_page=True)
    (tmp_path / "report.png").write_bytes(png)
    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(float)
    assert img.shape[0] > 800 and img.shape[1] >= 1200
    assert img.std() > 25
    for sel in ("video", "tl"):
        r = page.eval(f"(() => {{ const r = document.getElementById('{sel}').getBoundingClientRect(); "
                      f"return [r.left + scrollX, r.top + scrollY, r.width, r.height]; }})()")
        x, y, w, h = (int(v) for v in r)
        region = img[y:y + h, x:x + w]
        assert region.size and region.std() > 15, f"#{sel} looks blank in the screenshot"
        assert len(np.unique(region.reshape(-1, 3)[::7], axis=0)) > 200


def test_bench_table_page_in_chromium(browser, tmp_path):
    from test_report_bench import write_runs

    from dfec.bench.table import build_table
    from dfec.report.bench_html import write_bench_html

    runs = write_runs(tmp_path)
    _, rows = build_table(runs, tmp_path / "t", paper=True, charts=False)
    page = browser.new_page(write_bench_html(rows, tmp_path / "t" / "table.html").resolve().as_uri())
    page.wait_for("document.querySelectorAll('#board tbody tr').length > 2")
    labels = lambda: page.eval("[...document.querySelectorAll('#board tbody tr td:first-child')].map(td => td.textContent)")  # noqa: E731
    # sort by TEM (descending), then ascending: the runs swap places
    page.click_element('#board th[data-k="tem"]')
    first = labels()
    assert first.index("good") < first.index("weak")
    page.click_element('#board th[data-k="tem"]')
    assert labels().index("weak") < labels().index("good")
    # click the run: its samples appear with coloured events
    page.click_element('#board tr.run[data-key="r0"]')
    page.wait_for("document.querySelectorAll('.sample').length === 2")
    counts = page.eval("['matched','opposite','missed','extra'].map(k => document.querySelectorAll('#samples .chips .ev.' + k).length)")
    assert counts == [2, 2, 1, 1]
    assert page.eval("document.querySelector('#samples .txt.ref .ev.missed').textContent") == "nods slowly"


def test_report_command_renders_a_screenshot(tmp_path):
    from PIL import Image

    from dfec.cli import main

    _, out = synthetic_folder(tmp_path)
    png = tmp_path / "page.png"
    assert main(["report", str(out), "--screenshot", str(png)]) == 0
    img = np.asarray(Image.open(png).convert("RGB")).astype(float)
    assert img.shape[1] >= 1200 and img.std() > 20


def test_sound_lane_keeps_its_0_1_scale_and_draws_the_voiced_level(browser, tmp_path):
    """A voice score that never passes 0.3 stays in the lower part of the sound lane (a fixed 0-1
    scale, not its own min-max) under the dotted voiced level (the captioner's, 0.5)."""
    video, out = synthetic_folder(tmp_path)
    ev = json.loads((out / "events.json").read_text())
    n = len(ev["signals"]["times"])
    ev["signals"]["voice"] = {"score": [0.3 * (k % 8) / 7 for k in range(n)], "floor_db": -40.0}
    ev["config"]["voice_active_score"] = 0.5
    (out / "events.json").write_text(json.dumps(ev))
    page = _open(browser, write_report(out))
    assert page.eval("dfecReport.data.lanes.at(-1).threshold") == 0.5
    # rows (CSS px from the sound lane's top) holding the trace's blue and the level's teal
    rows = page.eval("""(() => { const c = document.getElementById('tl'), g = c.getContext('2d');
        const L = dfecReport.data.lanes.length, dpr = c.width / c.clientWidth, top = (L - 1) * 64;
        const d = g.getImageData(0, Math.round(top * dpr), c.width, Math.round(60 * dpr)).data;
        const blue = [], teal = [];
        for (let i = 0; i < d.length; i += 4) {
          const y = Math.floor(i / 4 / c.width) / dpr;
          if (d[i + 2] - d[i + 1] > 30 && d[i + 2] - d[i] > 60) blue.push(y);
          if (d[i + 1] > d[i + 2] && d[i + 1] - d[i] > 30) teal.push(y);
        }
        return [blue.length ? Math.min(...blue) : null, teal.length ? Math.min(...teal) : null, teal.length]; })()""")
    top_blue, teal_row, n_teal = rows
    # lane: values 0..1 padded by 8 %, drawn in the 56 px above its bottom (60 px from its top)
    y = lambda v: 60 - (v + 0.08) / 1.16 * 56  # noqa: E731
    assert n_teal > 100 and teal_row == pytest.approx(y(0.5), abs=2)
    assert top_blue is not None and top_blue >= y(0.3) - 2 > teal_row


def test_hidden_mouth_is_hatched_on_the_mouth_lane_and_shot_changes_darken_every_lane(browser, tmp_path):
    """The page draws what timeline.png draws: the frames whose mouth was hidden hatched on the
    mouth lane only, a shot change dark on every lane; elsewhere the lanes keep their light fill."""
    video, out = synthetic_folder(tmp_path)
    ev = json.loads((out / "events.json").read_text())
    times = ev["signals"]["times"]
    ev["signals"]["mouth_occluded"] = [int(1.0 <= t < 1.5) for t in times]
    ev["signals"]["shot_changes"] = [[2.5, 2.6]]
    (out / "events.json").write_text(json.dumps(ev))
    page = _open(browser, write_report(out))
    page.eval("document.getElementById('timeline').scrollIntoView({block: 'center'})")
    # dark grey pixels (r = g = b < 150) in the column band [t0, t1] of each lane
    dark = """((t0, t1) => { const c = document.getElementById('tl'), g = c.getContext('2d');
        const dpr = c.width / c.clientWidth, out = [];
        const x0 = Math.round(dfecReport.timeToX(t0) * dpr) + 2, x1 = Math.round(dfecReport.timeToX(t1) * dpr) - 2;
        dfecReport.data.lanes.forEach((lane, li) => {
          const d = g.getImageData(x0, Math.round((li * 64 + 14) * dpr), x1 - x0, Math.round(44 * dpr)).data;
          let n = 0;
          for (let i = 0; i < d.length; i += 4)
            if (d[i + 3] > 200 && d[i] < 170 && Math.abs(d[i] - d[i + 1]) < 12 && Math.abs(d[i + 1] - d[i + 2]) < 12) n++;
          out.push([lane.region, n / (d.length / 4)]);
        });
        return out; })"""
    hidden = dict(page.eval(f"{dark}(1.05, 1.45)"))
    clear = dict(page.eval(f"{dark}(0.3, 0.7)"))
    cut = page.eval(f"{dark}(2.5, 2.6)")
    assert hidden["mouth"] > 0.05 and clear["mouth"] < 0.01
    assert all(v < 0.01 for k, v in hidden.items() if k not in ("mouth", "interior"))
    assert all(v > 0.5 for _, v in cut)
    assert "mouth hidden" in page.eval("document.getElementById('legend').textContent")
