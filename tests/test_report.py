"""``dfec report`` / ``dfec caption --html``: the page's data, clause linking, the video source."""
from __future__ import annotations

import base64
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from report_helpers import page_data, synthetic_folder

from dfec.cli import main
from dfec.errors import DfecError
from dfec.report import write_report
from dfec.report.data import events_payload, link_clauses
from dfec.report.video import video_source


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return synthetic_folder(tmp_path_factory.mktemp("syn"))


# ------------------------------------------------------------------------------ clause links
EVENTS = {"events": [{"kind": "blink", "start": 1.0, "end": 1.2, "text": "the person blinks"},
                     {"kind": "smile", "start": 2.0, "end": 3.0, "text": "the person smiles"}]}


def test_clauses_contract_links_each_clause_to_its_events():
    ev = dict(EVENTS, clauses=[{"text": "At the beginning, the person blinks,", "events": [0]},
                               {"text": "and later the person smiles.", "events": [1, 7, "x"]},
                               {"text": "Nothing else changes.", "events": []}])
    caption = " ".join(c["text"] for c in ev["clauses"])  # as build_payload joins them without caption.txt
    segs, mode = link_clauses(caption, ev)
    assert mode == "clauses"
    assert "".join(s["text"] for s in segs) == caption
    assert [s["events"] for s in segs if s["text"].strip()] == [[0], [1], []]  # bad indices dropped


def test_clause_links_keep_every_character_of_the_caption():
    ev = dict(EVENTS, clauses=[{"text": "A.", "events": [0]}, {"text": "B.", "events": [1]}])
    # text before, between (a paragraph break) and after the clauses stays, unlinked
    caption = "Intro: A.\n\nB.\n\nOverall, the person looks pleased."
    segs, mode = link_clauses(caption, ev)
    assert mode == "clauses" and "".join(s["text"] for s in segs) == caption
    assert [(s["text"], s["events"]) for s in segs] == [
        ("Intro: ", []), ("A.", [0]), ("\n\n", []), ("B.", [1]), ("\n\nOverall, the person looks pleased.", [])]
    # a clause that is not in the caption: no invented separator; the events' own texts link instead
    caption = "At first the person blinks, then the person smiles. Overall calm."
    bad = dict(EVENTS, clauses=[{"text": "the person blinks", "events": [0]}, {"text": "not in it", "events": [1]}])
    segs, mode = link_clauses(caption, bad)
    assert mode == "event-text" and "".join(s["text"] for s in segs) == caption
    assert [s["events"] for s in segs if s["events"]] == [[0], [1]]
    # and nothing links: the caption whole, unlinked
    segs, mode = link_clauses("Something else entirely.", bad)
    assert (segs, mode) == ([{"text": "Something else entirely.", "events": []}], "unlinked")


@pytest.mark.parametrize("bad", ['{"events": 5}', '{"clauses": "A."}', '{"events": [1, 2]}',
                                 '{"timeline": {"kind": "blink"}}', '{"clauses": [null]}'])
def test_events_json_with_wrong_types_is_a_one_line_error(tmp_path, capsys, bad):
    (tmp_path / "events.json").write_text(bad)
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("dfec: error: ") and "events.json" in err and "list of objects" in err
    assert "\n" not in err


def test_landmark_events_link_by_their_verbatim_clause():
    caption = "Intro. At the beginning of the video, the person blinks, and the person smiles."
    segs, mode = link_clauses(caption, EVENTS)
    assert mode == "event-text"
    assert "".join(s["text"] for s in segs) == caption
    assert [(s["text"], s["events"]) for s in segs if s["events"]] == [("the person blinks", [0]),
                                                                       ("the person smiles", [1])]


def test_caption_is_unlinked_when_a_clause_is_not_in_it():
    caption = "The person smiles. The person blinks."  # wrong order: no guessing
    segs, mode = link_clauses(caption, EVENTS)
    assert mode == "unlinked" and segs == [{"text": caption, "events": []}]
    assert link_clauses("Some model caption.", None) == ([{"text": "Some model caption.", "events": []}], "unlinked")


def test_events_list_adds_detected_events_left_out_of_the_caption():
    ev = dict(EVENTS, timeline=[{"kind": "blink", "start": 1.0, "end": 1.2},
                                {"kind": "head_nod", "start": 2.5, "end": 2.9, "region": "head"}])
    out = events_payload(ev)
    assert [(e["kind"], e["in_caption"], e["index"]) for e in out] == [
        ("blink", True, 0), ("smile", True, 1), ("head_nod", False, 2)]


