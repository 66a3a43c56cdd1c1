"""The light commands never import torch (DEVELOPERS.md: torch-heavy imports stay lazy): ``--help``,
``dfec caption`` with the landmark captioner and ``dfec score`` with the offline judge when every
phrase is read by the rules. Each runs in a fresh interpreter that reports ``sys.modules``."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SRC = str(Path(__file__).resolve().parents[1] / "src")
PROBE = ("import sys\nfrom dfec.cli import main\nargs = sys.argv[1:]\ntry:\n    rc = main(args)\n"
         "except SystemExit as e:\n    rc = e.code\n"
         "heavy = sorted(m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules)\n"
         "print('RC', rc, 'HEAVY', ','.join(heavy) or '-')\n")


def _heavy_modules(args, cwd) -> tuple[str, str]:
    # an empty embedding cache: a phrase embedded by an earlier run must not hide a model load
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""),
               DFEC_EMBED_CACHE=str(Path(cwd) / "embeddings.sqlite"))
    res = subprocess.run([sys.executable, "-c", PROBE, *map(str, args)], capture_output=True, text=True,
                         env=env, cwd=cwd, timeout=600)
    line = [ln for ln in res.stdout.splitlines() if ln.startswith("RC ")]
    assert line, res.stdout + res.stderr
    _, rc, _, heavy = line[-1].split()
    return rc, heavy


@pytest.mark.parametrize("args", [["--help"], ["caption", "--help"], ["score", "--help"], ["track", "--help"]])
def test_help_imports_no_torch(tmp_path, args):
    assert _heavy_modules(args, tmp_path) == ("0", "-")


def test_score_with_rule_read_phrases_imports_no_torch(tmp_path):
    ref = tmp_path / "ref.json"
    ref.write_text(json.dumps([{"id": "1", "video": "1.mp4", "caption": "He smiles. Then he blinks twice."},
                               {"id": "2", "video": "2.mp4", "caption": "Her head turns to the left."}]))
    pred = tmp_path / "pred.jsonl"
    pred.write_text(json.dumps({"id": "1", "caption": "The person smiles, and their eyes close."}) + "\n"
                    + json.dumps({"id": "2", "caption": "Their head turns to the right."}) + "\n")
    rc, heavy = _heavy_modules(["score", "--pred", pred, "--ref", ref, "--out", tmp_path / "r.json"], tmp_path)
    assert rc == "0" and heavy == "-"
    assert json.loads((tmp_path / "r.json").read_text())  # it did score


def test_score_loads_no_model_for_an_unreadable_phrase_that_meets_only_readable_ones(tmp_path):
    # review 3, finding 6: the judge's batched preparation embedded every phrase the parser cannot
    # read, though the fallback decides only pairs of two unreadable phrases
    ref = tmp_path / "ref.json"
    ref.write_text(json.dumps([{"id": "1", "video": "1.mp4", "caption": "She blinks twice. Then she shrugs."}]))
    pred = tmp_path / "pred.jsonl"
    pred.write_text(json.dumps({"id": "1", "caption": "The person blinks twice, and their head turns to the left."})
                    + "\n")
    rc, heavy = _heavy_modules(["score", "--pred", pred, "--ref", ref, "--out", tmp_path / "r.json"], tmp_path)
    assert rc == "0" and heavy == "-"


def test_landmark_caption_of_a_real_face_imports_no_torch(tmp_path, astronaut):
    av = pytest.importorskip("av")
    video = tmp_path / "astronaut.mp4"
    with av.open(str(video), "w") as c:
        s = c.add_stream("mpeg4", rate=16)
        s.width, s.height, s.pix_fmt = 256, 256, "yuv420p"
        for k in range(24):  # 1.5 s, the face drifting a few pixels
            img = np.ascontiguousarray(np.roll(astronaut[40:296, 90:346], k // 4, axis=1))
            for pk in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(pk)
        for pk in s.encode():
            c.mux(pk)
    out = tmp_path / "out"
    rc, heavy = _heavy_modules(["caption", video, "--out", out, "--quiet"], tmp_path)
    assert rc == "0" and heavy == "-"
    assert (out / "caption.txt").read_text().strip()  # it did caption
