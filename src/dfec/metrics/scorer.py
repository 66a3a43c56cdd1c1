"""Score predicted captions against FEC-Bench references with all eight metrics.

``score(predictions, references, judge=...)`` returns one results dict:

* ``metrics``: corpus values in the paper's column order -- ``correctness, detail, context,
  temporal, consistency`` (Video-ChatGPT judge scores, 0-5; ``None`` with the offline judge),
  ``cider`` (CIDEr-D), ``rouge_l``, ``autodq`` (Tarsier F from mean P and mean R) and ``tem``
  ((mean LCS/|E_G| + AutoDQ F) / 2, Algorithm 1).
* ``extra_metrics``: ``lcs`` (LCS/|E_G|, the paper's normalisation), ``lcs_ref`` (LCS/|E_R|, our
  variant), ``tem_ref`` (TEM with ``lcs_ref``), ``autodq_precision``, ``autodq_recall``,
  ``tem_sample_mean`` (mean of the per-sample TEM values).
* ``n_references``, ``n_predictions``, ``n_scored``, ``n_failed`` (judge failures, excluded from the
  judge-based means and listed in ``failed_ids``), ``missing_ids`` (references with no prediction)
  and ``extra_ids`` (predictions with no reference): reported, never dropped silently.
* ``judge``: judge name, model, prompt versions, calls, cache hits, tokens and cost.
* ``per_sample``: ``{id: {cider, rouge_l, lcs, lcs_ref, precision, recall, autodq, tem, scores,
  n_events_pred, n_events_ref, failed, error}}``.
"""
from __future__ import annotations

import math
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Mapping

from .autodq import corpus_f, f_measure, precision_recall_from_flags, precision_recall_from_matrix
from .caption_metrics import MIN_CIDER_REFERENCES, bundled_df_for, cider_d, rouge_l
from .tem import lcs_scores, tem_score

__all__ = ["score", "METRIC_KEYS"]

#: corpus metrics in the paper's table order
METRIC_KEYS = ("correctness", "detail", "context", "temporal", "consistency", "cider", "rouge_l", "autodq", "tem")


def _mean(values) -> float | None:
    vals = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return sum(vals) / len(vals) if vals else None


def _clean_text(text: str) -> str:
    """Text that can be sent and stored: a lone UTF-16 surrogate (valid in a JSON string such as
    ``"\\ud800"``, invalid UTF-8) becomes "?"; everything else is kept as is."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")


def _progress(iterable, total: int, desc: str, enabled: bool):
    if not enabled:
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=desc, unit="sample")


def _prepare(jd, pairs: list[tuple[str, str]]) -> None:
    """The judge's batched preparation: by (prediction, reference) pairs where it takes them."""
    import inspect

    if "pairs" in inspect.signature(jd.prepare).parameters:
        jd.prepare([t for pair in pairs for t in pair], pairs=pairs)
    else:
        jd.prepare([ref for _, ref in pairs] + [pred for pred, _ in pairs])


