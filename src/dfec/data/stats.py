"""``dfec data stats``: the statistics of the paper's Figure 2 for any caption/annotation file.

Paper, Fig. 2 (FDA statistics): the distribution of clip sources, of caption length in tokens,
of clip durations, and of facial-action keywords in the captions. This module computes them for
FDA annotation files (captions built as for training: attributes + facial changes, inferences
stripped), FEC-Bench reference files ``[{id, video, caption}]``, VideoLLaMA2 conversation JSON and
prediction JSONL, and writes ``stats.json`` plus PNG plots (``figure2.png`` and one PNG per panel).

Tokens: by default a caption's tokens are its words and punctuation marks
(:data:`TOKEN_PATTERN`); ``StatsConfig.tokenizer`` may instead name a local Hugging Face tokenizer
folder, whose token count is then used. Words (:data:`WORD_PATTERN`: runs of letters/digits, with
inner apostrophes) are always reported too.

Facial-action keywords: :data:`KEYWORD_LEXICON` maps each action (``"raise eyebrows"``) to a
regular expression over the lower-cased caption; "keywords per caption" counts every match of
every action in one caption.
"""
from __future__ import annotations

import json
import re
import statistics
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from ..errors import DfecError
from ..userfiles import resolve_under_root
from .schema import load_captions

WORD_PATTERN = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")
TOKEN_PATTERN = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*|[^\w\s]")

_GAP = r"(?:[\s-]+\w+){0,3}?[\s-]+"  # up to three words (no punctuation) between a verb and its body part


def _verb_part(verbs: str, parts: str) -> str:
    """``verb ... part`` or ``part ... verb`` within a few words."""
    return rf"\b(?:{verbs}){_GAP}(?:{parts})\b|\b(?:{parts}){_GAP}(?:{verbs})"


#: action -> regular expression (matched on the lower-cased caption)
KEYWORD_LEXICON: dict[str, str] = {
    "blink": r"\bblink\w*",
    "close eyes": _verb_part(r"clos(?:e|es|ed|ing)|shut(?:s|ting)?", r"eyes?"),
    "widen eyes": _verb_part(r"widen\w*|wide open", r"eyes?"),
    "squint": r"\bsquint\w*",
    "look / gaze": r"\b(?:look(?:s|ed|ing)?|gaz(?:e|es|ed|ing)|glanc(?:e|es|ed|ing)|star(?:e|es|ed|ing))\s+(?:up|down|left|right|away|forward|ahead|around|aside|sideways|at|to|towards|into|straight)\b",
    "frown": r"\bfrown\w*",
    "raise eyebrows": _verb_part(r"rais(?:e|es|ed|ing)|lift(?:s|ed|ing)?|arch(?:es|ed|ing)?", r"(?:eye)?brows?"),
    "furrow eyebrows": _verb_part(r"furrow\w*|knit\w*|draw(?:s|n)? together|lower(?:s|ed|ing)?", r"(?:eye)?brows?"),
    "smile": r"\bsmil\w*",
    "laugh": r"\blaugh\w*",
    "open mouth": _verb_part(r"open(?:s|ed|ing)?|ajar|agape|drops?", r"mouth|jaw"),
    "close mouth": _verb_part(r"clos(?:e|es|ed|ing)|shut(?:s|ting)?", r"mouth"),
    "press / purse lips": _verb_part(r"press(?:es|ed|ing)?|purs(?:e|es|ed|ing)|tighten\w*|compress\w*|pucker\w*", r"lips?"),
    "bite lip": _verb_part(r"bit(?:e|es|ing|ten)", r"lips?"),
    "pout": r"\bpout\w*",
    "mouth corners": r"\bcorners? of (?:the |his |her |their )?mouth\b|\bmouth corners?\b",
    "show teeth": _verb_part(r"reveal\w*|show\w*|expos\w*|bar(?:e|es|ed|ing)", r"teeth"),
    "wrinkle nose": _verb_part(r"wrinkl\w*|scrunch\w*", r"nose"),
    "tilt head": r"\btilt\w*",
    "nod": r"\bnod(?:s|ded|ding)?\b",
    "shake head": _verb_part(r"shak(?:e|es|ing)|shook", r"head"),
    "turn head": _verb_part(r"turn(?:s|ed|ing)?", r"head|face"),
    "lower head": _verb_part(r"lower(?:s|ed|ing)?|bow(?:s|ed|ing)?|drop(?:s|ped|ping)?", r"head"),
    "raise head": _verb_part(r"rais(?:e|es|ed|ing)|lift(?:s|ed|ing)?", r"head|chin"),
    "speak": r"\b(?:speak\w*|spoke|talk(?:s|ed|ing)?|sing(?:s|ing)?|sang|shout\w*|yell\w*)\b",
    "cry": r"\b(?:cry|cries|cried|crying|tears?|sob\w*)\b",
}


