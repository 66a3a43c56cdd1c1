"""CIDEr-D and ROUGE-L, as pycocoevalcap computes them, with a pure-Python tokenizer (no Java).

The COCO caption toolkit tokenises with Stanford's PTBTokenizer (``-lowerCase``) and then deletes
the punctuation tokens ``'' ' `` ` -LRB- -RRB- -LCB- -RCB- . ? ! , : - -- ... ;``. :func:`ptb_tokenize`
mimics that: lower case, quotes split off and dropped, brackets kept as ``-lrb-``/``-rrb-`` words
(with ``-lowerCase`` the Java output is lower case, so the upper-case removal list misses them),
clitics split the PTB way ("can't" -> "ca n't", "person's" -> "person 's"), "%", "$", "#" split off,
sentence periods split off while numbers ("1.5"), abbreviations ("e.g.") and hyphenated words
("middle-aged") stay whole. On the 800 FEC-Bench references (and a set of tricky strings) it gives
exactly the Java tokenizer's output (tests/test_metrics.py compares them when Java is present).

Scores come from pycocoevalcap's own scorers: ``CiderScorer`` (CIDEr-D: n = 1..4, sigma = 6,
clipped tf-idf, Gaussian length penalty, x10) with document frequencies taken over the *whole*
reference set. ROUGE-L F (beta = 1.2) is pycocoevalcap's ``Rouge.calc_score`` formula with a
bit-parallel LCS (same values, many times faster); tests compare both.
"""
from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Mapping

import numpy as np

__all__ = ["ptb_tokenize", "PUNCTUATIONS", "cider_d", "rouge_l", "lcs_tokens", "bundled_df_for", "MIN_CIDER_REFERENCES"]

#: below about this many references, idf weights from the references themselves are meaningless
MIN_CIDER_REFERENCES = 50

#: the tokens pycocoevalcap removes after PTB tokenisation
PUNCTUATIONS = {"''", "'", "``", "`", "-LRB-", "-RRB-", "-LCB-", "-RCB-", ".", "?", "!", ",", ":", "-", "--",
                "...", ";"}
_UNICODE = {"\u2014": " -- ", "\u2013": " -- ", "\u2019": "'", "\u2018": " ` ", "\u201c": ' " ', "\u201d": ' " ',
            "\u2026": " ... ", "\u00a0": " "}
# With -lowerCase the Java tokenizer emits brackets as "-lrb-" etc., which the upper-case removal
# list then misses: pycocoevalcap keeps them as words, and so do we.
_BRACKETS = {"(": "-lrb-", ")": "-rrb-", "[": "-lsb-", "]": "-rsb-", "{": "-lcb-", "}": "-rcb-"}
_CLITICS = re.compile(r"(?i)\b(\w+)(n't)\b|(\w)('(?:s|re|ve|ll|d|m))\b")
_ABBREV = re.compile(r"^(?:[a-z]\.){2,}$|^(?:mr|mrs|ms|dr|st|vs|etc|jr|sr|no)\.$")


def _split_token(tok: str) -> list[str]:
    out: list[str] = []
    # leading punctuation / quotes
    while tok and tok[0] in "\"'`([{-$#" and not re.match(r"^'(?:s|re|ve|ll|d|m)\b", tok) and not re.match(r"^-\d", tok):
        ch = tok[0]
        if tok.startswith("--"):
            out.append("--")
            tok = tok[2:]
            continue
        out.append({"\"": "``", "'": "`", "`": "`"}.get(ch, _BRACKETS.get(ch, ch)))
        tok = tok[1:]
    tail: list[str] = []
    while tok:
        if tok.endswith("..."):
            tail.insert(0, "...")
            tok = tok[:-3]
            continue
        ch = tok[-1]
        if ch in "\"')]},;:!?%" or (ch == "-" and len(tok) > 1):
            if ch == "'" and re.search(r"s'$", tok) and len(tok) > 2:
                tail.insert(0, "'")
            else:
                tail.insert(0, {"\"": "''", "'": "'"}.get(ch, _BRACKETS.get(ch, ch)))
            tok = tok[:-1]
            continue
        if ch == "." and not _ABBREV.match(tok):
            tail.insert(0, ".")
            tok = tok[:-1]
            continue
        break
    if tok:
        tok = _CLITICS.sub(lambda m: f"{m.group(1)} {m.group(2)}" if m.group(1) else f"{m.group(3)} {m.group(4)}", tok)
        for piece in tok.split():
            # inner punctuation that PTB splits (",", ";", "!", "?", quotes, brackets)
            out.extend(t for t in re.split(r"([,;!?\"()\[\]{}])", piece) if t)
    return out + tail


@lru_cache(maxsize=16384)
def ptb_tokenize(text: str) -> str:
    """Lower-case PTB-style tokens with pycocoevalcap's punctuation removed, joined by spaces."""
    text = str(text or "").replace("\n", " ").lower()
    for a, b in _UNICODE.items():
        text = text.replace(a, b)
    tokens: list[str] = []
    for raw in text.split():
        tokens.extend(_split_token(raw))
    mapped = []
    for t in tokens:
        t = {"\"": "``"}.get(t, _BRACKETS.get(t, t))
        if t not in PUNCTUATIONS:
            mapped.append(t)
    return " ".join(mapped)


