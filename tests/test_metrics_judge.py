"""The API judge against a local OpenAI-compatible server: retries, JSON failures, cache, resume."""
from __future__ import annotations

import json
import os
import re
import threading

import pytest

import tempfile as _tempfile

# keep the test runs out of ~/.cache; a shared temp file also makes reruns faster
os.environ.setdefault("DFEC_EMBED_CACHE", os.path.join(_tempfile.gettempdir(), "dfec-test-embeddings.sqlite"))

from stub_server import ChatStub

from dfec.errors import DfecError
from dfec.metrics.judge import JudgeCache, OpenAIJudge, JudgeConfig, parse_json_reply
from dfec.metrics.scorer import score

REFS = {
    "1": "A man. At the beginning of the video, he raises his eyebrows. Then he opens his mouth. Finally he blinks.",
    "2": "A woman. At the beginning of the video, she turns her head to the left. Then she smiles.",
    "3": "A man. At the beginning of the video, he frowns. Towards the end of the video, he looks down.",
}


def _events(text: str) -> list[str]:
    body = re.sub(r"^.*?At the beginning of the video, ", "", text.replace("\n", " "))
    parts = re.split(r"\.\s*(?:Then|Finally|Towards the end of the video,)?\s*", body)
    return [p.strip().lower() for p in parts if p.strip()]


class FakeLLM:
    """Scripted OpenAI-compatible chat endpoint.

    ``faults`` is consumed one per request: "429", "500", "timeout" (sleep past the client timeout),
    "malformed" (a reply that is not JSON) or None (answer normally). A prediction containing
    GARBLE always gets a malformed reply. ``down`` makes every request fail with 503.
    """

    def __init__(self):
        self.faults: list[str | None] = []
        self.requests: list[dict] = []
        self.down = False
        self.status = None  # force a fixed HTTP status (e.g. 401)
        self.lock = threading.Lock()

    def answer(self, body: dict) -> tuple[int, str, float]:
        with self.lock:
            self.requests.append(body)
            fault = self.faults.pop(0) if self.faults else None
        if self.status:
            return self.status, json.dumps({"error": {"message": "invalid api key", "type": "auth"}}), 0
        if self.down:
            return 503, json.dumps({"error": {"message": "overloaded"}}), 0
        if fault == "429":
            return 429, json.dumps({"error": {"message": "rate limited"}}), 0
        if fault == "500":
            return 500, json.dumps({"error": {"message": "boom"}}), 0
        if fault == "timeout":
            return 200, self._content(body), 1.5
        if fault == "malformed":
            return 200, self._wrap("Sure! Here are the events: blink, smile"), 0
        if fault == "400":
            return 400, json.dumps({"error": {"message": "context length exceeded", "type": "invalid_request"}}), 0
        if fault == "chatty":  # the right JSON with prose and stray braces around it
            inner = json.loads(self._content(body))["choices"][0]["message"]["content"]
            inner = inner.replace("```json", "").replace("```", "").strip()
            return 200, self._wrap(f"Sure, here you go: {inner}\nNote: I used {{S, O, N}} as asked."), 0
        return 200, self._content(body), 0

    def _wrap(self, content: str) -> str:
        return json.dumps({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": "fake",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
        })

    def _content(self, body: dict) -> str:
        user = body["messages"][1]["content"]
        if "GARBLE" in user:
            return self._wrap("{not json at all")
        if user.startswith("Two tasks on the PREDICTED"):
            pred = user.split("PREDICTED:\n", 1)[1].split("\n\nReply as", 1)[0]
            return self._wrap(json.dumps({"events": _events(pred), "converted": pred}))
        if "Caption:\n" in user:
            cap = user.split("Caption:\n", 1)[1].split("\n\nReply as", 1)[0]
            return self._wrap("```json\n" + json.dumps({"events": _events(cap)}) + "\n```")
        if user.startswith("Compare the events"):
            g = re.findall(r"^G\d+\. (.*)$", user, re.M)
            r = re.findall(r"^R\d+\. (.*)$", user, re.M)
            rel = [["S" if a == b else "N" for b in r] for a in g]
            if "BADSHAPE" in user:  # one row short: the matrix does not match the event lists
                rel = rel[:-1]
            return self._wrap(json.dumps({"relations": rel, "pred_entailed": [a in r for a in g],
                                          "ref_entailed": [b in g for b in r]}))
        if "Video-ChatGPT" in user:
            if "FRACTIONAL" in user:  # a judge that answers with decimals, as Video-ChatGPT's example does
                return self._wrap(json.dumps({"correctness": 4.8, "detail": "3.5", "context": 5, "temporal": 0.9,
                                              "consistency": 2.2}))
            return self._wrap(json.dumps({"correctness": 4, "detail": 3, "context": 5, "temporal": 4,
                                          "consistency": 5}))
        return self._wrap("{}")


