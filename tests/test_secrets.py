"""API keys never reach a file or the terminal; faulty judge replies fail a sample in one line.

A local OpenAI-compatible server (127.0.0.1) echoes the key it was sent (the Authorization header)
in its error texts and replies, as proxies and gateways do. Two canary keys, one given by option
and one by environment (neither shaped like ``sk-...``), must not appear in any file the command
writes (results, run.json, failures.jsonl, the judge cache) nor on stdout/stderr.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from stub_server import ChatStub, chat_completion

from dfec.redact import redact, register_secret

SRC = str(Path(__file__).resolve().parents[1] / "src")
OPT_KEY = "canary-opt-7Q2x9Lw4Zp"
ENV_KEY = "canary-env-3Hk8Vt1Rm6"


class EchoServer(ChatStub):
    """Answers every chat request according to ``mode``; error texts quote the caller's key."""

    def __init__(self):
        self.mode = "ok"
        super().__init__(self._answer)

    def _answer(self, body: dict, request):
        auth = request.headers.get("Authorization", "")
        return self.reply(auth, auth.split(" ", 1)[-1])

    def reply(self, auth: str, key: str):
        echo = f"Incorrect API key provided: {key} (header '{auth}', also tried sk-proj-ABCDEF0123456789)"
        if self.mode in ("401", "400"):
            return int(self.mode), {"error": {"message": echo, "type": "invalid_request_error"}}
        if self.mode == "malformed":
            return 200, b'{"choices": [{"message": '
        if self.mode == "empty":
            return 200, b""
        content = json.dumps({"events": [f"he smiles {key}"], "converted": f"he smiles {auth}",
                              "relations": [["S"]], "pred_entailed": [True], "ref_entailed": [True],
                              "correctness": 4, "detail": 3, "context": 4, "temporal": 3, "consistency": 4})
        if self.mode == "echo_text":  # a vision model's caption quoting the key
            content = f"He smiles. {echo}"
        return 200, chat_completion(content, "m")


@pytest.fixture()
def echo():
    srv = EchoServer()
    yield srv
    srv.close()


def _env(tmp_path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_BASE_URL", "DFEC_JUDGE_API_KEY", "DFEC_JUDGE_CACHE")}
    env.update(OPENAI_API_KEY=ENV_KEY, PYTHONPATH=SRC + os.pathsep + env.get("PYTHONPATH", ""),
               XDG_CACHE_HOME=str(tmp_path / "xdg"))
    return env


def _dfec(args, tmp_path):
    return subprocess.run([sys.executable, "-m", "dfec.cli", *args], capture_output=True, text=True, timeout=300,
                          env=_env(tmp_path), cwd=tmp_path)


def _leaks(root: Path, *texts: str) -> list[str]:
    """Where a canary (or any 'sk-...' key) shows up: files under ``root`` (bytes) and ``texts``."""
    found = []
    needles = [OPT_KEY.encode(), ENV_KEY.encode(), b"sk-proj-ABCDEF"]
    for f in root.rglob("*"):
        if f.is_file():
            data = f.read_bytes()
            found += [f"{f}: {n.decode()}" for n in needles if n in data]
    for i, t in enumerate(texts):
        found += [f"output {i}: {n.decode()}" for n in needles if n.decode() in t]
    return found


def _refs(tmp_path) -> tuple[Path, Path]:
    ref = tmp_path / "ref.json"
    ref.write_text(json.dumps([{"id": "1", "video": "1.mp4", "caption": "A man. He smiles, then he frowns."},
                               {"id": "2", "video": "2.mp4", "caption": "A woman. She blinks."}]))
    pred = tmp_path / "pred.jsonl"
    pred.write_text("".join(json.dumps({"id": i, "caption": c}) + "\n"
                            for i, c in (("1", "He smiles then frowns."), ("2", "She blinks twice."))))
    return ref, pred


def test_redact_masks_registered_keys_and_key_shapes():
    register_secret("my-registered-secret-123")
    text = "key my-registered-secret-123, sk-abcdefghij0123456789, Authorization: Bearer abc.def-ghi_jkl.mno-pqr"
    out = redact(text)
    assert "my-registered-secret-123" not in out and "sk-abcdefghij0123456789" not in out
    assert "abc.def-ghi_jkl" not in out and out.count("[REDACTED]") == 3 and "Bearer [REDACTED]" in out
    prose = "the bearer of the news smiles; task-sk-12 and risk-averse frowns stay"
    assert redact(prose) == prose


@pytest.mark.parametrize("mode", ["400", "401", "malformed", "empty", "ok"])
def test_score_with_api_judge_never_leaks_the_key(echo, tmp_path, mode):
    echo.mode = mode
    ref, pred = _refs(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    res = _dfec(["score", "--pred", str(pred), "--ref", str(ref), "--judge", "openai", "--base-url", echo.url,
                 "--api-key", OPT_KEY, "--model", "m", "--cache", str(work / "cache.sqlite"), "--max-retries", "0",
                 "--out", str(work / "results.json"), "--quiet"], tmp_path)
    assert "Traceback" not in res.stderr, res.stderr
    assert not _leaks(tmp_path, res.stdout, res.stderr), (res.stdout, res.stderr)
    if mode == "401":  # auth errors stop the run: one line, non-zero
        assert res.returncode != 0
        errors = [ln for ln in res.stderr.strip().splitlines() if not ln.startswith("dfec: note:")]
        assert len(errors) == 1 and "HTTP 401" in errors[0], res.stderr
        return
    assert res.returncode == 0, res.stderr
    results = json.loads((work / "results.json").read_text())
    if mode == "ok":
        assert results["n_failed"] == 0 and (work / "cache.sqlite").is_file()
        assert "[REDACTED]" in json.dumps(results)  # the echoed key was there, and masked
    else:  # every sample failed, counted, and reported on one warning line
        assert results["n_failed"] == 2 and results["failed_ids"] == ["1", "2"]
        warnings = [line for line in res.stderr.splitlines() if "judge failed" in line]
        assert len(warnings) == 1 and "2 sample(s)" in warnings[0]
        if mode in ("malformed", "empty"):
            assert "not a chat completion" in results["per_sample"]["1"]["error"]


def _clip(path, n=8):
    import av

    with av.open(str(path), "w") as c:
        s = c.add_stream("mpeg4", rate=8)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        for k in range(n):
            for p in s.encode(av.VideoFrame.from_ndarray(np.full((48, 64, 3), 10 * k, np.uint8), format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)


@pytest.mark.parametrize("mode", ["401", "echo_text"])
def test_bench_run_with_openai_model_never_leaks_the_key(echo, tmp_path, mode):
    echo.mode = mode
    ref, _ = _refs(tmp_path)
    vids = tmp_path / "videos"
    vids.mkdir()
    for i in ("1", "2"):
        _clip(vids / f"{i}.mp4")
    out = tmp_path / "run"
    res = _dfec(["bench", "run", "--model", "openai", "--api-model", "m", "--api-base", echo.url, "--api-key", OPT_KEY,
                 "--videos", str(vids), "--ref", str(ref), "--out", str(out), "--no-score", "--no-progress",
                 "--n-frames", "2", "--max-retries", "0", "--opt", f"api_token={OPT_KEY}"], tmp_path)
    assert "Traceback" not in res.stderr, res.stderr
    assert (out / "run.json").is_file()
    assert not _leaks(tmp_path, res.stdout, res.stderr), (res.stdout, res.stderr)
    if mode == "401":
        fails = [json.loads(line) for line in (out / "failures.jsonl").read_text().splitlines()]
        assert len(fails) == 2 and all("[REDACTED]" in f["reason"] for f in fails)