def cider_d(predictions: Mapping[str, str], references: Mapping[str, str | list[str]],
            df_references: Mapping[str, str | list[str]] | None = None,
            document_frequencies=None) -> tuple[float, dict[str, float]]:
    """CIDEr-D of every id in ``predictions`` (all must be in ``references``).

    Document frequencies and the log corpus size come from *all* references (the whole benchmark),
    so a partial prediction file is scored on the same idf as a full one. ``df_references`` adds
    references that only count for the document frequencies (the rest of the benchmark when just
    a subset is scored). When the references (with ``df_references``) are a strict subset of the
    bundled FEC-Bench set, the bundled table of all 800 references' document frequencies is used
    (:mod:`dfec.metrics.cider_df`); ``document_frequencies`` forces a table. Returns (mean over the
    predicted ids, per-id scores).
    """
    if df_references:
        references = {**{str(k): v for k, v in df_references.items()}, **references}
    if document_frequencies is None:
        document_frequencies = bundled_df_for(references)
    if document_frequencies is not None:
        per = {rid: _cider_d_one(ptb_tokenize(hyp), [ptb_tokenize(r) for r in _as_list(references[rid])],
                                 document_frequencies) for rid, hyp in predictions.items()}
        return (float(np.mean(list(per.values()))) if per else float("nan")), per
    from pycocoevalcap.cider.cider_scorer import CiderScorer

    scorer = CiderScorer(n=4, sigma=6.0)
    ids = list(references)
    for rid in ids:
        refs = _as_list(references[rid])
        hyp = predictions.get(rid)
        # references without a prediction still count for the document frequencies; their
        # (empty) hypothesis score is discarded below.
        scorer += (ptb_tokenize(hyp if hyp is not None else ""), [ptb_tokenize(r) for r in refs])
    _, scores = scorer.compute_score()
    per = {rid: float(s) for rid, s in zip(ids, scores) if rid in predictions}
    return (float(np.mean(list(per.values()))) if per else float("nan")), per


def bundled_df_for(references: Mapping[str, str | list[str]]):
    """The bundled FEC-Bench document frequencies when ``references`` are a strict subset of FEC-Bench, else None."""
    from .cider_df import bundled

    table = bundled()
    if table is not None and len(references) < table.n_docs and table.covers(references):
        return table
    return None


def _as_list(refs) -> list[str]:
    return [refs] if isinstance(refs, str) else list(refs)


def _tfidf(words: list[str], df, log_n: float, n: int = 4):
    """CIDEr-D vectors per n-gram order: tf x (log N - log max(1, df)), their norms, and the length."""
    vecs: list[dict] = [dict() for _ in range(n)]
    for k in range(1, n + 1):
        counts: dict[tuple, int] = {}
        for i in range(len(words) - k + 1):
            g = tuple(words[i:i + k])
            counts[g] = counts.get(g, 0) + 1
        for g, tf in counts.items():
            vecs[k - 1][g] = tf * (log_n - math.log(max(1.0, df[g])))
    norms = [math.sqrt(sum(v * v for v in vec.values())) for vec in vecs]
    return vecs, norms, len(words)


def _cider_d_one(hyp: str, refs: list[str], df, n: int = 4, sigma: float = 6.0) -> float:
    """CIDEr-D (Vedantam et al. 2015, the D variant of the COCO toolkit) of one hypothesis against its
    references, with document frequencies ``df`` (``df[ngram]``) over a corpus of ``df.n_docs`` captions:
    per order, the clipped cosine of tf-idf vectors times a Gaussian length penalty (sigma 6),
    averaged over orders 1-4 and references, times 10."""
    log_n = math.log(float(df.n_docs))
    vh, nh, lh = _tfidf(hyp.split(), df, log_n, n)
    total = 0.0
    for ref in refs:
        vr, nr, lr = _tfidf(ref.split(), df, log_n, n)
        penalty = math.exp(-((lh - lr) ** 2) / (2 * sigma ** 2))
        per_order = []
        for k in range(n):
            val = sum(min(w, vr[k].get(g, 0.0)) * vr[k].get(g, 0.0) for g, w in vh[k].items())
            if nh[k] != 0 and nr[k] != 0:
                val /= nh[k] * nr[k]
            per_order.append(val * penalty)
        total += sum(per_order) / n
    return 10.0 * total / max(1, len(refs))


def lcs_tokens(a: list[str], b: list[str]) -> int:
    """Length of the longest common subsequence of two token lists (bit-parallel, Allison-Dix / Hyyro).

    The same number as pycocoevalcap's ``my_lcs`` dynamic programme, in O(len(a) * len(b) / word size).
    """
    if not a or not b:
        return 0
    masks: dict[str, int] = {}
    for i, t in enumerate(a):
        masks[t] = masks.get(t, 0) | (1 << i)
    full = (1 << len(a)) - 1
    v = full
    for t in b:
        u = v & masks.get(t, 0)
        v = ((v + u) | (v - u)) & full
    return len(a) - bin(v).count("1")


def rouge_l(predictions: Mapping[str, str], references: Mapping[str, str | list[str]],
            beta: float = 1.2) -> tuple[float, dict[str, float]]:
    """ROUGE-L F (beta 1.2) per id and its mean, as pycocoevalcap's ``Rouge.calc_score`` computes it:
    the best LCS precision and the best LCS recall over the references, combined with weight beta."""
    per: dict[str, float] = {}
    for rid, hyp in predictions.items():
        cand = ptb_tokenize(hyp).split(" ")
        prec, rec = [], []
        for r in _as_list(references[rid]):
            ref = ptb_tokenize(r).split(" ")
            n = lcs_tokens(ref, cand)
            prec.append(n / len(cand))
            rec.append(n / len(ref))
        p, r_ = max(prec), max(rec)
        per[rid] = float((1 + beta ** 2) * p * r_ / (r_ + beta ** 2 * p)) if p and r_ else 0.0
    return (float(np.mean(list(per.values()))) if per else float("nan")), per
