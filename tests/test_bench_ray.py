"""``dfec bench run --ray`` on a real local Ray instance (skipped where ray is not installed).

The stand-in cluster in test_bench.py checks the runner's scheduling code without Ray; these tests
run the same path on Ray itself: more actors than the local instance has CPUs (once a hang: items
were handed to actors Ray could not place), resume, a cluster without the requested GPUs, and the
training-free landmark captioner end to end on a real clip through the CLI.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

from dfec.bench.runner import BenchConfig, load_predictions, run_bench  # noqa: E402
from dfec.errors import DfecError  # noqa: E402

REPO = Path(__file__).resolve().parents[1]

FAKE = '''
import hashlib
from pathlib import Path

LOG = {log!r}  # actors run in Ray's worker processes, which do not see the test's environment

class Hasher:
    name = "hasher"

    def __init__(self, options):
        pass

    def caption(self, video_path):
        with open(LOG, "a") as fh:
            fh.write(Path(video_path).name + "\\n")
        h = hashlib.sha1(Path(video_path).read_bytes()).hexdigest()[:8]
        return f"The person in clip {h} raises the eyebrows, then opens the mouth."
'''


@pytest.fixture(scope="module")
def local_ray():
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    if ray.is_initialized():
        ray.shutdown()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture()
def env(tmp_path, monkeypatch):
    mods = tmp_path / "mods"
    mods.mkdir()
    log = tmp_path / "calls.log"
    (mods / "raybench_mod.py").write_text(FAKE.replace("{log!r}", repr(str(log))))
    monkeypatch.syspath_prepend(str(mods))
    sys.modules.pop("raybench_mod", None)
    vids = tmp_path / "videos"
    vids.mkdir()
    refs = []
    for i in range(7):
        (vids / f"{i}.mp4").write_bytes(os.urandom(32) + bytes([i]))
        refs.append({"id": str(i), "video": f"{i}.mp4", "caption": f"The person smiles {i}."})
    ref = tmp_path / "ref.json"
    ref.write_text(json.dumps(refs))
    return {"videos": vids, "ref": ref, "log": log, "root": tmp_path}


def test_more_workers_than_cpus_finishes_and_resumes(local_ray, env):
    common = dict(model="raybench_mod:Hasher", videos=str(env["videos"]), ref=str(env["ref"]), score=False,
                  progress=False)
    seq = run_bench(BenchConfig(out=str(env["root"] / "seq"), **common))
    assert seq["n_new"] == 7
    out = env["root"] / "ray"
    env["log"].write_text("")
    # 5 actors on a 2-CPU instance: three can never be placed while the first two live
    part = run_bench(BenchConfig(out=str(out), ray=True, workers=5, ids=["0", "1", "2"], **common))
    assert part["n_new"] == 3 and part["n_failed"] == 0
    full = run_bench(BenchConfig(out=str(out), ray=True, workers=5, **common))
    assert full["n_skipped"] == 3 and full["n_new"] == 4 and full["n_failed"] == 0
    assert load_predictions(out / "predictions.jsonl") == load_predictions(env["root"] / "seq" / "predictions.jsonl")
    calls = env["log"].read_text().split()
    assert sorted(calls) == sorted(f"{i}.mp4" for i in range(7))  # nothing captioned twice


def test_cluster_without_requested_gpus_is_an_error_not_a_hang(local_ray, env):
    cfg = BenchConfig(model="raybench_mod:Hasher", videos=str(env["videos"]), ref=str(env["ref"]),
                      out=str(env["root"] / "g"), ray=True, ray_gpus_per_worker=1.0, score=False, progress=False)
    with pytest.raises(DfecError, match="no room for one worker"):
        run_bench(cfg)


def test_cli_ray_run_with_landmark_captioner_on_a_real_clip(shared_data, tmp_path):
    clip = shared_data / "01-01-08-02-01-01-19.mp4"
    if not clip.exists():
        pytest.skip("RAVDESS clip not available")
    ref = tmp_path / "ref.json"
    ref.write_text(json.dumps([
        {"id": "ravdess", "video": clip.name,
         "caption": "At the beginning of the video, the woman raises her eyebrows and opens her mouth to speak. "
                    "Then she blinks and her eyes widen."},
        {"id": "gone", "video": "missing.mp4", "caption": "The man frowns."},
    ]))
    out = tmp_path / "run"
    env = dict(os.environ, HF_HUB_OFFLINE="1", RAY_AUTH_MODE="disabled",
               PYTHONPATH=os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]))
    env.pop("RAY_ADDRESS", None)
    res = subprocess.run([sys.executable, "-m", "dfec.cli", "bench", "run", "--model", "landmark", "--videos",
                          str(shared_data), "--ref", str(ref), "--out", str(out), "--ray", "--workers", "3",
                          "--no-progress"], env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "1/2 videos captioned (1 new, 0 resumed, 1 failed)" in res.stdout
    preds = load_predictions(out / "predictions.jsonl")
    assert list(preds) == ["ravdess"] and "eyebrows" in preds["ravdess"]
    results = json.loads((out / "results.json").read_text())
    assert results["n_scored"] == 1 and results["missing_ids"] == ["gone"]
    assert results["metrics"]["tem"] is not None and 0 <= results["metrics"]["tem"] <= 1
    assert json.loads((out / "run.json").read_text())["ray"] is True
