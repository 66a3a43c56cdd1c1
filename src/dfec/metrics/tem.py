"""Temporal Event Matching (TEM), the paper's Algorithm 1.

Inputs: the generated caption G and the reference caption R, their time-ordered event lists E_G and
E_R, and the relation matrix M (|E_G| x |E_R|, each entry Same / Opposite / No relation).

1. LCS over the two event sequences, where event g_i and r_j *match* when M[i][j] is Same
   (dynamic programming, Algorithm 1 lines 4-11).
2. LCS score = LCS length / |E_G| (normalised by the generated events, as the algorithm is
   written). We also report the |E_R|-normalised variant (``lcs_ref``), which does not reward
   short predictions; the corpus table uses the paper's |E_G| form.
3. F: the AutoDQ F-measure of the same sample (:mod:`dfec.metrics.autodq`).
4. TEM = (LCS score + F) / 2.

Conventions for empty lists (LCS): two empty lists agree perfectly (1.0); one empty list gives 0.0.
AutoDQ's P and R follow Tarsier instead (an empty side scores 1.0, see :mod:`dfec.metrics.autodq`);
with one side empty the per-sample F is still 0 whenever the other side's score is 0.
"""
from __future__ import annotations

from typing import Sequence

from .relations import SAME

__all__ = ["lcs_length", "lcs_scores", "tem_score"]


def lcs_length(matrix: Sequence[Sequence[str]], n_g: int | None = None, n_r: int | None = None) -> int:
    """Length of the longest common subsequence of E_G and E_R where "equal" means ``Same``."""
    n_g = len(matrix) if n_g is None else n_g
    n_r = (len(matrix[0]) if matrix else 0) if n_r is None else n_r
    if n_g == 0 or n_r == 0:
        return 0
    prev = [0] * (n_r + 1)
    for i in range(1, n_g + 1):
        cur = [0] * (n_r + 1)
        row = matrix[i - 1]
        for j in range(1, n_r + 1):
            if row[j - 1] == SAME:
                cur[j] = prev[j - 1] + 1
            else:
                cur[j] = max(prev[j], cur[j - 1])
        prev = cur
    return prev[n_r]


def lcs_scores(matrix: Sequence[Sequence[str]], n_g: int, n_r: int) -> tuple[float, float, int]:
    """(LCS/|E_G|, LCS/|E_R|, LCS length) for one sample."""
    if n_g == 0 and n_r == 0:
        return 1.0, 1.0, 0
    length = lcs_length(matrix, n_g, n_r)
    return (length / n_g if n_g else 0.0), (length / n_r if n_r else 0.0), length


def tem_score(lcs: float, f: float) -> float:
    """TEM = (LCS + F) / 2 (Algorithm 1, last line)."""
    return (float(lcs) + float(f)) / 2.0
