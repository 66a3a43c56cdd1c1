"""CIDEr-D document frequencies of the full FEC-Bench reference set, shipped with the package.

CIDEr-D weighs each n-gram by its inverse document frequency over the *reference set*. Scoring one
clip against its one reference makes every n-gram occur in "all" documents, so every weight, and the
score, is 0. When the scored ids are FEC-Bench ids (and their reference texts are the official ones),
:func:`dfec.metrics.caption_metrics.cider_d` takes the document frequencies of all 800 references
from this table instead, so a subset is scored on the same idf as the full benchmark.

The table holds no reference text: n-grams are stored as 48-bit BLAKE2b hashes, only those that
occur in at least two references (an n-gram in one reference or in none gets the same CIDEr weight,
``log(N / max(1, df))``), and each reference as a hash of its tokenised caption (to recognise it).
Rebuild it with ``python -m dfec.metrics.cider_df REF.json``.
"""
from __future__ import annotations

import hashlib
import json
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Mapping

__all__ = ["DocumentFrequencies", "build_table", "bundled", "ngram_key", "caption_key", "TABLE_PATH"]

TABLE_PATH = Path(__file__).resolve().parent / "data" / "fecbench_cider_df.json"


def ngram_key(ngram: tuple[str, ...]) -> str:
    return hashlib.blake2b(" ".join(ngram).encode("utf-8"), digest_size=6).hexdigest()


def caption_key(tokens: str) -> str:
    return hashlib.blake2b(tokens.encode("utf-8"), digest_size=8).hexdigest()


def _ngrams(words: list[str], n: int = 4) -> set[tuple[str, ...]]:
    return {tuple(words[i:i + k]) for k in range(1, n + 1) for i in range(len(words) - k + 1)}


class DocumentFrequencies:
    """Document frequencies of n-grams over a reference corpus of ``n_docs`` captions."""

    def __init__(self, n_docs: int, counts: Mapping[str, int], captions: Mapping[str, str] | None = None):
        self.n_docs = int(n_docs)
        self.counts = dict(counts)
        self.captions = dict(captions or {})

    def __getitem__(self, ngram: tuple[str, ...]) -> float:
        return float(self.counts.get(ngram_key(ngram), 0))

    def covers(self, references: Mapping[str, str]) -> bool:
        """True when every reference is one of this corpus's captions (same id, same tokenised text)."""
        from .caption_metrics import ptb_tokenize

        return bool(references) and all(
            self.captions.get(str(k)) == caption_key(ptb_tokenize(v if isinstance(v, str) else " ".join(v)))
            for k, v in references.items())


def build_table(references: Mapping[str, str]) -> dict:
    """The JSON table for ``{id: caption}`` references (n-grams with df >= 2, hashed)."""
    from .caption_metrics import ptb_tokenize

    df: Counter = Counter()
    caps = {}
    for rid, cap in references.items():
        toks = ptb_tokenize(cap)
        caps[str(rid)] = caption_key(toks)
        df.update(_ngrams(toks.split()))
    by_count: dict[str, list[str]] = {}
    for ng, c in df.items():
        if c >= 2:
            by_count.setdefault(str(c), []).append(ngram_key(ng))
    return {"n_docs": len(caps), "n": 4, "captions": caps,
            "df": {c: " ".join(sorted(keys)) for c, keys in sorted(by_count.items(), key=lambda x: int(x[0]))}}


@lru_cache(maxsize=1)
def bundled() -> DocumentFrequencies | None:
    """The shipped FEC-Bench table, or None when the package was built without it."""
    try:
        data = json.loads(TABLE_PATH.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    counts = {k: int(c) for c, keys in data["df"].items() for k in keys.split()}
    return DocumentFrequencies(data["n_docs"], counts, data["captions"])


def main(argv=None) -> int:
    import argparse

    from .command import load_references

    ap = argparse.ArgumentParser(description="Build the bundled CIDEr-D document-frequency table.")
    ap.add_argument("ref", help="FEC-Bench references JSON")
    ap.add_argument("--out", default=str(TABLE_PATH))
    args = ap.parse_args(argv)
    table = build_table(load_references(args.ref))
    Path(args.out).write_text(json.dumps(table, separators=(",", ":")), encoding="utf-8")
    print(f"wrote {args.out}: {table['n_docs']} references, "
          f"{sum(len(v.split()) for v in table['df'].values())} n-grams with df >= 2")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