@dataclass
class StatsConfig:
    """Settings of ``dfec data stats``."""

    tokenizer: str = "words"         # "words" (words + punctuation) or a local HF tokenizer folder
    data_root: str | None = None     # where to probe clip durations when records carry none
    token_bins: int = 30
    duration_bins: int = 20
    top_keywords: int = 26           # how many actions the keyword bar chart shows
    plots: bool = True


def count_words(text: str) -> int:
    return len(WORD_PATTERN.findall(text))


def word_tokens(text: str) -> list[str]:
    return TOKEN_PATTERN.findall(text)


def count_keywords(caption: str, lexicon: dict[str, str] = KEYWORD_LEXICON) -> Counter:
    """Occurrences of each facial action of ``lexicon`` in ``caption``."""
    low = caption.lower()
    c: Counter = Counter()
    for name, pattern in lexicon.items():
        n = len(re.findall(pattern, low))
        if n:
            c[name] = n
    return c


def _token_counter(spec: str) -> Callable[[str], int]:
    if spec == "words":
        return lambda text: len(word_tokens(text))
    path = Path(spec)
    if not path.is_dir():
        raise DfecError("tokenizer must be 'words' or a local tokenizer folder", spec)
    try:
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    except Exception as exc:
        raise DfecError(f"cannot load a tokenizer from this folder ({type(exc).__name__})", path) from None
    return lambda text: len(tok(text, add_special_tokens=False)["input_ids"])


