"""``dfec bench run``: caption every FEC-Bench reference video with one model, then score.

Paper, FEC-Bench (Table 1): each model captions each test video; the captions are scored against the
references with the judge scores (Correctness, Detail, Context, Temporal), CIDEr, ROUGE-L, AutoDQ and
TEM. This module is the harness around that:

* ``OUT/predictions.jsonl``: one ``{"id", "video", "caption", "model", "seconds"}`` line per video,
  appended and flushed (and fsync'ed) as soon as it is captioned, so a crash or Ctrl-C loses nothing;
  a rerun skips every id already there (a torn last line from a hard kill is dropped first);
* ``OUT/failures.jsonl``: ``{"id", "video", "reason", "error"}`` per video that could not be
  captioned (a missing video file is a recorded failure, not a crash); failed ids are retried on a
  rerun and the file holds the latest attempt's failures;
* ``OUT/run.json``: the run's configuration; ``OUT/results.json`` (+ Markdown table): the scores from
  ``dfec.metrics.scorer.score`` written by ``dfec.metrics.report.write_results``.

Parallelism: ``--workers N`` runs N worker processes on this machine, each holding its own copy of
the adapter (models load once per worker, each with cpu_count // N torch threads so the workers
share the cores instead of oversubscribing them); ``--ray`` spreads the same work over a Ray cluster with
one actor per worker. In both cases only the parent writes the JSONL files, so they never interleave.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from ..errors import DfecError, MissingDependencyError
from ..jsonl import JsonlWriter, read_jsonl
from ..redact import is_secret_name, redact_json, register_secret
from ..metrics.references import load_references
from .adapters import AdapterOptions, check_adapter, load_adapter

VIDEO_EXTS = (".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".flv", ".mpg", ".mpeg")


@dataclass
class BenchConfig:
    """One ``dfec bench run``. Defaults: sequential, offline judge, the paper's 16 frames."""

    model: str
    videos: str
    ref: str
    out: str
    options: AdapterOptions = field(default_factory=AdapterOptions)
    workers: int = 1
    ray: bool = False
    ray_address: str | None = None
    ray_gpus_per_worker: float = 0.0
    judge: str = "offline"
    judge_options: dict = field(default_factory=dict)  # e.g. model, base_url, api_key for the openai judge
    score: bool = True
    limit: int | None = None
    ids: list[str] | None = None
    progress: bool = True

    def __post_init__(self):
        for k, v in self.judge_options.items():
            if is_secret_name(k):
                register_secret(v)

    def to_json(self) -> dict:
        d = asdict(self)
        d["options"] = self.options.to_json()
        d["judge_options"] = {k: ("***" if is_secret_name(k) else v) for k, v in self.judge_options.items()}
        return redact_json(d)  # never a key in run.json, even one typed into another setting


# --------------------------------------------------------------------------------------------
# references and videos
# --------------------------------------------------------------------------------------------


def resolve_video(videos_dir: str | Path, rec: dict) -> Path | None:
    """Find the video of a reference record: DIR/<video>, DIR/<basename>, or DIR/<id>.<ext>."""
    root = Path(videos_dir)
    video = rec.get("video") or ""
    candidates = []
    if video:
        candidates += [root / video, root / Path(video).name]
        stem = Path(video).stem
        candidates += [root / f"{stem}{ext}" for ext in VIDEO_EXTS]
    rid = str(rec["id"])
    candidates += [root / rid] + [root / f"{rid}{ext}" for ext in VIDEO_EXTS]
    for c in candidates:
        if c.is_file():
            return c
    return None


def load_predictions(path: str | Path) -> dict[str, str]:
    """``{id: caption}`` from a predictions JSONL (the last line for an id wins)."""
    return {str(r["id"]): str(r.get("caption", "")) for r in read_jsonl(path) if "id" in r}


# --------------------------------------------------------------------------------------------
# workers
# --------------------------------------------------------------------------------------------

_WORKER = None  # the adapter of this worker process


def _init_worker(spec: str, options: AdapterOptions, threads: int | None = None) -> None:
    global _WORKER
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is handled by the parent, which stops us
    if threads:  # share the cores between workers instead of each one using all of them
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            os.environ.setdefault(var, str(threads))
    try:
        import torch

        if threads:
            torch.set_num_threads(threads)
        n_gpu = torch.cuda.device_count() if options.device is None else 0
    except ImportError:
        n_gpu = 0
    if n_gpu > 1:  # several GPUs: worker k uses cuda:(k mod n), instead of all piling onto cuda:0
        import dataclasses
        import multiprocessing as mp

        k = (mp.current_process()._identity or (1,))[0] - 1
        options = dataclasses.replace(options, device=f"cuda:{k % n_gpu}")
    _WORKER = load_adapter(spec, options)


