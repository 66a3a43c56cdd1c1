"""FEC-Bench harness: runs, resume after a kill, failures, parallel workers, missing dependencies."""
from __future__ import annotations

import hashlib
import importlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from dfec.bench.adapters import AdapterOptions, load_adapter
from dfec.bench.runner import BenchConfig, load_predictions, read_jsonl, resolve_video, run_bench
from dfec.errors import DfecError, MissingDependencyError

REPO = Path(__file__).resolve().parents[1]

# A counting fake captioner users could write themselves: logs every call, sleeps, and returns a
# caption that depends only on the video's bytes (so reruns must give identical predictions).
FAKE_MODULE = '''
import hashlib, os, time
from pathlib import Path

class SlowCounter:
    name = "slow-counter"

    def __init__(self, options):
        self.log = os.environ["BENCH_COUNT_LOG"]
        self.delay = float(os.environ.get("BENCH_DELAY", "0"))

    def requires(self):
        return []

    def check(self):
        pass

    def caption(self, video_path):
        with open(self.log, "a") as fh:
            fh.write(Path(video_path).name + "\\n")
        time.sleep(self.delay)
        h = hashlib.sha1(Path(video_path).read_bytes()).hexdigest()[:10]
        return f"At first the person in clip {h} looks ahead; then the eyebrows rise and the mouth opens."


class NoArgs:
    name = "noargs"

    def caption(self, video_path):
        if "bad" in str(video_path):
            raise RuntimeError("decoder exploded")
        return "The face stays neutral."
'''


def expected_caption(path: Path) -> str:
    h = hashlib.sha1(path.read_bytes()).hexdigest()[:10]
    return f"At first the person in clip {h} looks ahead; then the eyebrows rise and the mouth opens."


@pytest.fixture()
def fake_env(tmp_path, monkeypatch):
    """A folder with 6 small 'videos', a reference file, and an importable fake adapter module."""
    mod_dir = tmp_path / "mods"
    mod_dir.mkdir()
    (mod_dir / "benchfake_mod.py").write_text(FAKE_MODULE)
    monkeypatch.syspath_prepend(str(mod_dir))
    sys.modules.pop("benchfake_mod", None)
    videos = tmp_path / "videos" / "DFEW"
    videos.mkdir(parents=True)
    refs = []
    for i in range(6):
        (videos / f"{100 + i}.mp4").write_bytes(os.urandom(64) + bytes([i]))
        refs.append({"id": str(i), "video": f"DFEW/{100 + i}.mp4", "caption": f"reference caption {i}"})
    ref = tmp_path / "ref.json"
    ref.write_text(json.dumps(refs))
    log = tmp_path / "calls.log"
    monkeypatch.setenv("BENCH_COUNT_LOG", str(log))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(mod_dir), str(REPO / "src"), os.environ.get("PYTHONPATH", "")]))
    return {"root": tmp_path, "videos": tmp_path / "videos", "ref": ref, "log": log, "env": env, "refs": refs}


def _cli(args, env, **kw):
    return subprocess.run([sys.executable, "-m", "dfec.cli", *args], env=env, capture_output=True, text=True, **kw)


def _calls(log: Path) -> list[str]:
    return log.read_text().split() if log.exists() else []


