"""Seeing results: an interactive ``report.html`` per video, the FEC-Bench leaderboard as HTML,
and a local Gradio demo (``dfec demo``, optional extra ``demo``).

``report/`` sits above ``tracking``, ``dynamics`` and ``bench``: it reads their output files and
never changes them.
"""
from __future__ import annotations

from .page import write_report

__all__ = ["write_report"]