@pytest.fixture()
def server():
    llm = FakeLLM()
    with ChatStub(lambda body, request: llm.answer(body)) as stub:
        llm.base_url = stub.url
        yield llm


def _kw(server, tmp_path, **over):
    kw = dict(model="fake-judge", base_url=server.base_url, api_key="test-key", cache_path=str(tmp_path / "c.sqlite"),
              backoff_s=0.01, backoff_max_s=0.05, timeout_s=0.5, concurrency=4, max_retries=3)
    kw.update(over)
    return kw


def test_api_judge_scores_caches_and_reruns_for_free(server, tmp_path):
    preds = dict(REFS)
    res = score(preds, REFS, judge="openai", **_kw(server, tmp_path))
    m = res["metrics"]
    assert m["tem"] == pytest.approx(1.0) and m["autodq"] == pytest.approx(1.0)
    assert (m["correctness"], m["detail"], m["context"], m["temporal"], m["consistency"]) == (4, 3, 5, 4, 5)
    j = res["judge"]
    # 3 reference extractions + 3 calls per sample (events+conversion, relations, scores)
    assert j["api_calls"] == 3 + 3 * 3 and j["cache_hits"] == 0
    assert j["prompt_tokens"] == 100 * 12 and j["completion_tokens"] == 20 * 12
    assert j["prompt_versions"]["relations"] == "relations/v1"
    for body in server.requests:
        assert body["temperature"] == 0 and body["response_format"] == {"type": "json_object"}
        assert body["model"] == "fake-judge"
    # rerun: everything comes from the SQLite cache, nothing is sent
    n_before = len(server.requests)
    res2 = score(preds, REFS, judge="openai", **_kw(server, tmp_path))
    assert len(server.requests) == n_before
    assert res2["judge"]["api_calls"] == 0 and res2["judge"]["cache_hits"] == 12
    assert res2["metrics"] == res["metrics"]


def test_reference_events_are_reused_across_models(server, tmp_path):
    score(dict(REFS), REFS, judge="openai", **_kw(server, tmp_path))
    other_model = {k: v + " He nods." for k, v in REFS.items()}
    n0 = len(server.requests)
    res = score(other_model, REFS, judge="openai", **_kw(server, tmp_path))
    new = server.requests[n0:]
    assert not any("Caption:\n" in b["messages"][1]["content"] for b in new)  # no reference extraction
    assert len(new) <= 3 * len(REFS)  # at most 3 judge calls per sample
    assert res["judge"]["cache_hits"] == len(REFS)


def test_retries_on_429_5xx_and_timeouts(server, tmp_path):
    server.faults = ["429", "500", "timeout"]
    res = score({"1": REFS["1"]}, REFS, judge="openai", **_kw(server, tmp_path, concurrency=1))
    assert res["n_failed"] == 0 and res["metrics"]["tem"] == pytest.approx(1.0)
    assert res["judge"]["retries"] == 3
    assert res["judge"]["api_calls"] == 3 + 1 + 3  # three failed attempts, then ref + 3 sample calls


def test_malformed_json_is_retried_then_the_sample_fails(server, tmp_path):
    server.faults = ["malformed"]
    preds = {"1": REFS["1"], "2": REFS["2"] + " GARBLE", "3": REFS["3"]}
    res = score(preds, REFS, judge="openai", **_kw(server, tmp_path, concurrency=1, parse_retries=2))
    assert res["n_failed"] == 1 and res["failed_ids"] == ["2"]
    assert res["per_sample"]["2"]["failed"] and "unparseable" in res["per_sample"]["2"]["error"]
    assert "tem" not in res["per_sample"]["2"]  # not scored as 0
    assert res["n_scored"] == 2 and res["metrics"]["tem"] == pytest.approx(1.0)
    assert res["judge"]["parse_failures"] == 1 + 3  # the scripted one + 3 attempts on the garbled sample
    # a retry after a bad reply carries the bad reply and a reminder
    retry = [b for b in server.requests if len(b["messages"]) == 4]
    assert retry and "not usable" in retry[0]["messages"][3]["content"]
    # the failed sample is not cached: a rerun asks again and still counts it failed
    res2 = score(preds, REFS, judge="openai", **_kw(server, tmp_path, concurrency=1, parse_retries=0))
    assert res2["n_failed"] == 1 and res2["judge"]["api_calls"] == 1


