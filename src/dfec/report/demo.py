"""``dfec demo``: a local Gradio app (127.0.0.1) to caption a video and save an edited caption.

Usage::

    pip install -e '.[demo]'
    dfec demo [--port 7860] [--records dfec_demo/records.jsonl] [--work dfec_demo/work] [--model PATH]
    dfec demo --captioner qwen2-vl --model /weights/Qwen2-VL-7B-Instruct [--captioner openai --api-model gpt-4o]

Drop in a video, pick a captioner (``landmark``, then any of the captioner registry,
:mod:`dfec.captioners`, named on the command line), and get the tracked video (main face box and landmarks drawn),
the signal timeline, the measured events, the caption and a downloadable ``report.html``. The
caption can be edited and saved as an FDA-style record (``dfec.data.schema``: id, video,
attributes, facial_changes, summary) into the records JSONL file; ``[inference: ...]`` marks are
kept as typed (``dfec data build`` strips them later). Saving an id again replaces its line.

The app and its functions are separate: :func:`analyse` and :func:`save_record` are plain Python
(tested without a browser), :func:`build_app` wires them into Gradio, imported only here.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Callable

from ..errors import DfecError, MissingDependencyError

EVENT_HEADERS = ["start (s)", "end (s)", "event", "region", "in caption", "clause"]


# ------------------------------------------------------------------------------ captioners
#: ``caption(video, tracking) -> str``; the tracking is the landmark pass's, so a captioner that
#: works from the face tracking module's output (facetrack) does not track the video again
CaptionFn = Callable[[str, object], str]


def available_captioners(model_path: str | None = None, names: list[str] | tuple[str, ...] | None = None,
                         options=None) -> dict[str, CaptionFn | None]:
    """The picker: captioner name -> ``caption(video, tracking) -> str``, from the captioner
    registry (:mod:`dfec.captioners`), ``landmark`` first. ``landmark`` maps to None: :func:`analyse`
    runs it itself, since it also writes the events and clauses the page links.

    ``names``: registry names or ``package.module:Class`` to offer besides ``landmark`` (default, as
    in ``dfec caption``: ``facetrack`` when ``model_path`` is given, else none). They are loaded
    with ``options`` (:class:`~dfec.captioners.CaptionerOptions`; default: only ``model_path``);
    loading is cheap (weights load on first use); :func:`check_captioners` checks their needs.
    """
    from ..captioners import CaptionerOptions, call_captioner, load

    if names is None:
        names = ["facetrack"] if model_path else []
    options = options or CaptionerOptions(model_path=model_path)
    out: dict[str, CaptionFn | None] = {"landmark": None}
    for name in names:
        if name in out:
            continue
        captioner = load(name, options)

        def fn(video: str, tracking=None, _c=captioner) -> str:
            return call_captioner(_c, video, tracking=tracking).text

        fn.captioner = captioner  # for check_captioners
        out[name] = fn
    return out


def check_captioners(captioners: dict[str, CaptionFn | None]) -> None:
    """Each picked captioner's ``check()`` (a missing weight folder, package or key: one line)."""
    from ..captioners import check

    for fn in captioners.values():
        if fn is not None:
            check(fn.captioner)


# ------------------------------------------------------------------------------ analysis
def _work_folder(work_dir: Path, video: Path, captioner: str) -> Path:
    h = hashlib.sha1(f"{video.resolve()}:{video.stat().st_size}:{video.stat().st_mtime_ns}".encode()).hexdigest()[:10]
    return work_dir / f"{video.stem}-{re.sub(r'[^A-Za-z0-9_.-]+', '_', captioner)}-{h}"  # module:Class names too


def render_tracked_video(video: Path, tracking, dest: Path) -> Path:
    """The video at the analysis rate with every track drawn (main face green, with landmarks)."""
    from ..tracking.render import draw_frame
    from ..video.reader import iter_frames
    from ..video.writer import write_video

    frames = (draw_frame(rgb, tracking, i) for i, _, rgb in iter_frames(video, fps=tracking.fps or 16.0, fill=True))
    return write_video(dest, frames, fps=tracking.fps or 16.0)


