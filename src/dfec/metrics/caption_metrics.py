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
reference set, and ``Rouge.calc_score`` (ROUGE-L F with beta = 1.2).
"""
from __future__ import annotations

import re
from typing import Mapping

import numpy as np

__all__ = ["ptb_tokenize", "PUNCTUATIONS", "cider_d", "rouge_l"]

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
            df_references: Mapping[str, str | list[str]] | None = None) -> tuple[float, dict[str, float]]:
    """CIDEr-D of every id in ``predictions`` (all must be in ``references``).

    Document frequencies and the log corpus size come from *all* references (the whole benchmark),
    so a partial prediction file is scored on the same idf as a full one. ``df_references`` adds
    references that only count for the document frequencies (the rest of the benchmark when just
    a subset is scored). Returns (mean over the predicted ids, per-id scores).
    """
    from pycocoevalcap.cider.cider_scorer import CiderScorer

    scorer = CiderScorer(n=4, sigma=6.0)
    if df_references:
        references = {**{str(k): v for k, v in df_references.items()}, **references}
    ids = list(references)
    for rid in ids:
        refs = references[rid]
        refs = [refs] if isinstance(refs, str) else list(refs)
        hyp = predictions.get(rid)
        # references without a prediction still count for the document frequencies; their
        # (empty) hypothesis score is discarded below.
        scorer += (ptb_tokenize(hyp if hyp is not None else ""), [ptb_tokenize(r) for r in refs])
    _, scores = scorer.compute_score()
    per = {rid: float(s) for rid, s in zip(ids, scores) if rid in predictions}
    return (float(np.mean(list(per.values()))) if per else float("nan")), per


def rouge_l(predictions: Mapping[str, str], references: Mapping[str, str | list[str]]) -> tuple[float, dict[str, float]]:
    """ROUGE-L F (beta 1.2, pycocoevalcap) per id and its mean."""
    from pycocoevalcap.rouge.rouge import Rouge

    scorer = Rouge()
    per: dict[str, float] = {}
    for rid, hyp in predictions.items():
        refs = references[rid]
        refs = [refs] if isinstance(refs, str) else list(refs)
        per[rid] = float(scorer.calc_score([ptb_tokenize(hyp)], [ptb_tokenize(r) for r in refs]))
    return (float(np.mean(list(per.values()))) if per else float("nan")), per
