"""The shared batch runner (dfec.batch) behind `dfec caption --list`, `dfec data curate` and `dfec bench run`:
same output in-process, over a process pool and over Ray; one writer per output; workers die with
their parent; exit codes; the captioner registry on one clip."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dfec.batch import Parallel, caption_to_jsonl, output_lock, run_items
from dfec.captioners import registry
from dfec.captioners.base import CaptionerOptions, call_captioner
from dfec.cli import main
from dfec.errors import DfecError
from dfec.schema import Caption

REPO = Path(__file__).resolve().parents[1]

FAKE = '''
import hashlib, os, time
from pathlib import Path

from dfec.schema import Caption


class Digest:
    """Caption from the decoded frames (same clip, same caption, whichever process runs it)."""

    name = "digest"

    def __init__(self, options):
        self.delay = float(os.environ.get("BATCH_DELAY", "0"))
        pids = os.environ.get("BATCH_PID_LOG")
        if pids:
            with open(pids, "a") as fh:
                fh.write(f"{os.getpid()}\\n")

    def caption(self, video, tracking=None):
        time.sleep(self.delay)
        data = Path(video).read_bytes()
        return Caption(text=f"clip {hashlib.sha1(data).hexdigest()[:10]} of {len(data)} bytes: the mouth opens.",
                       metadata={"pid": os.getpid()})


class Legacy:
    name = "legacy"

    def caption(self, video_path):
        return "  The eyebrows rise.  "


class Tracked:
    name = "tracked"

    def __init__(self, options):
        pass

    def caption(self, video, tracking=None):
        return Caption(text=f"tracking given: {tracking is not None}")


class AlwaysFails:
    name = "always-fails"

    def __init__(self, options):
        pass

    def caption(self, video, tracking=None):
        raise RuntimeError("the endpoint is down")


class BrokenWeights:
    name = "broken-weights"

    def __init__(self, options):
        pass

    def caption(self, video, tracking=None):
        from dfec.errors import FatalRunError

        raise FatalRunError("cannot load the model: tensor sizes do not match", "/models/m")
'''


@pytest.fixture()
def mods(tmp_path, monkeypatch):
    d = tmp_path / "mods"
    d.mkdir()
    (d / "batchfake_mod.py").write_text(FAKE)
    monkeypatch.syspath_prepend(str(d))
    sys.modules.pop("batchfake_mod", None)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(d), str(REPO / "src")]))
    return {"dir": d, "env": env}


def _cli(args, env, **kw):
    return subprocess.run([sys.executable, "-m", "dfec.cli", *args], env=env, capture_output=True, text=True, **kw)


def _records(path: Path) -> dict:
    return {r["id"]: r for r in (json.loads(x) for x in path.read_text().splitlines() if x.strip())}


def _fake_clips(root: Path, n: int = 5) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(n):
        (root / f"c{i}.mp4").write_bytes(os.urandom(100) + bytes([i]))
        lines.append(f"c{i}.mp4")
    lst = root / "videos.txt"
    lst.write_text("\n".join(lines) + "\n")
    return lst


# --------------------------------------------------------------------------------------------
# same output on every path
# --------------------------------------------------------------------------------------------
def _paths():
    out = [("sequential", Parallel(workers=1)), ("pool", Parallel(workers=2))]
    try:
        import ray  # noqa: F401

        out.append(("ray", Parallel(workers=2, ray=True)))
    except ImportError:
        pass
    return out


def test_caption_list_same_records_in_process_pool_and_ray(mods, tmp_path):
    lst = _fake_clips(tmp_path / "clips")
    videos = [(Path(p).stem, str(tmp_path / "clips" / p)) for p in lst.read_text().split()]
    outs = {}
    for name, par in _paths():
        out = tmp_path / f"{name}.jsonl"
        s = caption_to_jsonl(videos, out, registry.worker_handler, ("batchfake_mod:Digest", CaptionerOptions()),
                             parallel=par, progress=False)
        assert s["n_written"] == 5 and s["n_failed"] == 0
        outs[name] = _records(out)
    assert set(outs) >= {"sequential", "pool"}
    for name in outs:
        assert outs[name] == outs["sequential"], name


def test_workers_really_run_in_other_processes(mods, tmp_path, monkeypatch):
    clips = sorted(_fake_clips(tmp_path).parent.glob("*.mp4"))
    items = [{"id": str(i), "video": p.name, "path": str(p)} for i, p in enumerate(clips)]
    log = tmp_path / "pids.log"
    monkeypatch.setenv("BATCH_PID_LOG", str(log))
    res = list(run_items(items, registry.worker_handler, ("batchfake_mod:Digest", CaptionerOptions()), Parallel(workers=2)))
    assert sorted(r["id"] for r in res) == [str(i) for i in range(len(items))] and all(r["ok"] for r in res)
    pids = {int(x) for x in log.read_text().split()}
    assert len(pids) == 2 and os.getpid() not in pids  # one captioner load per worker, none here


def test_a_captioner_that_cannot_work_stops_the_run_once_on_every_path(mods, tmp_path):
    """FatalRunError (weights that do not load) ends the run with that one error, in process and in
    a pool, instead of one failure record per video."""
    lst = _fake_clips(tmp_path / "clips")
    videos = [(Path(p).stem, str(tmp_path / "clips" / p)) for p in lst.read_text().split()]
    for name, par in (("sequential", Parallel(workers=1)), ("pool", Parallel(workers=2))):
        out = tmp_path / f"{name}.jsonl"
        with pytest.raises(DfecError, match="cannot load the model: tensor sizes do not match"):
            caption_to_jsonl(videos, out, registry.worker_handler, ("batchfake_mod:BrokenWeights", CaptionerOptions()),
                             parallel=par, progress=False)
        assert not out.exists() or not out.read_text().strip(), name


def test_landmark_list_same_captions_in_process_and_pool(shared_data, tmp_path):
    """The real captioner on real clips: the process pool gives the same records as one process."""
    clips = [shared_data / "01-01-08-02-01-01-19.mp4", shared_data / "wild" / "emollama__sample_00001073.mp4"]
    lst = tmp_path / "videos.txt"
    lst.write_text("".join(f"{c.stem}\t{c}\n" for c in clips))
    outs = {}
    for name, extra in (("sequential", []), ("pool", ["--workers", "2"])):
        out = tmp_path / f"{name}.jsonl"
        assert main(["caption", "--list", str(lst), "--out", str(out), "--quiet", *extra]) == 0
        outs[name] = _records(out)
    assert outs["pool"] == outs["sequential"] and len(outs["pool"]) == 2
    assert all(len(r["caption"].split()) >= 5 for r in outs["pool"].values())


def test_curate_same_rows_in_process_and_pool(tmp_path):
    from dfec.data.curate import CurateConfig, curate

    av = pytest.importorskip("av")
    import numpy as np

    clips = tmp_path / "clips"
    clips.mkdir()
    for k in range(3):
        with av.open(str(clips / f"c{k}.mp4"), "w") as c:
            s = c.add_stream("mpeg4", rate=8)
            s.width = s.height = 64
            s.pix_fmt = "yuv420p"
            for i in range(16):
                f = np.full((64, 64, 3), (40 * k + 7 * i * (k > 0)) % 256, np.uint8)
                for p in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                    c.mux(p)
            for p in s.encode():
                c.mux(p)
    cfg = CurateConfig(check_face=False, check_people=False)
    rows = {}
    for name, par in (("sequential", Parallel(workers=1)), ("pool", Parallel(workers=2))):
        res = curate(clips, tmp_path / name, cfg, progress=False, parallel=par)
        rows[name] = [{k: v for k, v in r.items() if k != "seconds"} for r in res.rows]
    assert rows["pool"] == rows["sequential"]
    assert [r["kept"] for r in rows["pool"]] == [False, True, True]  # c0 is a still frame


# --------------------------------------------------------------------------------------------
# one writer per output
# --------------------------------------------------------------------------------------------
def test_output_lock_refuses_a_second_writer(tmp_path):
    out = tmp_path / "preds.jsonl"
    with output_lock(out):
        with pytest.raises(DfecError, match="another dfec process is writing this output"):
            with output_lock(out):
                pass
    with output_lock(out):  # released after the block
        pass


def test_second_writer_refused_on_every_command(mods, tmp_path, capsys):
    lst = _fake_clips(tmp_path / "clips", 2)
    preds = tmp_path / "preds.jsonl"
    with output_lock(preds):
        assert main(["caption", "--list", str(lst), "--out", str(preds), "--captioner", "batchfake_mod:Digest",
                     "--quiet"]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("dfec: error:") and "another dfec process" in err and "\n" not in err
    assert not preds.exists() or preds.read_text() == ""

    refs = tmp_path / "ref.json"
    refs.write_text(json.dumps([{"id": "c0", "video": "c0.mp4", "caption": "A man smiles."}]))
    run = tmp_path / "run"
    with output_lock(run / "predictions.jsonl"):
        assert main(["bench", "run", "--model", "batchfake_mod:Digest", "--videos", str(tmp_path / "clips"), "--ref",
                     str(refs), "--out", str(run), "--no-score", "--no-progress"]) == 2
        assert "another dfec process" in capsys.readouterr().err
    assert not (run / "predictions.jsonl").exists()

    cur = tmp_path / "cur"
    with output_lock(cur / "curation.jsonl"):
        assert main(["data", "curate", str(tmp_path / "clips"), "--out", str(cur), "--no-face", "--no-people",
                     "--no-progress", "--workers", "1"]) == 2
        assert "another dfec process" in capsys.readouterr().err


def test_two_concurrent_caption_lists_never_duplicate_ids(mods, tmp_path):
    lst = _fake_clips(tmp_path / "clips", 4)
    preds = tmp_path / "preds.jsonl"
    env = dict(mods["env"], BATCH_DELAY="1.5")
    args = ["caption", "--list", str(lst), "--out", str(preds), "--captioner", "batchfake_mod:Digest", "--quiet"]
    a = subprocess.Popen([sys.executable, "-m", "dfec.cli", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60  # start the second run once the first holds the output (a loaded machine is slow)
    while time.time() < deadline and not (preds.exists() and preds.read_text().strip()):
        time.sleep(0.05)
    assert a.poll() is None, "the first run ended before the second started"
    b = _cli(args, env, timeout=120)
    a_out, a_err = a.communicate(timeout=120)
    assert a.returncode == 0, a_err
    assert b.returncode == 2 and "another dfec process is writing this output" in b.stderr
    ids = [json.loads(x)["id"] for x in preds.read_text().splitlines()]
    assert sorted(ids) == ["c0", "c1", "c2", "c3"]


# --------------------------------------------------------------------------------------------
# worker lifetime and exit codes
# --------------------------------------------------------------------------------------------
def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_die_when_the_parent_is_killed(mods, tmp_path):
    clips = tmp_path / "clips"
    _fake_clips(clips, 6)
    refs = tmp_path / "ref.json"
    refs.write_text(json.dumps([{"id": f"c{i}", "video": f"c{i}.mp4", "caption": "c"} for i in range(6)]))
    log = tmp_path / "pids.log"
    env = dict(mods["env"], BATCH_DELAY="30", BATCH_PID_LOG=str(log))
    parent = subprocess.Popen([sys.executable, "-m", "dfec.cli", "bench", "run", "--model", "batchfake_mod:Digest",
                               "--videos", str(clips), "--ref", str(refs), "--out", str(tmp_path / "run"), "--workers", "2",
                               "--no-score", "--no-progress"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        pids: list[int] = []
        while time.time() < deadline:
            pids = [int(x) for x in log.read_text().split()] if log.exists() else []
            if len([p for p in pids if p != parent.pid]) >= 2:  # the parent's own load + 2 workers
                break
            time.sleep(0.2)
        workers = [p for p in pids if p != parent.pid]
        assert len(workers) >= 2, "workers did not start"
        time.sleep(0.5)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        deadline = time.time() + 10
        while time.time() < deadline and any(_alive(p) for p in workers):
            time.sleep(0.2)
        assert not [p for p in workers if _alive(p)], "orphaned workers outlived their parent"
    finally:
        if parent.poll() is None:
            parent.kill()


def test_parent_watch_ends_an_orphan_without_the_kernel_signal():
    """The portable fallback: a worker whose recorded parent is gone exits at once."""
    code = "from dfec.batch import die_with_parent; die_with_parent(parent_pid=1); print('still here')"
    res = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=str(REPO / "src")),
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 1 and "still here" not in res.stdout


def test_bench_exits_nonzero_when_every_video_failed(mods, tmp_path):
    clips = tmp_path / "clips"
    _fake_clips(clips, 3)
    refs = tmp_path / "ref.json"
    refs.write_text(json.dumps([{"id": f"c{i}", "video": f"c{i}.mp4", "caption": "c"} for i in range(3)]))
    res = _cli(["bench", "run", "--model", "batchfake_mod:AlwaysFails", "--videos", str(clips), "--ref", str(refs),
                "--out", str(tmp_path / "run"), "--no-progress"], mods["env"], timeout=300)
    assert res.returncode == 1
    err = res.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("dfec: error:") and "no video captioned: all 3 failed" in err[0]
    assert len((tmp_path / "run" / "failures.jsonl").read_text().splitlines()) == 3
    # one success is enough for exit 0
    res = _cli(["bench", "run", "--model", "batchfake_mod:Digest", "--videos", str(clips), "--ref", str(refs),
                "--out", str(tmp_path / "run2"), "--no-progress", "--no-score"], mods["env"], timeout=300)
    assert res.returncode == 0, res.stderr


def test_facetrack_with_pickle_only_weights_is_refused_by_bench_and_caption(tmp_path):
    pytest.importorskip("torch")
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    (ckpt / "config.json").write_text(json.dumps({"model_type": "facetrack_mm"}))
    (ckpt / "pytorch_model.bin").write_bytes(b"\x80\x04not really a pickle")
    clips = tmp_path / "clips"
    _fake_clips(clips, 1)
    refs = tmp_path / "ref.json"
    refs.write_text(json.dumps([{"id": "c0", "video": "c0.mp4", "caption": "c"}]))
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"), HF_HUB_OFFLINE="1")
    bench = _cli(["bench", "run", "--model", "facetrack", "--model-path", str(ckpt), "--videos", str(clips), "--ref",
                  str(refs), "--out", str(tmp_path / "run"), "--no-progress"], env, timeout=300)
    cap = _cli(["caption", str(clips / "c0.mp4"), "--model", str(ckpt), "--out", str(tmp_path / "o")], env, timeout=300)
    for res in (bench, cap):
        assert res.returncode == 3, res.stderr
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and "safetensors" in lines[0] and str(ckpt) in lines[0]
    assert not (tmp_path / "run" / "predictions.jsonl").exists()


# --------------------------------------------------------------------------------------------
# the registry on one clip
# --------------------------------------------------------------------------------------------
def test_caption_cli_runs_any_registry_captioner_on_one_clip(mods, tmp_path, capsys):
    clip = tmp_path / "c.mp4"
    clip.write_bytes(b"x" * 50)
    out = tmp_path / "o"
    assert main(["caption", str(clip), "--captioner", "batchfake_mod:Digest", "--out", str(out)]) == 0
    text = capsys.readouterr().out.strip()
    assert text.startswith("clip ") and "50 bytes" in text
    assert (out / "caption.txt").read_text().strip() == text
    assert main(["caption", str(clip), "--captioner", "no-such-captioner"]) == 2
    assert "unknown captioner" in capsys.readouterr().err
    assert main(["caption", str(clip), "--captioner", "openai", "--config", "x.yaml"]) == 2
    assert "--config sets the landmark captioner" in capsys.readouterr().err


def test_call_captioner_wraps_legacy_and_passes_tracking(mods):
    import batchfake_mod

    legacy = registry.load("batchfake_mod:Legacy")
    cap = call_captioner(legacy, "v.mp4")
    assert isinstance(cap, Caption) and cap.text.strip() == "The eyebrows rise." and cap.captioner == "legacy"
    assert cap.video == "v.mp4"
    tracked = batchfake_mod.Tracked(None)
    assert call_captioner(tracked, "v.mp4").text == "tracking given: False"
    assert call_captioner(tracked, "v.mp4", tracking=object()).text == "tracking given: True"
    assert Caption.from_json(json.loads(json.dumps(cap.to_json()))) == cap


def test_every_builtin_name_resolves_and_declares_its_needs():
    for name in registry.BUILTIN:
        c = registry.load(name, CaptionerOptions())
        assert callable(c.caption) and registry.requires(c)
    from dfec.bench.adapters import BUILTIN, LandmarkAdapter

    assert BUILTIN["landmark"] is LandmarkAdapter is registry.resolve_class("landmark")


def test_ray_path_skips_cleanly_without_ray(mods, tmp_path, capsys):
    try:
        import ray  # noqa: F401
        pytest.skip("ray is installed: the Ray path is compared in test_caption_list_same_records_...")
    except ImportError:
        pass
    lst = _fake_clips(tmp_path / "clips", 2)
    assert main(["caption", "--list", str(lst), "--out", str(tmp_path / "p.jsonl"), "--captioner",
                 "batchfake_mod:Digest", "--ray", "--quiet"]) == 3
    assert "Ray (--ray) is not available" in capsys.readouterr().err


def test_plain_caption_function_keeps_the_old_jsonl_entry_point(tmp_path):
    """dfec.jsonl.caption_to_jsonl(videos, caption_fn, out): same runner, same lock, old signature."""
    from dfec.jsonl import caption_to_jsonl as old_entry

    def caption(path):
        if path.endswith("bad.mp4"):
            raise DfecError("not a readable video", path)
        return f"caption of {Path(path).name}"

    out = tmp_path / "p.jsonl"
    videos = [("a", "a.mp4"), ("bad", "bad.mp4")]
    s = old_entry(videos, caption, out, progress=False)
    assert (s["n_written"], s["n_failed"], s["failed"]) == (1, 1, ["bad"])
    assert _records(out) == {"a": {"id": "a", "video": "a.mp4", "caption": "caption of a.mp4"}}
    with output_lock(out), pytest.raises(DfecError, match="another dfec process"):
        old_entry(videos, caption, out, progress=False)
    with pytest.raises(ZeroDivisionError):  # a bug is not a per-video failure
        old_entry([("z", "z.mp4")], lambda p: 1 / 0, out, progress=False)