def test_resume_after_kill_redoes_nothing_and_matches(fake_env):
    e = fake_env
    out = e["root"] / "runs" / "fake"
    args = ["bench", "run", "--model", "benchfake_mod:SlowCounter", "--videos", str(e["videos"]), "--ref",
            str(e["ref"]), "--out", str(out), "--no-score", "--no-progress"]
    env = dict(e["env"], BENCH_DELAY="0.4")
    proc = subprocess.Popen([sys.executable, "-m", "dfec.cli", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    pred = out / "predictions.jsonl"
    deadline = time.time() + 60
    while time.time() < deadline:
        if pred.exists() and pred.read_text().count("\n") >= 1:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)  # a hard crash, not a polite stop
    proc.wait(timeout=30)
    first = read_jsonl(pred)
    assert 1 <= len(first) < 6, "the kill should land mid-run"
    done_first = {r["id"] for r in first}
    calls_first = len(_calls(e["log"]))

    res = _cli(args, dict(e["env"], BENCH_DELAY="0"), timeout=120)
    assert res.returncode == 0, res.stderr
    assert f"{len(done_first)} resumed" in res.stdout
    second_calls = _calls(e["log"])[calls_first:]
    by_name = {Path(r["video"]).name: r["id"] for r in e["refs"]}
    redone = {by_name[n] for n in second_calls} & done_first
    assert not redone, f"finished ids were captioned again: {redone}"
    final = read_jsonl(pred)
    assert sorted(r["id"] for r in final) == [str(i) for i in range(6)]  # each id exactly once
    for r in final:
        assert r["caption"] == expected_caption(e["videos"] / r["video"])
        assert r["model"] == "slow-counter"

    # identical to an uninterrupted run
    clean = e["root"] / "runs" / "clean"
    res = _cli([*args[:-4], "--out", str(clean), "--no-score", "--no-progress"], e["env"], timeout=120)
    assert res.returncode == 0, res.stderr
    assert load_predictions(clean / "predictions.jsonl") == load_predictions(pred)


@pytest.mark.parametrize("workers", [1, 2])
def test_ctrl_c_keeps_finished_predictions(fake_env, workers):
    e = fake_env
    out = e["root"] / "run"
    args = ["bench", "run", "--model", "benchfake_mod:SlowCounter", "--videos", str(e["videos"]), "--ref",
            str(e["ref"]), "--out", str(out), "--no-score", "--no-progress", "--workers", str(workers)]
    proc = subprocess.Popen([sys.executable, "-m", "dfec.cli", *args], env=dict(e["env"], BENCH_DELAY="0.4"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    pred = out / "predictions.jsonl"
    deadline = time.time() + 60
    while time.time() < deadline and not (pred.exists() and pred.read_text().count("\n") >= 2):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert "rerun resumes" in err and "Traceback" not in err
    kept = read_jsonl(pred)
    assert 2 <= len(kept) < 6
    for r in kept:
        assert r["caption"] == expected_caption(e["videos"] / r["video"])


def test_torn_last_line_is_repaired_and_failures_recorded(fake_env, tmp_path):
    e = fake_env
    refs = e["refs"] + [{"id": "missing", "video": "DFEW/nope.mp4", "caption": "x"}]
    ref = tmp_path / "ref2.json"
    ref.write_text(json.dumps(refs))
    out = tmp_path / "out"
    out.mkdir()
    good = {"id": "0", "video": refs[0]["video"], "caption": expected_caption(e["videos"] / refs[0]["video"])}
    (out / "predictions.jsonl").write_text(json.dumps(good) + "\n" + '{"id": "1", "vid')  # torn by a crash
    cfg = BenchConfig(model="benchfake_mod:SlowCounter", videos=str(e["videos"]), ref=str(ref), out=str(out),
                      score=False, progress=False)
    summary = run_bench(cfg)
    assert summary["n_skipped"] == 1 and summary["n_new"] == 5 and summary["n_failed"] == 1
    assert "100.mp4" not in _calls(e["log"])  # id 0 was not redone
    preds = read_jsonl(out / "predictions.jsonl")  # parses: the torn line is gone
    assert sorted(r["id"] for r in preds) == [str(i) for i in range(6)]
    fails = read_jsonl(out / "failures.jsonl")
    assert [f["id"] for f in fails] == ["missing"]
    assert "not found" in fails[0]["reason"]
    run = json.loads((out / "run.json").read_text())
    assert run["n_done_before"] == 1 and run["model"] == "benchfake_mod:SlowCounter"
    with pytest.raises(DfecError, match="holds predictions of model 'slow-counter'"):  # no mixing of models
        run_bench(BenchConfig(model="benchfake_mod:NoArgs", videos=str(e["videos"]), ref=str(ref), out=str(out),
                              score=False, progress=False))


def test_adapter_exceptions_become_failures_and_no_arg_classes_work(fake_env, tmp_path):
    e = fake_env
    (e["videos"] / "bad.mp4").write_bytes(b"x")
    refs = [{"id": "a", "video": "DFEW/100.mp4", "caption": "c"}, {"id": "b", "video": "bad.mp4", "caption": "c"}]
    ref = tmp_path / "r.json"
    ref.write_text(json.dumps(refs))
    summary = run_bench(BenchConfig(model="benchfake_mod:NoArgs", videos=str(e["videos"]), ref=str(ref),
                                    out=str(tmp_path / "o"), score=False, progress=False))
    assert summary["model"] == "noargs" and summary["n_new"] == 1 and summary["n_failed"] == 1
    fail = read_jsonl(tmp_path / "o" / "failures.jsonl")[0]
    assert fail["id"] == "b" and fail["reason"] == "decoder exploded" and fail["error"] == "RuntimeError"


def test_process_pool_matches_sequential(fake_env, tmp_path):
    e = fake_env
    common = dict(model="benchfake_mod:SlowCounter", videos=str(e["videos"]), ref=str(e["ref"]), score=False, progress=False)
    seq = run_bench(BenchConfig(out=str(tmp_path / "seq"), **common))
    par = run_bench(BenchConfig(out=str(tmp_path / "par"), workers=2, **common))
    assert seq["n_new"] == par["n_new"] == 6
    assert load_predictions(tmp_path / "seq" / "predictions.jsonl") == load_predictions(tmp_path / "par" / "predictions.jsonl")
    lines = (tmp_path / "par" / "predictions.jsonl").read_text().splitlines()
    assert len(lines) == 6 and all(json.loads(line)["id"] for line in lines)  # one writer: no interleaving


def test_video_lookup_variants(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.mp4").write_bytes(b"1")
    (tmp_path / "y.mp4").write_bytes(b"1")
    (tmp_path / "42.avi").write_bytes(b"1")
    assert resolve_video(tmp_path, {"id": "1", "video": "a/x.mp4"}) == tmp_path / "a" / "x.mp4"
    assert resolve_video(tmp_path, {"id": "1", "video": "DFEW/videos/y.mp4"}) == tmp_path / "y.mp4"  # basename
    assert resolve_video(tmp_path, {"id": "42", "video": "gone/z.mp4"}) == tmp_path / "42.avi"  # id + extension
    assert resolve_video(tmp_path, {"id": "7", "video": "q.mp4"}) is None


def test_bad_reference_file_is_one_line_error(tmp_path):
    bad = tmp_path / "ref.json"
    bad.write_text('[{"id": 1}]')
    (tmp_path / "v").mkdir()
    res = _cli(["bench", "run", "--model", "landmark", "--videos", str(tmp_path / "v"), "--ref", str(bad),
                "--out", str(tmp_path / "o")], dict(os.environ))
    assert res.returncode == 2
    assert res.stderr.strip().count("\n") == 0 and "needs 'id' and 'caption'" in res.stderr


@pytest.mark.parametrize("extra, needle", [
    (["--ray"], "pip install ray"),
    (["--model-path", "/nonexistent/facetrack-weights"], "/nonexistent/facetrack-weights"),
    (["--judge", "openai"], "--judge openai"),
])
def test_missing_dependency_is_one_line_nonzero(tmp_path, extra, needle):
    try:
        import ray  # noqa: F401
        if "--ray" in extra:
            pytest.skip("ray is installed here")
    except ImportError:
        pass
    ref = tmp_path / "ref.json"
    ref.write_text(json.dumps([{"id": "0", "video": "0.mp4", "caption": "c"}]))
    (tmp_path / "v").mkdir()
    res = _cli(["bench", "run", "--model", "facetrack", "--videos", str(tmp_path / "v"), "--ref", str(ref),
                "--out", str(tmp_path / "o"), *extra],
               {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "DFEC_JUDGE_API_KEY")})
    assert res.returncode == 3, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dfec: error:") and needle in lines[0]
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "o" / "predictions.jsonl").exists() or not read_jsonl(tmp_path / "o" / "predictions.jsonl")


@pytest.mark.parametrize("spec", ["qwen2-vl", "llava-onevision", "facetrack"])
def test_weight_adapters_check_paths(tmp_path, spec):
    with pytest.raises(MissingDependencyError) as ei:
        load_adapter(spec, AdapterOptions()).check()
    assert "--model-path" in ei.value.message
    (tmp_path / "empty").mkdir()
    if spec != "facetrack":
        with pytest.raises(MissingDependencyError, match="config.json"):
            load_adapter(spec, AdapterOptions(model_path=str(tmp_path / "empty"))).check()
    assert load_adapter(spec).requires()


def test_unknown_adapter_and_bad_module(tmp_path):
    with pytest.raises(DfecError, match="unknown captioner"):
        load_adapter("no-such-model")
    with pytest.raises(DfecError, match="cannot import"):
        load_adapter("no_such_pkg_xyz.mod:Cls")
    with pytest.raises(DfecError, match="no attribute"):
        load_adapter("dfec.bench.adapters:Nope")


# ------------------------------------------------------------------------------------------
# end to end with the training-free landmark captioner on real and synthetic clips
# ------------------------------------------------------------------------------------------


def _write_clip(path: Path, frames: list[np.ndarray], fps: int = 16) -> None:
    import av

    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as c:
        s = c.add_stream("mpeg4", rate=fps)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        for f in frames:
            for p in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)


def _synthetic_from_photo(photo: Path, out: Path, n: int = 32) -> None:
    """A slow zoom into a still photo (real faces, synthetic motion)."""
    from PIL import Image

    img = Image.open(photo).convert("RGB")
    W, H = img.size
    frames = []
    for i in range(n):
        s = 1.0 - 0.25 * i / (n - 1)
        w, h = int(W * s), int(H * s)
        x, y = (W - w) // 2, (H - h) // 2
        crop = img.crop((x, y, x + w, y + h)).resize((480, int(480 * H / W) // 2 * 2))
        frames.append(np.asarray(crop))
    _write_clip(out, frames)


def _have(mod: str) -> bool:
    try:
        importlib.import_module(mod)
        return True
    except ImportError:
        return False


def test_landmark_captioner_end_to_end(shared_data, tmp_path):
    if not (_have("dfec.dynamics.captioner") and _have("dfec.metrics.scorer") and _have("dfec.metrics.report")):
        pytest.skip("the landmark captioner or the scorer is not in this checkout")
    vids = tmp_path / "videos"
    (vids / "RAVDESS").mkdir(parents=True)
    os.symlink(shared_data / "01-01-08-02-01-01-19.mp4", vids / "RAVDESS" / "01-01-08-02-01-01-19.mp4")
    os.symlink(shared_data / "short_hamilton_clip.mp4", vids / "hamilton.mp4")
    _synthetic_from_photo(shared_data / "obama_and_biden.jpg", vids / "synthetic_zoom.mp4")
    _write_clip(vids / "blank.mp4", [np.full((96, 128, 3), 90 + 4 * i, np.uint8) for i in range(24)])
    # reference captions written by eye for these clips (not from FEC-Bench)
    refs = [
        {"id": "ravdess19", "video": "RAVDESS/01-01-08-02-01-01-19.mp4",
         "caption": "A man looks at the camera. At the beginning his eyebrows rise and his eyes widen in surprise. "
                    "Then he opens his mouth and speaks. Towards the end his mouth closes and his eyebrows stay raised."},
        {"id": "hamilton", "video": "DFEW/videos/hamilton.mp4",  # found by basename
         "caption": "A performer sings into a microphone. His mouth opens and closes as he sings, his eyebrows rise, "
                    "and a hand briefly covers part of his face."},
        {"id": "synthetic_zoom", "video": "synthetic_zoom.mp4",
         "caption": "Two men smile at the camera while the view slowly zooms in; their expressions do not change."},
        {"id": "blank", "video": "blank.mp4", "caption": "No face is visible."},
        {"id": "absent", "video": "DFEW/videos/9999.mp4", "caption": "A woman frowns."},
    ]
    ref = tmp_path / "ref.json"
    ref.write_text(json.dumps(refs))
    out = tmp_path / "runs" / "landmark"
    t0 = time.time()
    res = _cli(["bench", "run", "--model", "landmark", "--videos", str(vids), "--ref", str(ref), "--out", str(out),
                "--no-progress"], dict(os.environ, HF_HUB_OFFLINE="1"), timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    preds = load_predictions(out / "predictions.jsonl")
    fails = {f["id"]: f for f in read_jsonl(out / "failures.jsonl")}
    assert set(preds) | set(fails) == {r["id"] for r in refs}
    assert not set(preds) & set(fails)
    assert "absent" in fails and "not found" in fails["absent"]["reason"]
    for rid in ("ravdess19", "hamilton", "synthetic_zoom"):
        assert rid in preds, fails.get(rid)
        assert len(preds[rid].split()) >= 5
    results = json.loads((out / "results.json").read_text())
    assert results["bench"]["model"] == "landmark" and results["bench"]["n_predicted"] == len(preds)
    for key in ("cider", "rouge_l", "tem"):
        assert key in results["metrics"]
    assert results["metrics"]["rouge_l"] is not None and 0.0 <= results["metrics"]["rouge_l"] <= 1.0
    assert "| landmark |" in res.stdout
    print(f"landmark bench over {len(refs)} clips: {time.time() - t0:.1f}s")

    # a rerun resumes everything and redoes no video (only failures are retried)
    res2 = _cli(["bench", "run", "--model", "landmark", "--videos", str(vids), "--ref", str(ref), "--out", str(out),
                 "--no-progress", "--no-score"], dict(os.environ, HF_HUB_OFFLINE="1"), timeout=600)
    assert res2.returncode == 0, res2.stderr[-2000:]
    assert f"0 new, {len(preds)} resumed" in res2.stdout
    assert load_predictions(out / "predictions.jsonl") == preds


# A stand-in for Ray with the calls the runner uses (ray is not installed here): actors run in this
# process, ray.wait returns the first pending reference. It checks the runner's Ray scheduling code.
FAKE_RAY = '''
import types
CALLS = {"init": [], "actors": 0, "remote_opts": []}


class exceptions:
    class RayActorError(Exception):
        pass


def is_initialized():
    return bool(CALLS["init"])


def init(address=None, **kw):
    CALLS["init"].append(address)


class _Ref:
    def __init__(self, fn):
        self.fn = fn


class _Actor:
    def __init__(self, obj):
        self._obj = obj

    def __getattr__(self, name):
        method = getattr(self._obj, name)
        return types.SimpleNamespace(remote=lambda *a, **k: _Ref(lambda: method(*a, **k)))


def remote(**opts):
    CALLS["remote_opts"].append(opts)

    def deco(cls):
        class ActorClass:
            @staticmethod
            def remote(*a, **k):
                CALLS["actors"] += 1
                return _Actor(cls(*a, **k))
        return ActorClass
    return deco


def wait(refs, num_returns=1):
    return refs[:num_returns], refs[num_returns:]


def get(ref):
    return ref.fn()
'''


def test_ray_path_with_a_stand_in_cluster(fake_env, tmp_path, monkeypatch):
    e = fake_env
    ray_dir = tmp_path / "fakeray"
    (ray_dir / "ray").mkdir(parents=True)
    (ray_dir / "ray" / "__init__.py").write_text(FAKE_RAY)
    monkeypatch.syspath_prepend(str(ray_dir))
    monkeypatch.delitem(sys.modules, "ray", raising=False)
    import ray

    common = dict(model="benchfake_mod:SlowCounter", videos=str(e["videos"]), ref=str(e["ref"]), score=False, progress=False)
    seq = run_bench(BenchConfig(out=str(tmp_path / "seq"), **common))
    out = tmp_path / "ray"
    # first a partial run (3 ids), then the full one: resuming works the same under Ray
    run_bench(BenchConfig(out=str(out), ray=True, workers=2, ray_gpus_per_worker=0.5, ids=["0", "1", "2"], **common))
    summary = run_bench(BenchConfig(out=str(out), ray=True, workers=2, ray_gpus_per_worker=0.5, **common))
    assert summary["n_skipped"] == 3 and summary["n_new"] == 3
    assert load_predictions(out / "predictions.jsonl") == load_predictions(tmp_path / "seq" / "predictions.jsonl")
    assert ray.CALLS["actors"] == 4  # two actors per run
    assert ray.CALLS["remote_opts"][0] == {"num_cpus": 1, "num_gpus": 0.5}
    assert len(ray.CALLS["init"]) == 1


def test_scoring_writes_results_with_bench_info(fake_env, tmp_path):
    if not (_have("dfec.metrics.scorer") and _have("dfec.metrics.report")):
        pytest.skip("the scorer is not in this checkout")
    e = fake_env
    refs = e["refs"] + [{"id": "gone", "video": "DFEW/999.mp4", "caption": "The woman frowns, then looks down."}]
    ref = tmp_path / "ref.json"
    ref.write_text(json.dumps(refs))
    out = tmp_path / "scored"
    summary = run_bench(BenchConfig(model="benchfake_mod:SlowCounter", videos=str(e["videos"]), ref=str(ref),
                                    out=str(out), progress=False))
    res = json.loads((out / "results.json").read_text())
    assert summary["results"]["metrics"] == res["metrics"]
    assert res["bench"] == {**res["bench"], "model": "slow-counter", "n_refs": 7, "n_predicted": 6, "n_failed_videos": 1}
    assert res.get("missing_ids") == ["gone"]  # the failed video is reported, not silently dropped
    m = res["metrics"]
    assert 0.0 <= m["rouge_l"] <= 1.0 and m["cider"] is not None and m["tem"] is not None
    from dfec.bench.table import build_table

    md, rows = build_table([out], None)
    assert rows[0].label == "slow-counter" and rows[0].values["rouge_l"] == pytest.approx(m["rouge_l"])


def test_facetrack_adapter_with_a_tiny_checkpoint(shared_data, tmp_path, monkeypatch):
    if not (_have("dfec.model.tiny") and _have("dfec.model.inference") and _have("dfec.tracking.pipeline")):
        pytest.skip("FaceTrack-MM inference or the tracking pipeline is not in this checkout")
    from dfec.model.tiny import save_tiny_checkpoint

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    ckpt = save_tiny_checkpoint(tmp_path / "ft")
    vids = tmp_path / "v"
    vids.mkdir()
    os.symlink(shared_data / "01-01-08-02-01-01-19.mp4", vids / "r.mp4")
    ref = tmp_path / "ref.json"
    ref.write_text(json.dumps([{"id": "r", "video": "r.mp4", "caption": "He raises his eyebrows."}]))
    opts = AdapterOptions(model_path=str(ckpt), max_new_tokens=8, device="cpu")
    summary = run_bench(BenchConfig(model="facetrack", videos=str(vids), ref=str(ref), out=str(tmp_path / "o"),
                                    options=opts, score=False, progress=False))
    assert summary["n_new"] == 1, read_jsonl(tmp_path / "o" / "failures.jsonl")
    caption = load_predictions(tmp_path / "o" / "predictions.jsonl")["r"]
    from dfec.model.inference import load_captioner

    assert caption == load_captioner(str(ckpt), device="cpu").caption(str(vids / "r.mp4"), max_new_tokens=8)


def test_check_flag_lists_needs_and_entry_points_resolve(tmp_path, monkeypatch):
    ref = tmp_path / "ref.json"
    ref.write_text(json.dumps([{"id": "0", "video": "0.mp4", "caption": "c"}]))
    (tmp_path / "v").mkdir()
    base = ["bench", "run", "--videos", str(tmp_path / "v"), "--ref", str(ref), "--out", str(tmp_path / "o"), "--check"]
    res = _cli([*base, "--model", "qwen2-vl"], dict(os.environ))
    assert res.returncode == 3
    assert res.stdout.startswith("qwen2-vl needs: a local Qwen2-VL folder (--model-path)")
    assert res.stderr.strip().startswith("dfec: error: the Qwen2-VL weight folder is not available")
    res = _cli([*base, "--model", "dfec.bench.adapters:LandmarkAdapter"], dict(os.environ))
    assert res.returncode == 0 and "ok:" in res.stdout, res.stderr
    assert not (tmp_path / "o" / "predictions.jsonl").exists()

    # a third-party package can register an adapter under the dfec.bench.adapters entry-point group
    import importlib.metadata as md

    class EP:
        name = "my-captioner"

        def load(self):
            from dfec.bench.adapters import LandmarkAdapter

            return LandmarkAdapter

    monkeypatch.setattr(md, "entry_points", lambda group=None: [EP()] if group == "dfec.bench.adapters" else [])
    assert load_adapter("my-captioner").name == "landmark"


def test_subset_run_scores_cider_on_the_whole_benchmark_idf(fake_env, tmp_path):
    """--limit / --ids pick videos to run; CIDEr-D's document frequencies still come from the whole
    reference file (as `dfec score` does), so a subset's CIDEr is comparable with a full run's."""
    from dfec.metrics.caption_metrics import cider_d

    e = fake_env
    caps = ["The eyebrows rise and the mouth opens.", "The person looks ahead, then the eyebrows rise.",
            "The mouth opens wide.", "The eyebrows rise.", "The person looks ahead and the mouth opens.",
            "The eyes close."]
    refs = [{**r, "caption": c} for r, c in zip(e["refs"], caps)]
    ref = tmp_path / "ref.json"
    ref.write_text(json.dumps(refs))
    out = tmp_path / "sub"
    summary = run_bench(BenchConfig(model="benchfake_mod:SlowCounter", videos=str(e["videos"]), ref=str(ref),
                                    out=str(out), limit=2, progress=False))
    res = summary["results"]
    preds = load_predictions(out / "predictions.jsonl")
    assert set(preds) == {"0", "1"} and res["n_scored"] == 2 and res["n_missing"] == 0
    _, full_idf = cider_d(preds, {r["id"]: r["caption"] for r in refs})
    _, subset_idf = cider_d(preds, {r["id"]: r["caption"] for r in refs[:2]})
    assert full_idf != pytest.approx(subset_idf)  # the example is sensitive to the idf
    for rid in preds:
        assert res["per_sample"][rid]["cider"] == pytest.approx(full_idf[rid])
    assert res["n_cider_df_references"] == 6