def caption_one(adapter, item: dict) -> dict:
    """Caption one work item; never raises for a per-video problem (returns a failure record)."""
    t0 = time.perf_counter()
    rid, video = item["id"], item.get("path")
    if not video:
        return {"id": rid, "video": item["video"], "ok": False, "reason": "video file not found", "error": "FileNotFoundError"}
    try:
        caption = adapter.caption(video)
        if not isinstance(caption, str):
            raise TypeError(f"adapter returned {type(caption).__name__}, not str")
        caption = caption.strip()
        if not caption:
            raise ValueError("empty caption")
        return {"id": rid, "video": item["video"], "ok": True, "caption": caption, "seconds": round(time.perf_counter() - t0, 3)}
    except KeyboardInterrupt:
        raise
    except DfecError as exc:
        return {"id": rid, "video": item["video"], "ok": False, "reason": exc.message, "error": type(exc).__name__}
    except Exception as exc:  # one bad video must not stop a benchmark run
        msg = str(exc).strip().replace("\n", " ")[:300] or type(exc).__name__
        return {"id": rid, "video": item["video"], "ok": False, "reason": msg, "error": type(exc).__name__}


def _worker_caption(item: dict) -> dict:
    return caption_one(_WORKER, item)


class _RayWorker:
    """One Ray actor: holds one adapter instance, captions items sent to it."""

    def __init__(self, spec: str, options: AdapterOptions):
        import sys

        sys.path[:0] = [p for p in options.extra.get("_sys_path", []) if p not in sys.path]
        self.adapter = load_adapter(spec, options)

    def ready(self) -> bool:
        """Returns once the actor is placed and its adapter loaded (the runner waits on it)."""
        return True

    def caption(self, item: dict) -> dict:
        return caption_one(self.adapter, item)


def _iter_local(cfg: BenchConfig, items: list[dict], adapter) -> Iterator[dict]:
    if cfg.workers <= 1 or len(items) <= 1:
        for item in items:
            yield caption_one(adapter, item)
        return
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # spawn: safe with CUDA and threads in the parent; each worker builds its own adapter once
    ctx = mp.get_context("spawn")
    n = min(cfg.workers, len(items))
    threads = max(1, (os.cpu_count() or 1) // n)
    ex = ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=_init_worker,
                             initargs=(cfg.model, cfg.options, threads))
    try:
        futures = [ex.submit(_worker_caption, it) for it in items]
        by_future = dict(zip(futures, items))
        for fut in as_completed(futures):
            try:
                yield fut.result()
            except Exception as exc:  # a worker died (e.g. out of memory): record, keep going
                it = by_future[fut]
                yield {"id": it["id"], "video": it["video"], "ok": False,
                       "reason": f"worker process failed: {str(exc)[:200] or type(exc).__name__}", "error": type(exc).__name__}
    except BaseException:  # Ctrl-C or the consumer stopped: stop the workers now, keep what is written
        procs = list((getattr(ex, "_processes", None) or {}).values())
        ex.shutdown(wait=False, cancel_futures=True)
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
        raise
    else:
        ex.shutdown(wait=True)


def _ray_room(ray, gpus_per_worker: float) -> int | None:
    """How many workers (1 CPU + ``gpus_per_worker`` GPUs each) the cluster's nodes hold now (None: unknown)."""
    try:
        res = ray.cluster_resources()
    except Exception:
        return None
    cpu, gpu = float(res.get("CPU", 0) or 0), float(res.get("GPU", 0) or 0)
    room = int(cpu)
    if gpus_per_worker > 0:
        room = min(room, int(gpu / gpus_per_worker + 1e-9))
    return room


