"""AutoDQ (Tarsier's Automatic Description Quality) as used inside TEM.

For one sample, with the generated events E_G and reference events E_R:

* precision P = fraction of generated events entailed by the reference text,
* recall    R = fraction of reference events entailed by the generated text,
* F = 2PR / (P + R).

Over a corpus Tarsier reports F from the *mean* P and the *mean* R (not the mean of per-sample F);
:func:`corpus_f` does that. With the offline judge "entailed by the other text" is approximated by
"related as Same to at least one event of the other list" (a row / column of the relation matrix
that holds a Same); an API judge answers the entailment question directly.
"""
from __future__ import annotations

from typing import Sequence

from .relations import SAME

__all__ = ["precision_recall_from_matrix", "f_measure", "corpus_f", "precision_recall_from_flags"]


def f_measure(p: float, r: float) -> float:
    return 0.0 if p + r <= 0 else 2.0 * p * r / (p + r)


def precision_recall_from_flags(entailed_g: Sequence[bool], entailed_r: Sequence[bool]) -> tuple[float, float]:
    """P and R from per-event entailment flags.

    An empty event list scores 1.0 on its side, as Tarsier's evaluation does
    (``evaluate_one_sample``: no events -> score 1.0): a prediction with no events has P = 1 (and
    R from the reference events, usually 0, so its F is 0), a reference with no events gives R = 1.
    This matters for the corpus AutoDQ, which is the F of the *mean* P and R.
    """
    n_g, n_r = len(entailed_g), len(entailed_r)
    p = sum(bool(x) for x in entailed_g) / n_g if n_g else 1.0
    r = sum(bool(x) for x in entailed_r) / n_r if n_r else 1.0
    return p, r


def precision_recall_from_matrix(matrix: Sequence[Sequence[str]], n_g: int, n_r: int) -> tuple[float, float]:
    """P and R where an event counts as entailed when it is Same as some event of the other list."""
    entailed_g = [any(v == SAME for v in matrix[i]) for i in range(n_g)]
    entailed_r = [any(matrix[i][j] == SAME for i in range(n_g)) for j in range(n_r)]
    return precision_recall_from_flags(entailed_g, entailed_r)


def corpus_f(precisions: Sequence[float], recalls: Sequence[float]) -> float:
    """Tarsier's corpus F: the F-measure of the mean precision and the mean recall."""
    if not precisions:
        return float("nan")
    p = sum(precisions) / len(precisions)
    r = sum(recalls) / len(recalls)
    return f_measure(p, r)
