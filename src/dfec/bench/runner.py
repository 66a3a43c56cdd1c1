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

Parallelism comes from the shared batch runner (:mod:`dfec.batch`): ``--workers N`` runs N worker
processes on this machine, each holding its own copy of the captioner (models load once per worker,
each with cpu_count // N torch threads so the workers share the cores instead of oversubscribing
them); ``--ray`` spreads the same work over a Ray cluster with one actor per worker. In every case
only the parent writes the JSONL files, so they never interleave, and it holds a lock on the run
folder's ``predictions.jsonl`` (a second ``dfec bench run`` on the same ``--out`` is refused).
The captioner comes from the one registry (:mod:`dfec.captioners`), so every name ``dfec caption
--captioner`` knows works here too.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..batch import Parallel, output_lock, require_ray, run_items
from ..captioners import registry
from ..captioners.base import CaptionerOptions
from ..captioners.registry import caption_item as caption_one  # noqa: F401  (the bench's old name)
from ..errors import DfecError, MissingDependencyError
from ..jsonl import JsonlWriter, read_jsonl
from ..redact import is_secret_name, redact_json, register_secret
from ..metrics.references import load_references

#: the bench's old name for the captioner options
AdapterOptions = CaptionerOptions

VIDEO_EXTS = (".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".flv", ".mpg", ".mpeg")


@dataclass
class BenchConfig:
    """One ``dfec bench run``. Defaults: sequential, offline judge, the paper's 16 frames."""

    model: str
    videos: str
    ref: str
    out: str
    options: CaptionerOptions = field(default_factory=CaptionerOptions)
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

    parallel = Parallel(workers=cfg.workers, ray=cfg.ray, ray_address=cfg.ray_address,
                        ray_gpus=cfg.ray_gpus_per_worker).validate()
    if cfg.ray:  # fail fast, before loading anything else
        require_ray()

    if cfg.score and cfg.judge == "openai":  # fail before hours of captioning, not after
        jo = cfg.judge_options
        if not any([jo.get("api_key"), jo.get("base_url"), os.environ.get("OPENAI_API_KEY"),
                    os.environ.get("DFEC_JUDGE_API_KEY"), os.environ.get("OPENAI_BASE_URL")]):
            raise MissingDependencyError("an API key for --judge openai",
                                         "set OPENAI_API_KEY or pass --judge-opt api_key=... (or use --judge offline)")

    captioner = registry.load(cfg.model, cfg.options)
    registry.check(captioner)
    model_name = str(getattr(captioner, "name", cfg.model))

    pred_path, fail_path = out / "predictions.jsonl", out / "failures.jsonl"
    with output_lock(pred_path):  # one writer per run folder: a second run is refused, not duplicated
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
        n_ok, n_fail = _caption_all(cfg, todo, captioner, model_name, parallel, pred_path, fail_path)

    predictions = {k: v for k, v in load_predictions(pred_path).items() if k in {r["id"] for r in refs}}
    summary = {"model": model_name, "out": str(out), "n_refs": len(refs), "n_predicted": len(predictions),
               "n_new": n_ok, "n_failed": n_fail, "n_skipped": len(done & {r["id"] for r in refs})}
    if cfg.score and predictions:
        summary["results"] = score_run(cfg, refs, predictions, model_name, summary, all_refs=all_refs)
    return summary


def _caption_all(cfg: BenchConfig, todo: list[dict], captioner, model_name: str, parallel: Parallel,
                 pred_path: Path, fail_path: Path) -> tuple[int, int]:
    """Caption the ``todo`` items through the batch runner; append predictions and failures."""
    n_ok = n_fail = 0
    # failed ids are retried, so the failures file describes only the latest attempt
    with JsonlWriter(pred_path, "a") as preds, JsonlWriter(fail_path, "w") as fails:
        bar = _progress(len(todo), cfg.progress, model_name)
        try:
            runnable = [t for t in todo if t["path"]]
            for t in todo:
                if not t["path"]:
                    fails.write({"id": t["id"], "video": t["video"], "reason": f"video file not found under {cfg.videos}",
                                 "error": "FileNotFoundError"})
                    n_fail += 1
                    bar.update(1)
            stream = run_items(runnable, registry.worker_handler, (cfg.model, cfg.options), parallel,
                               handler=registry.ItemCaptioner(captioner))
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
    return n_ok, n_fail


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