def _iter_ray(cfg: BenchConfig, items: list[dict]) -> Iterator[dict]:
    """Spread items over a Ray cluster: ``workers`` actors, Ray schedules them; results stream back.

    Items are handed only to actors that have *started* (their ``ready`` call returned): an actor
    Ray cannot place yet (more ``--workers`` than the cluster has CPUs/GPUs) simply gets no work,
    instead of holding items that would never run. Actors still waiting at the end are killed. A
    cluster with no room for even one worker is a one-line error, not a hang.

    Resuming works exactly as locally because the parent writes the same predictions JSONL.
    """
    try:
        import ray
    except ImportError:
        raise MissingDependencyError("Ray (--ray)", "pip install ray  (or pip install 'dfec[ray]'), or drop --ray") from None
    import sys
    from collections import deque

    if not ray.is_initialized():  # an existing cluster (--ray-address / RAY_ADDRESS) or a local one
        ray.init(address=cfg.ray_address or os.environ.get("RAY_ADDRESS") or None, ignore_reinit_error=True)
    import dataclasses

    gpus = float(cfg.ray_gpus_per_worker or 0)
    room = _ray_room(ray, gpus)
    if room is not None and room < 1:
        have = ray.cluster_resources()
        raise DfecError(f"the Ray cluster has no room for one worker (each needs 1 CPU{f' + {gpus:g} GPU' if gpus else ''}; "
                        f"the cluster has {have.get('CPU', 0):g} CPU, {have.get('GPU', 0):g} GPU); lower --ray-gpus",
                        cfg.ray_address or "ray")
    # actors import custom adapters (module:Class) from the same paths as this process
    opts = dataclasses.replace(cfg.options, extra={**cfg.options.extra, "_sys_path": [p for p in sys.path if p]})
    n = min(max(1, cfg.workers), len(items))
    actor_cls = ray.remote(num_cpus=1, num_gpus=gpus)(_RayWorker)

    def start():
        a = actor_cls.remote(cfg.model, opts)
        starting[a.ready.remote()] = a

    starting: dict = {}  # ready() reference -> actor not yet known to run
    free: list = []  # started actors without work
    pending: dict = {}  # caption reference -> (actor, item)
    queue = deque(items)
    last_death = ""
    for _ in range(n):
        start()
    try:
        while queue or pending:
            while queue and free:  # one item in flight per started actor
                actor, item = free.pop(), queue.popleft()
                pending[actor.caption.remote(item)] = (actor, item)
            if not pending and not starting:  # every actor died while starting
                while queue:
                    item = queue.popleft()
                    yield {"id": item["id"], "video": item["video"], "ok": False,
                           "reason": f"no Ray worker could start: {last_death[:200]}", "error": "RayActorError"}
                break
            ready, _ = ray.wait(list(pending) + (list(starting) if queue else []), num_returns=1)
            for ref in ready:
                if ref in starting:
                    actor = starting.pop(ref)
                    try:
                        ray.get(ref)
                        free.append(actor)
                    except Exception as exc:  # the adapter failed to load in this actor
                        last_death = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
                    continue
                actor, item = pending.pop(ref)
                try:
                    res = ray.get(ref)
                    free.append(actor)
                except ray.exceptions.RayActorError as exc:  # the actor died: replace it, record the video
                    start()
                    res = {"id": item["id"], "video": item["video"], "ok": False,
                           "reason": f"ray actor died: {str(exc)[:200]}", "error": type(exc).__name__}
                except Exception as exc:
                    free.append(actor)
                    res = {"id": item["id"], "video": item["video"], "ok": False,
                           "reason": f"ray task failed: {str(exc)[:200]}", "error": type(exc).__name__}
                yield res
    finally:
        for actor in list(starting.values()):  # never placed (or still loading): free their reservation
            try:
                ray.kill(actor)
            except Exception:
                pass


# --------------------------------------------------------------------------------------------
# the run
# --------------------------------------------------------------------------------------------


