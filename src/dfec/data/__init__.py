"""FDA data tooling (paper): annotation schema and validation, instruction-data building,
clip curation and the Figure 2 statistics. Heavy packages are imported inside the tools.

- :mod:`dfec.data.schema`: :class:`FDARecord`, :func:`load_records`, the ``[inference: ...]``
  marking syntax and :func:`strip_inferences`;
- :mod:`dfec.data.templates`: the 20 instruction templates;
- :mod:`dfec.data.build`: ``dfec data build`` (:func:`dfec.data.build.build`, :class:`BuildConfig`);
- :mod:`dfec.data.curate`: ``dfec data curate`` (:func:`dfec.data.curate.curate`, :class:`CurateConfig`);
- :mod:`dfec.data.stats`: ``dfec data stats`` (:func:`run_stats`, :class:`StatsConfig`).

The sub-modules ``build``, ``curate`` and ``stats`` keep their module names here (their main
functions are not re-exported under the same names, so ``dfec.data.curate`` stays a module).
"""
from __future__ import annotations

from .build import BuildConfig, split_ids
from .curate import CurateConfig, curate_clip
from .schema import FDARecord, RecordError, find_inferences, load_records, strip_inferences
from .stats import KEYWORD_LEXICON, StatsConfig, compute_stats, run_stats
from .templates import INSTRUCTIONS, choose_template

__all__ = [
    "BuildConfig", "CurateConfig", "FDARecord", "INSTRUCTIONS", "KEYWORD_LEXICON", "RecordError", "StatsConfig",
    "choose_template", "compute_stats", "curate_clip", "find_inferences", "load_records",
    "run_stats", "split_ids", "strip_inferences",
]
