"""The one batch runner of ``dfec caption --list``, ``dfec data curate`` and ``dfec bench run``.

* **Work**: a list of items (small picklable dicts or tuples) and a *setup* function,
  ``setup(*setup_args) -> handler``, called once in every worker (a model loads once per worker);
  ``handler(item) -> dict`` does one item and returns its result record.
* **Where**: :class:`Parallel` says how: in this process (``workers=1``), over a pool of spawned
  worker processes on this machine (``workers=N``), or over a Ray cluster (``ray=True``, one actor
  per worker; ``ray_address`` names an existing cluster). The results are the same either way; only
  their order may differ, so callers key them by id.
* **Output**: only the calling process writes. :func:`caption_to_jsonl` is the resumable JSONL writer
  used for captions (ids already in the file are skipped; each line is flushed and fsync'ed as
  soon as it is known). :func:`output_lock` takes an exclusive ``fcntl.flock`` on ``<file>.lock``, so
  a second process writing the same output is refused with a one-line error instead of doing every
  item again and appending duplicates.
* **Worker lifetime**: pool workers ask the kernel for SIGKILL when their parent dies
  (``PR_SET_PDEATHSIG``, Linux) and also poll that their parent is alive, so killing a run
  (even with SIGKILL) never leaves orphaned workers spending an API budget.
"""
from __future__ import annotations

import os
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from .errors import DfecError, FatalRunError, MissingDependencyError
from .options import non_negative_float, non_negative_int, positive_int
from .redact import redact


@dataclass
class Parallel:
    """How a batch runs: ``workers`` processes (1: in this process) or Ray actors (``ray``)."""

    workers: int = 1
    ray: bool = False
    ray_address: str | None = None   # None: RAY_ADDRESS, else a local Ray started for this run
    ray_gpus: float = 0.0            # GPUs per Ray worker

    def validate(self) -> "Parallel":
        if not isinstance(self.workers, int) or self.workers < 1:
            raise DfecError(f"--workers must be at least 1, got {self.workers}")
        if not (self.ray_gpus >= 0 and self.ray_gpus < float("inf")):
            raise DfecError(f"--ray-gpus must be a finite number >= 0, got {self.ray_gpus}")
        return self


def add_batch_options(parser, workers_default: int = 1, workers_help: str | None = None) -> None:
    """``--workers``, ``--ray``, ``--ray-address``, ``--ray-gpus`` on an argparse parser."""
    # 0 where the command reads it as "pick for me" (dfec data curate), else at least 1
    parser.add_argument("--workers", type=positive_int if workers_default >= 1 else non_negative_int,
                        default=workers_default,
                        help=workers_help or "parallel worker processes (or Ray actors with --ray)")
    parser.add_argument("--ray", action="store_true", help="spread the work over a Ray cluster (needs `pip install ray`)")
    parser.add_argument("--ray-address", help="Ray cluster address, e.g. ray://head:10001 (default: RAY_ADDRESS, "
                                              "else a local Ray)")
    parser.add_argument("--ray-gpus", type=non_negative_float, default=0.0, help="GPUs per Ray worker")


def parallel_from_args(args, workers: int | None = None) -> Parallel:
    """The :class:`Parallel` of parsed :func:`add_batch_options` (``workers`` overrides ``args.workers``)."""
    return Parallel(workers=args.workers if workers is None else workers, ray=args.ray,
                    ray_address=args.ray_address, ray_gpus=args.ray_gpus).validate()


def failure(item: Any, reason: str, error: str) -> dict:
    """The result record of an item whose worker failed (``id``/``video`` copied when the item has them)."""
    rec = {k: item[k] for k in ("id", "video") if isinstance(item, dict) and k in item}
    return {**rec, "ok": False, "reason": redact(reason), "error": error}


# --------------------------------------------------------------------------------------------
# output lock
# --------------------------------------------------------------------------------------------
@contextmanager
def output_lock(path: str | Path):
    """Hold an exclusive lock on the output ``path`` (via ``<path>.lock``) for the ``with`` block.

    A second process asking for the same output gets a one-line :class:`DfecError` at once. The
    lock dies with its process (a killed run never leaves a stale lock); the ``.lock`` file stays.
    Platforms without ``fcntl`` run unlocked.
    """
    p = Path(path)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    lock = p.with_name(p.name + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DfecError("another dfec process is writing this output; wait for it to finish or use "
                            "another output", p) from None
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError:
            pass
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


# --------------------------------------------------------------------------------------------
# worker processes
# --------------------------------------------------------------------------------------------
_HANDLER: Callable | None = None
_INDEX: int | None = None


def worker_index() -> int | None:
    """0-based index of this pool worker (None outside a pool worker, e.g. in a Ray actor)."""
    return _INDEX


def die_with_parent(parent_pid: int, poll_s: float = 1.0) -> None:
    """Make this process end when ``parent_pid`` ends: PR_SET_PDEATHSIG (Linux) plus a polling thread."""
    import signal

    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)

    def watch():
        import time

        while True:
            time.sleep(poll_s)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="dfec-parent-watch", daemon=True).start()