def run_bench(cfg: BenchConfig) -> dict:
    """Caption every reference video not yet predicted, then score; returns a summary dict."""
    refs = all_refs = load_references(cfg.ref)
    if cfg.ids:
        wanted = set(map(str, cfg.ids))
        refs = [r for r in refs if r["id"] in wanted]
    if cfg.limit:
        refs = refs[: cfg.limit]
    videos_dir = Path(cfg.videos)
    if not videos_dir.is_dir():
        raise DfecError("no such video folder", videos_dir)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)

    if cfg.ray:  # fail fast, before loading anything else
        try:
            import ray  # noqa: F401
        except ImportError:
            raise MissingDependencyError("Ray (--ray)", "pip install ray  (or pip install 'dfec[ray]'), or drop --ray") from None

    if cfg.score and cfg.judge == "openai":  # fail before hours of captioning, not after
        jo = cfg.judge_options
        if not any([jo.get("api_key"), jo.get("base_url"), os.environ.get("OPENAI_API_KEY"),
                    os.environ.get("DFEC_JUDGE_API_KEY"), os.environ.get("OPENAI_BASE_URL")]):
            raise MissingDependencyError("an API key for --judge openai",
                                         "set OPENAI_API_KEY or pass --judge-opt api_key=... (or use --judge offline)")

    adapter = load_adapter(cfg.model, cfg.options)
    check_adapter(adapter)
    model_name = str(getattr(adapter, "name", cfg.model))

    pred_path, fail_path = out / "predictions.jsonl", out / "failures.jsonl"
    _check_same_model(out, cfg.model, model_name)
    done = {str(r["id"]) for r in read_jsonl(pred_path, repair=True) if "id" in r}
    todo = []
    for r in refs:
        if r["id"] in done:
            continue
        path = resolve_video(videos_dir, r)
        todo.append({"id": r["id"], "video": r["video"], "path": str(path) if path else None})

    (out / "run.json").write_text(json.dumps({**cfg.to_json(), "model_name": model_name, "n_refs": len(refs),
                                              "n_done_before": len(done & {r["id"] for r in refs})}, indent=2))

    n_ok = n_fail = 0
    # failed ids are retried, so the failures file describes only the latest attempt
    with JsonlWriter(pred_path, "a") as preds, JsonlWriter(fail_path, "w") as fails:
        bar = _progress(len(todo), cfg.progress, model_name)
        try:
            runnable = [t for t in todo if t["path"]]
            for t in todo:
                if not t["path"]:
                    fails.write({"id": t["id"], "video": t["video"], "reason": f"video file not found under {videos_dir}",
                                 "error": "FileNotFoundError"})
                    n_fail += 1
                    bar.update(1)
            stream: Iterable[dict]
            if cfg.ray:
                stream = _iter_ray(cfg, runnable)
            else:
                stream = _iter_local(cfg, runnable, adapter)
            for res in stream:
                if res.get("ok"):
                    preds.write({"id": res["id"], "video": res["video"], "caption": res["caption"],
                                 "model": model_name, "seconds": res.get("seconds")})
                    n_ok += 1
                else:
                    fails.write(redact_json({k: res[k] for k in ("id", "video", "reason", "error") if k in res}))
                    n_fail += 1
                bar.update(1)
        finally:
            bar.close()

    predictions = {k: v for k, v in load_predictions(pred_path).items() if k in {r["id"] for r in refs}}
    summary = {"model": model_name, "out": str(out), "n_refs": len(refs), "n_predicted": len(predictions),
               "n_new": n_ok, "n_failed": n_fail, "n_skipped": len(done & {r["id"] for r in refs})}
    if cfg.score and predictions:
        summary["results"] = score_run(cfg, refs, predictions, model_name, summary, all_refs=all_refs)
    return summary


def _check_same_model(out: Path, spec: str, model_name: str) -> None:
    """Refuse to resume a run folder that holds another model's predictions (they would mix)."""
    run_file, pred_path = out / "run.json", out / "predictions.jsonl"
    if not (run_file.exists() and pred_path.exists() and pred_path.stat().st_size):
        return
    try:
        prev = json.loads(run_file.read_text())
    except (OSError, json.JSONDecodeError):
        return
    if prev.get("model") != spec or prev.get("model_name", model_name) != model_name:
        raise DfecError(f"holds predictions of model '{prev.get('model_name') or prev.get('model')}', "
                        f"not '{model_name}'; use another --out", out)


def score_run(cfg: BenchConfig, refs: list[dict], predictions: dict[str, str], model_name: str, summary: dict,
              all_refs: list[dict] | None = None) -> dict:
    """Score the predictions with the metrics module and write ``OUT/results.json`` (+ Markdown).

    ``all_refs`` (the whole reference file, when --limit / --ids picked a subset) feed only CIDEr-D's
    document frequencies, so a subset run's CIDEr is on the benchmark's idf, not the subset's.
    """
    try:
        from dfec.metrics.report import write_results
        from dfec.metrics.scorer import score
    except ImportError as exc:
        raise MissingDependencyError("the FEC-Bench scorer (dfec.metrics)", f"import failed ({exc}); predictions are kept") from None
    # all references go in: CIDEr-D's idf is computed over the whole reference set, and videos
    # without a prediction are reported by the scorer as missing_ids rather than dropped silently
    references = {r["id"]: r["caption"] for r in refs}
    judge_kw = dict(cfg.judge_options)
    if cfg.judge == "openai":
        judge_kw.setdefault("cache_path", str(Path(cfg.out) / "judge_cache.sqlite"))
    df_refs = {r["id"]: r["caption"] for r in (all_refs or []) if r["id"] not in references}
    results = score(predictions, references, judge=cfg.judge, progress=cfg.progress, name=model_name,
                    df_references=df_refs or None, **judge_kw)
    results = dict(results)
    results["bench"] = {
        "model": model_name,
        "adapter": cfg.model,
        "icl_examples": cfg.options.icl_examples,
        "n_refs": summary["n_refs"],
        "n_predicted": summary["n_predicted"],
        "n_failed_videos": summary["n_refs"] - summary["n_predicted"],
        "judge": cfg.judge if isinstance(cfg.judge, str) else type(cfg.judge).__name__,
        "ref": str(cfg.ref),
    }
    write_results(results, Path(cfg.out) / "results.json")
    return results


class _NoBar:
    def update(self, n=1):
        pass

    def close(self):
        pass


def _progress(total: int, enabled: bool, desc: str):
    if not enabled or total == 0:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, desc=f"bench {desc}", unit="video")