def test_crashed_run_resumes_from_the_cache(server, tmp_path):
    kw = _kw(server, tmp_path, concurrency=1, max_retries=1)
    # the endpoint goes down after the first sample is done
    judge = OpenAIJudge(JudgeConfig(**{k: v for k, v in kw.items()}))
    first = score({"1": REFS["1"]}, REFS, judge=judge)
    assert first["n_failed"] == 0
    server.down = True
    broken = score(dict(REFS), REFS, judge=OpenAIJudge(JudgeConfig(**kw)))
    assert broken["n_failed"] == 2 and set(broken["failed_ids"]) == {"2", "3"}
    server.down = False
    n0 = len(server.requests)
    resumed = score(dict(REFS), REFS, judge=OpenAIJudge(JudgeConfig(**kw)))
    assert resumed["n_failed"] == 0 and resumed["metrics"]["tem"] == pytest.approx(1.0)
    # sample 1 and its reference came from the cache; only samples 2 and 3 were asked (2 refs + 2 x 3)
    assert len(server.requests) - n0 == 2 + 2 * 3
    assert resumed["judge"]["cache_hits"] == 4


def test_no_format_conversion_and_auth_error(server, tmp_path):
    res = score({"1": REFS["1"]}, REFS, judge="openai", **_kw(server, tmp_path, format_conversion=False))
    users = [b["messages"][1]["content"] for b in server.requests]
    assert not any(u.startswith("Two tasks") for u in users)
    assert res["per_sample"]["1"].get("converted") is None and res["metrics"]["correctness"] == 4
    server.status = 401
    with pytest.raises(DfecError) as exc:
        score({"2": REFS["2"]}, REFS, judge="openai", **_kw(server, tmp_path / "other"))
    assert "HTTP 401" in exc.value.reason


def test_cli_with_api_judge(server, tmp_path, capsys):
    from dfec.cli import main

    pred = tmp_path / "p.jsonl"
    pred.write_text("".join(json.dumps({"id": k, "caption": v}) + "\n" for k, v in REFS.items()))
    ref = tmp_path / "ref.json"
    ref.write_text(json.dumps([{"id": k, "video": f"{k}.mp4", "caption": v} for k, v in REFS.items()]))
    out = tmp_path / "res.json"
    rc = main(["score", "--pred", str(pred), "--ref", str(ref), "--judge", "openai", "--model", "fake-judge",
               "--base-url", server.base_url, "--api-key", "k", "--cache", str(tmp_path / "c.sqlite"),
               "--out", str(out), "--quiet", "--price-prompt", "1.0", "--price-completion", "2.0"])
    assert rc == 0
    res = json.loads(out.read_text())
    assert res["judge"]["model"] == "fake-judge" and res["n_scored"] == 3
    assert res["judge"]["cost_usd"] == pytest.approx((1200 * 1.0 + 240 * 2.0) / 1e6)
    printed = capsys.readouterr().out
    assert "12 API calls" in printed and "| p |" in printed


def test_parse_json_reply_and_cache_key():
    assert parse_json_reply('```json\n{"a": 1}\n```') == {"a": 1}
    assert parse_json_reply('Here: {"a": [1, 2]} done') == {"a": [1, 2]}
    with pytest.raises(ValueError):
        parse_json_reply("no json here")
    k1 = JudgeCache.key("m", "v1", "x")
    assert k1 != JudgeCache.key("m", "v2", "x") and k1 != JudgeCache.key("m2", "v1", "x")


def test_missing_api_key_is_a_one_line_error(monkeypatch, tmp_path):
    for var in ("OPENAI_API_KEY", "DFEC_JUDGE_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(DfecError) as exc:
        score({"1": REFS["1"]}, REFS, judge="openai", cache_path=str(tmp_path / "c.sqlite"))
    assert "OPENAI_API_KEY" in exc.value.reason
