"""``dfec demo``: the record saving and analysis functions, and the Gradio app on 127.0.0.1
driven through ``gradio_client`` (skipped when the ``demo`` extra is not installed)."""
from __future__ import annotations

import json
import socket

import pytest

from dfec.data.schema import load_records
from dfec.errors import DfecError
from dfec.report.demo import available_captioners, event_rows, save_record

CAPTION = "Their eyes widen [inference: as if surprised], and the person starts speaking."


def test_save_record_keeps_inference_marks_and_replaces_by_id(tmp_path):
    path = tmp_path / "rec" / "records.jsonl"
    msg = save_record(path, "clip_1", "RAVDESS/clip_1.mp4", "A young man with short dark hair.", CAPTION,
                      "A man speaks.")
    assert msg.startswith("saved record 'clip_1'")
    save_record(path, "clip_2", "RAVDESS/clip_2.mp4", "A woman.", "She blinks.", "A woman blinks.")
    msg = save_record(path, "clip_1", "RAVDESS/clip_1.mp4", "A young man.", CAPTION + " He nods.", "A man nods.")
    assert msg.startswith("replaced record 'clip_1'")
    records, errors = load_records(path)  # the project's own FDA reader accepts the file
    assert not errors and [r.id for r in records] == ["clip_2", "clip_1"]
    assert records[1].facial_changes == [CAPTION + " He nods."]  # marks kept as typed
    assert records[1].caption() == "A young man. Their eyes widen, and the person starts speaking. He nods."


def test_save_record_refuses_an_invalid_record(tmp_path):
    path = tmp_path / "records.jsonl"
    with pytest.raises(DfecError, match="attributes"):
        save_record(path, "x", "x.mp4", "", "They blink.", "Blinks.")
    with pytest.raises(DfecError, match="unclosed inference tag"):
        save_record(path, "x", "x.mp4", "A man.", "They blink [inference: tired.", "Blinks.")
    assert not path.exists()


def test_event_rows_are_time_ordered_with_caption_flag():
    ev = {"events": [{"kind": "smile", "start": 2.0, "end": 3.0, "region": "mouth", "text": "the person smiles"},
                     {"kind": "blink", "start": 1.0, "end": 1.2, "region": "eyes", "text": "the person blinks"}],
          "timeline": [{"kind": "head_nod", "start": 0.5, "end": 0.9, "region": "head"}]}
    assert event_rows(ev) == [[0.5, 0.9, "head nod", "head", "no", ""],
                              [1.0, 1.2, "blink", "eyes", "yes", "the person blinks"],
                              [2.0, 3.0, "smile", "mouth", "yes", "the person smiles"]]


def test_captioner_picker_comes_from_the_registry():
    from dfec.captioners.facetrack import FaceTrackCaptioner
    from dfec.captioners.openai_chat import OpenAICaptioner

    assert list(available_captioners()) == ["landmark"]
    picker = available_captioners("/weights/facetrack")  # --model alone: facetrack, as in dfec caption
    assert list(picker) == ["landmark", "facetrack"] and picker["landmark"] is None
    assert isinstance(picker["facetrack"].captioner, FaceTrackCaptioner)
    assert picker["facetrack"].captioner.options.model_path == "/weights/facetrack"
    picker = available_captioners(names=["openai", "landmark", "report_helpers:TrackingEchoCaptioner"])
    assert list(picker) == ["landmark", "openai", "report_helpers:TrackingEchoCaptioner"]
    assert isinstance(picker["openai"].captioner, OpenAICaptioner)
    with pytest.raises(DfecError, match="unknown captioner"):
        available_captioners(names=["no-such-captioner"])


def test_demo_checks_its_captioners_before_starting(capsys):
    from dfec.cli import main

    assert main(["demo", "--captioner", "report_helpers:TrackingEchoCaptioner"]) == 3
    err = capsys.readouterr().err.strip()
    assert err.startswith("dfec: error: ") and "--opt ready=true" in err and "\n" not in err


