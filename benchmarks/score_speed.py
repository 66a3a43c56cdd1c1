"""Benchmark: offline FEC-Bench scoring of all 800 references against a perturbed copy.

    python benchmarks/score_speed.py [--ref ../shared/data/fecbench_test_captions.json] [--n 800]
                                     [--api-mock] [--out bench_score.json]

The perturbed copy applies, per caption and with a fixed seed, the edits a weak captioner makes:
left/right and raise/lower and open/close swaps (-> Opposite events), a dropped sentence (lower
recall), two swapped sentences (lower LCS). The script prints wall time (model load included),
time per sample, judge calls per sample and the eight metrics. Target: under 60 s for 800 samples
on a 2-core CPU.

``--api-mock`` also runs the API judge against a local scripted OpenAI-compatible server to count
its calls: reference extraction once per reference, then at most 3 calls per sample for every
model scored after that.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
DEFAULT_REF = REPO.parent / "shared" / "data" / "fecbench_test_captions.json"

_SWAPS = [("left", "right"), ("raises", "lowers"), ("opens", "closes"), ("widen", "narrow"), ("up", "down")]


def perturb(caption: str, rng: random.Random) -> str:
    sents = re.split(r"(?<=[.!?])\s+", caption.strip())
    head, body = sents[:1], sents[1:]
    if len(body) >= 3 and rng.random() < 0.5:
        body.pop(rng.randrange(len(body)))
    if len(body) >= 2 and rng.random() < 0.5:
        i = rng.randrange(len(body) - 1)
        body[i], body[i + 1] = body[i + 1], body[i]
    text = " ".join(head + body)
    for a, b in _SWAPS:
        if rng.random() < 0.35:
            text = re.sub(rf"\b({a}|{b})\b", lambda m: b if m.group(1) == a else a, text)
    return text


def _mock_server():
    """A scripted OpenAI-compatible endpoint (sentences are events; equal events are Same)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    def events(text):
        return [s.strip().lower() for s in re.split(r"[.,]", text) if s.strip()][:20]

    class H(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            u = body["messages"][1]["content"]
            if u.startswith("Two tasks"):
                p = u.split("PREDICTED:\n", 1)[1].split("\n\nReply as", 1)[0]
                c = {"events": events(p), "converted": p}
            elif "Caption:\n" in u:
                c = {"events": events(u.split("Caption:\n", 1)[1].split("\n\nReply as", 1)[0])}
            elif u.startswith("Compare"):
                g = re.findall(r"^G\d+\. (.*)$", u, re.M)
                r = re.findall(r"^R\d+\. (.*)$", u, re.M)
                c = {"relations": [["S" if a == b else "N" for b in r] for a in g],
                     "pred_entailed": [a in r for a in g], "ref_entailed": [b in g for b in r]}
            else:
                c = {k: 3 for k in ("correctness", "detail", "context", "temporal", "consistency")}
            data = json.dumps({"id": "x", "object": "chat.completion", "created": 0, "model": "mock",
                               "choices": [{"index": 0, "finish_reason": "stop",
                                            "message": {"role": "assistant", "content": json.dumps(c)}}],
                               "usage": {"prompt_tokens": 500, "completion_tokens": 100, "total_tokens": 600}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *a):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f"http://127.0.0.1:{srv.server_address[1]}/v1"


def _relation_agreement(judge) -> dict:
    """Agreement of the offline relation classifier with tests/data/relation_pairs.jsonl (frozen split)."""
    pairs = [json.loads(x) for x in (REPO / "tests" / "data" / "relation_pairs.jsonl").read_text().splitlines() if x]
    clf = judge.classifier
    ok = [clf.relation(p["a"], p["b"]) == p["label"] for p in pairs]
    test = [o for o, p in zip(ok, pairs) if p.get("split") == "test"]
    return {"all": sum(ok) / len(ok), "n": len(ok), "test": sum(test) / max(1, len(test)), "n_test": len(test)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ref", default=str(DEFAULT_REF))
    ap.add_argument("--n", type=int, default=800)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--api-mock", action="store_true", help="also count API-judge calls against a local mock")
    ap.add_argument("--out", default=None, help="write the benchmark numbers as JSON")
    ap.add_argument("--warm-cache", action="store_true",
                    help="use the user's embedding cache (default: a fresh one, so the run is cold)")
    args = ap.parse_args(argv)
    tmpdir = tempfile.TemporaryDirectory()
    if not args.warm_cache:
        os.environ["DFEC_EMBED_CACHE"] = str(Path(tmpdir.name) / "embeddings.sqlite")

    sys.path.insert(0, str(REPO / "src"))
    from dfec.metrics.command import load_references
    from dfec.metrics.judge import OfflineJudge
    from dfec.metrics.scorer import score

    refs = load_references(args.ref)
    ids = list(refs)[: args.n]
    rng = random.Random(args.seed)
    preds = {i: perturb(refs[i], rng) for i in ids}

    t0 = time.perf_counter()
    judge = OfflineJudge()
    t_load = time.perf_counter() - t0  # the model loads lazily, only if some event needs the embedding fallback
    res = score(preds, refs, judge=judge)
    total = time.perf_counter() - t0
    n = res["n_scored"]
    m, ex = res["metrics"], res["extra_metrics"]
    rows = [
        ("samples scored", f"{n}"),
        ("wall time, total (s)", f"{total:.1f}"),
        ("  judge set-up (s)", f"{t_load:.1f}"),
        ("  scoring (s)", f"{res['elapsed_s']:.1f}"),
        ("time per sample (ms)", f"{1000 * total / max(n, 1):.1f}"),
        ("judge calls per sample (offline, local)", f"{judge.calls / max(n, 1):.2f}"),
        ("event texts embedded (cold cache)", f"{judge.classifier.encoder.n_encoded}"),
        ("API calls (offline judge)", "0"),
        ("target < 60 s", "met" if total < 60 else "MISSED"),
        ("machine load average (1 min) at the end", f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"),
    ]
    # a second model scored against the same references (reference embeddings now cached)
    preds2 = {i: perturb(refs[i], random.Random(args.seed + 1000 + k)) for k, i in enumerate(ids)}
    t2 = time.perf_counter()
    enc0 = judge.classifier.encoder.n_encoded
    res2 = score(preds2, refs, judge=judge)
    t_second = time.perf_counter() - t2
    rows.insert(5, ("second model, same references (s)", f"{t_second:.1f} ({judge.classifier.encoder.n_encoded - enc0} "
                                                         f"new event texts embedded)"))
    agree = _relation_agreement(judge)
    rows.append(("offline relation agreement, hand labels (n)", f"{agree['all']:.3f} ({agree['n']}); test split "
                                                               f"{agree['test']:.3f} ({agree['n_test']})"))
    for k in ("cider", "rouge_l", "autodq", "tem"):
        rows.append((f"{k} (perturbed vs reference)", f"{m[k]:.3f}"))
    rows.append(("LCS over E_G (paper); over E_R (variant)", f"{ex['lcs']:.3f}; {ex['lcs_ref']:.3f}"))
    out = {"relation_agreement": agree, "offline": {"n": n, "total_s": total, "load_s": t_load, "scoring_s": res["elapsed_s"],
                       "judge_calls_per_sample": judge.calls / max(n, 1),
                       "second_model_s": t_second, "second_model_tem": res2["metrics"]["tem"], "metrics": m, "extra_metrics": ex}}

    if args.api_mock:
        srv, url = _mock_server()
        with tempfile.TemporaryDirectory() as tmp:
            kw = dict(model="mock", base_url=url, api_key="x", cache_path=str(Path(tmp) / "c.sqlite"), concurrency=8)
            t1 = time.perf_counter()
            r1 = score(preds, refs, judge="openai", **kw)
            t_api1 = time.perf_counter() - t1
            second = {i: preds[i] + " He nods." for i in ids}  # a second "model" on the same references
            r2 = score(second, refs, judge="openai", **kw)
            r3 = score(second, refs, judge="openai", **kw)  # rerun: all cached
        srv.shutdown()
        j1, j2, j3 = r1["judge"], r2["judge"], r3["judge"]
        rows += [
            ("API mock, model 1: calls per sample", f"{j1['api_calls'] / n:.2f} (incl. {n} reference extractions)"),
            ("API mock, model 2: calls per sample", f"{j2['api_calls'] / n:.2f} (reference events cached)"),
            ("API mock, rerun: calls; cache hits", f"{j3['api_calls']}; {j3['cache_hits']}"),
            ("API mock, model 1 wall time (s)", f"{t_api1:.1f}"),
        ]
        out["api_mock"] = {"model1_calls": j1["api_calls"], "model2_calls": j2["api_calls"],
                           "rerun_calls": j3["api_calls"], "rerun_cache_hits": j3["cache_hits"], "n": n}

    width = max(len(k) for k, _ in rows)
    print(f"| {'measure'.ljust(width)} | value |")
    print(f"|{'-' * (width + 2)}|-------|")
    for k, v in rows:
        print(f"| {k.ljust(width)} | {v} |")
    if args.out:
        Path(args.out).write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
