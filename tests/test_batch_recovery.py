"""dfec.batch when things break: a worker process that dies takes only its own item with it, the
Ray path (driven through an in-process stand-in for ``ray``) gives the same records and stops on a
FatalRunError, and every dfec error survives pickling (it crosses process pools and Ray)."""
from __future__ import annotations

import inspect
import pickle
import sys
import types
from pathlib import Path

import pytest

from dfec import errors
from dfec.batch import Parallel, _iter_pool, caption_to_jsonl, run_items
from dfec.captioners import registry
from dfec.captioners.base import CaptionerOptions
from dfec.errors import DfecError, FatalRunError

from test_batch import _fake_clips, _records, mods  # noqa: F401  (the shared fake captioners)

CRASH = '''
import os


def setup(crash_on):
    def handle(item):
        if item["id"] in crash_on:
            os._exit(7)  # a native crash / the OOM killer: no exception, the process is gone
        return {"id": item["id"], "ok": True, "pid": os.getpid()}
    return handle
'''


@pytest.fixture()
def crashmod(tmp_path, monkeypatch):
    d = tmp_path / "crashmods"
    d.mkdir()
    (d / "batchcrash_mod.py").write_text(CRASH)
    monkeypatch.syspath_prepend(str(d))
    sys.modules.pop("batchcrash_mod", None)
    import batchcrash_mod

    return batchcrash_mod


def test_a_worker_that_dies_fails_only_its_own_item(crashmod):
    items = [{"id": str(i)} for i in range(8)]
    res = list(run_items(items, crashmod.setup, ({"5"},), Parallel(workers=2)))
    assert sorted(r["id"] for r in res) == [str(i) for i in range(8)]
    failed = [r for r in res if not r["ok"]]
    assert [r["id"] for r in failed] == ["5"]
    assert failed[0]["error"] == "BrokenProcessPool" and "died while running this item" in failed[0]["reason"]


def test_pools_that_keep_breaking_stop_after_the_restart_cap(crashmod):
    items = [{"id": str(i)} for i in range(6)]
    res = list(_iter_pool(items, crashmod.setup, ({"0", "1", "2", "3", "4", "5"},), 2, _fail, max_restarts=1))
    assert sorted(r["id"] for r in res) == [str(i) for i in range(6)] and not any(r["ok"] for r in res)
    assert any("kept dying (2 broken pools)" in r["reason"] for r in res)


def _fail(item, reason, error):
    return {"id": item["id"], "ok": False, "reason": reason, "error": error}


# --------------------------------------------------------------------------------------------
# Ray, through an in-process stand-in
# --------------------------------------------------------------------------------------------
class RayActorError(Exception):
    pass


class RayTaskError(Exception):
    """Like Ray's: carries the worker's exception as ``cause`` and, where it can, is also an instance
    of the cause's type (Ray builds the class ``RayTaskError(<Cause>)``)."""

    def __init__(self, cause):
        super().__init__(f"ray task failed: {cause!r}")
        self.cause = cause


def _ray_error(exc: BaseException) -> Exception:
    cause = pickle.loads(pickle.dumps(exc))  # a task's exception crosses processes in Ray
    try:
        dual = type(f"RayTaskError({type(cause).__name__})", (RayTaskError, type(cause)), {})
        err = dual.__new__(dual)
        RayTaskError.__init__(err, cause)
        return err
    except TypeError:
        return RayTaskError(cause)