def test_analyse_with_a_registry_captioner_gets_the_tracking(shared_data, tmp_path):
    from dfec.captioners import CaptionerOptions
    from dfec.report.demo import analyse, check_captioners

    picker = available_captioners(names=["report_helpers:TrackingEchoCaptioner"],
                                  options=CaptionerOptions(extra={"ready": True}))
    check_captioners(picker)
    clip = shared_data / "01-01-08-02-01-01-19.mp4"
    name = "report_helpers:TrackingEchoCaptioner"
    r = analyse(clip, name, tmp_path / "work", captioners=picker)
    from dfec.schema import TrackingResult

    tr = TrackingResult.from_json(json.loads((tmp_path / "work" / r["folder"].rsplit("/", 1)[-1] / "tracks.json").read_text()))
    assert tr.main_track is not None and tr.n_frames > 0
    assert r["caption"] == f"Echo of {clip.name}: main track {tr.main_track.track_id}, {tr.n_frames} frames."
    assert (tmp_path / "work" / r["folder"].rsplit("/", 1)[-1] / "caption.txt").read_text().strip() == r["caption"]
    assert ":" not in r["folder"].rsplit("/", 1)[-1]
    assert r["events"]  # the measured events stay beside another captioner's caption
    assert "Echo of" in open(r["report"], encoding="utf-8").read()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_demo_app_over_gradio_client(shared_data, tmp_path, monkeypatch):
    pytest.importorskip("gradio")
    gradio_client = pytest.importorskip("gradio_client")
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    from dfec.report.demo import build_app
    from dfec.video import probe

    records = tmp_path / "records.jsonl"
    app = build_app(records, tmp_path / "work")
    port = _free_port()
    _, url, _ = app.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                           allowed_paths=[str(tmp_path / "work")])
    try:
        assert url.startswith(f"http://127.0.0.1:{port}")
        client = gradio_client.Client(url, verbose=False)
        clip = shared_data / "01-01-08-02-01-01-19.mp4"
        tracked, timeline, events, caption, report, rid, vname = client.predict(
            gradio_client.handle_file(str(clip)), "landmark", api_name="/analyse")
        # the tracked video covers the clip at 16 fps; the timeline is a PNG; events and caption agree
        info = probe(tracked)
        assert info.duration == pytest.approx(probe(clip).duration, abs=0.3) and info.width > 0
        assert open(timeline, "rb").read(4) == b"\x89PNG"
        rows = events["data"]
        assert events["headers"][:3] == ["start (s)", "end (s)", "event"] and rows
        assert [r[0] for r in rows] == sorted(r[0] for r in rows)
        assert caption.startswith("The video shows the facial movements")
        assert all(r[5] in caption for r in rows if r[4] == "yes")
        assert "dfec-data" in open(report, encoding="utf-8").read()
        assert rid == clip.stem and vname == clip.name
        # edit the caption, save it as an FDA-style record
        edited = caption + " [inference: they seem surprised]"
        msg = client.predict(rid, "RAVDESS/" + vname, "A young man with short dark hair.", edited,
                             "A man speaks.", api_name="/save")
        assert msg.startswith(f"saved record '{rid}'")
        saved = json.loads(records.read_text().splitlines()[0])
        assert saved["facial_changes"] == [edited] and saved["video"] == "RAVDESS/" + vname
        bad = client.predict(rid, vname, "", edited, "x", api_name="/save")
        assert bad.startswith("not saved") and len(records.read_text().splitlines()) == 1
    finally:
        app.close()


def test_demo_without_gradio_says_how_to_install(monkeypatch, capsys):
    import sys

    from dfec.cli import main

    monkeypatch.setitem(sys.modules, "gradio", None)  # import gradio -> ImportError
    assert main(["demo", "--port", "0"]) == 3
    err = capsys.readouterr().err.strip()
    assert err.startswith("dfec: error: ") and "pip install -e '.[demo]'" in err and "\n" not in err


@pytest.mark.parametrize("port", ["99999", "65536", "-1"])
def test_demo_refuses_a_port_out_of_range(capsys, port):
    from dfec.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["demo", "--port", port])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--port" in err and "Traceback" not in err


def test_demo_on_a_busy_port_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    pytest.importorskip("gradio")
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    from dfec.cli import main

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        rc = main(["demo", "--port", str(port), "--records", str(tmp_path / "r.jsonl"), "--work", str(tmp_path / "w")])
    assert rc != 0
    err = capsys.readouterr().err.strip()
    assert err.startswith("dfec: error: ") and f"port {port}" in err and "\n" not in err