def _init_worker(setup: Callable, setup_args: tuple, threads: int, parent_pid: int, counter) -> None:
    global _HANDLER, _INDEX
    import signal

    die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's; it stops the workers
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, str(threads))  # share the cores instead of each worker using all of them
    with counter.get_lock():
        _INDEX = counter.value
        counter.value += 1
    _HANDLER = setup(*setup_args)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


def _run_item(item):
    return _HANDLER(item)


POOL_RESTARTS = 3  # broken pools replaced per run before the rest of the items are failed


def _new_pool(setup: Callable, setup_args: tuple, n: int):
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    # spawn: safe with CUDA, OpenMP and torch threads in the parent; each worker builds its handler once
    ctx = mp.get_context("spawn")
    threads = max(1, (os.cpu_count() or 1) // n)
    return ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=_init_worker,
                               initargs=(setup, setup_args, threads, os.getpid(), ctx.Value("i", 0)))


def _stop_pool(ex) -> None:
    procs = list((getattr(ex, "_processes", None) or {}).values())
    ex.shutdown(wait=False, cancel_futures=True)
    for proc in procs:
        if proc.is_alive():
            proc.terminate()


def _iter_pool(items: list, setup: Callable, setup_args: tuple, n: int, fail: Callable,
               max_restarts: int = POOL_RESTARTS) -> Iterator[dict]:
    """Run items over ``n`` worker processes, at most ``n`` in flight.

    A worker that dies (``os._exit``, out of memory, a native crash) breaks the whole pool, and
    every item in flight then reports the same error. Those items become *suspects*; a new pool
    starts and reruns them one at a time, so the item that kills its worker alone is the one
    recorded as failed and the others still run. At most ``max_restarts`` new pools per run;
    after that the remaining items are failed with one clear reason.
    """
    from collections import deque
    from concurrent.futures import FIRST_COMPLETED, wait
    from concurrent.futures.process import BrokenProcessPool

    todo, suspects = deque(items), deque()
    restarts = 0
    while todo or suspects:
        ex = _new_pool(setup, setup_args, n)
        inflight: dict = {}  # future -> item
        broken: list = []    # items in flight when the pool broke
        try:
            while (todo or suspects or inflight) and not broken:
                cap = 1 if suspects else n  # a suspect runs alone, so a crash names its item
                while len(inflight) < cap and (suspects or todo):
                    item = (suspects or todo).popleft()
                    try:
                        inflight[ex.submit(_run_item, item)] = item
                    except BrokenProcessPool:
                        broken.append(item)
                        break
                if not inflight:
                    break
                done, _ = wait(list(inflight), return_when=FIRST_COMPLETED)
                for fut in done:
                    if isinstance(fut.exception(), BrokenProcessPool):
                        broken.append(inflight.pop(fut))
                if broken:  # the pool is dead: every other future in flight ends at once
                    wait(list(inflight))
                    done = set(inflight)
                for fut in done:
                    if fut not in inflight:
                        continue
                    item = inflight.pop(fut)
                    try:
                        yield fut.result()
                    except FatalRunError:  # the worker's captioner cannot work: stop every worker, one error
                        raise
                    except BrokenProcessPool:
                        broken.append(item)
                    except Exception as exc:  # the item failed in its worker: record, go on
                        yield fail(item, f"worker process failed: {str(exc)[:200] or type(exc).__name__}",
                                   type(exc).__name__)
        except BaseException:  # Ctrl-C or the consumer stopped: stop the workers now, keep what is written
            _stop_pool(ex)
            raise
        if not broken:
            ex.shutdown(wait=True)
            break
        _stop_pool(ex)
        if len(broken) == 1:  # it ran alone (or was the only one left): it killed its worker
            yield fail(broken[0], "worker process died while running this item (crash or out of memory)",
                       "BrokenProcessPool")
        else:
            suspects.extend(broken)
        restarts += 1
        if restarts > max_restarts:
            left = list(suspects) + list(todo)
            suspects.clear()
            todo.clear()
            for item in left:
                yield fail(item, f"worker processes kept dying ({restarts} broken pools); not run",
                           "BrokenProcessPool")


