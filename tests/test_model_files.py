"""Broken model folders give one line naming the file and the problem (dfec.model.files)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from dfec.errors import DfecError  # noqa: E402
from dfec.model.files import check_safetensors  # noqa: E402
from dfec.model.inference import load_captioner, resolve_layout  # noqa: E402
from dfec.model.tiny import save_tiny_checkpoint  # noqa: E402

SRC = str(Path(__file__).resolve().parents[1] / "src")


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    return save_tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny")


def _copy(good, tmp_path, name="m") -> Path:
    dst = tmp_path / name
    shutil.copytree(good, dst)
    return dst


def _refused(folder, needle, file=None):
    with pytest.raises(DfecError) as e:
        resolve_layout(folder)
    msg = e.value.message
    assert "\n" not in msg and needle in msg, msg
    if file is not None:
        assert str(file) in msg, msg
    return msg


def test_a_sound_checkpoint_passes(good):
    assert resolve_layout(good)["kind"] == "full"
    assert check_safetensors(good / "model.safetensors") > 10


def test_config_json_list_bad_utf8_and_wrong_types(good, tmp_path):
    m = _copy(good, tmp_path)
    cfg = m / "config.json"
    original = cfg.read_text()
    cfg.write_text("[1, 2, 3]")
    _refused(m, "is a JSON list, expected an object", cfg)
    cfg.write_bytes(b'{"model_type": "facetrack_mm", "x": "\xff\xfe"}')
    _refused(m, "not a UTF-8 text file", cfg)
    for field, value, needle in (("text_config.hidden_size", "big", "field 'text_config.hidden_size' must be a positive integer"),
                                 ("vision_config", [1], "field 'vision_config' must be an object"),
                                 ("use_face_branch", "yes", "field 'use_face_branch' must be true or false"),
                                 ("face_backbone_config.depths", 2, "field 'face_backbone_config.depths' must be a list")):
        d = json.loads(original)
        head, _, leaf = field.rpartition(".")
        (d[head] if head else d)[leaf] = value
        cfg.write_text(json.dumps(d))
        _refused(m, needle, cfg)


def test_truncated_and_corrupt_safetensors(good, tmp_path):
    m = _copy(good, tmp_path)
    st = m / "model.safetensors"
    data = st.read_bytes()
    st.write_bytes(data[: len(data) // 2])
    _refused(m, "truncated safetensors file", st)
    st.write_bytes(data[:5])
    _refused(m, "truncated safetensors file", st)
    st.write_bytes(b"\xff" * 8 + data[8:])
    _refused(m, "impossible header length", st)
    n = int.from_bytes(data[:8], "little")
    st.write_bytes(data[:8] + b"#" * n + data[8 + n:])
    _refused(m, "header is not JSON", st)
    header = json.loads(data[8:8 + n])
    name = next(k for k in header if k != "__metadata__")
    header[name]["shape"] = [10 ** 6]
    raw = json.dumps(header).encode().ljust(n)
    if len(raw) == n:
        st.write_bytes(data[:8] + raw + data[8 + n:])
        _refused(m, f"bad entry for tensor '{name}'", st)


def test_broken_tokenizer(good, tmp_path):
    m = _copy(good, tmp_path)
    tok = m / "tokenizer.json"
    tok.write_text('{"version": "1.0", "truncation": nul')
    _refused(m, "not valid JSON", tok)
    tok.write_text(json.dumps({"version": "1.0"}))
    _refused(m, "not a tokenizers file", tok)
    tok.unlink()
    (m / "tokenizer.model").unlink(missing_ok=True)
    _refused(m, "no tokenizer", m)


def test_garbage_adapter_and_component_folders(good, tmp_path):
    ad = tmp_path / "adapter"
    ad.mkdir()
    (ad / "adapter_config.json").write_text("garbage")
    (ad / "facetrack_base.json").write_text(json.dumps({"model": str(good)}))
    (ad / "adapter_model.safetensors").write_bytes(os.urandom(64))
    (ad / "non_lora_trainables.safetensors").write_bytes(os.urandom(64))
    _refused(ad, "not valid JSON", ad / "adapter_config.json")
    (ad / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": 4}))
    _refused(ad, "safetensors file", ad / "adapter_model.safetensors")
    (ad / "facetrack_base.json").write_text(json.dumps({"model": ["not", "a", "path"]}))
    _refused(ad, "field 'model' must be a folder path string", ad / "facetrack_base.json")
    (ad / "facetrack_base.json").write_text("[]")
    _refused(ad, "is a JSON list", ad / "facetrack_base.json")

    comp = tmp_path / "components"
    for part in ("vision_tower", "llm"):
        (comp / part).mkdir(parents=True)
        (comp / part / "config.json").write_text(json.dumps({"model_type": "x", "hidden_size": 8}))
        (comp / part / "model.safetensors").write_bytes(b"garbage garbage garbage")
    _refused(comp, "safetensors file", comp / "vision_tower" / "model.safetensors")


def test_loader_errors_become_one_line(good, tmp_path, monkeypatch):
    """What the checks cannot see (here: weights that do not fit the config) still ends in one line."""
    m = _copy(good, tmp_path)
    cfg = json.loads((m / "config.json").read_text())
    cfg["text_config"]["hidden_size"] = cfg["text_config"]["hidden_size"] * 2
    (m / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(DfecError) as e:
        load_captioner(m, device="cpu")
    assert "cannot load the model" in e.value.message and str(m) in e.value.message and "\n" not in e.value.message


def test_cli_caption_and_merge_on_broken_folders(good, tmp_path):
    m = _copy(good, tmp_path)
    (m / "config.json").write_text("[]")
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    video = tmp_path / "v.mp4"
    video.write_bytes(b"x")
    ad = tmp_path / "adapter"
    ad.mkdir()
    (ad / "adapter_config.json").write_bytes(os.urandom(100))
    (ad / "facetrack_base.json").write_text(json.dumps({"model": str(good)}))
    for args, needle in ((["caption", str(video), "--model", str(m), "--out", str(tmp_path / "o")], "config.json"),
                         (["train", "--merge", str(ad), "--out", str(tmp_path / "merged")], "adapter_config.json")):
        res = subprocess.run([sys.executable, "-m", "dfec.cli", *args], capture_output=True, text=True, env=env,
                             timeout=300)
        assert res.returncode != 0 and "Traceback" not in res.stderr, res.stderr
        assert len(res.stderr.strip().splitlines()) == 1 and res.stderr.startswith("dfec: error: "), res.stderr
        assert needle in res.stderr, res.stderr


def test_caption_list_with_a_broken_model_stops_once(good, tmp_path, capsys):
    from dfec.cli import main

    m = _copy(good, tmp_path)
    cfg = json.loads((m / "config.json").read_text())
    cfg["text_config"]["hidden_size"] *= 2  # passes the file checks, fails when the weights load
    (m / "config.json").write_text(json.dumps(cfg))
    lst = tmp_path / "list.txt"
    lst.write_text("".join(f"v{i}.mp4\n" for i in range(3)))
    for i in range(3):
        (tmp_path / f"v{i}.mp4").write_bytes(b"x")
    rc = main(["caption", "--list", str(lst), "--model", str(m), "--out", str(tmp_path / "p.jsonl"), "--quiet"])
    err = [line for line in capsys.readouterr().err.strip().splitlines() if "Loading weights" not in line]
    assert rc == 2 and len(err) == 1 and "cannot load the model" in err[0], err
    assert "tensor sizes in the weights do not match config.json" in err[0]
