"""``dfec bench run --judge openai`` end to end against a local OpenAI-compatible server.

The scripted server is the one of tests/test_metrics_judge.py. The run captions with a fake adapter
(deterministic captions), scores through the API judge, and a second run of the same command must
send nothing to the endpoint (predictions resumed, every judge reply from the run's SQLite cache).
"""
from __future__ import annotations

import json
import sys

import pytest

from test_metrics_judge import REFS, server  # noqa: F401  (the scripted endpoint fixture)

ADAPTER = '''
import json, os
from pathlib import Path

class FromSidecar:
    """Captions a 'video' by reading the caption written next to it (a fake model)."""
    name = "sidecar"

    def __init__(self, options):
        pass

    def caption(self, video_path):
        return Path(str(video_path) + ".txt").read_text()
'''


def test_bench_run_with_api_judge_scores_and_reruns_for_free(server, tmp_path, monkeypatch, capsys):  # noqa: F811
    from dfec.cli import main

    mods = tmp_path / "mods"
    mods.mkdir()
    (mods / "sidecar_mod.py").write_text(ADAPTER)
    monkeypatch.syspath_prepend(str(mods))
    sys.modules.pop("sidecar_mod", None)
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "DFEC_JUDGE_API_KEY", "DFEC_JUDGE_CACHE"):
        monkeypatch.delenv(var, raising=False)
    vids = tmp_path / "videos"
    vids.mkdir()
    refs = []
    preds = dict(REFS)
    preds["2"] = REFS["2"] + " GARBLE"  # the server always answers this one with broken JSON
    for rid, cap in REFS.items():
        (vids / f"{rid}.mp4").write_bytes(b"not really a video " + rid.encode())
        (vids / f"{rid}.mp4.txt").write_text(preds[rid])
        refs.append({"id": rid, "video": f"{rid}.mp4", "caption": cap})
    ref = tmp_path / "ref.json"
    ref.write_text(json.dumps(refs))
    out = tmp_path / "runs" / "sidecar"
    args = ["bench", "run", "--model", "sidecar_mod:FromSidecar", "--videos", str(vids), "--ref", str(ref),
            "--out", str(out), "--judge", "openai", "--no-progress",
            "--judge-opt", "model=fake-judge", "--judge-opt", f"base_url={server.base_url}",
            "--judge-opt", "api_key=secret-key", "--judge-opt", "backoff_s=0.01", "--judge-opt", "parse_retries=1",
            "--judge-opt", "concurrency=2", "--judge-opt", "price_prompt_per_mtok=2.5",
            "--judge-opt", "price_completion_per_mtok=10"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "3/3 videos captioned (3 new, 0 resumed, 0 failed)" in printed
    res = json.loads((out / "results.json").read_text())
    m = res["metrics"]
    # samples 1 and 3 are judged (the scripted judge: 4/3/5/4/5 and identical events); 2 failed
    assert (m["correctness"], m["detail"], m["context"], m["temporal"], m["consistency"]) == (4, 3, 5, 4, 5)
    assert m["tem"] == pytest.approx(1.0) and m["autodq"] == pytest.approx(1.0)
    assert res["n_scored"] == 2 and res["n_failed"] == 1 and res["failed_ids"] == ["2"]
    assert res["per_sample"]["2"]["failed"] and "tem" not in res["per_sample"]["2"]
    j = res["judge"]
    assert j["name"] == "openai" and j["model"] == "fake-judge"
    n_requests = len(server.requests)
    assert j["api_calls"] == n_requests > 0
    assert j["prompt_tokens"] == 100 * n_requests and j["completion_tokens"] == 20 * n_requests
    assert j["cost_usd"] == pytest.approx((100 * 2.5 + 20 * 10) * n_requests / 1e6)
    assert j["cache"] == str(out / "judge_cache.sqlite") and (out / "judge_cache.sqlite").is_file()
    assert set(j["prompt_versions"]) >= {"ref_events", "relations", "scores"}
    assert "secret-key" not in (out / "run.json").read_text()  # the key is not written to disk
    md = (out / "results.md").read_text()
    assert "| 4.000 | 3.000 | 5.000 | 4.000 | 5.000 |" in md and "| 2 | 1 |" in md

    # the same command again: nothing captioned, every successful judge reply from the cache; only
    # the failed sample is asked again (failures are never cached), and it fails again
    assert main(args) == 0
    assert "0 new, 3 resumed" in capsys.readouterr().out
    res2 = json.loads((out / "results.json").read_text())
    new_requests = server.requests[n_requests:]
    assert all("GARBLE" in json.dumps(b) for b in new_requests)
    assert res2["judge"]["api_calls"] == len(new_requests) == 2  # parse_retries=1: two tries
    assert res2["metrics"] == res["metrics"] and res2["n_failed"] == 1

    # with the failing sample fixed, a rerun asks only about it (3 calls) and scores all three
    (vids / "2.mp4.txt").write_text(REFS["2"])
    (out / "predictions.jsonl").write_text("".join(
        json.dumps({"id": r["id"], "video": r["video"], "caption": REFS[r["id"]], "model": "sidecar"}) + "\n"
        for r in refs))
    n0 = len(server.requests)
    assert main(args) == 0
    res3 = json.loads((out / "results.json").read_text())
    assert len(server.requests) - n0 == 3 and res3["judge"]["api_calls"] == 3
    assert res3["n_failed"] == 0 and res3["n_scored"] == 3