def score(
    predictions: Mapping[str, str],
    references: Mapping[str, str],
    judge="offline",
    out_path=None,
    *,
    progress: bool = False,
    name: str | None = None,
    df_references: Mapping[str, str] | None = None,
    **judge_kw,
) -> dict:
    """Score ``predictions`` ({id: caption}) against ``references`` ({id: caption}).

    ``judge`` is "offline", "openai" (settings such as ``model``, ``base_url``, ``api_key``,
    ``cache_path``, ``format_conversion``, ``concurrency`` go in ``judge_kw``), or any object
    following :class:`dfec.metrics.judge.Judge`. With ``out_path`` the results JSON and its
    Markdown table are written (see :func:`dfec.metrics.report.write_results`). ``df_references``
    ({id: caption}) only feed CIDEr-D's document frequencies (the full benchmark when ``references``
    is a subset of it); they are not scored and not reported as missing.
    """
    from .judge import make_judge

    t0 = time.perf_counter()
    predictions = {str(k): _clean_text("" if v is None else str(v)) for k, v in predictions.items()}
    references = {str(k): _clean_text(str(v)) for k, v in references.items()}
    missing = [rid for rid in references if rid not in predictions]
    extra = [pid for pid in predictions if pid not in references]
    ids = [rid for rid in references if rid in predictions]
    preds = {rid: predictions[rid] for rid in ids}

    # CIDEr-D (idf over the whole reference set, plus ``df_references`` when only a subset of the
    # benchmark is being scored, so a partial run is scored on the same idf as a full one)
    df_refs = {str(k): _clean_text(str(v)) for k, v in (df_references or {}).items()}
    jd = make_judge(judge, **judge_kw)
    # the judge's batched preparation (model load + embeddings) runs beside CIDEr / ROUGE: both cores work
    prep_pool = ThreadPoolExecutor(1) if hasattr(jd, "prepare") and ids else None
    prep = prep_pool.submit(_prepare, jd, [(preds[i], references[i]) for i in ids]) if prep_pool else None
    cider_mean, cider_per = cider_d(preds, references, df_refs) if ids else (None, {})
    all_refs = {**df_refs, **references}
    cider_df_source = "fecbench-800 (bundled)" if bundled_df_for(all_refs) is not None else f"{len(all_refs)} references"
    if ids and cider_df_source.endswith("references") and len(all_refs) < MIN_CIDER_REFERENCES:
        print(f"dfec: note: CIDEr-D takes its idf weights from the references; with {len(all_refs)} non-FEC-Bench "
              f"reference(s) (< ~{MIN_CIDER_REFERENCES}) its values are meaningless", file=sys.stderr)
    rouge_mean, rouge_per = rouge_l(preds, references) if ids else (None, {})

    if prep is not None:
        try:
            prep.result()
        finally:
            prep_pool.shutdown()

    # Reference events: once per reference text, reused for every model (cached by the judge).
    ref_texts = list(dict.fromkeys(references[i] for i in ids))
    ref_events: dict[str, list[str] | None] = {}
    ref_errors: dict[str, str] = {}

    def _ref(text):
        from .judge import JudgeFailure

        try:
            return text, jd.reference_events(text), None
        except JudgeFailure as exc:
            return text, None, str(exc)

    workers = max(1, int(getattr(jd, "concurrency", 1) or 1))
    with ThreadPoolExecutor(workers) if workers > 1 else _Serial() as pool:
        for text, ev, err in _progress(pool.map(_ref, ref_texts), len(ref_texts), "reference events", progress):
            ref_events[text] = ev
            if err:
                ref_errors[text] = err

    def _one(rid):
        ref = references[rid]
        if ref_events.get(ref) is None:
            from .judge import SampleJudgement

            return rid, SampleJudgement(failed=True, error=f"reference events: {ref_errors.get(ref)}")
        return rid, jd.judge(preds[rid], ref, ref_events[ref])

    explain = getattr(jd, "explain_events", None)
    per_sample: dict[str, dict] = {}
    with ThreadPoolExecutor(workers) if workers > 1 else _Serial() as pool:
        for rid, j in _progress(pool.map(_one, ids), len(ids), "judging", progress):
            ev_r = ref_events.get(references[rid]) or []
            row = {
                "cider": cider_per.get(rid),
                "rouge_l": rouge_per.get(rid),
                "n_events_pred": len(j.events_pred),
                "n_events_ref": len(ev_r),
                "failed": bool(j.failed),
            }
            if j.failed:
                row["error"] = j.error
            else:
                n_g, n_r = len(j.events_pred), len(ev_r)
                lcs_g, lcs_r, length = lcs_scores(j.relations, n_g, n_r)
                if j.entailed_pred is not None and j.entailed_ref is not None:
                    p, r = precision_recall_from_flags(j.entailed_pred, j.entailed_ref)
                else:
                    p, r = precision_recall_from_matrix(j.relations, n_g, n_r)
                f = f_measure(p, r)
                row.update(
                    lcs=lcs_g, lcs_ref=lcs_r, lcs_length=length, precision=p, recall=r, autodq=f,
                    tem=tem_score(lcs_g, f), tem_ref=tem_score(lcs_r, f),
                    scores=j.scores, events_pred=j.events_pred, events_ref=ev_r, relations=j.relations,
                )
                if j.converted is not None:
                    row["converted"] = j.converted
                if explain is not None:  # the offline judge shows how it read each event
                    row["parse_pred"] = explain(j.events_pred)
                    row["parse_ref"] = explain(ev_r)
            per_sample[rid] = row

    ok = [per_sample[i] for i in ids if not per_sample[i]["failed"]]
    failed_ids = [i for i in ids if per_sample[i]["failed"]]
    mean_p = _mean(r["precision"] for r in ok)
    mean_r = _mean(r["recall"] for r in ok)
    autodq = corpus_f([r["precision"] for r in ok], [r["recall"] for r in ok]) if ok else None
    lcs_mean = _mean(r["lcs"] for r in ok)
    lcs_ref_mean = _mean(r["lcs_ref"] for r in ok)
    metrics: dict[str, float | None] = {}
    from .prompts import VCG_KEYS

    for k in VCG_KEYS:
        metrics[k] = _mean((r.get("scores") or {}).get(k) for r in ok)
    metrics["cider"] = cider_mean
    metrics["rouge_l"] = rouge_mean
    metrics["autodq"] = autodq
    metrics["tem"] = tem_score(lcs_mean, autodq) if ok else None
    info = jd.info() if hasattr(jd, "info") else {"name": getattr(jd, "name", type(jd).__name__)}
    results = {
        "name": name,
        "metrics": metrics,
        "extra_metrics": {
            "lcs": lcs_mean,
            "lcs_ref": lcs_ref_mean,
            "tem_ref": tem_score(lcs_ref_mean, autodq) if ok else None,
            "tem_sample_mean": _mean(r["tem"] for r in ok),
            "autodq_precision": mean_p,
            "autodq_recall": mean_r,
            "autodq_sample_mean": _mean(r["autodq"] for r in ok),
        },
        "n_references": len(references),
        "n_cider_df_references": len({**df_refs, **references}),
        "cider_df_source": cider_df_source,
        "n_predictions": len(predictions),
        "n_scored": len(ok),
        "n_failed": len(failed_ids),
        "failed_ids": failed_ids,
        "n_missing": len(missing),
        "missing_ids": missing,
        "n_extra": len(extra),
        "extra_ids": extra,
        "judge": info,
        "notes": {
            "tem": "TEM = (LCS/|E_G| + AutoDQ F)/2 (Algorithm 1; G = generated caption, R = reference); "
                   "corpus TEM uses the mean LCS and the corpus AutoDQ F.",
            "lcs_ref": "variant normalised by |E_R| (reference events) instead of |E_G|; not the paper's.",
            "autodq": "Tarsier AutoDQ: F from the mean precision and mean recall over scored samples; "
                      "as in Tarsier's code an empty event list scores 1.0 on its side.",
            "cider": "CIDEr-D (pycocoevalcap), document frequencies over all references (the bundled table of all 800 "
                     "FEC-Bench references when a subset of them is scored), pure-Python PTB-like tokens.",
            "rouge_l": "ROUGE-L F, beta 1.2 (pycocoevalcap).",
            "failed": "samples the judge could not judge are excluded from judge-based means and counted in n_failed; "
                      "CIDEr and ROUGE-L cover every scored id.",
        },
        "elapsed_s": round(time.perf_counter() - t0, 3),
        "per_sample": per_sample,
    }
    if out_path is not None:
        from .report import write_results

        write_results(results, out_path)
    return results


class _Serial:
    """A stand-in for a one-worker pool: map runs lazily in this thread."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    @staticmethod
    def map(fn, items):
        return (fn(x) for x in items)