def _describe(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    vs = sorted(values)
    return {"n": len(vs), "total": float(sum(vs)), "mean": float(statistics.fmean(vs)),
            "median": float(statistics.median(vs)), "std": float(statistics.pstdev(vs)),
            "min": float(vs[0]), "max": float(vs[-1])}


def _durations(items: list[dict], root: str | None) -> tuple[list[float], int]:
    from ..video.reader import probe

    out, missing = [], 0
    for it in items:
        d = it.get("duration")
        p = None
        if root and it.get("video"):
            try:  # the data-root check of `dfec data build`: every video path stays under --root
                p = resolve_under_root(it["video"], root)[0]
            except ValueError as exc:
                raise DfecError(f"record {it['id']!r}: {exc}", root) from None
        if d is None and p is not None:
            if p.is_file():
                try:
                    d = probe(p).duration or None
                except DfecError:
                    d = None
        if d is None:
            missing += 1
        else:
            it["duration"] = float(d)
            out.append(float(d))
    return out, missing


def compute_stats(path: str | Path, config: StatsConfig | None = None) -> dict:
    """The Figure 2 statistics of one caption/annotation file, as a JSON-ready dict."""
    cfg = config or StatsConfig()
    if cfg.data_root and not Path(cfg.data_root).is_dir():
        raise DfecError("data root (--root) is not a directory", cfg.data_root)
    items, errors = load_captions(path)
    n_tokens = _token_counter(cfg.tokenizer)
    tokens = [n_tokens(it["caption"]) for it in items]
    words = [count_words(it["caption"]) for it in items]
    kw_total: Counter = Counter()
    kw_captions: Counter = Counter()
    per_caption: list[int] = []
    for it in items:
        c = count_keywords(it["caption"])
        kw_total.update(c)
        kw_captions.update(c.keys())
        per_caption.append(sum(c.values()))
    durations, missing = _durations(items, cfg.data_root)
    sources = Counter(it["source"] for it in items)
    return {
        "file": str(path),
        "n_captions": len(items),
        "n_skipped": len(errors),
        "skipped": errors[:50],
        "tokenizer": cfg.tokenizer,
        "sources": dict(sorted(sources.items(), key=lambda kv: (-kv[1], kv[0]))),
        "tokens_per_caption": _describe([float(t) for t in tokens]),
        "words_per_caption": _describe([float(w) for w in words]),
        "duration_s": {**_describe(durations), "n_missing": missing},
        "keywords_per_caption": {**_describe([float(k) for k in per_caption]),
                                 "histogram": {str(k): v for k, v in sorted(Counter(per_caption).items())}},
        "keywords": {name: {"occurrences": kw_total[name], "captions": kw_captions[name]}
                     for name in sorted(KEYWORD_LEXICON, key=lambda n: (-kw_total[n], n))},
        "per_caption": [{"id": it["id"], "source": it["source"], "tokens": t, "words": w, "keywords": k,
                         "duration": it.get("duration")} for it, t, w, k in zip(items, tokens, words, per_caption)],
        "config": asdict(cfg),
    }


def plot_stats(stats: dict, out_dir: str | Path, config: StatsConfig | None = None) -> list[str]:
    """Draw the Figure 2 panels as PNGs in ``out_dir``; returns the written paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cfg = config or StatsConfig()
    out = Path(out_dir)
    per = stats["per_caption"]
    tokens = [p["tokens"] for p in per]
    durs = [p["duration"] for p in per if p["duration"] is not None]
    kpc = [p["keywords"] for p in per]
    kws = [(k, v["occurrences"]) for k, v in stats["keywords"].items() if v["occurrences"]][: cfg.top_keywords]

    def sources(ax):
        names, counts = list(stats["sources"]), list(stats["sources"].values())
        ax.bar(range(len(names)), counts, color="#4C72B0")
        ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=8)
        ax.set_ylabel("clips")
        ax.set_title(f"Sources ({stats['n_captions']} clips)")

    def token_hist(ax):
        ax.hist(tokens, bins=cfg.token_bins, color="#55A868")
        ax.set_xlabel("tokens per caption")
        ax.set_ylabel("captions")
        ax.set_title(f"Caption length (mean {stats['tokens_per_caption'].get('mean', 0):.1f})")

    def dur_hist(ax):
        if durs:
            ax.hist(durs, bins=cfg.duration_bins, color="#C44E52")
            ax.set_title(f"Durations (mean {statistics.fmean(durs):.1f} s)")
        else:
            ax.text(0.5, 0.5, "no durations known\n(add 'duration' or --root)", ha="center", va="center", transform=ax.transAxes)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title("Durations")
        ax.set_xlabel("seconds")
        ax.set_ylabel("clips")

    def kw_bar(ax):
        if kws:
            ax.barh(range(len(kws)), [v for _, v in kws], color="#8172B2")
            ax.set_yticks(range(len(kws)), [k for k, _ in kws], fontsize=7)
            ax.invert_yaxis()
        ax.set_xlabel("occurrences")
        ax.set_title("Facial-action keywords")

    def kpc_hist(ax):
        if kpc:
            ax.hist(kpc, bins=range(0, max(kpc) + 2), color="#CCB974", align="left")
        ax.set_xlabel("facial-action keywords per caption")
        ax.set_ylabel("captions")
        ax.set_title(f"Keywords per caption (mean {stats['keywords_per_caption'].get('mean', 0):.1f})")

    panels = {"sources.png": sources, "tokens.png": token_hist, "durations.png": dur_hist,
              "keywords.png": kw_bar, "keywords_per_caption.png": kpc_hist}
    written = []
    for name, draw in panels.items():
        fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
        draw(ax)
        fig.tight_layout()
        fig.savefig(out / name)
        plt.close(fig)
        written.append(str(out / name))
    fig, axes = plt.subplots(2, 3, figsize=(16, 9), dpi=100)
    for ax, draw in zip(axes.flat, panels.values()):
        draw(ax)
    axes.flat[-1].axis("off")
    axes.flat[-1].text(0.0, 0.5, "\n".join([
        f"clips: {stats['n_captions']}",
        f"tokens: {int(stats['tokens_per_caption'].get('total', 0))}",
        f"words/caption: {stats['words_per_caption'].get('mean', 0):.1f}",
        f"tokenizer: {stats['tokenizer']}",
    ]), fontsize=12, va="center")
    fig.suptitle(f"FDA-style statistics: {Path(stats['file']).name}")
    fig.tight_layout()
    fig.savefig(out / "figure2.png")
    plt.close(fig)
    written.append(str(out / "figure2.png"))
    return written


def run_stats(path: str | Path, out_dir: str | Path, config: StatsConfig | None = None) -> dict:
    """Compute the statistics, write ``stats.json`` (and the plots) in ``out_dir``; returns the stats."""
    cfg = config or StatsConfig()
    stats = compute_stats(path, cfg)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if cfg.plots:
        stats["plots"] = plot_stats(stats, out, cfg)
    (out / "stats.json").write_text(json.dumps(stats, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return stats