def event_rows(events_json: dict) -> list[list]:
    """The events table: caption events and the other detected events, in time order."""
    from .data import events_payload

    rows = sorted(events_payload(events_json), key=lambda e: (e["start"], e["index"]))
    return [[round(e["start"], 2), round(e["end"], 2), e["kind"].replace("_", " "), e["region"],
             "yes" if e["in_caption"] else "no", e["text"] if e["in_caption"] else ""] for e in rows]


def analyse(video: str | Path, captioner: str = "landmark", work_dir: str | Path = "dfec_demo/work",
            model_path: str | None = None, captioners: dict[str, CaptionFn | None] | None = None) -> dict:
    """Track, measure and caption ``video``; returns paths and values for the app's outputs:
    ``{"folder", "tracked_video", "timeline", "events" (rows), "caption", "report"}``.
    ``captioners``: the picker (:func:`available_captioners`; default: from ``model_path``)."""
    from ..dynamics.captioner import caption_video

    p = Path(video)
    if not p.is_file():
        raise DfecError("no such video file", p)
    if captioners is None:
        captioners = available_captioners(model_path)
    if captioner not in captioners:
        raise DfecError(f"unknown captioner '{captioner}' (choose from {', '.join(captioners)})")
    folder = _work_folder(Path(work_dir), p, captioner)
    folder.mkdir(parents=True, exist_ok=True)
    result = caption_video(p, out_dir=folder)  # tracking + measured events (also for other captioners)
    text = result.caption
    fn = captioners[captioner]
    if fn is not None:
        text = fn(str(p), result.tracking).strip()
        if not text:
            raise DfecError(f"captioner '{captioner}' returned an empty caption", p)
        events = json.loads((folder / "events.json").read_text())
        events["caption"] = text  # the measured events stay; the caption is the chosen captioner's
        events.pop("clauses", None)
        events["events"] = []
        (folder / "events.json").write_text(json.dumps(events, indent=1))
        (folder / "caption.txt").write_text(text + "\n")
    tracked = folder / "tracked.mp4"
    if not tracked.is_file():
        render_tracked_video(p, result.tracking, tracked)
    from .page import write_report

    report = write_report(folder, video=p)
    events = json.loads((folder / "events.json").read_text())
    return {"folder": str(folder), "tracked_video": str(tracked), "timeline": str(folder / "timeline.png"),
            "events": event_rows(events), "caption": text, "report": str(report)}


# ------------------------------------------------------------------------------ records
def save_record(records: str | Path, record_id: str, video: str, attributes: str, caption: str,
                summary: str) -> str:
    """Validate and store one FDA-style record (the caption as ``facial_changes``, inference marks
    kept); a record with the same id is replaced. Returns a one-line status."""
    from ..data.schema import validate_record

    raw = {"id": (record_id or "").strip(), "video": (video or "").strip(), "attributes": attributes or "",
           "facial_changes": caption or "", "summary": summary or ""}
    rec, problems = validate_record(raw)
    if rec is None:
        raise DfecError("not saved: " + "; ".join(f"{f or 'record'} {r}" for f, r in problems))
    path = Path(records)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    kept = []
    from ..userfiles import JsonProblem, parse_json

    for line in lines:
        try:  # a hostile line (deep nesting, NaN) is kept as it is, never a traceback
            same = str(parse_json(line, allow_nonfinite=True).get("id")) == rec.id
        except (JsonProblem, AttributeError):
            same = False
        if line.strip() and not same:
            kept.append(line)
    kept.append(json.dumps(rec.to_json(), ensure_ascii=False))
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(kept) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    verb = "replaced" if len(kept) == len([line for line in lines if line.strip()]) else "saved"
    return f"{verb} record '{rec.id}' in {path} ({len(kept)} record(s))"


# ------------------------------------------------------------------------------ app
def _gradio():
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home
    try:
        import gradio as gr
    except ImportError:
        raise MissingDependencyError("the demo app (gradio)", "pip install -e '.[demo]'") from None
    return gr


