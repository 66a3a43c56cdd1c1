"""Broken HF model folders and plug-in names that are not captioner classes: one line, non-zero exit,
no traceback, and a list run that stops once instead of failing every video."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from dfec.cli import main

from test_bench_adapters import _clip


def _one_line_error(capsys, args, needle) -> str:
    rc = main(args)
    cap = capsys.readouterr()
    err = cap.err.strip()
    assert rc != 0 and len(err.splitlines()) == 1 and needle in err, (rc, err)
    assert "Traceback" not in cap.err + cap.out
    return err


@pytest.fixture()
def clips(tmp_path) -> Path:
    d = tmp_path / "clips"
    d.mkdir()
    _clip(d / "a.mp4", n=12)
    _clip(d / "b.mp4", n=12)
    return d


@pytest.mark.parametrize("spec", ["qwen2-vl", "llava-onevision"])
def test_hf_folder_with_invalid_json_config_is_one_line(tmp_path, clips, capsys, spec):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "config.json").write_text("{not json")
    _one_line_error(capsys, ["caption", str(clips / "a.mp4"), "--captioner", spec, "--model", str(bad),
                             "--out", str(tmp_path / "o")], "config.json")
    (bad / "config.json").write_text("[]")
    _one_line_error(capsys, ["caption", str(clips / "a.mp4"), "--captioner", spec, "--model", str(bad),
                             "--out", str(tmp_path / "o")], "is a JSON list")
    (bad / "config.json").write_text("{}")
    (bad / "model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{")  # a cut download
    _one_line_error(capsys, ["caption", str(clips / "a.mp4"), "--captioner", spec, "--model", str(bad),
                             "--out", str(tmp_path / "o")], "truncated safetensors")


@pytest.mark.parametrize("spec", ["qwen2-vl", "llava-onevision"])
def test_hf_folder_that_does_not_load_stops_one_clip_and_a_list_once(tmp_path, clips, capsys, spec):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "config.json").write_text("{}")  # passes the file checks, but there are no weights to load
    err = _one_line_error(capsys, ["caption", str(clips / "a.mp4"), "--captioner", spec, "--model", str(bad),
                                   "--out", str(tmp_path / "o")], "cannot load")
    assert str(bad) in err
    lst = tmp_path / "videos.txt"
    lst.write_text(f"{clips / 'a.mp4'}\n{clips / 'b.mp4'}\n")
    out = tmp_path / "preds.jsonl"
    _one_line_error(capsys, ["caption", "--list", str(lst), "--captioner", spec, "--model", str(bad),
                             "--out", str(out), "--quiet"], "cannot load")
    assert not out.exists() or out.read_text().strip() == ""  # no per-video failure records either


@pytest.mark.parametrize("spec, needle", [("os:path", "'path' in module 'os' is a module, not a captioner class"),
                                          ("json:loads", "cannot construct captioner json:loads"),
                                          ("json:JSONDecodeError", "cannot construct captioner json:JSONDecodeError")])
def test_plugin_that_is_not_a_captioner_class_is_one_line(tmp_path, clips, capsys, spec, needle):
    _one_line_error(capsys, ["caption", str(clips / "a.mp4"), "--captioner", spec, "--out", str(tmp_path / "o")],
                    needle)
    refs = tmp_path / "refs.json"
    refs.write_text(json.dumps([{"id": "a", "video": "a.mp4", "caption": "A man. He smiles."}]))
    _one_line_error(capsys, ["bench", "run", "--model", spec, "--videos", str(clips), "--ref", str(refs),
                             "--out", str(tmp_path / "bench"), "--no-score", "--no-progress"], needle)