# --------------------------------------------------------------------------------------------
# Ray
# --------------------------------------------------------------------------------------------
def require_ray():
    try:
        import ray
    except ImportError:
        raise MissingDependencyError("Ray (--ray)", "pip install ray  (or pip install 'dfec[ray]'), or drop --ray") from None
    return ray


class _RayWorker:
    """One Ray actor: builds its handler once, then runs the items sent to it."""

    def __init__(self, setup: Callable, setup_args: tuple, sys_path: list[str]):
        sys.path[:0] = [p for p in sys_path if p not in sys.path]  # custom module:Class plug-ins import
        self.handler = setup(*setup_args)

    def ready(self) -> bool:
        """Returns once the actor is placed and its handler built (the runner waits on it)."""
        return True

    def run(self, item):
        return self.handler(item)


def _ray_room(ray, gpus_per_worker: float) -> int | None:
    """How many workers (1 CPU + ``gpus_per_worker`` GPUs each) the cluster holds now (None: unknown)."""
    try:
        res = ray.cluster_resources()
    except Exception:
        return None
    cpu, gpu = float(res.get("CPU", 0) or 0), float(res.get("GPU", 0) or 0)
    room = int(cpu)
    if gpus_per_worker > 0:
        room = min(room, int(gpu / gpus_per_worker + 1e-9))
    return room