# ------------------------------------------------------------------------------ the page
def test_report_page_is_self_contained_with_the_video_embedded(folder):
    video, out = folder
    page = write_report(out)
    html = page.read_text()
    # nothing loaded from the network: no http(s) resources, no CDN
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "<script src" not in html and "<link " not in html
    d = page_data(html)
    assert d["video"]["mode"] == "embed" and d["video"]["offset"] == 0.0
    blob = html.split('<script id="dfec-video" type="application/octet-stream">', 1)[1].split("</script>", 1)[0]
    assert base64.b64decode(blob) == video.read_bytes()
    # overlay = tracks.json of the main face, frame by frame
    tracks = json.loads((out / "tracks.json").read_text())["tracks"]
    ov = d["overlay"]["tracks"][0]
    assert ov["main"] and ov["frames"] == tracks[0]["frames"]
    assert np.allclose(np.array(ov["landmarks"][5]).reshape(68, 2), tracks[0]["landmarks"][5], atol=0.06)
    # caption clauses linked to the caption events; the caption reads as written
    ev = json.loads((out / "events.json").read_text())
    assert d["link_mode"] == "clauses"  # the landmark captioner's own clause-to-event map
    assert "".join(s["text"] for s in d["clauses"]) == ev["caption"]
    linked = {ev["events"][s["events"][0]]["kind"] for s in d["clauses"] if s["events"]}
    assert {"blink", "head_turn_left"} <= linked
    # timeline lanes carry the measured signals; the track table the selection rule
    assert [lane["region"] for lane in d["lanes"]] == ["eyes", "mouth", "brows", "head"]
    assert len(d["lanes"][0]["series"][0]["y"]) == len(d["times"]) > 0
    assert d["tracks"]["rule"] == "single-track" and d["tracks"]["tracks"][0]["mean_area"] == 5000.0
    assert "single-track" in html and "A<sub>k</sub>" in html


def test_link_mode_references_the_video_relatively(folder, tmp_path):
    video, out = folder
    page = write_report(out, out=tmp_path / "pages" / "r.html", video_mode="link")
    d = page_data(page.read_text())
    assert d["video"]["mode"] == "link"
    assert (page.parent / d["video"]["src"]).resolve() == video.resolve()
    assert 'id="dfec-video"' not in page.read_text()


def test_auto_mode_links_a_video_over_the_embed_limit(folder, tmp_path):
    video, _ = folder
    assert video_source(video, tmp_path, "auto", embed_limit_mb=0.0)["mode"] == "link"
    assert video_source(video, tmp_path, "auto")["mode"] == "embed"


def test_unplayable_codec_is_reencoded_to_h264(folder, tmp_path):
    import av

    from dfec.video import iter_frames, write_video

    src = write_video(tmp_path / "clip.avi", (rgb for _, _, rgb in iter_frames(folder[0], fps=None)), fps=16, codec="mpeg4")
    v = video_source(src, tmp_path, "auto")
    assert v["mode"] == "embed" and v["mime"] == "video/mp4" and v["name"] == "clip.avi"
    with av.open(str(tmp_path / "report_video.mp4")) as c:
        assert c.streams.video[0].codec_context.name == "h264"


def test_video_that_starts_after_the_audio_gets_its_offset(shared_data, tmp_path):
    # the stage clip's video stream starts 0.85 s into the container (its audio starts first):
    # the page must add this to dfec's times, or the overlay and seeks land on the wrong frames
    v = video_source(shared_data / "short_hamilton_clip.mp4", tmp_path, "link")
    assert v["offset"] == pytest.approx(0.852, abs=0.01)


def test_report_command_and_caption_html(folder, tmp_path, capsys):
    video, out = folder
    work = tmp_path / "o"
    shutil.copytree(out, work)
    (work / "report.html").unlink(missing_ok=True)
    assert main(["report", str(work)]) == 0
    assert (work / "report.html").is_file()
    # dfec caption --html: reuses tracks.json, writes the caption outputs and the page
    (work / "report.html").unlink()
    assert main(["caption", str(video), "--out", str(work), "--quiet", "--html"]) == 0
    assert page_data((work / "report.html").read_text())["caption"] == (work / "caption.txt").read_text().strip()
    # a model caption (caption.txt only) still gets a page, unlinked
    only = tmp_path / "model"
    only.mkdir()
    (only / "caption.txt").write_text("Their eyes widen.\n")
    d = page_data(write_report(only, video=video).read_text())
    assert d["link_mode"] == "unlinked" and d["events"] == [] and d["overlay"] is None