def fake_ray() -> types.ModuleType:
    ray = types.ModuleType("ray")
    ray.exceptions = types.SimpleNamespace(RayActorError=RayActorError, RayTaskError=RayTaskError)
    ray.calls = {"init": 0, "actors": 0, "killed": 0, "shutdown": 0}

    class Ref:
        def __init__(self, fn):
            try:
                self.value, self.exc = fn(), None
            except Exception as exc:
                self.value, self.exc = None, exc

    class Actor:
        def __init__(self, cls, args):
            ray.calls["actors"] += 1
            try:
                self.obj, self.dead = cls(*pickle.loads(pickle.dumps(args))), None
            except Exception as exc:
                self.obj, self.dead = None, exc

        def __getattr__(self, name):
            def call(*a):
                if self.dead is not None:
                    raise RayActorError(f"the actor died in __init__: {self.dead}")
                try:
                    return pickle.loads(pickle.dumps(getattr(self.obj, name)(*pickle.loads(pickle.dumps(a)))))
                except RayActorError:
                    raise
                except Exception as exc:
                    raise _ray_error(exc) from None
            return types.SimpleNamespace(remote=lambda *a: Ref(lambda: call(*a)))

    def remote(**opts):
        return lambda cls: types.SimpleNamespace(remote=lambda *a: Actor(cls, a))

    def get(ref):
        if isinstance(ref, list):
            return [get(r) for r in ref]
        if ref.exc is not None:
            raise ref.exc
        return ref.value

    ray.is_initialized = lambda: ray.calls["init"] > 0
    ray.init = lambda address=None, **kw: ray.calls.__setitem__("init", ray.calls["init"] + 1)
    ray.cluster_resources = lambda: {"CPU": 4.0}
    ray.remote = remote
    ray.get = get
    ray.wait = lambda refs, num_returns=1: (refs[:num_returns], refs[num_returns:])
    ray.put = lambda value: Ref(lambda: value)
    ray.kill = lambda actor: ray.calls.__setitem__("killed", ray.calls["killed"] + 1)
    ray.shutdown = lambda: ray.calls.__setitem__("shutdown", ray.calls["shutdown"] + 1)
    return ray


@pytest.fixture()
def ray(monkeypatch):
    r = fake_ray()
    monkeypatch.setitem(sys.modules, "ray", r)
    return r


def test_ray_path_gives_the_in_process_records(mods, ray, tmp_path):  # noqa: F811
    lst = _fake_clips(tmp_path / "clips")
    videos = [(Path(p).stem, str(tmp_path / "clips" / p)) for p in lst.read_text().split()]
    outs = {}
    for name, par in (("sequential", Parallel(workers=1)), ("ray", Parallel(workers=2, ray=True))):
        out = tmp_path / f"{name}.jsonl"
        s = caption_to_jsonl(videos, out, registry.worker_handler, ("batchfake_mod:Digest", CaptionerOptions()),
                             parallel=par, progress=False)
        assert s["n_written"] == 5 and s["n_failed"] == 0, name
        outs[name] = _records(out)
    assert outs["ray"] == outs["sequential"]
    assert ray.calls["init"] == 1 and ray.calls["actors"] == 2


def test_ray_path_records_an_item_failure_and_goes_on(mods, ray, tmp_path):  # noqa: F811
    items = [{"id": str(i), "video": f"v{i}.mp4", "path": str(tmp_path / f"v{i}.mp4")} for i in range(3)]
    res = list(run_items(items, registry.worker_handler, ("batchfake_mod:AlwaysFails", CaptionerOptions()),
                         Parallel(workers=2, ray=True)))
    assert sorted(r["id"] for r in res) == ["0", "1", "2"] and not any(r["ok"] for r in res)


def test_ray_path_stops_on_a_fatal_error(mods, ray, tmp_path):  # noqa: F811
    lst = _fake_clips(tmp_path / "clips")
    videos = [(Path(p).stem, str(tmp_path / "clips" / p)) for p in lst.read_text().split()]
    out = tmp_path / "ray.jsonl"
    with pytest.raises(FatalRunError, match="cannot load the model: tensor sizes do not match") as ei:
        caption_to_jsonl(videos, out, registry.worker_handler, ("batchfake_mod:BrokenWeights", CaptionerOptions()),
                         parallel=Parallel(workers=2, ray=True), progress=False)
    assert ei.value.path == "/models/m" and not isinstance(ei.value, RayTaskError)
    assert not out.exists() or not out.read_text().strip()


# --------------------------------------------------------------------------------------------
# pickling
# --------------------------------------------------------------------------------------------
def _example(cls):
    params = [p for p in inspect.signature(cls.__init__).parameters.values()
              if p.name != "self" and p.default is inspect.Parameter.empty]
    return cls(*[f"{p.name} text" for p in params])


def test_every_dfec_error_survives_pickling():
    classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, DfecError)]
    assert len(classes) >= 3
    for cls in classes:
        exc = _example(cls)
        back = pickle.loads(pickle.dumps(exc))
        assert type(back) is cls
        assert (back.reason, back.path, back.exit_code, back.message, str(back)) == \
            (exc.reason, exc.path, exc.exit_code, exc.message, str(exc)), cls
    back = pickle.loads(pickle.dumps(FatalRunError("bad weights", "/m", 4)))
    assert (back.path, back.reason, back.exit_code) == ("/m", "bad weights", 4)
