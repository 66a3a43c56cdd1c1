"""Trying to break the scorer and the API judge: chatty replies, wrong matrix shapes, per-sample HTTP
400s, two processes writing one cache, empty / event-free / non-UTF-8-safe captions, and AutoDQ's
empty-list convention as Tarsier's evaluation code has it."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from test_metrics_judge import REFS, _kw, server  # noqa: F401  (scripted OpenAI-compatible endpoint)

from dfec.metrics.autodq import corpus_f, precision_recall_from_flags, precision_recall_from_matrix
from dfec.metrics.judge import JudgeCache, parse_json_reply
from dfec.metrics.scorer import score


# ---------------------------------------------------------------------------------------------
# AutoDQ: Tarsier's evaluate_one_sample scores an empty event list 1.0
# ---------------------------------------------------------------------------------------------
def test_autodq_empty_event_lists_follow_tarsier():
    assert precision_recall_from_flags([], [True, False]) == (1.0, 0.5)
    assert precision_recall_from_flags([True, False, False, False], []) == (0.25, 1.0)
    assert precision_recall_from_flags([], []) == (1.0, 1.0)
    assert precision_recall_from_matrix([], 0, 2) == (1.0, 0.0)
    # corpus F is the F of the mean P and mean R, so an event-free prediction moves P up, R down:
    # samples (P, R) = (1, 0) and (0.5, 1): mean P 0.75, mean R 0.5 -> F 0.6
    assert corpus_f([1.0, 0.5], [0.0, 1.0]) == pytest.approx(2 * 0.75 * 0.5 / 1.25)


def test_empty_and_event_free_captions_are_scored_not_crashed():
    refs = {"a": REFS["1"], "b": REFS["2"], "c": REFS["3"]}
    # "b" only introduces the person: appearance is not an event (it used to come back as two)
    preds = {"a": "", "b": "This video shows the face of a young woman. She has long black hair.", "c": REFS["3"]}
    res = score(preds, refs, judge="offline")
    ps = res["per_sample"]
    assert res["n_scored"] == 3 and res["n_failed"] == 0
    for rid in ("a", "b"):
        assert ps[rid]["n_events_pred"] == 0
        assert (ps[rid]["precision"], ps[rid]["recall"]) == (1.0, 0.0)  # Tarsier's convention
        assert ps[rid]["autodq"] == 0.0 and ps[rid]["lcs"] == 0.0 and ps[rid]["tem"] == 0.0
    assert ps["c"]["tem"] == pytest.approx(1.0)
    assert res["extra_metrics"]["autodq_precision"] == pytest.approx(1.0)
    assert res["extra_metrics"]["autodq_recall"] == pytest.approx(1 / 3)
    assert res["metrics"]["autodq"] == pytest.approx(2 * 1 * (1 / 3) / (1 + 1 / 3))
    assert ps["a"]["cider"] == 0.0 and ps["a"]["rouge_l"] == 0.0


# ---------------------------------------------------------------------------------------------
# replies and failures
# ---------------------------------------------------------------------------------------------
def test_parse_json_reply_takes_the_first_object_around_prose_and_braces():
    assert parse_json_reply('Here: {"events": ["a"]}. Note: {braces} here') == {"events": ["a"]}
    assert parse_json_reply('First {"a": 1} then {"b": 2}') == {"a": 1}
    assert parse_json_reply('{not json} but then {"ok": true}') == {"ok": True}
    with pytest.raises(ValueError):
        parse_json_reply("{only {broken json")


def test_chatty_replies_are_used_without_a_retry(server, tmp_path):  # noqa: F811
    server.faults = ["chatty"] * 4  # reference events, events+conversion, relations, scores
    res = score({"1": REFS["1"]}, REFS, judge="openai", **_kw(server, tmp_path, concurrency=1))
    assert res["n_failed"] == 0 and res["metrics"]["tem"] == pytest.approx(1.0)
    assert res["judge"]["parse_failures"] == 0 and res["judge"]["api_calls"] == 4


def test_wrong_shape_relation_matrix_is_retried_then_counted_failed(server, tmp_path):  # noqa: F811
    preds = {"1": REFS["1"], "2": REFS["2"] + " BADSHAPE"}
    res = score(preds, REFS, judge="openai", **_kw(server, tmp_path, concurrency=1, parse_retries=1))
    assert res["failed_ids"] == ["2"] and res["n_scored"] == 1
    assert "rows" in res["per_sample"]["2"]["error"] and "tem" not in res["per_sample"]["2"]
    assert res["judge"]["parse_failures"] == 2


def test_http_400_fails_one_sample_and_the_run_goes_on(server, tmp_path):  # noqa: F811
    # request order with concurrency 1: ref 1, ref 2, then sample 1 (3 calls), sample 2 ...
    server.faults = [None, None, "400"]
    res = score({"1": REFS["1"], "2": REFS["2"]}, REFS, judge="openai", **_kw(server, tmp_path, concurrency=1))
    assert res["failed_ids"] == ["1"] and "HTTP 400" in res["per_sample"]["1"]["error"]
    assert res["n_scored"] == 1 and res["metrics"]["tem"] == pytest.approx(1.0)
    assert res["judge"]["retries"] == 0  # a refused request is not retried


def test_lone_surrogate_and_unicode_captions(server, tmp_path):  # noqa: F811
    pred = json.loads('"A man. At the beginning of the video, he raises his eyebrows \\ud800 \u00e9\u00e8 \u2014 ok."')
    key = JudgeCache.key("m", "v", pred)  # no UnicodeEncodeError
    assert len(key) == 64
    res = score({"1": pred}, REFS, judge="openai", **_kw(server, tmp_path, concurrency=1))
    assert res["n_failed"] == 0 and res["n_scored"] == 1
    sent = [b["messages"][1]["content"] for b in server.requests]
    assert any("\u00e9\u00e8 \u2014" in u for u in sent) and not any("\ud800" in u for u in sent)
    res2 = score({"1": pred}, REFS, judge="openai", **_kw(server, tmp_path, concurrency=1))
    assert res2["judge"]["api_calls"] == 0  # cached under the same key


def test_two_processes_write_one_cache(tmp_path):
    db = tmp_path / "shared.sqlite"
    code = textwrap.dedent("""
        import sys
        from dfec.metrics.judge import JudgeCache
        c = JudgeCache(sys.argv[1])
        tag = sys.argv[2]
        for i in range(60):
            k = JudgeCache.key("m", "v", f"{tag}-{i}")
            c.put(k, "m", "v", "reply", {"i": i, "tag": tag}, 3, 2)
            assert c.get(k)["parsed"] == {"i": i, "tag": tag}
        print("done")
    """)
    procs = [subprocess.Popen([sys.executable, "-c", code, str(db), tag], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for tag in ("A", "B")]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-500:] for o in outs]
    cache = JudgeCache(db)
    assert len(cache) == 120
    assert cache.get(JudgeCache.key("m", "v", "B-59"))["parsed"] == {"i": 59, "tag": "B"}


def test_fractional_judge_scores_are_truncated_like_video_chatgpt(server, tmp_path):  # noqa: F811
    """Video-ChatGPT's evaluate_benchmark_*.py average ``int(score)``; a 4.8 counts as 4."""
    res = score({"1": REFS["1"] + " FRACTIONAL"}, REFS, judge="openai", **_kw(server, tmp_path, concurrency=1))
    m = res["metrics"]
    assert (m["correctness"], m["detail"], m["context"], m["temporal"], m["consistency"]) == (4, 3, 5, 0, 2)