def _fatal_cause(exc: BaseException) -> FatalRunError | None:
    """The :class:`FatalRunError` behind a Ray task error, else None.

    Ray raises a ``RayTaskError`` whose ``cause`` is the worker's exception (and which subclasses
    the cause's type when it can)."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, FatalRunError):
        return cause
    if isinstance(exc, FatalRunError):
        return FatalRunError(getattr(exc, "reason", None) or str(exc), getattr(exc, "path", None))
    return None


def _iter_ray(items: list, setup: Callable, setup_args: tuple, par: Parallel, fail: Callable) -> Iterator[dict]:
    """Spread items over a Ray cluster: ``workers`` actors; results stream back as they finish.

    Items go only to actors that have *started* (their ``ready`` call returned): an actor Ray cannot
    place yet (more workers than the cluster has CPUs/GPUs) gets no work instead of holding items
    that would never run; actors still waiting at the end are killed. A cluster without room for
    even one worker is a one-line error, not a hang.
    """
    from collections import deque

    ray = require_ray()
    if not ray.is_initialized():  # an existing cluster (--ray-address / RAY_ADDRESS) or a local one
        ray.init(address=par.ray_address or os.environ.get("RAY_ADDRESS") or None, ignore_reinit_error=True)
    gpus = float(par.ray_gpus or 0)
    room = _ray_room(ray, gpus)
    if room is not None and room < 1:
        have = ray.cluster_resources()
        raise DfecError(f"the Ray cluster has no room for one worker (each needs 1 CPU{f' + {gpus:g} GPU' if gpus else ''}; "
                        f"the cluster has {have.get('CPU', 0):g} CPU, {have.get('GPU', 0):g} GPU); lower --ray-gpus",
                        par.ray_address or "ray")
    n = min(max(1, par.workers), len(items))
    actor_cls = ray.remote(num_cpus=1, num_gpus=gpus)(_RayWorker)
    sys_path = [p for p in sys.path if p]
    starting: dict = {}  # ready() reference -> actor not yet known to run
    free: list = []      # started actors without work
    pending: dict = {}   # run reference -> (actor, item)
    queue = deque(items)
    last_death = ""

    def start():
        a = actor_cls.remote(setup, setup_args, sys_path)
        starting[a.ready.remote()] = a

    for _ in range(n):
        start()
    try:
        while queue or pending:
            while queue and free:  # one item in flight per started actor
                actor, item = free.pop(), queue.popleft()
                pending[actor.run.remote(item)] = (actor, item)
            if not pending and not starting:  # every actor died while starting
                while queue:
                    yield fail(queue.popleft(), f"no Ray worker could start: {last_death[:200]}", "RayActorError")
                break
            ready, _ = ray.wait(list(pending) + (list(starting) if queue else []), num_returns=1)
            for ref in ready:
                if ref in starting:
                    actor = starting.pop(ref)
                    try:
                        ray.get(ref)
                        free.append(actor)
                    except Exception as exc:  # the handler failed to build in this actor
                        last_death = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
                    continue
                actor, item = pending.pop(ref)
                try:
                    res = ray.get(ref)
                    free.append(actor)
                except ray.exceptions.RayActorError as exc:  # the actor died: replace it, record the item
                    start()
                    res = fail(item, f"ray actor died: {str(exc)[:200]}", type(exc).__name__)
                except Exception as exc:
                    fatal = _fatal_cause(exc)
                    if fatal is not None:  # the captioner cannot work: stop the run, one error
                        raise fatal from None
                    free.append(actor)
                    res = fail(item, f"ray task failed: {str(exc)[:200]}", type(exc).__name__)
                yield res
    finally:
        for actor in list(starting.values()):  # never placed (or still loading): free their reservation
            try:
                ray.kill(actor)
            except Exception:
                pass


# --------------------------------------------------------------------------------------------
# the runner
# --------------------------------------------------------------------------------------------
def run_items(items: Iterable, setup: Callable, setup_args: tuple = (), parallel: Parallel | None = None,
              handler: Callable | None = None, fail: Callable = failure) -> Iterator[dict]:
    """Yield ``handler(item)`` for every item, as the items finish (order not kept).

    ``setup`` must be a module-level function (it is sent to worker processes / Ray actors);
    ``handler``, when given, is used as is for the in-process path (no second model load).
    A worker that dies yields ``fail(item, reason, error_name)`` for its item instead.
    """
    par = (parallel or Parallel()).validate()
    items = list(items)
    if not items:
        return
    if par.ray:
        yield from _iter_ray(items, setup, setup_args, par, fail)
        return
    if par.workers <= 1 or len(items) <= 1:
        h = handler if handler is not None else setup(*setup_args)
        for item in items:
            yield h(item)
        return
    yield from _iter_pool(items, setup, setup_args, min(par.workers, len(items)), fail)


def text_handler(caption: Callable[[str], str]) -> Callable[[dict], dict]:
    """An in-process handler for :func:`caption_to_jsonl` around a plain ``caption(path) -> str``.

    A :class:`DfecError` (an unreadable video, ...) becomes a failure record; anything else is a bug
    and propagates.
    """
    def handle(item: dict) -> dict:
        try:
            text = caption(item["path"])
        except FatalRunError:
            raise
        except DfecError as exc:
            return {"id": item["id"], "video": item["video"], "ok": False, "reason": redact(exc.message)}
        return {"id": item["id"], "video": item["video"], "ok": True, "caption": text}

    return handle


def caption_to_jsonl(videos: Iterable[tuple[str, str]], out_jsonl, setup: Callable, setup_args: tuple = (),
                     parallel: Parallel | None = None, handler: Callable | None = None,
                     progress: bool = True) -> dict:
    """Caption ``(id, path)`` pairs into ``out_jsonl`` as ``{"id", "video", "caption"}`` lines.

    The handler gets ``{"id", "video", "path"}`` items and returns ``{"ok": True, "caption"}`` or
    ``{"ok": False, "reason"}`` records (:func:`dfec.captioners.registry.caption_item`). Resumable:
    ids already captioned in the file are skipped (no worker starts when nothing is left); a failed
    video is reported on stderr and left for a rerun. The file is locked for the run.
    Returns ``{"n_total", "n_done_before", "n_written", "n_failed", "failed"}``.
    """
    from tqdm import tqdm

    from .jsonl import JsonlWriter, read_jsonl

    videos = list(videos)
    out = Path(out_jsonl)
    if out.is_dir():
        raise DfecError("is a directory; the predictions need a .jsonl file", out)
    with output_lock(out):
        before = {str(r["id"]) for r in read_jsonl(out, repair=True)
                  if isinstance(r, dict) and "id" in r and r.get("caption") is not None}
        todo = [{"id": i, "video": v, "path": v} for i, v in videos if i not in before]
        written, failed = 0, []
        if todo:
            with JsonlWriter(out, "a") as fh, tqdm(total=len(todo), desc="captioning", unit="video",
                                                   disable=not progress) as bar:
                for res in run_items(todo, setup, setup_args, parallel, handler=handler):
                    bar.update(1)
                    if not res.get("ok"):
                        failed.append(res.get("id"))
                        print(f"dfec: warning: {res.get('reason')}", file=sys.stderr)
                        continue
                    fh.write({"id": res["id"], "video": res["video"], "caption": res["caption"]})
                    written += 1
    return {"n_total": len(videos), "n_done_before": len(before & {i for i, _ in videos}),
            "n_written": written, "n_failed": len(failed), "failed": failed}