def build_app(records: str | Path = "dfec_demo/records.jsonl", work_dir: str | Path = "dfec_demo/work",
              model_path: str | None = None, captioners: dict[str, CaptionFn | None] | None = None):
    """The Gradio Blocks app (API names: ``/analyse``, ``/save``); ``captioners``: the picker
    (:func:`available_captioners`; default: from ``model_path``), loaded once for the app."""
    gr = _gradio()
    if captioners is None:
        captioners = available_captioners(model_path)
    names = list(captioners)

    def on_analyse(video, captioner):
        if not video:
            raise gr.Error("drop a video first")
        try:
            r = analyse(video, captioner, work_dir, model_path, captioners=captioners)
        except DfecError as exc:
            raise gr.Error(exc.message) from None
        return (r["tracked_video"], r["timeline"], r["events"], r["caption"], r["report"],
                Path(video).stem, Path(video).name)

    def on_save(record_id, video_name, attributes, caption, summary):
        try:
            return save_record(records, record_id, video_name, attributes, caption, summary)
        except DfecError as exc:
            return exc.message

    with gr.Blocks(title="dfec demo") as app:
        gr.Markdown("## dfec: dynamic facial expression captioning\nDrop in a video, pick a captioner, "
                    "then check the caption against the tracked face and the measured events.")
        with gr.Row():
            with gr.Column():
                video_in = gr.Video(label="video", sources=["upload"])
                captioner = gr.Dropdown(names, value=names[0], label="captioner")
                go = gr.Button("Analyse", variant="primary")
            with gr.Column():
                tracked = gr.Video(label="tracked video (main face in green)", interactive=False)
                report = gr.File(label="report.html (open it in a browser)", interactive=False)
        timeline = gr.Image(label="signal timeline", type="filepath", interactive=False)
        events = gr.Dataframe(headers=EVENT_HEADERS, label="events (time order)", interactive=False)
        gr.Markdown("### Caption: edit it, then save it as an FDA-style record\n"
                    "Mark subjective readings as `[inference: ...]`; the marks are kept in the record.")
        caption = gr.Textbox(label="caption (facial changes)", lines=6, interactive=True)
        with gr.Row():
            record_id = gr.Textbox(label="record id")
            video_name = gr.Textbox(label="video (path under the data root)")
        attributes = gr.Textbox(label="external attributes", placeholder="A young man with short dark hair.")
        summary = gr.Textbox(label="one-sentence summary")
        save = gr.Button("Save record")
        status = gr.Textbox(label=f"saved to {records}", interactive=False)
        go.click(on_analyse, [video_in, captioner], [tracked, timeline, events, caption, report, record_id, video_name],
                 api_name="analyse")
        save.click(on_save, [record_id, video_name, attributes, caption, summary], [status], api_name="save")
    return app


def port_number(text: str) -> int:
    """argparse type of ``--port``: a TCP port, 0..65535 (0: any free port)."""
    from ..options import non_negative_int

    value = non_negative_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"not a TCP port (0..65535), got {text!r}")
    return value


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=port_number, default=7860, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--records", default="dfec_demo/records.jsonl", help="JSONL file the saved records go to")
    parser.add_argument("--work", default="dfec_demo/work", help="folder for the per-video outputs")
    parser.add_argument("--captioner", action="append", default=None, metavar="NAME",
                        help="offer this registry captioner besides landmark (repeatable): facetrack | openai | "
                             "qwen2-vl | llava-onevision | package.module:ClassName (default: facetrack with --model)")
    parser.add_argument("--model", "--model-path", dest="model", default=None,
                        help="local weight folder of the --captioner models (alone: adds 'facetrack', FaceTrack-MM)")
    from ..captioners.cli import add_captioner_options

    add_captioner_options(parser)


def run(args: argparse.Namespace) -> int:
    from ..captioners.cli import options_from_args
    from ..userfiles import check_output_dir, check_output_file

    check_output_file(args.records, "records file (--records)")
    check_output_dir(args.work, "work folder (--work)")
    captioners = available_captioners(args.model, args.captioner, options_from_args(args, args.model))
    check_captioners(captioners)  # a missing weight folder or key: one line before the app starts
    app = build_app(args.records, args.work, args.model, captioners=captioners)
    allowed = [str(Path(args.work).resolve())]
    try:
        app.launch(server_name="127.0.0.1", server_port=args.port or None, share=False, allowed_paths=allowed)
    except OSError as exc:  # a busy port: gradio raises OSError("Cannot find empty port ...")
        where = f"port {args.port} on 127.0.0.1" if args.port else "a free port on 127.0.0.1"
        raise DfecError(f"cannot start the demo on {where}: {exc} (pick another --port, or 0 for any free one)") from None
    return 0