def test_report_errors_are_one_line(tmp_path, capsys):
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("dfec: error: ") for line in err)
    assert "no tracks.json, events.json or caption.txt" in err[1]
    (tmp_path / "events.json").write_text("[1, 2]")
    with pytest.raises(DfecError, match="events.json"):
        write_report(tmp_path)
    assert main(["caption", "--list", "x.txt", "--out", "p.jsonl", "--html"]) == 2


def test_caption_command_with_html_imports_light():
    """`dfec caption` now runs through dfec.report.caption: it must stay as light as the registry's command."""
    import subprocess
    import sys

    code = ("import sys, dfec.report.caption; "
            "print(sorted(m for m in ('torch', 'cv2', 'dlib', 'transformers', 'matplotlib', 'gradio') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_sound_lane_has_a_fixed_0_1_scale_and_the_captioners_voiced_level():
    """A voice score that never reaches the voiced level must not fill its lane (the lanes scale
    to their own values unless they give a ``range``): the sound lane gives [0, 1] and its
    ``threshold``, the captioner's ``voice_active_score`` from events.json (0.5 without one)."""
    from dfec.report.data import build_payload

    ev = {"caption": "", "signals": {"times": [0.0, 0.1, 0.2], "values": {"ear_left": [0.3, 0.2, 0.3]},
                                     "neutral": {}, "voice": {"score": [0.1, 0.3, 0.2], "floor_db": -40.0}},
          "config": {"voice_active_score": 0.3}}
    folder = {"tracks": None, "events": ev, "caption": ""}
    lanes = build_payload(folder, {})["lanes"]
    sound = lanes[-1]
    assert sound["region"] == "sound" and sound["range"] == [0.0, 1.0] and sound["threshold"] == 0.3
    assert all("range" not in lane and "threshold" not in lane for lane in lanes[:-1])
    del ev["config"]
    assert build_payload(folder, {})["lanes"][-1]["threshold"] == 0.5
    js = (Path(__file__).resolve().parents[1] / "src" / "dfec" / "report" / "assets" / "report.js").read_text()
    assert "lane.range" in js and "lane.threshold" in js


def test_hidden_mouth_and_shot_changes_reach_the_page_as_time_spans():
    """timeline.png hatches the frames whose mouth was hidden and marks the tracker's shot changes;
    the page gets the same spans from events.json (``masks``): runs of ``mouth_occluded`` on the
    signal grid (end = last frame + one frame), shot changes at least one frame wide."""
    from dfec.report.data import build_payload, masks_payload

    times = [k / 16 for k in range(32)]
    occ = [int(8 <= k < 16 or 24 <= k < 26) for k in range(32)]
    sig = {"fps": 16.0, "times": times, "values": {"mouth_open": [0.1] * 32}, "neutral": {"mouth_open": 0.1},
           "mouth_occluded": occ, "shot_changes": [[1.25, 1.25], [1.5, 1.75]]}
    m = build_payload({"tracks": None, "events": {"caption": "", "signals": sig}, "caption": ""}, {})["masks"]
    assert m["mouth_hidden"] == [[0.5, 1.0], [1.5, 1.625]]
    assert m["shot_changes"] == [[1.25, 1.3125], [1.5, 1.75]]
    # not measured (None), no signals, malformed spans: nothing drawn, no error
    assert masks_payload({**sig, "mouth_occluded": None, "shot_changes": [[1.0], "x"]}) == \
        {"mouth_hidden": [], "shot_changes": []}
    assert masks_payload(None) == {"mouth_hidden": [], "shot_changes": []}
    js = (Path(__file__).resolve().parents[1] / "src" / "dfec" / "report" / "assets" / "report.js").read_text()
    assert "M.mouth_hidden" in js and "M.shot_changes" in js


@pytest.mark.parametrize("bad", [
    {"times": ["a", 0.1], "mouth_occluded": [0, 1], "shot_changes": 3},
    {"times": {"x": 1}, "mouth_occluded": [[0], [1, 2]]},
    {"times": [0.0, 0.1], "mouth_occluded": [[0], [1, 2]], "shot_changes": [[0.0, float("nan")], [None, 1.0]]},
    {"times": [0.0, 0.1], "fps": "16", "mouth_occluded": "11", "shot_changes": {"a": 1}},
])
def test_malformed_masks_in_events_json_draw_nothing(bad):
    """A hand-edited or foreign events.json must not break the page: spans that cannot be read
    are left out (a span with a non-finite end would be drawn from t = 0)."""
    from dfec.report.data import masks_payload

    assert masks_payload(bad) == {"mouth_hidden": [], "shot_changes": []}
